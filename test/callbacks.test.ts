/**
 * The callbacks driven by made-up logs and a fake model, no training. Every expected value is worked out
 * by hand from Keras 3's rules in the comment beside it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CallbackModel, Logs, NamedWeight } from '../src/callbacks/index.js';
import {
  CSVLogger,
  Callback,
  EarlyStopping,
  ModelCheckpoint,
  ProgbarLogger,
  ReduceLROnPlateau,
  TerminateOnNaN,
  autoMode,
} from '../src/callbacks/index.js';
import { pyFormat, pyRepr, pyTemplate } from '../src/callbacks/format.js';

/** A model whose single weight is whatever the test sets; `save` records its paths. */
class FakeModel implements CallbackModel {
  stopTraining = false;
  learningRate: number;
  weight = 0;
  saved: string[] = [];
  constructor(learningRate = 0.1) {
    this.learningRate = learningRate;
  }
  getWeights(): NamedWeight[] {
    return [{ name: 'w', shape: [1], data: Float32Array.of(this.weight) }];
  }
  setWeights(weights: NamedWeight[] | Float32Array[]): void {
    const first = weights[0];
    this.weight = (first instanceof Float32Array ? first : first.data)[0];
  }
  async save(dir: string): Promise<void> {
    this.saved.push(dir);
  }
}

function attach<C extends Callback>(cb: C, model = new FakeModel(), params = { epochs: 10, steps: 1, verbose: 0 }): C {
  cb.setModel(model);
  cb.setParams(params);
  return cb;
}

/**
 * Runs epochs like fit does: epoch i sets the weight to 10 * i, then calls onEpochEnd with `{ [key]: values[i] }`,
 * stopping after the epoch that set stopTraining. Returns the number of epochs that ran.
 */
async function runEpochs(cb: Callback, model: FakeModel, values: number[], key = 'loss'): Promise<number> {
  model.stopTraining = false;
  await cb.onTrainBegin();
  let ran = 0;
  for (let epoch = 0; epoch < values.length; epoch++) {
    await cb.onEpochBegin(epoch);
    model.weight = 10 * epoch;
    await cb.onEpochEnd(epoch, { [key]: values[epoch] });
    ran++;
    if (model.stopTraining) break;
  }
  await cb.onTrainEnd();
  return ran;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('EarlyStopping', () => {
  it('stops once the wait reaches patience', async () => {
    // e0 best=1.0; e1 best=0.9 (wait 0); e2 0.95 wait=1; e3 0.92 wait=2 >= 2 -> stop at epoch 3.
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 2 }), model);
    expect(await runEpochs(es, model, [1.0, 0.9, 0.95, 0.92, 0.91, 0.5])).toBe(4);
    expect(es.stoppedEpoch).toBe(3);
    expect(es.best).toBe(0.9);
    expect(es.bestEpoch).toBe(1);
  });

  it('with patience 0 stops at the first epoch without improvement', async () => {
    // e0 best=1; e1 0.5 best; e2 0.6: wait=1 >= 0 -> stop at epoch 2.
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss' }), model);
    expect(await runEpochs(es, model, [1, 0.5, 0.6, 0.1])).toBe(3);
    expect(es.stoppedEpoch).toBe(2);
  });

  it('counts a change smaller than minDelta as no improvement (its sign is ignored)', async () => {
    // minDelta 0.1, patience 2: e0 best=1.0; e1 0.95+0.1=1.05 !< 1.0, wait 1; e2 0.85+0.1=0.95 < 1.0, best=0.85,
    // wait 0; e3 0.84+0.1=0.94 !< 0.85, wait 1; e4 0.80+0.1=0.90 !< 0.85, wait 2 -> stop at epoch 4.
    for (const minDelta of [0.1, -0.1]) {
      const model = new FakeModel();
      const es = attach(new EarlyStopping({ monitor: 'loss', patience: 2, minDelta }), model);
      expect(await runEpochs(es, model, [1.0, 0.95, 0.85, 0.84, 0.8, 0.1])).toBe(5);
      expect(es.stoppedEpoch).toBe(4);
      expect(es.best).toBe(0.85);
      expect(es.bestEpoch).toBe(2);
    }
  });

  it("maximises accuracy-like metrics in mode 'auto'", async () => {
    // max: e0 best=0.5; e1 best=0.6; e2 0.55 wait 1 >= 1 -> stop at 2.
    let model = new FakeModel();
    const auto = attach(new EarlyStopping({ monitor: 'val_accuracy', patience: 1 }), model);
    expect(await runEpochs(auto, model, [0.5, 0.6, 0.55, 0.58, 0.7], 'val_accuracy')).toBe(3);
    expect(auto.best).toBe(0.6);
    // Forced min on the same numbers: e0 best=0.5; e1 0.6 is worse, wait 1 -> stop at 1.
    model = new FakeModel();
    const min = attach(new EarlyStopping({ monitor: 'val_accuracy', patience: 1, mode: 'min' }), model);
    expect(await runEpochs(min, model, [0.5, 0.6, 0.55, 0.58, 0.7], 'val_accuracy')).toBe(2);
  });

  it('picks the direction from the monitored name', () => {
    expect(autoMode('val_loss')).toBe('min');
    expect(autoMode('mean_absolute_error')).toBe('min');
    expect(autoMode('val_mean_squared_error')).toBe('min');
    expect(autoMode('acc')).toBe('max');
    expect(autoMode('val_sparse_categorical_accuracy')).toBe('max');
    expect(autoMode('val_auc')).toBe('max');
    expect(autoMode('precision')).toBe('max');
  });

  it('keeps waiting while the best does not beat the baseline', async () => {
    // baseline 0.5, patience 2: e0 0.9 is a best but not below 0.5 so wait stays 1; e1 0.8 same, wait 2;
    // e2 0.85 no improvement, wait 3 >= 2 -> stop at 2.
    let model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 2, baseline: 0.5 }), model);
    expect(await runEpochs(es, model, [0.9, 0.8, 0.85, 0.3])).toBe(3);
    expect(es.stoppedEpoch).toBe(2);
    // baseline 0.85: e1 0.8 beats it, wait resets to 0; e2 wait 1 < 2; all 4 epochs run.
    model = new FakeModel();
    const beaten = attach(new EarlyStopping({ monitor: 'loss', patience: 2, baseline: 0.85 }), model);
    expect(await runEpochs(beaten, model, [0.9, 0.8, 0.85, 0.3])).toBe(4);
    expect(beaten.stoppedEpoch).toBe(0);
  });

  it('ignores epochs before startFromEpoch', async () => {
    // patience 0, rising loss. Monitoring from epoch 2: e2 best=3; e3 wait 1 -> stop at 3.
    let model = new FakeModel();
    const late = attach(new EarlyStopping({ monitor: 'loss', startFromEpoch: 2 }), model);
    expect(await runEpochs(late, model, [1, 2, 3, 4, 5])).toBe(4);
    expect(late.stoppedEpoch).toBe(3);
    // From epoch 0: e1 is already worse -> stop at 1.
    model = new FakeModel();
    const early = attach(new EarlyStopping({ monitor: 'loss' }), model);
    expect(await runEpochs(early, model, [1, 2, 3, 4, 5])).toBe(2);
  });

  it('restores the weights of the best epoch at the end of training', async () => {
    // patience 2: e1 (weight 10) is best; e2, e3 wait 1, 2 -> stop at 3 with weight 30, then restore 10.
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 2, restoreBestWeights: true }), model);
    expect(await runEpochs(es, model, [1.0, 0.5, 0.7, 0.8, 0.9])).toBe(4);
    expect(es.bestEpoch).toBe(1);
    expect(model.weight).toBe(10);
  });

  it('restores the best weights even when training was not stopped early (Keras 3)', async () => {
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 10, restoreBestWeights: true }), model);
    expect(await runEpochs(es, model, [1, 0.5, 0.7])).toBe(3);
    expect(es.stoppedEpoch).toBe(0);
    expect(model.weight).toBe(10);
  });

  it('leaves the last weights without restoreBestWeights', async () => {
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 2 }), model);
    await runEpochs(es, model, [1.0, 0.5, 0.7, 0.8, 0.9]);
    expect(model.weight).toBe(30);
  });

  it('resets its state in onTrainBegin, so an instance can be reused', async () => {
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 1 }), model);
    expect(await runEpochs(es, model, [1, 0.1, 0.2, 0.3])).toBe(3);
    // A stale best of 0.1 would stop this run at epoch 1; reset, the rising-then-falling run goes on.
    expect(await runEpochs(es, model, [5, 4, 3])).toBe(3);
    expect(es.stoppedEpoch).toBe(0);
    expect(es.best).toBe(3);
  });

  it('warns once, listing the available keys, when the monitored key is missing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ patience: 0 }), model);
    expect(await runEpochs(es, model, [1, 2, 3], 'loss')).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toBe(
      'Early stopping conditioned on metric `val_loss` which is not available. Available metrics are: loss',
    );
  });

  it('prints the stop and the restore with verbose 1', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const model = new FakeModel();
    const es = attach(new EarlyStopping({ monitor: 'loss', patience: 2, verbose: 1, restoreBestWeights: true }), model);
    await runEpochs(es, model, [1.0, 0.9, 0.95, 0.92]);
    expect(log.mock.calls.map((c) => c[0])).toEqual([
      'Epoch 4: early stopping',
      'Restoring model weights from the end of the best epoch: 2.',
    ]);
  });

  it('validates every option, naming it', () => {
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(
      'EarlyStopping: patience must be a non-negative integer. Received: patience=-1',
    );
    expect(() => new EarlyStopping({ startFromEpoch: 1.5 })).toThrow(
      'EarlyStopping: startFromEpoch must be a non-negative integer. Received: startFromEpoch=1.5',
    );
    expect(() => new EarlyStopping({ mode: 'up' as never })).toThrow(
      "EarlyStopping: mode must be one of 'auto', 'min', 'max'. Received: mode=\"up\"",
    );
    expect(() => new EarlyStopping({ minDelta: Number.NaN })).toThrow(
      'EarlyStopping: minDelta must be a finite number',
    );
    expect(() => new EarlyStopping({ baseline: Number.POSITIVE_INFINITY })).toThrow(
      'EarlyStopping: baseline must be a finite number',
    );
    expect(() => new EarlyStopping({ monitor: '' })).toThrow('EarlyStopping: monitor must be a non-empty string');
    expect(() => new EarlyStopping({ restoreBestWeights: 1 as never })).toThrow(
      'EarlyStopping: restoreBestWeights must be a boolean',
    );
    expect(() => new EarlyStopping({ restore_best_weights: true } as never)).toThrow(
      "Unrecognized option 'restore_best_weights' for EarlyStopping; did you mean 'restoreBestWeights'?",
    );
    expect(() => new EarlyStopping({ patience: undefined })).not.toThrow();
  });
});

describe('TerminateOnNaN', () => {
  it('stops on a NaN or infinite loss and prints the batch', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const model = new FakeModel();
      const cb = attach(new TerminateOnNaN(), model);
      cb.onBatchEnd(0, { loss: 1.5 });
      cb.onBatchEnd(1, { accuracy: Number.NaN });
      expect(model.stopTraining).toBe(false);
      cb.onBatchEnd(3, { loss: bad });
      expect(model.stopTraining).toBe(true);
    }
    expect(log.mock.calls.map((c) => c[0])).toEqual(Array(3).fill('Batch 3: Invalid loss, terminating training'));
  });

  it('throws instead with raiseError', () => {
    const cb = attach(new TerminateOnNaN({ raiseError: true }));
    expect(() => cb.onBatchEnd(2, { loss: Number.NaN })).toThrow('NaN or Inf loss encountered at batch 2');
  });
});

describe('ReduceLROnPlateau', () => {
  /** Runs the epochs; returns the logged learning_rate and the rate after each epoch. */
  function run(cb: ReduceLROnPlateau, model: FakeModel, values: number[], key = 'val_loss') {
    cb.onTrainBegin();
    const logged: number[] = [];
    const after: number[] = [];
    values.forEach((v, epoch) => {
      const logs: Logs = { [key]: v };
      cb.onEpochEnd(epoch, logs);
      logged.push(logs.learning_rate);
      after.push(model.learningRate);
    });
    return { logged, after };
  }

  it('reduces by factor after patience, pauses for cooldown, and stops at minLr', () => {
    // factor 0.5, patience 1, cooldown 2, minLr 0.02, flat loss:
    // e0 best=1 | e1 wait 1 -> 0.1*0.5=0.05, cooldown 2 | e2 cooldown 2->1, skip | e3 cooldown 1->0, wait 1 -> 0.025
    // e4 skip | e5 wait 1 -> max(0.0125, 0.02)=0.02 | e6 skip | e7 0.02 is not above minLr: no change | e8 same.
    const model = new FakeModel(0.1);
    const cb = attach(new ReduceLROnPlateau({ factor: 0.5, patience: 1, cooldown: 2, minLr: 0.02 }), model);
    const { logged, after } = run(cb, model, Array(9).fill(1));
    expect(after).toEqual([0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02]);
    // learning_rate goes into the logs as it was when the epoch ended, before any reduction.
    expect(logged).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02]);
  });

  it('without cooldown reduces every patience epochs', () => {
    // patience 2: e0 best | e1 wait 1 | e2 wait 2 -> 0.5 | e3 wait 1 | e4 wait 2 -> 0.25.
    const model = new FakeModel(1);
    const cb = attach(new ReduceLROnPlateau({ factor: 0.5, patience: 2 }), model);
    expect(run(cb, model, Array(5).fill(3)).after).toEqual([1, 1, 0.5, 0.5, 0.25]);
  });

  it('needs an improvement larger than minDelta (default 1e-4) to reset the wait', () => {
    // e0 best=1.0 | e1 0.99995+1e-4 !< 1.0, wait 1 | e2 0.9 improves, wait 0 | e3 wait 1 | e4 wait 2 -> 1*0.1.
    const model = new FakeModel(1);
    const cb = attach(new ReduceLROnPlateau({ patience: 2 }), model);
    expect(run(cb, model, [1.0, 0.99995, 0.9, 0.9, 0.9]).after).toEqual([1, 1, 1, 1, 0.1]);
  });

  it('maximises accuracy in mode auto', () => {
    // e0 best=0.5 | e1 0.6 is a new best | e2 0.4 is worse, wait 1 >= 1 -> 0.1 * 0.1.
    const model = new FakeModel(0.1);
    const cb = attach(new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 }), model);
    expect(run(cb, model, [0.5, 0.6, 0.4], 'val_accuracy').after).toEqual([0.1, 0.1, 0.1 * 0.1]);
  });

  it('is reusable: onTrainBegin forgets the best value', () => {
    const model = new FakeModel(1);
    const cb = attach(new ReduceLROnPlateau({ factor: 0.5, patience: 1 }), model);
    run(cb, model, [0.1, 0.2]);
    expect(model.learningRate).toBe(0.5);
    // A stale best of 0.1 would make 5 and 4 non-improvements.
    expect(run(cb, model, [5, 4, 3]).after).toEqual([0.5, 0.5, 0.5]);
  });

  it('prints each reduction with verbose 1', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const model = new FakeModel(0.1);
    const cb = attach(new ReduceLROnPlateau({ factor: 0.5, patience: 1, verbose: 1 }), model);
    run(cb, model, [1, 1]);
    expect(log.mock.calls.map((c) => c[0])).toEqual(['\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.05.']);
  });

  it('validates its options', () => {
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow(
      'ReduceLROnPlateau: factor must be a number in [0, 1). Received: factor=1',
    );
    expect(() => new ReduceLROnPlateau({ factor: 2.5 })).toThrow('factor=2.5');
    expect(() => new ReduceLROnPlateau({ cooldown: -1 })).toThrow(
      'ReduceLROnPlateau: cooldown must be a non-negative integer. Received: cooldown=-1',
    );
    expect(() => new ReduceLROnPlateau({ minLr: -0.1 })).toThrow(
      'ReduceLROnPlateau: minLr must be a non-negative number. Received: minLr=-0.1',
    );
    expect(() => new ReduceLROnPlateau({ patience: 0.5 })).toThrow(
      'ReduceLROnPlateau: patience must be a non-negative integer',
    );
  });
});

describe('CSVLogger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockstep-csv-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const epochs: Logs[] = [
    { loss: 0.5, accuracy: 0.75, val_loss: 0.625, val_accuracy: 0.5 },
    { loss: 0.25, accuracy: 1, val_loss: 1e-5, val_accuracy: 0.875 },
  ];

  async function run(cb: CSVLogger, logs: Logs[], { await: awaitEach = true } = {}) {
    await cb.onTrainBegin();
    const pending: Promise<void>[] = [];
    for (const [epoch, l] of logs.entries()) {
      const p = cb.onEpochEnd(epoch, l);
      if (awaitEach) await p;
      else pending.push(p);
    }
    await cb.onTrainEnd();
    await Promise.all(pending);
  }

  it('writes a sorted header and one row per epoch, numbers as Python prints floats', async () => {
    const file = join(dir, 'log.csv');
    await run(attach(new CSVLogger(file)), epochs);
    // Keys sorted; epochs 0-based; 1 -> 1.0 and 1e-5 -> 1e-05 as Python's str(float).
    expect(await readFile(file, 'utf8')).toBe(
      'epoch,accuracy,loss,val_accuracy,val_loss\n' + '0,0.75,0.5,0.5,0.625\n' + '1,1.0,0.25,0.875,1e-05\n',
    );
  });

  it('appends without a second header, or overwrites', async () => {
    const file = join(dir, 'log.csv');
    await run(attach(new CSVLogger(file, { separator: ';' })), epochs.slice(0, 1));
    await run(attach(new CSVLogger(file, { separator: ';', append: true })), epochs);
    expect(await readFile(file, 'utf8')).toBe(
      'epoch;accuracy;loss;val_accuracy;val_loss\n0;0.75;0.5;0.5;0.625\n0;0.75;0.5;0.5;0.625\n1;1.0;0.25;0.875;1e-05\n',
    );
    const again = attach(new CSVLogger(file));
    await run(again, epochs.slice(1));
    await run(again, epochs.slice(1)); // reused: overwrites again
    expect(await readFile(file, 'utf8')).toBe('epoch,accuracy,loss,val_accuracy,val_loss\n0,1.0,0.25,0.875,1e-05\n');
  });

  it('appending to a missing or empty file writes the header', async () => {
    const file = join(dir, 'new.csv');
    await writeFile(file, '');
    await run(attach(new CSVLogger(file, { append: true })), [{ loss: 2 }]);
    // No val_ key in the first epoch: Keras adds a val_ column per key, filled with NA.
    expect(await readFile(file, 'utf8')).toBe('epoch,loss,val_loss\n0,2.0,NA\n');
  });

  it('keeps rows in order when the hooks are not awaited, and flushes by onTrainEnd', async () => {
    const file = join(dir, 'log.csv');
    const many = Array.from({ length: 50 }, (_, i) => ({ loss: i / 4 }));
    await run(attach(new CSVLogger(file)), many, { await: false });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(51);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(many.map((_, i) => i));
    expect(lines[5]).toBe('4,1.0,NA');
  });

  it('validates its options', () => {
    expect(() => new CSVLogger('x.csv', { separator: '' })).toThrow('CSVLogger: separator must be a non-empty string');
    expect(() => new CSVLogger('x.csv', { append: 'yes' as never })).toThrow(
      'CSVLogger: append must be a boolean. Received: append="yes"',
    );
  });
});

describe('ModelCheckpoint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockstep-ckpt-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(cb: ModelCheckpoint, model: FakeModel, values: number[], key = 'val_loss') {
    await cb.onTrainBegin();
    for (const [epoch, v] of values.entries()) {
      await cb.onEpochBegin(epoch);
      await cb.onEpochEnd(epoch, { loss: 1, [key]: v });
    }
    await cb.onTrainEnd();
    return model.saved.map((p) => p.slice(dir.length + 1));
  }

  it('fills {epoch:02d} (1-based) and {val_loss:.2f} (rounded half to even) every epoch', async () => {
    const model = new FakeModel();
    const cb = attach(new ModelCheckpoint(join(dir, 'ckpt', 'model-{epoch:02d}-{val_loss:.2f}')), model);
    // 0.125 and 0.375 are exact ties in binary: Python's '.2f' gives 0.12 and 0.38.
    expect(await run(cb, model, [0.5, 0.125, 0.375])).toEqual([
      'ckpt/model-01-0.50',
      'ckpt/model-02-0.12',
      'ckpt/model-03-0.38',
    ]);
  });

  it('with saveBestOnly saves only improvements, kept across fits', async () => {
    // min: e0 (no best yet) saves, e1 0.6 worse, e2 0.4 saves, e3 0.4 is not below 0.4.
    const model = new FakeModel();
    const cb = attach(new ModelCheckpoint(join(dir, 'best-{epoch}'), { saveBestOnly: true }), model);
    expect(await run(cb, model, [0.5, 0.6, 0.4, 0.4])).toEqual(['best-1', 'best-3']);
    // Second fit: 0.45 is not better than the 0.4 already saved.
    model.saved = [];
    expect(await run(cb, model, [0.45, 0.3])).toEqual(['best-2']);
  });

  it('maximises accuracy, and starts from initialValueThreshold', async () => {
    let model = new FakeModel();
    const acc = attach(
      new ModelCheckpoint(join(dir, 'a-{epoch}-{val_accuracy:.3f}'), { monitor: 'val_accuracy', saveBestOnly: true }),
      model,
    );
    expect(await run(acc, model, [0.5, 0.4, 0.7], 'val_accuracy')).toEqual(['a-1-0.500', 'a-3-0.700']);
    // threshold 0.45: e0 0.5 does not beat it; e1 0.4 does; e2 0.42 not below 0.4; e3 0.3 does.
    model = new FakeModel();
    const thr = attach(
      new ModelCheckpoint(join(dir, 't-{epoch}'), { saveBestOnly: true, initialValueThreshold: 0.45 }),
      model,
    );
    expect(await run(thr, model, [0.5, 0.4, 0.42, 0.3])).toEqual(['t-2', 't-4']);
  });

  it('saves every saveFreq batches across epochs', async () => {
    // 3 batches per epoch, saveFreq 2: counts 1, 2 (save e1 b2), 1 | new epoch: 2 (save e2 b1), 1, 2 (save e2 b3).
    const model = new FakeModel();
    const cb = attach(new ModelCheckpoint(join(dir, 'ck-{epoch}-{batch}'), { saveFreq: 2 }), model);
    await cb.onTrainBegin();
    for (let epoch = 0; epoch < 2; epoch++) {
      await cb.onEpochBegin(epoch);
      for (let batch = 0; batch < 3; batch++) await cb.onBatchEnd(batch, { loss: 1 });
      await cb.onEpochEnd(epoch, { loss: 1, val_loss: 1 });
    }
    expect(model.saved.map((p) => p.slice(dir.length + 1))).toEqual(['ck-1-2', 'ck-2-1', 'ck-2-3']);
  });

  it('prints what it does with verbose 1', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const model = new FakeModel();
    const cb = attach(new ModelCheckpoint(join(dir, 'm'), { saveBestOnly: true, verbose: 1 }), model);
    await run(cb, model, [0.5, 0.6]);
    const path = join(dir, 'm');
    expect(log.mock.calls.map((c) => c[0])).toEqual([
      `\nEpoch 1: val_loss improved from None to 0.50000, saving model to ${path}`,
      `\nEpoch 1: finished saving model to ${path}`,
      '\nEpoch 2: val_loss did not improve from 0.50000',
    ]);
  });

  it('names the missing placeholder and validates its options', async () => {
    const model = new FakeModel();
    const cb = attach(new ModelCheckpoint(join(dir, 'm-{val_acc:.2f}')), model);
    await expect(run(cb, model, [0.5])).rejects.toThrow("Reason: KeyError: 'val_acc'");
    expect(() => new ModelCheckpoint('m', { saveFreq: 0 })).toThrow(
      "ModelCheckpoint: saveFreq must be 'epoch' or a positive integer. Received: saveFreq=0",
    );
    expect(() => new ModelCheckpoint('m', { saveBestOnly: 'true' as never })).toThrow(
      'ModelCheckpoint: saveBestOnly must be a boolean',
    );
    expect(() => new ModelCheckpoint('m', { save_best_only: true } as never)).toThrow(
      "Unrecognized option 'save_best_only' for ModelCheckpoint; did you mean 'saveBestOnly'?",
    );
  });
});

describe('ProgbarLogger', () => {
  class Capture extends Writable {
    text = '';
    isTTY: boolean;
    columns = 200;
    constructor(isTTY = false) {
      super();
      this.isTTY = isTTY;
    }
    override _write(chunk: Buffer, _enc: string, done: () => void): void {
      this.text += chunk.toString();
      done();
    }
  }

  it('verbose 2 prints Keras 3 lines: epoch header, steps, time, ms/step, metrics in log order', async () => {
    let t = 0;
    const stream = new Capture();
    const cb = attach(new ProgbarLogger({ verbose: 2, stream, now: () => t }), new FakeModel(), {
      epochs: 2,
      steps: 9,
      verbose: 2,
    });
    const epochsLogs: Logs[] = [
      {
        loss: 452430.46875,
        mean_absolute_error: 533.708923,
        val_loss: 538436.6875,
        val_mean_absolute_error: 565.33984,
      },
      { loss: 0.5, mean_absolute_error: 0.0005, val_loss: -0.25, val_mean_absolute_error: 0.001 },
    ];
    const times = [
      [0, 558],
      [1000, 1450],
    ];
    await cb.onTrainBegin();
    for (let epoch = 0; epoch < 2; epoch++) {
      t = times[epoch][0];
      await cb.onEpochBegin(epoch);
      for (let b = 0; b < 9; b++) await cb.onBatchEnd(b, { loss: 1, mean_absolute_error: 1 });
      t = times[epoch][1];
      await cb.onEpochEnd(epoch, epochsLogs[epoch]);
    }
    await cb.onTrainEnd();
    // Epoch 1: 558 ms -> '1s' (rounded), 558/9 = 62 ms/step. 452430.46875 is a tie at 4 decimals -> ...4688 (even).
    // Epoch 2: 450 ms -> '0s', 50 ms/step. Values <= 1e-3 print as '.4e'; Keras's verbose-2 line tests the value
    // itself, not its absolute value, so -0.25 prints as -2.5000e-01.
    expect(stream.text).toBe(
      'Epoch 1/2\n' +
        '9/9 - 1s - 62ms/step - loss: 452430.4688 - mean_absolute_error: 533.7089 - val_loss: 538436.6875 - val_mean_absolute_error: 565.3398\n' +
        'Epoch 2/2\n' +
        '9/9 - 0s - 50ms/step - loss: 0.5000 - mean_absolute_error: 5.0000e-04 - val_loss: -2.5000e-01 - val_mean_absolute_error: 1.0000e-03\n',
    );
  });

  it('verbose 1 off a terminal writes one bar line per epoch; the step time leaves out the first step', async () => {
    let t = 0;
    const stream = new Capture(false);
    const cb = attach(new ProgbarLogger({ verbose: 1, stream, now: () => t }), new FakeModel(), {
      epochs: 1,
      steps: 12,
      verbose: 1,
    });
    await cb.onTrainBegin();
    await cb.onEpochBegin(0);
    // Step 1 takes 1 s, later steps 100 ms each: (1000 + 11*100 - 1000) / 11 = 100 ms/step; 2.1 s elapsed -> '2s'.
    for (let b = 0; b < 12; b++) {
      t = b === 0 ? 1000 : 1000 + 100 * b;
      await cb.onBatchEnd(b, { loss: 0.5 - b / 100 });
    }
    await cb.onEpochEnd(0, { loss: 0.25, val_loss: -0.0001 });
    await cb.onTrainEnd();
    // One epoch: no 'Epoch 1/1' header. |-0.0001| <= 1e-3 -> scientific.
    expect(stream.text).toBe('12/12 ━━━━━━━━━━━━━━━━━━━━ 2s 100ms/step - loss: 0.2500 - val_loss: -1.0000e-04\n');
  });

  it('verbose 1 on a terminal draws a live bar that ends on the final line', async () => {
    let t = 0;
    const stream = new Capture(true);
    const cb = attach(new ProgbarLogger({ verbose: 1, stream, now: () => t }), new FakeModel(), {
      epochs: 2,
      steps: 4,
      verbose: 1,
    });
    await cb.onTrainBegin();
    for (let epoch = 0; epoch < 2; epoch++) {
      await cb.onEpochBegin(epoch);
      for (let b = 0; b < 4; b++) {
        t += 100;
        await cb.onBatchEnd(b, { loss: 0.5 });
      }
      await cb.onEpochEnd(epoch, { loss: 0.5, val_loss: 0.75 });
    }
    await cb.onTrainEnd();
    // Each redraw starts with 'cursor to column 1' (ESC [1G); split there and at newlines, then strip colours
    // and cursor control.
    const lines = stream.text
      .split(/\n|\x1b\[1G/)
      .map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, ''))
      .filter((l) => l !== '');
    expect(lines).toContain('Epoch 1/2');
    expect(lines).toContain('Epoch 2/2');
    // The last frame of each epoch is its final line (val_ metrics come with onEpochEnd).
    expect(lines.filter((l) => l.startsWith('4/4') && l.includes('val_loss'))).toEqual([
      '4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 0.5000 - val_loss: 0.7500',
      '4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 0.5000 - val_loss: 0.7500',
    ]);
    // Mid-epoch draws show the ETA: after step 1 of 4 at 100 ms/step, 0.3 s left -> '0s'.
    expect(lines).toContain('1/4 ━━━━━━━━━━━━━━━━━━━━ 0s 100ms/step - loss: 0.5000');
    // Coloured: 5 of 20 segments green (done), 15 white.
    expect(stream.text).toContain(`\x1b[1m1/4\x1b[0m \x1b[32m${'━'.repeat(5)}\x1b[0m\x1b[37m${'━'.repeat(15)}\x1b[0m`);
  });

  it('validates verbose', () => {
    expect(() => new ProgbarLogger({ verbose: 0 as never })).toThrow(
      'ProgbarLogger: verbose must be 1 or 2. Received: verbose=0',
    );
  });
});

describe('Python number formatting', () => {
  it('formats like format(x, spec) and repr(x)', () => {
    // Each expected value is what CPython 3 prints.
    expect(pyFormat(0.125, '.2f')).toBe('0.12');
    expect(pyFormat(2.5, '.0f')).toBe('2');
    expect(pyFormat(1e-5, '.4e')).toBe('1.0000e-05');
    expect(pyFormat(9.9999, '.2e')).toBe('1.00e+01');
    expect(pyFormat(123.0, '.3')).toBe('1.23e+02');
    expect(pyFormat(12.0, '.3')).toBe('12.0');
    expect(pyFormat(0.00001234, 'g')).toBe('1.234e-05');
    expect(pyFormat(3, '03d', true)).toBe('003');
    expect(pyFormat(1234567.891, ',.2f')).toBe('1,234,567.89');
    expect(pyFormat(-1.5, '+08.2f')).toBe('-0001.50');
    expect(pyFormat(Number.NaN, '.4f')).toBe('nan');
    expect(() => pyFormat(1.5, 'd')).toThrow("Unknown format code 'd' for object of type 'float'");
    expect(pyRepr(1)).toBe('1.0');
    expect(pyRepr(1e16)).toBe('1e+16');
    expect(pyRepr(1.5e-5)).toBe('1.5e-05');
    expect(pyRepr(0.0001)).toBe('0.0001');
    expect(pyRepr(123456789012345.6)).toBe('123456789012345.6');
    expect(
      pyTemplate('{{x}}-{epoch:02d}-{loss}', { epoch: { value: 3, isInt: true }, loss: { value: 1, isInt: false } }),
    ).toBe('{x}-03-1.0');
  });
});
