/** What a runner (local or queue) tells the sweep while jobs run. */
import type { JobSpec } from './job.js';
import type { JobResult } from './run-job.js';

export interface PlannedJob {
  id: string;
  spec: JobSpec;
}

export interface RunnerEvents {
  /** A job started training (locally, or a queue worker took it). */
  started(id: string): void;
  /** Epoch `epoch` (1-based) of a job is done. */
  epoch(id: string, epoch: number): void;
  /** A job finished; the sweep writes its folder. */
  finished(result: JobResult): Promise<void>;
  /** A job failed with this message; the sweep goes on. */
  failed(job: PlannedJob, error: string): Promise<void>;
}
