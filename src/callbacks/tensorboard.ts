/**
 * Keras's TensorBoard callback: event files that TensorBoard reads, in Keras's layout. `logDir/train` gets
 * the epoch's training logs as `epoch_<key>` scalars (with `epoch_learning_rate`) at step = epoch, and with
 * `updateFreq: N` the running batch logs as `batch_<key>` every N batches (step = batches so far);
 * `logDir/validation` gets the `val_` logs without the prefix. With `histogramFreq: N`, every N epochs the
 * weights' histograms go to `train` under their names ('dense/kernel').
 *
 * Options (defaults): logDir ('logs'), updateFreq ('epoch'), histogramFreq (0).
 *
 * @example
 * await model.fit(x, y, { epochs: 10, validationSplit: 0.2, callbacks: [new TensorBoard({ logDir: 'runs/a' })] });
 * // then: tensorboard --logdir runs
 */
import { join } from 'node:path';
import { badOption, checkOptionKeys } from '../errors.js';
import { Callback, type Logs } from './callback.js';
import { EventFileWriter } from './event-file.js';

export interface TensorBoardOptions {
  logDir?: string;
  /** 'epoch', 'batch' (every batch) or a number of batches. */
  updateFreq?: 'epoch' | 'batch' | number;
  /** Write weight histograms every this many epochs; 0 never. */
  histogramFreq?: number;
}

export class TensorBoard extends Callback {
  readonly logDir: string;
  readonly updateFreq: 'epoch' | number;
  readonly histogramFreq: number;
  private train?: EventFileWriter;
  private validation?: EventFileWriter;
  private batches = 0;

  constructor(options: TensorBoardOptions = {}) {
    super();
    checkOptionKeys('TensorBoard', options, ['logDir', 'updateFreq', 'histogramFreq']);
    const o = options ?? {};
    if (o.logDir !== undefined && (typeof o.logDir !== 'string' || o.logDir === ''))
      throw badOption('TensorBoard', 'logDir', 'a non-empty path', o.logDir);
    this.logDir = o.logDir ?? 'logs';
    const u = o.updateFreq ?? 'epoch';
    if (u !== 'epoch' && u !== 'batch' && !(Number.isInteger(u) && (u as number) > 0))
      throw badOption('TensorBoard', 'updateFreq', "'epoch', 'batch' or a positive integer", u);
    this.updateFreq = u === 'batch' ? 1 : u;
    const h = o.histogramFreq ?? 0;
    if (!Number.isInteger(h) || h < 0) throw badOption('TensorBoard', 'histogramFreq', 'a non-negative integer', h);
    this.histogramFreq = h;
  }

  /** The batch logs arrive trailing the workers, in step order: training need not wait for this callback. */
  override get needsStepBoundary(): boolean {
    return false;
  }

  override onTrainBegin(): void {
    this.close();
    this.train = new EventFileWriter(join(this.logDir, 'train'));
    this.batches = 0;
  }

  override onBatchEnd(_batch: number, logs?: Logs): void {
    this.batches++;
    if (this.updateFreq === 'epoch' || !this.train || this.batches % this.updateFreq !== 0) return;
    this.train.scalars(this.batches, Object.fromEntries(Object.entries(logs ?? {}).map(([k, v]) => [`batch_${k}`, v])));
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    if (!this.train) return;
    const train: Record<string, number> = {};
    const val: Record<string, number> = {};
    for (const [k, v] of Object.entries(logs)) {
      if (k.startsWith('val_')) val[`epoch_${k.slice(4)}`] = v;
      else train[`epoch_${k}`] = v;
    }
    // Keras logs the optimizer's rate with the training scalars (float32, as its variable holds it).
    train.epoch_learning_rate ??= Math.fround(this.model.learningRate);
    this.train.scalars(epoch, train);
    if (Object.keys(val).length) {
      this.validation ??= new EventFileWriter(join(this.logDir, 'validation'));
      this.validation.scalars(epoch, val);
    }
    if (this.histogramFreq > 0 && epoch % this.histogramFreq === 0) {
      this.train.histograms(epoch, Object.fromEntries(this.model.getWeights().map((w) => [w.name, w.data])));
    }
  }

  override onTrainEnd(): void {
    this.close();
  }

  private close(): void {
    this.train?.close();
    this.validation?.close();
    this.train = this.validation = undefined;
  }
}
