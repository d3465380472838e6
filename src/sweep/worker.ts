/**
 * `lockstep worker`: takes sweep jobs from a BullMQ queue, one at a time, trains each on this machine and
 * returns its result (model files included) through Redis.
 *
 * Jobs are untrusted input: each is checked whole (job-check.ts) before anything is read or built, and its
 * data files come from the worker's `--data-root` only, checked against the job's hash (data-root.ts).
 *
 * Faults: the worker checkpoints every job into Redis after each epoch. If it dies, its lock on the job
 * expires after `lockDuration`, another worker's stalled-job check (every `stalledInterval`) puts the job
 * back on the queue, and whoever takes it next continues from the last whole epoch, to the same bits.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logs } from '../callbacks/callback.js';
import { UsageError } from '../cli/errors.js';
import { dataRoot, DEFAULT_MAX_DATA_MB, stageJobData, type StagedData } from './data-root.js';
import { checkJob, DEFAULT_MAX_PARAMS } from './job-check.js';
import { cleanText } from './printable.js';
import { holdForTest } from './hold.js';
import { runJob, type Checkpoint, type CheckpointStore, type JobResult } from './run-job.js';
import { checkpointKey, checkReachable, redisClient, type QueueAddress } from './redis.js';

export interface WorkerOptions {
  /** Worker threads per job; undefined: all cores. Must not be 0: see below. */
  workers?: number;
  /** Milliseconds a job's lock lasts without renewal before the job counts as stalled. BullMQ's default 30000. */
  lockDuration?: number;
  /** Milliseconds between checks for stalled jobs. BullMQ's default 30000. */
  stalledInterval?: number;
  /** Times a job may stall before it fails. Default 2. */
  maxStalledCount?: number;
  /** The folder whose files jobs may read (`--data-root`); without one, only jobs on built-in data run. */
  dataRoot?: string;
  /** The most parameters a job's model may have (`--max-params`). Default DEFAULT_MAX_PARAMS. */
  maxParams?: number;
  /** The most bytes a job's data files may hold together (`--max-data-mb`). Default DEFAULT_MAX_DATA_MB MB. */
  maxDataBytes?: number;
  /** One line per job event. */
  log?: (line: string) => void;
}

export interface RunningWorker {
  /** Finishes the job in hand, then disconnects. */
  close(): Promise<void>;
}

const CHECKPOINT_TTL_SECONDS = 7 * 24 * 3600;

export async function startWorker(address: QueueAddress, o: WorkerOptions = {}): Promise<RunningWorker> {
  // Training in this thread would block the event loop, so the lock would not be renewed and BullMQ would
  // hand the job to another worker while this one still trains it.
  if (o.workers === 0)
    throw new UsageError(
      '--workers must be at least 1 for a queue worker: a job trained in the main thread would stop its lock on the job from being renewed',
    );
  const root = o.dataRoot === undefined ? undefined : await dataRoot(o.dataRoot);
  const maxParams = o.maxParams ?? DEFAULT_MAX_PARAMS;
  const maxDataBytes = o.maxDataBytes ?? DEFAULT_MAX_DATA_MB * (1 << 20);
  await checkReachable(address);
  const log = o.log ?? (() => {});
  const redis = await redisClient(address);
  redis.on('error', () => {});
  const store: CheckpointStore = {
    async load(id) {
      const text = await redis.get(checkpointKey(address, id));
      return text === null ? undefined : (JSON.parse(text) as Checkpoint);
    },
    async save(id, checkpoint) {
      await redis.set(checkpointKey(address, id), JSON.stringify(checkpoint), 'EX', CHECKPOINT_TTL_SECONDS);
    },
  };
  let jobsStarted = 0;
  const processJob = async (job: Job<unknown, JobResult>): Promise<JobResult> => {
    const id = cleanText(job.id, 200);
    log(
      `${id}: started (attempt ${job.attemptsStarted}${job.stalledCounter ? `, after ${job.stalledCounter} stall${job.stalledCounter > 1 ? 's' : ''}` : ''})`,
    );
    const first = jobsStarted++ === 0;
    let result: JobResult;
    let staged: StagedData | undefined;
    try {
      // Nothing is read or built before the whole job passed the checks.
      const { spec } = checkJob(job.data, maxParams);
      staged = await stageJobData(spec, root, maxDataBytes);
      const onEpoch = async (epoch: number, logs: Logs) => {
        log(`${id}: epoch ${epoch + 1}/${spec.epochs} loss ${logs.loss?.toPrecision(5)}`);
        // The sweep's live line follows it through QueueEvents' 'progress'.
        await job.updateProgress({ epoch: epoch + 1 });
        await holdForTest(first, epoch, (line) => log(`${id}: ${line}`));
      };
      result = await runJob(spec, {
        workers: o.workers,
        checkpoints: keyed(store, job.id!),
        onEpoch,
        dataFiles: staged?.flags,
        maxParams,
      });
    } catch (err) {
      const e = err as Error;
      const message = staged ? staged.rename(e.message) : e.message;
      log(`${id}: failed: ${message}`);
      // A bad job fails the same way everywhere: never retry it.
      throw e.name === 'UsageError' ? new UnrecoverableError(message) : Object.assign(e, { message });
    } finally {
      await staged?.remove();
    }
    await redis.del(checkpointKey(address, job.id!));
    log(
      `${id}: done in ${result.seconds.toFixed(1)} s${result.resumedFromEpoch !== undefined ? ` (continued from epoch ${result.resumedFromEpoch})` : ''}, weights ${result.fingerprint.weightsHash.slice(0, 16)}`,
    );
    return result;
  };
  const worker = new Worker<unknown, JobResult>(address.name, processJob, {
    connection: address.connection,
    prefix: address.prefix,
    concurrency: 1,
    lockDuration: o.lockDuration ?? 30_000,
    stalledInterval: o.stalledInterval ?? 30_000,
    maxStalledCount: o.maxStalledCount ?? 2,
  });
  worker.on('error', (err) => log(`queue error: ${err.message}`));
  worker.on('stalled', (id) => log(`${id}: stalled (its worker stopped answering); back on the queue`));
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      redis.disconnect();
    },
  };
}

/** The store under the BullMQ job's id (a re-check of a job keeps its own checkpoints). */
function keyed(store: CheckpointStore, key: string): CheckpointStore {
  return { load: () => store.load(key), save: (_id, c) => store.save(key, c) };
}
