/**
 * Executors run epochs and inference passes: in this thread (workers: 0) or on a Piscina pool. Both run the
 * same EpochRunner code over the same shared buffers, which is why their results are the same bits.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Ctrl } from './layout.js';
import { abortWorkers } from './barrier.js';
import { EpochRunner, runForward, type ForwardTask, type TrainTask } from './step.js';
import { initBackend, type BackendInfo } from '../backend.js';
import type { Plan } from './network.js';

/** How often fit looks at the step counter to run batch callbacks while workers train. */
const POLL_MS = 25;

/** Node 20 has Atomics.waitAsync; TypeScript's es2022 lib does not declare it yet. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeout: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

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
        await new Promise((r) => setImmediate(r));
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
  /** Settles when the current epoch's workers have all returned. */
  private running?: Promise<void>;

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

  prepare(plan: Plan, params: Float32Array): void {
    const pool = this.piscina();
    // A thread still busy with this when the epoch starts takes its epoch task right after: the other
    // workers wait at the first barrier, as they would for a slow start.
    for (let w = 0; w < this.workers; w++) pool.run({ kind: 'prepare', plan, params }).catch(() => undefined);
  }

  async info(): Promise<(BackendInfo & { threadId: number })[]> {
    const pool = this.piscina();
    return Promise.all(Array.from({ length: this.workers }, () => pool.run({ kind: 'info' })));
  }

  async trainEpoch(task: TrainBase, observe: StepObserver, gate: StepGate): Promise<void> {
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
          // Wake everyone waiting at a barrier or gate: they see Abort and return.
          abortWorkers(control);
          throw error;
        }),
      ),
    );
    let finished = false;
    const idle = settled.then(() => {
      finished = true;
    });
    this.running = idle;
    try {
      if (task.gated) await this.gated(task, gate, idle, () => finished);
      else await this.poll(task, observe, idle, () => finished);
    } catch (err) {
      // A callback threw (or asked to stop through a throw): no worker may touch the model after fit rejects.
      abortWorkers(control);
      await idle;
      throw err;
    } finally {
      if (this.running === idle) this.running = undefined;
    }
    await idle;
    if (failure) {
      const { worker, error } = failure as { worker: number; error: unknown };
      // A thread that threw or died leaves the pool in an unknown state: replace it.
      await this.dispose();
      const done = Atomics.load(control, Ctrl.StepsDone);
      const msg = error instanceof Error ? error.message : String(error);
      const where = /^worker \d+ failed/.test(msg) ? msg : `worker ${worker} failed at epoch ${task.epoch + 1}, step ${done + 1}: ${msg}`;
      throw new WorkerFailure(`lockstep: ${where}`, { cause: error });
    }
  }

  /**
   * The fast path: workers run the whole epoch without waiting for the main thread, which polls the step
   * counter rather than waking on every step: on a machine with as many workers as cores, a main thread
   * that woke up for each step would steal time from a worker and make the others wait at the barrier.
   */
  private async poll(task: TrainBase, observe: StepObserver, idle: Promise<void>, finished: () => boolean): Promise<void> {
    const { control } = task;
    let seen = 0;
    while (!finished()) {
      await Promise.race([idle, new Promise((r) => setTimeout(r, POLL_MS))]);
      const done = Atomics.load(control, Ctrl.StepsDone);
      if (done > seen) {
        seen = done;
        await observe(done);
      }
    }
    const done = Atomics.load(control, Ctrl.StepsDone);
    if (done > seen) await observe(done);
  }

  /** The gated path: wake on each finished step, run its callbacks, then open the next step (or stop). */
  private async gated(task: TrainBase, gate: StepGate, idle: Promise<void>, finished: () => boolean): Promise<void> {
    const { control } = task;
    const open = (next: number, go: boolean) => {
      // StopRequested first: a worker that sees the gate open must see the decision too.
      if (!go) Atomics.store(control, Ctrl.StopRequested, 1);
      Atomics.store(control, Ctrl.Gate, next + 1);
      Atomics.notify(control, Ctrl.Gate);
    };
    let go = await gate(0);
    open(0, go);
    for (let next = 1; go && next <= task.steps; next++) {
      while (Atomics.load(control, Ctrl.StepsDone) < next) {
        if (finished()) return; // a worker failed or the epoch was aborted
        const wait = waitAsync(control, Ctrl.StepsDone, next - 1, 1000);
        if (wait.async) await Promise.race([wait.value, idle]);
      }
      go = await gate(next);
      if (next < task.steps) open(next, go);
    }
  }

  /** Resolves once the workers of a running epoch (if any) have returned. */
  async idle(): Promise<void> {
    await this.running;
  }

  async forward(task: ForwardBase): Promise<void> {
    const pool = this.piscina();
    const all = Promise.allSettled(
      Array.from({ length: this.workers }, (_, w) => pool.run({ kind: 'forward', task: { ...task, workerIndex: w, workers: this.workers } })),
    );
    const idle = all.then(() => undefined);
    this.running = idle;
    const results = await all;
    if (this.running === idle) this.running = undefined;
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
