/**
 * A sweep's `--out` directory: one folder per job, named by its id.
 *
 *   out/<id>/job.json       what was trained: model, config, seed, grid point, epochs, data flags
 *   out/<id>/history.json   `epoch` and every log key, one value per epoch
 *   out/<id>/model.json, weights.bin (and preprocessing.json for a CSV): the model, as `lockstep train --out` saves it
 *   out/<id>/result.json    final metrics, fingerprint, hashes, where and how long it ran; written last,
 *                           so its presence means the job is done
 *   out/<id>/failed.json    a failed job's error (removed when a later run succeeds)
 *   out/<id>/checkpoint.json   a job in progress (without a queue): its last whole epoch
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logs } from '../callbacks/callback.js';
import type { Fingerprint } from '../verify/fingerprint.js';
import type { JobSpec } from './job.js';
import type { JobResult } from './run-job.js';

export const RESULT_FILE = 'result.json';
export const FAILED_FILE = 'failed.json';

/** result.json: a done job, as the summary and `lockstep ensemble` read it. */
export interface StoredResult {
  id: string;
  model: string;
  seed: number;
  point: JobSpec['point'];
  epochs: number;
  metrics: Logs;
  fingerprint: Fingerprint;
  weightsHash: string;
  optimizerHash: string;
  historyHash: string;
  resumedFromEpoch?: number;
  /** Set by `--recheck`: the weight hash of a second run of the job, and whether it matched. */
  recheck?: { weightsHash: string; same: boolean; host: string };
  host: string;
  workers: number | 'all';
  seconds: number;
}

export interface StoredFailure {
  id: string;
  seed: number;
  point: JobSpec['point'];
  error: string;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

/** A job's folder: `out/<id>`, for a job id only (a name of letters, digits, '.', '-' and '_'; never '..'). */
export function jobDir(out: string, id: string): string {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(id) || /^\.+$/.test(id))
    throw new Error(`not a job id: ${JSON.stringify(String(id)).slice(0, 80)}`);
  return join(out, id);
}

export function isDone(out: string, id: string): boolean {
  return existsSync(join(jobDir(out, id), RESULT_FILE));
}

/** Writes a finished job's folder; result.json goes last. */
export async function writeResult(out: string, r: JobResult): Promise<StoredResult> {
  const dir = jobDir(out, r.id);
  await mkdir(dir, { recursive: true });
  await writeJson(join(dir, 'job.json'), r.spec);
  await writeJson(join(dir, 'history.json'), r.history);
  await writeFile(join(dir, 'weights.bin'), Buffer.from(r.files['weights.bin'], 'base64'));
  await writeFile(join(dir, 'model.json'), r.files['model.json']);
  if (r.files['preprocessing.json'] !== undefined)
    await writeFile(join(dir, 'preprocessing.json'), r.files['preprocessing.json']);
  const stored: StoredResult = {
    id: r.id,
    model: r.spec.model,
    seed: r.spec.seed,
    point: r.spec.point,
    epochs: r.spec.epochs,
    metrics: r.metrics,
    fingerprint: r.fingerprint,
    weightsHash: r.fingerprint.weightsHash,
    optimizerHash: r.optimizerHash,
    historyHash: r.historyHash,
    ...(r.resumedFromEpoch !== undefined ? { resumedFromEpoch: r.resumedFromEpoch } : {}),
    host: r.host,
    workers: r.workers,
    seconds: r.seconds,
  };
  await writeJson(join(dir, RESULT_FILE), stored);
  await rm(join(dir, FAILED_FILE), { force: true });
  return stored;
}

export async function writeFailure(out: string, spec: JobSpec, id: string, error: string): Promise<StoredFailure> {
  const dir = jobDir(out, id);
  await mkdir(dir, { recursive: true });
  const failure = { id, seed: spec.seed, point: spec.point, error };
  await writeJson(join(dir, 'job.json'), spec);
  await writeJson(join(dir, FAILED_FILE), failure);
  return failure;
}

export async function readResult(out: string, id: string): Promise<StoredResult> {
  return JSON.parse(await readFile(join(out, id, RESULT_FILE), 'utf8')) as StoredResult;
}

/** Records a re-run's hash in result.json. */
export async function writeRecheck(
  out: string,
  id: string,
  recheck: NonNullable<StoredResult['recheck']>,
): Promise<StoredResult> {
  const stored = { ...(await readResult(out, id)), recheck };
  await writeJson(join(out, id, RESULT_FILE), stored);
  return stored;
}
