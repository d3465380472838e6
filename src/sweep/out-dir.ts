/**
 * Whether a sweep may write into `--out`: a folder that does not exist or is empty, or one that holds a sweep
 * of the same spec (the same model or config, data flags and data bytes; seeds, grid and epochs may differ,
 * which is how a sweep grows). Anything else is refused before a byte is written, so a typo in `--out` never
 * overwrites someone's files or another sweep's summary.
 *
 * The sweep's id is born with its folder (in sweep.json) and names its jobs on a queue (queue.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../cli/errors.js';
import { canonicalJson, sha256 } from '../verify/fingerprint.js';
import type { JobSpec } from './job.js';

export const SWEEP_FILE = 'sweep.json';
const SWEEP_ID = /^[0-9a-f]{16}$/;

/** What makes two sweeps the same sweep: everything of a job but its seed, grid point, epochs and batch size. */
export function specHash(spec: JobSpec): string {
  const { model, config, data, validation, dataFileHash } = spec;
  return sha256(canonicalJson({ model, config: config ?? null, data, validation, dataFileHash: dataFileHash ?? null }));
}

/** Checks `out` may take this sweep; returns the sweep's id (the one in its sweep.json, or a new one). */
export async function claimOut(out: string, hash: string, model: string): Promise<string> {
  const fresh = () => randomBytes(8).toString('hex');
  if (!existsSync(out)) return fresh();
  if (!(await stat(out)).isDirectory())
    throw new UsageError(`--out ${out} is a file, not a folder: give a new folder for the sweep`);
  const entries = await readdir(out);
  if (entries.length === 0) return fresh();
  const refuse = (why: string): never => {
    throw new UsageError(
      `--out ${out} ${why}; a sweep writes only into a new or empty folder, or into one of its own runs: give another --out`,
    );
  };
  if (!entries.includes(SWEEP_FILE))
    return refuse(`is not empty and holds no ${SWEEP_FILE} (it is not a sweep's folder)`);
  let previous: unknown;
  try {
    previous = JSON.parse(await readFile(join(out, SWEEP_FILE), 'utf8'));
  } catch {
    return refuse(`has a ${SWEEP_FILE} that is not a sweep's`);
  }
  const p = previous as { specHash?: unknown; sweepId?: unknown; model?: unknown; jobs?: unknown };
  if (typeof previous !== 'object' || previous === null) return refuse(`has a ${SWEEP_FILE} that is not a sweep's`);
  // An older lockstep's sweep.json names the model only.
  if (p.specHash === undefined && p.sweepId === undefined && typeof p.model === 'string' && Array.isArray(p.jobs)) {
    if (p.model !== model) refuse(`holds a sweep of ${JSON.stringify(p.model)}`);
    return fresh();
  }
  if (typeof p.specHash !== 'string' || typeof p.sweepId !== 'string' || !SWEEP_ID.test(p.sweepId))
    return refuse(`has a ${SWEEP_FILE} that is not a sweep's`);
  if (p.specHash !== hash) refuse('holds a sweep of another model, config or data');
  return p.sweepId;
}
