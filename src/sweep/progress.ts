/**
 * The sweep's live line: jobs done / running / failed, the running jobs' epochs and an ETA, redrawn in place
 * on a terminal; on a pipe or file, one line per finished or failed job instead.
 *
 * The ETA counts epochs, not jobs: (epochs left) x (seconds per epoch trained so far in this run), so it
 * settles during the first job and knows that a job of 40 epochs takes twice one of 20.
 */
import { LiveLines } from '../callbacks/live-lines.js';

export class SweepProgress {
  readonly #total: number;
  readonly #skipped: number;
  readonly #started = performance.now();
  /** Epochs of each job this run trains. */
  readonly #epochs: Map<string, number>;
  /** Epochs trained so far in this run, per job (a continued job counts from where it restarted). */
  readonly #trained = new Map<string, number>();
  /** Running jobs: the epoch each has reached. */
  readonly #running = new Map<string, number>();
  /** Finished or failed in this run. */
  readonly #closed = new Set<string>();
  #done = 0;
  #drawn = -Infinity;
  #failed = 0;
  readonly #live?: LiveLines;

  /** `total` jobs in the sweep; `todo` the ones this run trains, with their epochs. */
  constructor(
    total: number,
    todo: readonly { id: string; epochs: number }[],
    private readonly out: (line: string) => void,
    stream: NodeJS.WriteStream = process.stdout,
  ) {
    this.#total = total;
    this.#skipped = total - todo.length;
    this.#epochs = new Map(todo.map((j) => [j.id, j.epochs]));
    if (stream.isTTY) this.#live = new LiveLines(stream);
  }

  started(id: string): void {
    this.#running.set(id, 0);
    this.#draw(true);
  }

  /** `epoch` (1-based) of job `id` is done. */
  epoch(id: string, epoch: number): void {
    const before = this.#running.get(id);
    // The first report of a continued job tells where it restarted: only later epochs were trained here.
    this.#trained.set(id, (this.#trained.get(id) ?? 0) + (before ? epoch - before : 1));
    this.#running.set(id, epoch);
    this.#draw();
  }

  finished(id: string, note: string): void {
    this.#running.delete(id);
    // A job whose epochs were not reported (finished between two looks at the queue) counts whole.
    if (!this.#trained.has(id)) this.#trained.set(id, this.#epochs.get(id) ?? 0);
    this.#closed.add(id);
    this.#done++;
    this.#say(`done ${id}: ${note}`);
  }

  failed(id: string, error: string): void {
    this.#running.delete(id);
    this.#closed.add(id);
    this.#failed++;
    this.#say(`FAILED ${id}: ${error}`);
  }

  stop(): void {
    this.#live?.stop();
  }

  /** `12/30 done, 2 running, 1 failed, ETA 3m20s` (jobs done before this run count as done). */
  line(): string {
    const done = this.#done + this.#skipped;
    return `${done}/${this.#total} done, ${this.#running.size} running, ${this.#failed} failed${this.#eta()}`;
  }

  #eta(): string {
    const trained = [...this.#trained.values()].reduce((a, b) => a + b, 0);
    let left = 0;
    for (const [id, epochs] of this.#epochs)
      if (!this.#closed.has(id)) left += Math.max(0, epochs - (this.#running.get(id) ?? 0));
    if (trained === 0 || left === 0) return '';
    const perEpoch = (performance.now() - this.#started) / 1000 / trained;
    return `, ETA ${duration(perEpoch * left)}`;
  }

  #say(event: string): void {
    if (this.#live) {
      // The event scrolls up above the live line, which is redrawn below it.
      this.#live.draw([event]);
      this.#live.stop();
      this.#draw(true);
    } else {
      this.out(`${event} [${this.line()}]`);
    }
  }

  #draw(force = false): void {
    if (!this.#live) return;
    // Small models finish hundreds of epochs a second: redraw at most 10 times a second.
    const now = performance.now();
    if (!force && now - this.#drawn < 100) return;
    this.#drawn = now;
    const running = [...this.#running].map(
      ([id, e]) => `${id.replace(/-[0-9a-f]{10}$/, '')} epoch ${e}/${this.#epochs.get(id) ?? '?'}`,
    );
    this.#live.draw([`sweep: ${this.line()}${running.length ? ` | ${running.join(', ')}` : ''}`]);
  }
}

/** 75 -> `1m15s`, 4000 -> `1h06m`. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
