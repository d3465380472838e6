/**
 * Which executor runs a model's work, and how many workers it gets by default. This module is the seam
 * between platforms: the browser build (scripts/build-browser.mjs) replaces it with browser/executors.ts,
 * which runs the same tasks on Web Workers, so nothing Node-only (Piscina, node:os) reaches a page.
 */
import { availableParallelism } from 'node:os';
import { InProcessExecutor, type Executor } from './executor.js';
import { PoolExecutor } from './pool-executor.js';
import { backendInfo, initBackend, type BackendInfo } from '../backend.js';

/** The worker count when the caller gives none: one per core. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** An executor with `workers` threads; 0 runs in this thread. */
export function createExecutor(workers: number): Executor {
  return workers === 0 ? new InProcessExecutor() : new PoolExecutor(workers);
}

/** What each worker of `executor` computes with; this thread's backend for an in-process executor. */
export async function executorInfo(executor: Executor): Promise<(BackendInfo & { threadId: number })[]> {
  if (executor instanceof PoolExecutor) return executor.info();
  await initBackend();
  return [{ ...backendInfo(), threadId: 0 }];
}
