/**
 * Step-exact batch control and the model's safety while it trains: batch callbacks, aborts and learning
 * rates take effect at Keras's step with the same bits for any worker count; a throwing callback, an abort
 * or dispose() leaves no worker running and one completed step's state; nothing mutates a training model.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sequential, layers, Matrix, Callback, setRandomSeed, loadModel } from '../src/index.js';
import { setTestHooks } from '../src/testing.js';

/** A small regression problem; 480 rows = 10 batches of 48, each cut into 3 micro-shards of 16. */
function data(rows = 480, seed = 0): { x: Matrix; y: Matrix } {
  const x = new Float32Array(rows * 6);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < 6; c++) x[i * 6 + c] = Math.sin(i * 0.37 + c * 1.1 + seed);
    y[i] = x[i * 6] - 0.5 * x[i * 6 + 3] + 0.1;
  }
  return { x: new Matrix(x, rows, 6), y: new Matrix(y, rows, 1) };
}

function model(optimizer = 'adam'): Sequential {
  setRandomSeed(21);
  const m = new Sequential();
  m.add(layers.Input({ shape: [6] }));
  m.add(layers.Dense({ units: 16, activation: 'tanh' }));
  m.add(layers.Dropout({ rate: 0.25 }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer, metrics: ['mae'] });
  return m;
}

const SHARDS = { batchSize: 48, microBatchSize: 16, verbose: 0 as const };
/** Weights and optimizer state, as bytes. */
const state = (m: Sequential) =>
  Buffer.concat(
    [...m.getWeights().map((w) => w.data), ...m.currentOptimizerState()].map((a) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    ),
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `hook` at onBatchEnd(batch) of the given epoch. */
class AtBatch extends Callback {
  constructor(
    private readonly epoch: number,
    private readonly batch: number,
    private readonly hook: (cb: AtBatch) => void,
    private readonly when: 'begin' | 'end' = 'end',
  ) {
    super();
  }
  #epoch = 0;
  override onEpochBegin(epoch: number) {
    this.#epoch = epoch;
  }
  override onBatchBegin(batch: number) {
    if (this.when === 'begin' && this.#epoch === this.epoch && batch === this.batch) this.hook(this);
  }
  override onBatchEnd(batch: number) {
    if (this.when === 'end' && this.#epoch === this.epoch && batch === this.batch) this.hook(this);
  }
}

describe('input data is read when the call is made', () => {
  for (const workers of [0, 2]) {
    it(`fit, evaluate and predict see a refilled Float32Array (workers: ${workers})`, async () => {
      const a = data(480, 0);
      const b = data(480, 1);
      const buf = a.x.data.slice();
      const x = { data: buf, shape: [480, 6] as [number, number] };
      const first = model();
      await first.fit(x, a.y, { ...SHARDS, epochs: 1, workers });
      const before = await first.predict(x, { workers });
      buf.set(b.x.data); // the data loader refills the same buffer
      const m = model();
      await m.fit(x, b.y, { ...SHARDS, epochs: 1, workers });
      const fresh = model();
      await fresh.fit({ data: b.x.data.slice(), shape: [480, 6] }, b.y, { ...SHARDS, epochs: 1, workers });
      expect(state(m).equals(state(fresh))).toBe(true);
      expect((await first.predict(x, { workers })).data).toEqual(
        (await first.predict({ data: b.x.data.slice(), shape: [480, 6] }, { workers })).data,
      );
      expect((await first.predict(x, { workers })).data).not.toEqual(before.data);
      expect(await first.evaluate(x, b.y, { workers })).toEqual(
        await first.evaluate(new Matrix(b.x.data.slice(), 480, 6), b.y, { workers }),
      );
      for (const n of [first, m, fresh]) await n.dispose();
    });
  }
});

describe('batch-level control is step-exact and the same for any worker count', () => {
  it('stopTraining set in onBatchEnd(3) of epoch 1 stops right after that batch, same bits for workers 0-3', async () => {
    const { x, y } = data();
    const results: Buffer[] = [];
    for (const workers of [0, 1, 2, 3]) {
      const m = model();
      await m.fit(x, y, {
        ...SHARDS,
        epochs: 3,
        workers,
        callbacks: [new AtBatch(1, 3, (cb) => (cb.model.stopTraining = true))],
      });
      expect(m.iterations).toBe(10 + 4);
      results.push(state(m));
      await m.dispose();
    }
    for (const r of results.slice(1)) expect(r.equals(results[0])).toBe(true);
  });

  it('an abort from onBatchEnd(5) keeps exactly 6 steps, same bits for workers 0-3', async () => {
    const { x, y } = data();
    const results: Buffer[] = [];
    for (const workers of [0, 1, 2, 3]) {
      const m = model();
      const controller = new AbortController();
      const p = m.fit(x, y, {
        ...SHARDS,
        epochs: 3,
        workers,
        signal: controller.signal,
        callbacks: [new AtBatch(0, 5, () => controller.abort())],
      });
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
      expect(m.iterations).toBe(6);
      results.push(state(m));
      await m.dispose();
    }
    for (const r of results.slice(1)) expect(r.equals(results[0])).toBe(true);
  });

  it('a learning rate set in onBatchBegin(4) applies from step 4, same bits for workers 0-3', async () => {
    const { x, y } = data();
    // SGD with a rate of 1e-30 leaves every weight where it is: the weights must be those after step 3.
    const stopped = model('sgd');
    await stopped.fit(x, y, {
      ...SHARDS,
      epochs: 1,
      workers: 0,
      callbacks: [new AtBatch(0, 3, (cb) => (cb.model.stopTraining = true))],
    });
    const results: Buffer[] = [];
    for (const workers of [0, 1, 2, 3]) {
      const m = model('sgd');
      await m.fit(x, y, {
        ...SHARDS,
        epochs: 1,
        workers,
        callbacks: [new AtBatch(0, 4, (cb) => (cb.model.learningRate = 1e-30), 'begin')],
      });
      expect(m.iterations).toBe(10);
      results.push(state(m));
      expect(m.getWeights()).toEqual(stopped.getWeights());
      await m.dispose();
    }
    for (const r of results.slice(1)) expect(r.equals(results[0])).toBe(true);
  });

  it('onBatchEnd sees model.iterations of the batch it reports (Keras order: begin(b), step b, end(b))', async () => {
    const { x, y } = data();
    const m = model();
    const seen: string[] = [];
    class Order extends Callback {
      override onBatchBegin(b: number) {
        seen.push(`begin ${b} at ${m.iterations}`);
      }
      override onBatchEnd(b: number) {
        seen.push(`end ${b} at ${m.iterations}`);
      }
    }
    await m.fit(x, y, { ...SHARDS, epochs: 1, workers: 2, callbacks: [new Order()] });
    expect(seen).toEqual(Array.from({ length: 10 }, (_, b) => [`begin ${b} at ${b}`, `end ${b} at ${b + 1}`]).flat());
    await m.dispose();
  });
});

describe('a rejected fit leaves no worker running', () => {
  it('a throwing onBatchEnd stops the workers at that step; the model holds that step and the next fit works', async () => {
    const { x, y } = data(4800);
    const m = model();
    class Boom extends Callback {
      override onBatchEnd(batch: number) {
        if (batch === 3) throw new Error('boom');
      }
    }
    await expect(m.fit(x, y, { ...SHARDS, epochs: 2, workers: 2, callbacks: [new Boom()] })).rejects.toThrow('boom');
    expect(m.iterations).toBe(4);
    const after = state(m);
    await sleep(200);
    expect(m.iterations).toBe(4);
    expect(state(m).equals(after)).toBe(true);
    const reference = model();
    await reference.fit(x, y, {
      ...SHARDS,
      epochs: 1,
      workers: 0,
      callbacks: [new AtBatch(0, 3, (cb) => (cb.model.stopTraining = true))],
    });
    expect(after.equals(state(reference))).toBe(true);
    const h = await m.fit(x, y, { ...SHARDS, epochs: 1, workers: 2 });
    expect(h.epoch).toEqual([0]);
    expect(m.iterations).toBe(4 + 100);
    await m.dispose();
  });

  it('dispose() during a fit rejects it with "disposed during fit", keeps a completed step, and a new fit works', async () => {
    const { x, y } = data(4800);
    const m = model();
    const p = m.fit(x, y, { ...SHARDS, epochs: 50, workers: 2 });
    p.catch(() => undefined); // checked below, after dispose() returned
    while (m.iterations < 5) await sleep(5);
    await m.dispose();
    await expect(p).rejects.toThrow(/disposed during fit/);
    const k = m.iterations;
    expect(k).toBeGreaterThan(0);
    await sleep(100);
    expect(m.iterations).toBe(k);
    const h = await m.fit(x, y, { ...SHARDS, epochs: 1, workers: 2 });
    expect(h.epoch).toEqual([0]);
    expect(m.iterations).toBe(k + 100);
    await m.dispose();
  });

  it('dispose() from a batch callback rejects the fit the same way', async () => {
    const { x, y } = data();
    const m = model();
    const p = m.fit(x, y, { ...SHARDS, epochs: 2, workers: 2, callbacks: [new AtBatch(0, 2, () => void m.dispose())] });
    await expect(p).rejects.toThrow(/disposed during fit/);
    expect(m.iterations).toBe(3);
  });

  it('evaluate and predict after a worker failure give full results (no stale abort flag)', async () => {
    const { x, y } = data();
    const m = model();
    const expected = (await m.predict(x, { workers: 0 })).data;
    setTestHooks(m, { fault: { worker: 1, step: 3, kind: 'throw' } });
    const failed = m.fit(x, y, { ...SHARDS, epochs: 1, shuffle: false, workers: 2 });
    await expect(failed).rejects.toThrow(/worker 1 failed/);
    setTestHooks(m, undefined);
    const now = (await m.predict(x, { workers: 0 })).data;
    expect((await m.predict(x, { workers: 2 })).data).toEqual(now);
    expect(now).not.toEqual(expected); // 3 steps were taken
    expect(Array.from(now).every((v) => v !== 0)).toBe(true);
    await m.dispose();
  });
});

describe('nothing mutates a model while it trains', () => {
  it('compile, setWeights, setOptimizerState and add during fit throw "busy with fit" and leave the fit undisturbed', async () => {
    const { x, y } = data();
    const m = model();
    const weights = m.getWeights();
    const p = m.fit(x, y, { ...SHARDS, epochs: 2, workers: 2 });
    expect(() => m.compile({ loss: 'mse', optimizer: 'sgd' })).toThrow(
      /busy with fit; await it before calling compile/,
    );
    expect(() => m.setWeights(weights)).toThrow(/busy with fit; await it before calling setWeights/);
    expect(() => m.setOptimizerState([], 0)).toThrow(/busy with fit/);
    expect(() => m.add(layers.Dense({ units: 1 }))).toThrow(/busy with fit/);
    await p;
    const reference = model();
    await reference.fit(x, y, { ...SHARDS, epochs: 2, workers: 0 });
    expect(state(m).equals(state(reference))).toBe(true);
    await m.dispose();
  });

  it('save() in a loop during a 2-worker fit writes snapshots of completed steps that each resume bit for bit', async () => {
    const { x, y } = data(4800);
    const fitOptions = { ...SHARDS, epochs: 3 };
    // The reference: every step's weights and optimizer state, from a step-exact run in this thread.
    const reference = model();
    const at = new Map<number, ReturnType<Sequential['snapshot']>>([[0, reference.snapshot()]]);
    class Record extends Callback {
      override onBatchEnd() {
        at.set(reference.iterations, reference.snapshot());
      }
    }
    await reference.fit(x, y, { ...fitOptions, workers: 0, callbacks: [new Record()] });
    const bytesOf = (s: ReturnType<Sequential['snapshot']>) =>
      Buffer.concat([s.params, ...s.state].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));

    const dir = await mkdtemp(join(tmpdir(), 'lockstep-snap-'));
    try {
      const m = model();
      const p = m.fit(x, y, { ...fitOptions, workers: 2 });
      let finished = false;
      void p.finally(() => (finished = true));
      const saved: string[] = [];
      while (!finished && m.iterations === 0) await sleep(1);
      while (!finished && saved.length < 25) {
        const d = join(dir, `s${saved.length}`);
        await m.save(d);
        saved.push(d);
        await sleep(10);
      }
      await p;
      await m.dispose();
      expect(saved.length).toBeGreaterThan(3);
      const steps = new Set<number>();
      for (const [i, d] of saved.entries()) {
        const loaded = await loadModel(d);
        const k = loaded.iterations;
        steps.add(k);
        // One completed step: weights and state equal the reference's after step k, and 'iter' says k too.
        expect(bytesOf(loaded.snapshot()).equals(bytesOf(at.get(k)!)), `snapshot ${i} at step ${k}`).toBe(true);
        const ref = model();
        ref.setWeights(ref.weightsOf(at.get(k)!.params));
        ref.setOptimizerState(at.get(k)!.state, k);
        await loaded.fit(x, y, { ...SHARDS, epochs: 1, workers: 0 });
        await ref.fit(x, y, { ...SHARDS, epochs: 1, workers: 0 });
        expect(bytesOf(loaded.snapshot()).equals(bytesOf(ref.snapshot())), `snapshot ${i} (step ${k}) resumed`).toBe(
          true,
        );
      }
      console.log(`${saved.length} snapshots at steps ${[...steps].join(', ')}`);
      expect(steps.size, `steps saved: ${[...steps].join(', ')}`).toBeGreaterThan(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
