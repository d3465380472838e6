/**
 * Winograd convolution (ops/winograd.ts, kernels/winograd.wat) against float64 references written from the
 * definitions in plain loops: the forward convolution (+ bias, relu), the input gradient and the filter
 * gradient, F(2x2,3x3) and F(4x4,3x3), at odd sizes: inputs 3x3 to 28x28, channels 1 to 64 (4 lanes and the
 * ones left over), 'valid' and 'same', batches whose tiles overhang the output, parts that start mid-batch.
 *
 * Tolerance: |got - want| <= TOL[m] * (sum over the terms of |term|) per output, i.e. relative to the float64
 * sum of absolute products, the natural scale of a dot product's rounding error. Measured maxima of that ratio
 * (docs/performance.md): F(2x2,3x3) about 1e-7, F(4x4,3x3) about 1e-6; the bounds leave 8-16x headroom and
 * still fail for a wrong coefficient, tile or offset (those give errors of order 1).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { heapView } from '../src/ops/heap.js';
import { WinogradConv, winogradAvailable, winogradTile, type TileSize } from '../src/ops/winograd.js';
import { axisPlan, type Padding } from '../src/layers/conv-shapes.js';
import type { ConvGeometry } from '../src/ops/conv-grads.js';

beforeAll(async () => {
  await initBackend();
});

const TOL: Record<TileSize, number> = { 2: 2e-6, 4: 2e-5 };

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  padding: Padding;
  m: TileSize;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function geometry(c: Case): ConvGeometry {
  return {
    kernel: [3, 3],
    strides: [1, 1],
    dilation: [1, 1],
    plan: [axisPlan(c.h, 3, 1, 1, c.padding)!, axisPlan(c.w, 3, 1, 1, c.padding)!],
  };
}

/** The worst |got - want| / scale over the values, and the index. */
function worst(got: Float32Array, want: Float64Array, scale: Float64Array): { ratio: number; at: number } {
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / Math.max(scale[i], 1e-30);
    if (!(r <= ratio)) [ratio, at] = [r, i];
  }
  return { ratio, at };
}

/** Runs every pass of one case and returns each pass's worst error ratio. */
export function measure(c: Case, seed: number): { forward: number; input: number; filter: number } {
  const g = geometry(c);
  const [oh, ow] = [g.plan[0].out, g.plan[1].out];
  const [top, left] = [g.plan[0].before, g.plan[1].before];
  const rand = lcg(seed);
  const xv = Float32Array.from({ length: c.n * c.h * c.w * c.cin }, rand);
  const kv = Float32Array.from({ length: 9 * c.cin * c.cout }, rand);
  const bv = Float32Array.from({ length: c.cout }, rand);
  const dzv = Float32Array.from({ length: c.n * oh * ow * c.cout }, rand);
  const X = (b: number, i: number, j: number, ch: number) =>
    i < 0 || j < 0 || i >= c.h || j >= c.w ? 0 : xv[((b * c.h + i) * c.w + j) * c.cin + ch];
  const K = (i: number, j: number, ch: number, f: number) => kv[((i * 3 + j) * c.cin + ch) * c.cout + f];
  const DZ = (b: number, i: number, j: number, f: number) =>
    i < 0 || j < 0 || i >= oh || j >= ow ? 0 : dzv[((b * oh + i) * ow + j) * c.cout + f];
  // Forward with bias and relu, each value with its scale (relu applied to both sides).
  const fw = new Float64Array(c.n * oh * ow * c.cout);
  const fs = new Float64Array(fw.length);
  for (let b = 0, o = 0; b < c.n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let f = 0; f < c.cout; f++, o++) {
          let s = bv[f];
          let a = Math.abs(bv[f]);
          for (let ki = 0; ki < 3; ki++)
            for (let kj = 0; kj < 3; kj++)
              for (let ch = 0; ch < c.cin; ch++) {
                const t = X(b, i + ki - top, j + kj - left, ch) * K(ki, kj, ch, f);
                s += t;
                a += Math.abs(t);
              }
          [fw[o], fs[o]] = [Math.max(s, 0), a];
        }
  // Input gradient: dx[b, y, x, ch] = sum of dz[b, y - ki + top, x - kj + left, f] * k[ki, kj, ch, f].
  const iw = new Float64Array(xv.length);
  const is = new Float64Array(xv.length);
  for (let b = 0, o = 0; b < c.n; b++)
    for (let y = 0; y < c.h; y++)
      for (let x = 0; x < c.w; x++)
        for (let ch = 0; ch < c.cin; ch++, o++)
          for (let ki = 0; ki < 3; ki++)
            for (let kj = 0; kj < 3; kj++)
              for (let f = 0; f < c.cout; f++) {
                const t = DZ(b, y - ki + top, x - kj + left, f) * K(ki, kj, ch, f);
                iw[o] += t;
                is[o] += Math.abs(t);
              }
  // Filter gradient of samples [start, n): a part that starts mid-batch.
  const start = c.n > 1 ? 1 : 0;
  const kw = new Float64Array(kv.length);
  const ks = new Float64Array(kv.length);
  for (let ki = 0, o = 0; ki < 3; ki++)
    for (let kj = 0; kj < 3; kj++)
      for (let ch = 0; ch < c.cin; ch++)
        for (let f = 0; f < c.cout; f++, o++)
          for (let b = start; b < c.n; b++)
            for (let i = 0; i < oh; i++)
              for (let j = 0; j < ow; j++) {
                const t = X(b, i + ki - top, j + kj - left, ch) * DZ(b, i, j, f);
                kw[o] += t;
                ks[o] += Math.abs(t);
              }
  const op = new WinogradConv(g, c.cin, c.cout, c.m);
  const worstOf = (scale: number) =>
    tf.tidy(() => {
      const x = tf.mul(tf.tensor4d(xv, [c.n, c.h, c.w, c.cin]), scale);
      const k = tf.mul(tf.tensor4d(kv, [3, 3, c.cin, c.cout]), scale);
      const bias = tf.tensor1d(bv);
      const dz = tf.tensor2d(dzv, [c.n * oh * ow, c.cout]);
      const y = op.forward(x, k, bias, true);
      expect(y.shape).toEqual([c.n, oh, ow, c.cout]);
      const dx = op.inputGradient(dz, k, x.shape);
      expect(dx.shape).toEqual(x.shape);
      const dk = op.filterGradient(x, dz, start, c.n - start);
      expect(dk.shape).toEqual([9 * c.cin, c.cout]);
      return {
        forward: worst(heapView(y), fw, fs).ratio,
        input: worst(heapView(dx), iw, is).ratio,
        filter: worst(heapView(dk), kw, ks).ratio,
      };
    });
  // Twice, first on other values: the second pass runs on the kept operators, repacked.
  worstOf(-2);
  const e = worstOf(1);
  op.dispose();
  return e;
}

const CASES: Case[] = [
  { n: 1, h: 3, w: 3, cin: 1, cout: 1, padding: 'valid', m: 2 },
  { n: 2, h: 3, w: 5, cin: 3, cout: 5, padding: 'same', m: 4 },
  { n: 3, h: 7, w: 6, cin: 5, cout: 7, padding: 'valid', m: 2 },
  { n: 3, h: 7, w: 9, cin: 6, cout: 9, padding: 'same', m: 4 },
  { n: 2, h: 13, w: 13, cin: 32, cout: 64, padding: 'valid', m: 2 },
  { n: 2, h: 13, w: 13, cin: 32, cout: 64, padding: 'valid', m: 4 },
  { n: 1, h: 28, w: 28, cin: 1, cout: 32, padding: 'same', m: 4 },
  { n: 1, h: 11, w: 10, cin: 64, cout: 3, padding: 'same', m: 2 },
  { n: 2, h: 10, w: 11, cin: 17, cout: 64, padding: 'valid', m: 4 },
];

describe('Winograd convolution against float64', () => {
  it.runIf(true)('runs on the wasm backend', () => expect(winogradAvailable()).toBe(true));
  for (const c of CASES) {
    it(`F(${c.m}x${c.m},3x3), ${c.n} x ${c.h}x${c.w}x${c.cin} -> ${c.cout}, ${c.padding}`, () => {
      const e = measure(c, c.h * 131 + c.cin * 7 + c.m);
      expect(e.forward).toBeLessThan(TOL[c.m]);
      expect(e.input).toBeLessThan(TOL[c.m]);
      expect(e.filter).toBeLessThan(TOL[c.m]);
    });
  }
});

describe("a layer's variant is a rule of its shapes", () => {
  const g = (h: number, padding: Padding, k = 3, s = 1, d = 1): ConvGeometry => ({
    kernel: [k, k],
    strides: [s, s],
    dilation: [d, d],
    plan: [axisPlan(h, k, s, d, padding)!, axisPlan(h, k, s, d, padding)!],
  });
  it('F(4x4,3x3) on outputs its tiles cover well, F(2x2,3x3) on small ones, none for other convolutions', () => {
    expect(winogradTile(g(13, 'valid'), 32)).toBe(4); // the MNIST convnet's second layer: 11x11 outputs
    expect(winogradTile(g(4, 'valid'), 32)).toBe(2); // 2x2 outputs: one F(2x2) tile
    expect(winogradTile(g(13, 'valid'), 3)).toBeUndefined();
    expect(winogradTile(g(13, 'valid', 5), 32)).toBeUndefined();
    expect(winogradTile(g(13, 'valid', 3, 2), 32)).toBeUndefined();
    expect(winogradTile(g(13, 'valid', 3, 1, 2), 32)).toBeUndefined();
  });
});
