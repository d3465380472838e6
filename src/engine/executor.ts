/**
 * Executors run epochs and inference passes: in this thread (workers: 0) or on a Piscina pool. Both run the
 * same EpochRunner code over the same shared buffers, which is why their results are the same bits.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Ctrl } from './layout.js';
import { EpochRunner, runForward, type ForwardTask, type TrainTask } from './step.js';
import { initBackend, type BackendInfo } from '../backend.js';

/** How often fit looks at the step counter to run batch callbacks while workers train. */
const POLL_MS = 25;

export type TrainBase = Omit<TrainTask, 'workerIndex' | 'workers'>;
export type ForwardBase = Omit<ForwardTask, 'workerIndex' | 'workers'>;

/** Reports a finished step so fit can run batch callbacks and update the progress bar. */
export type StepObserver = (stepsDone: number) => Promise<void>;

export interface Executor {
  /** 0 means this thread. */
  readonly workers: number;
  trainEpoch(task: TrainBase, observe: StepObserver): Promise<void>;
  forward(task: ForwardBase): Promise<void>;
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

  async trainEpoch(task: TrainBase, observe: StepObserver): Promise<void> {
    await initBackend();
    const runner = new EpochRunner({ ...task, workerIndex: 0, workers: 1 });
    try {
      for (let s = 0; s < task.steps; s++) {
        if (Atomics.load(task.control, Ctrl.Abort)) return;
        const more = runner.step(s);
        await observe(s + 1);
        // Let timers and abort signals run between steps.
        await new Promise((r) => setImmediate(r));
        if (!more) return;
      }
    } finally {
      runner.release();
    }
  }

  async forward(task: ForwardBase): Promise<void> {
    await initBackend();
    runForward({ ...task, workerIndex: 0, workers: 1 });
  }

  async dispose(): Promise<void> {}
}

/** The compiled worker entry; tests run from src/ but workers always load the built JavaScript. */
export function workerFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const file = join(dir, 'dist', 'workers', 'engine-worker.js');
  if (!existsSync(file)) throw new Error(`lockstep: worker entry ${file} is missing; run \`npm run build\` first`);
  return file;
}

export class PoolExecutor implements Executor {
  private pool: Piscina | null = null;

  constructor(readonly workers: number) {}

  private piscina(): Piscina {
    // minThreads = maxThreads and one task per thread: the W tasks of an epoch land on W distinct threads,
    // which the barriers require.
    this.pool ??= new Piscina({
      filename: workerFile(),
      minThreads: this.workers,
      maxThreads: this.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
    });
    return this.pool;
  }

  async info(): Promise<(BackendInfo & { threadId: number })[]> {
    const pool = this.piscina();
    return Promise.all(Array.from({ length: this.workers }, () => pool.run({ kind: 'info' })));
  }

  async trainEpoch(task: TrainBase, observe: StepObserver): Promise<void> {
    const pool = this.piscina();
    const { control } = task;
    // A batch has at most maxShards shards: more workers would only wait at the barriers.
    const active = Math.min(this.workers, task.maxShards);
    const runs = Array.from({ length: active }, (_, w) => pool.run({ kind: 'train', task: { ...task, workerIndex: w, workers: active } }));
    let failure: { worker: number; error: unknown } | null = null;
    const settled = Promise.allSettled(
      runs.map((p, w) =>
        p.catch((error) => {
          if (!failure) failure = { worker: w, error };
          // Wake everyone waiting at a barrier: they see Abort and return.
          Atomics.store(control, Ctrl.Abort, 1);
          Atomics.notify(control, Ctrl.BarrierGeneration);
          throw error;
        }),
      ),
    );
    let finished = false;
    void settled.then(() => (finished = true));
    // Poll rather than wake on every step: on a machine with as many workers as cores, a main thread that
    // woke up for each step would steal time from a worker and make the others wait at the barrier.
    let seen = 0;
    while (!finished) {
      await Promise.race([settled, new Promise((r) => setTimeout(r, POLL_MS))]);
      const done = Atomics.load(control, Ctrl.StepsDone);
      if (done > seen) {
        seen = done;
        await observe(done);
      }
    }
    const done = Atomics.load(control, Ctrl.StepsDone);
    if (done > seen) await observe(done);
    if (failure) {
      const { worker, error } = failure as { worker: number; error: unknown };
      // A thread that threw or died leaves the pool in an unknown state: replace it.
      await this.dispose();
      const msg = error instanceof Error ? error.message : String(error);
      const where = /^worker \d+ failed/.test(msg) ? msg : `worker ${worker} failed at epoch ${task.epoch + 1}, step ${done + 1}: ${msg}`;
      throw new WorkerFailure(`lockstep: ${where}`, { cause: error });
    }
  }

  async forward(task: ForwardBase): Promise<void> {
    const pool = this.piscina();
    const results = await Promise.allSettled(
      Array.from({ length: this.workers }, (_, w) => pool.run({ kind: 'forward', task: { ...task, workerIndex: w, workers: this.workers } })),
    );
    const bad = results.findIndex((r) => r.status === 'rejected');
    if (bad >= 0) {
      await this.dispose();
      const reason = (results[bad] as PromiseRejectedResult).reason;
      throw new WorkerFailure(`lockstep: worker ${bad} failed during inference: ${reason?.message ?? reason}`, { cause: reason });
    }
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.destroy();
  }
}
