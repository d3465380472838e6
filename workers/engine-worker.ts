/**
 * The pool's worker entry. Each worker initialises tfjs-core on the wasm backend once and keeps it; a task
 * is a whole epoch (steps synchronised through shared-memory barriers) or a share of an inference pass.
 */
import { threadId } from 'node:worker_threads';
import { initBackend, backendInfo } from '../src/backend.js';
import { NO_HOOKS } from '../src/testing.js';
import { EpochRunner, networkFor, runForward, type ForwardTask, type TrainTask } from '../src/engine/step.js';
import type { Plan } from '../src/engine/network.js';
import { AbortedError } from '../src/engine/barrier.js';
import { Ctrl } from '../src/engine/layout.js';

export type WorkerMessage =
  | { kind: 'info' }
  | { kind: 'prepare'; plan: Plan; params: Float32Array }
  | { kind: 'train'; task: TrainTask }
  | { kind: 'forward'; task: ForwardTask };

export default async function handle(msg: WorkerMessage): Promise<unknown> {
  await initBackend();
  if (msg.kind === 'info') return { ...backendInfo(), threadId };
  if (msg.kind === 'prepare') {
    // A fit's head start (see PoolExecutor.prepare): build the network and its packed kernels now, while the
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
