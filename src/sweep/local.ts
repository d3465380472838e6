/**
 * The sweep runner without a server: jobs train in this process, `concurrency` at a time, each on
 * `workers` threads. docs/sweeps.md has the measurements behind the defaults.
 */
import type { PlannedJob, RunnerEvents } from './events.js';
import { runJob } from './run-job.js';

export interface LocalOptions {
  /** Jobs training at once. */
  concurrency: number;
  /** Worker threads per job; undefined: all cores. */
  workers?: number;
}

/** Runs every job; a failing job is reported through `events.failed` and the others go on. */
export async function runLocal(jobs: readonly PlannedJob[], o: LocalOptions, events: RunnerEvents): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      events.started(job.id);
      let result;
      try {
        result = await runJob(job.spec, { workers: o.workers });
      } catch (err) {
        await events.failed(job, (err as Error).message ?? String(err));
        continue;
      }
      await events.finished(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, lane));
}
