/**
 * What a worker does with a task, in Node's pool (workers/engine-worker.ts) and in browsers' Web Workers
 * (workers/browser-worker.ts) alike: the entries differ only in how messages arrive.
 */
import { initBackend, backendInfo } from '../backend.js';
import { NO_HOOKS } from '../testing.js';
import { EpochRunner, networkFor, runForward } from './step.js';
import { AbortedError } from './barrier.js';
import { Ctrl } from './layout.js';
import type { WorkerMessage } from './thread-executor.js';

/** Handles one task on the worker numbered `threadId` (the number `info` reports). */
export async function handleTask(msg: WorkerMessage, threadId: number): Promise<unknown> {
  await initBackend();
  if (msg.kind === 'info') return { ...backendInfo(), threadId };
  if (msg.kind === 'prepare') {
    // A fit's head start (see ThreadExecutor.prepare): build the network and its packed kernels now, while the
    // main thread checks and copies the data; the epoch then finds them in networkFor's cache.
    const net = networkFor(msg.plan, NO_HOOKS);
    net.loadWeights(msg.params);
    net.releaseWeights();
    return { threadId };
  }
  if (msg.kind === 'forward') {
    runForward(msg.task);
    return { done: true };
  }
  const task = msg.task;
  const runner = new EpochRunner(task);
  let step = 0;
  try {
    for (; step < task.steps; step++) {
      if (Atomics.load(task.control, Ctrl.Abort)) return { aborted: true };
      if (!runner.passGate(step)) break;
      if (!runner.step(step)) break;
    }
    return { steps: step };
  } catch (err) {
    if (err instanceof AbortedError) return { aborted: true };
    const e = err as Error;
    // Name the worker and the step here: only this thread knows where it was.
    throw new Error(
      `worker ${task.workerIndex} failed at epoch ${task.epoch + 1}, step ${step + 1}: ${e?.message ?? e}`,
      { cause: err },
    );
  } finally {
    runner.release();
  }
}
