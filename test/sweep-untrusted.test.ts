/**
 * The sweep queue treats every job and every result as untrusted input, on a real Redis
 * (test/helpers/redis.ts). Results: a stand-in worker made with BullMQ itself returns crafted values (an id
 * that climbs out of --out, `{}`, a manifest naming another file, weights of the wrong size or with other
 * hashes than the fingerprint's, a failure with terminal escapes); the sweep reports each as a failed job,
 * writes none of it, and a re-run does the same. Two sweeps of the same spec on one queue each get their own
 * jobs. Jobs: crafted jobs go to a real `lockstep worker` with a --data-root; it refuses a bad config, any
 * file outside the root, a link out of it, a FIFO, a file without the job's hash or over the size limit, and
 * a model over --max-params, before reading or building anything, and nothing of a refused file comes back.
 * Arguments: seeds x grid is capped, and --out never clobbers another folder. (The --queue password is
 * checked in sweep-queue.test.ts.)
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId, type JobSpec } from '../src/sweep/job.js';
import { parseGrid } from '../src/sweep/grid.js';
import { lockstep } from './helpers/cli.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startWorkerProcess } from './helpers/worker-process.js';

let redis: TestRedis;
let root: string;
const children: ChildProcess[] = [];
const connection = () => ({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null });

beforeAll(async () => {
  redis = await startRedis();
  root = await mkdtemp(join(tmpdir(), 'lockstep-untrusted-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const HASH = 'ab'.repeat(32);
const sha = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The job id inside BullMQ's `<sweep id>.<job id>` (ids of seeds without a grid hold no '.'). */
const contentId = (queueId: string) => queueId.slice(queueId.indexOf('.') + 1);

/** A result that passes every check: two float32 weights that match their manifest and their hashes. */
function validResult(id: string, spec: unknown) {
  return {
    id,
    spec,
    history: { epoch: [0], loss: [1], val_loss: [1] },
    metrics: { loss: 1, val_loss: 1 },
    fingerprint: {
      lockstep: '0',
      tfjs: '0',
      node: 'v0',
      arch: 'x64',
      platform: 'linux',
      configHash: HASH,
      weightsHash: sha(Buffer.alloc(8)),
      tensors: { w: sha(Buffer.alloc(8)) },
    },
    optimizerHash: HASH,
    historyHash: HASH,
    files: {
      'model.json': JSON.stringify({
        modelTopology: {},
        weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }],
      }),
      'weights.bin': Buffer.alloc(8).toString('base64'),
    },
    host: 'stand-in',
    workers: 1,
    seconds: 0.1,
  };
}

/** A stand-in worker on `queue` that answers each job with `answer(job)`. */
async function standIn(queue: string, answer: (job: Job) => unknown): Promise<Worker> {
  const worker = new Worker(queue, async (job) => answer(job), { connection: connection(), prefix: 'lockstep' });
  worker.on('error', () => {});
  await worker.waitUntilReady();
  return worker;
}

describe('results from the queue', () => {
  it('a result is accepted only as the result of the job it answers, checked whole; a bad one is a failed job, written nowhere, on every run', async () => {
    const crafted = (job: Job) => {
      const spec = job.data as JobSpec;
      const good = validResult(contentId(job.id!), spec);
      switch (spec.seed) {
        case 1:
          return { ...good, id: '../escaped' };
        case 2:
          return {};
        case 3:
          return {
            ...good,
            files: {
              ...good.files,
              'model.json': good.files['model.json'].replace('"weights.bin"', '"../outside.bin"'),
            },
          };
        case 4:
          return { ...good, files: { ...good.files, 'weights.bin': Buffer.alloc(12).toString('base64') } };
        case 5:
          return {
            ...good,
            files: { ...good.files, 'weights.bin': Buffer.from([0, 0, 0, 0, 0, 0, 0x80, 0x7f]).toString('base64') },
          };
        default:
          throw new Error('boom\u001b[2J\u001b]0;owned\u0007');
      }
    };
    const fake = await standIn('results', crafted);
    const out = join(root, 'results', 'out');
    const args = [
      'sweep',
      'hitters',
      '--seeds',
      '1-6',
      '--epochs',
      '1',
      '--out',
      out,
      '--queue',
      redis.url,
      '--queue-name',
      'results',
    ];
    try {
      for (const run of [1, 2]) {
        const r = await lockstep(...args);
        expect({ run, code: r.code, stderr: r.stderr }).toEqual({ run, code: 1, stderr: '' });
        expect(r.stdout).toContain('6 jobs failed');
        const bad = 'the worker returned a bad result';
        expect(r.stdout).toMatch(
          new RegExp(
            `seed 1 \\(defaults\\) \\(seed1-\\w+\\): ${bad}: it is the result of job "\\.\\./escaped", not of seed1-\\w+\n`,
          ),
        );
        expect(r.stdout).toMatch(
          new RegExp(
            `seed 2 \\(defaults\\) \\(seed2-\\w+\\): ${bad}: it is the result of job undefined, not of seed2-\\w+\n`,
          ),
        );
        expect(r.stdout).toMatch(
          new RegExp(
            `seed 3 \\(defaults\\) \\(seed3-\\w+\\): ${bad}: model\\.json's weightsManifest must name weights\\.bin only\n`,
          ),
        );
        expect(r.stdout).toMatch(
          new RegExp(
            `seed 4 \\(defaults\\) \\(seed4-\\w+\\): ${bad}: weights\\.bin holds 12 bytes but model\\.json's weightsManifest lists 8\n`,
          ),
        );
        expect(r.stdout).toMatch(
          new RegExp(
            `seed 5 \\(defaults\\) \\(seed5-\\w+\\): ${bad}: weights\\.bin's "w" does not have the hash the fingerprint gives\n`,
          ),
        );
        // A worker's failure reaches the terminal without its control characters.
        expect(r.stdout).toMatch(/seed 6 \(defaults\) \(seed6-\w+\): boom\?\[2J\?\]0;owned\?\n/);
        expect(r.stdout).not.toContain('\u001b');
        expect(r.stdout).not.toContain('\u0007');
      }
      // Nothing outside --out; inside, each job's folder holds its spec and its failure, no model.
      expect(await readdir(join(root, 'results'))).toEqual(['out']);
      const folders = (await readdir(out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      expect(folders).toHaveLength(6);
      for (const f of folders) expect((await readdir(join(out, f))).sort()).toEqual(['failed.json', 'job.json']);
    } finally {
      await fake.close();
    }
  });

  it('two sweeps of the same spec on one queue at once each get their own jobs and results', async () => {
    const taken: string[] = [];
    const fake = await standIn('shared', (job) => {
      taken.push(job.id!);
      return validResult(contentId(job.id!), job.data);
    });
    try {
      const args = (name: string) => [
        'sweep',
        'hitters',
        '--seeds',
        '1-2',
        '--epochs',
        '1',
        '--out',
        join(root, name),
        '--queue',
        redis.url,
        '--queue-name',
        'shared',
      ];
      const [a, b] = await Promise.all([lockstep(...args('alice')), lockstep(...args('bob'))]);
      expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 0, stderr: '' });
      expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: '' });
      expect(a.stdout).toContain('2 jobs done');
      expect(b.stdout).toContain('2 jobs done');
      // Each sweep's jobs were its own: four jobs ran, two under each sweep's id (not two shared by both).
      const sweepId = async (name: string) =>
        (JSON.parse(await readFile(join(root, name, 'sweep.json'), 'utf8')) as { sweepId: string }).sweepId;
      const [alice, bob] = [await sweepId('alice'), await sweepId('bob')];
      expect(taken.map((id) => id.split('.')[0]).sort()).toEqual([alice, alice, bob, bob].sort());
    } finally {
      await fake.close();
    }
  });
});

describe('jobs from the queue', () => {
  it("a worker checks the whole job, then reads only regular files inside --data-root whose bytes have the job's hash, and refuses a model over --max-params", async () => {
    const data = join(root, 'data');
    await mkdir(data);
    const secret = 'user,password\nalice,hunter2\nbob,letmein\n';
    await writeFile(join(root, 'secret.csv'), secret);
    await writeFile(join(data, 'users.csv'), secret);
    await symlink(join(root, 'secret.csv'), join(data, 'link.csv'));
    execFileSync('mkfifo', [join(data, 'pipe.csv')]);
    const rows = Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 3) % 5},${(i % 7) + 0.5 * ((i * 3) % 5)}`);
    const ok = `a,b,y\n${rows.join('\n')}\n`;
    await writeFile(join(data, 'ok.csv'), ok);
    const wide = `${Array.from({ length: 3000 }, (_, i) => `c${i}`).join(',')},y\n${Array.from({ length: 3 }, () => `${'1,'.repeat(3000)}1`).join('\n')}\n`;
    await writeFile(join(data, 'wide.csv'), wide);
    const big = Buffer.alloc(1.5 * (1 << 20), 'a');
    await writeFile(join(data, 'big.csv'), big);

    const worker = startWorkerProcess(
      [
        '--queue',
        redis.url,
        '--queue-name',
        'jobs',
        '--workers',
        '1',
        '--data-root',
        data,
        '--max-params',
        '100000',
        '--max-data-mb',
        '1',
      ],
      children,
    );
    await worker.waitFor(/waiting for jobs/);
    const bare = startWorkerProcess(['--queue', redis.url, '--queue-name', 'jobs-bare', '--workers', '1'], children);
    await bare.waitFor(/waiting for jobs/);

    const base: JobSpec = {
      model: 'hitters',
      seed: 1,
      point: {},
      epochs: 1,
      batchSize: 32,
      validation: 'test',
      data: {},
    };
    const config = {
      layers: [
        { className: 'Dense', units: 4, activation: 'relu' },
        { className: 'Dense', units: 1 },
      ],
      compile: { loss: 'mse', optimizer: 'sgd' },
    };
    const csv = (file: string, hash: string | undefined, extra: Record<string, unknown> = {}) => ({
      model: 'small.json',
      config,
      seed: 1,
      point: {},
      epochs: 1,
      batchSize: 8,
      validation: 0.25,
      data: { data: file, ...extra },
      ...(hash ? { dataFileHash: hash } : {}),
    });
    const cases: [string, unknown, RegExp][] = [
      ['epochs 0', { ...base, epochs: 0 }, /bad job: epochs must be a positive integer. Received: 0/],
      ['epochs -1', { ...base, epochs: -1 }, /bad job: epochs must be a positive integer. Received: -1/],
      ['an unknown field', { ...base, shell: 'rm -rf /' }, /bad job: "shell" is not a field of a job/],
      [
        'a path out of the root',
        csv('../secret.csv', sha(secret), { target: 'nope' }),
        /--data \.\.\/secret\.csv: is outside this worker's --data-root/,
      ],
      [
        'an absolute path',
        csv(join(root, 'secret.csv'), sha(secret), { target: 'user', features: 'password' }),
        /is outside this worker's --data-root/,
      ],
      [
        'a link out of the root',
        csv('link.csv', sha(secret), { target: 'user', features: 'password' }),
        /--data link\.csv: leads outside this worker's --data-root/,
      ],
      ['a FIFO', csv('pipe.csv', sha(''), { target: 'y' }), /--data pipe\.csv: is not a regular file/],
      [
        'no hash',
        csv('users.csv', undefined, { target: 'user', features: 'password' }),
        /bad job: dataFileHash must be the SHA-256 of the job's data files/,
      ],
      [
        'another hash',
        csv('users.csv', HASH, { target: 'nope' }),
        /--data users\.csv on this worker holds other bytes than the sweep's copy/,
      ],
      [
        'a file over --max-data-mb',
        csv('big.csv', sha(big), { target: 'y' }),
        /--data big\.csv: is larger than this worker's --max-data-mb 1/,
      ],
      [
        'a config over --max-params',
        {
          ...csv('ok.csv', sha(ok)),
          config: {
            ...config,
            layers: [
              { className: 'Dense', units: 20000 },
              { className: 'Dense', units: 20000 },
            ],
          },
        },
        /bad job: config has 400060000 parameters, more than this worker's --max-params 100000/,
      ],
      [
        'an example over --max-params on its data',
        { ...base, data: { data: 'wide.csv' }, dataFileHash: sha(wide) },
        /the model has 150101 parameters on this data, more than this worker's --max-params 100000/,
      ],
    ];
    const queue = new Queue('jobs', { connection: connection(), prefix: 'lockstep' });
    const events = new QueueEvents('jobs', { connection: connection(), prefix: 'lockstep' });
    const bareQueue = new Queue('jobs-bare', { connection: connection(), prefix: 'lockstep' });
    const bareEvents = new QueueEvents('jobs-bare', { connection: connection(), prefix: 'lockstep' });
    try {
      await Promise.all([events.waitUntilReady(), bareEvents.waitUntilReady()]);
      const outcome = async (q: Queue, e: QueueEvents, name: string, spec: unknown) => {
        const job = await q.add('train', spec, { jobId: name.replace(/[^A-Za-z0-9]/g, '-'), attempts: 1 });
        try {
          return { value: await job.waitUntilFinished(e) };
        } catch (err) {
          return { error: (err as Error).message };
        }
      };
      for (const [name, spec, reason] of cases) {
        const { error } = await outcome(queue, events, name, spec);
        expect({ name, error }).toEqual({ name, error: expect.stringMatching(reason) });
        // Nothing of a file the job could not already hash comes back.
        for (const leak of ['hunter2', 'letmein', 'alice', 'user,password']) expect(error).not.toContain(leak);
      }
      const bareOutcome = await outcome(bareQueue, bareEvents, 'bare', csv('ok.csv', sha(ok)));
      expect(bareOutcome.error).toMatch(
        /this worker reads no data files \(the job names --data ok\.csv\): start it with --data-root DIR/,
      );

      // A good job on a file inside the root trains, and its result names its own id.
      const good = csv('ok.csv', sha(ok));
      const { value, error } = await outcome(queue, events, 'good', good);
      expect(error).toBeUndefined();
      expect((value as { id: string }).id).toBe(jobId(good as unknown as JobSpec));
      expect(Object.keys((value as { files: object }).files).sort()).toEqual([
        'model.json',
        'preprocessing.json',
        'weights.bin',
      ]);
    } finally {
      await Promise.all([events.close(), bareEvents.close(), queue.close(), bareQueue.close()]);
      worker.child.kill('SIGTERM');
      bare.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(await bare.exited).toBe(0);
    }
    expect(existsSync(join(data, 'pipe.csv'))).toBe(true);
  });
});

describe('arguments', () => {
  it('caps seeds x grid points with a usage error that gives the count, before anything is written', async () => {
    const out = join(root, 'huge');
    const rates = Array.from({ length: 100 }, (_, i) => `${i + 1}e-4`).join(',');
    // An unreachable queue: without the cap the sweep would stop there instead (exit 1), not start 10,100 jobs.
    const product = await lockstep(
      'sweep',
      'hitters',
      '--seeds',
      '1-101',
      '--grid',
      `learningRate=${rates}`,
      '--out',
      out,
      '--queue',
      'redis://127.0.0.1:1',
    );
    expect(product.code).toBe(2);
    expect(product.stderr).toContain(
      'lockstep sweep: --seeds and --grid make 10100 jobs (101 seeds x 100 grid points); the limit is 10000',
    );
    // Three lists of 30 are refused before their 27,000 combinations are built.
    const values = Array.from({ length: 30 }, (_, i) => String(i + 1)).join(',');
    expect(() => parseGrid([`epochs=${values}`, `batchSize=${values}`, `learningRate=${values}`])).toThrow(
      '--grid makes 27000 combinations (30 epochs x 30 batchSize x 30 learningRate); the limit is 10000 jobs',
    );
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a --data FIFO on the sweep's side instead of blocking on it", async () => {
    const fifo = join(root, 'sweep-pipe.csv');
    execFileSync('mkfifo', [fifo]);
    const r = await lockstep('sweep', 'hitters', '--data', fifo, '--target', 'y', '--out', join(root, 'never'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`lockstep sweep: cannot read ${fifo}: not a regular file`);
  });

  it('refuses an --out that holds other files or another sweep, and leaves it as it was', async () => {
    const notes = join(root, 'notes');
    await mkdir(notes);
    await writeFile(join(notes, 'notes.txt'), 'mine');
    const other = join(root, 'other-sweep');
    await mkdir(other);
    const sweepJson = JSON.stringify({
      model: 'mnist-mlp',
      seeds: [1],
      grid: [{}],
      jobs: [],
      sweepId: '0123456789abcdef',
      specHash: HASH,
    });
    await writeFile(join(other, 'sweep.json'), sweepJson);
    await writeFile(join(other, 'summary.txt'), 'their table');
    const a = await lockstep('sweep', 'hitters', '--seeds', '1', '--epochs', '1', '--out', notes);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(
      `lockstep sweep: --out ${notes} is not empty and holds no sweep.json (it is not a sweep's folder); a sweep writes only into a new or empty folder, or into one of its own runs: give another --out`,
    );
    expect(await readdir(notes)).toEqual(['notes.txt']);
    const b = await lockstep('sweep', 'hitters', '--seeds', '1', '--epochs', '1', '--out', other);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(`--out ${other} holds a sweep of another model, config or data`);
    expect((await readdir(other)).sort()).toEqual(['summary.txt', 'sweep.json']);
    expect(await readFile(join(other, 'sweep.json'), 'utf8')).toBe(sweepJson);
    expect(await readFile(join(other, 'summary.txt'), 'utf8')).toBe('their table');
  });
});
