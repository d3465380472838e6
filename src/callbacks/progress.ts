/**
 * The loggers `fit` uses for `verbose: 1` (a progress bar) and `verbose: 2` (one line per epoch), printing
 * what Keras 3's `ProgbarLogger` and `keras.utils.Progbar` print.
 */
import type { Logs } from './callback.js';
import { Callback } from './callback.js';
import { pyFormat } from './format.js';
import { checkKnownOptions } from './monitor.js';
import { formatValue } from '../errors.js';
import { LiveLines, fitLines, visibleWidth } from './live-lines.js';

export interface ProgbarLoggerOptions {
  /** 1: a live bar per epoch (one plain line per epoch when the stream is not a TTY); 2: one line per epoch. */
  verbose: 1 | 2;
  /** Where to print. Default `process.stdout`. */
  stream?: NodeJS.WritableStream;
  /** A clock in milliseconds, for tests. Default `performance.now`. */
  now?: () => number;
}

/** Keras's Progbar defaults: 20 characters of bar, a redraw at most every 50 ms. */
const BAR_WIDTH = 20;
const INTERVAL_S = 0.05;

const BOLD = '\x1b[1m';
const GREEN = '\x1b[32m';
const WHITE = '\x1b[37m';
const RESET = '\x1b[0m';

/** Keras's `_format_time`: ` 62ms/step`, ` 3s/step`, ` 850us/step`. */
function formatStepTime(seconds: number): string {
  if (seconds >= 1 || seconds === 0) return ` ${pyFormat(seconds, '.0f')}s/step`;
  if (seconds >= 1e-3) return ` ${pyFormat(seconds * 1000, '.0f')}ms/step`;
  return ` ${pyFormat(seconds * 1e6, '.0f')}us/step`;
}

/** Keras's ETA: `%d:%02d:%02d` past an hour, `%d:%02d` past a minute, else `%ds` (truncated, not rounded). */
function formatEta(eta: number): string {
  const two = (x: number) => String(Math.trunc(x)).padStart(2, '0');
  if (eta > 3600) return `${Math.floor(eta / 3600)}:${two((eta % 3600) / 60)}:${two(eta % 60)}`;
  if (eta > 60) return `${Math.floor(eta / 60)}:${two(eta % 60)}`;
  return `${Math.trunc(eta)}s`;
}

/**
 * Prints training progress like Keras 3:
 *
 * ```
 * Epoch 1/200
 * 9/9 - 1s - 62ms/step - loss: 452430.4688 - mean_absolute_error: 533.7089 - val_loss: 538436.6875
 * ```
 *
 * `Epoch i/n` is printed only when `params.epochs > 1`. Metrics appear in the order the logs first held
 * them, with 4 decimals (scientific below 1e-3). The bar counts `params.steps` steps; per-step times leave
 * out the first step, which is usually slow, as Keras does.
 *
 * @example
 * // fit adds one for verbose 1 or 2; to print elsewhere, pass verbose: 0 and your own:
 * const progbar = new ProgbarLogger({ verbose: 2, stream: process.stderr });
 * await model.fit(x, y, { epochs: 5, verbose: 0, callbacks: [progbar] });
 */
export class ProgbarLogger extends Callback {
  readonly verbose: 1 | 2;
  readonly stream: NodeJS.WritableStream;
  readonly #now: () => number;

  #target: number | undefined;
  #seen = 0;
  #values = new Map<string, number>();
  #start = 0;
  #lastUpdate = -Infinity;
  #timeAfterFirstStep: number | undefined;
  #bar: LiveLines | undefined;

  constructor(options: ProgbarLoggerOptions) {
    super();
    checkKnownOptions('ProgbarLogger', options, ['verbose', 'stream', 'now']);
    if (options.verbose !== 1 && options.verbose !== 2) {
      throw new RangeError(`ProgbarLogger: verbose must be 1 or 2. Received: verbose=${formatValue(options.verbose)}`);
    }
    this.verbose = options.verbose;
    this.stream = options.stream ?? process.stdout;
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new RangeError(
        `ProgbarLogger: now must be a function returning milliseconds. Received: now=${String(options.now)}`,
      );
    }
    this.#now = options.now ?? (() => performance.now());
  }

  /** Drawing may lag the workers by a few steps: fit keeps its fast path for the progress bar. */
  override get needsStepBoundary(): boolean {
    return false;
  }

  /** A live bar only makes sense on a terminal; elsewhere (logs, CI) one line per epoch is written. */
  get #dynamic(): boolean {
    return this.verbose === 1 && (this.stream as { isTTY?: boolean }).isTTY === true;
  }

  override onTrainBegin(): void {
    this.#stopBar();
    this.#target = this.params.steps > 0 ? this.params.steps : undefined;
  }

  override onEpochBegin(epoch: number): void {
    this.#stopBar();
    this.#seen = 0;
    this.#values = new Map();
    this.#start = this.#seconds();
    this.#lastUpdate = -Infinity;
    this.#timeAfterFirstStep = undefined;
    if (this.params.epochs > 1) this.stream.write(`Epoch ${epoch + 1}/${this.params.epochs}\n`);
  }

  override onBatchEnd(batch: number, logs?: Logs): void {
    this.#seen = batch + 1;
    // Keras's verbose-2 logger ignores batches: its step time is then the epoch's mean.
    if (this.verbose === 1) this.#update(this.#seen, logs ?? {}, false);
  }

  override onEpochEnd(_epoch: number, logs?: Logs): void {
    if (this.#target === undefined) this.#target = this.#seen;
    this.#update(this.#target, logs ?? {}, true);
  }

  override onTrainEnd(): void {
    this.#stopBar();
  }

  #seconds(): number {
    return this.#now() / 1000;
  }

  #update(current: number, logs: Logs, finalize: boolean): void {
    for (const [k, v] of Object.entries(logs)) this.#values.set(k, v);
    const now = this.#seconds();
    const timePerStep = this.#stepDuration(current, now);
    if (this.verbose === 1) {
      if (now - this.#lastUpdate < INTERVAL_S && !finalize) return;
      const { head, parts } = this.#barLine(current, finalize, now, timePerStep, BAR_WIDTH);
      if (this.#dynamic) {
        // Fitted to the terminal's width, the metrics wrapping onto more lines: a cut line would hide some.
        this.#bar ??= new LiveLines(this.stream);
        const width = this.#bar.width;
        // On a very narrow terminal the bar itself goes, so that the count and times still fit on a line.
        const fitted = visibleWidth(head) <= width ? head : this.#barLine(current, finalize, now, timePerStep, 0).head;
        this.#bar.draw(fitLines(fitted, parts, width));
        if (finalize) this.#stopBar();
      } else if (finalize) {
        this.stream.write(`${[head, ...parts].join(' - ')}\n`);
      }
    } else if (finalize && this.#target !== undefined && this.#target > 0) {
      this.stream.write(`${this.#epochLine(current, now, timePerStep)}\n`);
    }
    this.#lastUpdate = now;
  }

  /** Keras's `_estimate_step_duration`, in seconds; the first step is left out once there are others. */
  #stepDuration(current: number, now: number): number {
    if (!current) return 0;
    const perStep =
      this.#timeAfterFirstStep !== undefined && current > 1
        ? (now - this.#timeAfterFirstStep) / (current - 1)
        : (now - this.#start) / current;
    if (current === 1) this.#timeAfterFirstStep = now;
    return perStep;
  }

  /** `9/9 - 1s - 62ms/step - loss: 0.1234` (verbose 2). */
  #epochLine(current: number, now: number, timePerStep: number): string {
    const target = this.#target as number;
    let line = `${this.#count(current, target)} - ${pyFormat(now - this.#start, '.0f')}s -${formatStepTime(timePerStep)}`;
    for (const [k, v] of this.#values) {
      // Keras compares the value itself here (not its absolute value, as the bar does): negative values
      // print in scientific notation.
      line += ` - ${k}: ${v > 1e-3 ? pyFormat(v, '.4f') : pyFormat(v, '.4e')}`;
    }
    return line;
  }

  /**
   * `9/9 ━━━━━━━━━━━━━━━━━━━━ 1s 62ms/step - loss: 0.1234` (verbose 1), coloured on a terminal: the part before
   * the first ' - ', and one `name: value` part per metric.
   */
  #barLine(
    current: number,
    finalize: boolean,
    now: number,
    timePerStep: number,
    barWidth: number,
  ): { head: string; parts: string[] } {
    const ansi = this.#dynamic;
    const [bold, green, white, reset] = ansi ? [BOLD, GREEN, WHITE, RESET] : ['', '', '', ''];
    const target = this.#target;
    let line: string;
    if (target !== undefined && target > 0) {
      line = `${bold}${this.#count(current, target)}${reset}`;
      const done = Math.min(barWidth, Math.max(0, Math.trunc((barWidth * current) / target)));
      if (barWidth > 0) line += ' ';
      if (done > 0) line += `${green}${'━'.repeat(done)}${reset}`;
      if (barWidth > done) line += `${white}${'━'.repeat(barWidth - done)}${reset}`;
    } else {
      line = `${String(current).padStart(7)}/Unknown`;
    }
    const time =
      target !== undefined && target > 0 && !finalize
        ? formatEta(timePerStep * (target - current))
        : `${pyFormat(now - this.#start, '.0f')}s`;
    line += ` ${bold}${time}${reset}${formatStepTime(timePerStep)}`;
    const parts = [...this.#values].map(
      ([k, v]) => `${k}: ${Math.abs(v) > 1e-3 ? pyFormat(v, '.4f') : pyFormat(v, '.4e')}`,
    );
    return { head: line, parts };
  }

  /** `%{digits}d/%d`: the step count padded to the width of the total. */
  #count(current: number, target: number): string {
    return `${String(current).padStart(String(Math.trunc(target)).length)}/${target}`;
  }

  #stopBar(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }

  /** Ends a bar left showing when fit stops early (a callback threw, an abort): the terminal is put back. */
  close(): void {
    this.#stopBar();
  }
}
