/**
 * PackedKernel writes each step's weights into XNNPACK's packed buffer instead of letting tfjs repack them.
 * Its matmuls must equal, bit for bit, tfjs's own on fresh tensors, step after step; and on the pinned
 * tfjs-wasm build it must actually find the buffer (else every step silently pays the repack again).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { PackedKernel, packKernel, packedSize, type FusedActivation } from '../src/ops/packed-kernel.js';
import { directMatMul } from '../src/ops/wasm-matmul.js';
import { packerFor } from '../src/kernels/index.js';
import { FC_SEED } from './helpers/models.js';

beforeAll(async () => {
  await initBackend();
});

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('PackedKernel', () => {
  it('finds the packed buffer on the pinned tfjs-wasm build, for full and partial column blocks', () => {
    for (const [fanIn, units] of [
      [784, 128],
      [128, 64],
      [64, 10],
      [19, 1],
      [3, 17],
    ]) {
      for (const fromTransposed of [false, true]) {
        const pk = new PackedKernel(fanIn, units, !fromTransposed, fromTransposed ? 'linear' : 'relu', fromTransposed);
        const what = `${fanIn}x${units}${fromTransposed ? ' from transposed' : ''}`;
        expect(pk.prepacked, what).toBe(true);
        // The fast paths are really taken: the SIMD packer (kernel^T too, after the SIMD transpose) and the
        // direct wasm matmul.
        expect(pk.simdPacked, what).toBe(true);
        expect(pk.directCalls, what).toBe(true);
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
              tf.fused
                .matMul({
                  a: x,
                  // fromTransposed: k holds the operand transposed, as the backward pass's kernel^T comes from the
                  // kernel.
                  b: fromTransposed ? tf.transpose(tf.tensor2d(k, [units, fanIn])) : tf.tensor2d(k, [fanIn, units]),
                  bias: b ? tf.tensor1d(b) : undefined,
                  activation,
                })
                .dataSync(),
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

  it('the SIMD packer writes the bits of packKernel, NaN payloads included, for any shape and bias', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const packer = packerFor(memory);
    const heap = new Float32Array(memory.buffer);
    const arb = fc.record({
      fanIn: fc.integer({ min: 1, max: 30 }),
      units: fc.integer({ min: 1, max: 30 }),
      useBias: fc.boolean(),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(arb, ({ fanIn, units, useBias, seed }) => {
        let s = seed | 1;
        const word = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
        // Raw bit patterns: NaNs with payloads, infinities, subnormals, both zeros, at random. NaNs are made
        // quiet: JavaScript's float copies in packKernel quiet a signaling NaN (the packer keeps it, below).
        const quiet = (w: number) => ((w & 0x7f800000) === 0x7f800000 && w & 0x7fffff ? (w | 0x400000) >>> 0 : w);
        const raw = (n: number) => new Float32Array(Uint32Array.from({ length: n }, () => quiet(word())).buffer);
        const k = raw(fanIn * units);
        const b = useBias ? raw(units) : undefined;
        const size = packedSize(fanIn, units);
        const expected = new Float32Array(size);
        packKernel(k, b, fanIn, units, expected, 0);
        // kernel at 0, bias after it, output after that at an odd float offset (unaligned), prefilled with junk.
        const biasAt = k.length;
        const outAt = biasAt + units + 3;
        heap.set(k, 0);
        if (b) heap.set(b, biasAt);
        heap.fill(7, outAt, outAt + size + 8);
        packer.pack(0, b ? biasAt * 4 : 0, fanIn, units, outAt * 4);
        const got = new Uint32Array(memory.buffer, outAt * 4, size + 8);
        expect(Array.from(got.subarray(0, size))).toEqual(Array.from(new Uint32Array(expected.buffer)));
        // Nothing written past the packed block.
        expect(Array.from(got.subarray(size))).toEqual(Array.from(new Uint32Array(new Float32Array(8).fill(7).buffer)));
      }),
      { seed: FC_SEED, numRuns: 100 },
    );
    // A signaling NaN goes through as it is: the packer moves bits, not floats.
    const sNaN = 0x7fa00001;
    new Uint32Array(memory.buffer).set([sNaN, 0, 0, 0, 0, 0, 0, 0, 0], 0);
    packer.pack(0, 0, 1, 8, 64);
    expect(new Uint32Array(memory.buffer, 64, 16)[8]).toBe(sNaN);
  });

  it('the direct wasm matmul and transpose calls are found on the pinned build and leave no tensor behind', () => {
    const direct = directMatMul();
    expect(direct).not.toBeNull();
    const before = tf.memory().numTensors;
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
    const out = direct!.matMul(a, b);
    expect(out.shape).toEqual([2, 2]);
    expect(Array.from(out.dataSync())).toEqual([4, 5, 10, 11]);
    const relu = direct!.fused(a, tf.neg(b) as tf.Tensor2D, tf.tensor1d([5, 0]), 'relu');
    expect(Array.from(relu.dataSync())).toEqual([1, 0, 0, 0]);
    const t = direct!.transpose(a);
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    tf.dispose([a, b, out, relu, t]);
    tf.disposeVariables();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2);
  });
});

describe("PackedOperands (the weight gradients' dz, kept packed)", () => {
  it('left @ rows [start, start + rows) of an operand equals tf.matMul on the slice, bit for bit, for any part; and keeps at most 4 operators', async () => {
    const { PackedOperands } = await import('../src/ops/packed-operands.js');
    const { transposeRows } = await import('../src/ops/wasm-matmul.js');
    const cols = 13;
    const ops = new PackedOperands(cols);
    let s = 5;
    const rand = (n: number) =>
      Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
    const base = tf.memory().numTensors;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        (rows, start, m) => {
          tf.tidy(() => {
            const operand = tf.tensor2d(rand((start + rows + 2) * cols), [start + rows + 2, cols]);
            const x = tf.tensor2d(rand((start + rows + 2) * m), [start + rows + 2, m]);
            const left = transposeRows(x, start, rows);
            const want = tf.matMul(
              tf.transpose(tf.slice(x, [start, 0], [rows, m])),
              tf.slice(operand, [start, 0], [rows, cols]),
            );
            expect(Array.from(left.dataSync())).toEqual(
              Array.from(tf.transpose(tf.slice(x, [start, 0], [rows, m])).dataSync()),
            );
            expect(bits(ops.times(left, operand, start, rows).dataSync())).toEqual(bits(want.dataSync()));
          });
        },
      ),
      { seed: FC_SEED, numRuns: 60 },
    );
    // One kept kernel tensor per operator, at most 4 of them, whatever the part sizes seen.
    expect(tf.memory().numTensors - base).toBeLessThanOrEqual(4);
    ops.dispose();
    expect(tf.memory().numTensors).toBe(base);
  });
});
