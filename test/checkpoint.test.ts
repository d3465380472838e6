/**
 * ModelCheckpoint inside a real fit (workers: 0): which epochs it saves, where, and that what it saved is
 * the model of that epoch, loadable with loadModel.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Callback, Matrix, Sequential, callbacks, layers, loadModel, type Logs } from '../src/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-checkpoint-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2;
  });
}
// A noisy regression with few rows and a large learning rate, so val_loss goes down and up again.
const x = new Matrix(values(64 * 4, 1), 64, 4);
const y = new Matrix(
  Float32Array.from({ length: 64 }, (_, r) => x.get(r, 0) - 2 * x.get(r, 1) + 0.5 * values(64, 9)[r]),
  64,
  1,
);
const xVal = new Matrix(values(24 * 4, 2), 24, 4);
const yVal = new Matrix(
  Float32Array.from({ length: 24 }, (_, r) => xVal.get(r, 0) - 2 * xVal.get(r, 1)),
  24,
  1,
);

function model(): Sequential {
  const m = new Sequential({ name: 'ckpt', seed: 3 });
  m.add(layers.Input({ shape: [4] }));
  m.add(layers.Dense({ units: 16, activation: 'relu' }));
  m.add(layers.Dropout({ rate: 0.2 }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: { className: 'SGD', learningRate: 0.2, momentum: 0.9 }, metrics: ['mae'] });
  return m;
}

/** Keeps every epoch's logs and a copy of the weights at its end (it runs before the checkpoint does). */
class Recorder extends Callback {
  logs: Logs[] = [];
  weights: Float32Array[][] = [];
  override onEpochEnd(_epoch: number, logs?: Logs): void {
    this.logs.push({ ...logs });
    this.weights.push(this.model.getWeights().map((w) => w.data));
  }
}

const EPOCHS = 12;
const fitOptions = {
  epochs: EPOCHS,
  batchSize: 8,
  workers: 0,
  verbose: 0 as const,
  seed: 11,
  validationData: [xVal, yVal] as [Matrix, Matrix],
};

/** Epochs (0-based) whose `key` beat every earlier one (strictly lower), as saveBestOnly in mode min decides. */
function improvements(logs: Logs[], key: string): number[] {
  let best = Infinity;
  return logs.flatMap((l, epoch) => (l[key] < best ? ((best = l[key]), [epoch]) : []));
}

const weightsOf = async (dir: string) => (await loadModel(dir)).getWeights().map((w) => w.data);

describe('ModelCheckpoint in a real fit', () => {
  it('saveBestOnly saves exactly the epochs where val_loss improved, each under its {epoch:02d} name', async () => {
    const dir = join(root, 'best');
    const recorder = new Recorder();
    const checkpoint = new callbacks.ModelCheckpoint(join(dir, 'model-{epoch:02d}'), { saveBestOnly: true });
    await model().fit(x, y, { ...fitOptions, callbacks: [recorder, checkpoint] });

    const improved = improvements(recorder.logs, 'val_loss');
    // The setup must exercise both branches, or this test proves nothing.
    expect(improved.length).toBeGreaterThan(1);
    expect(improved.length).toBeLessThan(EPOCHS);
    const names = improved.map((e) => `model-${String(e + 1).padStart(2, '0')}`);
    expect((await readdir(dir)).sort()).toEqual(names);
    for (const e of improved)
      expect(await weightsOf(join(dir, names[improved.indexOf(e)]))).toEqual(recorder.weights[e]);
    expect(checkpoint.best).toBe(recorder.logs[improved[improved.length - 1]].val_loss);
  });

  it("saveBestOnly to one path leaves the best epoch there; the saved model resumes with that epoch's optimizer state", async () => {
    const path = join(root, 'single', 'best');
    const recorder = new Recorder();
    await model().fit(x, y, {
      ...fitOptions,
      callbacks: [recorder, new callbacks.ModelCheckpoint(path, { saveBestOnly: true })],
    });
    const improved = improvements(recorder.logs, 'val_loss');
    const best = improved[improved.length - 1];
    expect(best).toBeLessThan(EPOCHS - 1); // the last epochs did not improve, so the file holds an older model
    const loaded = await loadModel(path);
    expect(loaded.getWeights().map((w) => w.data)).toEqual(recorder.weights[best]);
    expect(loaded.iterations).toBe((best + 1) * 8);
    expect(await loaded.evaluate(xVal, yVal, { workers: 0, batchSize: 8 })).toEqual({
      loss: recorder.logs[best].val_loss,
      mae: recorder.logs[best].val_mae,
    });
  });

  it('without saveBestOnly, saves every epoch; metric values format into the path', async () => {
    const dir = join(root, 'every');
    const recorder = new Recorder();
    await model().fit(x, y, {
      ...fitOptions,
      epochs: 3,
      callbacks: [recorder, new callbacks.ModelCheckpoint(join(dir, 'e{epoch:02d}-{val_loss:.3f}'))],
    });
    const names = recorder.logs.map((l, e) => `e${String(e + 1).padStart(2, '0')}-${l.val_loss.toFixed(3)}`);
    expect((await readdir(dir)).sort()).toEqual(names.sort());
    for (let e = 0; e < 3; e++)
      expect(
        await weightsOf(join(dir, `e${String(e + 1).padStart(2, '0')}-${recorder.logs[e].val_loss.toFixed(3)}`)),
      ).toEqual(recorder.weights[e]);
  });

  it('saveFreq in batches saves mid-epoch models that load', async () => {
    const dir = join(root, 'batches');
    await model().fit(x, y, {
      ...fitOptions,
      epochs: 2,
      callbacks: [new callbacks.ModelCheckpoint(join(dir, 'e{epoch}-b{batch}'), { saveFreq: 5 })],
    });
    // 8 steps per epoch, 16 in all: saves after steps 5, 10 and 15, i.e. epoch 1 batch 5, epoch 2 batches 2 and 7.
    expect((await readdir(dir)).sort()).toEqual(['e1-b5', 'e2-b2', 'e2-b7']);
    expect((await loadModel(join(dir, 'e2-b2'))).iterations).toBe(10);
  });
});
