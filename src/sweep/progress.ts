/**
 * The sweep's live line: jobs done / running / failed and an ETA, redrawn in place on a terminal; on a pipe
 * or file, one line per finished or failed job instead.
 */
import { LiveLines } from '../callbacks/live-lines.js';

export class SweepProgress {
  readonly #total: number;
  readonly #skipped: number;
  readonly #started = performance.now();
  readonly #running = new Set<string>();
  #done = 0;
  #failed = 0;
  readonly #live?: LiveLines;

  /** `total` jobs in the sweep, `skipped` of them already done in --out. */
  constructor(total: number, skipped: number, private readonly out: (line: string) => void, stream: NodeJS.WriteStream = process.stdout) {
    this.#total = total;
    this.#skipped = skipped;
    if (stream.isTTY) this.#live = new LiveLines(stream);
  }

  started(id: string): void {
    this.#running.add(id);
    this.#draw();
  }

  finished(id: string, note: string): void {
    this.#running.delete(id);
    this.#done++;
    this.#say(`done ${id}: ${note}`);
  }

  failed(id: string, error: string): void {
    this.#running.delete(id);
    this.#failed++;
    this.#say(`FAILED ${id}: ${error}`);
  }

  stop(): void {
    this.#live?.stop();
  }

  /** `12/30 done, 2 running, 1 failed, ETA 3m20s` (skipped jobs count as done). */
  line(): string {
    const done = this.#done + this.#skipped;
    const left = this.#total - done - this.#failed;
    const elapsed = (performance.now() - this.#started) / 1000;
    const eta = this.#done > 0 && left > 0 ? `, ETA ${duration((elapsed / this.#done) * left)}` : '';
    return `${done}/${this.#total} done, ${this.#running.size} running, ${this.#failed} failed${eta}`;
  }

  #say(event: string): void {
    if (this.#live) {
      // The event scrolls up above the live line, which is redrawn below it.
      this.#live.draw([event]);
      this.#live.stop();
      this.#draw();
    } else {
      this.out(`${event} [${this.line()}]`);
    }
  }

  #draw(): void {
    this.#live?.draw([`sweep: ${this.line()}`]);
  }
}

/** 75 -> `1m15s`, 4000 -> `1h06m`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
