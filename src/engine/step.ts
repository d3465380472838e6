/**
 * One data-parallel training step, run identically by every worker (and by the main thread when workers = 0):
 *
 *   1. compute: each worker computes the gradients of its micro-shards (shard j goes to worker j % W) and
 *      writes each into that shard's own slot; layers with statistics over the whole batch (BatchNormalization)
 *      meet the other workers of the step at the exchange (shard-exchange.ts) between layers;
 *   2. barrier;
 *   3. reduce: each worker sums the slots over its parameter range in slot order 0, 1, 2... (float32, left to
 *      right) and applies the optimizer to that range, reading weight set t % 2 and writing set (t + 1) % 2,
 *      both with the SIMD kernels of kernels/; moving averages in the range are then updated instead;
 *   4. barrier; the last arriver counts the step done.
 *
 * Shard boundaries depend only on the batch size and every sum has a fixed order, so the new weights are the
 * same bits for any worker count.
 */
import { Network, statWidthOf, type Plan, type ShardInput } from './network.js';
import { Ctrl, Timing, paramRange, type ModelBuffers, type SharedData } from './layout.js';
import { awaitGate, barrier } from './barrier.js';
import { getOptimizer, type Optimizer, type OptimizerConfig } from '../optimizers.js';
import { keyFor, Purpose, type Key } from '../rng.js';
import type { TaskHooks } from '../testing.js';
import { SimdKernels } from '../kernels/index.js';
import { HeapStage } from '../ops/row-stage.js';
import { ShardExchange, type ExchangeArea } from './shard-exchange.js';
import { updateMovingAverages } from './moving-averages.js';
import { addWeightPenaltyGradients, weightPenalty } from '../regularizers.js';
import { applyClipping, clipNorms, needsNorm } from '../clipping.js';
import type * as tf from '@tensorflow/tfjs-core';

export interface TrainTask {
  plan: Plan;
  optimizer: OptimizerConfig;
  buffers: ModelBuffers;
  /** maxShards gradient slots of paramCount floats, slot j at j * slotStride; in buffers.memory. */
  slots: Float32Array;
  slotStride: number;
  /** The summed gradient (paramCount floats, in buffers.memory); each worker fills its own range. */
  grad: Float32Array;
  /** Per step and shard: loss sum, then each metric's accumulators (statWidth float64s). */
  stats: Float64Array;
  /** The batch-statistics exchange's shared slots; null when no layer exchanges (see shard-exchange.ts). */
  exchange: ExchangeArea | null;
  control: Int32Array;
  /** Per worker: Timing counters. */
  timing: Float64Array;
  /**
   * The learning rate, read at every step: the main thread writes it at the epoch's start and, on the gated
   * path, between steps (after the batch callbacks), so a rate set in a callback applies from the next step.
   */
  rate: Float64Array;
  /** Step-exact batch control: wait at Ctrl.Gate before each step and stop there if StopRequested is set. */
  gated: boolean;
  data: SharedData;
  /** Dataset row indices in this epoch's order (the shuffled training rows). */
  order: Int32Array;
  batchSize: number;
  shardRows: number;
  maxShards: number;
  epoch: number;
  seed: Key;
  /** Steps in this epoch (the last batch may be partial). */
  steps: number;
  workerIndex: number;
  workers: number;
  /** Test hooks (testing.ts): a planted bug, or a fault for this epoch; NO_HOOKS in production. */
  hooks: TaskHooks;
}

/** Float64s per shard in the stats: the loss sum, each output's loss (several outputs), every metric's accumulators. */
export const statWidth = statWidthOf;

/** Shards of step `step`: [firstRow, rows] pairs in epoch order. */
export function shardsOf(task: Pick<TrainTask, 'order' | 'batchSize' | 'shardRows'>, step: number): [number, number][] {
  const start = step * task.batchSize;
  const end = Math.min(start + task.batchSize, task.order.length);
  const out: [number, number][] = [];
  for (let s = start; s < end; s += task.shardRows) out.push([s, Math.min(task.shardRows, end - s)]);
  return out;
}

/**
 * Buffers for a worker's rows in a step, reused across steps to keep the garbage collector out: targets and
 * sample indices on the host; the input rows (and their transposes) in tfjs's memory when `stage` is there,
 * else on the host too.
 */
export class StepBuffers {
  private inputs = new Map<number, ShardInput & { x: Float32Array }>();
  private transposed = new Map<string, Float32Array>();
  readonly stage: HeapStage | null;

  constructor(stageInHeap: boolean) {
    this.stage = stageInHeap ? HeapStage.create() : null;
  }

  input(rows: number, xCols: number, yCols: number): ShardInput & { x: Float32Array } {
    let b = this.inputs.get(rows);
    if (!b) {
      // With a stage, x is only the host fallback's buffer and stays empty.
      b = {
        rows,
        x: new Float32Array(this.stage ? 0 : rows * xCols),
        y: new Float32Array(rows * yCols),
        sampleIndices: new Int32Array(rows),
      };
      this.inputs.set(rows, b);
    }
    return b;
  }

  /** A features x rows buffer for the k-th part of a step. */
  xT(k: number, rows: number, xCols: number): Float32Array {
    const key = `${k}:${rows}`;
    let b = this.transposed.get(key);
    if (!b) this.transposed.set(key, (b = new Float32Array(rows * xCols)));
    return b;
  }

  dispose(): void {
    this.stage?.dispose();
  }
}

/** Copies rows `order[first .. first + rows)` of the dataset into `x` and `into`, from row `at` on. */
export function gatherRows(
  data: SharedData,
  order: Int32Array,
  first: number,
  rows: number,
  x: Float32Array,
  into: Pick<ShardInput, 'y' | 'sampleIndices'>,
  at: number,
): void {
  const { xCols: f, yCols } = data;
  for (let r = 0; r < rows; r++) {
    const idx = order[first + r];
    into.sampleIndices[at + r] = idx;
    x.set(data.x.subarray(idx * f, idx * f + f), (at + r) * f);
    // Targets are a value or a few per row: a loop, where subarray would make an object per row.
    for (let c = 0; c < yCols; c++) into.y[(at + r) * yCols + c] = data.y[idx * yCols + c];
  }
}

/** Rows [at, at + rows) of a row-major rows x f matrix, transposed into `out` (f x rows). */
export function transposeRows(x: Float32Array, at: number, rows: number, f: number, out: Float32Array): Float32Array {
  // Blocked: 8 rows at a time keeps both the reads and the writes within a few cache lines.
  for (let r0 = 0; r0 < rows; r0 += 8) {
    const r1 = Math.min(rows, r0 + 8);
    for (let c = 0; c < f; c++) {
      const dst = c * rows;
      for (let r = r0; r < r1; r++) out[dst + r] = x[(at + r) * f + c];
    }
  }
  return out;
}

/** A worker's rows of one step, gathered; `j` is each part's shard (and slot) index. */
interface Gathered {
  input: ShardInput;
  parts: { j: number; start: number; rows: number; xT?: Float32Array | tf.Tensor2D }[];
  batchRows: number;
}

/** Keeps a Network per plan in each thread, so a pool reuses its built layers across epochs and fits. */
const networks = new Map<string, Network>();
export function networkFor(plan: Plan, hooks: TaskHooks): Network {
  const key = JSON.stringify(plan);
  let net = networks.get(key);
  if (!net) {
    if (networks.size > 8) {
      for (const n of networks.values()) n.dispose();
      networks.clear();
    }
    net = new Network(plan);
    networks.set(key, net);
  }
  net.hooks = hooks;
  return net;
}

/** Runs the steps of one epoch for one worker (or for the main thread, as a single worker). */
export class EpochRunner {
  readonly net: Network;
  private readonly opt: Optimizer;
  private readonly keys: (Key | undefined)[];
  private readonly kernels: SimdKernels;
  private readonly range: [number, number];
  /** The trainable weights' spans (not the moving averages), for gradient clipping. */
  private readonly trainable: { offset: number; size: number }[];
  private readonly width: number;
  private readonly firstWantsXT: boolean;
  /** Buffers for even and odd steps: the next step's rows can be gathered while this step's are in use. */
  private readonly buffers: [StepBuffers, StepBuffers];
  /** Rows gathered ahead for a coming step (null: that step has no shard for this worker). */
  private ahead?: { step: number; rows: Gathered | null };
  private aheadMs = 0;

  constructor(private readonly task: TrainTask) {
    this.net = networkFor(task.plan, task.hooks);
    this.opt = getOptimizer(task.optimizer);
    // One key per node: a layer called at two places draws two masks.
    this.keys = this.net.nodes.map((n, i) =>
      n.layer.usesRandomKey ? keyFor(task.seed, Purpose.Dropout, task.epoch, i) : undefined,
    );
    this.kernels = new SimdKernels(task.buffers.memory);
    this.range = paramRange(this.net.paramCount, task.workerIndex, task.workers);
    this.trainable = this.net.slots.filter((s) => !s.movingAverage);
    this.width = statWidth(this.net);
    this.firstWantsXT = this.net.wantsInputTransposed;
    this.buffers = [new StepBuffers(true), new StepBuffers(true)];
  }

  /**
   * This worker's rows of step `step` (shards j = workerIndex, workerIndex + W, ...), gathered and transposed
   * into the buffers of that step's parity; null when the step has no shard for this worker. Called
   * ahead, while waiting at a barrier of the previous step (see `step`), or at the start of the step.
   */
  private gather(step: number): Gathered | null {
    const t = this.task;
    const shards = shardsOf(t, step);
    const mine: number[] = [];
    let total = 0;
    for (let j = t.workerIndex; j < shards.length; j += t.workers) {
      mine.push(j);
      total += shards[j][1];
    }
    // The last batch may have fewer shards than there are workers.
    if (total === 0) return null;
    const f = t.data.xCols;
    const buffers = this.buffers[step % 2];
    const input = buffers.input(total, f, t.data.yCols);
    const batchRows = shards.reduce((n, [, r]) => n + r, 0);
    const stage = buffers.stage;
    if (!stage) {
      let at = 0;
      const parts = mine.map((j, k) => {
        const [first, rows] = shards[j];
        gatherRows(t.data, t.order, first, rows, input.x, input, at);
        const part = {
          j,
          start: at,
          rows,
          xT: this.firstWantsXT ? transposeRows(input.x, at, rows, f, buffers.xT(k, rows, f)) : undefined,
        };
        at += rows;
        return part;
      });
      return { input, parts, batchRows };
    }
    // Allocate every tensor before taking the view: an allocation may grow tfjs's memory and detach it.
    const x = stage.tensor(`x:${total}`, total, f);
    let at = 0;
    const parts = mine.map((j, k) => {
      const rows = shards[j][1];
      const part = { j, start: at, rows, xT: this.firstWantsXT ? stage.tensor(`xT:${k}:${rows}`, f, rows) : undefined };
      at += rows;
      return part;
    });
    const xView = stage.view(x);
    parts.forEach((p) => gatherRows(t.data, t.order, shards[p.j][0], p.rows, xView, input, p.start));
    for (const p of parts) if (p.xT) stage.transposeRows(x, p.start, p.rows, p.xT);
    return { input: { ...input, x }, parts, batchRows };
  }

  /** Gathers step `step`'s rows now, unless already done; for the time a worker would otherwise spin. */
  private gatherAhead(step: number): void {
    if (step >= this.task.steps || this.ahead?.step === step) return;
    const t0 = performance.now();
    this.ahead = { step, rows: this.gather(step) };
    this.aheadMs += performance.now() - t0;
  }

  /**
   * Books `ms` spent in a barrier: the rows gathered ahead inside it (see `gatherAhead`) count as compute, the
   * worker was busy; the rest as waiting.
   */
  private chargeBarrier(ms: number): void {
    const at = this.task.workerIndex * Timing.Length;
    this.task.timing[at + Timing.Sync] += ms - this.aheadMs;
    this.task.timing[at + Timing.Compute] += this.aheadMs;
    this.aheadMs = 0;
  }

  /**
   * Phase 1: this worker's shards go through one forward pass together; each shard's gradient lands in its
   * own slot and its loss/metric sums in its own stats cell.
   */
  private computeShards(step: number, cur: number, shardCount: number): void {
    const t = this.task;
    const P = this.net.paramCount;
    const g = this.ahead?.step === step ? this.ahead.rows : this.gather(step);
    if (!g) return;
    this.net.loadWeights(t.buffers.params[cur]);
    const parts = g.parts.map((p) => ({ ...p, gradOut: t.slots.subarray(p.j * t.slotStride, p.j * t.slotStride + P) }));
    // The workers holding a shard of this step: shard j goes to worker j % W.
    const parties = Math.min(t.workers, shardCount);
    let exchange: ShardExchange | undefined;
    if (this.net.syncWidth > 0) {
      if (!t.exchange)
        throw new Error(
          'lockstep internal: the plan exchanges batch statistics but the fit allocated no exchange area',
        );
      exchange = new ShardExchange(
        t.exchange,
        g.parts.map((p) => ({ start: p.start, rows: p.rows, shard: p.j })),
        shardCount,
        t.control,
        parties,
      );
    }
    const stats = this.net.gradientsOfParts(g.input, parts, this.keys, 1 / g.batchRows, exchange);
    if (exchange) {
      const { waitedMs, gathers } = exchange.takeTiming();
      const tm = t.workerIndex * Timing.Length;
      t.timing[tm + Timing.Exchange] += waitedMs;
      t.timing[tm + Timing.Gathers] += gathers;
      // Waiting at the exchange is synchronisation, not compute.
      t.timing[tm + Timing.Compute] -= waitedMs;
    }
    // The weights' penalties are part of the batch's loss (Keras adds them once per batch); the part of shard 0
    // carries them, weighted by the batch's rows like the rows' losses.
    const reg = this.net.regularized.length
      ? weightPenalty(this.net.regularized, t.buffers.params[cur]) * g.batchRows
      : 0;
    stats.forEach((st, k) => {
      const cell = (step * t.maxShards + parts[k].j) * this.width;
      t.stats[cell] = parts[k].j === 0 ? st.loss + reg : st.loss;
      t.stats.set(st.metrics, cell + 1);
    });
  }

  /**
   * The gated path's step boundary: waits until the main thread has run the callbacks of the previous step
   * and opened this one; false when they asked to stop. Every worker reads the same StopRequested, because the
   * main thread writes it before it opens the gate and never while a step runs.
   */
  passGate(step: number): boolean {
    if (!this.task.gated) return true;
    awaitGate(this.task.control, step);
    return Atomics.load(this.task.control, Ctrl.StopRequested) === 0;
  }

  /** Runs one step (compute, barrier, reduce + update, barrier); false when a stop was decided. */
  step(step: number): boolean {
    const t = this.task;
    const { control, timing } = t;
    const tm = t.workerIndex * Timing.Length;
    const updates = Atomics.load(control, Ctrl.Updates);
    const cur = updates % 2;

    let t0 = performance.now();
    const fault = t.hooks.fault;
    if (fault && fault.worker === t.workerIndex && fault.step === step) {
      if (fault.kind === 'exit') process.exit(3);
      throw new Error(`injected fault`);
    }
    const shardCount = shardsOf(t, step).length;
    this.computeShards(step, cur, shardCount);
    let t1 = performance.now();
    timing[tm + Timing.Compute] += t1 - t0;
    // A worker that arrives early gathers its next step's rows instead of spinning (the rows do not depend
    // on the weights); the barrier's last arriver skips it, so the step's critical path never grows.
    const ahead = () => this.gatherAhead(step + 1);
    barrier(control, t.workers, undefined, ahead);
    t0 = performance.now();
    this.chargeBarrier(t0 - t1);

    const [lo, hi] = this.range;
    // Test-only: start the sum at a worker-dependent slot, which changes the rounding with the worker count.
    const first = t.hooks.plant === 'unordered-reduction' ? t.workerIndex % shardCount : 0;
    this.kernels.sumSlots(t.grad, t.slots, t.slotStride, shardCount, first, lo, hi);
    if (this.net.regularized.length)
      addWeightPenaltyGradients(this.net.regularized, t.buffers.params[cur], t.grad, lo, hi);
    const clip = this.opt.clipping;
    if (clip.clipnorm != null || clip.globalClipnorm != null || clip.clipvalue != null) {
      // A norm reads every worker's summed range: all must be summed before, and read before any is scaled.
      if (needsNorm(clip)) barrier(control, t.workers);
      const sums = clipNorms(clip, this.trainable, t.grad);
      if (needsNorm(clip)) barrier(control, t.workers);
      applyClipping(clip, this.trainable, t.grad, lo, hi, sums);
    }
    const next = 1 - cur;
    // One set of arguments serves the optimizer and the moving averages (which take a subset of them).
    const range = {
      params: t.buffers.params[cur],
      grads: t.grad,
      state: t.buffers.state[cur],
      paramsOut: t.buffers.params[next],
      stateOut: t.buffers.state[next],
      start: lo,
      end: hi,
      step: updates + 1,
      // A schedule is a function of the update count, the same in every worker; a fixed rate is the main thread's.
      learningRate: this.opt.schedule ? this.opt.schedule.at(updates) : t.rate[0],
      kernels: this.kernels,
    };
    this.opt.update(range);
    if (this.net.movingAverages.length) updateMovingAverages(this.net.movingAverages, range);
    t1 = performance.now();
    timing[tm + Timing.Reduce] += t1 - t0;
    barrier(
      control,
      t.workers,
      () => {
        // The last arriver publishes the step and the stop decision before anyone leaves the barrier.
        Atomics.store(control, Ctrl.StopDecided, Atomics.load(control, Ctrl.StopRequested));
        Atomics.add(control, Ctrl.Updates, 1);
        Atomics.add(control, Ctrl.StepsDone, 1);
        Atomics.notify(control, Ctrl.StepsDone);
      },
      ahead,
    );
    this.chargeBarrier(performance.now() - t1);
    return Atomics.load(control, Ctrl.StopDecided) === 0;
  }

  release(): void {
    this.net.releaseWeights();
    for (const b of this.buffers) b.dispose();
  }
}

/** Inference over rows [0, rows) in chunks of `chunkRows`; chunk c goes to worker c % workers. */
export interface ForwardTask {
  plan: Plan;
  params: Float32Array;
  data: SharedData;
  /** rows x outputCols outputs (probabilities/values, never logits). */
  out: Float32Array;
  /** Per chunk: loss sum, then each metric's accumulators (only when `score`). */
  stats: Float64Array;
  score: boolean;
  chunkRows: number;
  workerIndex: number;
  workers: number;
  control: Int32Array;
  /** Test hooks (testing.ts); NO_HOOKS in production. */
  hooks: TaskHooks;
}

export function runForward(task: ForwardTask): void {
  const net = networkFor(task.plan, task.hooks);
  const { data, chunkRows } = task;
  const width = statWidth(net);
  const chunks = Math.ceil(data.rows / chunkRows);
  const reg = task.score && net.regularized.length ? weightPenalty(net.regularized, task.params) : 0;
  net.loadWeights(task.params);
  try {
    for (let c = task.workerIndex; c < chunks; c += task.workers) {
      if (Atomics.load(task.control, Ctrl.Abort)) return;
      const first = c * chunkRows;
      const rows = Math.min(chunkRows, data.rows - first);
      const x = data.x.subarray(first * data.xCols, (first + rows) * data.xCols);
      if (task.score) {
        const y = data.y.subarray(first * data.yCols, (first + rows) * data.yCols);
        const { out, stats } = net.evaluate(x, y, rows);
        task.out.set(out, first * net.outputCols);
        task.stats[c * width] = stats.loss + reg * rows;
        task.stats.set(stats.metrics, c * width + 1);
      } else {
        task.out.set(net.forward(x, rows), first * net.outputCols);
      }
    }
  } finally {
    net.releaseWeights();
  }
}
