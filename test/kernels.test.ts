/**
 * The SIMD kernels (src/kernels/optimizer.wat) against the JavaScript loops they replace: same bits, for any
 * length, any [start, end) (so the four-lane body and the scalar tail both run, at any alignment), and
 * values across float32's range, including subnormals, zeros of both signs, infinities.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { SimdKernels, dropoutMasks } from '../src/kernels/index.js';
import { fillDropoutMask, foldIn, seedKey } from '../src/rng.js';
import { Adam, AdamW, RMSprop, SGD, type Optimizer } from '../src/optimizers.js';
import { allocModelBuffers, scratchF32 } from '../src/engine/layout.js';
import { FC_SEED } from './helpers/models.js';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.slice().buffer));
const anyFloat = fc.float({ noNaN: true });
const small = fc.float({ min: -10, max: 10, noNaN: true });

/** Arrays of n floats, a range inside them, an update number and a learning rate. */
const caseArb = fc.integer({ min: 1, max: 70 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    range: fc
      .tuple(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: n }))
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
    p: fc.array(anyFloat, { minLength: n, maxLength: n }),
    g: fc.array(small, { minLength: n, maxLength: n }),
    s: fc.array(fc.array(fc.float({ min: 0, max: 100, noNaN: true }), { minLength: n, maxLength: n }), {
      minLength: 2,
      maxLength: 2,
    }),
    step: fc.integer({ min: 1, max: 5000 }),
    lr: fc.constantFrom(1e-4, 1e-3, 0.01, 0.3),
  }),
);

const OPTIMIZERS: [string, () => Optimizer][] = [
  ['SGD', () => new SGD()],
  ['RMSprop', () => new RMSprop()],
  ['RMSprop rho 0.5, epsilon 1e-3', () => new RMSprop({ rho: 0.5, epsilon: 1e-3 })],
  ['Adam', () => new Adam()],
  ['Adam beta1 0.5, beta2 0.9', () => new Adam({ beta1: 0.5, beta2: 0.9 })],
  ['AdamW weight decay 0.1', () => new AdamW({ weightDecay: 0.1 })],
];

describe.each(OPTIMIZERS)('%s kernel', (_name, make) => {
  it('gives the bits of the JavaScript loop', () => {
    fc.assert(
      fc.property(caseArb, ({ n, range: [lo, hi], p, g, s, step, lr }) => {
        const opt = make();
        const k = opt.stateNames.length;
        // The kernel side: everything in one shared memory, as the engine lays it out.
        const buf = allocModelBuffers(n, k);
        const grads = scratchF32(buf, n);
        const kernels = new SimdKernels(buf.memory);
        buf.params[0].set(p);
        grads.set(g);
        buf.state[0].forEach((a, j) => a.set(s[j]));
        // Outside [lo, hi) the outputs must stay as they were: fill them with a marker.
        buf.params[1].fill(7);
        buf.state[1].forEach((a) => a.fill(7));
        const js = { p: new Float32Array(n).fill(7), s: Array.from({ length: k }, () => new Float32Array(n).fill(7)) };
        const common = { start: lo, end: hi, step, learningRate: lr };
        opt.update({
          ...common,
          params: buf.params[0],
          grads,
          state: buf.state[0],
          paramsOut: buf.params[1],
          stateOut: buf.state[1],
          kernels,
        });
        opt.update({
          ...common,
          params: Float32Array.from(p),
          grads: Float32Array.from(g),
          state: s.slice(0, k).map((a) => Float32Array.from(a)),
          paramsOut: js.p,
          stateOut: js.s,
        });
        expect(bits(buf.params[1])).toEqual(bits(js.p));
        buf.state[1].forEach((a, j) => expect(bits(a)).toEqual(bits(js.s[j])));
      }),
      { seed: FC_SEED, numRuns: 150 },
    );
  });
});

describe('flush-to-zero of optimizer state', () => {
  it('stores decaying subnormal state as +0 in the kernels and the loops alike, and keeps NaN', () => {
    const n = 7; // four lanes and a scalar tail
    const v0 = [1e-39, 2e-38, -0, 1e-30, 5e-45, NaN, 1.5e-38];
    for (const make of [() => new RMSprop(), () => new Adam()]) {
      const opt = make();
      const buf = allocModelBuffers(n, 2);
      const grads = scratchF32(buf, n);
      buf.params[0].fill(0.5);
      buf.state[0].forEach((a) => a.set(v0));
      opt.update({
        params: buf.params[0],
        grads,
        state: buf.state[0],
        paramsOut: buf.params[1],
        stateOut: buf.state[1],
        start: 0,
        end: n,
        step: 3,
        learningRate: 0.01,
        kernels: new SimdKernels(buf.memory),
      });
      const js = Array.from({ length: 2 }, () => new Float32Array(n));
      opt.update({
        params: new Float32Array(n).fill(0.5),
        grads: new Float32Array(n),
        state: [Float32Array.from(v0), Float32Array.from(v0)],
        paramsOut: new Float32Array(n),
        stateOut: js,
        start: 0,
        end: n,
        step: 3,
        learningRate: 0.01,
      });
      buf.state[1].slice(0, opt.stateNames.length).forEach((a, j) => {
        expect(bits(a)).toEqual(bits(js[j]));
        for (const x of a) expect(Number.isNaN(x) || x === 0 || Math.abs(x) >= 2 ** -126).toBe(true);
        expect(Number.isNaN(a[5])).toBe(true);
      });
    }
  });
});

describe('sumSlots kernel', () => {
  it('adds the slots left to right in float32, from slot `first` round to first - 1', () => {
    const arb = fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        slots: fc
          .integer({ min: 1, max: 9 })
          .chain((m) => fc.array(fc.array(anyFloat, { minLength: n, maxLength: n }), { minLength: m, maxLength: m })),
        firstSeed: fc.nat(),
        range: fc
          .tuple(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: n }))
          .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
      }),
    );
    fc.assert(
      fc.property(arb, ({ n, slots, firstSeed, range: [lo, hi] }) => {
        const m = slots.length;
        const first = firstSeed % m;
        const stride = n + 3; // not a multiple of 4: loads at every alignment
        const buf = allocModelBuffers(1, 0);
        const scratch = scratchF32(buf, m * stride + n);
        slots.forEach((sl, j) => scratch.set(sl, j * stride));
        const out = scratch.subarray(m * stride).fill(7);
        new SimdKernels(buf.memory).sumSlots(out, scratch, stride, m, first, lo, hi);
        const want = new Float32Array(n).fill(7);
        for (let i = lo; i < hi; i++) {
          let acc = slots[first][i];
          for (let k = 1; k < m; k++) acc = Math.fround(acc + slots[(first + k) % m][i]);
          want[i] = acc;
        }
        expect(bits(out)).toEqual(bits(want));
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });
});

describe('dropout kernel', () => {
  it('gives the bits of fillDropoutMask for every row, whatever the width and rate', () => {
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 12 }),
      cols: fc.integer({ min: 1, max: 70 }),
      rate: fc.oneof(fc.constantFrom(0.1, 0.2, 0.3, 0.5, 0.9), fc.double({ min: 0, max: 0.999, noNaN: true })),
      seed: fc.nat(),
      first: fc.nat({ max: 2 ** 31 }),
    });
    fc.assert(
      fc.property(arb, ({ rows, cols, rate, seed, first }) => {
        const base = seedKey(seed);
        const keys = new Int32Array(2 * rows);
        const want = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          const k = foldIn(base, first + r);
          keys.set(k, 2 * r);
          fillDropoutMask(k, want, r * cols, cols, rate);
        }
        expect(bits(dropoutMasks(keys, rows, cols, rate))).toEqual(bits(want));
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });
});

describe('kernel build', () => {
  it('the committed src/kernels/*-wasm.ts are up to date with their .wat sources', () => {
    // Throws (exit 1, with the file named) when someone edits the .wat without running npm run build:wasm.
    execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { stdio: 'pipe' });
  });
});
