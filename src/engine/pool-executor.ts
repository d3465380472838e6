/**
 * The Node executor: epochs and inference passes on a Piscina pool of worker threads (workers/engine-worker.ts).
 * Browsers use Web Workers instead (browser/web-worker-executor.ts); both share thread-executor.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ThreadExecutor, type WorkerMessage } from './thread-executor.js';

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

export class PoolExecutor extends ThreadExecutor {
  private pool: Piscina | null = null;

  protected run(_worker: number, msg: WorkerMessage): Promise<unknown> {
    // minThreads = maxThreads and one task per thread: the W tasks of an epoch land on W distinct threads.
    this.pool ??= new Piscina({
      filename: workerFile(),
      minThreads: this.workers,
      maxThreads: this.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
    });
    return this.pool.run(msg);
  }

  protected async destroy(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.destroy();
  }
}
