/**
 * Each step gathers its rows straight into tfjs-wasm's memory and transposes them there with a SIMD kernel
 * (ops/row-stage.ts, kernels/transpose.wat). The kernel must move the bits of the JavaScript reference
 * (transposeRows); the stage must be found on the pinned build and free what it holds; and a training step
 * through it must give, bit for bit, the weights of Network.gradients on host rows followed by the update.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { HeapStage } from '../src/ops/row-stage.js';
import { transposeRows } from '../src/engine/step.js';
import { Network } from '../src/engine/network.js';
import { transposerFor } from '../src/kernels/index.js';
import { keyFor, Purpose, seedKey } from '../src/rng.js';
import { Sequential, layers } from '../src/index.js';
import { FC_SEED } from './helpers/models.js';

beforeAll(async () => {
  await initBackend();
});

describe('the SIMD transpose kernel', () => {
  it('writes the bits of transposeRows for any shape and row offset, NaN payloads included, and nothing else', () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const kernel = transposerFor(memory);
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 21 }),
      cols: fc.integer({ min: 1, max: 41 }),
      at: fc.integer({ min: 0, max: 5 }),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(arb, ({ rows, cols, at, seed }) => {
        let s = seed | 1;
        const word = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
        // Raw bit patterns (NaNs with payloads, infinities, subnormals), quieted for the JavaScript
        // reference, whose float copies would quiet a signaling NaN (the kernel keeps it, below).
        const quiet = (w: number) => ((w & 0x7f800000) === 0x7f800000 && w & 0x7fffff ? (w | 0x400000) >>> 0 : w);
        const total = at + rows;
        const x = new Float32Array(Uint32Array.from({ length: total * cols }, () => quiet(word())).buffer);
        const expected = transposeRows(x, at, rows, cols, new Float32Array(rows * cols));
        // Source at float 1 (unaligned), output after it at an odd offset, prefilled with a marker.
        const outAt = 1 + x.length + 3;
        const heap = new Uint32Array(memory.buffer);
        heap.set(new Uint32Array(x.buffer), 1);
        heap.fill(0xdeadbeef, 0, 1);
        heap.fill(0xdeadbeef, outAt - 3, outAt);
        heap.fill(0xdeadbeef, outAt, outAt + rows * cols + 8);
        kernel.transpose((1 + at * cols) * 4, rows, cols, outAt * 4);
        const got = heap.subarray(outAt, outAt + rows * cols + 8);
        expect(Array.from(got.subarray(0, rows * cols))).toEqual(Array.from(new Uint32Array(expected.buffer)));
        // Nothing written past the output, nor before it.
        expect(Array.from(got.subarray(rows * cols))).toEqual(new Array(8).fill(0xdeadbeef));
        expect(Array.from(heap.subarray(outAt - 3, outAt))).toEqual(new Array(3).fill(0xdeadbeef));
      }),
      { seed: FC_SEED, numRuns: 150 },
    );
    // A signaling NaN goes through as it is: the kernel moves bits, not floats (full blocks and edges).
    const sNaN = 0x7fa00001;
    for (const [rows, cols] of [
      [4, 4],
      [5, 3],
    ]) {
      const heap = new Uint32Array(memory.buffer);
      heap.fill(sNaN, 0, rows * cols);
      kernel.transpose(0, rows, cols, 256);
      expect(Array.from(heap.subarray(64, 64 + rows * cols))).toEqual(new Array(rows * cols).fill(sNaN));
    }
  });
});

describe('HeapStage', () => {
  it('is found on the pinned tfjs-wasm build, keeps its tensors across calls and frees them on dispose', () => {
    const before = tf.memory().numTensors;
    const stage = HeapStage.create();
    expect(stage).not.toBeNull();
    const x = stage!.tensor('x', 6, 5);
    expect(stage!.tensor('x', 6, 5)).toBe(x);
    stage!.view(x).set(Float32Array.from({ length: 30 }, (_, i) => i));
    const xT = stage!.tensor('xT', 5, 4);
    // Rows 2..5 of x, transposed: the same values as tfjs's own slice and transpose.
    stage!.transposeRows(x, 2, 4, xT);
    const want = tf.tidy(() => tf.transpose(tf.slice(x, [2, 0], [4, 5])).dataSync());
    expect(Array.from(xT.dataSync())).toEqual(Array.from(want));
    expect(() => stage!.transposeRows(x, 3, 4, xT)).toThrow(/cannot transpose rows \[3, 7\)/);
    expect(tf.memory().numTensors).toBe(before + 2);
    stage!.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('a training step through the stage', () => {
  // 50 rows of 13 features: odd shapes, so the transpose's edges and the second part's row offset are used.
  const rows = 50;
  const features = 13;
  let s = 99;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const x = Float32Array.from({ length: rows * features }, () => rand() * 2 - 1);
  const labels = Int32Array.from({ length: rows }, () => Math.floor(rand() * 3));

  function model(): Sequential {
    const m = new Sequential({ seed: 5 });
    m.add(layers.Input({ shape: [features] }));
    m.add(layers.Dense({ units: 7, activation: 'relu' }));
    m.add(layers.Dropout({ rate: 0.25 }));
    m.add(layers.Dense({ units: 3, activation: 'softmax' }));
    m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: { className: 'SGD', learningRate: 0.5 } });
    return m;
  }

  /** One SGD step by hand: Network.gradients per micro-shard on host rows, slots summed in order, then p - lr * g. */
  function expectedStep(m: Sequential, shardRows: number, seed: number): Float32Array {
    const { plan } = m.requireCompiled('test');
    const net = new Network(plan);
    const params = m.currentParams().slice();
    const keys = net.layers.map((l, i) =>
      l.className === 'Dropout' ? keyFor(seedKey(seed), Purpose.Dropout, 0, i) : undefined,
    );
    const sum = new Float32Array(net.paramCount);
    net.loadWeights(params);
    for (let start = 0; start < rows; start += shardRows) {
      const n = Math.min(shardRows, rows - start);
      const xs = x.slice(start * features, (start + n) * features);
      const shard = {
        rows: n,
        x: xs,
        xT: transposeRows(xs, 0, n, features, new Float32Array(n * features)),
        y: Float32Array.from(labels.subarray(start, start + n)),
        sampleIndices: Int32Array.from({ length: n }, (_, i) => start + i),
      };
      const g = new Float32Array(net.paramCount);
      net.gradients(shard, keys, 1 / rows, g);
      for (let i = 0; i < g.length; i++) sum[i] = Math.fround(sum[i] + g[i]);
    }
    net.dispose();
    return params.map((p, i) => Math.fround(p - Math.fround(sum[i] * 0.5)));
  }

  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.slice().buffer));

  for (const [workers, shardRows] of [
    [0, 50],
    [0, 25],
    [2, 25],
  ]) {
    it(`equals Network.gradients on host rows plus the update (workers ${workers}, micro-shards of ${shardRows} rows)`, async () => {
      const m = model();
      const want = expectedStep(m, shardRows, 11);
      await m.fit({ data: x, shape: [rows, features] }, labels, {
        epochs: 1,
        batchSize: rows,
        shuffle: false,
        seed: 11,
        microBatchSize: shardRows,
        workers,
        verbose: 0,
      });
      expect(bits(m.currentParams())).toEqual(bits(want));
      await m.dispose();
    });
  }
});
