/**
 * The building blocks of Conv2D's and MaxPooling2D's backward passes (ops/conv-grads.ts), against simpler
 * formulations, bit for bit: the transposed patches (SIMD and JavaScript) against the patches transposed
 * by hand, for any geometry; the max-pool gradient against tfjs's cpu backend's MaxPoolGrad where windows
 * do not overlap (there both only route values), and its SIMD kernel against its JavaScript form for any pool,
 * stride and padding, ties and overlapping windows included. tfjs-wasm's own MaxPoolGrad is not a reference: besides
 * being slow, it drops the gradient of every channel but the first when the pool is 1x1 (seen here).
 */
import { beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../src/backend.js';
import { heapView } from '../src/ops/heap.js';
import {
  maxPoolGradient,
  maxPoolGradientOnHost,
  patches,
  patchesTransposed,
  patchesTransposedOnHeap,
  type ConvGeometry,
} from '../src/ops/conv-grads.js';
import { axisPlan, type Padding } from '../src/layers/conv-shapes.js';
import { FC_SEED, runs } from './helpers/models.js';

beforeAll(async () => {
  await initBackend();
});

const geometryArb = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    cin: fc.integer({ min: 1, max: 6 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.constantFrom(1, 2),
    dilation: fc.constantFrom(1, 2),
    padding: fc.constantFrom<Padding>('valid', 'same'),
    seed: fc.integer(),
  })
  .map((c) => ({ ...c, dilation: c.stride > 1 ? 1 : c.dilation }))
  .filter(
    (c) =>
      axisPlan(c.h, c.kh, c.stride, c.dilation, c.padding) !== null &&
      axisPlan(c.w, c.kw, c.stride, c.dilation, c.padding) !== null,
  );

it('the transposed patches (SIMD and JavaScript) are the patches transposed, bit for bit', () => {
  fc.assert(
    fc.property(geometryArb, fc.integer({ min: 0, max: 3 }), (c, startSeed) => {
      const g: ConvGeometry = {
        kernel: [c.kh, c.kw],
        strides: [c.stride, c.stride],
        dilation: [c.dilation, c.dilation],
        plan: [
          axisPlan(c.h, c.kh, c.stride, c.dilation, c.padding)!,
          axisPlan(c.w, c.kw, c.stride, c.dilation, c.padding)!,
        ],
      };
      const start = startSeed % c.n;
      const rows = c.n - start;
      let s = c.seed;
      const shape = [c.n, c.h, c.w, c.cin];
      const x = tf.tensor4d(
        Float32Array.from(
          { length: c.n * c.h * c.w * c.cin },
          () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5,
        ),
        shape as [number, number, number, number],
      );
      const m = rows * g.plan[0].out * g.plan[1].out;
      const k = c.kh * c.kw * c.cin;
      const p = new Float32Array(m * k);
      patches(heapView(x), shape, start, rows, g, p);
      const want = new Float32Array(k * m);
      for (let r = 0; r < m; r++) for (let q = 0; q < k; q++) want[q * m + r] = p[r * k + q];
      const js = new Float32Array(k * m).fill(NaN);
      patchesTransposed(heapView(x), shape, start, rows, g, js);
      // Stale values where the output will be, so that a position the kernels skip shows.
      tf.dispose(tf.fill([k, m], NaN));
      const out = patchesTransposedOnHeap(x, start, rows, g)!;
      expect(out.shape).toEqual([k, m]);
      const simd = heapView(out).slice();
      tf.dispose([x, out]);
      expect(new Uint32Array(js.buffer)).toEqual(new Uint32Array(want.buffer));
      expect(new Uint32Array(simd.buffer)).toEqual(new Uint32Array(want.buffer));
    }),
    { seed: FC_SEED, numRuns: runs(300) },
  );
});

it("the max-pool gradient routes each output's gradient as tfjs-cpu's MaxPoolGrad does (non-overlapping windows)", async () => {
  const cases: {
    x: Float32Array;
    shape: [number, number, number, number];
    dy: Float32Array;
    attrs: { filterSize: number[]; strides: number[]; pad: Padding };
    got: Float32Array;
  }[] = [];
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 1, max: 8 }),
        w: fc.integer({ min: 1, max: 8 }),
        c: fc.integer({ min: 1, max: 5 }),
        pool: fc.integer({ min: 1, max: 3 }),
        padding: fc.constantFrom<Padding>('valid', 'same'),
        seed: fc.integer(),
      }),
      (c) => {
        const plan = [axisPlan(c.h, c.pool, c.pool, 1, c.padding), axisPlan(c.w, c.pool, c.pool, 1, c.padding)];
        fc.pre(plan[0] !== null && plan[1] !== null);
        // Distinct values (a permutation), so no window has a tie and both sides pick the same position.
        const size = c.n * c.h * c.w * c.c;
        let s = c.seed;
        const order = Array.from({ length: size }, (_, i) => i).sort(
          () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) & 1) - 0.5,
        );
        const shape: [number, number, number, number] = [c.n, c.h, c.w, c.c];
        const x = tf.tensor4d(
          Float32Array.from(order, (v) => v / size - 0.5),
          shape,
        );
        const attrs = { filterSize: [c.pool, c.pool], strides: [c.pool, c.pool], pad: c.padding };
        const y = tf.engine().runKernel('MaxPool', { x }, attrs) as tf.Tensor;
        const dy = tf.randomNormal(y.shape, 0, 1, 'float32', c.seed);
        const got = maxPoolGradient(x, y, dy, {
          size: [c.pool, c.pool],
          strides: [c.pool, c.pool],
          plan: plan as never,
        }).dataSync() as Float32Array;
        cases.push({ x: x.dataSync() as Float32Array, shape, dy: dy.dataSync() as Float32Array, attrs, got });
      },
    ),
    { seed: FC_SEED, numRuns: runs(200) },
  );
  // The reference on tfjs's cpu backend, for every case at once (switching backends is slow).
  await tf.setBackend('cpu');
  try {
    for (const c of cases) {
      const x = tf.tensor4d(c.x, c.shape);
      const y = tf.engine().runKernel('MaxPool', { x }, c.attrs) as tf.Tensor;
      const want = (
        tf
          .engine()
          .runKernel('MaxPoolGrad', { dy: tf.tensor(c.dy, y.shape), input: x, output: y }, c.attrs) as tf.Tensor
      ).dataSync();
      expect(Array.from(c.got), JSON.stringify({ shape: c.shape, attrs: c.attrs })).toEqual(Array.from(want));
    }
  } finally {
    await initBackend();
  }
  expect(cases.length).toBeGreaterThan(50);
});

it('the SIMD max-pool gradient gives the bits of the JavaScript one: any pool, strides, padding, ties', () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 1, max: 8 }),
        w: fc.integer({ min: 1, max: 8 }),
        c: fc.integer({ min: 1, max: 9 }),
        ph: fc.integer({ min: 1, max: 3 }),
        pw: fc.integer({ min: 1, max: 3 }),
        sh: fc.integer({ min: 1, max: 3 }),
        sw: fc.integer({ min: 1, max: 3 }),
        padding: fc.constantFrom<Padding>('valid', 'same'),
        levels: fc.integer({ min: 2, max: 50 }),
        seed: fc.integer(),
      }),
      (c) => {
        const plan = [axisPlan(c.h, c.ph, c.sh, 1, c.padding), axisPlan(c.w, c.pw, c.sw, 1, c.padding)];
        fc.pre(plan[0] !== null && plan[1] !== null);
        let s = c.seed;
        const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
        // Few distinct levels, so windows often hold tied maxima.
        const x = tf.tensor4d(
          Float32Array.from({ length: c.n * c.h * c.w * c.c }, () => Math.floor(rnd() * c.levels) / c.levels),
          [c.n, c.h, c.w, c.c],
        );
        const attrs = { filterSize: [c.ph, c.pw], strides: [c.sh, c.sw], pad: c.padding };
        const y = tf.engine().runKernel('MaxPool', { x }, attrs) as tf.Tensor;
        const dy = tf.tensor(
          Float32Array.from({ length: y.size }, () => rnd() * 4 - 2),
          y.shape,
        );
        const g = {
          size: [c.ph, c.pw] as [number, number],
          strides: [c.sh, c.sw] as [number, number],
          plan: plan as never,
        };
        const simd = maxPoolGradient(x, y, dy, g);
        const host = maxPoolGradientOnHost(x, y, dy, g);
        const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
        expect(bits(simd)).toEqual(bits(host));
        tf.dispose([x, y, dy, simd, host]);
      },
    ),
    { seed: FC_SEED, numRuns: runs(300) },
  );
});
