/**
 * model.save(dir) and loadModel(dir) on real models: exact round trips, exact resumption of training, both
 * directions of interoperability with tfjs-layers, and damaged files that must fail loudly and whole.
 *
 * tfjs-layers shares tfjs-core's engine (one global backend) with lockstep, so its half of each test runs
 * inside `onCpu`, which switches to the cpu backend and back to lockstep's wasm afterwards. A test below
 * checks that lockstep's results are the same bits before and after tfjs-layers ran.
 */
import { mkdtemp, readFile, readdir, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { tfjsFileLoader, tfjsFileSaver } from './helpers/tfjs-files.js';
import type { ModelJson } from './helpers/model-json.js';
import { Sequential, layers, loadModel, initBackend, Matrix, type History } from '../src/index.js';

let root: string;
let n = 0;
const freshDir = () => join(root, `m${n++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-model-io-'));
  await initBackend();
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** Runs tfjs-layers code on its usual cpu backend, then gives lockstep its wasm backend back. */
async function onCpu<T>(f: () => Promise<T> | T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return await f();
  } finally {
    await tf.setBackend(previous);
  }
}

// Deterministic data: 96 rows of 6 features, 3 classes that depend on the features.
function values(count: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}
const x = new Matrix(values(96 * 6, 1), 96, 6);
const labels = Int32Array.from({ length: 96 }, (_, r) =>
  x.get(r, 0) + x.get(r, 1) > 0.3 ? 0 : x.get(r, 2) > 0 ? 1 : 2,
);
const xVal = new Matrix(values(32 * 6, 2), 32, 6);
const yVal = Int32Array.from({ length: 32 }, (_, r) =>
  xVal.get(r, 0) + xVal.get(r, 1) > 0.3 ? 0 : xVal.get(r, 2) > 0 ? 1 : 2,
);

function classifier(
  optimizer: string | { className: string; learningRate: number } = { className: 'Adam', learningRate: 0.01 },
): Sequential {
  const model = new Sequential({ name: 'classifier', seed: 5 });
  model.add(layers.Input({ shape: [6] }));
  model.add(layers.Dense({ units: 8, activation: 'relu' }));
  model.add(layers.Dropout({ rate: 0.25 }));
  model.add(layers.Dense({ units: 3, activation: 'softmax' }));
  model.compile({ loss: 'sparse_categorical_crossentropy', optimizer, metrics: ['accuracy'] });
  return model;
}

const fitOptions = {
  batchSize: 16,
  workers: 0,
  verbose: 0 as const,
  seed: 7,
  validationData: [xVal, yVal] as [Matrix, Int32Array],
};
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const weightBytes = (m: Sequential) =>
  m.getWeights().map((w) => ({ name: w.name, shape: w.shape, bytes: bytes(w.data) }));
const predictBytes = async (m: Sequential, input: Parameters<Sequential['predict']>[0] = x) =>
  bytes((await m.predict(input, { workers: 0 })).data);

describe('save and loadModel', () => {
  it('round-trips a trained model exactly: configs, weights, predictions, compile arguments and optimizer state', async () => {
    const model = classifier();
    await model.fit(x, labels, { ...fitOptions, epochs: 2 });
    const dir = freshDir();
    await model.save(dir);
    const loaded = await loadModel(dir);

    expect(loaded.name).toBe('classifier');
    expect(loaded.layerConfigs()).toEqual(model.layerConfigs());
    expect(weightBytes(loaded)).toEqual(weightBytes(model));
    expect(await predictBytes(loaded)).toEqual(await predictBytes(model));
    expect(loaded.compiledArgs()).toEqual(model.compiledArgs());
    expect(loaded.optimizer!.getConfig()).toEqual(model.optimizer!.getConfig());
    expect(loaded.iterations).toBe(model.iterations);
    expect(loaded.iterations).toBe(2 * 6);
    expect(loaded.currentOptimizerState().map(bytes)).toEqual(model.currentOptimizerState().map(bytes));
    expect(await loaded.evaluate(xVal, yVal, { workers: 0 })).toEqual(await model.evaluate(xVal, yVal, { workers: 0 }));
  });

  it('round-trips an uncompiled model, which loads uncompiled and predicts the same bits', async () => {
    const model = new Sequential({ name: 'plain', seed: 3 });
    model.add(layers.Input({ shape: [6] }));
    model.add(layers.Dense({ units: 4, activation: 'tanh', kernelInitializer: 'he_normal', biasInitializer: 'ones' }));
    model.add(layers.Dense({ units: 2, useBias: false }));
    const dir = freshDir();
    await model.save(dir);
    const loaded = await loadModel(dir);
    expect(loaded.compiledArgs()).toBeUndefined();
    expect(loaded.layerConfigs()).toEqual(model.layerConfigs());
    expect(weightBytes(loaded)).toEqual(weightBytes(model));
    expect(await predictBytes(loaded)).toEqual(await predictBytes(model));
  });

  it.each([
    ['Adam', { className: 'Adam', learningRate: 0.01 }],
    ['RMSprop', 'rmsprop'],
    ['SGD with momentum', { className: 'SGD', learningRate: 0.05, momentum: 0.9 }],
  ])('save, load, fit on from initialEpoch = the uninterrupted fit, bit for bit (%s)', async (_name, optimizer) => {
    const straight = classifier(optimizer);
    const all = await straight.fit(x, labels, { ...fitOptions, epochs: 4 });

    const first = classifier(optimizer);
    await first.fit(x, labels, { ...fitOptions, epochs: 2 });
    const dir = freshDir();
    await first.save(dir);
    const resumed = await loadModel(dir);
    const rest = await resumed.fit(x, labels, { ...fitOptions, epochs: 4, initialEpoch: 2 });

    expect(rest.epoch).toEqual([2, 3]);
    const tail = (h: History) => Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, v.slice(-2)]));
    expect(rest.history).toEqual(tail(all));
    expect(Object.keys(rest.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
    expect(weightBytes(resumed)).toEqual(weightBytes(straight));
    expect(resumed.currentOptimizerState().map(bytes)).toEqual(straight.currentOptimizerState().map(bytes));
    expect(resumed.iterations).toBe(straight.iterations);
  });

  it('saving over a model directory replaces it whole and leaves no temporary files', async () => {
    const dir = freshDir();
    const a = classifier();
    await a.save(dir);
    const b = classifier();
    await b.fit(x, labels, { ...fitOptions, epochs: 1 });
    await b.save(dir);
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    expect(weightBytes(await loadModel(dir))).toEqual(weightBytes(b));
  });
});

// ---------------------------------------------------------------------------------------------------
// tfjs-layers, run on the cpu backend in this same process.

// tfjs-layers computes in float32 with its own summation order, on another backend: 1e-5 absolute.
function expectClose(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(1e-5);
}

describe('interoperability with tfjs-layers (cpu backend, same process)', () => {
  it('tfjs-layers loadLayersModel reads a trained lockstep model: same weights, predictions within 1e-5, Adam state restored', async () => {
    const model = classifier();
    await model.fit(x, labels, { ...fitOptions, epochs: 2 });
    const dir = freshDir();
    await model.save(dir);
    const ours = (await model.predict(x, { workers: 0 })).data;

    const theirs = await onCpu(async () => {
      const tfModel = await tfl.loadLayersModel(tfjsFileLoader(dir));
      expect(tf.getBackend()).toBe('cpu');
      const out = tf.tidy(
        () => (tfModel.predict(tf.tensor2d(x.data, [x.rows, x.cols])) as tf.Tensor).dataSync() as Float32Array,
      );
      const weights = tfModel.getWeights().map((t) => t.dataSync() as Float32Array);
      const optimizerState = (await tfModel.optimizer.getWeights()).map((w) => w.tensor.dataSync() as Float32Array);
      return { out, weights, optimizerState, optimizer: tfModel.optimizer.getClassName(), loss: tfModel.loss };
    });
    expect(tf.getBackend()).toBe('wasm');
    expectClose(theirs.out, ours);
    expect(theirs.weights).toEqual(model.getWeights().map((w) => w.data));
    expect(theirs.optimizer).toBe('Adam');
    expect(theirs.loss).toBe('sparseCategoricalCrossentropy');
    // tfjs's Adam weights: the step counter, then every first moment, then every second moment.
    const [m, v] = model.currentOptimizerState();
    const spans = model
      .getWeights()
      .reduce<[number, number][]>(
        (acc, w) => [
          ...acc,
          [acc.length ? acc[acc.length - 1][1] : 0, (acc.length ? acc[acc.length - 1][1] : 0) + w.data.length],
        ],
        [],
      );
    expect(Array.from(theirs.optimizerState[0])).toEqual([model.iterations]); // tfjs keeps it as int32
    expect(theirs.optimizerState.slice(1)).toEqual([
      ...spans.map(([a, b]) => m.slice(a, b)),
      ...spans.map(([a, b]) => v.slice(a, b)),
    ]);
  });

  // tfjs's optimizer weights after `iter`: each state's array for every weight, the states in tfjs's order.
  it.each<[string, string | { className: string; learningRate: number; [k: string]: unknown }, string, string[]]>([
    ['Adam', 'adam', 'Adam', ['momentum', 'velocity']],
    ['AdamW (as Adam: tfjs has no AdamW)', 'adamw', 'Adam', ['momentum', 'velocity']],
    ['RMSprop (a zero momentum slot fills in for tfjs)', 'rmsprop', 'RMSProp', ['velocity', 'momentum']],
    [
      'RMSprop, centered, no momentum',
      { className: 'RMSprop', learningRate: 0.01, rho: 0.8, centered: true },
      'RMSProp',
      ['velocity', 'momentum', 'average_gradient'],
    ],
    [
      'RMSprop, centered, momentum',
      { className: 'RMSprop', learningRate: 0.01, momentum: 0.5, centered: true },
      'RMSProp',
      ['velocity', 'momentum', 'average_gradient'],
    ],
    ['Adagrad', 'adagrad', 'Adagrad', ['accumulator']],
    ['SGD', 'sgd', 'SGD', []],
  ])('tfjs-layers restores the optimizer of a lockstep model: %s', async (_what, optimizer, tfjsClass, order) => {
    const model = classifier(optimizer);
    await model.fit(x, labels, { ...fitOptions, epochs: 1 });
    const dir = freshDir();
    await model.save(dir);
    const theirs = await onCpu(async () => {
      const tfModel = await tfl.loadLayersModel(tfjsFileLoader(dir));
      const opt = tfModel.optimizer as tf.Optimizer & { decay?: number };
      return {
        className: opt.getClassName(),
        decay: opt.decay,
        state: (await opt.getWeights()).slice(1).map((w) => w.tensor.dataSync() as Float32Array),
      };
    });
    expect(theirs.className).toBe(tfjsClass);
    const names = model.optimizer!.stateNames;
    const ours = model.currentOptimizerState();
    // A state lockstep does not keep (RMSprop's momentum at momentum 0) is written as zeros.
    const expected = order.flatMap((s) =>
      model.getWeights().map((w, i, all) => {
        const start = all.slice(0, i).reduce((n, v) => n + v.data.length, 0);
        return names.includes(s)
          ? ours[names.indexOf(s)].slice(start, start + w.data.length)
          : new Float32Array(w.data.length);
      }),
    );
    expect(theirs.state).toEqual(expected);
    if (tfjsClass === 'RMSProp') expect(theirs.decay).toBeCloseTo(model.optimizer!.getConfig().rho as number, 7);
    // And lockstep still reads its own state back exactly.
    expect((await loadModel(dir)).currentOptimizerState().map(bytes)).toEqual(ours.map(bytes));
  });

  it('tfjs-layers refuses SGD-with-momentum state (its Momentum optimizer keeps another quantity): a known limit', async () => {
    const model = classifier({ className: 'SGD', learningRate: 0.05, momentum: 0.9 });
    await model.fit(x, labels, { ...fitOptions, epochs: 1 });
    const dir = freshDir();
    await model.save(dir);
    await expect(onCpu(() => tfl.loadLayersModel(tfjsFileLoader(dir)))).rejects.toThrow(
      'SGD optimizer does not have settable weights',
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('lockstep loads a model tfjs-layers saved: same weights, predictions within 1e-5', async () => {
    const dir = freshDir();
    const { weights, out } = await onCpu(async () => {
      const tfModel = tfl.sequential({
        layers: [
          tfl.layers.dense({
            units: 7,
            activation: 'elu',
            inputShape: [6],
            kernelInitializer: 'heNormal',
            biasInitializer: 'randomNormal',
          }),
          tfl.layers.dropout({ rate: 0.3 }),
          tfl.layers.dense({ units: 4, activation: 'sigmoid', biasInitializer: 'randomUniform' }),
          tfl.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
      tfModel.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      await tfModel.fit(tf.tensor2d(x.data, [x.rows, x.cols]), tf.tensor1d(Float32Array.from(labels)), {
        epochs: 2,
        batchSize: 32,
        verbose: 0,
      });
      await tfModel.save(tfjsFileSaver(dir), { includeOptimizer: true });
      return {
        weights: tfModel.getWeights().map((t) => t.dataSync() as Float32Array),
        out: tf.tidy(
          () => (tfModel.predict(tf.tensor2d(x.data, [x.rows, x.cols])) as tf.Tensor).dataSync() as Float32Array,
        ),
      };
    });
    const loaded = await loadModel(dir);
    expect(loaded.getWeights().map((w) => w.data)).toEqual(weights);
    expectClose((await loaded.predict(x, { workers: 0 })).data, out);
    // No lockstep training config in the file: the model loads uncompiled (its weights, not tfjs's optimizer).
    expect(loaded.compiledArgs()).toBeUndefined();
  });

  it('tfjs-layers running on cpu in between does not change lockstep results (same bits before and after)', async () => {
    const model = classifier();
    await model.fit(x, labels, { ...fitOptions, epochs: 1 });
    const dir = freshDir();
    await model.save(dir);
    const before = await predictBytes(model);
    const trainedBefore = classifier();
    await trainedBefore.fit(x, labels, { ...fitOptions, epochs: 2 });

    await onCpu(async () => {
      const tfModel = await tfl.loadLayersModel(tfjsFileLoader(dir));
      tf.tidy(() => (tfModel.predict(tf.tensor2d(x.data, [x.rows, x.cols])) as tf.Tensor).dataSync());
    });

    expect(await predictBytes(model)).toEqual(before);
    const trainedAfter = classifier();
    await trainedAfter.fit(x, labels, { ...fitOptions, epochs: 2 });
    expect(weightBytes(trainedAfter)).toEqual(weightBytes(trainedBefore));
  });
});

// ---------------------------------------------------------------------------------------------------
// Convnets both ways: lockstep → tfjs-layers and tfjs-layers → lockstep, on [n, 8, 8, 1] images.

const images = (count: number, seed: number) => ({ data: values(count * 64, seed), shape: [count, 8, 8, 1] });
const imgX = images(24, 11);
const imgLabels = Int32Array.from({ length: 24 }, (_, r) =>
  imgX.data[r * 64] + imgX.data[r * 64 + 9] > 0 ? 1 : r % 3,
);

/** Conv2D 'same' relu, MaxPooling2D, Conv2D strided 'valid', AveragePooling2D 'same', Flatten, Dense softmax. */
function convnet(): Sequential {
  const model = new Sequential({ name: 'convnet', seed: 9 });
  model.add(layers.Input({ shape: [8, 8, 1] }));
  model.add(layers.Conv2D({ filters: 4, kernelSize: [3, 3], activation: 'relu', padding: 'same' }));
  model.add(layers.MaxPooling2D({ poolSize: 2 }));
  model.add(
    layers.Conv2D({ filters: 3, kernelSize: 2, strides: 2, padding: 'valid', biasInitializer: 'random_normal' }),
  );
  model.add(layers.AveragePooling2D({ poolSize: 2, strides: 1, padding: 'same' }));
  model.add(layers.Flatten());
  model.add(layers.Dense({ units: 3, activation: 'softmax' }));
  return model;
}

/** Reshape first, a dilated non-square Conv2D without bias, both global poolings, Reshape between Dense layers. */
function poolnet(): Sequential {
  const model = new Sequential({ name: 'poolnet', seed: 4 });
  model.add(layers.Input({ shape: [8, 8, 1] }));
  model.add(layers.Reshape({ targetShape: [16, 4, 1] }));
  model.add(
    layers.Conv2D({
      filters: 5,
      kernelSize: [3, 2],
      dilationRate: [2, 1],
      padding: 'same',
      activation: 'elu',
      useBias: false,
    }),
  );
  model.add(layers.GlobalAveragePooling2D());
  model.add(layers.Dense({ units: 8, activation: 'tanh', biasInitializer: 'random_uniform' }));
  model.add(layers.Reshape({ targetShape: [2, -1, 2] }));
  model.add(layers.GlobalMaxPooling2D());
  model.add(layers.Dense({ units: 3, activation: 'softmax' }));
  return model;
}

/** tfjs-layers' predictions for `x` from a model directory, on the cpu backend. */
async function tfjsPredict(dir: string, x: { data: Float32Array; shape: number[] }) {
  return onCpu(async () => {
    const tfModel = await tfl.loadLayersModel(tfjsFileLoader(dir));
    const out = tf.tidy(() => (tfModel.predict(tf.tensor(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array);
    return {
      out,
      weights: tfModel.getWeights().map((t) => t.dataSync() as Float32Array),
      layers: tfModel.layers.map((l) => l.getClassName()),
    };
  });
}

describe('convnets in the TensorFlow.js layers format', () => {
  it('tfjs-layers loadLayersModel reads a trained lockstep convnet (Conv2D, pooling, Flatten): same weights, predictions within 1e-5', async () => {
    const model = convnet();
    model.compile({
      loss: 'sparse_categorical_crossentropy',
      optimizer: { className: 'Adam', learningRate: 0.01 },
      metrics: ['accuracy'],
    });
    await model.fit(imgX, imgLabels, { batchSize: 8, epochs: 1, workers: 0, verbose: 0, seed: 3 });
    const dir = freshDir();
    await model.save(dir);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].weights.slice(0, 2)).toEqual([
      { name: 'conv2d/kernel', shape: [3, 3, 1, 4], dtype: 'float32' },
      { name: 'conv2d/bias', shape: [4], dtype: 'float32' },
    ]);

    const x = images(5, 21);
    const theirs = await tfjsPredict(dir, x);
    expect(tf.getBackend()).toBe('wasm');
    expect(theirs.layers).toEqual([
      'InputLayer',
      'Conv2D',
      'MaxPooling2D',
      'Conv2D',
      'AveragePooling2D',
      'Flatten',
      'Dense',
    ]);
    expect(theirs.weights).toEqual(model.getWeights().map((w) => w.data));
    const ours = (await model.predict(x, { workers: 0 })).data;
    expect(ours.length).toBe(5 * 3);
    expectClose(theirs.out, ours);
  });

  it('tfjs-layers reads a lockstep model with Reshape, a dilated Conv2D and both global poolings: predictions within 1e-5', async () => {
    const model = poolnet();
    const dir = freshDir();
    await model.save(dir);
    const x = images(6, 22);
    const theirs = await tfjsPredict(dir, x);
    expect(theirs.layers).toEqual([
      'InputLayer',
      'Reshape',
      'Conv2D',
      'GlobalAveragePooling2D',
      'Dense',
      'Reshape',
      'GlobalMaxPooling2D',
      'Dense',
    ]);
    expect(theirs.weights).toEqual(model.getWeights().map((w) => w.data));
    expectClose(theirs.out, (await model.predict(x, { workers: 0 })).data);
    // And lockstep reads its own file back to the same layers and the same bits.
    const loaded = await loadModel(dir);
    expect(loaded.layerConfigs()).toEqual(model.layerConfigs());
    expect(await predictBytes(loaded, x)).toEqual(await predictBytes(model, x));
  });

  it('lockstep loads convnets tfjs-layers built and saved: same weights, predictions within 1e-5', async () => {
    const x = images(5, 23);
    const built = [
      () => [
        tfl.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 4,
          kernelSize: 3,
          activation: 'relu',
          padding: 'same',
          biasInitializer: 'randomNormal',
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({
          filters: 3,
          kernelSize: [2, 2],
          strides: 2,
          activation: 'sigmoid',
          kernelInitializer: 'heNormal',
          biasInitializer: 'randomUniform',
        }),
        tfl.layers.averagePooling2d({ poolSize: [2, 2], strides: 1, padding: 'same' }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
      () => [
        tfl.layers.inputLayer({ inputShape: [8, 8, 1], name: 'pixels' }),
        tfl.layers.reshape({ targetShape: [4, 16, 1] }),
        tfl.layers.conv2d({
          filters: 5,
          kernelSize: [2, 3],
          dilationRate: 2,
          padding: 'same',
          useBias: false,
          activation: 'selu',
        }),
        tfl.layers.globalMaxPooling2d({}),
        tfl.layers.dense({ units: 6, activation: 'relu', biasInitializer: 'ones' }),
        tfl.layers.reshape({ targetShape: [1, 3, 2] }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 2 }),
      ],
    ];
    for (const make of built) {
      const dir = freshDir();
      const { weights, out } = await onCpu(async () => {
        const tfModel = tfl.sequential({ layers: make() });
        await tfModel.save(tfjsFileSaver(dir));
        return {
          weights: tfModel.getWeights().map((t) => t.dataSync() as Float32Array),
          out: tf.tidy(() => (tfModel.predict(tf.tensor(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array),
        };
      });
      const loaded = await loadModel(dir);
      expect(loaded.getWeights().map((w) => w.data)).toEqual(weights);
      expectClose((await loaded.predict(x, { workers: 0 })).data, out);
    }
  });
});

/**
 * Conv2D, BatchNormalization per channel, pooling, Flatten, Dense, BatchNormalization per unit, LayerNormalization,
 * Dense.
 */
function normnet(): Sequential {
  const model = new Sequential({ name: 'normnet', seed: 6 });
  model.add(layers.Input({ shape: [8, 8, 1] }));
  model.add(layers.Conv2D({ filters: 3, kernelSize: 3, activation: 'relu', padding: 'same' }));
  model.add(layers.BatchNormalization({ momentum: 0.5 }));
  model.add(layers.MaxPooling2D({ poolSize: 2 }));
  model.add(layers.Flatten());
  model.add(layers.Dense({ units: 6, activation: 'tanh' }));
  model.add(layers.BatchNormalization({ momentum: 0.7, epsilon: 0.01, center: false }));
  model.add(layers.LayerNormalization({ epsilon: 0.01 }));
  model.add(layers.Dense({ units: 3, activation: 'softmax' }));
  return model;
}

/**
 * tfjs-layers' weights by name: its model.weights lists every trainable weight before the non-trainable ones
 * (Keras 3 and lockstep go layer by layer), so models with moving statistics are compared by name.
 */
const tfjsWeightsByName = (m: tfl.LayersModel) =>
  Object.fromEntries(m.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
const weightsByName = (m: Sequential) => Object.fromEntries(m.getWeights().map((w) => [w.name, w.data]));

describe('normalization layers in the TensorFlow.js layers format', () => {
  it('tfjs-layers reads a trained lockstep model with BatchNormalization and LayerNormalization: gamma, beta, moving statistics, predictions within 1e-5', async () => {
    const model = normnet();
    model.compile({
      loss: 'sparse_categorical_crossentropy',
      optimizer: { className: 'Adam', learningRate: 0.01 },
      metrics: ['accuracy'],
    });
    await model.fit(imgX, imgLabels, { batchSize: 8, microBatchSize: 4, epochs: 2, workers: 0, verbose: 0, seed: 3 });
    // Training moved the moving statistics away from their initial zeros and ones.
    expect(
      Array.from(model.getWeights().find((w) => w.name === 'batch_normalization/moving_mean')!.data).some(
        (v) => v !== 0,
      ),
    ).toBe(true);
    const dir = freshDir();
    await model.save(dir);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].weights.slice(2, 6)).toEqual(
      ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n) => ({
        name: `batch_normalization/${n}`,
        shape: [3],
        dtype: 'float32',
      })),
    );
    const x = images(5, 31);
    const theirs = await onCpu(async () => {
      const tfModel = await tfl.loadLayersModel(tfjsFileLoader(dir));
      const out = tf.tidy(() => (tfModel.predict(tf.tensor(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array);
      return { out, weights: tfjsWeightsByName(tfModel), layers: tfModel.layers.map((l) => l.getClassName()) };
    });
    expect(theirs.layers).toEqual([
      'InputLayer',
      'Conv2D',
      'BatchNormalization',
      'MaxPooling2D',
      'Flatten',
      'Dense',
      'BatchNormalization',
      'LayerNormalization',
      'Dense',
    ]);
    expect(theirs.weights).toEqual(weightsByName(model));
    expectClose(theirs.out, (await model.predict(x, { workers: 0 })).data);
    // lockstep reads its own file back to the same layers and bits, and resumes training exactly.
    const loaded = await loadModel(dir);
    expect(loaded.layerConfigs()).toEqual(model.layerConfigs());
    expect(await predictBytes(loaded, x)).toEqual(await predictBytes(model, x));
  });

  it('lockstep loads a model with BatchNormalization and LayerNormalization that tfjs-layers built and saved: same weights, predictions within 1e-5', async () => {
    const x = images(5, 32);
    const dir = freshDir();
    const { weights, out } = await onCpu(async () => {
      const tfModel = tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, activation: 'relu' }),
          tfl.layers.batchNormalization({
            momentum: 0.9,
            epsilon: 0.01,
            movingMeanInitializer: 'randomNormal',
            movingVarianceInitializer: 'ones',
            gammaInitializer: 'randomUniform',
            betaInitializer: 'randomNormal',
          }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 5, activation: 'sigmoid' }),
          tfl.layers.batchNormalization({ axis: 1, scale: false, movingMeanInitializer: 'randomUniform' }),
          tfl.layers.layerNormalization({ betaInitializer: 'randomNormal', gammaInitializer: 'randomUniform' }),
          tfl.layers.dense({ units: 2 }),
        ],
      });
      await tfModel.save(tfjsFileSaver(dir));
      return {
        weights: tfjsWeightsByName(tfModel),
        out: tf.tidy(() => (tfModel.predict(tf.tensor(x.data, x.shape)) as tf.Tensor).dataSync() as Float32Array),
      };
    });
    const loaded = await loadModel(dir);
    expect(loaded.layers.map((l) => l.className)).toEqual([
      'InputLayer',
      'Conv2D',
      'BatchNormalization',
      'Flatten',
      'Dense',
      'BatchNormalization',
      'LayerNormalization',
      'Dense',
    ]);
    expect(weightsByName(loaded)).toEqual(weights);
    // The moving statistics tfjs drew at random really arrived (not left at lockstep's zeros and ones).
    expect(
      Object.entries(weights)
        .filter(([n]) => n.endsWith('/moving_mean'))
        .every(([, v]) => v.some((e) => e !== 0)),
    ).toBe(true);
    expectClose((await loaded.predict(x, { workers: 0 })).data, out);
  });
});

// ---------------------------------------------------------------------------------------------------
// Damaged directories: loadModel throws a message naming the problem, and never returns a partial model.

describe('loadModel on damaged files', () => {
  let good: string;
  beforeAll(async () => {
    const model = classifier();
    await model.fit(x, labels, { ...fitOptions, epochs: 1 });
    good = freshDir();
    await model.save(good);
  });

  /** A copy of the good model with model.json and/or weights.bin edited. */
  async function damaged(edit: (files: { json: ModelJson; bin: Buffer }) => void): Promise<string> {
    const dir = freshDir();
    await cp(good, dir, { recursive: true });
    const files = {
      json: JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')),
      bin: await readFile(join(dir, 'weights.bin')),
    };
    edit(files);
    await writeFile(join(dir, 'model.json'), JSON.stringify(files.json));
    await writeFile(join(dir, 'weights.bin'), files.bin);
    return dir;
  }
  const specs = (json: ModelJson) => json.weightsManifest[0].weights;
  const layerEntries = (json: ModelJson) => json.modelTopology!.config.layers;

  // 4 weight arrays of 6*8 + 8 + 8*3 + 3 = 83 floats, then Adam's iter + momentum and velocity per weight
  // (9 arrays, 167 floats): 13 arrays, 1000 bytes.
  it.each<[string, (f: { json: ModelJson; bin: Buffer }) => void, string | RegExp]>([
    [
      'a truncated weights.bin',
      (f) => void (f.bin = f.bin.subarray(0, 500)),
      /weights\.bin: expected 1000 bytes for 13 weights .*got 500 bytes/,
    ],
    ['a weights.bin cut by one byte', (f) => void (f.bin = f.bin.subarray(0, f.bin.length - 1)), 'got 999 bytes'],
    ['a weights.bin with extra bytes', (f) => void (f.bin = Buffer.concat([f.bin, Buffer.alloc(4)])), 'got 1004 bytes'],
    ['an empty weights.bin', (f) => void (f.bin = Buffer.alloc(0)), 'got 0 bytes'],
    [
      'swapped kernel dimensions (same byte count)',
      (f) => void (specs(f.json)[0].shape = [8, 6]),
      `weight 'dense/kernel' has shape [8,6] but layer needs [6,8]`,
    ],
    [
      'a layer wider than its weights',
      (f) => void (layerEntries(f.json)[1].config.units = 9),
      `weight 'dense/kernel' has shape [6,8] but layer needs [6,9]`,
    ],
    [
      'a renamed weight',
      (f) => void (specs(f.json)[1].name = 'dense/beta'),
      `weight 'dense/bias' is missing from weights.bin`,
    ],
    [
      'an LSTM layer',
      (f) => void (layerEntries(f.json)[1].class_name = 'LSTM'),
      `layer 1 (LSTM 'dense'): layer type "LSTM" is not supported; supported: InputLayer, Dense, Dropout, Conv2D`,
    ],
    [
      'an unknown activation',
      (f) => void (layerEntries(f.json)[3].config.activation = 'mish'),
      `layer 3 (Dense 'dense_1'): unknown activation "mish"`,
    ],
    [
      'a kernel constraint',
      (f) =>
        void (layerEntries(f.json)[1].config.kernel_constraint = { class_name: 'MaxNorm', config: { max_value: 2 } }),
      'kernel_constraint is not supported',
    ],
    [
      'a bad kernel regularizer',
      (f) => void (layerEntries(f.json)[1].config.kernel_regularizer = { class_name: 'L2', config: { l2: -1 } }),
      'kernel_regularizer',
    ],
    [
      'a Sequential layer list labelled as a functional model',
      (f) => void (f.json.modelTopology!.class_name = 'Model'),
      `layer 1 (Dense 'dense'): the layer is never called (no inbound_nodes)`,
    ],
    [
      'optimizer state dropped from the manifest only',
      (f) => void (f.json.weightsManifest[0].weights = specs(f.json).filter((s) => !s.name.endsWith('/velocity'))),
      'expected 668 bytes for 9 weights',
    ],
    [
      'an unknown optimizer in the training config',
      (f) => void (f.json.trainingConfig.lockstep.optimizer.className = 'Lion'),
      'Unknown optimizer: "Lion"',
    ],
    [
      'an unknown loss in the training config',
      (f) => void (f.json.trainingConfig.lockstep.loss = 'focal'),
      'Unknown loss: "focal"',
    ],
  ])('reports %s', async (_what, edit, message) => {
    const dir = await damaged(edit);
    await expect(loadModel(dir)).rejects.toThrow(message);
  });

  it('reports optimizer state that is listed but missing from the file, naming the weight', async () => {
    // Drop the second moments from both the manifest and the bytes, so the file itself is consistent.
    const dir = await damaged((f) => {
      const all = specs(f.json);
      const keep = all.filter((s) => !s.name.endsWith('/velocity'));
      const floats = new Float32Array(f.bin.buffer, f.bin.byteOffset, f.bin.length / 4);
      f.bin = Buffer.from(new Float32Array(floats.subarray(0, floats.length - 83)).buffer);
      f.json.weightsManifest[0].weights = keep;
    });
    await expect(loadModel(dir)).rejects.toThrow(
      `optimizer state 'dense/kernel/velocity' is missing or has the wrong size`,
    );
  });

  it('reports a missing directory, model.json or weights.bin', async () => {
    await expect(loadModel(join(root, 'nowhere'))).rejects.toThrow(`No model.json in '${join(root, 'nowhere')}'`);
    const dir = freshDir();
    await cp(good, dir, { recursive: true });
    await rm(join(dir, 'weights.bin'));
    await expect(loadModel(dir)).rejects.toThrow(`Missing weights file '${join(dir, 'weights.bin')}'`);
    await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(dir)).rejects.toThrow('model.json is not valid JSON');
  });

  it('a failed load leaves the files as they were, and the good copy still loads', async () => {
    const dir = await damaged((f) => void (f.bin = f.bin.subarray(0, 12)));
    const before = await Promise.all(['model.json', 'weights.bin'].map((f) => readFile(join(dir, f))));
    await expect(loadModel(dir)).rejects.toThrow('got 12 bytes');
    expect(await Promise.all(['model.json', 'weights.bin'].map((f) => readFile(join(dir, f))))).toEqual(before);
    expect((await loadModel(good)).iterations).toBe(6);
  });
});
