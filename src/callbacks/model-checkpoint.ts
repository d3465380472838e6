/** Save the model during training (Keras 3 `ModelCheckpoint`). */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { badOption } from '../errors.js';
import type { Logs } from './callback.js';
import { type TemplateValue, pyFormat, pyTemplate } from './format.js';
import {
  type Mode,
  MonitorCallback,
  checkBoolean,
  checkFinite,
  checkKnownOptions,
  checkString,
  checkVerbose,
  printMsg,
  withDefaults,
} from './monitor.js';

export interface ModelCheckpointOptions {
  /** Log key compared by `saveBestOnly`. Default `'val_loss'`. */
  monitor?: string;
  /** 1 prints a line for every save (or skipped save). Default `0`. */
  verbose?: number;
  /** Save only when `monitor` improves on the best so far. Default `false`. */
  saveBestOnly?: boolean;
  /** `'min'`, `'max'`, or `'auto'` (max for accuracy-like names, min otherwise). Default `'auto'`. */
  mode?: Mode;
  /** `'epoch'` saves at each epoch end; a positive integer N saves every N batches. Default `'epoch'`. */
  saveFreq?: 'epoch' | number;
  /** With `saveBestOnly`, the value to beat before the first save. Default none. */
  initialValueThreshold?: number;
}

const DEFAULTS = Object.freeze({
  monitor: 'val_loss',
  verbose: 0,
  saveBestOnly: false,
  mode: 'auto' as Mode,
  saveFreq: 'epoch' as 'epoch' | number,
  initialValueThreshold: undefined as number | undefined,
});

/**
 * Calls `model.save(path)` at the end of every epoch (or every `saveFreq` batches). `filepath` is a Python
 * format string: `{epoch}` (1-based), `{batch}` (1-based, batch-level saves only) and any log key, with
 * Python format specs, e.g. `'ckpt/model-{epoch:02d}-{val_loss:.2f}'` -> `ckpt/model-03-0.41`.
 *
 * Options (defaults): monitor ('val_loss'), verbose (0), saveBestOnly (false), mode ('auto'),
 * saveFreq ('epoch'), initialValueThreshold (none).
 *
 * Like Keras, `best` is kept across `fit` calls (so a second fit does not overwrite a better checkpoint);
 * the batch counter is reset in `onTrainBegin`.
 *
 * @example
 * new ModelCheckpoint('checkpoints/model-{epoch:02d}', { monitor: 'val_loss', saveBestOnly: true })
 */
export class ModelCheckpoint extends MonitorCallback {
  readonly filepath: string;
  readonly verbose: number;
  readonly saveBestOnly: boolean;
  readonly saveFreq: 'epoch' | number;

  #currentEpoch = 0;
  #batchesSinceSave = 0;
  #lastBatch: number | undefined;

  constructor(filepath: string, options: ModelCheckpointOptions = {}) {
    checkKnownOptions('ModelCheckpoint', options, Object.keys(DEFAULTS));
    const o = withDefaults(DEFAULTS, options);
    const threshold =
      o.initialValueThreshold === undefined
        ? undefined
        : checkFinite('ModelCheckpoint', 'initialValueThreshold', o.initialValueThreshold);
    super('ModelCheckpoint', o.monitor, o.mode, 0, threshold);
    this.filepath = checkString('ModelCheckpoint', 'filepath', filepath);
    this.verbose = checkVerbose('ModelCheckpoint', o.verbose);
    this.saveBestOnly = checkBoolean('ModelCheckpoint', 'saveBestOnly', o.saveBestOnly);
    if (o.saveFreq !== 'epoch' && !(typeof o.saveFreq === 'number' && Number.isInteger(o.saveFreq) && o.saveFreq > 0)) {
      throw badOption('ModelCheckpoint', 'saveFreq', "'epoch' or a positive integer", o.saveFreq);
    }
    this.saveFreq = o.saveFreq;
  }

  /** Only a per-batch saveFreq needs fit to stop at step boundaries. */
  override get needsStepBoundary(): boolean {
    return this.saveFreq !== 'epoch';
  }

  override onTrainBegin(): void {
    this.#currentEpoch = 0;
    this.#batchesSinceSave = 0;
    this.#lastBatch = undefined;
  }

  override onEpochBegin(epoch: number): void {
    this.#currentEpoch = epoch;
  }

  override async onBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (this.#shouldSaveOnBatch(batch)) await this.#save(this.#currentEpoch, batch, logs ?? {});
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.#save(epoch, undefined, logs ?? {});
  }

  /** The path the checkpoint of this epoch (0-based) and batch (0-based, if any) goes to. */
  filePath(epoch: number, batch: number | undefined, logs: Logs): string {
    const values: Record<string, TemplateValue> = {};
    for (const [k, v] of Object.entries(logs)) values[k] = { value: v, isInt: false };
    values.epoch = { value: epoch + 1, isInt: true };
    if (batch !== undefined && !('batch' in logs)) values.batch = { value: batch + 1, isInt: true };
    try {
      return pyTemplate(this.filepath, values);
    } catch (e) {
      throw new Error(
        `Failed to format this callback filepath: "${this.filepath}". Reason: ${(e as Error).message}. ` +
          `Available keys: ${Object.keys(values).join(', ')}`,
        { cause: e },
      );
    }
  }

  #shouldSaveOnBatch(batch: number): boolean {
    if (this.saveFreq === 'epoch') return false;
    // A batch index that does not grow means a new epoch began.
    const added = this.#lastBatch === undefined || batch <= this.#lastBatch ? batch + 1 : batch - this.#lastBatch;
    this.#batchesSinceSave += added;
    this.#lastBatch = batch;
    if (this.#batchesSinceSave >= this.saveFreq) {
      this.#batchesSinceSave = 0;
      return true;
    }
    return false;
  }

  #shouldSave(epoch: number, logs: Logs, path: string): boolean {
    if (!this.saveBestOnly) {
      if (this.verbose > 0) printMsg(`\nEpoch ${epoch + 1}: saving model to ${path}`);
      return true;
    }
    const current = logs[this.monitor];
    if (current === undefined) {
      console.warn(`Can save best model only with ${this.monitor} available.`);
      return true;
    }
    const bestStr = this.best === undefined ? 'None' : pyFormat(this.best, '.5f');
    if (this.isImprovement(current, this.best)) {
      if (this.verbose > 0) {
        printMsg(
          `\nEpoch ${epoch + 1}: ${this.monitor} improved from ${bestStr} to ${pyFormat(current, '.5f')}, saving model to ${path}`,
        );
      }
      this.best = current;
      return true;
    }
    if (this.verbose > 0) printMsg(`\nEpoch ${epoch + 1}: ${this.monitor} did not improve from ${bestStr}`);
    return false;
  }

  async #save(epoch: number, batch: number | undefined, logs: Logs): Promise<void> {
    const path = this.filePath(epoch, batch, logs);
    if (!this.#shouldSave(epoch, logs, path)) return;
    const parent = dirname(path);
    if (parent !== '.' && parent !== '') await mkdir(parent, { recursive: true });
    await this.model.save(path);
    if (this.verbose > 0) printMsg(`\nEpoch ${epoch + 1}: finished saving model to ${path}`);
  }
}
