/**
 * Where a convnet step's time goes: a single-thread profile of the engine's gradient step (ops/profile.ts
 * collects ms per phase in the thread that calls it; the pool's workers are other threads, so the timed
 * epochs cannot be profiled from the case's main thread). Runs after a lockstep case's timed epochs.
 */
import { Network } from '../src/engine/network.js';
import { initBackend } from '../src/backend.js';
import { keyFor, seedKey, Purpose } from '../src/rng.js';
import { startProfile, stopProfile } from '../src/ops/profile.js';
import type { Matrix } from '../src/index.js';
import { planOf, type ModelSpec } from './models.js';

export interface StepProfile {
  /** Rows per gradient step: a worker's share of a 128-row batch on 2 workers. */
  rows: number;
  /** Steps run before profiling (V8 and the kernels warm), and steps profiled. */
  warmupSteps: number;
  steps: number;
  /** ms over all profiled steps: the whole step (weight load included), and each phase label of ops/profile.ts. */
  stepMs: number;
  phaseMs: Record<string, number>;
}

/**
 * Times `steps` gradient steps of `rows` consecutive training rows each (after `warmupSteps`) on random
 * weights, in this thread; the labels are sparse class indices.
 */
export async function profileStep(
  spec: ModelSpec,
  x: Matrix,
  labels: Int32Array,
  options: { rows?: number; warmupSteps?: number; steps?: number; seed?: number } = {},
): Promise<StepProfile> {
  const { rows = 64, warmupSteps = 50, steps = 100, seed = 1 } = options;
  if (x.rows < rows) throw new RangeError(`profileStep: ${x.rows} training rows, fewer than one step of ${rows}`);
  await initBackend();
  const net = new Network(planOf(spec));
  // Small uniform weights from a fixed LCG: the kernels' time does not depend on the values.
  let s = 12345;
  const params = new Float32Array(net.paramCount).map(
    () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.1,
  );
  const grad = new Float32Array(net.paramCount);
  const windows = Math.floor(x.rows / rows);
  let stepMs = 0;
  for (let step = 0; step < warmupSteps + steps; step++) {
    if (step === warmupSteps) startProfile();
    const start = (step % windows) * rows;
    const shard = {
      rows,
      x: x.data.subarray(start * x.cols, (start + rows) * x.cols),
      y: Float32Array.from(labels.subarray(start, start + rows)),
      sampleIndices: Int32Array.from({ length: rows }, (_, i) => start + i),
    };
    const keys = net.layers.map((_, i) => keyFor(seedKey(seed), Purpose.Dropout, step, i));
    const t = performance.now();
    net.loadWeights(params);
    net.gradients(shard, keys, 1 / rows, grad);
    if (step >= warmupSteps) stepMs += performance.now() - t;
  }
  const phaseMs = stopProfile();
  net.dispose();
  return { rows, warmupSteps, steps, stepMs, phaseMs };
}
