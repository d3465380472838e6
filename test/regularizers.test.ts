/**
 * kernelRegularizer, biasRegularizer and activityRegularizer (l1, l2, l1l2): the penalty joins the loss in
 * history and evaluate as in Keras (once per batch, undivided), its gradient joins the step's, and the
 * configs save in the TensorFlow.js format that tfjs-layers reads back.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { tfjsFileLoader } from './helpers/tfjs-files.js';
import { toModelTopology, fromModelTopology } from '../src/io/index.js';
import { layers, loadModel, optimizers, regularizers, Sequential, setRandomSeed } from '../src/index.js';

const rows = 24;
const F = 3;
const H = 4;
const x = Float32Array.from({ length: rows * F }, (_, i) => Math.sin(i * 1.3) * 0.9);
const y = Float32Array.from({ length: rows }, (_, r) => Math.cos(r * 0.7));
const X = { data: x, shape: [rows, F] };
const Y = { data: y, shape: [rows, 1] };

/** Dense(H, linear) -> Dense(1) with mse and SGD; options go to the hidden layer. */
function model(hidden: Record<string, unknown> = {}, lr = 0.05): Sequential {
  setRandomSeed(21);
  const m = new Sequential();
  m.add(layers.Input({ shape: [F] }));
  m.add(layers.Dense({ units: H, biasInitializer: 'ones', ...hidden }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: new optimizers.SGD({ learningRate: lr }) });
  return m;
}

const sum = (a: ArrayLike<number>, g: (v: number) => number) => Array.from(a).reduce((s, v) => s + g(v), 0);

describe('regularizers', () => {
  it('l2 kernel and l1 bias: the loss gains l2 * sum(W^2) + l1 * sum(|b|) and the step follows its gradient', async () => {
    const plain = model();
    const reg = model({ kernelRegularizer: regularizers.l2(), biasRegularizer: regularizers.l1({ l1: 0.02 }) });
    const [W0, b0] = reg.getWeights().map((w) => Float64Array.from(w.data));
    const pen = 0.01 * sum(W0, (v) => v * v) + 0.02 * sum(b0, Math.abs);
    const e0 = await plain.evaluate(X, Y, { workers: 0 });
    const e1 = await reg.evaluate(X, Y, { workers: 0 });
    expect(e1.loss - e0.loss).toBeCloseTo(pen, 6);
    const opts = { epochs: 1, batchSize: rows, microBatchSize: 8, shuffle: false, verbose: 0 as const, workers: 0 };
    const h0 = await plain.fit(X, Y, opts);
    const h1 = await reg.fit(X, Y, opts);
    expect(h1.history.loss[0] - h0.history.loss[0]).toBeCloseTo(pen, 6);
    const [W1p, b1p] = plain.getWeights().map((w) => w.data);
    const [W1r, b1r] = reg.getWeights().map((w) => w.data);
    // Same data gradient in both; the penalty adds 2 * 0.01 * W and 0.02 * sign(b).
    W0.forEach((w, i) => expect(W1r[i] - W1p[i]).toBeCloseTo(-0.05 * 2 * 0.01 * w, 7));
    b0.forEach((b, i) => expect(b1r[i] - b1p[i]).toBeCloseTo(-0.05 * 0.02 * Math.sign(b), 7));
    await plain.dispose();
    await reg.dispose();
  });

  it('activityRegularizer: l2 * sum(a^2) over the batch in the loss, 2 * l2 * a into the backward pass', async () => {
    const lr = 0.05;
    const m = model({ activityRegularizer: 'l2' }, lr);
    const [W, b, v, c] = m.getWeights().map((w) => Float64Array.from(w.data));
    // Forward in float64: h = x W + b, p = h v + c.
    const h = new Float64Array(rows * H);
    const p = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < H; j++) {
        let s = b[j];
        for (let f = 0; f < F; f++) s += x[r * F + f] * W[f * H + j];
        h[r * H + j] = s;
      }
      p[r] =
        c[0] +
        sum(
          Array.from({ length: H }, (_, j) => h[r * H + j] * v[j]),
          (t) => t,
        );
    }
    const dataLoss =
      sum(
        p.map((q, r) => (q - y[r]) ** 2),
        (t) => t,
      ) / rows;
    const act = 0.01 * sum(h, (t) => t * t);
    expect((await m.evaluate(X, Y, { batchSize: rows, workers: 0 })).loss).toBeCloseTo(dataLoss + act, 5);
    // dL/dh = 2 (p - y) v / n + 2 * 0.01 * h; dL/dW = x^T dL/dh.
    const gW = new Float64Array(F * H);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < H; j++) {
        const dh = (2 * (p[r] - y[r]) * v[j]) / rows + 2 * 0.01 * h[r * H + j];
        for (let f = 0; f < F; f++) gW[f * H + j] += x[r * F + f] * dh;
      }
    }
    const hist = await m.fit(X, Y, {
      epochs: 1,
      batchSize: rows,
      microBatchSize: 8,
      shuffle: false,
      verbose: 0,
      workers: 0,
    });
    expect(hist.history.loss[0]).toBeCloseTo(dataLoss + act, 5);
    const W1 = m.getWeights()[0].data;
    W.forEach((w, i) => expect(W1[i]).toBeCloseTo(w - lr * gW[i], 6));
    await m.dispose();
  });

  it('saves as tfjs-layers writes regularizers (L1L2); loadModel and tfjs-layers read them back', async () => {
    setRandomSeed(2);
    const m = new Sequential();
    m.add(layers.Input({ shape: [6, 6, 1] }));
    m.add(layers.Conv2D({ filters: 2, kernelSize: 3, kernelRegularizer: regularizers.l1l2() }));
    m.add(layers.Flatten());
    m.add(layers.Dense({ units: 1, kernelRegularizer: 'l2', biasRegularizer: regularizers.l2({ l2: 0.5 }) }));
    m.compile({ loss: 'mse', optimizer: 'adam' });
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-reg-'));
    try {
      await m.save(dir);
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      const [, conv, , dense] = json.modelTopology.config.layers;
      expect(conv.config.kernel_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0.01, l2: 0.01 } });
      expect(conv.config.activity_regularizer).toBe(null);
      expect(dense.config.kernel_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.01 } });
      expect(dense.config.bias_regularizer).toEqual({ class_name: 'L1L2', config: { l1: 0, l2: 0.5 } });
      const back = await loadModel(dir);
      expect(back.layerConfigs()).toEqual(m.layerConfigs());
      const previous = tf.getBackend();
      await tf.setBackend('cpu');
      try {
        const t = await tfl.loadLayersModel(tfjsFileLoader(dir));
        const cfg = (t.layers[1].getConfig() as { kernelRegularizer: { className: string; config: object } })
          .kernelRegularizer;
        expect(cfg).toEqual({ className: 'L1L2', config: { l1: 0.01, l2: 0.01 } });
      } finally {
        await tf.setBackend(previous);
      }
      await back.dispose();
    } finally {
      await m.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an activityRegularizer saves and loads too (tfjs-layers itself cannot run one)', () => {
    const conv = layers.Conv2D({
      name: 'c',
      filters: 2,
      kernelSize: 3,
      inputShape: [5, 5, 1],
      activityRegularizer: regularizers.l1({ l1: 0.001 }),
    });
    const topology = toModelTopology('m', [conv.getConfig()]);
    expect(topology.config.layers[0].config.activity_regularizer).toEqual({
      class_name: 'L1L2',
      config: { l1: 0.001, l2: 0 },
    });
    expect(fromModelTopology(topology).layers[1]).toEqual({ ...conv.getConfig(), inputShape: undefined });
  });

  it('rejects bad regularizers by name', () => {
    expect(() => layers.Dense({ units: 1, kernelRegularizer: 'l3' as never })).toThrow(/kernelRegularizer/);
    expect(() => regularizers.l2({ l2: -1 })).toThrow(/l2/);
    expect(() =>
      layers.Dense({ units: 1, biasRegularizer: { className: 'L2', config: { l2: 'x' } } as never }),
    ).toThrow(/biasRegularizer/);
  });
});
