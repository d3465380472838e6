/**
 * Dropout's x * mask and the relu / tanh / sigmoid derivatives run as fused SIMD kernels on tfjs-wasm's
 * memory (ops/elementwise.ts). They must give the bits of the tf ops they replace, for any shape and any
 * float32 bit pattern, leak no tensor, and be in use on the pinned tfjs-wasm build (else every step silently
 * pays the ops' dispatch again).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { columnSums, directElementwise, REFERENCE } from '../src/ops/elementwise.js';
import { getActivation } from '../src/activations.js';
import { FC_SEED } from './helpers/models.js';

beforeAll(async () => {
  await initBackend();
});

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
const KERNELS = Object.keys(REFERENCE) as (keyof typeof REFERENCE)[];

describe('the direct elementwise ops', () => {
  it('are found on the pinned tfjs-wasm build and used by relu, tanh and sigmoid', () => {
    const direct = directElementwise();
    expect(direct).not.toBeNull();
    // The activations' backward passes go through them: one output tensor per call, not two or three.
    const dy = tf.tensor2d([1, -2, 3, 4], [2, 2]);
    const y = tf.tensor2d([0.5, 0, -0.25, 2], [2, 2]);
    for (const name of ['relu', 'tanh', 'sigmoid']) {
      const before = tf.memory().numTensors;
      const g = getActivation(name).backward(dy, y, undefined);
      expect(tf.memory().numTensors, name).toBe(before + 1);
      g.dispose();
    }
    tf.dispose([dy, y]);
  });

  it('give the bits of the tf ops for any shape and bit pattern (NaNs, infinities, subnormals, -0), and leak nothing', () => {
    const direct = directElementwise()!;
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 9 }),
      cols: fc.integer({ min: 1, max: 13 }),
      kernel: fc.constantFrom(...KERNELS),
      seed: fc.nat(),
      // How the values are drawn: raw bit patterns, or ordinary floats near the activations' ranges.
      raw: fc.boolean(),
    });
    const before = tf.memory().numTensors;
    fc.assert(
      fc.property(arb, ({ rows, cols, kernel, seed, raw }) => {
        let s = seed | 1;
        const word = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
        const values = () =>
          raw
            ? new Float32Array(Uint32Array.from({ length: rows * cols }, word).buffer)
            : Float32Array.from({ length: rows * cols }, () => (word() / 2 ** 32) * 4 - 2);
        tf.tidy(() => {
          const a = tf.tensor2d(values(), [rows, cols]);
          const b = tf.tensor2d(values(), [rows, cols]);
          expect(bits(direct[kernel](a, b))).toEqual(bits(REFERENCE[kernel](a, b)));
        });
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the column-sums kernel gives the bits of the float64 reference for any shape and row range', () => {
    const direct = directElementwise()!;
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 70 }),
      cols: fc.integer({ min: 1, max: 19 }),
      seed: fc.nat(),
      raw: fc.boolean(),
    });
    const before = tf.memory().numTensors;
    fc.assert(
      fc.property(arb, ({ rows, cols, seed, raw }) => {
        let s = seed | 1;
        const word = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
        // Raw patterns with NaNs swapped for 1: a NaN sum's payload is not defined across JavaScript and wasm.
        const values = Float32Array.from(
          raw
            ? new Float32Array(Uint32Array.from({ length: rows * cols }, word).buffer).map((v) =>
                Number.isNaN(v) ? 1 : v,
              )
            : Array.from({ length: rows * cols }, () => (word() / 2 ** 32) * 2 - 1),
        );
        const start = word() % rows;
        const n = 1 + (word() % (rows - start));
        tf.tidy(() => {
          const a = tf.tensor2d(values, [rows, cols]);
          expect(Array.from(new Uint32Array(direct.columnSums(a, start, n).buffer))).toEqual(
            Array.from(new Uint32Array(columnSums(values, start, n, cols).buffer)),
          );
        });
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuse operands of different shapes, naming both', () => {
    const direct = directElementwise()!;
    tf.tidy(() => {
      expect(() => direct.mul(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([3, 2]) as tf.Tensor2D)).toThrow(
        /mul needs two float32 tensors of one shape, got \[2,3\] and \[3,2\]/,
      );
    });
  });
});
