/**
 * The fit loop: checks inputs, copies them into shared memory once per call, runs epochs on an executor
 * (gated at every step boundary when batch callbacks or an AbortSignal need it), computes epoch logs in a
 * fixed order, validates, and drives callbacks with Keras's order and names.
 */
import type { Sequential } from '../sequential.js';
import { Callback, type Logs } from '../callbacks/callback.js';
import { ProgbarLogger } from '../callbacks/progress.js';
import { History, type EpochTiming } from '../history.js';
import { Matrix, type MatrixLike } from '../matrix.js';
import { badOption, checkNonNegativeInt, checkOptionKeys, checkPositiveInt } from '../errors.js';
import { keyFor, permutation, Purpose, seedKey } from '../rng.js';
import { currentSeed } from '../seed.js';
import { testHooksOf } from '../testing.js';
import { Ctrl, Timing, lineAligned, scratchF32, sharedF64, sharedI32, shardRowsFor, type SharedData } from './layout.js';
import { statWidth } from './step.js';
import { optimizerConfig } from '../optimizers.js';
import { appendWeights, rowWeights } from '../sample-weights.js';
import { metricLogs, type Metric } from '../metrics.js';
import { inference, shareData, targetsFor } from './inference.js';
import { allocExchangeArea } from './shard-exchange.js';

export interface FitOptions {
  /** Train until this epoch index (Keras semantics: with initialEpoch 5 and epochs 10, runs epochs 5..9). Default 1. */
  epochs?: number;
  /** Rows per gradient step. Default 32. */
  batchSize?: number;
  /** Evaluated at the end of each epoch; its logs get the `val_` prefix. A third item weights its rows. */
  validationData?: [MatrixLike, MatrixLike | Int32Array] | [MatrixLike, MatrixLike | Int32Array, ArrayLike<number>];
  /** One weight per row: its loss and metric terms are multiplied by it (Keras's sample_weight). */
  sampleWeight?: ArrayLike<number>;
  /** Weights by class index, { 0: 1, 1: 5 }: each training row is weighted by its class's (Keras's class_weight). */
  classWeight?: Record<number, number>;
  /** Fraction of the rows, taken from the end before shuffling (as Keras), held out for validation. */
  validationSplit?: number;
  /** Reshuffle the training rows every epoch (keyed by seed and epoch). Default true. */
  shuffle?: boolean;
  /** 0 silent, 1 progress bar, 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  callbacks?: Callback[];
  initialEpoch?: number;
  /** Worker threads; default os.availableParallelism(); 0 trains in this thread. Results do not depend on it. */
  workers?: number;
  /** Seed for shuffling and dropout; default the global seed (setRandomSeed). */
  seed?: number;
  /**
   * Cancels training; fit then rejects with an AbortError, keeping the steps completed. With a signal the
   * workers wait at every step boundary, so an abort seen after step t keeps exactly t + 1 steps.
   */
  signal?: AbortSignal;
  /**
   * Rows per micro-shard, the unit of parallel work; default max(64, ceil(batchSize / 16)). Results depend on it, never
   * on workers.
   */
  microBatchSize?: number;
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  const err = new Error(`lockstep: training aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`);
  err.name = 'AbortError';
  return err;
}

const FIT_OPTIONS = ['sampleWeight', 'classWeight', 'epochs', 'batchSize', 'validationData', 'validationSplit', 'shuffle', 'verbose', 'callbacks', 'initialEpoch', 'workers', 'seed', 'signal', 'microBatchSize'] as const;

export async function fit(model: Sequential, xIn: MatrixLike, yIn: MatrixLike | Int32Array, options: FitOptions = {}): Promise<History> {
  const calledAt = performance.now();
  const { net, plan, optimizer, buffers } = model.requireCompiled('fit');
  checkOptionKeys('fit', options, FIT_OPTIONS);
  const o = options ?? {};
  const epochs = o.epochs === undefined ? 1 : checkPositiveInt('fit', 'epochs', o.epochs);
  const batchSize = o.batchSize === undefined ? 32 : checkPositiveInt('fit', 'batchSize', o.batchSize);
  const initialEpoch = o.initialEpoch === undefined ? 0 : checkNonNegativeInt('fit', 'initialEpoch', o.initialEpoch);
  const verbose = o.verbose ?? 1;
  if (![0, 1, 2].includes(verbose)) throw badOption('fit', 'verbose', '0, 1 or 2', verbose);
  if (o.validationSplit !== undefined && !(typeof o.validationSplit === 'number' && o.validationSplit >= 0 && o.validationSplit < 1)) throw badOption('fit', 'validationSplit', 'in [0, 1)', o.validationSplit);
  if (o.shuffle !== undefined && typeof o.shuffle !== 'boolean') throw badOption('fit', 'shuffle', 'a boolean', o.shuffle);
  if (o.microBatchSize !== undefined) checkPositiveInt('fit', 'microBatchSize', o.microBatchSize);
  if (o.workers !== undefined) checkNonNegativeInt('fit', 'workers', o.workers);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw badOption('fit', 'signal', 'an AbortSignal', o.signal);
  const callbacks = o.callbacks ?? [];
  if (!Array.isArray(callbacks) || callbacks.some((c) => !(c instanceof Callback))) throw badOption('fit', 'callbacks', 'an array of Callback instances', callbacks);
  const seed = currentSeed(o.seed);
  const hooks = testHooksOf(model);

  // The workers start (and build the network) while the input is checked and copied below: a pool's
  // start-up is most of a first fit's time to its first step. Starting threads changes nothing in the model.
  const executorReady = model.executorFor(o.workers).then((e) => (e.prepare(plan, buffers.params[0]), e));
  executorReady.catch(() => undefined);
  // Check everything before touching the model, so a bad call changes nothing.
  const x = model.toMatrixInput(xIn, 'x');
  const y = targetsFor(net, yIn, 'y');
  if (x.rows !== y.rows) throw new Error(`x has ${x.rows} rows but y has ${y.rows}: they must match`);
  let val: { x: Matrix; y: Matrix } | undefined;
  if (o.validationData !== undefined) {
    if (!Array.isArray(o.validationData) || (o.validationData.length !== 2 && o.validationData.length !== 3)) throw badOption('fit', 'validationData', 'a pair [x, y] or a triple [x, y, sampleWeight]', typeof o.validationData);
    const vx = model.toMatrixInput(o.validationData[0], 'validationData[0]');
    let vy = targetsFor(net, o.validationData[1], 'validationData[1]');
    // [x, y, sampleWeight]: the weights travel as one more target column (see sample-weights.ts).
    const vw = o.validationData.length === 3 ? rowWeights('fit: validationData[2]', vy, net.loss.target === 'sparse', o.validationData[2], undefined) : null;
    if (vw) vy = appendWeights(vy, vw);
    if (vx.rows !== vy.rows) throw new Error(`validationData: x has ${vx.rows} rows but y has ${vy.rows}: they must match`);
    if (vx.rows === 0) throw new Error('fit: validationData has no rows');
    // Copied once for the whole fit: each epoch's validation then reads the same shared rows.
    const vData = shareData(vx, vy);
    val = { x: new Matrix(vData.x, vData.rows, vData.xCols), y: new Matrix(vData.y, vData.rows, vData.yCols) };
  }
  let nTrain = x.rows;
  if (val === undefined && o.validationSplit) {
    nTrain = Math.floor(x.rows * (1 - o.validationSplit));
    if (nTrain === x.rows) {
      throw new RangeError(`fit: validationSplit=${o.validationSplit} of ${x.rows} rows leaves no validation rows; use a larger split, more rows or no validationSplit`);
    }
  }
  if (nTrain === 0) throw new Error(`fit: no training rows (x has ${x.rows} rows${o.validationSplit ? ` and validationSplit=${o.validationSplit} holds them all out` : ''})`);
  // Weighted rows carry their weight as one more target column; class weights apply to training rows only.
  const weights = rowWeights('fit', y, net.loss.target === 'sparse', o.sampleWeight, o.classWeight);
  if (weights && o.classWeight !== undefined) weights.fill(1, nTrain);
  // The caller's arrays as they are now: a copy per call, so a buffer refilled between calls is seen fresh.
  const data = shareData(x, weights ? appendWeights(y, weights) : y);
  if (val === undefined && nTrain < x.rows) {
    const vData: SharedData = { ...data, rows: x.rows - nTrain, x: data.x.subarray(nTrain * data.xCols), y: data.y.subarray(nTrain * data.yCols) };
    val = { x: new Matrix(vData.x, vData.rows, vData.xCols, x.sampleShape), y: new Matrix(vData.y, vData.rows, vData.yCols) };
  }

  const executor = await executorReady;
  const workers = executor.workers;
  const steps = Math.ceil(nTrain / batchSize);
  const shardRows = shardRowsFor(batchSize, o.microBatchSize);
  const maxShards = Math.ceil(batchSize / shardRows);
  const width = statWidth(net);
  // Gradient slots and their sum share the model's memory with the weights, for the SIMD kernels.
  const slotStride = lineAligned(net.paramCount);
  const scratch = scratchF32(buffers, (maxShards + 1) * slotStride);
  const slots = scratch.subarray(0, maxShards * slotStride);
  const grad = scratch.subarray(maxShards * slotStride, maxShards * slotStride + net.paramCount);
  const stats = sharedF64(steps * maxShards * width);
  // Whole-batch statistics (BatchNormalization): one slot per shard, sized from the plan.
  const exchange = allocExchangeArea(net.syncWidth, maxShards);
  const order = sharedI32(nTrain);
  const rate = sharedF64(1);
  const control = model.control;

  const history = new History();
  history.params = { epochs, steps, verbose, workers };
  const all: Callback[] = [...callbacks];
  const progbar = verbose > 0 ? new ProgbarLogger({ verbose: verbose as 1 | 2 }) : undefined;
  if (progbar) all.push(progbar);
  for (const cb of all) {
    cb.setModel(model);
    cb.setParams({ epochs, steps, verbose });
  }
  model.stopTraining = false;
  const signal = o.signal;
  if (signal?.aborted) throw abortError(signal);
  // Batch hooks and abort signals take effect at the exact step, for any worker count: the workers then wait
  // at every step boundary until the callbacks of the step before have returned (see README).
  const gated = signal !== undefined || all.some((cb) => cb.needsStepBoundary);
  // Callbacks run while no worker touches the model, so they may set weights (EarlyStopping) or the rate.
  const call = async (hook: (cb: Callback) => void | Promise<void>) => {
    model.callbackDepth++;
    try {
      for (const cb of all) await hook(cb);
    } finally {
      model.callbackDepth--;
    }
  };

  let logs: Logs = {};
  // When this call's first step completed (cold start: input checks and copy, pool start-up, first step).
  let firstStepAt: number | undefined;
  const sawSteps = (done: number) => {
    if (done > 0 && firstStepAt === undefined) firstStepAt = performance.now();
  };
  try {
    await call((cb) => cb.onTrainBegin({}));
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      model.checkFitInterrupt();
      await call((cb) => cb.onEpochBegin(epoch, {}));
      model.checkFitInterrupt();
      if (o.shuffle === false) for (let i = 0; i < nTrain; i++) order[i] = i;
      else order.set(permutation(keyFor(seedKey(seed), Purpose.Shuffle, epoch), nTrain));
      for (const f of [Ctrl.Abort, Ctrl.StopRequested, Ctrl.StopDecided, Ctrl.StepsDone, Ctrl.BarrierCount, Ctrl.SyncCount]) Atomics.store(control, f, 0);
      Atomics.store(control, Ctrl.Gate, gated ? 0 : steps);
      rate[0] = optimizer.learningRate;
      stats.fill(0);
      const timing = sharedF64(Math.max(1, workers) * Timing.Length);

      // Running sums for batch logs, accumulated step by step in shard order.
      const run = { loss: 0, rows: 0, metrics: new Float64Array(net.metricsWidth), seen: 0 };
      let aborted = false;
      const batchEnd = async (s: number) => {
        for (let j = 0; j < maxShards; j++) {
          const at = (s * maxShards + j) * width;
          run.loss += stats[at];
          for (let k = 0; k < run.metrics.length; k++) run.metrics[k] += stats[at + 1 + k];
        }
        run.rows += Math.min(batchSize, nTrain - s * batchSize);
        run.seen = s + 1;
        const batchLogs = epochLogs(run, net.metrics);
        await call((cb) => cb.onBatchEnd(s, batchLogs));
      };
      // Fast path: the callbacks trail the workers (only the progress bar has batch hooks here).
      const observe = async (done: number) => {
        sawSteps(done);
        while (run.seen < done) {
          const s = run.seen;
          await call((cb) => cb.onBatchBegin(s, {}));
          await batchEnd(s);
        }
        if (signal?.aborted) aborted = true;
        if (model.stopTraining || aborted) Atomics.store(control, Ctrl.StopRequested, 1);
      };
      // Gated path: Keras's order, with the workers waiting: onBatchEnd(next - 1), then onBatchBegin(next).
      const gate = async (next: number) => {
        sawSteps(next);
        if (next > 0) await batchEnd(next - 1);
        if (signal?.aborted) aborted = true;
        if (aborted || model.stopTraining || model.fitInterrupted) return false;
        if (next < steps) await call((cb) => cb.onBatchBegin(next, {}));
        // A rate set by any of these callbacks applies from step `next` on.
        rate[0] = optimizer.learningRate;
        return true;
      };
      const started = performance.now();
      const coldEpoch = firstStepAt === undefined;
      await executor.trainEpoch(
        {
          plan,
          optimizer: optimizerConfig(optimizer),
          buffers,
          slots,
          slotStride,
          grad,
          stats,
          exchange,
          control,
          timing,
          rate,
          gated,
          data,
          order,
          batchSize,
          shardRows,
          maxShards,
          epoch,
          seed: seedKey(seed),
          steps,
          hooks: { plant: hooks.plant, fault: hooks.fault && (hooks.fault.epoch ?? initialEpoch) === epoch ? hooks.fault : undefined },
        },
        observe,
        gate,
      );
      const seconds = (performance.now() - started) / 1000;
      model.checkFitInterrupt();
      if (aborted || signal?.aborted) throw abortError(signal!);
      const done = Atomics.load(control, Ctrl.StepsDone);
      await observe(done);
      logs = epochLogs(run, net.metrics);
      if (val) {
        const v = await inference(model, val.x, val.y, { batchSize, workers, __checkedTargets: true });
        for (const [k, value] of Object.entries(v.logs!)) logs[`val_${k}`] = value;
      }
      const active = Math.max(1, Math.min(workers, maxShards));
      const per = (k: number) => {
        let sum = 0;
        for (let w = 0; w < active; w++) sum += timing[w * Timing.Length + k];
        return sum / active / Math.max(1, done);
      };
      const t: EpochTiming = { seconds, steps: done, workers: workers === 0 ? 0 : active, computeMsPerStep: per(Timing.Compute), reduceMsPerStep: per(Timing.Reduce), syncMsPerStep: per(Timing.Sync), ...(exchange ? { exchangeMsPerStep: per(Timing.Exchange), exchangesPerStep: per(Timing.Gathers) } : {}), ...(coldEpoch && firstStepAt !== undefined ? { firstStepSeconds: (firstStepAt - calledAt) / 1000 } : {}) };
      await call((cb) => cb.onEpochEnd(epoch, logs));
      history.record(epoch, logs, t);
      if (model.stopTraining) break;
    }
    model.checkFitInterrupt();
    await call((cb) => cb.onTrainEnd(logs));
  } catch (err) {
    // dispose() during the fit may surface as a pool torn down under a validation pass: say what happened.
    throw model.fitInterrupted ?? err;
  } finally {
    // A fit that stopped early never reached onTrainEnd: give the terminal back (cursor shown).
    progbar?.close();
    // No worker runs now (executors return only once theirs have): clear the flags an abort left, so a
    // later evaluate or predict is not cut short by them.
    for (const f of [Ctrl.Abort, Ctrl.StopRequested, Ctrl.StopDecided]) Atomics.store(control, f, 0);
  }
  return history;
}

/** Keras's epoch logs: the loss averaged over the rows seen, and each metric from its accumulators so far. */
function epochLogs(run: { loss: number; rows: number; metrics: Float64Array }, metrics: Metric[]): Logs {
  const logs: Logs = { loss: run.rows ? run.loss / run.rows : NaN };
  metricLogs(metrics, run.metrics, logs);
  return logs;
}

