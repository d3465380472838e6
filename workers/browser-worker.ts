/**
 * The Web Worker entry of the browser build (the Node pool's is engine-worker.ts, whose task handling this
 * follows step for step). Requests are handled one at a time in arrival order; a task's failure is sent back
 * as its answer, naming the worker and the step.
 */
import { initBackend, backendInfo } from '../src/backend.js';
import { EpochRunner, networkFor, runForward } from '../src/engine/step.js';
import { AbortedError } from '../src/engine/barrier.js';
import { NO_HOOKS } from '../src/testing.js';
import { Ctrl } from '../src/engine/layout.js';
import type { WorkerMessage } from '../src/engine/thread-executor.js';
import type { WorkerReply, WorkerRequest } from '../src/browser/web-worker-executor.js';

interface WorkerScope {
  name: string;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(reply: WorkerReply): void;
}
const scope = globalThis as unknown as WorkerScope;
const index = Number(/(\d+)$/.exec(scope.name)?.[1] ?? 0);

async function handle(msg: WorkerMessage): Promise<unknown> {
  await initBackend();
  if (msg.kind === 'info') return { ...backendInfo(), threadId: index };
  if (msg.kind === 'prepare') {
    const net = networkFor(msg.plan, NO_HOOKS);
    net.loadWeights(msg.params);
    net.releaseWeights();
    return { threadId: index };
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
    throw new Error(
      `worker ${task.workerIndex} failed at epoch ${task.epoch + 1}, step ${step + 1}: ${e?.message ?? e}`,
      { cause: err },
    );
  } finally {
    runner.release();
  }
}

let queue: Promise<unknown> = Promise.resolve();
scope.onmessage = (e) => {
  const { id, msg } = e.data;
  queue = queue.then(async () => {
    try {
      scope.postMessage({ id, ok: true, value: await handle(msg) });
    } catch (err) {
      const error = err as Error;
      scope.postMessage({
        id,
        ok: false,
        error: { message: String(error?.message ?? error), name: error?.name, stack: error?.stack },
      });
    }
  });
};
