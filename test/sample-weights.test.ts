/**
 * sampleWeight and classWeight with Keras 3's reduction: the loss is sum(w * loss_row) / rows
 * ("sum_over_batch_size"), its gradient likewise, and the metrics are weighted means. Checked against the
 * formulas written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { layers, optimizers, Sequential, setRandomSeed } from '../src/index.js';

const rows = 40;
const F = 3;
const C = 2;
const x = Float32Array.from({ length: rows * F }, (_, i) => Math.sin(i * 1.7) * 0.8);
const y = Float32Array.from({ length: rows * C }, (_, i) => Math.cos(i * 0.9));
const w = Float32Array.from({ length: rows }, (_, r) => (r % 4) * 0.5 + (r % 3 === 0 ? 0 : 0.25));
const X = { data: x, shape: [rows, F] };
const Y = { data: y, shape: [rows, C] };

function linear(lr = 0.1): Sequential {
  setRandomSeed(11);
  const m = new Sequential();
  m.add(layers.Input({ shape: [F] }));
  m.add(layers.Dense({ units: C }));
  m.compile({ loss: 'mse', optimizer: new optimizers.SGD({ learningRate: lr }), metrics: ['mae'] });
  return m;
}

/** Per row: mean over columns of the squared and absolute errors of outputs `p`. */
function rowErrors(p: Float32Array) {
  const sq: number[] = [];
  const abs: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let a = 0;
    for (let c = 0; c < C; c++) {
      const e = p[r * C + c] - y[r * C + c];
      s += e * e;
      a += Math.abs(e);
    }
    sq.push(s / C);
    abs.push(a / C);
  }
  return { sq, abs };
}

describe('sample weights', () => {
  it('evaluate: loss = sum(w * l) / n and weighted metrics = sum(w * m) / sum(w)', async () => {
    const m = linear();
    const logs = await m.evaluate(X, Y, { sampleWeight: w, batchSize: 7, workers: 0 });
    const { sq, abs } = rowErrors((await m.predict(X, { workers: 0 })).data);
    const sumW = w.reduce((s, v) => s + v, 0);
    expect(logs.loss).toBeCloseTo(sq.reduce((s, l, r) => s + w[r] * l, 0) / rows, 6);
    expect(logs.mae).toBeCloseTo(abs.reduce((s, l, r) => s + w[r] * l, 0) / sumW, 6);
    await m.dispose();
  });

  it('fit: one SGD step follows the gradient of sum(w * l) / n', async () => {
    const m = linear(0.1);
    const [kernel, bias] = m.getWeights().map((v) => Float64Array.from(v.data));
    const p = (await m.predict(X, { workers: 0 })).data;
    // dL/dp[r][c] = w_r * 2 (p - y) / C / n.
    const gK = new Float64Array(F * C);
    const gB = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < C; c++) {
        const d = (w[r] * 2 * (p[r * C + c] - y[r * C + c])) / C / rows;
        gB[c] += d;
        for (let f = 0; f < F; f++) gK[f * C + c] += x[r * F + f] * d;
      }
    }
    const h = await m.fit(X, Y, {
      sampleWeight: w,
      epochs: 1,
      batchSize: rows,
      microBatchSize: 16,
      shuffle: false,
      verbose: 0,
      workers: 0,
    });
    const [k1, b1] = m.getWeights().map((v) => v.data);
    k1.forEach((v, i) => expect(v).toBeCloseTo(kernel[i] - 0.1 * gK[i], 6));
    b1.forEach((v, i) => expect(v).toBeCloseTo(bias[i] - 0.1 * gB[i], 6));
    const { sq } = rowErrors(p);
    expect(h.history.loss[0]).toBeCloseTo(sq.reduce((s, l, r) => s + w[r] * l, 0) / rows, 6);
    await m.dispose();
  });

  it('classWeight weights each row by its class, the same bits as the equivalent sampleWeight', async () => {
    const labels = Float32Array.from({ length: rows }, (_, r) => (x[r * F] > 0.3 ? 1 : 0));
    const run = async (opts: object) => {
      setRandomSeed(5);
      const m = new Sequential();
      m.add(layers.Input({ shape: [F] }));
      m.add(layers.Dense({ units: 1, activation: 'sigmoid' }));
      m.compile({ loss: 'binary_crossentropy', optimizer: 'adam', metrics: ['accuracy', 'AUC'] });
      const h = await m.fit(
        X,
        { data: labels, shape: [rows, 1] },
        { epochs: 2, batchSize: 16, verbose: 0, workers: 0, ...opts },
      );
      const out = { history: JSON.stringify(h.history), weights: m.getWeights().map((v) => [...v.data]) };
      await m.dispose();
      return out;
    };
    const byClass = await run({ classWeight: { 0: 1, 1: 4 } });
    const bySample = await run({ sampleWeight: Float32Array.from(labels, (l) => (l ? 4 : 1)) });
    const plain = await run({});
    expect(byClass).toEqual(bySample);
    expect(byClass.history).not.toBe(plain.history);
  });

  it('validationData [x, y, sampleWeight]: val_loss is the weighted evaluate', async () => {
    const m = linear();
    const h = await m.fit(X, Y, { epochs: 1, batchSize: 8, verbose: 0, workers: 0, validationData: [X, Y, w] });
    const logs = await m.evaluate(X, Y, { sampleWeight: w, batchSize: 8, workers: 0 });
    expect(h.history.val_loss[0]).toBe(logs.loss);
    expect(h.history.val_mae[0]).toBe(logs.mae);
    await m.dispose();
  });

  it('rejects bad weights by name and leaves the model untouched', async () => {
    const m = linear();
    const before = m.getWeights().map((v) => [...v.data]);
    await expect(m.fit(X, Y, { sampleWeight: w.subarray(1), verbose: 0, workers: 0 })).rejects.toThrow(
      /sampleWeight has 39 values/,
    );
    await expect(m.fit(X, Y, { sampleWeight: w, classWeight: { 0: 1 }, verbose: 0, workers: 0 })).rejects.toThrow(
      /not both/,
    );
    await expect(
      m.fit(X, Y, { sampleWeight: Float32Array.from(w, (v, r) => (r === 3 ? -1 : v)), verbose: 0, workers: 0 }),
    ).rejects.toThrow(/sampleWeight\[3\]/);
    await expect(m.evaluate(X, Y, { sampleWeight: [1, 2], workers: 0 })).rejects.toThrow(/sampleWeight/);
    expect(m.getWeights().map((v) => [...v.data])).toEqual(before);
    await m.dispose();
  });
});
