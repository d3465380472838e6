/**
 * The functional API's contract: graphs built with Input/apply/Model, errors at apply and compile that name
 * the layer and the shapes, data as arrays or objects per input and output, Keras's history keys, summary's
 * "Connected to", a Sequential used as a layer, and a chain's bits equal to the same model as a Sequential.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { callbacks, initBackend, layers, Matrix, Model, Sequential } from '../src/index.js';

beforeAll(async () => {
  await initBackend();
});

function values(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2;
  });
}
const x = new Matrix(values(60 * 4, 1), 60, 4);
const y = new Matrix(
  Float32Array.from({ length: 60 }, (_, r) => x.get(r, 0) - x.get(r, 1)),
  60,
  1,
);
const bytes = (m: Model) =>
  Buffer.concat(m.getWeights().map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));

describe('functional models', () => {
  it('a chain written as a Model trains to the same bits as the same Sequential', async () => {
    const seq = new Sequential({ seed: 9 });
    seq.add(layers.Input({ shape: [4] }));
    seq.add(layers.Dense({ units: 5, activation: 'tanh' }));
    seq.add(layers.Dropout({ rate: 0.3 }));
    seq.add(layers.Dense({ units: 1 }));
    const input = layers.Input({ shape: [4] });
    const out = layers
      .Dense({ units: 1 })
      .apply(layers.Dropout({ rate: 0.3 }).apply(layers.Dense({ units: 5, activation: 'tanh' }).apply(input)));
    const fn = new Model({ inputs: input, outputs: out, seed: 9 });
    for (const m of [seq, fn]) {
      m.compile({ loss: 'mse', optimizer: 'adam' });
      await m.fit(x, y, { epochs: 2, batchSize: 16, microBatchSize: 4, workers: 0, verbose: 0, seed: 2 });
    }
    expect(bytes(fn).equals(bytes(seq))).toBe(true);
  });

  it('a Sequential applied inside a Model keeps its weights and computes the same', async () => {
    const inner = new Sequential({ name: 'inner', seed: 3 });
    inner.add(layers.Input({ shape: [4] }));
    inner.add(layers.Dense({ units: 3, activation: 'relu' }));
    inner.add(layers.Dense({ units: 2 }));
    const input = layers.Input({ shape: [4] });
    const outer = new Model({ inputs: input, outputs: inner.apply(input) as never, seed: 99 });
    expect(bytes(outer).equals(bytes(inner))).toBe(true);
    expect((await outer.predict(x, { workers: 0 })).data).toEqual((await inner.predict(x, { workers: 0 })).data);
  });

  it('errors at apply name the layer and the shapes', () => {
    const a = layers.Input({ shape: [3] });
    const b = layers.Input({ shape: [4] });
    expect(() => layers.Add({ name: 'join' }).apply([a, b])).toThrow(
      `Layer 'join' (Add) needs inputs of the same shape. Received: (None, 3), (None, 4)`,
    );
    expect(() => layers.Subtract().apply([a, a, a])).toThrow(
      `Layer 'subtract' (Subtract) takes 2 inputs, as an array: apply([a, b]). Received: 3 inputs`,
    );
    const img = layers.Input({ shape: [2, 2, 3] });
    expect(() => layers.Concatenate({ axis: 1 }).apply([img, layers.Input({ shape: [2, 3, 3] })])).toThrow(
      `Layer 'concatenate' (Concatenate) needs inputs of the same shape except along axis 1. Received: (None, 2, 2, 3), (None, 2, 3, 3)`,
    );
    expect(layers.Concatenate({ axis: 2 }).apply([img, layers.Input({ shape: [2, 3, 3] })]).shape).toEqual([2, 5, 3]);
    const shared = layers.Dense({ units: 2, name: 'shared' });
    shared.apply(a);
    expect(() => shared.apply(b)).toThrow(
      `Layer 'shared' (Dense) is shared, so every call needs inputs of the shapes of its first: (None, 3). Received: (None, 4)`,
    );
    const c = layers.Input({ shape: [3], name: 'other' });
    expect(() => new Model({ inputs: a, outputs: layers.Add().apply([a, c]) })).toThrow(
      /graph disconnected: .* reads input 'other', which is not among the model's inputs/,
    );
  });

  it('takes several inputs and outputs as arrays or objects, names history keys as Keras, and prints "Connected to"', async () => {
    const nums = layers.Input({ shape: [4], name: 'nums' });
    const cats = layers.Input({ shape: [1], name: 'cats' });
    const e = layers.Flatten().apply(layers.Embedding({ inputDim: 3, outputDim: 2, name: 'emb' }).apply(cats));
    const h = layers.Dense({ units: 4, activation: 'relu' }).apply(layers.Concatenate().apply([nums, e]));
    const m = new Model({
      inputs: [nums, cats],
      outputs: [
        layers.Dense({ units: 2, activation: 'softmax', name: 'cls' }).apply(h),
        layers.Dense({ units: 1, name: 'reg' }).apply(h),
      ],
      seed: 1,
    });
    expect(m.summary()).toMatch(
      /Connected to[\s\S]*concatenate \(Concatenate\)[^\n]*nums\[0\]\[0\][\s\S]*flatten\[0\]\[0\]/,
    );
    expect(() => m.compile({ loss: ['mse'] })).toThrow(
      /compile: loss must be a loss name such as "mse", or an array of 2 \(one per output: cls, reg\)/,
    );
    expect(() => m.compile({ loss: { cls: 'mse', label: 'mse' } })).toThrow(
      `compile: loss names output 'label', but the outputs are 'cls', 'reg'`,
    );
    m.compile({
      loss: { cls: 'sparse_categorical_crossentropy', reg: 'mse' },
      metrics: { cls: ['accuracy'] },
      lossWeights: { reg: 0.5 },
      optimizer: 'sgd',
    });
    const cat = new Matrix(
      Float32Array.from({ length: 60 }, (_, r) => r % 3),
      60,
      1,
    );
    const labels = Int32Array.from({ length: 60 }, (_, r) => (x.get(r, 0) > 0 ? 1 : 0));
    const h1 = await m.fit(
      { nums: x, cats: cat },
      { cls: labels, reg: y },
      { epochs: 1, batchSize: 20, workers: 0, verbose: 0, validationSplit: 0.25 },
    );
    expect(Object.keys(h1.history).sort()).toEqual([
      'cls_accuracy',
      'cls_loss',
      'loss',
      'reg_loss',
      'val_cls_accuracy',
      'val_cls_loss',
      'val_loss',
      'val_reg_loss',
    ]);
    expect(h1.history.loss[0]).toBeCloseTo(h1.history.cls_loss[0] + 0.5 * h1.history.reg_loss[0], 10);
    const logs = await m.evaluate([x, cat], [labels, y], { workers: 0 });
    expect(logs.loss).toBeCloseTo(logs.cls_loss + 0.5 * logs.reg_loss, 10);
    const [p, q] = (await m.predict([x, cat], { workers: 0 })) as unknown as Matrix[];
    expect([p.shape, q.shape]).toEqual([
      [60, 2],
      [60, 1],
    ]);
    const bad = new Matrix(
      Float32Array.from({ length: 60 }, (_, r) => (r === 7 ? 3 : 0)),
      60,
      1,
    );
    await expect(m.predict({ nums: x, cats: bad }, { workers: 0 })).rejects.toThrow(
      `x[cats] row 7: value 3 at column 0 is not an index in [0, 3) of layer 'emb' (Embedding, inputDim 3)`,
    );
    await expect(m.predict({ nums: x }, { workers: 0 })).rejects.toThrow(`x has no entry for input 'cats'`);
  });

  it('leaks no tensors across epochs (merges, Embedding, a shared layer, BatchNormalization, two outputs)', async () => {
    const nums = layers.Input({ shape: [4] });
    const cats = layers.Input({ shape: [1] });
    const shared = layers.Dense({ units: 4, activation: 'tanh' });
    const h = layers
      .Maximum()
      .apply([shared.apply(nums), layers.Flatten().apply(layers.Embedding({ inputDim: 3, outputDim: 4 }).apply(cats))]);
    const b = layers.BatchNormalization().apply(layers.Average().apply([h, shared.apply(h)]));
    const m = new Model({
      inputs: [nums, cats],
      outputs: [
        layers.Dense({ units: 1 }).apply(b),
        layers.Dense({ units: 1 }).apply(layers.Concatenate().apply([h, b])),
      ],
    });
    m.compile({ loss: ['mse', 'mae'], optimizer: 'adam' });
    const counts: number[] = [];
    class Count extends callbacks.Callback {
      onEpochEnd(): void {
        counts.push(tf.memory().numTensors);
      }
    }
    const cat = new Matrix(
      Float32Array.from({ length: 60 }, (_, r) => r % 3),
      60,
      1,
    );
    await m.fit([x, cat], [y, y], {
      epochs: 4,
      batchSize: 16,
      workers: 0,
      verbose: 0,
      validationSplit: 0.2,
      callbacks: [new Count()],
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
  });
});
