/**
 * An executor on worker threads: an epoch is one task per worker, synchronised through the shared-memory
 * barriers, with the main thread polling the step counter (fast path) or opening each step (gated path). The
 * Piscina pool (Node, pool-executor.ts) and Web Workers (browser/web-worker-executor.ts) differ only in how
 * a task reaches a thread, which is what a subclass supplies.
 */
import { Ctrl } from './layout.js';
import { abortWorkers } from './barrier.js';
import {
  WorkerFailure,
  type Executor,
  type ForwardBase,
  type StepGate,
  type StepObserver,
  type TrainBase,
} from './executor.js';
import type { ForwardTask, TrainTask } from './step.js';
import type { BackendInfo } from '../backend.js';
import type { Plan } from './network.js';

/** A worker's task: what engine-worker.ts (Node) and browser-worker.ts (browsers) handle. */
export type WorkerMessage =
  | { kind: 'info' }
  | { kind: 'prepare'; plan: Plan; params: Float32Array }
  | { kind: 'train'; task: TrainTask }
  | { kind: 'forward'; task: ForwardTask };

/** How often fit looks at the step counter to run batch callbacks while workers train. */
const POLL_MS = 25;

/** Node 20 and browsers have Atomics.waitAsync; TypeScript's es2022 lib does not declare it yet. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
      timeout: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

export abstract class ThreadExecutor implements Executor {
  /** Settles when the current epoch's workers have all returned. */
  private running?: Promise<void>;

  constructor(readonly workers: number) {}

  /**
   * Runs `msg` on worker thread `worker` (0..workers-1) and resolves with its result. The W tasks of an
   * epoch must land on W distinct threads, which the barriers require.
   */
  protected abstract run(worker: number, msg: WorkerMessage): Promise<unknown>;

  /** Stops every thread; the next task starts new ones. */
  protected abstract destroy(): Promise<void>;

  prepare(plan: Plan, params: Float32Array): void {
    // A thread still busy with this when the epoch starts takes its epoch task right after: the other
    // workers wait at the first barrier, as they would for a slow start.
    for (let w = 0; w < this.workers; w++) this.run(w, { kind: 'prepare', plan, params }).catch(() => undefined);
  }

  async info(): Promise<(BackendInfo & { threadId: number })[]> {
    return Promise.all(
      Array.from(
        { length: this.workers },
        (_, w) => this.run(w, { kind: 'info' }) as Promise<BackendInfo & { threadId: number }>,
      ),
    );
  }

  async trainEpoch(task: TrainBase, observe: StepObserver, gate: StepGate): Promise<void> {
    const { control } = task;
    // A batch has at most maxShards shards: more workers would only wait at the barriers.
    const active = Math.min(this.workers, task.maxShards);
    const runs = Array.from({ length: active }, (_, w) =>
      this.run(w, { kind: 'train', task: { ...task, workerIndex: w, workers: active } }),
    );
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
      const where = /^worker \d+ failed/.test(msg)
        ? msg
        : `worker ${worker} failed at epoch ${task.epoch + 1}, step ${done + 1}: ${msg}`;
      throw new WorkerFailure(`lockstep: ${where}`, { cause: error });
    }
  }

  /**
   * The fast path: workers run the whole epoch without waiting for the main thread, which polls the step
   * counter rather than waking on every step: on a machine with as many workers as cores, a main thread
   * that woke up for each step would steal time from a worker and make the others wait at the barrier.
   */
  private async poll(
    task: TrainBase,
    observe: StepObserver,
    idle: Promise<void>,
    finished: () => boolean,
  ): Promise<void> {
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
    const all = Promise.allSettled(
      Array.from({ length: this.workers }, (_, w) =>
        this.run(w, { kind: 'forward', task: { ...task, workerIndex: w, workers: this.workers } }),
      ),
    );
    const idle = all.then(() => undefined);
    this.running = idle;
    const results = await all;
    if (this.running === idle) this.running = undefined;
    const bad = results.findIndex((r) => r.status === 'rejected');
    if (bad >= 0) {
      await this.dispose();
      const reason = (results[bad] as PromiseRejectedResult).reason;
      throw new WorkerFailure(`lockstep: worker ${bad} failed during inference: ${reason?.message ?? reason}`, {
        cause: reason,
      });
    }
  }

  async dispose(): Promise<void> {
    await this.destroy();
  }
}
