/**
 * The Web Worker entry of the browser build (the Node pool's is engine-worker.ts; both hand tasks to
 * src/engine/worker-task.ts). Requests are handled one at a time in arrival order; a task's failure is sent back
 * as its answer, naming the worker and the step.
 */
import { handleTask } from '../src/engine/worker-task.js';
import type { WorkerReply, WorkerRequest } from '../src/browser/web-worker-executor.js';

interface WorkerScope {
  name: string;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(reply: WorkerReply): void;
}
const scope = globalThis as unknown as WorkerScope;
const index = Number(/(\d+)$/.exec(scope.name)?.[1] ?? 0);

let queue: Promise<unknown> = Promise.resolve();
scope.onmessage = (e) => {
  const { id, msg } = e.data;
  queue = queue.then(async () => {
    try {
      scope.postMessage({ id, ok: true, value: await handleTask(msg, index) });
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
