/**
 * What EarlyStopping, ReduceLROnPlateau and ModelCheckpoint share, after Keras 3's `MonitorCallback`:
 * a monitored log key, a direction (`mode`), a `minDelta` and the one rule `isImprovement`.
 */
import { badOption, checkNonNegativeInt, checkOptionKeys } from '../errors.js';
import { Callback } from './callback.js';

export type Mode = 'auto' | 'min' | 'max';

const MODES: readonly Mode[] = ['auto', 'min', 'max'];

/**
 * Metric names that improve upwards. Keras 3 asks the compiled metric for its `_direction`; a callback here
 * sees only log keys, so the names of Keras's "up" metrics stand in for it (`acc` covers every accuracy and
 * the `acc` alias). Everything else, losses and errors included, is minimised.
 */
const HIGHER_IS_BETTER =
  /acc|auc|precision|recall|sensitivity|specificity|f1|fbeta|iou|r2|cosine_similarity|correlation/;

/** The direction `mode: 'auto'` picks for a monitored key (`val_` prefix ignored). */
export function autoMode(monitor: string): 'min' | 'max' {
  const name = monitor.startsWith('val_') ? monitor.slice(4) : monitor;
  if (name === 'loss') return 'min';
  return HIGHER_IS_BETTER.test(name) ? 'max' : 'min';
}

/** Throws on option keys the callback does not know (a typo like `restore_best_weights` would else be ignored). */
export function checkKnownOptions(owner: string, options: unknown, known: readonly string[]): void {
  checkOptionKeys(owner, options, known);
}

/** The options over their defaults; an option given as `undefined` keeps its default. */
export function withDefaults<T extends object>(defaults: T, options: object): T {
  const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  return merged as T;
}

export function checkString(owner: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw badOption(owner, option, 'a non-empty string', value);
  return value;
}

export function checkFinite(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badOption(owner, option, 'a finite number', value);
  return value;
}

export function checkBoolean(owner: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw badOption(owner, option, 'a boolean', value);
  return value;
}

function checkMode(owner: string, value: unknown): Mode {
  if (!MODES.includes(value as Mode))
    throw badOption(owner, 'mode', `one of ${MODES.map((m) => `'${m}'`).join(', ')}`, value);
  return value as Mode;
}

export function checkVerbose(owner: string, value: unknown): number {
  return checkNonNegativeInt(owner, 'verbose', value);
}

/** Keras's `io_utils.print_msg`. */
export function printMsg(message: string): void {
  console.log(message);
}

export abstract class MonitorCallback extends Callback {
  readonly monitor: string;
  readonly mode: Mode;
  /** The best monitored value so far; `undefined` until the first one. */
  best: number | undefined;
  /** Signed like Keras's `min_delta`: negative when minimising, so `value - minDelta` favours the reference. */
  protected readonly signedMinDelta: number;
  readonly #higherIsBetter: boolean;

  constructor(owner: string, monitor: unknown, mode: unknown, minDelta: unknown, best?: number) {
    super();
    this.monitor = checkString(owner, 'monitor', monitor);
    this.mode = checkMode(owner, mode);
    const delta = Math.abs(checkFinite(owner, 'minDelta', minDelta));
    this.#higherIsBetter = (this.mode === 'auto' ? autoMode(this.monitor) : this.mode) === 'max';
    this.signedMinDelta = this.#higherIsBetter ? delta : -delta;
    this.best = best;
  }

  /** Keras's `_is_improvement`: anything beats no reference; otherwise it must win by more than `minDelta`. */
  protected isImprovement(value: number, reference: number | undefined): boolean {
    if (reference === undefined) return true;
    const shifted = value - this.signedMinDelta;
    return this.#higherIsBetter ? shifted > reference : shifted < reference;
  }
}
