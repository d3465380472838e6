/**
 * One job of a sweep: everything a worker on another machine needs to train it (the model as an example
 * name or the config file's JSON, the seed, the grid point, the data flags), and its id. The id is a hash
 * of all that, so the same arguments give the same ids: a re-run skips what `--out` already holds and
 * BullMQ never queues the same job twice.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { DataFlags } from '../cli/commands.js';
import { DATASET_NAMES } from '../cli/catalog.js';
import { canonicalJson } from '../verify/fingerprint.js';
import type { GridPoint } from './grid.js';

export interface JobSpec {
  /** An example name (`mnist-mlp`), or the config file it came from (its JSON is in `config`). */
  model: string;
  /** A config file's parsed JSON, so workers need no copy of the file. */
  config?: unknown;
  seed: number;
  /** The grid values of this job; `learningRate` replaces the compiled optimizer's rate. */
  point: GridPoint;
  epochs: number;
  batchSize: number;
  /** `'test'`: the built-in family's test split; a fraction: Keras's validationSplit. */
  validation: 'test' | number;
  /** The data flags of `train` (on a queue, a `--data` path is relative to each worker's `--data-root`). */
  data: DataFlags;
  /** SHA-256 of the `--data` file (and the `--y` file): a worker reads only a file with these bytes. */
  dataFileHash?: string;
}

/** `seed3-learningRate0.001-3f9a0c1b2d`: readable, and unique for the whole spec. */
export function jobId(spec: JobSpec): string {
  const hash = createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 10);
  const point = Object.entries(spec.point)
    .map(([k, v]) => `-${k}${v}`)
    .join('');
  // BullMQ keys jobs as `<prefix>:<queue>:<id>`: keep ids to letters, digits, '.', '-' and '_'.
  return `seed${spec.seed}${point}-${hash}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

// Hashes by path, size and modification time: the jobs of a sweep read a data file's bytes once.
const hashes = new Map<string, string>();

/** SHA-256 of the files a job reads from disk (`--data`, `--y`), or undefined for built-in data. */
export async function dataFileHash(flags: DataFlags): Promise<string | undefined> {
  const files = [flags.data, flags.y].filter((f): f is string => f !== undefined && !DATASET_NAMES.includes(f));
  if (files.length === 0) return undefined;
  const stats = await Promise.all(files.map((f) => stat(f)));
  // A FIFO would block the read forever, a device never end it.
  stats.forEach((st, i) => {
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { path: files[i] });
  });
  const key = JSON.stringify(files.map((f, i) => [f, stats[i].size, stats[i].mtimeMs]));
  let hash = hashes.get(key);
  if (hash === undefined) {
    const h = createHash('sha256');
    for (const f of files) h.update(await readFile(f));
    hash = h.digest('hex');
    hashes.set(key, hash);
  }
  return hash;
}
