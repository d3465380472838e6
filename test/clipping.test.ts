/**
 * Gradient clipping (clipnorm, clipvalue, globalClipnorm) with Keras's formulas, and the norms' bits for any
 * worker count (a norm spans ranges that different workers sum).
 */
import { describe, expect, it } from 'vitest';
import { applyClipping, clipGradients, clipNorms } from '../src/clipping.js';
import { layers, optimizers, Sequential, setRandomSeed } from '../src/index.js';

const f = Math.fround;
const grad = () => Float32Array.of(3, -4, 0.5, 12, -5, 0);
const spans = [
  { offset: 0, size: 2 },
  { offset: 2, size: 4 },
];

describe('clipGradients', () => {
  it('clipvalue clips each element', () => {
    const g = grad();
    clipGradients({ clipvalue: 2 }, spans, g, 0, 6);
    expect([...g]).toEqual([2, -2, 0.5, 2, -2, 0]);
  });

  it('clipnorm scales each weight by clipnorm / max(norm, clipnorm), over any split of the range', () => {
    const whole = grad();
    clipGradients({ clipnorm: 2 }, spans, whole, 0, 6);
    const n1 = f(Math.sqrt(9 + 16));
    const n2 = f(Math.sqrt(f(0.25 + 144 + 25)));
    expect([...whole]).toEqual([f(f(6) / n1), f(f(-8) / n1), f(f(1) / n2), f(f(24) / n2), f(f(-10) / n2), 0]);
    // Two workers' ranges: both read the norms before either scales.
    const split = grad();
    const sums = clipNorms({ clipnorm: 2 }, spans, split);
    for (const [lo, hi] of [
      [0, 3],
      [3, 6],
    ])
      applyClipping({ clipnorm: 2 }, spans, split, lo, hi, sums);
    expect(split).toEqual(whole);
    const small = grad();
    clipGradients({ clipnorm: 100 }, spans, small, 0, 6);
    expect(small).toEqual(grad());
  });

  it('globalClipnorm scales everything by clipnorm / global norm when larger', () => {
    const g = grad();
    clipGradients({ globalClipnorm: 1 }, spans, g, 0, 6);
    const norm = f(Math.sqrt(9 + 16 + 0.25 + 144 + 25));
    const scale = f(1 * Math.min(f(1 / norm), 1));
    expect([...g]).toEqual([...grad()].map((v) => f(v * scale)));
  });

  it('only one clipping option, positive', () => {
    expect(() => new optimizers.SGD({ clipnorm: 1, clipvalue: 1 })).toThrow(/only one of/);
    expect(() => new optimizers.Adam({ globalClipnorm: 0 })).toThrow(/globalClipnorm/);
  });
});

describe('clipping in fit', () => {
  const rows = 48;
  const x = { data: Float32Array.from({ length: rows * 5 }, (_, i) => Math.sin(i * 0.7) * 3), shape: [rows, 5] };
  const y = { data: Float32Array.from({ length: rows * 2 }, (_, i) => Math.cos(i) * 4), shape: [rows, 2] };
  const run = async (clip: object, workers: number) => {
    setRandomSeed(8);
    const m = new Sequential();
    m.add(layers.Input({ shape: [5] }));
    m.add(layers.Dense({ units: 7, activation: 'relu' }));
    m.add(layers.Dense({ units: 2 }));
    m.compile({ loss: 'mse', optimizer: new optimizers.SGD({ learningRate: 1, ...clip }) });
    const before = m.getWeights().map((w) => w.data);
    await m.fit(x, y, { epochs: 1, batchSize: rows, microBatchSize: 16, shuffle: false, verbose: 0, workers });
    const after = m.getWeights().map((w) => w.data);
    await m.dispose();
    return { before, after };
  };

  it('globalClipnorm: the step is the plain gradient scaled to the clip norm', async () => {
    const plain = await run({}, 0);
    const clipped = await run({ globalClipnorm: 0.5 }, 0);
    const g = plain.before.map((w, k) => w.map((v, i) => v - plain.after[k][i]));
    const norm = Math.sqrt(g.reduce((s, a) => s + a.reduce((t, v) => t + v * v, 0), 0));
    expect(norm).toBeGreaterThan(1);
    clipped.after.forEach((w, k) =>
      w.forEach((v, i) => expect(v).toBeCloseTo(clipped.before[k][i] - (g[k][i] * 0.5) / norm, 5)),
    );
  });

  // globalClipnorm's bits across worker counts are in test/determinism-features.test.ts.
  it('clipnorm: the same bits for 0 and 3 workers (three micro-shards a batch)', async () => {
    const [a, b] = [await run({ clipnorm: 0.3 }, 0), await run({ clipnorm: 0.3 }, 3)];
    expect(b.after).toEqual(a.after);
  });
});
