/**
 * Child-process entry: runs ONE benchmark case and prints its result as a single JSON line prefixed with
 * RESULT_PREFIX. run.ts starts one process per case (and per repeat), so the peak RSS reported here belongs to
 * that case alone and worker pools of different cases never share a process.
 *
 *   node dist/bench/case.js '{"runner":"lockstep","model":"mlp","batch":128,"workers":2,"epochs":1,...}'
 *
 * lockstep cases are run here; tfjs-layers peers are delegated to peers-tfjs.ts (loaded only for them, so a
 * lockstep case never loads tfjs-layers).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backendInfo, Callback, initBackend, setRandomSeed, type EpochTiming } from '../src/index.js';
import { MODELS, buildLockstep, headRows, isConvnet, loadData, type ModelName } from './models.js';
import { profileStep, type StepProfile } from './profile-step.js';
import { probeMatmuls, type MatmulProbe } from './matmul-probe.js';
import { probeSimdCeiling, type SimdCeiling } from './simd-ceiling.js';
import { trainingFlopsPerSample } from './flops.js';
import { planOf } from './models.js';
import { shardRowsFor } from '../src/engine/layout.js';

export const RESULT_PREFIX = '@@bench-result ';

export type Runner = 'lockstep' | 'tfjs-wasm' | 'tfjs-cpu' | 'torch' | 'sklearn';

export interface CaseSpec {
  runner: Runner;
  model: ModelName;
  batch: number;
  /**
   * lockstep: pool workers (0 = in process). torch: intra-op threads, or processes with `ddp`. Others: 1 (they use
   * one thread).
   */
  workers: number;
  /**
   * torch only: DistributedDataParallel over `workers` processes of 1 thread each (gloo), the batch split between
   * them.
   */
  ddp?: boolean;
  /** Timed epochs (after the warm-up). */
  epochs: number;
  /** Keep only the first `rows` training rows (quick runs); undefined = all. */
  rows?: number;
  /** Score only the first `testRows` test rows; undefined = all. */
  testRows?: number;
  /** Score the test set at the end (peers skip it after their first repeat; lockstep always scores). */
  evaluate: boolean;
  /**
   * Steps of warm-up before timing (default: the model's `warmup.steps`). lockstep runs them as at most the
   * model's `warmup.maxEpochs` epochs over the first rows (6 for the MLPs, 1 for the convnet). V8 keeps
   * compiling the per-step code for about 2,500 steps, and on a machine with as many workers as cores that
   * compiling takes turns with the workers. Measured with `node --trace-opt` over a 10-epoch fit of the MNIST
   * MLP on 2 workers: 242, 186, 58, 148 and 30 ms of compiling in epochs 2 to 6, then under 15 ms an epoch;
   * epochs 4-6 ran at 0.89-0.93 s with 0.10-0.18 ms of sync per step, epochs 7-10 at 0.81-0.83 s with 0.02-0.05.
   */
  warmupSteps: number;
  /** Peers only: time at most this many steps and extrapolate to s/epoch; 0 = whole epochs. */
  maxSteps: number;
  /** Peers only: stop the timed part after this many seconds, whatever maxSteps says (0 = no cap). */
  maxSeconds: number;
  seed: number;
}

export interface CaseResult {
  spec: CaseSpec;
  /** Seconds per timed epoch; extrapolated from the steps timed when `extrapolated`. */
  epochSeconds: number[];
  /** Steps in one full epoch over the training rows. */
  stepsPerEpoch: number;
  /** Steps actually timed (all epochs together). */
  stepsTimed: number;
  extrapolated: boolean;
  trainRows: number;
  /** lockstep's per-epoch timing (compute / reduce / sync per step). */
  timing?: EpochTiming[];
  /**
   * lockstep: one more epoch with a batch callback registered (fit's step-exact, gated path: the workers
   * wait at every step boundary for the main thread), run after the test set was scored.
   */
  gatedEpochSeconds?: number;
  /** lockstep: the first epoch after the pool started (cold: wasm start-up, JIT), scaled to a full epoch. */
  firstEpochSeconds?: number;
  /** Training loss of the last timed epoch (over the steps run, for peers cut short). */
  finalLoss: number;
  /** Test-set loss and metric (accuracy or MAE) after all the training this case did; NaN when not scored. */
  testLoss: number;
  testMetric: number;
  /** Optimizer steps taken in total, warm-up included: how much training the accuracy reflects. */
  trainedSteps: number;
  /** process.resourceUsage().maxRSS, in MiB (worker threads included). */
  peakRssMiB: number;
  wallSeconds: number;
  backend?: unknown;
  note?: string;
  /** Set when the runner cannot train the model at all (why, in a sentence); nothing is timed then. */
  unsupported?: string;
  /** lockstep convnet cases: a single-thread profile of the gradient step by phase, after the timed epochs. */
  profile?: StepProfile;
  /** lockstep: the model's matmul and convolution FLOPs per training sample (bench/flops.ts). */
  flopsPerSample?: number;
  /** lockstep: each matmul of a step timed alone at a micro-shard's rows, after the timed epochs (matmul-probe.ts). */
  matmulProbe?: MatmulProbe;
  /** lockstep: the WebAssembly SIMD ceiling of one thread, probed after the timed epochs (simd-ceiling.ts). */
  simdCeiling?: SimdCeiling;
  /** lockstep: the case process's cold start (it is a fresh process, like a user's program). */
  cold?: ColdStart;
}

export interface ColdStart {
  /** Seconds from the first fit() call to its first step done (input copy, pool start-up, the step). */
  fitToFirstStep: number;
  /** Seconds from process start to the end of the first epoch over all training rows (data loading included). */
  processToFirstEpochEnd: number;
  /**
   * false when the first epoch was not run over all rows (the convnet warms up on part of one): then the
   * time to its end is the partial epoch's end plus the rest of the epoch at the pace of its steps after the first.
   */
  exact: boolean;
}

/** Runs one lockstep case in this process. */
export async function runLockstepCase(spec: CaseSpec): Promise<CaseResult> {
  const started = performance.now();
  const model = MODELS[spec.model];
  const data = await loadData(model, { rows: spec.rows, testRows: spec.testRows, shared: true });
  // Shared memory up front: fit and evaluate then read the rows without copying them per call.
  const xTrain = data.xTrain.toShared();
  const xTest = data.xTest.toShared();
  const { yTrain, yTest } = data;
  setRandomSeed(spec.seed);
  const net = buildLockstep(model);
  const fitOptions = { batchSize: spec.batch, workers: spec.workers, verbose: 0 as const, seed: spec.seed };

  // Warm-up: starts the pool, initialises wasm in every thread and lets the JIT settle (see warmupSteps).
  // Its first fit is one epoch over all training rows when the warm-up is at least that long: this process
  // is fresh, so that epoch's end is the cold start a user sees (process start to the end of the 1st epoch).
  const stepsPerEpoch = Math.ceil(xTrain.rows / spec.batch);
  const warmSteps = Math.max(1, Math.min(spec.warmupSteps, model.warmup.maxEpochs * stepsPerEpoch));
  let warmHistory;
  let cold: ColdStart;
  let warmTrained = 0;
  if (warmSteps >= stepsPerEpoch) {
    const first = await net.fit(xTrain, yTrain, { ...fitOptions, epochs: 1 });
    cold = {
      fitToFirstStep: first.timing[0].firstStepSeconds ?? NaN,
      processToFirstEpochEnd: performance.now() / 1000,
      exact: true,
    };
    const rest = warmSteps - stepsPerEpoch;
    const restEpochs = Math.min(model.warmup.maxEpochs - 1, Math.ceil(rest / stepsPerEpoch));
    if (rest > 0 && restEpochs > 0) {
      const warm = headRows({ x: xTrain, y: yTrain }, Math.ceil(rest / restEpochs) * spec.batch);
      const more = await net.fit(warm.x, warm.y, { ...fitOptions, epochs: restEpochs });
      warmTrained += more.timing.reduce((n, t) => n + t.steps, 0);
    }
    warmHistory = first;
  } else {
    const warm = headRows({ x: xTrain, y: yTrain }, warmSteps * spec.batch);
    warmHistory = await net.fit(warm.x, warm.y, { ...fitOptions, epochs: 1 });
    const t = warmHistory.timing[0];
    // The rest of the epoch at the pace of the steps after the first (the first carries the pool's start-up).
    const first = t.firstStepSeconds ?? 0;
    const pace = t.steps > 1 ? Math.max(0, t.seconds - first) / (t.steps - 1) : t.seconds;
    cold = {
      fitToFirstStep: t.firstStepSeconds ?? NaN,
      processToFirstEpochEnd: performance.now() / 1000 + pace * (stepsPerEpoch - t.steps),
      exact: false,
    };
  }
  const coldEpoch = warmHistory.timing[0];
  warmTrained += warmHistory.timing.reduce((n, t) => n + t.steps, 0);
  const timed = await net.fit(xTrain, yTrain, { ...fitOptions, epochs: spec.epochs });
  const test = await net.evaluate(xTest, yTest, { workers: spec.workers, batchSize: 1024 });
  // A callback with an (empty) batch hook puts fit on the gated path: its cost per step against the timed epochs.
  class BatchHook extends Callback {
    override onBatchEnd(): void {}
  }
  const gated = await net.fit(xTrain, yTrain, { ...fitOptions, epochs: 1, callbacks: [new BatchHook()] });
  await net.dispose();
  const peak = peakRssMiB();
  // The main thread has no backend of its own when workers > 0; start it (after reading the peak) to report it.
  await initBackend();
  const profile = isConvnet(model)
    ? await profileStep(model, xTrain, yTrain as Int32Array, { seed: spec.seed })
    : undefined;
  const plan = planOf(model);
  const matmulProbe = await probeMatmuls(plan, Math.min(xTrain.rows, shardRowsFor(spec.batch)));
  const simdCeiling = await probeSimdCeiling();

  return {
    spec,
    epochSeconds: timed.timing.map((t) => t.seconds),
    stepsPerEpoch,
    stepsTimed: timed.timing.reduce((n, t) => n + t.steps, 0),
    extrapolated: false,
    trainRows: xTrain.rows,
    timing: timed.timing,
    firstEpochSeconds: (coldEpoch.seconds * stepsPerEpoch) / coldEpoch.steps,
    gatedEpochSeconds: gated.timing[0].seconds,
    finalLoss: timed.history.loss.at(-1)!,
    testLoss: test.loss,
    testMetric: test[model.metric],
    trainedSteps: warmTrained + timed.timing.reduce((n, t) => n + t.steps, 0),
    peakRssMiB: peak,
    wallSeconds: (performance.now() - started) / 1000,
    backend: { ...backendInfo(), availableParallelism: availableParallelism() },
    profile,
    flopsPerSample: trainingFlopsPerSample(plan),
    matmulProbe,
    simdCeiling,
    cold,
  };
}

/** Peak resident set size of this process so far, in MiB (Node reports KiB). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Starts a child, waits for it, and parses the RESULT_PREFIX line of its stdout; stderr is kept for errors. */
export function runChild(
  command: string,
  args: string[],
  timeoutMs: number,
  env?: NodeJS.ProcessEnv,
): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as CaseResult);
        return;
      }
      const why =
        signal === 'SIGKILL' ? `timed out after ${Math.round(timeoutMs / 1000)} s` : `exited with ${code ?? signal}`;
      // First line: the error message (what the report shows); then the end of stderr for the JSON.
      const lines = stderr.trim().split('\n').filter(Boolean);
      const message = lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
      reject(
        new Error(
          `${why}${message ? `: ${message.trim()}` : ''}${lines.length ? `\n${lines.slice(-8).join('\n')}` : ''}`,
        ),
      );
    });
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as CaseSpec;
  let result: CaseResult;
  if (spec.runner === 'lockstep') result = await runLockstepCase(spec);
  else if (spec.runner === 'tfjs-wasm' || spec.runner === 'tfjs-cpu')
    result = await (await import('./peers-tfjs.js')).runTfjsCase(spec);
  else
    throw new Error(
      `case.ts runs lockstep and tfjs-layers cases, not '${spec.runner}' (python peers run in peers-python.ts)`,
    );
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    // Exit explicitly: a pool thread or a tfjs handle must not keep the case alive.
    () => process.exit(0),
    (error) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
