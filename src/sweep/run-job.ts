/**
 * Trains one job of a sweep, anywhere: the sweep's own process or a queue worker on another machine.
 *
 * After every epoch it can hand a checkpoint (weights, optimizer state, step count, history so far) to a
 * `CheckpointStore`; a job started again with a checkpoint continues from that epoch. lockstep derives
 * shuffling and dropout from (seed, epoch), so the continued run ends with the same bits as an
 * uninterrupted one (test/sweep-queue.test.ts checks it against a local run).
 *
 * The result carries the model files themselves (model.json, weights.bin as base64), so it can travel back
 * through Redis to a sweep without a shared file system.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Callback, type Logs } from '../callbacks/callback.js';
import type { History } from '../history.js';
import type { Matrix } from '../matrix.js';
import type { Model } from '../model.js';
import { savePreprocessing, PREPROCESSING_FILE } from '../data/index.js';
import { buildFor, trainingData, type DataFlags } from '../cli/commands.js';
import { loadData, shapedFor, type Dataset } from '../cli/data.js';
import { exampleSpec, type ModelSpec } from '../cli/examples.js';
import { parseConfig } from '../cli/config.js';
import { EXAMPLE_NAMES } from '../cli/catalog.js';
import { UsageError } from '../cli/errors.js';
import { digestRun } from '../verify/digest.js';
import { canonicalJson, fingerprint, sha256, type Fingerprint } from '../verify/fingerprint.js';
import { dataFileHash, jobId, type JobSpec } from './job.js';
import { paramsOnData } from './job-check.js';

/** A job's state after a whole epoch: enough to continue it bit for bit. */
export interface Checkpoint {
  /** Epochs completed. */
  epoch: number;
  history: Record<string, number[]>;
  /** Every weight, flat, as base64 float32 bytes; then each optimizer state array the same way. */
  params: string;
  state: string[];
  iterations: number;
}

/** Where checkpoints live: Redis for queue workers (queue.ts). */
export interface CheckpointStore {
  load(id: string): Promise<Checkpoint | undefined>;
  save(id: string, checkpoint: Checkpoint): Promise<void>;
}

export interface JobResult {
  id: string;
  spec: JobSpec;
  /** `epoch` and each log key, one value per epoch (Keras's history plus its epoch list). */
  history: Record<string, number[]>;
  /** The last epoch's logs. */
  metrics: Logs;
  fingerprint: Fingerprint;
  optimizerHash: string;
  historyHash: string;
  /** The saved model: model.json's text, weights.bin as base64, and a CSV's preprocessing.json if any. */
  files: { 'model.json': string; 'weights.bin': string; 'preprocessing.json'?: string };
  /** Set when the job continued from a checkpoint: the epochs it did not train again. */
  resumedFromEpoch?: number;
  host: string;
  workers: number | 'all';
  seconds: number;
}

export interface RunJobOptions {
  /** Worker threads for this job; undefined: all cores. */
  workers?: number;
  checkpoints?: CheckpointStore;
  /** Called after every epoch (and its checkpoint), awaited: progress lines. */
  onEpoch?: (epoch: number, logs: Logs) => void | Promise<void>;
  /** The job's data flags with its files replaced by checked copies (data-root.ts): read these instead. */
  dataFiles?: DataFlags;
  /** Refuse a model with more parameters than this on the job's data, before building it. */
  maxParams?: number;
}

const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function f32(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The example or config a job names. */
export function modelSpecOf(spec: JobSpec): ModelSpec {
  if (spec.config !== undefined) return parseConfig(spec.config, spec.model);
  const example = exampleSpec(spec.model);
  if (!example)
    throw new UsageError(
      `unknown example "${spec.model}": a job names an example (${EXAMPLE_NAMES.join(', ')}) or carries its config`,
    );
  return example;
}

interface JobData {
  read: Dataset;
  split: 'test' | number;
  validation?: Dataset;
  /** What `lockstep verify` hashes as the data: x, y and the validation x. */
  dataHash: string;
}

// Jobs of a sweep share their data: MNIST is read (and hashed) once per process, not once per seed.
const dataCache = new Map<string, Promise<JobData>>();

function jobData(model: ModelSpec, spec: JobSpec, flags: DataFlags): Promise<JobData> {
  const key = canonicalJson({
    family: model.data,
    data: spec.data,
    hash: spec.dataFileHash ?? null,
    validation: spec.validation,
  });
  let entry = dataCache.get(key);
  if (!entry) {
    entry = (async () => {
      const { data: read, split } = await trainingData(model, flags, spec.validation);
      const validation = split === 'test' ? await loadData(`${model.data}-test`) : undefined;
      const y = read.y!;
      const dataHash = sha256(
        read.x.data,
        y instanceof Int32Array ? y : y.data,
        ...(validation ? [validation.x.data] : []),
      );
      return { read, split, validation, dataHash };
    })();
    dataCache.set(key, entry);
    entry.catch(() => dataCache.delete(key));
  }
  return entry;
}

/** Stops a diverged job with an error naming the epoch (checked per epoch, so training keeps its fast path). */
class FiniteLoss extends Callback {
  override onEpochEnd(epoch: number, logs?: Logs): void {
    const loss = logs?.loss;
    if (loss !== undefined && !Number.isFinite(loss))
      throw new Error(
        `the loss became ${loss} in epoch ${epoch + 1}: training diverged (a smaller learningRate may help)`,
      );
  }
}

/** Hands the model's state to the store after every epoch. */
class CheckpointEachEpoch extends Callback {
  constructor(
    private readonly id: string,
    private readonly store: CheckpointStore,
    private readonly past: Record<string, number[]>,
    private readonly sequential: Model,
    private readonly onEpoch?: RunJobOptions['onEpoch'],
  ) {
    super();
  }

  override async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    (this.past.epoch ??= []).push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.past[k] ??= []).push(v);
    const snap = this.sequential.snapshot();
    await this.store.save(this.id, {
      epoch: epoch + 1,
      history: this.past,
      params: b64(snap.params),
      state: snap.state.map(b64),
      iterations: snap.iterations,
    });
    await this.onEpoch?.(epoch, logs);
  }
}

class EpochHook extends Callback {
  constructor(private readonly hook: NonNullable<RunJobOptions['onEpoch']>) {
    super();
  }

  override async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    await this.hook(epoch, logs);
  }
}

/** Trains `spec` (continuing from its checkpoint, if the store has one) and returns its result. */
export async function runJob(spec: JobSpec, options: RunJobOptions = {}): Promise<JobResult> {
  const started = performance.now();
  const id = jobId(spec);
  const model = modelSpecOf(spec);
  if (
    options.dataFiles === undefined &&
    spec.dataFileHash !== undefined &&
    (await dataFileHash(spec.data)) !== spec.dataFileHash
  ) {
    throw new Error(
      `--data ${spec.data.data}${spec.data.y ? ` (with --y ${spec.data.y})` : ''} changed since the sweep started (its bytes differ from the job's hash): run the sweep again`,
    );
  }
  const { read, split, validation, dataHash } = await jobData(model, spec, options.dataFiles ?? spec.data);
  const x = spec.data.data === undefined ? undefined : read.x;
  if (options.maxParams !== undefined) {
    const params = await paramsOnData(model, spec, x);
    if (params > options.maxParams)
      throw new UsageError(
        `the model has ${params} parameters on this data, more than this worker's --max-params ${options.maxParams}`,
      );
  }
  const net = buildFor(model, spec.seed, x);
  try {
    if (spec.point.learningRate !== undefined) net.learningRate = spec.point.learningRate;
    const data = shapedFor(read, net.inputSampleShape());
    const val = validation && shapedFor(validation, net.inputSampleShape());
    const checkpoint = await options.checkpoints?.load(id);
    const past: Record<string, number[]> = checkpoint ? structuredClone(checkpoint.history) : {};
    if (checkpoint) {
      net.setWeights(net.weightsOf(f32(checkpoint.params)));
      net.setOptimizerState(checkpoint.state.map(f32), checkpoint.iterations);
    }
    const initialEpoch = checkpoint?.epoch ?? 0;
    const callbacks: Callback[] = [new FiniteLoss()];
    if (options.checkpoints)
      callbacks.push(new CheckpointEachEpoch(id, options.checkpoints, structuredClone(past), net, options.onEpoch));
    else if (options.onEpoch) callbacks.push(new EpochHook(options.onEpoch));
    let history = {
      epoch: past.epoch ?? [],
      history: Object.fromEntries(Object.entries(past).filter(([k]) => k !== 'epoch')),
    };
    if (initialEpoch < spec.epochs) {
      const h = await net.fit(data.x, data.y!, {
        epochs: spec.epochs,
        initialEpoch,
        batchSize: spec.batchSize,
        workers: options.workers,
        seed: spec.seed,
        verbose: 0,
        callbacks,
        ...(val ? { validationData: [val.x, val.y!] as [Matrix, Matrix] } : { validationSplit: split as number }),
      });
      history = {
        epoch: [...history.epoch, ...h.epoch],
        history: Object.fromEntries(
          Object.keys(h.history).map((k) => [k, [...(history.history[k] ?? []), ...h.history[k]]]),
        ),
      };
    }
    const digest = digestRun(net, history as History, options.workers ?? 0);
    // The config `lockstep verify` hashes, so the configHash of a sweep's job and of verify agree.
    const fitConfig = {
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      seed: spec.seed,
      validation: val ? val.name : split,
    };
    const config = {
      model: net.layerConfigs(),
      compile: net.compiledArgs(),
      optimizer: net.optimizer?.getConfig(),
      fit: fitConfig,
    };
    const fp = { ...fingerprint({ config, weights: digest.weights }), dataHash };
    const metrics = Object.fromEntries(Object.entries(history.history).map(([k, v]) => [k, v[v.length - 1]]));
    return {
      id,
      spec,
      history: { epoch: history.epoch, ...history.history },
      metrics,
      fingerprint: fp,
      optimizerHash: digest.optimizerHash,
      historyHash: digest.historyHash,
      files: await modelFiles(net, data),
      ...(checkpoint ? { resumedFromEpoch: checkpoint.epoch } : {}),
      host: hostname(),
      workers: options.workers ?? 'all',
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await net.dispose();
  }
}

/** The model in the TensorFlow.js format, as the bytes `model.save` writes. */
async function modelFiles(net: Model, data: Dataset): Promise<JobResult['files']> {
  const dir = await mkdtemp(join(tmpdir(), 'lockstep-job-'));
  try {
    await net.save(dir);
    if (data.preprocessing) await savePreprocessing(dir, data.preprocessing);
    return {
      'model.json': await readFile(join(dir, 'model.json'), 'utf8'),
      'weights.bin': (await readFile(join(dir, 'weights.bin'))).toString('base64'),
      ...(data.preprocessing ? { 'preprocessing.json': await readFile(join(dir, PREPROCESSING_FILE), 'utf8') } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
