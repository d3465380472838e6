/**
 * The CLI's `sweep`, `worker` and `ensemble` commands, once main.ts has parsed their options; the work is in
 * src/sweep/.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Logs } from '../index.js';
import { PREPROCESSING_FILE, requirePreprocessing } from '../data/index.js';
import { Ensemble } from '../sweep/ensemble.js';
import { parseGrid, parseSeeds } from '../sweep/grid.js';
import { parseQueueUrl } from '../sweep/redis.js';
import { sweep, type SweepOptions } from '../sweep/sweep.js';
import { startWorker } from '../sweep/worker.js';
import { pyFormat } from '../callbacks/format.js';
import { checkDataName, checkFileOptions, loadData, shapedFor } from './data.js';
import type { DataFlags } from './commands.js';
import { EXIT_FAILURE, UsageError } from './errors.js';

type Out = (line: string) => void;

export interface SweepFlags extends DataFlags {
  seeds: string;
  grid?: string[];
  epochs?: number;
  batchSize?: number;
  out: string;
  queue?: string;
  queueName?: string;
  workers?: number;
  concurrency?: number;
  recheck?: number;
  plot?: string;
}

/** Resolves to the exit code: 1 when a job failed (the others still ran). */
export async function sweepCommand(model: string, f: SweepFlags, out: Out): Promise<number> {
  const { seeds, grid, ...rest } = f;
  const o: SweepOptions = { ...rest, model, seeds: parseSeeds(seeds), grid: parseGrid(grid) };
  const { failures } = await sweep(o, out);
  return failures.length > 0 ? EXIT_FAILURE : 0;
}

export interface WorkerFlags {
  queue: string;
  queueName?: string;
  workers?: number;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalled?: number;
  dataRoot?: string;
  maxParams?: number;
  maxDataMb?: number;
}

/** Runs until SIGINT or SIGTERM; then finishes the job in hand (a second signal stops at once). */
export async function workerCommand(f: WorkerFlags, out: Out): Promise<void> {
  const address = parseQueueUrl(f.queue, f.queueName);
  const stamp = () => new Date().toISOString().slice(11, 19);
  const worker = await startWorker(address, {
    workers: f.workers,
    lockDuration: f.lockDuration,
    stalledInterval: f.stalledInterval,
    maxStalledCount: f.maxStalled,
    dataRoot: f.dataRoot,
    maxParams: f.maxParams,
    maxDataBytes: f.maxDataMb === undefined ? undefined : f.maxDataMb * (1 << 20),
    log: (line) => out(`${stamp()} ${line}`),
  });
  const data = f.dataRoot === undefined ? 'built-in data only (no --data-root)' : `data files under ${f.dataRoot}`;
  out(`${stamp()} worker ${process.pid} waiting for jobs on the queue ${address.name} at ${address.display}; ${data}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      out(`${stamp()} ${signal}: finishing the current job, then stopping (send it again to stop now)`);
      process.once(signal, () => process.exit(130));
      void worker.close().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

export interface EnsembleFlags {
  data: string;
  limit?: number;
  batchSize?: number;
  workers?: number;
  y?: string;
  json?: boolean;
}

/** The model directories under `targets`: each a model directory, or a folder of them (a sweep's --out). */
export function memberDirs(targets: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const t of targets) {
    if (!existsSync(t) || !statSync(t).isDirectory())
      throw new UsageError(`${t} is not a directory: give model directories or a sweep's --out`);
    if (existsSync(join(t, 'model.json'))) {
      dirs.push(t);
      continue;
    }
    const inner = readdirSync(t, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(t, e.name, 'model.json')))
      .map((e) => e.name)
      // seed2 before seed10
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((name) => join(t, name));
    if (inner.length === 0) throw new UsageError(`${t} holds no model.json, nor folders with one`);
    dirs.push(...inner);
  }
  return dirs;
}

/** For a CSV: the members' preprocessing.json, which each must have and all must share (a sweep's members do). */
async function commonPreprocessing(dirs: string[]) {
  const all = [];
  for (const d of dirs) all.push(await requirePreprocessing(d));
  const first = JSON.stringify(all[0]);
  const odd = all.findIndex((p) => JSON.stringify(p) !== first);
  if (odd > 0)
    throw new Error(
      `${join(dirs[odd], PREPROCESSING_FILE)} differs from ${join(dirs[0], PREPROCESSING_FILE)}: the models read a CSV into different inputs, so their predictions cannot be averaged on one`,
    );
  return all[0];
}

export async function ensembleCommand(targets: string[], f: EnsembleFlags, out: Out): Promise<void> {
  checkDataName(f.data);
  checkFileOptions(f.data, { y: f.y });
  const dirs = memberDirs(targets);
  const models = [];
  try {
    for (const d of dirs) models.push(await loadModel(d));
    const ensemble = new Ensemble(models);
    const preprocessing = f.data.toLowerCase().endsWith('.csv') ? await commonPreprocessing(dirs) : undefined;
    const data = shapedFor(
      await loadData(f.data, f.limit, { y: f.y, preprocessing, requireTargets: true, split: 'test' }),
      models[0].inputSampleShape(),
    );
    if (data.y === undefined)
      throw new UsageError(`--data ${f.data} has no targets (y), which ensemble needs to score`);
    const scores = await ensemble.evaluate(data.x, data.y, { batchSize: f.batchSize, workers: f.workers });
    if (f.json) {
      out(
        JSON.stringify({
          data: data.name,
          rows: data.x.rows,
          members: dirs.map((d, i) => ({ dir: d, ...scores.members[i] })),
          meanOfMembers: scores.meanOfMembers,
          ensemble: scores.ensemble,
        }),
      );
      return;
    }
    const keys = Object.keys(scores.ensemble);
    const rows = [
      ['model', ...keys],
      ...dirs.map((d, i) => [d, ...row(scores.members[i], keys)]),
      ['mean of the members', ...row(scores.meanOfMembers, keys)],
      [`ensemble (average of ${dirs.length})`, ...row(scores.ensemble, keys)],
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    out(
      `${dirs.length} model${dirs.length === 1 ? '' : 's'} on ${data.name} (${data.x.rows} rows), each alone and their predictions averaged:`,
    );
    for (const r of rows)
      out(`  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`);
  } finally {
    for (const m of models) await m.dispose();
  }
}

function row(logs: Logs, keys: string[]): string[] {
  return keys.map((k) => pyFormat(logs[k], '.4f'));
}
