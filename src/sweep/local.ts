/**
 * The sweep runner without a server: jobs train in this process, `concurrency` at a time, each on
 * `workers` threads (docs/sweeps.md has the measurements behind the defaults). Each job checkpoints into
 * its folder after every epoch (`<out>/<id>/checkpoint.json`), so a sweep stopped mid-job and run again
 * continues that job from its last whole epoch, to the same bits.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlannedJob, RunnerEvents } from './events.js';
import { runJob, type Checkpoint, type CheckpointStore } from './run-job.js';
import { holdForTest } from './hold.js';

export interface LocalOptions {
  /** Jobs training at once. */
  concurrency: number;
  /** Worker threads per job; undefined: all cores. */
  workers?: number;
  /** The sweep's --out: checkpoints go to `<out>/<id>/checkpoint.json`. */
  out: string;
}

export const CHECKPOINT_FILE = 'checkpoint.json';

/** Checkpoints as files in the job folders, replaced atomically. */
export function fileCheckpoints(out: string): CheckpointStore & { clear(id: string): Promise<void> } {
  const file = (id: string) => join(out, id, CHECKPOINT_FILE);
  return {
    async load(id) {
      return existsSync(file(id)) ? (JSON.parse(await readFile(file(id), 'utf8')) as Checkpoint) : undefined;
    },
    async save(id, checkpoint) {
      await mkdir(join(out, id), { recursive: true });
      const tmp = `${file(id)}.tmp-${process.pid}`;
      await writeFile(tmp, JSON.stringify(checkpoint));
      await rename(tmp, file(id));
    },
    clear: (id) => rm(file(id), { force: true }),
  };
}

/** Runs every job; a failing job is reported through `events.failed` and the others go on. */
export async function runLocal(jobs: readonly PlannedJob[], o: LocalOptions, events: RunnerEvents): Promise<void> {
  const checkpoints = fileCheckpoints(o.out);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const index = next++;
      const job = jobs[index];
      events.started(job.id);
      let result;
      try {
        const onEpoch = async (epoch: number) => {
          events.epoch(job.id, epoch + 1);
          await holdForTest(index === 0, epoch, (line) => process.stderr.write(`${job.id}: ${line}\n`));
        };
        result = await runJob(job.spec, { workers: o.workers, checkpoints, onEpoch });
      } catch (err) {
        await events.failed(job, (err as Error).message ?? String(err));
        continue;
      }
      await events.finished(result);
      await checkpoints.clear(job.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, lane));
}
