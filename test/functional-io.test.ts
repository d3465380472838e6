/**
 * Functional models in the TensorFlow.js layers format, both ways with tfjs-layers (cpu backend, same
 * process, as in model-io.test.ts): two inputs, a residual Add with a shared Dense, an Embedding on the
 * second input, Concatenate, two outputs. Also lockstep's own exact round trip. (tfjs-layers 4.22 has no
 * Subtract layer, so a model with one loads in lockstep only.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { tfjsFileLoader, tfjsFileSaver } from './helpers/tfjs-files.js';
import { Model, layers, loadModel, initBackend, Matrix, modelFromTopology } from '../src/index.js';

let root: string;
let n = 0;
const freshDir = () => join(root, `f${n++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-functional-io-'));
  await initBackend();
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function onCpu<T>(f: () => Promise<T> | T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend(previous);
  }
}

function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2;
  });
}
const ROWS = 40;
const nums = new Matrix(values(ROWS * 6, 1), ROWS, 6);
const cats = new Matrix(
  Float32Array.from(values(ROWS * 2, 2), (v) => Math.floor((v + 1) * 2.5)),
  ROWS,
  2,
);
const labels = Int32Array.from({ length: ROWS }, (_, r) => (nums.get(r, 0) > 0 ? 1 : 0) + (cats.get(r, 0) > 2 ? 1 : 0));
const target = new Matrix(
  Float32Array.from({ length: ROWS }, (_, r) => nums.get(r, 1)),
  ROWS,
  1,
);

function lockstepModel(): Model {
  const a = layers.Input({ shape: [6], name: 'nums' });
  const b = layers.Input({ shape: [2], name: 'cats' });
  const h = layers.Dense({ units: 8, activation: 'relu' }).apply(a);
  const shared = layers.Dense({ units: 8, activation: 'tanh', name: 'shared' });
  const r = layers.Add().apply([h, shared.apply(h)]);
  const r2 = layers.Maximum().apply([r, shared.apply(r)]);
  const e = layers.Flatten().apply(layers.Embedding({ inputDim: 5, outputDim: 3 }).apply(b));
  const c = layers.Concatenate().apply([r2, e]);
  const cls = layers.Dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(c);
  const reg = layers.Dense({ units: 1, name: 'reg' }).apply(layers.Multiply().apply([r, h]));
  return new Model({ inputs: [a, b], outputs: [cls, reg], name: 'two_heads', seed: 4 });
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(1e-5);
}
const predictAll = async (m: Model) => (await m.predict([nums, cats], { workers: 0 })) as unknown as Matrix[];

describe('functional models in the TensorFlow.js layers format', () => {
  it('round-trips a trained model exactly: predictions, optimizer state, and training resumes with the same bits', async () => {
    const fitOptions = { batchSize: 16, workers: 0, verbose: 0 as const, seed: 3 };
    const model = lockstepModel();
    model.compile({
      loss: ['sparse_categorical_crossentropy', 'mse'],
      lossWeights: [1, 0.25],
      metrics: { cls: ['accuracy'] },
      optimizer: 'adam',
    });
    await model.fit({ nums, cats }, { cls: labels, reg: target }, { ...fitOptions, epochs: 2 });
    const dir = freshDir();
    await model.save(dir);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.modelTopology.class_name).toBe('Model');
    expect(json.modelTopology.config.input_layers).toEqual([
      ['nums', 0, 0],
      ['cats', 0, 0],
    ]);
    expect(json.modelTopology.config.output_layers).toEqual([
      ['cls', 0, 0],
      ['reg', 0, 0],
    ]);
    const loaded = await loadModel(dir);
    expect((await predictAll(loaded)).map((m) => bytes(m.data))).toEqual(
      (await predictAll(model)).map((m) => bytes(m.data)),
    );
    expect(loaded.currentOptimizerState().map(bytes)).toEqual(model.currentOptimizerState().map(bytes));
    const a = await model.fit(
      { nums, cats },
      { cls: labels, reg: target },
      { ...fitOptions, epochs: 3, initialEpoch: 2 },
    );
    const b = await loaded.fit(
      { nums, cats },
      { cls: labels, reg: target },
      { ...fitOptions, epochs: 3, initialEpoch: 2 },
    );
    expect(b.history).toEqual(a.history);
    expect(loaded.getWeights().map((w) => bytes(w.data))).toEqual(model.getWeights().map((w) => bytes(w.data)));
    await model.dispose();
    await loaded.dispose();
  });

  it('tfjs-layers loads a lockstep functional model: same weights, predictions within 1e-5', async () => {
    const model = lockstepModel();
    model.compile({ loss: ['sparse_categorical_crossentropy', 'mse'], optimizer: 'adam' });
    await model.fit([nums, cats], [labels, target], { batchSize: 16, workers: 0, verbose: 0, epochs: 1 });
    const dir = freshDir();
    await model.save(dir);
    const ours = await predictAll(model);
    const theirs = await onCpu(async () => {
      const m = await tfl.loadLayersModel(tfjsFileLoader(dir));
      const outs = tf.tidy(() =>
        (m.predict([tf.tensor2d(nums.data, [ROWS, 6]), tf.tensor2d(cats.data, [ROWS, 2])]) as tf.Tensor[]).map(
          (t) => t.dataSync() as Float32Array,
        ),
      );
      return { outs, weights: m.getWeights().map((t) => t.dataSync() as Float32Array), names: m.outputNames };
    });
    expect(theirs.names).toEqual(['cls', 'reg']);
    expectClose(theirs.outs[0], ours[0].data);
    expectClose(theirs.outs[1], ours[1].data);
    expect(theirs.weights.map((w) => bytes(w)).sort(Buffer.compare)).toEqual(
      model
        .getWeights()
        .map((w) => bytes(w.data))
        .sort(Buffer.compare),
    );
    await model.dispose();
  });

  it('lockstep loads a functional model built and saved by tfjs-layers: predictions within 1e-5', async () => {
    const dir = freshDir();
    const theirs = await onCpu(async () => {
      const a = tfl.input({ shape: [6], name: 'nums' });
      const b = tfl.input({ shape: [2], name: 'cats' });
      const h = tfl.layers.dense({ units: 8, activation: 'relu' }).apply(a) as tfl.SymbolicTensor;
      const shared = tfl.layers.dense({ units: 8, activation: 'tanh' });
      const r = tfl.layers.add().apply([h, shared.apply(h) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
      const avg = tfl.layers.average().apply([r, shared.apply(r) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
      const e = tfl.layers
        .flatten()
        .apply(tfl.layers.embedding({ inputDim: 5, outputDim: 3 }).apply(b)) as tfl.SymbolicTensor;
      const c = tfl.layers
        .concatenate()
        .apply([avg, e, tfl.layers.multiply().apply([r, h]) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
      const cls = tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(c) as tfl.SymbolicTensor;
      const reg = tfl.layers
        .dense({ units: 1 })
        .apply(tfl.layers.minimum().apply([r, h]) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
      const m = tfl.model({ inputs: [a, b], outputs: [cls, reg] });
      await m.save(tfjsFileSaver(dir));
      return tf.tidy(() =>
        (m.predict([tf.tensor2d(nums.data, [ROWS, 6]), tf.tensor2d(cats.data, [ROWS, 2])]) as tf.Tensor[]).map(
          (t) => t.dataSync() as Float32Array,
        ),
      );
    });
    const loaded = await loadModel(dir);
    const ours = await predictAll(loaded);
    expectClose(ours[0].data, theirs[0]);
    expectClose(ours[1].data, theirs[1]);
    await loaded.dispose();
  });

  it('a bad topology fails naming the problem, before any model exists', () => {
    const topology = {
      class_name: 'Model',
      config: {
        name: 'm',
        layers: [
          {
            class_name: 'InputLayer',
            name: 'in',
            config: { name: 'in', batch_input_shape: [null, 2] },
            inbound_nodes: [],
          },
          { class_name: 'Dense', name: 'd', config: { name: 'd', units: 2 }, inbound_nodes: [[['nowhere', 0, 0, {}]]] },
        ],
        input_layers: [['in', 0, 0]],
        output_layers: [['d', 0, 0]],
      },
    };
    expect(() => modelFromTopology(topology)).toThrow(
      `modelTopology refers to layer 'nowhere', which it does not define`,
    );
  });
});
