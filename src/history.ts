/** What fit returns: per-epoch logs under Keras's keys, plus where the time went. */
import type { Logs } from './callbacks/callback.js';

export interface EpochTiming {
  seconds: number;
  steps: number;
  /** Workers that trained (0: in process); fewer than asked when a batch has fewer shards than workers. */
  workers: number;
  /** Milliseconds per step, averaged over workers: gradient computation, reduction + update, and waiting. */
  computeMsPerStep: number;
  reduceMsPerStep: number;
  syncMsPerStep: number;
  /**
   * With whole-batch statistics (BatchNormalization): ms per step waiting at their exchange, and its calls per step.
   */
  exchangeMsPerStep?: number;
  exchangesPerStep?: number;
  /**
   * On the epoch in which a fit's first step completed: seconds from the fit() call to that step (input
   * checks and copy into shared memory, the pool's start-up on a model's first fit, and the step itself).
   */
  firstStepSeconds?: number;
}

export class History {
  /** history.loss, history.val_loss, history.accuracy ... one value per epoch. */
  readonly history: Record<string, number[]> = {};
  readonly epoch: number[] = [];
  readonly timing: EpochTiming[] = [];
  params: { epochs: number; steps: number; verbose: number; workers: number } = {
    epochs: 0,
    steps: 0,
    verbose: 0,
    workers: 0,
  };

  record(epoch: number, logs: Logs, timing: EpochTiming): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
    this.timing.push(timing);
  }

  /** Writes the chapter's figure (loss and each metric against epoch) as SVG, or PNG when the name ends .png. */
  async plot(file: string): Promise<void> {
    const { plotHistory } = await import('./plot.js');
    await plotHistory(this.history, file);
  }
}
