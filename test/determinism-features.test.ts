/**
 * Issue 25's features together (sample weights, weighted validation, weight and activity penalties,
 * globalClipnorm, a cosine schedule with warm-up, every stateful metric): the same SHA-256 of weights,
 * optimizer state and history for 0, 1, 2 and 3 workers with three micro-shards a batch, and when training
 * is saved, loaded in another process and resumed. Each run is a process of its own
 * (test/determinism-features-run.mjs on the built library).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const exec = promisify(execFile);

interface Result {
  sha: string;
  stateSha: string;
  iterations: number;
  history: Record<string, number[]>;
  historySha: string;
}

async function run(options: Record<string, unknown>): Promise<Result> {
  const { stdout } = await exec(
    process.execPath,
    [join(here, 'determinism-features-run.mjs'), JSON.stringify(options)],
    { cwd: join(here, '..'), maxBuffer: 16 << 20, timeout: 120_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Result;
}

const same = (r: Result) => ({ sha: r.sha, stateSha: r.stateSha, historySha: r.historySha, iterations: r.iterations });

describe('determinism with weights, penalties, clipping, schedules and stateful metrics', () => {
  it('the same bits for 0, 1, 2 and 3 workers, and resumed in another process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-det25-'));
    try {
      const runs = await Promise.all([0, 1, 2, 3].map((workers) => run({ workers })));
      const keys = Object.keys(runs[0].history);
      for (const k of [
        'loss',
        'auc',
        'auc_1',
        'precision',
        'recall_0',
        'recall_1',
        'f1_score',
        'fbeta_score',
        'top_k_categorical_accuracy',
        'val_loss',
        'val_auc',
      ])
        expect(keys).toContain(k);
      for (const r of runs.slice(1)) expect(same(r)).toEqual(same(runs[0]));
      await run({ workers: 2, phase: 'first', stopAfter: 1, dir });
      const resumed = await run({ workers: 3, phase: 'resume', stopAfter: 1, dir });
      expect({ sha: resumed.sha, stateSha: resumed.stateSha, iterations: resumed.iterations }).toEqual({
        sha: runs[0].sha,
        stateSha: runs[0].stateSha,
        iterations: runs[0].iterations,
      });
      expect(resumed.history.loss).toEqual(runs[0].history.loss.slice(1));
      expect(resumed.history.auc).toEqual(runs[0].history.auc.slice(1));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
