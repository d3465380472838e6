/**
 * tanh runs as a SIMD port of musl's tanhf (kernels/tanh.wat) where tfjs-wasm's Tanh calls tanhf one value at a
 * time. It must give tf.tanh's bits for every float32: here every branch's edges, a stride through all 2^32
 * bit patterns (with a jitter, so the low bits vary), and fast-check's random shapes; NaN gives NaN.
 * (While it was written, the port was also run against tf.tanh on 67 million patterns, a stride of 64
 * through all of them: none differed.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { directElementwise } from '../src/ops/elementwise.js';
import { getActivation } from '../src/activations.js';
import { FC_SEED } from './helpers/models.js';

beforeAll(async () => {
  await initBackend();
});

/** Indices where a and b differ in bits (NaN against NaN counts as equal). */
function differing(a: Float32Array, b: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length && out.length < 5; i++)
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) out.push(i);
  return out;
}

function compare(values: Float32Array, shape: number[]): void {
  const x = tf.tensor(values, shape);
  const before = tf.memory().numTensors;
  const got = directElementwise()!.tanh(x);
  expect(tf.memory().numTensors).toBe(before + 1);
  const want = tf.tanh(x);
  const bad = differing(got.dataSync() as Float32Array, want.dataSync() as Float32Array);
  expect(bad.map((i) => `tanh(${values[i]}) = ${got.dataSync()[i]}, tf.tanh: ${want.dataSync()[i]}`)).toEqual([]);
  tf.dispose([x, got, want]);
}

describe('tanh (musl tanhf, four lanes at a time)', () => {
  it('is in use, for the tanh activation too', () => {
    expect(directElementwise()).not.toBeNull();
    const z = tf.tensor2d([0.3, -2], [1, 2]);
    const before = tf.memory().numTensors;
    const y = getActivation('tanh').forward(z);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual(Array.from(tf.tanh(z).dataSync()));
    tf.dispose([z, y]);
  });

  it("gives tf.tanh's bits at every branch edge of tanhf and expm1f, both signs", () => {
    // |x| thresholds of tanhf (0x00800000, 0x3e82c578, 0x3f0c9f54, 0x41200000) and of expm1f on 2|x|
    // (2^-25, ln2/2, 1.5 ln2, 27 ln2; k = 23), each with its neighbours.
    const edges = [
      0x00800000,
      0x3e82c578,
      0x3f0c9f54,
      0x41200000,
      0x33000000 - (1 << 23),
      0x3eb17218 - (1 << 23),
      0x3f851592 - (1 << 23),
      0x4195b844 - (1 << 23),
      0x4185_0000,
      0x7f800000,
      0x7f7fffff,
      0,
    ];
    const u = new Uint32Array(edges.length * 2 * 7 + 4);
    let n = 0;
    for (const e of edges)
      for (let d = -3; d <= 3; d++) for (const sign of [0, 0x80000000]) u[n++] = ((e + d) | sign) >>> 0;
    u.set([0x7fc00000, 0xffc00001, 0x7f800001, 0x1], n);
    compare(new Float32Array(u.buffer), [u.length]);
  });

  it("gives tf.tanh's bits on a jittered stride through all 2^32 patterns", () => {
    const n = 1 << 20;
    const u = new Uint32Array(n);
    for (let i = 0; i < n; i++) u[i] = (i * 4096 + ((i * 2654435761) >>> 20)) >>> 0;
    compare(new Float32Array(u.buffer), [1024, 1024]);
  });

  it("gives tf.tanh's bits for random shapes and values (the tail of n % 4 values included)", () => {
    const arb = fc.record({
      dims: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
      scale: fc.constantFrom(1e-6, 0.1, 1, 5, 30),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(arb, ({ dims, scale, seed }) => {
        let s = seed >>> 0;
        const size = dims.reduce((a, b) => a * b, 1);
        const v = Float32Array.from(
          { length: size },
          () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * scale,
        );
        compare(v, dims);
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });
});
