/**
 * The fit loop, in the parts a reader follows in order: option checks (`checkFitOptions`), data preparation
 * (`prepareData`: the validation split and one copy into shared memory per call), buffers (`allocBuffers`),
 * callbacks (`CallbackRunner`), one epoch (`runEpoch`, on an executor, gated at every step boundary when batch
 * callbacks or an AbortSignal need it) and timing (`epochTiming`). Epoch logs are computed in a fixed order.
 */
import { Callback, type Logs } from '../callbacks/callback.js';
import { ProgbarLogger } from '../callbacks/progress.js';
import { History, type EpochTiming } from '../history.js';
import { Matrix, type MatrixLike } from '../matrix.js';
import { badOption, checkNonNegativeInt, checkOptionKeys, checkPositiveInt } from '../errors.js';
import { keyFor, permutation, Purpose, seedKey } from '../rng.js';
import { currentSeed } from '../seed.js';
import { testHooksOf, type TaskHooks } from '../testing.js';
import {
  Ctrl,
  Timing,
  lineAligned,
  scratchF32,
  sharedF64,
  sharedI32,
  shardRowsFor,
  type SharedData,
} from './layout.js';
import { statWidth } from './step.js';
import { optimizerConfig } from '../optimizers.js';
import { appendWeights } from '../sample-weights.js';
import { inference, shareData } from './inference.js';
import { allocExchangeArea } from './shard-exchange.js';
import type { Executor } from './executor.js';
import type { CompiledModel, TrainingModel } from './model-interface.js';

/** Several inputs or outputs: an array in model order, or an object keyed by input (output) name. */
export type Many<T> = T | T[] | Record<string, T>;

export interface FitOptions {
  /** Train until this epoch index (Keras semantics: with initialEpoch 5 and epochs 10, runs epochs 5..9). Default 1. */
  epochs?: number;
  /** Rows per gradient step. Default 32. */
  batchSize?: number;
  /** Evaluated at the end of each epoch; its logs get the `val_` prefix. A third item weights its rows. */
  validationData?:
    | [Many<MatrixLike>, Many<MatrixLike | Int32Array>]
    | [Many<MatrixLike>, Many<MatrixLike | Int32Array>, ArrayLike<number>];
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

/** fit's options, checked, with their defaults. */
export interface FitSettings {
  epochs: number;
  batchSize: number;
  initialEpoch: number;
  verbose: 0 | 1 | 2;
  validationSplit: number;
  shuffle: boolean;
  workers?: number;
  callbacks: Callback[];
  seed: number;
  signal?: AbortSignal;
  microBatchSize?: number;
  sampleWeight?: ArrayLike<number>;
  classWeight?: Record<number, number>;
}

/** fit's data, checked against the model and packed: x and y of the same rows, and the validation pair. */
export interface FitData {
  x: Matrix;
  y: Matrix;
  validation?: { x: Matrix; y: Matrix };
  /** One weight per row (sampleWeight or classWeight: see sample-weights.ts), appended to y as one more column. */
  weights?: Float32Array | null;
  /** The weights come from classWeight, which weights the training rows only. */
  classWeighted?: boolean;
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  const err = new Error(
    `lockstep: training aborted${reason instanceof Error ? `: ${reason.message}` : reason !== undefined ? `: ${String(reason)}` : ''}`,
  );
  err.name = 'AbortError';
  return err;
}

// In Keras's order (fit's signature), so the did-you-mean list reads like its documentation.
const FIT_OPTIONS = [
  'epochs',
  'batchSize',
  'validationData',
  'validationSplit',
  'shuffle',
  'verbose',
  'callbacks',
  'classWeight',
  'sampleWeight',
  'initialEpoch',
  'workers',
  'seed',
  'signal',
  'microBatchSize',
] as const;

/** Checks every option of fit (before anything changes) and fills in the defaults. */
export function checkFitOptions(options: FitOptions = {}): FitSettings {
  checkOptionKeys('fit', options, FIT_OPTIONS);
  const o = options ?? {};
  const epochs = o.epochs === undefined ? 1 : checkPositiveInt('fit', 'epochs', o.epochs);
  const batchSize = o.batchSize === undefined ? 32 : checkPositiveInt('fit', 'batchSize', o.batchSize);
  const initialEpoch = o.initialEpoch === undefined ? 0 : checkNonNegativeInt('fit', 'initialEpoch', o.initialEpoch);
  const verbose = o.verbose ?? 1;
  if (![0, 1, 2].includes(verbose)) throw badOption('fit', 'verbose', '0, 1 or 2', verbose);
  if (
    o.validationSplit !== undefined &&
    !(typeof o.validationSplit === 'number' && o.validationSplit >= 0 && o.validationSplit < 1)
  )
    throw badOption('fit', 'validationSplit', 'in [0, 1)', o.validationSplit);
  if (o.shuffle !== undefined && typeof o.shuffle !== 'boolean')
    throw badOption('fit', 'shuffle', 'a boolean', o.shuffle);
  if (o.microBatchSize !== undefined) checkPositiveInt('fit', 'microBatchSize', o.microBatchSize);
  if (o.workers !== undefined) checkNonNegativeInt('fit', 'workers', o.workers);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw badOption('fit', 'signal', 'an AbortSignal', o.signal);
  const callbacks = o.callbacks ?? [];
  if (!Array.isArray(callbacks) || callbacks.some((c) => !(c instanceof Callback)))
    throw badOption('fit', 'callbacks', 'an array of Callback instances', callbacks);
  if (
    o.validationData !== undefined &&
    (!Array.isArray(o.validationData) || (o.validationData.length !== 2 && o.validationData.length !== 3))
  )
    throw badOption('fit', 'validationData', 'a pair [x, y] or a triple [x, y, sampleWeight]', typeof o.validationData);
  return {
    epochs,
    batchSize,
    initialEpoch,
    verbose: verbose as 0 | 1 | 2,
    validationSplit: o.validationSplit ?? 0,
    shuffle: o.shuffle ?? true,
    workers: o.workers,
    callbacks,
    seed: currentSeed(o.seed),
    signal: o.signal,
    microBatchSize: o.microBatchSize,
    sampleWeight: o.sampleWeight,
    classWeight: o.classWeight,
  };
}

/** The training rows in shared memory, and the validation rows (given, or split off the end as Keras does). */
function prepareData(d: FitData, s: FitSettings): { data: SharedData; nTrain: number; val?: { x: Matrix; y: Matrix } } {
  const { x, y } = d;
  if (x.rows !== y.rows) throw new Error(`x has ${x.rows} rows but y has ${y.rows}: they must match`);
  let val: { x: Matrix; y: Matrix } | undefined;
  if (d.validation) {
    const { x: vx, y: vy } = d.validation;
    if (vx.rows !== vy.rows)
      throw new Error(`validationData: x has ${vx.rows} rows but y has ${vy.rows}: they must match`);
    if (vx.rows === 0) throw new Error('fit: validationData has no rows');
    // Copied once for the whole fit: each epoch's validation then reads the same shared rows.
    const vData = shareData(vx, vy);
    val = { x: new Matrix(vData.x, vData.rows, vData.xCols), y: new Matrix(vData.y, vData.rows, vData.yCols) };
  }
  let nTrain = x.rows;
  if (val === undefined && s.validationSplit) {
    nTrain = Math.floor(x.rows * (1 - s.validationSplit));
    if (nTrain === x.rows) {
      throw new RangeError(
        `fit: validationSplit=${s.validationSplit} of ${x.rows} rows leaves no validation rows; use a larger split, more rows or no validationSplit`,
      );
    }
  }
  if (nTrain === 0)
    throw new Error(
      `fit: no training rows (x has ${x.rows} rows${s.validationSplit ? ` and validationSplit=${s.validationSplit} holds them all out` : ''})`,
    );
  // Weighted rows carry their weight as one more target column; class weights apply to training rows only.
  const weights = d.weights ?? null;
  if (weights && d.classWeighted) weights.fill(1, nTrain);
  // The caller's arrays as they are now: a copy per call, so a buffer refilled between calls is seen fresh.
  const data = shareData(x, weights ? appendWeights(y, weights) : y);
  if (val === undefined && nTrain < x.rows) {
    const vData: SharedData = {
      ...data,
      rows: x.rows - nTrain,
      x: data.x.subarray(nTrain * data.xCols),
      y: data.y.subarray(nTrain * data.yCols),
    };
    val = {
      x: new Matrix(vData.x, vData.rows, vData.xCols, x.sampleShape),
      y: new Matrix(vData.y, vData.rows, vData.yCols),
    };
  }
  return { data, nTrain, val };
}

/** The shared memory of one fit: gradient slots and their sum (beside the weights), stats, exchange, order. */
function allocBuffers(c: CompiledModel, s: FitSettings, nTrain: number) {
  const { net, buffers } = c;
  const steps = Math.ceil(nTrain / s.batchSize);
  const shardRows = shardRowsFor(s.batchSize, s.microBatchSize);
  const maxShards = Math.ceil(s.batchSize / shardRows);
  const width = statWidth(net);
  // Gradient slots and their sum share the model's memory with the weights, for the SIMD kernels.
  const slotStride = lineAligned(net.paramCount);
  const scratch = scratchF32(buffers, (maxShards + 1) * slotStride);
  return {
    steps,
    shardRows,
    maxShards,
    width,
    slotStride,
    slots: scratch.subarray(0, maxShards * slotStride),
    grad: scratch.subarray(maxShards * slotStride, maxShards * slotStride + net.paramCount),
    stats: sharedF64(steps * maxShards * width),
    // Whole-batch statistics (BatchNormalization): one slot per shard, sized from the plan.
    exchange: allocExchangeArea(net.syncWidth, maxShards),
    order: sharedI32(nTrain),
    rate: sharedF64(1),
  };
}
type FitBuffers = ReturnType<typeof allocBuffers>;

/** Runs the callbacks in order, while no worker touches the model (so they may set weights or the rate). */
class CallbackRunner {
  readonly all: Callback[];
  readonly progbar?: ProgbarLogger;

  constructor(
    private readonly model: TrainingModel,
    callbacks: Callback[],
    params: { epochs: number; steps: number; verbose: 0 | 1 | 2 },
  ) {
    this.all = [...callbacks];
    if (params.verbose > 0) this.all.push((this.progbar = new ProgbarLogger({ verbose: params.verbose as 1 | 2 })));
    for (const cb of this.all) {
      cb.setModel(model);
      cb.setParams(params);
    }
  }

  /** Batch hooks and abort signals need the workers to wait at every step boundary (see README). */
  needsStepBoundary(signal?: AbortSignal): boolean {
    return signal !== undefined || this.all.some((cb) => cb.needsStepBoundary);
  }

  async call(hook: (cb: Callback) => void | Promise<void>): Promise<void> {
    this.model.callbackDepth++;
    try {
      for (const cb of this.all) await hook(cb);
    } finally {
      this.model.callbackDepth--;
    }
  }
}

const checkInterrupt = (model: TrainingModel) => {
  if (model.fitInterrupted) throw model.fitInterrupted;
};

/** Running sums of a step's stats, in shard order, for the batch and epoch logs. */
interface RunningStats {
  sums: Float64Array;
  rows: number;
  seen: number;
}

/** What one epoch reports: its logs, the steps done, the time, and whether it was aborted. */
interface EpochResult {
  run: RunningStats;
  done: number;
  seconds: number;
  timing: Float64Array;
}

/** One epoch: shuffles, resets the control block, runs the steps on the executor with the batch callbacks. */
async function runEpoch(
  model: TrainingModel,
  c: CompiledModel,
  s: FitSettings,
  hooks: TaskHooks,
  b: FitBuffers,
  data: SharedData,
  nTrain: number,
  epoch: number,
  executor: Executor,
  cbs: CallbackRunner,
  gated: boolean,
  sawSteps: (done: number) => void,
): Promise<EpochResult> {
  const { net, plan, optimizer, buffers } = c;
  const { control } = model;
  const { steps, maxShards, width, order, stats, rate } = b;
  if (!s.shuffle) for (let i = 0; i < nTrain; i++) order[i] = i;
  else order.set(permutation(keyFor(seedKey(s.seed), Purpose.Shuffle, epoch), nTrain));
  for (const f of [Ctrl.Abort, Ctrl.StopRequested, Ctrl.StopDecided, Ctrl.StepsDone, Ctrl.BarrierCount, Ctrl.SyncCount])
    Atomics.store(control, f, 0);
  Atomics.store(control, Ctrl.Gate, gated ? 0 : steps);
  rate[0] = optimizer.learningRate;
  stats.fill(0);
  const timing = sharedF64(Math.max(1, executor.workers) * Timing.Length);
  const signal = s.signal;

  const run: RunningStats = { sums: new Float64Array(width), rows: 0, seen: 0 };
  let aborted = false;
  const batchEnd = async (step: number) => {
    for (let j = 0; j < maxShards; j++) {
      const at = (step * maxShards + j) * width;
      for (let k = 0; k < width; k++) run.sums[k] += stats[at + k];
    }
    run.rows += Math.min(s.batchSize, nTrain - step * s.batchSize);
    run.seen = step + 1;
    const batchLogs = net.logsOf(run.sums, run.rows);
    await cbs.call((cb) => cb.onBatchEnd(step, batchLogs));
  };
  // Fast path: the callbacks trail the workers (only the progress bar has batch hooks here).
  const observe = async (done: number) => {
    sawSteps(done);
    while (run.seen < done) {
      const step = run.seen;
      await cbs.call((cb) => cb.onBatchBegin(step, {}));
      await batchEnd(step);
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
    if (next < steps) await cbs.call((cb) => cb.onBatchBegin(next, {}));
    // A rate set by any of these callbacks applies from step `next` on.
    rate[0] = optimizer.learningRate;
    return true;
  };
  const started = performance.now();
  await executor.trainEpoch(
    {
      plan,
      optimizer: optimizerConfig(optimizer),
      buffers,
      slots: b.slots,
      slotStride: b.slotStride,
      grad: b.grad,
      stats,
      exchange: b.exchange,
      control,
      timing,
      rate,
      gated,
      data,
      order,
      batchSize: s.batchSize,
      shardRows: b.shardRows,
      maxShards,
      epoch,
      seed: seedKey(s.seed),
      steps,
      hooks: {
        plant: hooks.plant,
        fault: hooks.fault && (hooks.fault.epoch ?? s.initialEpoch) === epoch ? hooks.fault : undefined,
      },
    },
    observe,
    gate,
  );
  const seconds = (performance.now() - started) / 1000;
  checkInterrupt(model);
  if (aborted || signal?.aborted) throw abortError(signal!);
  const done = Atomics.load(control, Ctrl.StepsDone);
  await observe(done);
  return { run, done, seconds, timing };
}

/** Where an epoch's time went, per step, averaged over the workers that trained. */
function epochTiming(
  r: EpochResult,
  workers: number,
  maxShards: number,
  exchange: boolean,
  firstStepSeconds: number | undefined,
): EpochTiming {
  const active = Math.max(1, Math.min(workers, maxShards));
  const per = (k: number) => {
    let sum = 0;
    for (let w = 0; w < active; w++) sum += r.timing[w * Timing.Length + k];
    return sum / active / Math.max(1, r.done);
  };
  return {
    seconds: r.seconds,
    steps: r.done,
    workers: workers === 0 ? 0 : active,
    computeMsPerStep: per(Timing.Compute),
    reduceMsPerStep: per(Timing.Reduce),
    syncMsPerStep: per(Timing.Sync),
    ...(exchange ? { exchangeMsPerStep: per(Timing.Exchange), exchangesPerStep: per(Timing.Gathers) } : {}),
    ...(firstStepSeconds !== undefined ? { firstStepSeconds } : {}),
  };
}

/**
 * Trains `model` on `d` (checked and packed by the model) with settings from `checkFitOptions`. `executor`
 * may still be starting: its threads start while the model checked and copied the data.
 */
export async function fit(
  model: TrainingModel,
  c: CompiledModel,
  d: FitData,
  s: FitSettings,
  executorReady: Promise<Executor>,
  calledAt = performance.now(),
): Promise<History> {
  const hooks = testHooksOf(model);
  const { data, nTrain, val } = prepareData(d, s);
  const executor = await executorReady;
  const workers = executor.workers;
  const b = allocBuffers(c, s, nTrain);
  const { epochs, verbose } = s;
  const history = new History();
  history.params = { epochs, steps: b.steps, verbose, workers };
  const cbs = new CallbackRunner(model, s.callbacks, { epochs, steps: b.steps, verbose });
  model.stopTraining = false;
  if (s.signal?.aborted) throw abortError(s.signal);
  const gated = cbs.needsStepBoundary(s.signal);
  const { control } = model;
  let logs: Logs = {};
  // When this call's first step completed (cold start: input checks and copy, pool start-up, first step).
  let firstStepAt: number | undefined;
  const sawSteps = (done: number) => {
    if (done > 0 && firstStepAt === undefined) firstStepAt = performance.now();
  };
  try {
    await cbs.call((cb) => cb.onTrainBegin({}));
    for (let epoch = s.initialEpoch; epoch < epochs; epoch++) {
      checkInterrupt(model);
      await cbs.call((cb) => cb.onEpochBegin(epoch, {}));
      checkInterrupt(model);
      const coldEpoch = firstStepAt === undefined;
      const r = await runEpoch(model, c, s, hooks, b, data, nTrain, epoch, executor, cbs, gated, sawSteps);
      logs = c.net.logsOf(r.run.sums, r.run.rows);
      if (val) {
        const v = await inference(
          { ...c, params: model.currentParams(), control, hooks, fitInterrupted: () => model.fitInterrupted },
          val.x,
          val.y,
          { owner: 'evaluate', batchSize: s.batchSize },
          executor,
        );
        for (const [k, value] of Object.entries(v.logs!)) logs[`val_${k}`] = value;
      }
      const t = epochTiming(
        r,
        workers,
        b.maxShards,
        b.exchange !== null,
        coldEpoch && firstStepAt !== undefined ? (firstStepAt - calledAt) / 1000 : undefined,
      );
      await cbs.call((cb) => cb.onEpochEnd(epoch, logs));
      history.record(epoch, logs, t);
      if (model.stopTraining) break;
    }
    checkInterrupt(model);
    await cbs.call((cb) => cb.onTrainEnd(logs));
  } catch (err) {
    // dispose() during the fit may surface as a pool torn down under a validation pass: say what happened.
    throw model.fitInterrupted ?? err;
  } finally {
    // A fit that stopped early never reached onTrainEnd: give the terminal back (cursor shown).
    cbs.progbar?.close();
    // No worker runs now (executors return only once theirs have): clear the flags an abort left, so a
    // later evaluate or predict is not cut short by them.
    for (const f of [Ctrl.Abort, Ctrl.StopRequested, Ctrl.StopDecided]) Atomics.store(control, f, 0);
  }
  return history;
}
