/**
 * The sweep runner over a BullMQ queue: the sweep adds one job per combination (the sweep's id and the job's
 * as BullMQ's jobId, so a job already queued or finished is not added twice), then collects each result from
 * the job's return value, checks it whole (result-check.ts), writes it to `--out` and removes the job from
 * Redis. Workers (worker.ts) on any machine take them.
 *
 * A job that failed in an earlier sweep is retried; one that completed while no sweep was watching is
 * collected now. QueueEvents wakes the loop as soon as a job changes state; a slow poll backs it up.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { PlannedJob, RunnerEvents } from './events.js';
import type { QueueAddress } from './redis.js';
import { BadResult, checkResult } from './result-check.js';
import { cleanText } from './printable.js';

export interface QueueRunOptions {
  /**
   * The sweep's own id (sweep.json's `sweepId`): every BullMQ job id starts with it, so two sweeps on one
   * queue never take, collect or remove each other's jobs, even jobs of the same spec.
   */
  scope: string;
  /** Appended to each BullMQ job id (`.recheck` for the re-runs of --recheck). */
  tag?: string;
  /** Milliseconds between state checks when no event arrives. Default 1000. */
  pollMs?: number;
}

/** The BullMQ job id of `id` in a sweep: `<sweepId>.<job id>[tag]`. */
export function queueJobId(id: string, o: Pick<QueueRunOptions, 'scope' | 'tag'>): string {
  return `${o.scope}.${id}${o.tag ?? ''}`;
}

export async function runOnQueue(
  jobs: readonly PlannedJob[],
  address: QueueAddress,
  events: RunnerEvents,
  o: QueueRunOptions,
): Promise<void> {
  const opts = { connection: address.connection, prefix: address.prefix };
  const queue = new Queue(address.name, opts);
  const queueEvents = new QueueEvents(address.name, opts);
  // Connection errors would else be unhandled 'error' events; the awaited calls below report them.
  queue.on('error', () => {});
  queueEvents.on('error', () => {});
  try {
    await queueEvents.waitUntilReady();
    // Only the ids this sweep queued are ever looked at: a result is found by its job, never by what it says.
    const byId = new Map(jobs.map((j) => [queueJobId(j.id, o), j]));
    const pending = new Set(byId.keys());
    const active = new Set<string>();
    let wake = () => {};
    for (const e of ['active', 'completed', 'failed'] as const) queueEvents.on(e, () => wake());
    const start = (qid: string) => {
      if (active.has(qid)) return;
      active.add(qid);
      events.started(byId.get(qid)!.id);
    };
    queueEvents.on('progress', ({ jobId, data }) => {
      const epoch = (data as { epoch?: unknown })?.epoch;
      if (
        pending.has(jobId) &&
        Number.isSafeInteger(epoch) &&
        (epoch as number) >= 0 &&
        (epoch as number) <= byId.get(jobId)!.spec.epochs
      ) {
        start(jobId);
        events.epoch(byId.get(jobId)!.id, epoch as number);
      }
    });
    await queue.addBulk(
      [...byId].map(([qid, j]) => ({
        name: 'train',
        data: j.spec,
        opts: { jobId: qid, attempts: 1, removeOnComplete: false, removeOnFail: false },
      })),
    );
    // Failed in an earlier sweep (which then stopped before collecting): try again.
    for (const qid of byId.keys())
      if ((await queue.getJobState(qid)) === 'failed') await (await queue.getJob(qid))?.retry('failed');
    while (pending.size > 0) {
      for (const qid of [...pending]) {
        const state = await queue.getJobState(qid);
        if (state === 'active') start(qid);
        else if (state === 'completed' || state === 'failed') {
          const job = await queue.getJob(qid);
          if (!job) continue;
          pending.delete(qid);
          const planned = byId.get(qid)!;
          if (state === 'completed') {
            let result;
            try {
              result = checkResult(job.returnvalue, planned);
            } catch (err) {
              if (!(err instanceof BadResult)) throw err;
              await events.failed(planned, err.message);
            }
            if (result) await events.finished(result);
          } else {
            await events.failed(planned, cleanText(job.failedReason || 'failed without a reason'));
          }
          // The result is in --out now (or was refused); Redis need not keep it, and a re-run queues a bad one again.
          await job.remove();
        } else if (state === 'unknown') {
          throw new Error(
            `job ${qid} disappeared from the queue ${address.name} on ${address.display} (removed by hand?); run the sweep again to re-add it`,
          );
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
