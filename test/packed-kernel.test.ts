/**
 * PackedKernel writes each step's weights into XNNPACK's packed buffer instead of letting tfjs repack them.
 * Its matmuls must equal, bit for bit, tfjs's own on fresh tensors, step after step; and on the pinned
 * tfjs-wasm build it must actually find the buffer (else every step silently pays the repack again).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { PackedKernel, type FusedActivation } from '../src/engine/packed-kernel.js';
import { FC_SEED } from './helpers/models.js';

beforeAll(async () => {
  await initBackend();
});

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('PackedKernel', () => {
  it('finds the packed buffer on the pinned tfjs-wasm build, for full and partial column blocks', () => {
    for (const [fanIn, units] of [[784, 128], [128, 64], [64, 10], [19, 1], [3, 17]]) {
      for (const fromTransposed of [false, true]) {
        const pk = new PackedKernel(fanIn, units, !fromTransposed, fromTransposed ? 'linear' : 'relu', fromTransposed);
        expect(pk.prepacked, `${fanIn}x${units}${fromTransposed ? ' from transposed' : ''}`).toBe(true);
        pk.dispose();
      }
    }
  });

  it('gives the bits of a matmul on fresh tensors after each of several writes, and leaks no tensor', () => {
    const acts: FusedActivation[] = ['linear', 'relu', 'sigmoid', 'elu'];
    const arb = fc.record({
      fanIn: fc.integer({ min: 1, max: 40 }),
      units: fc.integer({ min: 1, max: 40 }),
      rows: fc.integer({ min: 1, max: 9 }),
      useBias: fc.boolean(),
      activation: fc.constantFrom(...acts),
      fromTransposed: fc.boolean(),
      seed: fc.nat(),
    });
    const before = tf.memory().numTensors;
    fc.assert(
      fc.property(arb, ({ fanIn, units, rows, useBias, activation, fromTransposed, seed }) => {
        let s = seed | 1;
        const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
        const pk = new PackedKernel(fanIn, units, useBias, activation, fromTransposed);
        try {
          for (let step = 0; step < 3; step++) {
            const k = Float32Array.from({ length: fanIn * units }, rand);
            const b = useBias ? Float32Array.from({ length: units }, rand) : undefined;
            const x = tf.tensor2d(Float32Array.from({ length: rows * fanIn }, rand), [rows, fanIn]);
            pk.write(k, b);
            const ours = tf.tidy(() => pk.matMul(x).dataSync());
            const ref = tf.tidy(() =>
              tf.fused.matMul({
                a: x,
                // fromTransposed: k holds the operand transposed, as the backward pass's kernel^T comes from the kernel.
                b: fromTransposed ? tf.transpose(tf.tensor2d(k, [units, fanIn])) : tf.tensor2d(k, [fanIn, units]),
                bias: b ? tf.tensor1d(b) : undefined,
                activation,
              }).dataSync(),
            );
            x.dispose();
            expect(bits(ours)).toEqual(bits(ref));
          }
        } finally {
          pk.dispose();
        }
      }),
      { seed: FC_SEED, numRuns: 60 },
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
