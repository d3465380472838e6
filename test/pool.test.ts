/**
 * The worker pool: what workers run, equal results for any worker count, faults, aborts, process exit and
 * memory. Workers load dist/, so `npm test` builds first.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Sequential, layers, Matrix, Callback, setRandomSeed, WorkerFailure } from '../src/index.js';
import { setTestHooks } from '../src/testing.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** 10 batches of 32 rows of a small regression problem. */
function data(rows = 320): { x: Matrix; y: Matrix } {
  const x = new Float32Array(rows * 6);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < 6; c++) x[i * 6 + c] = Math.sin(i * 0.37 + c * 1.1);
    y[i] = x[i * 6] - 0.5 * x[i * 6 + 3] + 0.1;
  }
  return { x: new Matrix(x, rows, 6), y: new Matrix(y, rows, 1) };
}

function model(): Sequential {
  setRandomSeed(21);
  const m = new Sequential();
  m.add(layers.Input({ shape: [6] }));
  m.add(layers.Dense({ units: 16, activation: 'tanh' }));
  m.add(layers.Dropout({ rate: 0.25 }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: 'adam', metrics: ['mae'] });
  return m;
}

const bytes = (m: Sequential) =>
  Buffer.concat(m.getWeights().map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));

describe('worker pool', () => {
  it('runs tfjs on the wasm SIMD backend in every worker', async () => {
    const m = model();
    const info = await m.workerInfo(2);
    expect(info).toHaveLength(2);
    for (const w of info) expect(w).toMatchObject({ backend: 'wasm', simd: true, threads: false });
    expect(new Set(info.map((w) => w.threadId)).size).toBe(2);
    await m.dispose();
  });

  it('gives the same weight bytes and history for workers 0, 1, 2 and 3, with a partial batch and validation', async () => {
    const { x, y } = data(330); // 330 * 0.8 = 264 training rows: 8 full batches of 32 and one of 8
    const results = [];
    for (const workers of [0, 1, 2, 3]) {
      const m = model();
      const h = await m.fit(x, y, {
        epochs: 3,
        batchSize: 32,
        microBatchSize: 8,
        validationSplit: 0.2,
        workers,
        verbose: 0,
      });
      results.push({ weights: bytes(m), history: h.history });
      await m.dispose();
    }
    for (const r of results.slice(1)) {
      expect(r.weights.equals(results[0].weights)).toBe(true);
      expect(r.history).toEqual(results[0].history);
    }
  });

  it('reuses its pool across fit calls and evaluate/predict agree with workers: 0', async () => {
    const { x, y } = data();
    const m = model();
    await m.fit(x, y, { epochs: 1, workers: 2, verbose: 0 });
    const [a] = await m.workerInfo(2);
    await m.fit(x, y, { epochs: 1, workers: 2, verbose: 0 });
    const [b] = await m.workerInfo(2);
    expect(b.threadId).toBe(a.threadId);
    const pooled = await m.evaluate(x, y, { workers: 2 });
    const local = await m.evaluate(x, y, { workers: 0 });
    expect(pooled).toEqual(local);
    expect((await m.predict(x, { workers: 2 })).data).toEqual((await m.predict(x, { workers: 0 })).data);
    await m.dispose();
  });

  for (const kind of ['throw', 'exit'] as const) {
    it(`a worker that ${kind === 'throw' ? 'throws' : 'dies'} mid-epoch rejects fit, keeps the last completed step and lets a new fit run`, async () => {
      const { x, y } = data();
      const m = model();
      // Two 16-row shards per batch, so both workers have work (a worker with no shard does not run).
      setTestHooks(m, { fault: { worker: 1, step: 3, kind } });
      const failed = m.fit(x, y, {
        epochs: 1,
        batchSize: 32,
        microBatchSize: 16,
        shuffle: false,
        workers: 2,
        verbose: 0,
      });
      await expect(failed).rejects.toThrow(WorkerFailure);
      await expect(failed).rejects.toThrow(
        kind === 'throw' ? /worker 1 failed at epoch 1, step 4: injected fault/ : /worker 1 failed at epoch 1, step 4/,
      );
      setTestHooks(m, undefined);
      // Steps 0..2 completed: the model must hold exactly the weights of a run that did only those 3 steps.
      expect(m.iterations).toBe(3);
      const reference = model();
      await reference.fit(x.sliceRows(0, 96), y.sliceRows(0, 96), {
        epochs: 1,
        batchSize: 32,
        microBatchSize: 16,
        shuffle: false,
        workers: 0,
        verbose: 0,
      });
      expect(bytes(m).equals(bytes(reference))).toBe(true);
      // The pool was replaced: training goes on.
      const h = await m.fit(x, y, { epochs: 1, workers: 2, verbose: 0 });
      expect(h.history.loss[0]).toBeGreaterThan(0);
      await m.dispose();
    });
  }

  it('an AbortSignal cancels at a step boundary with an AbortError, and the model keeps a consistent state', async () => {
    const { x, y } = data(3200);
    const m = model();
    const controller = new AbortController();
    class AbortAt5 extends Callback {
      onBatchEnd(batch: number) {
        if (batch === 5) controller.abort(new Error('user pressed stop'));
      }
    }
    const p = m.fit(x, y, {
      epochs: 3,
      batchSize: 32,
      microBatchSize: 16,
      workers: 2,
      verbose: 0,
      signal: controller.signal,
      callbacks: [new AbortAt5()],
    });
    await expect(p).rejects.toThrow(/training aborted: user pressed stop/);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    // Step-exact: batch 5's callbacks run before step 6 may start.
    expect(m.iterations).toBe(6);
    expect(m.getWeights().every((w) => w.data.every(Number.isFinite))).toBe(true);
    const h = await m.fit(x, y, { epochs: 1, workers: 2, verbose: 0 });
    expect(h.epoch).toEqual([0]);
    await m.dispose();
  });

  it('a script that trains with a pool and returns exits by itself', async () => {
    const { stdout } = await run(process.execPath, [fixture('exit-after-fit.mjs')], { timeout: 60_000 });
    expect(JSON.parse(stdout).loss).toHaveLength(2);
  });

  it('holds the MNIST dataset once: peak RSS with 2 workers is at most 1.3x that with 1', async () => {
    const rss = async (workers: number) =>
      JSON.parse((await run(process.execPath, [fixture('rss.mjs'), String(workers)], { timeout: 120_000 })).stdout)
        .maxRssKiB as number;
    const one = await rss(1);
    const two = await rss(2);
    console.log(
      `peak RSS: 1 worker ${(one / 1024).toFixed(0)} MiB, 2 workers ${(two / 1024).toFixed(0)} MiB (${(two / one).toFixed(2)}x)`,
    );
    expect(two / one).toBeLessThanOrEqual(1.3);
  });

  it("holds the images once for Keras's MNIST convnet too: peak RSS with 2 workers at most 1.3x that with 1", async () => {
    const rss = async (workers: number) =>
      JSON.parse(
        (await run(process.execPath, [fixture('rss.mjs'), String(workers), 'convnet'], { timeout: 300_000 })).stdout,
      ).maxRssKiB as number;
    const one = await rss(1);
    const two = await rss(2);
    console.log(
      `convnet peak RSS: 1 worker ${(one / 1024).toFixed(0)} MiB, 2 workers ${(two / 1024).toFixed(0)} MiB (${(two / one).toFixed(2)}x)`,
    );
    expect(two / one).toBeLessThanOrEqual(1.3);
  }, 600_000);
});

describe("a fit's head start", () => {
  it('records when the first step of each fit completed, on the epoch that saw it only', async () => {
    const m = model();
    const { x, y } = data();
    for (const workers of [0, 2]) {
      const h = await m.fit(x, y, { epochs: 2, batchSize: 32, workers, verbose: 0 });
      const [first, second] = h.timing;
      expect(first.firstStepSeconds, `workers ${workers}`).toBeGreaterThan(0);
      expect(Number.isFinite(first.firstStepSeconds)).toBe(true);
      expect(second.firstStepSeconds).toBeUndefined();
    }
    await m.dispose();
  });

  it("the workers' 'prepare' task builds and caches the plan's network (packed kernels included) in its thread", async () => {
    const { default: handle } = await import('../workers/engine-worker.js');
    const { networkFor } = await import('../src/engine/step.js');
    const tf = await import('@tensorflow/tfjs-core');
    const plan = {
      inputShape: [6],
      loss: 'mse',
      metrics: [],
      layers: [
        { className: 'Dense', name: 'dense', units: 5, activation: 'relu' },
        { className: 'Dense', name: 'dense_1', units: 1 },
      ],
    };
    const params = new Float32Array(6 * 5 + 5 + 5 + 1).fill(0.25);
    await handle({ kind: 'prepare', plan, params });
    const kept = tf.memory().numTensors;
    // Built once: a second prepare and the epoch's own lookup find it in the cache.
    await handle({ kind: 'prepare', plan, params });
    expect(tf.memory().numTensors).toBe(kept);
    const net = networkFor(plan);
    expect(net.paramCount).toBe(params.length);
    net.loadWeights(params);
    net.releaseWeights();
    expect(tf.memory().numTensors).toBe(kept);
  });
});
