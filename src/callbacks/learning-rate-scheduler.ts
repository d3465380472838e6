/**
 * Keras's LearningRateScheduler: at the start of every epoch, sets the rate to schedule(epoch, rate), and at
 * its end writes the rate into the logs as `learning_rate` (float32, as Keras reads its rate variable), so
 * History, CSVLogger and TensorBoard record it.
 *
 * @example
 * new LearningRateScheduler((epoch, lr) => (epoch < 10 ? lr : lr * Math.exp(-0.1)))
 */
import { badOption, checkOptionKeys } from '../errors.js';
import { Callback, type Logs } from './callback.js';

export interface LearningRateSchedulerOptions {
  /** 1: print the new rate at each epoch's start. Default 0. */
  verbose?: 0 | 1;
}

export class LearningRateScheduler extends Callback {
  readonly verbose: 0 | 1;

  constructor(
    readonly schedule: (epoch: number, lr: number) => number,
    options: LearningRateSchedulerOptions = {},
  ) {
    super();
    if (typeof schedule !== 'function')
      throw badOption('LearningRateScheduler', 'schedule', 'a function (epoch, lr) => lr', schedule);
    checkOptionKeys('LearningRateScheduler', options, ['verbose']);
    const verbose = options?.verbose ?? 0;
    if (verbose !== 0 && verbose !== 1) throw badOption('LearningRateScheduler', 'verbose', '0 or 1', verbose);
    this.verbose = verbose;
  }

  override onEpochBegin(epoch: number): void {
    const lr = this.schedule(epoch, Math.fround(this.model.learningRate));
    if (typeof lr !== 'number' || !Number.isFinite(lr) || !(lr > 0)) {
      throw new Error(
        `LearningRateScheduler: the schedule returned ${String(lr)} for epoch ${epoch}; it must return a positive finite number`,
      );
    }
    this.model.learningRate = lr;
    if (this.verbose > 0) console.log(`\nEpoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }

  override onEpochEnd(_epoch: number, logs?: Logs): void {
    if (logs) logs.learning_rate = Math.fround(this.model.learningRate);
  }
}
