/**
 * The data files a queue worker may read for a job: regular files inside its `--data-root`, whose bytes
 * hash to the job's `dataFileHash`. A worker without a data root takes jobs on built-in data only.
 *
 * A job's path is resolved against the root (an absolute path must lie inside it), links are resolved
 * (realpath) and the result must still lie inside the root's real path. The file is opened without following
 * a last link and without blocking (a FIFO would else wait forever), and must be a regular file (no FIFO,
 * device or folder) within the size limit. Its bytes are hashed as they are copied into a private folder,
 * and the loaders read that copy only once its hash matches: what is parsed is what was checked, and a
 * file the job's author could not already hash never reaches a parser, so nothing of it (a header, a value)
 * can come back in an error or a result.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type { DataFlags } from '../cli/commands.js';
import { DATASET_NAMES } from '../cli/catalog.js';
import { UsageError } from '../cli/errors.js';
import type { JobSpec } from './job.js';

/** A worker's default `--max-data-mb`: the bytes of a job's data files, together. */
export const DEFAULT_MAX_DATA_MB = 1024;
const CHUNK = 1 << 20;

export interface StagedData {
  /** The job's data flags with each file replaced by its checked copy. */
  flags: DataFlags;
  /** `message` with each copy's path replaced by the path the job gave. */
  rename(message: string): string;
  remove(): Promise<void>;
}

/** The real path of a worker's `--data-root`, checked to be a folder. */
export async function dataRoot(dir: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch {
    throw new UsageError(`--data-root ${dir}: no such folder`);
  }
  const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isDirectory()) throw new UsageError(`--data-root ${dir} is not a folder`);
  } finally {
    await handle.close();
  }
  return real;
}

const inside = (root: string, path: string) => {
  const r = relative(root, path);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
};

/**
 * Copies the data files `spec` names from `root` (a real path, from `dataRoot`) into a private folder,
 * checking each as above; undefined for a job on built-in data.
 */
export async function stageJobData(
  spec: JobSpec,
  root: string | undefined,
  maxBytes: number,
): Promise<StagedData | undefined> {
  const files = (['data', 'y'] as const)
    .map((flag) => [flag, spec.data[flag]] as const)
    .filter(([, p]) => p !== undefined && !DATASET_NAMES.includes(p));
  if (files.length === 0) return undefined;
  const named = files.map(([flag, p]) => `--${flag} ${p}`).join(', ');
  if (root === undefined)
    throw new UsageError(
      `this worker reads no data files (the job names ${named}): start it with --data-root DIR to serve the files under DIR`,
    );
  const dir = await mkdtemp(join(tmpdir(), 'lockstep-job-data-'));
  const copies: [string, string][] = [];
  try {
    const hash = createHash('sha256');
    let total = 0;
    const flags: DataFlags = { ...spec.data };
    for (const [flag, given] of files) {
      const refuse = (why: string): never => {
        throw new UsageError(`--${flag} ${given}: ${why}`);
      };
      const path = resolve(root, given!);
      if (!inside(root, path)) refuse("is outside this worker's --data-root");
      let real: string;
      try {
        real = await realpath(path);
      } catch {
        return refuse("no such file in this worker's --data-root");
      }
      if (!inside(root, real)) refuse("leads outside this worker's --data-root (through a link)");
      let handle;
      try {
        handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
      } catch (err) {
        return refuse(`cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      try {
        const st = await handle.stat();
        if (!st.isFile()) refuse('is not a regular file');
        if (total + st.size > maxBytes) refuse(`is larger than this worker's --max-data-mb ${maxBytes / (1 << 20)}`);
        const copy = join(dir, flag, basename(given!));
        await mkdir(join(dir, flag));
        const out = await open(copy, 'wx', 0o600);
        try {
          const buffer = Buffer.allocUnsafe(CHUNK);
          for (;;) {
            const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
            if (bytesRead === 0) break;
            total += bytesRead;
            if (total > maxBytes)
              refuse(`grew past this worker's --max-data-mb ${maxBytes / (1 << 20)} while being read`);
            hash.update(buffer.subarray(0, bytesRead));
            await out.write(buffer, 0, bytesRead);
          }
        } finally {
          await out.close();
        }
        flags[flag] = copy;
        copies.push([copy, given!]);
      } finally {
        await handle.close();
      }
    }
    if (hash.digest('hex') !== spec.dataFileHash) {
      throw new UsageError(
        `${named} on this worker holds other bytes than the sweep's copy: put the same file${files.length > 1 ? 's' : ''} under every worker's --data-root`,
      );
    }
    return {
      flags,
      rename: (message) => copies.reduce((m, [copy, given]) => m.split(copy).join(given), message),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
