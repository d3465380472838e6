/**
 * The browser build's engine/executors.ts: Web Workers take the Piscina pool's place. Workers share the
 * model's memory, which a page may do only when it is cross-origin isolated; without that, fit, evaluate and
 * predict run on the page's thread when asked to (workers: 0) and say which headers are missing otherwise.
 */
import { InProcessExecutor, type Executor } from '../engine/executor.js';
import { WebWorkerExecutor } from './web-worker-executor.js';
import { backendInfo, initBackend, type BackendInfo } from '../backend.js';

/** The worker count when the caller gives none: the cores the browser reports. */
export function defaultWorkers(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}

/** Why this page cannot run workers, or undefined when it can. */
export function isolationProblem(): string | undefined {
  if (globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function') return undefined;
  return (
    'lockstep: training on Web Workers needs a cross-origin-isolated page (SharedArrayBuffer and Atomics shared with the workers), ' +
    'and this page is not: serve it with the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" ' +
    "(or credentialless), or pass { workers: 0 } to run on the page's own thread"
  );
}

export function createExecutor(workers: number): Executor {
  if (workers === 0) return new InProcessExecutor();
  const problem = isolationProblem();
  if (problem) throw new Error(problem);
  // Resolved against this module: browser-worker.js sits beside it in dist/browser/.
  return new WebWorkerExecutor(workers, new URL('./browser-worker.js', import.meta.url));
}

export async function executorInfo(executor: Executor): Promise<(BackendInfo & { threadId: number })[]> {
  if (executor instanceof WebWorkerExecutor) return executor.info();
  await initBackend();
  return [{ ...backendInfo(), threadId: 0 }];
}
