/**
 * Micro-benchmarks for A/B comparisons on a noisy machine (not part of `npm run bench`):
 *
 *   node dist/bench/step-time.js step [threads]   the MNIST MLP's 64-row gradient step (weight load included),
 *                                                 repeated 2,500 times per thread on real rows; step-time
 *                                                 quantiles per thread
 *   node dist/bench/step-time.js rows [threads]   a step's input rows (64 random MNIST rows), staged two ways,
 *                                                 interleaved: gathered on the host, transposed in JavaScript
 *                                                 and copied into tfjs; or gathered into tensors in tfjs's
 *                                                 memory and transposed there (ops/row-stage.ts)
 *   node dist/bench/step-time.js ops [threads]    each fused elementwise op (ops/elementwise.ts) against the
 *                                                 tf ops it replaces, on 64 x 128 tensors, interleaved
 *   node dist/bench/step-time.js conv [threads]   the MNIST convnet's 64-row gradient step, 300 times per thread;
 *                                                 step-time quantiles and the time per phase (ops/profile.ts)
 *   node dist/bench/step-time.js cpu [threads]    a fixed arithmetic loop in 4,000 chunks per thread: whether
 *                                                 the machine is quiet (about 0.92 ms per chunk here) or one
 *                                                 vCPU is slowed by its host
 *
 * Threads run side by side with no barrier. Compare two builds by alternating their runs.
 */
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { Network, type Plan } from '../src/engine/network.js';
import { initBackend } from '../src/backend.js';
import { keyFor, seedKey, Purpose } from '../src/rng.js';
import { mnist } from '../src/datasets/mnist.js';
import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, transposeRows, StepBuffers } from '../src/engine/step.js';
import { permutation } from '../src/rng.js';
import { directElementwise, REFERENCE } from '../src/ops/elementwise.js';
import { chunkTimes } from './probe.js';
import { startProfile, stopProfile } from '../src/ops/profile.js';
import { CONVNET_PLAN } from './models.js';

const PLAN: Plan = {
  inputShape: [784],
  loss: 'sparse_categorical_crossentropy',
  metrics: ['accuracy'],
  layers: [
    { className: 'Dense', name: 'dense', units: 128, activation: 'relu' },
    { className: 'Dropout', name: 'dropout', rate: 0.3 },
    { className: 'Dense', name: 'dense_1', units: 64, activation: 'tanh' },
    { className: 'Dropout', name: 'dropout_1', rate: 0.2 },
    { className: 'Dense', name: 'dense_2', units: 10, activation: 'softmax' },
  ],
};

function quantiles(times: number[]): string {
  const s = [...times].sort((a, b) => a - b);
  const q = (p: number) => s[Math.floor(p * (s.length - 1))].toFixed(3);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} mean ${mean.toFixed(3)} ms`;
}

async function stepTimes(): Promise<number[]> {
  await initBackend();
  const { train } = await mnist();
  const net = new Network(PLAN);
  const rows = 64;
  let s = 12345;
  const params = new Float32Array(net.paramCount).map(
    () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.1,
  );
  const grad = new Float32Array(net.paramCount);
  const times: number[] = [];
  for (let step = 0; step < 2500; step++) {
    const start = (step * rows) % 59000;
    const x = train.images.data.subarray(start * 784, (start + rows) * 784);
    const xT = new Float32Array(rows * 784);
    for (let r = 0; r < rows; r++) for (let c = 0; c < 784; c++) xT[c * rows + r] = x[r * 784 + c];
    const y = Float32Array.from(train.labels.subarray(start, start + rows));
    const shard = { rows, x, xT, y, sampleIndices: Int32Array.from({ length: rows }, (_, i) => start + i) };
    const keys = net.layers.map((_, i) => keyFor(seedKey(1), Purpose.Dropout, step, i));
    const t = performance.now();
    net.loadWeights(params);
    net.gradients(shard, keys, 1 / 128, grad);
    times.push(performance.now() - t);
  }
  net.dispose();
  // The first 500 steps are V8 warming up.
  return times.slice(500);
}

/** The convnet's 64-row step: quantiles, then ms per step of each phase (after 50 warm-up steps). */
async function convTimes(): Promise<string> {
  await initBackend();
  const { train } = await mnist();
  const net = new Network(CONVNET_PLAN);
  const rows = 64;
  let s = 12345;
  const params = new Float32Array(net.paramCount).map(
    () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.1,
  );
  const grad = new Float32Array(net.paramCount);
  const times: number[] = [];
  const steps = 300;
  for (let step = 0; step < steps; step++) {
    if (step === 50) startProfile();
    const start = (step * rows) % 59000;
    const x = train.images.data.subarray(start * 784, (start + rows) * 784);
    const y = Float32Array.from(train.labels.subarray(start, start + rows));
    const shard = { rows, x, y, sampleIndices: Int32Array.from({ length: rows }, (_, i) => start + i) };
    const keys = net.layers.map((_, i) => keyFor(seedKey(1), Purpose.Dropout, step, i));
    const t = performance.now();
    net.loadWeights(params);
    net.gradients(shard, keys, 1 / 128, grad);
    times.push(performance.now() - t);
  }
  const phases = Object.entries(stopProfile()).map(([k, ms]) => `${k} ${(ms / (steps - 50)).toFixed(2)}`);
  net.dispose();
  return `${quantiles(times.slice(50))}\n  ms per step: ${phases.join(', ')}`;
}

/**
 * Per round: the host path, then the staged path, each on its own random rows (cold, as in training); quantiles of
 * each.
 */
async function rowTimes(): Promise<string> {
  await initBackend();
  const { train } = await mnist({ shared: true });
  const rows = 64;
  const f = 784;
  const data = {
    x: train.images.data,
    y: Float32Array.from(train.labels),
    xCols: f,
    yCols: 1,
    rows: train.labels.length,
  };
  const order = permutation(seedKey(3), data.rows);
  const host = new StepBuffers(false);
  const staged = new StepBuffers(true);
  const stage = staged.stage;
  if (!stage) throw new Error('no HeapStage on this backend');
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < 3000; round++) {
    const first = (2 * round * rows) % (data.rows - 2 * rows);
    let t = performance.now();
    const input = host.input(rows, f, 1);
    gatherRows(data, order, first, rows, input.x, input, 0);
    const xT = transposeRows(input.x, 0, rows, f, host.xT(0, rows, f));
    tf.dispose([tf.tensor2d(input.x, [rows, f]), tf.tensor2d(xT, [f, rows])]);
    a.push(performance.now() - t);
    t = performance.now();
    const x = stage.tensor('x', rows, f);
    const xTt = stage.tensor('xT', f, rows);
    gatherRows(data, order, first + rows, rows, stage.view(x), staged.input(rows, f, 1), 0);
    stage.transposeRows(x, 0, rows, xTt);
    b.push(performance.now() - t);
  }
  staged.dispose();
  return `host ${quantiles(a.slice(500))}\n           staged ${quantiles(b.slice(500))}`;
}

/** Median µs of each elementwise op, tf against direct, 3,000 interleaved calls each. */
async function opTimes(): Promise<string> {
  await initBackend();
  const direct = directElementwise();
  if (!direct) throw new Error('no direct elementwise ops on this backend');
  const a = tf.randomNormal([64, 128]) as tf.Tensor2D;
  const b = tf.randomNormal([64, 128]) as tf.Tensor2D;
  const lines: string[] = [];
  for (const k of Object.keys(REFERENCE) as (keyof typeof REFERENCE)[]) {
    const t: [number[], number[]] = [[], []];
    for (let i = 0; i < 3000; i++) {
      for (const [j, f] of [() => REFERENCE[k](a, b), () => direct[k](a, b)].entries()) {
        const t0 = performance.now();
        tf.tidy(() => {
          f();
        });
        t[j].push(performance.now() - t0);
      }
    }
    const median = (x: number[]) => ((x.sort((p, q) => p - q)[x.length >> 1] ?? 0) * 1000).toFixed(1);
    lines.push(`${k.padEnd(12)} tf ${median(t[0].slice(500))} µs, direct ${median(t[1].slice(500))} µs`);
  }
  tf.dispose([a, b]);
  return `\n  ${lines.join('\n  ')}`;
}

if (isMainThread) {
  const what = process.argv[2] ?? 'step';
  const threads = Number(process.argv[3] ?? 1);
  if (!['step', 'rows', 'ops', 'conv', 'cpu'].includes(what) || !(threads >= 1)) {
    console.error('usage: node dist/bench/step-time.js step|rows|ops|conv|cpu [threads]');
    process.exit(2);
  }
  const file = fileURLToPath(import.meta.url);
  await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const w = new Worker(file, { workerData: { what, index: i, threads } });
      return new Promise((resolve, reject) => w.on('error', reject).on('exit', resolve));
    }),
  );
} else {
  const { what, index, threads } = workerData as { what: string; index: number; threads: number };
  const report =
    what === 'rows'
      ? await rowTimes()
      : what === 'ops'
        ? await opTimes()
        : what === 'conv'
          ? await convTimes()
          : quantiles(what === 'cpu' ? chunkTimes(4000).slice(500) : await stepTimes());
  console.log(`${what} thread ${index + 1} of ${threads}: ${report}`);
}
