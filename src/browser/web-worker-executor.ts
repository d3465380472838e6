/**
 * The browser's executor: the same tasks, barriers and fixed-order reduction as the Piscina pool (the logic
 * is thread-executor.ts's), on module Web Workers running workers/browser-worker.ts. Worker w always runs
 * task w, so an epoch's W tasks land on W distinct threads as the barriers require.
 */
import { ThreadExecutor, type WorkerMessage } from '../engine/thread-executor.js';

/** A request to a worker; the worker answers with the same id. */
export interface WorkerRequest {
  id: number;
  msg: WorkerMessage;
}

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; name?: string; stack?: string } };

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** One Web Worker and the requests it has not answered yet. */
class Thread {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Set once the worker failed outside a task (a load error, an uncaught throw): every later request fails with it. */
  private dead?: Error;

  constructor(
    url: URL,
    readonly index: number,
  ) {
    this.worker = new Worker(url, { type: 'module', name: `lockstep-worker-${index}` });
    this.worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const reply = e.data;
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else
        p.reject(
          Object.assign(new Error(reply.error.message), {
            name: reply.error.name ?? 'Error',
            stack: reply.error.stack,
          }),
        );
    };
    // A worker whose script fails to load or throws outside a task: fail what it owes, now and later, so
    // the others (woken through the Abort flag) return and fit rejects instead of hanging.
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.fail(
        new Error(`worker ${index} crashed: ${e.message || 'its script failed to load (see the browser console)'}`),
      );
    };
    this.worker.onmessageerror = () => this.fail(new Error(`worker ${index} received a message it could not read`));
  }

  private fail(error: Error): void {
    this.dead ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  run(msg: WorkerMessage): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, msg } satisfies WorkerRequest);
    });
  }

  terminate(): void {
    this.worker.terminate();
    this.fail(new Error(`worker ${this.index} was stopped`));
  }
}

export class WebWorkerExecutor extends ThreadExecutor {
  private threads: Thread[] | null = null;

  /** `url`: the worker entry (browser-worker.js beside the library module). */
  constructor(
    workers: number,
    private readonly url: URL,
  ) {
    super(workers);
  }

  protected run(worker: number, msg: WorkerMessage): Promise<unknown> {
    this.threads ??= Array.from({ length: this.workers }, (_, w) => new Thread(this.url, w));
    return this.threads[worker].run(msg);
  }

  protected async destroy(): Promise<void> {
    const threads = this.threads;
    this.threads = null;
    threads?.forEach((t) => t.terminate());
  }
}
