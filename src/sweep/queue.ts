/**
 * The sweep runner over a BullMQ queue: the sweep adds one job per combination (its id as BullMQ's jobId,
 * so a job already queued or finished is not added twice), then collects each result from the job's return
 * value, writes it to `--out` and removes the job from Redis. Workers (worker.ts) on any machine take them.
 *
 * A job that failed in an earlier sweep is retried; one that completed while no sweep was watching is
 * collected now. QueueEvents wakes the loop as soon as a job changes state; a slow poll backs it up.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { PlannedJob, RunnerEvents } from './events.js';
import type { JobResult } from './run-job.js';
import type { QueueAddress } from './redis.js';

export interface QueueRunOptions {
  /** Milliseconds between state checks when no event arrives. Default 1000. */
  pollMs?: number;
}

export async function runOnQueue(jobs: readonly PlannedJob[], address: QueueAddress, events: RunnerEvents, o: QueueRunOptions = {}): Promise<void> {
  const opts = { connection: address.connection, prefix: address.prefix };
  const queue = new Queue(address.name, opts);
  const queueEvents = new QueueEvents(address.name, opts);
  // Connection errors would else be unhandled 'error' events; the awaited calls below report them.
  queue.on('error', () => {});
  queueEvents.on('error', () => {});
  try {
    await queueEvents.waitUntilReady();
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const pending = new Set(byId.keys());
    const active = new Set<string>();
    let wake = () => {};
    for (const e of ['active', 'completed', 'failed'] as const) queueEvents.on(e, () => wake());
    queueEvents.on('progress', ({ jobId, data }) => {
      const epoch = (data as { epoch?: unknown })?.epoch;
      if (pending.has(jobId) && typeof epoch === 'number') {
        if (!active.has(jobId)) {
          active.add(jobId);
          events.started(jobId);
        }
        events.epoch(jobId, epoch);
      }
    });
    await queue.addBulk(jobs.map((j) => ({ name: 'train', data: j.spec, opts: { jobId: j.id, attempts: 1, removeOnComplete: false, removeOnFail: false } })));
    // Failed in an earlier sweep (which then stopped before collecting): try again.
    for (const id of byId.keys()) if ((await queue.getJobState(id)) === 'failed') await (await queue.getJob(id))?.retry('failed');
    while (pending.size > 0) {
      for (const id of [...pending]) {
        const state = await queue.getJobState(id);
        if (state === 'active' && !active.has(id)) {
          active.add(id);
          events.started(id);
        } else if (state === 'completed' || state === 'failed') {
          const job = await queue.getJob(id);
          if (!job) continue;
          pending.delete(id);
          if (state === 'completed') await events.finished(job.returnvalue as JobResult);
          else await events.failed(byId.get(id)!, job.failedReason || 'failed without a reason');
          // The result is in --out now; Redis need not keep the model.
          await job.remove();
        } else if (state === 'unknown') {
          throw new Error(`job ${id} disappeared from the queue ${address.name} on ${address.display} (collected by another sweep of the same jobs, or removed by hand?); run the sweep again to re-add it`);
        }
      }
      if (pending.size === 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.pollMs ?? 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    await queueEvents.close();
    await queue.close();
  }
}
