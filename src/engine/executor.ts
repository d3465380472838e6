/**
 * Executors run epochs and inference passes: in this thread (workers: 0) or on worker threads (a Piscina
 * pool in Node, pool-executor.ts; Web Workers in a browser, browser/web-worker-executor.ts). All run the same
 * EpochRunner code over the same shared buffers, which is why their results are the same bits.
 */
import { Ctrl } from './layout.js';
import { EpochRunner, runForward, type ForwardTask, type TrainTask } from './step.js';
import { initBackend } from '../backend.js';
import type { Plan } from './network.js';

export type TrainBase = Omit<TrainTask, 'workerIndex' | 'workers'>;
export type ForwardBase = Omit<ForwardTask, 'workerIndex' | 'workers'>;

/** Reports a finished step so fit can run batch callbacks and update the progress bar (fast path). */
export type StepObserver = (stepsDone: number) => Promise<void>;

/**
 * The gated path's step boundary: runs the callbacks of step `next - 1` (if any) and of `next` (if it
 * exists) while the workers wait; false stops the epoch before step `next`. A throw stops it too.
 */
export type StepGate = (next: number) => Promise<boolean>;

export interface Executor {
  /** 0 means this thread. */
  readonly workers: number;
  /** Runs an epoch: through `gate` at every step boundary when `task.gated`, else reporting to `observe`. */
  trainEpoch(task: TrainBase, observe: StepObserver, gate: StepGate): Promise<void>;
  forward(task: ForwardBase): Promise<void>;
  /** Resolves once no worker runs an epoch (after an abort, the workers' return). */
  idle(): Promise<void>;
  /**
   * Starts the threads and builds `plan`'s network in each, without waiting: fit calls it first, so this
   * start-up overlaps the input checks and the copy into shared memory. Failures surface at the epoch.
   */
  prepare(plan: Plan, params: Float32Array): void;
  dispose(): Promise<void>;
}

/** Raised by fit when a worker threw or died; the model keeps the weights of the last completed step. */
export class WorkerFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WorkerFailure';
  }
}

export class InProcessExecutor implements Executor {
  readonly workers = 0;

  async trainEpoch(task: TrainBase, observe: StepObserver, gate: StepGate): Promise<void> {
    await initBackend();
    const { control } = task;
    const runner = new EpochRunner({ ...task, workerIndex: 0, workers: 1 });
    try {
      if (task.gated && !(await gate(0))) return;
      for (let s = 0; s < task.steps; s++) {
        if (Atomics.load(control, Ctrl.Abort)) return;
        runner.step(s);
        // Let timers and abort signals run between steps.
        await nextTurn();
        if (task.gated) {
          if (!(await gate(s + 1))) return;
        } else {
          await observe(s + 1);
          // Stop right after the step whose callbacks asked for it, as the gated path does.
          if (Atomics.load(control, Ctrl.StopRequested)) return;
        }
      }
    } finally {
      runner.release();
    }
  }

  async forward(task: ForwardBase): Promise<void> {
    await initBackend();
    runForward({ ...task, workerIndex: 0, workers: 1 });
  }

  async idle(): Promise<void> {}

  prepare(): void {}

  async dispose(): Promise<void> {}
}

/**
 * Resolves on a later turn of the event loop, after pending timers and I/O: setImmediate in Node; a
 * MessageChannel message in a browser, where setTimeout(0) is clamped to 4 ms after a few nested calls.
 */
export function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  return new Promise((r) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      r();
    };
    channel.port2.postMessage(null);
  });
}
