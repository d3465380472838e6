/**
 * `lockstep sweep` on one machine (no server): grid and seed parsing, one folder per job with a model that
 * loads to the weights its result names, the summary sorted by the validation metric, a re-run that skips
 * the done jobs, a sweep killed mid-job that continues from its checkpoint to the same bits, and a diverging
 * job reported with its error while the others finish.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, sha256 } from '../src/index.js';
import { parseGrid, parseSeeds } from '../src/sweep/grid.js';
import { rank, seedSpread, summaryLines } from '../src/sweep/summary.js';
import type { StoredResult } from '../src/sweep/store.js';
import { duration, SweepProgress } from '../src/sweep/progress.js';
import { CLI, lockstep } from './helpers/cli.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-sweep-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('seeds and grid', () => {
  it('parses ranges and lists of seeds', () => {
    expect(parseSeeds('1-3')).toEqual([1, 2, 3]);
    expect(parseSeeds('0, 5-7,10')).toEqual([0, 5, 6, 7, 10]);
    expect(parseSeeds('42')).toEqual([42]);
  });

  it('names the bad part of a seed list', () => {
    expect(() => parseSeeds('3-1')).toThrow('--seeds "3-1": the range "3-1" runs backwards');
    expect(() => parseSeeds('1-3,2')).toThrow('seed 2 is listed twice');
    expect(() => parseSeeds('1,x')).toThrow('"x" is not a seed');
    expect(() => parseSeeds('-1')).toThrow('"-1" is not a seed');
    expect(() => parseSeeds('')).toThrow('--seeds "": is empty');
    expect(() => parseSeeds('1-20000')).toThrow('more than 10000 seeds');
  });

  it('makes every combination of the grid, the first setting varying slowest', () => {
    expect(parseGrid(['learningRate=1e-3,3e-4', 'batchSize=64,128'])).toEqual([
      { learningRate: 1e-3, batchSize: 64 },
      { learningRate: 1e-3, batchSize: 128 },
      { learningRate: 3e-4, batchSize: 64 },
      { learningRate: 3e-4, batchSize: 128 },
    ]);
    expect(parseGrid([])).toEqual([{}]);
  });

  it('names the bad setting or value of a grid, with a suggestion for a misspelt name', () => {
    expect(() => parseGrid(['learningrate=1e-3'])).toThrow(
      '--grid "learningrate=1e-3": unknown setting "learningrate"; did you mean "learningRate"?',
    );
    expect(() => parseGrid(['dropout=0.1'])).toThrow(
      'unknown setting "dropout" (a grid varies learningRate, batchSize, epochs)',
    );
    expect(() => parseGrid(['batchSize=64,12.5'])).toThrow('batchSize value "12.5" must be a positive integer');
    expect(() => parseGrid(['learningRate=0'])).toThrow('learningRate value "0" must be a positive number');
    expect(() => parseGrid(['learningRate=1e-3,'])).toThrow('learningRate value "" must be');
    expect(() => parseGrid(['epochs=2', 'epochs=3'])).toThrow('epochs is given twice');
    expect(() => parseGrid(['batchSize'])).toThrow('expected name=value,value...');
  });

  it('the CLI reports a bad --seeds or --grid as a usage error before training anything', async () => {
    const out = join(root, 'never');
    const bad = await lockstep('sweep', 'hitters', '--seeds', '5-2', '--out', out);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('lockstep sweep: --seeds "5-2": the range "5-2" runs backwards');
    const grid = await lockstep('sweep', 'hitters', '--grid', 'batchsize=8', '--out', out);
    expect(grid.code).toBe(2);
    expect(grid.stderr).toContain('did you mean "batchSize"?');
    const plot = await lockstep('sweep', 'hitters', '--plot', 'figure.pdf', '--out', out);
    expect(plot.code).toBe(2);
    expect(plot.stderr).toContain('--plot must name a .svg or .png file. Received: "figure.pdf"');
    expect(existsSync(out)).toBe(false);
  });
});

describe('summary', () => {
  const result = (id: string, seed: number, v: number, point = {}): StoredResult =>
    ({ id, seed, point, metrics: { val_accuracy: v } }) as unknown as StoredResult;

  it('sorts by the metric in its direction, a non-finite value last', () => {
    const rs = [result('a', 1, 0.5), result('b', 2, NaN), result('c', 3, 0.9)];
    expect(rank(rs, 'val_accuracy').map((r) => r.id)).toEqual(['c', 'a', 'b']);
    const losses = rs.map((r) => ({ ...r, metrics: { val_loss: r.metrics.val_accuracy } }));
    expect(rank(losses, 'val_loss').map((r) => r.id)).toEqual(['a', 'c', 'b']);
  });

  it('notes jobs that ran on different platforms, and re-runs that differ', () => {
    const on = (id: string, arch: string, recheck?: object) =>
      ({
        ...result(id, 1, 0.5),
        weightsHash: 'ab'.repeat(32),
        fingerprint: { lockstep: '0.1.0', tfjs: '4.22.0', node: 'v20', arch },
        recheck,
      }) as unknown as StoredResult;
    const lines = summaryLines(
      [on('a', 'x64'), on('b', 'arm64', { same: false, weightsHash: 'cd'.repeat(32), host: 'm2' })],
      [],
    );
    expect(lines).toContain(
      'Note: the jobs ran on 2 different platforms (1 on lockstep 0.1.0, tfjs 4.22.0, Node v20, x64; 1 on lockstep 0.1.0, tfjs 4.22.0, Node v20, arm64); a job re-run on another one may give other bits',
    );
    expect(lines.join('\n')).toContain('RE-RUN DIFFERS (weights cdcdcdcdcdcd on m2)');
    expect(lines.at(-1)).toMatch(/^WARNING: 1 job gave other weights when run again/);
    expect(summaryLines([on('a', 'x64'), on('b', 'x64')], []).join('\n')).not.toContain('platforms');
  });

  it("gives the seeds' mean, sample standard deviation and range per grid point", () => {
    const [s] = seedSpread([result('a', 1, 1), result('b', 2, 2), result('c', 3, 4)], 'val_accuracy');
    expect(s).toMatchObject({ seeds: 3, min: 1, max: 4 });
    expect(s.mean).toBeCloseTo(7 / 3, 12);
    expect(s.std).toBeCloseTo(Math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2), 12);
  });
});

describe('progress', () => {
  it('counts jobs done before this run, running and failed; the ETA appears once an epoch is trained and goes when nothing is left', () => {
    const lines: string[] = [];
    const p = new SweepProgress(
      4,
      [
        { id: 'a', epochs: 2 },
        { id: 'b', epochs: 2 },
        { id: 'c', epochs: 2 },
      ],
      (l) => lines.push(l),
      { isTTY: false } as NodeJS.WriteStream,
    );
    p.started('a');
    expect(p.line()).toBe('1/4 done, 1 running, 0 failed');
    p.epoch('a', 1);
    expect(p.line()).toMatch(/^1\/4 done, 1 running, 0 failed, ETA \d+s$/);
    p.epoch('a', 2);
    p.finished('a', 'fine');
    p.started('b');
    p.failed('b', 'the loss became NaN');
    p.started('c');
    p.epoch('c', 2); // continued from a checkpoint at epoch 1: one epoch trained, none left
    p.finished('c', 'fine');
    expect(lines).toEqual(
      [
        'done a: fine [2/4 done, 0 running, 0 failed, ETA 0s]',
        'FAILED b: the loss became NaN [2/4 done, 0 running, 1 failed, ETA 0s]',
        'done c: fine [3/4 done, 0 running, 1 failed]',
      ].map((l) =>
        expect.stringMatching(new RegExp(`^${l.replace(/[[\]]/g, '\\$&').replace('ETA 0s', 'ETA \\d+s')}$`)),
      ),
    );
  });

  it('writes durations as the ETA shows them', () => {
    expect([0, 59.4, 75, 3599, 4000].map(duration)).toEqual(['0s', '59s', '1m15s', '59m59s', '1h06m']);
  });
});

describe('lockstep sweep without a server', () => {
  const args = ['hitters', '--seeds', '1-3', '--grid', 'learningRate=1e-3,3e-3', '--epochs', '3'];

  it('trains one job per combination into --out, each folder a loadable model with its history and fingerprint', async () => {
    const out = join(root, 'local');
    const run = await lockstep('sweep', ...args, '--out', out);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Sweep of 6 jobs (2 grid points x 3 seeds)');
    const ids = (await readdir(out, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(ids).toHaveLength(6);
    const results: StoredResult[] = [];
    for (const id of ids) {
      const r = JSON.parse(await readFile(join(out, id, 'result.json'), 'utf8')) as StoredResult;
      results.push(r);
      expect(r.id).toBe(id);
      const history = JSON.parse(await readFile(join(out, id, 'history.json'), 'utf8')) as Record<string, number[]>;
      expect(history.epoch).toEqual([0, 1, 2]);
      expect(r.metrics.val_mean_absolute_error).toBe(history.val_mean_absolute_error[2]);
      const job = JSON.parse(await readFile(join(out, id, 'job.json'), 'utf8'));
      expect(job).toMatchObject({ model: 'hitters', seed: r.seed, point: r.point, epochs: 3 });
      // The saved model is the trained one: its weights hash to the fingerprint's.
      const model = await loadModel(join(out, id));
      expect(sha256(...model.getWeights().map((w) => w.data))).toBe(r.weightsHash);
      await model.dispose();
    }
    expect(results.map((r) => `${r.seed} ${r.point.learningRate}`).sort()).toEqual([
      '1 0.001',
      '1 0.003',
      '2 0.001',
      '2 0.003',
      '3 0.001',
      '3 0.003',
    ]);
    // Different seeds and rates give different weights.
    expect(new Set(results.map((r) => r.weightsHash)).size).toBe(6);
    // The table lists the jobs best first (lowest validation MAE).
    const order = results.slice().sort((a, b) => a.metrics.val_mean_absolute_error - b.metrics.val_mean_absolute_error);
    const table = run.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+0\.00\d/.test(l));
    expect(table.map((l) => l.trim().split(/\s+/).slice(1, 3).join(' '))).toEqual(
      order.map((r) => `${r.seed} ${r.point.learningRate}`),
    );
    expect(run.stdout).toContain("Seeds' spread of val_mean_absolute_error at learningRate=0.001");
    expect((await readFile(join(out, 'sweep.svg'), 'utf8')).match(/class="seed"/g)).toHaveLength(6);

    // The same command again: everything is done, nothing is trained or rewritten.
    const before = await Promise.all(ids.map((id) => stat(join(out, id, 'result.json'))));
    const again = await lockstep('sweep', ...args, '--out', out);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('6 already done there, skipped; nothing to run');
    expect(again.stdout).not.toContain('done seed');
    const after = await Promise.all(ids.map((id) => stat(join(out, id, 'result.json'))));
    expect(after.map((s) => s.mtimeMs)).toEqual(before.map((s) => s.mtimeMs));

    // One more seed: only its two jobs run.
    const more = await lockstep('sweep', ...args.map((a) => (a === '1-3' ? '1-4' : a)), '--out', out);
    expect(more.code).toBe(0);
    expect(more.stdout).toContain('6 already done there, skipped');
    expect(more.stdout.match(/^done seed4-/gm)).toHaveLength(2);
    expect(more.stdout).not.toMatch(/^done seed[123]-/m);
  });

  it('a sweep killed mid-job continues that job from its checkpoint when run again (two jobs at once), to the bits of an uninterrupted run', async () => {
    const out = join(root, 'killed');
    // Held after checkpointing epoch 2 of its first job (a test-only switch), then killed: no timer involved.
    const child = spawn(process.execPath, [CLI, 'sweep', ...args, '--out', out], {
      env: { ...process.env, LOCKSTEP_TEST_HOLD_AFTER_EPOCH: '2' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const id = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        const m = /^(\S+): holding after epoch 2/m.exec(err);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`the sweep exited (${code}) before holding: ${err}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(join(out, id, 'checkpoint.json'))).toBe(true);
    expect(existsSync(join(out, id, 'result.json'))).toBe(false);

    // Continued with another layout (two jobs at once, one worker each): the bits do not depend on it.
    const again = await lockstep('sweep', ...args, '--out', out, '--concurrency', '2', '--workers', '1');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('here, 2 jobs at a time, each on 1 worker thread');
    expect(again.stdout).toMatch(new RegExp(`^done ${id}: .*continued from epoch 2`, 'm'));
    expect(existsSync(join(out, id, 'checkpoint.json'))).toBe(false);
    const ids = (await readdir(out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(ids).toHaveLength(6);
    for (const job of ids) {
      const r = JSON.parse(await readFile(join(out, job, 'result.json'), 'utf8')) as StoredResult;
      const uninterrupted = JSON.parse(await readFile(join(root, 'local', job, 'result.json'), 'utf8')) as StoredResult;
      expect({ job, weights: r.weightsHash, optimizer: r.optimizerHash, history: r.historyHash }).toEqual({
        job,
        weights: uninterrupted.weightsHash,
        optimizer: uninterrupted.optimizerHash,
        history: uninterrupted.historyHash,
      });
    }
  });

  it('reports a diverging job with its error, finishes the others, and exits 1', async () => {
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
    const out = join(root, 'failing');
    const run = await lockstep(
      'sweep',
      config,
      '--seeds',
      '1-2',
      '--grid',
      'learningRate=1e-4,1e6',
      '--out',
      out,
      '--workers',
      '1',
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('2 jobs done');
    expect(run.stdout).toMatch(
      /2 jobs failed:\n {2}seed 1 learningRate=1000000 \(seed1-learningRate1000000-\w+\): the loss became (NaN|Infinity) in epoch 1/,
    );
    const dirs = (await readdir(out, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    const failed = dirs.filter((d) => existsSync(join(out, d, 'failed.json')));
    expect(failed).toHaveLength(2);
    expect(JSON.parse(await readFile(join(out, failed[0], 'failed.json'), 'utf8')).error).toMatch(/the loss became/);
    // Failed jobs are not done: a re-run tries them again (and they fail again), skipping the 2 done ones.
    const again = await lockstep(
      'sweep',
      config,
      '--seeds',
      '1-2',
      '--grid',
      'learningRate=1e-4,1e6',
      '--out',
      out,
      '--workers',
      '1',
    );
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('2 already done there, skipped');
    expect(again.stdout.match(/^FAILED /gm)).toHaveLength(2);
  });
});
