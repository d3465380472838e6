/** Stop training when the loss becomes NaN or infinite (Keras 3 `TerminateOnNaN`). */
import type { Logs } from './callback.js';
import { Callback } from './callback.js';
import { checkBoolean, checkKnownOptions, printMsg, withDefaults } from './monitor.js';

export interface TerminateOnNaNOptions {
  /** Throw at once instead of stopping gracefully (then `onTrainEnd` hooks do not run). Default `false`. */
  raiseError?: boolean;
}

const DEFAULTS = Object.freeze({ raiseError: false });

/**
 * Checks `logs.loss` after every batch; on NaN or ±Infinity prints `Batch N: Invalid loss, terminating
 * training` and sets `model.stopTraining` (or throws, with `raiseError: true`).
 *
 * @example
 * await model.fit(x, y, { epochs: 10, callbacks: [new TerminateOnNaN()] });
 */
export class TerminateOnNaN extends Callback {
  readonly raiseError: boolean;

  constructor(options: TerminateOnNaNOptions = {}) {
    super();
    checkKnownOptions('TerminateOnNaN', options, Object.keys(DEFAULTS));
    const o = withDefaults(DEFAULTS, options);
    this.raiseError = checkBoolean('TerminateOnNaN', 'raiseError', o.raiseError);
  }

  override onBatchEnd(batch: number, logs?: Logs): void {
    const loss = logs?.loss;
    if (loss === undefined || Number.isFinite(loss)) return;
    if (this.raiseError) {
      throw new Error(
        `NaN or Inf loss encountered at batch ${batch}. Loss value: ${loss}. Terminating training immediately.`,
      );
    }
    printMsg(`Batch ${batch}: Invalid loss, terminating training`);
    this.model.stopTraining = true;
  }
}
