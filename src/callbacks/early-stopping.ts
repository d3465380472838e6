/** Stop training when a monitored quantity has stopped improving (Keras 3 `EarlyStopping`). */
import { checkNonNegativeInt } from '../errors.js';
import type { Logs, NamedWeight } from './callback.js';
import {
  type Mode,
  MonitorCallback,
  checkBoolean,
  checkFinite,
  checkKnownOptions,
  checkVerbose,
  printMsg,
  withDefaults,
} from './monitor.js';

export interface EarlyStoppingOptions {
  /** Log key to watch. Default `'val_loss'`. */
  monitor?: string;
  /** A change smaller than this (in absolute value) is no improvement. Default `0`. */
  minDelta?: number;
  /** Epochs without improvement after which training stops. Default `0`. */
  patience?: number;
  /** 1 prints a line when training stops and when weights are restored. Default `0`. */
  verbose?: number;
  /** `'min'`, `'max'`, or `'auto'` (max for accuracy-like names, min otherwise). Default `'auto'`. */
  mode?: Mode;
  /** Training stops unless the model beats this value within `patience` epochs. Default none. */
  baseline?: number;
  /** At the end of training, put back the weights of the best epoch. Default `false`. */
  restoreBestWeights?: boolean;
  /** Warm-up epochs that are not monitored at all. Default `0`. */
  startFromEpoch?: number;
}

const DEFAULTS = Object.freeze({
  monitor: 'val_loss',
  minDelta: 0,
  patience: 0,
  verbose: 0,
  mode: 'auto' as Mode,
  baseline: undefined as number | undefined,
  restoreBestWeights: false,
  startFromEpoch: 0,
});

/**
 * Stops training once `monitor` has not improved for `patience` epochs, through `model.stopTraining`.
 *
 * Options (defaults): monitor ('val_loss'), minDelta (0), patience (0), verbose (0), mode ('auto'),
 * baseline (none), restoreBestWeights (false), startFromEpoch (0).
 *
 * @example
 * // stop when the training loss has not gone down for 3 epochs, keeping the best weights
 * new EarlyStopping({ monitor: 'loss', patience: 3, restoreBestWeights: true })
 */
export class EarlyStopping extends MonitorCallback {
  readonly patience: number;
  readonly verbose: number;
  readonly baseline: number | undefined;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;

  /** Epochs seen since the last improvement. */
  wait = 0;
  /** The (0-based) epoch at which training was stopped; 0 when it was not. */
  stoppedEpoch = 0;
  /** The (0-based) epoch of `best`. */
  bestEpoch = 0;
  bestWeights: NamedWeight[] | undefined;
  #warned = false;

  constructor(options: EarlyStoppingOptions = {}) {
    checkKnownOptions('EarlyStopping', options, Object.keys(DEFAULTS));
    const o = withDefaults(DEFAULTS, options);
    super('EarlyStopping', o.monitor, o.mode, o.minDelta);
    this.patience = checkNonNegativeInt('EarlyStopping', 'patience', o.patience);
    this.verbose = checkVerbose('EarlyStopping', o.verbose);
    this.baseline = o.baseline === undefined ? undefined : checkFinite('EarlyStopping', 'baseline', o.baseline);
    this.restoreBestWeights = checkBoolean('EarlyStopping', 'restoreBestWeights', o.restoreBestWeights);
    this.startFromEpoch = checkNonNegativeInt('EarlyStopping', 'startFromEpoch', o.startFromEpoch);
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = undefined;
    this.bestWeights = undefined;
    this.bestEpoch = 0;
    this.#warned = false;
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    const current = this.#monitorValue(logs);
    if (current === undefined || epoch < this.startFromEpoch) return;
    if (this.restoreBestWeights && this.bestWeights === undefined) {
      // Until something improves, the first monitored epoch's weights are the best ones.
      this.bestWeights = this.model.getWeights();
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = this.model.getWeights();
      // The wait restarts only when the new best also beats the baseline.
      if (this.baseline === undefined || this.isImprovement(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }

  /**
   * Keras 3 restores the best weights here, at the end of training, and not at the moment it stops: so they
   * come back also when training ran to its last epoch without stopping early (Keras 2 restored only when
   * it stopped).
   */
  override onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) printMsg(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== undefined) {
      if (this.verbose > 0) printMsg(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      this.model.setWeights(this.bestWeights);
    }
  }

  #monitorValue(logs: Logs | undefined): number | undefined {
    const value = logs?.[this.monitor];
    if (value === undefined && !this.#warned) {
      this.#warned = true;
      console.warn(
        `Early stopping conditioned on metric \`${this.monitor}\` which is not available. ` +
          `Available metrics are: ${Object.keys(logs ?? {}).join(',')}`,
      );
    }
    return value;
  }
}
