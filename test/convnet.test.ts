/**
 * Convnets through the Keras-style API, in process (workers: 0): Keras's shapes, counts and names, inputs
 * of any rank, predictions with their shape, flat tensor counts, and every bad input named and harmless.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Sequential, layers, Callback, Matrix } from '../src/index.js';
import { layerFromConfig } from '../src/layers/index.js';

/** Keras's "Simple MNIST convnet". */
function kerasConvnet(): Sequential {
  const m = new Sequential();
  m.add(layers.Input({ shape: [28, 28, 1] }));
  m.add(layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(layers.MaxPooling2D({ poolSize: 2 }));
  m.add(layers.Conv2D({ filters: 64, kernelSize: [3, 3], activation: 'relu' }));
  m.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
  m.add(layers.Flatten());
  m.add(layers.Dropout({ rate: 0.5 }));
  m.add(layers.Dense({ units: 10, activation: 'softmax' }));
  return m;
}

/** n random 6x6x2 images, labelled by which half (left or right) is brighter. */
function images(n: number, seed = 3): { x: { data: Float32Array; shape: number[] }; y: Int32Array } {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const data = Float32Array.from({ length: n * 72 }, rnd);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let left = 0;
    for (let r = 0; r < 6; r++)
      for (let c = 0; c < 6; c++)
        left += (c < 3 ? 1 : -1) * (data[i * 72 + (r * 6 + c) * 2] + data[i * 72 + (r * 6 + c) * 2 + 1]);
    y[i] = left > 0 ? 1 : 0;
  }
  return { x: { data, shape: [n, 6, 6, 2] }, y };
}

function small(): Sequential {
  const m = new Sequential({ seed: 5 });
  m.add(layers.Input({ shape: [6, 6, 2] }));
  m.add(layers.Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(layers.AveragePooling2D({ poolSize: 2 }));
  m.add(layers.Conv2D({ filters: 4, kernelSize: 2, strides: 1, activation: 'tanh' }));
  m.add(layers.GlobalMaxPooling2D());
  m.add(layers.Dense({ units: 2, activation: 'softmax' }));
  m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return m;
}

describe("Keras's shapes, counts and names", () => {
  it('the MNIST convnet: (None, 26, 26, 32) ... 34,826 parameters, default names', () => {
    const m = kerasConvnet();
    expect(m.countParams()).toBe(34_826);
    expect(m.layers.map((l) => l.name)).toEqual([
      'input_layer',
      'conv2d',
      'max_pooling2d',
      'conv2d_1',
      'max_pooling2d_1',
      'flatten',
      'dropout',
      'dense',
    ]);
    expect(m.layers.slice(1).map((l) => l.outputShape)).toEqual([
      [26, 26, 32],
      [13, 13, 32],
      [11, 11, 64],
      [5, 5, 64],
      [1600],
      [1600],
      [10],
    ]);
    const text = m.summary();
    expect(text).toContain('conv2d (Conv2D)');
    expect(text).toContain('(None, 26, 26, 32)');
    expect(text).toContain('Total params: 34,826 (136.04 KB)');
  });

  it("output shapes follow Keras's rules for strides, 'same' padding and dilation", () => {
    const shape = (
      layer: ReturnType<typeof layers.Conv2D> | ReturnType<typeof layers.MaxPooling2D>,
      input: number[],
    ) => {
      const m = new Sequential();
      m.add(layers.Input({ shape: input }));
      m.add(layer);
      return layer.outputShape;
    };
    expect(shape(layers.Conv2D({ filters: 2, kernelSize: 3, strides: 2 }), [7, 8, 1])).toEqual([3, 3, 2]);
    expect(shape(layers.Conv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), [7, 8, 1])).toEqual([
      4, 4, 2,
    ]);
    expect(shape(layers.Conv2D({ filters: 2, kernelSize: [3, 2], dilationRate: 2 }), [9, 9, 3])).toEqual([5, 7, 2]);
    expect(shape(layers.MaxPooling2D({ poolSize: 3, strides: 2 }), [7, 7, 4])).toEqual([3, 3, 4]);
    expect(shape(layers.MaxPooling2D({ poolSize: 2, padding: 'same' }), [5, 5, 4])).toEqual([3, 3, 4]);
  });

  it('config round trips rebuild the same layers', () => {
    for (const l of kerasConvnet().layers) {
      const again = layerFromConfig(l.getConfig());
      expect(again.getConfig()).toEqual(l.getConfig());
    }
    const r = layers.Reshape({ targetShape: [-1, 4] });
    expect(layerFromConfig({ ...r.getConfig(), name: 'r' }).getConfig()).toEqual({ ...r.getConfig(), name: 'r' });
  });
});

describe('inputs of any rank', () => {
  it('trains on { data, shape: [n, h, w, c] } and on nested arrays, with the same result', async () => {
    const { x, y } = images(40);
    const a = small();
    await a.fit(x, y, { epochs: 2, batchSize: 16, workers: 0, verbose: 0 });
    const nested = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 6 }, (_, r) =>
        Array.from({ length: 6 }, (_, c) => Array.from({ length: 2 }, (_, k) => x.data[i * 72 + (r * 6 + c) * 2 + k])),
      ),
    );
    const b = small();
    await b.fit(nested, y, { epochs: 2, batchSize: 16, workers: 0, verbose: 0 });
    expect(b.getWeights().map((w) => Array.from(w.data))).toEqual(a.getWeights().map((w) => Array.from(w.data)));
  });

  it('predict returns each output with its shape', async () => {
    const m = new Sequential({ seed: 1 });
    m.add(layers.Input({ shape: [4, 4, 1] }));
    m.add(layers.Conv2D({ filters: 3, kernelSize: 2 }));
    const { x } = { x: { data: new Float32Array(5 * 16).fill(0.5), shape: [5, 4, 4, 1] } };
    const out = await m.predict(x, { workers: 0 });
    expect(out.shape).toEqual([5, 3, 3, 3]);
    expect(out.data).toHaveLength(5 * 27);
  });

  it('a large predict or evaluate batch runs in passes of bounded memory, with the bits of small batches', async () => {
    // 64x64x8 images and 16 filters: about 94,000 floats of layer outputs a row, so a pass holds about 89 rows
    // (32 MiB) and a batch of 200 takes three passes.
    const m = new Sequential({ seed: 3 });
    m.add(layers.Input({ shape: [64, 64, 8] }));
    m.add(layers.Conv2D({ filters: 16, kernelSize: 3, activation: 'relu' }));
    m.add(layers.GlobalAveragePooling2D());
    m.add(layers.Dense({ units: 3, activation: 'softmax' }));
    m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    let s = 11;
    const data = Float32Array.from(
      { length: 200 * 64 * 64 * 8 },
      () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32,
    );
    const x = { data, shape: [200, 64, 64, 8] };
    const y = Int32Array.from({ length: 200 }, (_, i) => i % 3);
    const whole = await m.predict(x, { batchSize: 200, workers: 0 });
    const small = await m.predict(x, { batchSize: 20, workers: 0 });
    expect(Buffer.from(whole.data.buffer).equals(Buffer.from(small.data.buffer))).toBe(true);
    const before = tf.memory().numTensors;
    const a = await m.evaluate(x, y, { batchSize: 200, workers: 0 });
    expect(tf.memory().numTensors).toBe(before);
    // One chunk of 200 either way: its loss sum is taken over the whole chunk, as before passes existed.
    const b = await m.evaluate(x, y, { batchSize: 200, workers: 2 });
    expect(a).toEqual(b);
    await m.dispose();
  });

  it('keeps tf.memory().numTensors flat across epochs', async () => {
    const counts: number[] = [];
    class Count extends Callback {
      onEpochEnd() {
        counts.push(tf.memory().numTensors);
      }
    }
    const { x, y } = images(64);
    const m = small();
    await m.fit(x, y, {
      epochs: 4,
      batchSize: 16,
      validationSplit: 0.25,
      workers: 0,
      verbose: 0,
      callbacks: [new Count()],
    });
    await m.evaluate(x, y, { workers: 0 });
    expect(counts).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(counts[0]);
  });

  it('learns: a small convnet separates the two halves', async () => {
    const { x, y } = images(400);
    const m = new Sequential({ seed: 2 });
    m.add(layers.Input({ shape: [6, 6, 2] }));
    m.add(layers.Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }));
    m.add(layers.MaxPooling2D({ poolSize: 2 }));
    m.add(layers.Flatten());
    m.add(layers.Dense({ units: 2, activation: 'softmax' }));
    m.compile({
      loss: 'sparse_categorical_crossentropy',
      optimizer: { className: 'Adam', learningRate: 0.01 },
      metrics: ['accuracy'],
    });
    const h = await m.fit(x, y, { epochs: 30, batchSize: 32, workers: 0, verbose: 0 });
    expect(h.history.accuracy.at(-1)).toBeGreaterThan(0.9);
  });
});

describe('bad input: a clear error naming the layer and shapes, and nothing changes', () => {
  it('an image whose shape does not match the Input', async () => {
    const m = small();
    const before = m.getWeights();
    const x = { data: new Float32Array(3 * 5 * 5 * 2), shape: [3, 5, 5, 2] };
    await expect(m.fit(x, [0, 1, 0], { workers: 0, verbose: 0 })).rejects.toThrow(
      "x has shape (3, 5, 5, 2) but layer 'conv2d' (Conv2D) expects input shape (None, 6, 6, 2)",
    );
    await expect(m.predict(new Matrix(new Float32Array(3 * 72), 3, 72), { workers: 0 })).rejects.toThrow(
      'x has shape (3, 72) but layer',
    );
    expect(m.getWeights()).toEqual(before);
  });

  it("a kernel or pool larger than its input with 'valid' padding fails at add, and the model is unchanged", () => {
    const m = new Sequential();
    m.add(layers.Input({ shape: [4, 4, 1] }));
    m.add(layers.Conv2D({ filters: 2, kernelSize: 3 }));
    expect(() => m.add(layers.Conv2D({ filters: 2, kernelSize: 3 }))).toThrow(
      /Conv2D 'conv2d_1': computed output size would be negative: a kernel of 3x3 does not fit an input of 2x2 with padding 'valid'/,
    );
    expect(() => m.add(layers.MaxPooling2D({ poolSize: 3 }))).toThrow(
      /MaxPooling2D 'max_pooling2d': .* a pool of 3x3 does not fit an input of 2x2/,
    );
    expect(m.layers).toHaveLength(2);
    expect(m.countParams()).toBe(20);
    // 'same' padding fits anything, and the names freed by the failures are reused.
    m.add(layers.Conv2D({ filters: 2, kernelSize: 3, padding: 'same' }));
    expect(m.layers.at(-1)!.name).toBe('conv2d_1');
  });

  it.each([
    [{ filters: 0, kernelSize: 3 }, /filters must be a positive integer. Received: filters=0/],
    [{ filters: 2.5, kernelSize: 3 }, /filters must be a positive integer/],
    [
      { filters: 2, kernelSize: 0 },
      /kernelSize must be a positive integer or a pair of positive integers. Received: kernelSize=0/,
    ],
    [{ filters: 2, kernelSize: [3, 1.5] }, /kernelSize must be/],
    [{ filters: 2, kernelSize: 3, strides: -1 }, /strides must be/],
    [{ filters: 2, kernelSize: 3, padding: 'full' }, /padding must be 'valid' or 'same'. Received: padding="full"/],
    [
      { filters: 2, kernelSize: 3, strides: 2, dilationRate: 2 },
      /strides > 1 are not supported together with dilationRate > 1/,
    ],
    [{ filters: 2, kernelSize: 3, dataFormat: 'channels_first' }, /dataFormat must be 'channels_last'/],
    [
      { filters: 2, kernelSize: 3, kernel_size: 3 },
      /Unrecognized option 'kernel_size' for Conv2D; did you mean 'kernelSize'\?/,
    ],
  ])('Conv2D(%j) is refused', (options, message) => {
    expect(() => layers.Conv2D(options as never)).toThrow(message);
  });

  it('Flatten or Dense on a shape that does not fit, a Reshape whose sizes do not multiply out', () => {
    const m = new Sequential();
    m.add(layers.Input({ shape: [4, 4, 3] }));
    expect(() => m.add(layers.Dense({ units: 2 }))).toThrow(
      "Layer 'dense' (Dense) expects rows of rank 1, i.e. input shape (None, features). Received: (None, 4, 4, 3)",
    );
    expect(() => m.add(layers.Reshape({ targetShape: [5, 10] }))).toThrow(
      /Reshape 'reshape': total size of the new shape \(5, 10\) must be unchanged: the input \(None, 4, 4, 3\) has 48 values/,
    );
    expect(() => m.add(layers.Reshape({ targetShape: [-1, 5] }))).toThrow(/must be unchanged/);
    expect(() => layers.Reshape({ targetShape: [-1, -1] })).toThrow(
      /targetShape must be a non-empty array of positive integers, with at most one -1/,
    );
    expect(() => m.add(layers.GlobalAveragePooling2D())).not.toThrow();
    expect(() => m.add(layers.MaxPooling2D())).toThrow(/MaxPooling2D 'max_pooling2d' expects inputs of rank 4/);
    expect(m.layers.map((l) => l.className)).toEqual(['InputLayer', 'GlobalAveragePooling2D']);
    expect(() => layers.MaxPooling2D({ poolSize: 2, pool_size: 2 } as never)).toThrow(
      /Unrecognized option 'pool_size' for MaxPooling2D; did you mean 'poolSize'\?/,
    );
  });

  it('a cross-entropy over an image-shaped output is refused at compile (Keras would take it per position)', () => {
    const m = new Sequential();
    m.add(layers.Input({ shape: [4, 4, 1] }));
    m.add(layers.Conv2D({ filters: 3, kernelSize: 2, activation: 'softmax' }));
    expect(() => m.compile({ loss: 'categorical_crossentropy' })).toThrow(
      "compile: categorical_crossentropy needs an output of shape (None, classes), but layer 'conv2d' (Conv2D) outputs (None, 3, 3, 3)",
    );
    expect(() => m.compile({ loss: 'sparse_categorical_crossentropy' })).toThrow(
      /needs an output of shape \(None, classes\)/,
    );
    expect(() => m.compile({ loss: 'mse', metrics: ['mae'] })).not.toThrow();
  });

  it('ragged or non-numeric nested images are named by their index', async () => {
    const m = small();
    const img = () => Array.from({ length: 6 }, () => Array.from({ length: 6 }, () => [0, 0]));
    const ragged = [img(), img().slice(0, 5)];
    await expect(m.predict(ragged, { workers: 0 })).rejects.toThrow(
      'x[1] has 5 entries where x[0] has 6: nested arrays must be rectangular',
    );
    const bad = [img(), img()];
    (bad[1][2][3] as unknown[])[1] = '3';
    await expect(m.predict(bad, { workers: 0 })).rejects.toThrow('x[1][2][3][1] must be a number. Received: "3"');
  });
});
