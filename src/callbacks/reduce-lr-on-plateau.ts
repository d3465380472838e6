/** Reduce the learning rate when a monitored quantity has stopped improving (Keras 3 `ReduceLROnPlateau`). */
import { badOption, checkNonNegativeInt } from '../errors.js';
import type { Logs } from './callback.js';
import { pyRepr } from './format.js';
import {
  type Mode,
  MonitorCallback,
  checkFinite,
  checkKnownOptions,
  checkVerbose,
  printMsg,
  withDefaults,
} from './monitor.js';

export interface ReduceLROnPlateauOptions {
  /** Log key to watch. Default `'val_loss'`. */
  monitor?: string;
  /** `newLr = lr * factor`; must be in [0, 1). Default `0.1`. */
  factor?: number;
  /** Epochs without improvement after which the learning rate is reduced. Default `10`. */
  patience?: number;
  /** 1 prints a line at each reduction. Default `0`. */
  verbose?: number;
  /** `'min'`, `'max'`, or `'auto'` (max for accuracy-like names, min otherwise). Default `'auto'`. */
  mode?: Mode;
  /** A change smaller than this (in absolute value) is no improvement. Default `1e-4`. */
  minDelta?: number;
  /** Epochs after a reduction during which waiting is suspended. Default `0`. */
  cooldown?: number;
  /** The learning rate is never reduced below this. Default `0`. */
  minLr?: number;
}

const DEFAULTS = Object.freeze({
  monitor: 'val_loss',
  factor: 0.1,
  patience: 10,
  verbose: 0,
  mode: 'auto' as Mode,
  minDelta: 1e-4,
  cooldown: 0,
  minLr: 0,
});

/**
 * Multiplies `model.learningRate` by `factor` once `monitor` has not improved for `patience` epochs, then
 * waits `cooldown` epochs before counting again; never goes below `minLr`. Like Keras 3, it writes the
 * current rate into the epoch's logs as `learning_rate` (before any reduction), so History and CSVLogger
 * record it.
 *
 * Options (defaults): monitor ('val_loss'), factor (0.1), patience (10), verbose (0), mode ('auto'),
 * minDelta (1e-4), cooldown (0), minLr (0).
 *
 * @example
 * new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.2, patience: 5, minLr: 0.001 })
 */
export class ReduceLROnPlateau extends MonitorCallback {
  readonly factor: number;
  readonly patience: number;
  readonly verbose: number;
  readonly cooldown: number;
  readonly minLr: number;

  /** Epochs since the last improvement (outside cooldown). */
  wait = 0;
  /** Cooldown epochs left. */
  cooldownCounter = 0;
  #warned = false;

  constructor(options: ReduceLROnPlateauOptions = {}) {
    checkKnownOptions('ReduceLROnPlateau', options, Object.keys(DEFAULTS));
    const o = withDefaults(DEFAULTS, options);
    super('ReduceLROnPlateau', o.monitor, o.mode, o.minDelta);
    if (typeof o.factor !== 'number' || !(o.factor >= 0 && o.factor < 1)) {
      throw badOption('ReduceLROnPlateau', 'factor', 'a number in [0, 1)', o.factor);
    }
    this.factor = o.factor;
    this.patience = checkNonNegativeInt('ReduceLROnPlateau', 'patience', o.patience);
    this.verbose = checkVerbose('ReduceLROnPlateau', o.verbose);
    this.cooldown = checkNonNegativeInt('ReduceLROnPlateau', 'cooldown', o.cooldown);
    const minLr = checkFinite('ReduceLROnPlateau', 'minLr', o.minLr);
    if (minLr < 0) throw badOption('ReduceLROnPlateau', 'minLr', 'a non-negative number', minLr);
    this.minLr = minLr;
  }

  override onTrainBegin(): void {
    this.best = undefined;
    this.cooldownCounter = 0;
    this.wait = 0;
    this.#warned = false;
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    const epochLogs = logs ?? {};
    epochLogs.learning_rate = this.model.learningRate;
    const current = epochLogs[this.monitor];
    if (current === undefined) {
      if (!this.#warned) {
        this.#warned = true;
        console.warn(
          `Learning rate reduction is conditioned on metric \`${this.monitor}\` which is not available. ` +
            `Available metrics are: ${Object.keys(epochLogs).join(',')}.`,
        );
      }
      return;
    }
    if (this.#inCooldown()) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.wait = 0;
    } else if (!this.#inCooldown()) {
      this.wait += 1;
      if (this.wait >= this.patience && this.#reduce(epoch)) {
        this.cooldownCounter = this.cooldown;
        this.wait = 0;
      }
    }
  }

  #inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Returns false when the rate is already at `minLr`; then the wait keeps growing, as in Keras. */
  #reduce(epoch: number): boolean {
    const oldLr = this.model.learningRate;
    // Keras holds the rate in a float32 variable and compares it with float32(min_lr); doing the same stops
    // a float64 rate that was clamped to minLr from counting as "above" a minLr that float32 rounds down.
    if (!(Math.fround(oldLr) > Math.fround(this.minLr))) return false;
    const newLr = Math.max(oldLr * this.factor, this.minLr);
    this.model.learningRate = newLr;
    if (this.verbose > 0)
      printMsg(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${pyRepr(newLr)}.`);
    return true;
  }
}
