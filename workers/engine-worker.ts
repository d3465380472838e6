/**
 * The pool's worker entry. Each worker initialises tfjs-core on the wasm backend once and keeps it; a task
 * is a whole epoch (steps synchronised through shared-memory barriers) or a share of an inference pass
 * (src/engine/worker-task.ts).
 */
import { threadId } from 'node:worker_threads';
import { handleTask } from '../src/engine/worker-task.js';
import type { WorkerMessage } from '../src/engine/thread-executor.js';

export type { WorkerMessage };

export default function handle(msg: WorkerMessage): Promise<unknown> {
  return handleTask(msg, threadId);
}
