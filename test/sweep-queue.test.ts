/**
 * `lockstep sweep --queue` with `lockstep worker` processes on a real Redis (test/helpers/redis.ts starts
 * Debian's redis-server on a free loopback port): 6 jobs, 2 workers, one killed mid-job. The killed job goes
 * back on the queue through BullMQ's stalled-job check, the other worker continues it from its checkpoint,
 * and every result matches the run of the same sweep without a server, bit for bit. A job that diverges on a
 * worker comes back as a failure with its error.
 *
 * The kill is not timed: the first worker holds after checkpointing epoch 1 of its first job
 * (LOCKSTEP_TEST_HOLD_AFTER_EPOCH, a test-only switch) and is killed once it says so.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredResult } from '../src/sweep/store.js';
import { maskPassword } from '../src/sweep/redis.js';
import { lockstep } from './helpers/cli.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startWorkerProcess, type WorkerProcess } from './helpers/worker-process.js';

let redis: TestRedis;
let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  root = await mkdtemp(join(tmpdir(), 'lockstep-queue-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function worker(env: Record<string, string> = {}): WorkerProcess {
  return startWorkerProcess(
    ['--queue', redis.url, '--workers', '1', '--lock-duration', '2000', '--stalled-interval', '500'],
    children,
    env,
  );
}

async function results(out: string): Promise<Map<string, StoredResult>> {
  const dirs = (await readdir(out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  return new Map(
    await Promise.all(
      dirs.map(
        async (d) => [d, JSON.parse(await readFile(join(out, d, 'result.json'), 'utf8')) as StoredResult] as const,
      ),
    ),
  );
}

describe('lockstep sweep --queue with lockstep worker', () => {
  const args = ['hitters', '--seeds', '1-3', '--grid', 'learningRate=1e-3,3e-3', '--epochs', '3'];

  it('2 workers take 6 jobs; one is killed mid-job; all 6 results arrive with the hashes of a run without a server', async () => {
    const a = worker({ LOCKSTEP_TEST_HOLD_AFTER_EPOCH: '1' });
    await a.waitFor(/waiting for jobs/);
    const queued = join(root, 'queued');
    const sweep = lockstep('sweep', ...args, '--out', queued, '--queue', redis.url);
    // The worker names BullMQ's id, `<sweep id>.<job id>`.
    const [, heldQueueId, heldId] = await a.waitFor(/ ((?:[0-9a-f]{16})\.(\S+)): holding after epoch 1/);
    a.child.kill('SIGKILL');
    await a.exited;
    const b = worker();
    const run = await sweep;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('on the queue lockstep at redis://127.0.0.1:');

    // The stalled job went back on the queue and the second worker continued it from epoch 1.
    expect(b.log.join('\n')).toMatch(new RegExp(`${heldQueueId}: started \\(attempt 2, after 1 stall\\)`));
    const queuedResults = await results(queued);
    expect(queuedResults.size).toBe(6);
    expect(queuedResults.get(heldId)!.resumedFromEpoch).toBe(1);
    expect(run.stdout).toContain(`${heldId}: val_mean_absolute_error`);
    expect(run.stdout).toContain('continued from epoch 1');

    // The same sweep without a server gives the same bits: weights, optimizer state and history.
    const local = join(root, 'local');
    expect((await lockstep('sweep', ...args, '--out', local)).code).toBe(0);
    const localResults = await results(local);
    expect([...localResults.keys()].sort()).toEqual([...queuedResults.keys()].sort());
    for (const [id, l] of localResults) {
      const q = queuedResults.get(id)!;
      expect({ id, weights: q.weightsHash, optimizer: q.optimizerHash, history: q.historyHash }).toEqual({
        id,
        weights: l.weightsHash,
        optimizer: l.optimizerHash,
        history: l.historyHash,
      });
      expect(await readFile(join(queued, id, 'weights.bin'))).toEqual(await readFile(join(local, id, 'weights.bin')));
    }

    // Redis keeps nothing once the results are in --out: no jobs, no checkpoints.
    const client = new Redis(redis.port, '127.0.0.1');
    expect(await client.keys('lockstep:lockstep:checkpoint:*')).toEqual([]);
    expect(await client.zcard('lockstep:lockstep:completed')).toBe(0);
    client.disconnect();

    // Again with the same --out: nothing is queued; then --recheck trains 2 jobs again on the worker and compares.
    const again = await lockstep('sweep', ...args, '--out', queued, '--queue', redis.url, '--recheck', '2');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('6 already done there, skipped; nothing to run');
    expect(again.stdout.match(/^ {2}\S+: the same weights$/gm)).toHaveLength(2);
    expect(again.stdout.match(/re-run: same bits/g)).toHaveLength(2);

    // A config file travels inside the jobs; a job that diverges on the worker is reported and the other finishes.
    const config = join(root, 'sgd.json');
    await writeFile(
      config,
      JSON.stringify({
        data: 'hitters',
        layers: [
          { className: 'Dense', units: 8, activation: 'relu' },
          { className: 'Dense', units: 1 },
        ],
        compile: { loss: 'mse', optimizer: 'sgd', metrics: ['mae'] },
        fit: { epochs: 2, batchSize: 32 },
      }),
    );
    const failing = await lockstep(
      'sweep',
      config,
      '--seeds',
      '1',
      '--grid',
      'learningRate=1e-4,1e6',
      '--out',
      join(root, 'failing'),
      '--queue',
      redis.url,
    );
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('1 job done');
    expect(failing.stdout).toMatch(
      /1 job failed:\n {2}seed 1 learningRate=1000000 \(seed1-learningRate1000000-\w+\): the loss became (NaN|Infinity) in epoch 1/,
    );

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });

  it('names an unreachable Redis, a bad URL and a worker without threads, and never prints the password of a --queue URL', async () => {
    const port = redis.port + 1 === 65536 ? 1 : redis.port + 1;
    const closed = `redis://127.0.0.1:${port}`;
    const sweep = await lockstep(
      'sweep',
      'hitters',
      '--out',
      join(root, 'unreachable'),
      '--queue',
      `redis://:hunter2@127.0.0.1:${port}`,
    );
    expect(sweep.code).toBe(1);
    expect(sweep.stderr).toContain(`lockstep sweep: cannot reach Redis at ${closed}: connect ECONNREFUSED`);
    const work = await lockstep('worker', '--queue', closed, '--workers', '1');
    expect(work.code).toBe(1);
    expect(work.stderr).toContain(`lockstep worker: cannot reach Redis at ${closed}`);
    const url = await lockstep(
      'sweep',
      'hitters',
      '--out',
      join(root, 'bad-url'),
      '--queue',
      'http://me:hunter2@127.0.0.1:6379',
    );
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('--queue "http://me:***@127.0.0.1:6379": the scheme must be redis: or rediss:');
    const notUrl = await lockstep('worker', '--queue', 'redis://:hunter2@127.0.0.1:notaport');
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain('--queue "redis://:***@127.0.0.1:notaport": is not a URL');
    for (const r of [sweep, url, notUrl]) expect(r.stdout + r.stderr).not.toContain('hunter2');
    // Text that is no URL at all: everything between the scheme and the last '@' but a username is hidden.
    expect(maskPassword('redis://me:p@ss/w:rd@host:6379/0')).toBe('redis://me:***@host:6379/0');
    expect(maskPassword('redis://token@host')).toBe('redis://***@host');
    expect(maskPassword('me:secret@host')).toBe('me:***@host');
    expect(maskPassword('redis://host:6379')).toBe('redis://host:6379');
    const threads = await lockstep('worker', '--queue', redis.url, '--workers', '0');
    expect(threads.code).toBe(2);
    expect(threads.stderr).toContain('--workers must be at least 1 for a queue worker');
  });
});
