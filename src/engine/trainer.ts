/**
 * The fit loop: checks inputs, places data in shared memory once, runs epochs on an executor, computes epoch
 * logs in a fixed order, validates, and drives callbacks with Keras's order and names.
 */
import type { Sequential } from '../sequential.js';
import { Callback, type Logs } from '../callbacks/callback.js';
import { ProgbarLogger } from '../callbacks/progress.js';
import { History, type EpochTiming } from '../history.js';
import { Matrix, type MatrixLike } from '../matrix.js';
import { badOption, checkNonNegativeInt, checkPositiveInt } from '../errors.js';
import { keyFor, permutation, Purpose, seedKey } from '../rng.js';
import { currentSeed } from '../seed.js';
import { plantedBug } from '../testing.js';
import { Ctrl, Timing, lineAligned, scratchF32, sharedF64, sharedI32, shardRowsFor, type SharedData } from './layout.js';
import { statWidth } from './step.js';
import { inference, shareData, targetsFor } from './inference.js';

export interface FitOptions {
  /** Train until this epoch index (Keras semantics: with initialEpoch 5 and epochs 10, runs epochs 5..9). Default 1. */
  epochs?: number;
  /** Rows per gradient step. Default 32. */
  batchSize?: number;
  /** Evaluated at the end of each epoch; its logs get the `val_` prefix. */
  validationData?: [MatrixLike, MatrixLike | Int32Array];
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
  /** Cancels training at the next step boundary; fit then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Rows per micro-shard, the unit of parallel work; default max(64, ceil(batchSize / 16)). Results depend on it, never on workers. */
  microBatchSize?: number;
  /** @internal test-only fault injection */
  __fault?: { worker: number; step: number; kind: 'throw' | 'exit'; epoch?: number };
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  const err = new Error(`lockstep: training aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`);
  err.name = 'AbortError';
  return err;
}

export async function fit(model: Sequential, xIn: MatrixLike, yIn: MatrixLike | Int32Array, options: FitOptions = {}): Promise<History> {
  const { net, plan, optimizer, buffers } = model.requireCompiled('fit');
  const o = options ?? {};
  const epochs = o.epochs === undefined ? 1 : checkPositiveInt('fit', 'epochs', o.epochs);
  const batchSize = o.batchSize === undefined ? 32 : checkPositiveInt('fit', 'batchSize', o.batchSize);
  const initialEpoch = o.initialEpoch === undefined ? 0 : checkNonNegativeInt('fit', 'initialEpoch', o.initialEpoch);
  const verbose = o.verbose ?? 1;
  if (![0, 1, 2].includes(verbose)) throw badOption('fit', 'verbose', '0, 1 or 2', verbose);
  if (o.validationSplit !== undefined && !(o.validationSplit >= 0 && o.validationSplit < 1)) throw badOption('fit', 'validationSplit', 'in [0, 1)', o.validationSplit);
  if (o.shuffle !== undefined && typeof o.shuffle !== 'boolean') throw badOption('fit', 'shuffle', 'a boolean', o.shuffle);
  if (o.microBatchSize !== undefined) checkPositiveInt('fit', 'microBatchSize', o.microBatchSize);
  const callbacks = o.callbacks ?? [];
  if (!Array.isArray(callbacks) || callbacks.some((c) => !(c instanceof Callback))) throw badOption('fit', 'callbacks', 'an array of Callback instances', callbacks);
  const seed = currentSeed(o.seed);

  // Check everything before touching the model, so a bad call changes nothing.
  const x = model.toMatrixInput(xIn, 'x');
  const y = targetsFor(net, yIn, 'y');
  if (x.rows !== y.rows) throw new Error(`x has ${x.rows} rows but y has ${y.rows}: they must match`);
  let val: { x: Matrix; y: Matrix } | undefined;
  if (o.validationData) {
    if (!Array.isArray(o.validationData) || o.validationData.length !== 2) throw badOption('fit', 'validationData', 'a pair [x, y]', typeof o.validationData);
    const vx = model.toMatrixInput(o.validationData[0], 'validationData[0]');
    const vy = targetsFor(net, o.validationData[1], 'validationData[1]');
    if (vx.rows !== vy.rows) throw new Error(`validationData: x has ${vx.rows} rows but y has ${vy.rows}: they must match`);
    val = { x: vx, y: vy };
  }
  const data = shareData(x, y);
  let nTrain = x.rows;
  if (!val && o.validationSplit) {
    nTrain = Math.floor(x.rows * (1 - o.validationSplit));
    const vData: SharedData = { ...data, rows: x.rows - nTrain, x: data.x.subarray(nTrain * data.xCols), y: data.y.subarray(nTrain * data.yCols) };
    val = { x: new Matrix(vData.x, vData.rows, vData.xCols, x.sampleShape), y: new Matrix(vData.y, vData.rows, vData.yCols) };
  }
  if (nTrain === 0) throw new Error('fit: no training rows (x is empty or validationSplit leaves none)');

  const executor = await model.executorFor(o.workers);
  const workers = executor.workers;
  const steps = Math.ceil(nTrain / batchSize);
  const shardRows = shardRowsFor(batchSize, o.microBatchSize);
  const maxShards = Math.ceil(batchSize / shardRows);
  const width = statWidth(plan);
  // Gradient slots and their sum share the model's memory with the weights, for the SIMD kernels.
  const slotStride = lineAligned(net.paramCount);
  const scratch = scratchF32(buffers, (maxShards + 1) * slotStride);
  const slots = scratch.subarray(0, maxShards * slotStride);
  const grad = scratch.subarray(maxShards * slotStride, maxShards * slotStride + net.paramCount);
  const stats = sharedF64(steps * maxShards * width);
  const order = sharedI32(nTrain);
  const control = model.control;

  const history = new History();
  history.params = { epochs, steps, verbose, workers };
  const all: Callback[] = [...callbacks];
  if (verbose > 0) all.push(new ProgbarLogger({ verbose: verbose as 1 | 2 }));
  for (const cb of all) {
    cb.setModel(model);
    cb.setParams({ epochs, steps, verbose });
  }
  model.stopTraining = false;
  const signal = o.signal;
  if (signal?.aborted) throw abortError(signal);

  const metricNames = plan.metrics;
  let logs: Logs = {};
  for (const cb of all) await cb.onTrainBegin({});
  for (let epoch = initialEpoch; epoch < epochs; epoch++) {
    for (const cb of all) await cb.onEpochBegin(epoch, {});
    if (o.shuffle === false) for (let i = 0; i < nTrain; i++) order[i] = i;
    else order.set(permutation(keyFor(seedKey(seed), Purpose.Shuffle, epoch), nTrain));
    for (const f of [Ctrl.Abort, Ctrl.StopRequested, Ctrl.StopDecided, Ctrl.StepsDone, Ctrl.BarrierCount]) Atomics.store(control, f, 0);
    stats.fill(0);
    const timing = sharedF64(Math.max(1, workers) * Timing.Length);

    // Running sums for batch logs, accumulated step by step in shard order.
    const run = { loss: 0, rows: 0, metrics: new Float64Array(2 * metricNames.length), seen: 0 };
    let aborted = false;
    const observe = async (done: number) => {
      for (; run.seen < done; run.seen++) {
        const s = run.seen;
        for (let j = 0; j < maxShards; j++) {
          const at = (s * maxShards + j) * width;
          run.loss += stats[at];
          for (let k = 0; k < run.metrics.length; k++) run.metrics[k] += stats[at + 1 + k];
        }
        run.rows += Math.min(batchSize, nTrain - s * batchSize);
        const batchLogs = epochLogs(run, metricNames, net.metrics);
        for (const cb of all) await cb.onBatchBegin(s, {});
        for (const cb of all) await cb.onBatchEnd(s, batchLogs);
      }
      if (signal?.aborted) aborted = true;
      if (model.stopTraining || aborted) Atomics.store(control, Ctrl.StopRequested, 1);
    };
    const started = performance.now();
    await executor.trainEpoch(
      {
        plan,
        optimizer: { ...optimizer.getConfig(), learningRate: optimizer.learningRate },
        buffers,
        slots,
        slotStride,
        grad,
        stats,
        control,
        timing,
        learningRate: optimizer.learningRate,
        data,
        order,
        batchSize,
        shardRows,
        maxShards,
        epoch,
        seed: seedKey(seed),
        steps,
        plant: plantedBug,
        fault: o.__fault && (o.__fault.epoch ?? initialEpoch) === epoch ? o.__fault : undefined,
      },
      observe,
    );
    const seconds = (performance.now() - started) / 1000;
    if (aborted || signal?.aborted) throw abortError(signal!);
    const done = Atomics.load(control, Ctrl.StepsDone);
    await observe(done);
    logs = epochLogs(run, metricNames, net.metrics);
    if (val) {
      const v = await inference(model, val.x, val.y, { batchSize, workers });
      for (const [k, value] of Object.entries(v.logs!)) logs[`val_${k}`] = value;
    }
    const active = Math.max(1, Math.min(workers, maxShards));
    const per = (k: number) => {
      let sum = 0;
      for (let w = 0; w < active; w++) sum += timing[w * Timing.Length + k];
      return sum / active / Math.max(1, done);
    };
    const t: EpochTiming = { seconds, steps: done, workers: workers === 0 ? 0 : active, computeMsPerStep: per(Timing.Compute), reduceMsPerStep: per(Timing.Reduce), syncMsPerStep: per(Timing.Sync) };
    for (const cb of all) await cb.onEpochEnd(epoch, logs);
    history.record(epoch, logs, t);
    if (model.stopTraining) break;
  }
  for (const cb of all) await cb.onTrainEnd(logs);
  return history;
}

/** Keras's epoch logs: the loss and each metric, averaged over the rows seen. */
function epochLogs(run: { loss: number; rows: number; metrics: Float64Array }, names: string[], metrics: { finish(s: number, c: number): number }[]): Logs {
  const logs: Logs = { loss: run.rows ? run.loss / run.rows : NaN };
  names.forEach((name, k) => (logs[name] = metrics[k].finish(run.metrics[2 * k], run.metrics[2 * k + 1])));
  return logs;
}

