/**
 * `lockstep sweep`: one job per (grid point, seed), run here (local.ts) or on a BullMQ queue (queue.ts),
 * each result written to `--out/<job id>/`; then the summary table, the seeds' spread and the figure.
 * Jobs already done in `--out` are skipped, so running the same command again finishes an interrupted sweep.
 */
import { availableParallelism } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { resolveSpec, type DataFlags } from '../cli/commands.js';
import { checkDataName, checkFileOptions } from '../cli/data.js';
import { exampleSpec } from '../cli/examples.js';
import { UsageError } from '../cli/errors.js';
import { pyFormat } from '../callbacks/format.js';
import { checkJobCount, type GridPoint } from './grid.js';
import { dataFileHash, jobId, type JobSpec } from './job.js';
import type { PlannedJob, RunnerEvents } from './events.js';
import { runLocal } from './local.js';
import { claimOut, specHash, SWEEP_FILE } from './out-dir.js';
import { SweepProgress } from './progress.js';
import { checkReachable, parseQueueUrl } from './redis.js';
import { runJob, type JobResult } from './run-job.js';
import {
  isDone,
  readResult,
  writeFailure,
  writeRecheck,
  writeResult,
  type StoredFailure,
  type StoredResult,
} from './store.js';
import { monitorOf, summaryLines } from './summary.js';
import { plotSweep } from './plot.js';

export interface SweepOptions extends DataFlags {
  /** An example name or a model config file. */
  model: string;
  seeds: number[];
  grid: GridPoint[];
  epochs?: number;
  batchSize?: number;
  out: string;
  /** `redis://HOST:PORT`: put the jobs on this BullMQ queue instead of running them here. */
  queue?: string;
  queueName?: string;
  /** Local runs: worker threads per job (undefined: the default below). */
  workers?: number;
  /** Local runs: jobs at once (undefined: the default below). */
  concurrency?: number;
  /** Run the first N done jobs again and mark any whose weights differ. Default 0. */
  recheck?: number;
  /** The figure's file; default `<out>/sweep.svg`. */
  plot?: string;
}

export interface SweepOutcome {
  results: StoredResult[];
  failures: StoredFailure[];
  /** Jobs found done in --out and not run again. */
  skipped: number;
}

/**
 * The local default: one job at a time on every core. Measured in docs/sweeps.md: on 2 cores, two jobs at
 * once with one worker each gave the same throughput within the machine's noise, and each result came later.
 */
export function localDefaults(o: Pick<SweepOptions, 'workers' | 'concurrency'>): {
  workers?: number;
  concurrency: number;
} {
  return { workers: o.workers, concurrency: o.concurrency ?? 1 };
}

/** Every job of the sweep, in grid-point then seed order. */
export async function planJobs(o: SweepOptions): Promise<PlannedJob[]> {
  checkJobCount(o.seeds.length, o.grid.length);
  const model = await resolveSpec(o.model);
  // A config file travels as JSON inside each job: workers need no copy of it.
  const config = exampleSpec(o.model) ? undefined : (JSON.parse(await readFile(o.model, 'utf8')) as unknown);
  const data: DataFlags = {
    data: o.data,
    target: o.target,
    features: o.features,
    standardize: o.standardize,
    y: o.y,
    limit: o.limit,
    validationSplit: o.validationSplit,
  };
  for (const k of Object.keys(data) as (keyof DataFlags)[]) if (data[k] === undefined) delete data[k];
  // The checks train makes before loading anything, so a queued sweep fails here and not on every worker.
  if (o.data === undefined) {
    if (!model.data) throw new UsageError(`${model.name} names no built-in data: give --data FILE`);
    if (o.target !== undefined || o.features !== undefined || o.standardize || o.y !== undefined)
      throw new UsageError('--target, --features, --standardize and --y need --data FILE');
  } else {
    checkDataName(o.data);
    checkFileOptions(o.data, {
      target: data.target?.split(','),
      features: data.features?.split(','),
      standardize: o.standardize || undefined,
      y: o.y,
    });
  }
  const fileHash = await dataFileHash(data).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot read ${err.path ?? 'the --data file'}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
    );
  });
  const jobs: PlannedJob[] = [];
  for (const point of o.grid) {
    for (const seed of o.seeds) {
      const spec: JobSpec = {
        model: o.model,
        ...(config !== undefined ? { config } : {}),
        seed,
        point,
        epochs: point.epochs ?? o.epochs ?? model.fit.epochs,
        batchSize: point.batchSize ?? o.batchSize ?? model.fit.batchSize,
        validation: o.validationSplit ?? model.fit.validation,
        data,
        ...(fileHash ? { dataFileHash: fileHash } : {}),
      };
      jobs.push({ id: jobId(spec), spec });
    }
  }
  return jobs;
}

export async function sweep(o: SweepOptions, out: (line: string) => void): Promise<SweepOutcome> {
  const address = o.queue === undefined ? undefined : parseQueueUrl(o.queue, o.queueName);
  if (o.queue === undefined && o.queueName !== undefined)
    throw new UsageError('--queue-name needs --queue redis://HOST:PORT');
  if (address && (o.workers !== undefined || o.concurrency !== undefined)) {
    throw new UsageError(
      '--workers and --concurrency apply to a sweep on this machine; with --queue, give --workers to each lockstep worker',
    );
  }
  if (o.plot !== undefined && !['.svg', '.png'].includes(extname(o.plot).toLowerCase())) {
    throw new UsageError(`--plot must name a .svg or .png file. Received: ${JSON.stringify(o.plot)}`);
  }
  const jobs = await planJobs(o);
  const hash = specHash(jobs[0].spec);
  const sweepId = await claimOut(o.out, hash, o.model);
  if (address) await checkReachable(address);
  await mkdir(o.out, { recursive: true });
  await writeFile(
    join(o.out, SWEEP_FILE),
    `${JSON.stringify({ model: o.model, seeds: o.seeds, grid: o.grid, jobs: jobs.map((j) => j.id), sweepId, specHash: hash }, null, 2)}\n`,
  );

  const todo = jobs.filter((j) => !isDone(o.out, j.id));
  const skipped = jobs.length - todo.length;
  const where = address ? `on the queue ${address.name} at ${address.display}` : describeLocal(localDefaults(o));
  out(
    `Sweep of ${jobs.length} job${jobs.length === 1 ? '' : 's'} (${o.grid.length} grid point${o.grid.length === 1 ? '' : 's'} x ${o.seeds.length} seed${o.seeds.length === 1 ? '' : 's'}) into ${o.out}${skipped ? `; ${skipped} already done there, skipped` : ''}; ${todo.length ? where : 'nothing to run'}`,
  );

  const failures: StoredFailure[] = [];
  const progress = new SweepProgress(
    jobs.length,
    todo.map((j) => ({ id: j.id, epochs: j.spec.epochs })),
    out,
  );
  const events: RunnerEvents = {
    started: (id) => progress.started(id),
    epoch: (id, epoch) => progress.epoch(id, epoch),
    async finished(result) {
      const stored = await writeResult(o.out, result);
      const monitor = monitorOf([stored]);
      progress.finished(
        result.id,
        `${monitor} ${pyFormat(stored.metrics[monitor], '.4f')}, weights ${stored.weightsHash.slice(0, 12)}, ${result.seconds.toFixed(1)} s on ${result.host}${result.resumedFromEpoch !== undefined ? `, continued from epoch ${result.resumedFromEpoch}` : ''}`,
      );
    },
    async failed(job, error) {
      failures.push(await writeFailure(o.out, job.spec, job.id, error));
      progress.failed(job.id, error);
    },
  };
  try {
    if (todo.length > 0) {
      if (address) await (await import('./queue.js')).runOnQueue(todo, address, events, { scope: sweepId });
      else await runLocal(todo, { ...localDefaults(o), out: o.out }, events);
    }
  } finally {
    progress.stop();
  }

  const done = jobs.filter((j) => isDone(o.out, j.id));
  if ((o.recheck ?? 0) > 0 && done.length > 0) await recheck(done.slice(0, o.recheck), o, address, sweepId, out);
  const results = await Promise.all(done.map((j) => readResult(o.out, j.id)));
  const lines = summaryLines(results, failures);
  for (const line of lines) out(line);
  await writeFile(join(o.out, 'summary.txt'), `${lines.join('\n')}\n`);
  if (results.length > 0) {
    const monitor = monitorOf(results);
    const plotted = await Promise.all(
      results.map(async (r) => ({
        point: r.point,
        seed: r.seed,
        values:
          (JSON.parse(await readFile(join(o.out, r.id, 'history.json'), 'utf8')) as Record<string, number[]>)[
            monitor
          ] ?? [],
      })),
    );
    const file = o.plot ?? join(o.out, 'sweep.svg');
    await plotSweep(plotted, monitor, file);
    out(`Wrote the figure of each job's ${monitor} and the seeds' spread to ${file}`);
  }
  return { results, failures, skipped };
}

function describeLocal(d: { workers?: number; concurrency: number }): string {
  const threads =
    d.workers === undefined
      ? `all ${availableParallelism()} cores`
      : `${d.workers} worker thread${d.workers === 1 ? '' : 's'}`;
  return d.concurrency === 1
    ? `here, one job at a time on ${threads}`
    : `here, ${d.concurrency} jobs at a time, each on ${threads}`;
}

/**
 * Trains `jobs` again (here, or on the queue under ids `<sweep id>.<id>.recheck`) and records whether the weights
 * match.
 */
async function recheck(
  jobs: PlannedJob[],
  o: SweepOptions,
  address: ReturnType<typeof parseQueueUrl> | undefined,
  sweepId: string,
  out: (line: string) => void,
): Promise<void> {
  out(`Re-running ${jobs.length} job${jobs.length === 1 ? '' : 's'} to check their weights come out the same`);
  const compare = async (r: JobResult) => {
    const first = await readResult(o.out, r.id);
    const same = first.weightsHash === r.fingerprint.weightsHash;
    await writeRecheck(o.out, r.id, { weightsHash: r.fingerprint.weightsHash, same, host: r.host });
    out(
      `  ${r.id}: ${same ? 'the same weights' : `DIFFERENT weights: ${first.weightsHash.slice(0, 16)} on ${first.host}, ${r.fingerprint.weightsHash.slice(0, 16)} on ${r.host}`}`,
    );
  };
  const failed = async (job: PlannedJob, error: string) => out(`  ${job.id}: the re-run failed: ${error}`);
  const events: RunnerEvents = { started: () => {}, epoch: () => {}, finished: compare, failed };
  if (address) {
    await (await import('./queue.js')).runOnQueue(jobs, address, events, { scope: sweepId, tag: '.recheck' });
  } else {
    for (const job of jobs) {
      try {
        await compare(await runJob(job.spec, { workers: localDefaults(o).workers }));
      } catch (err) {
        await failed(job, (err as Error).message);
      }
    }
  }
}
