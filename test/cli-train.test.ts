/**
 * `lockstep train` as a user meets it: names that are not examples, a convnet config trained on an image
 * file, where the model goes without --out, and Ctrl-C. Runs the built CLI (dist/) in child processes.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { modelSpecOf } from '../src/sweep/run-job.js';
import { CLI, lockstep, lockstepIn } from './helpers/cli.js';
import { writeNpz } from './helpers/npz.js';

let tmp: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-cli-train-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('names inherited from Object.prototype are unknown examples', () => {
  const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty'];

  it(`lockstep train ${names.join(' / ')}: exit 2, "unknown example"`, async () => {
    const runs = await Promise.all(names.map((name) => lockstep('train', name, '--workers', '0')));
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`lockstep train: unknown example "${names[i]}"`);
    });
  });

  it('lockstep summary and sweep say the same', async () => {
    expect((await lockstep('summary', 'constructor')).stderr).toContain('unknown example "constructor"');
    const sweep = await lockstep('sweep', 'toString', '--out', join(tmp, 'sweep'));
    expect(sweep.code, sweep.stderr).toBe(2);
    expect(sweep.stderr).toContain('unknown example "toString"');
  });

  it.each(names)("a sweep worker's job naming %s is refused as an unknown example", (name) => {
    expect(() => modelSpecOf({ model: name } as never)).toThrow(`unknown example "${name}"`);
  });
});

describe('a convnet config without inputShape trains on an image file', () => {
  it('takes the sample shape [8, 8, 1] from the .npz, then summary explains what it needs', async () => {
    const n = 24;
    const x = new Float32Array(n * 64).map((_, i) => ((i * 37) % 101) / 101);
    const y = Int32Array.from({ length: n }, (_, r) => r % 3);
    const data = join(tmp, 'images.npz');
    await writeNpz(data, { x: { shape: [n, 8, 8, 1], data: x }, y: { shape: [n], data: y } });
    const config = join(tmp, 'small-cnn.json');
    await writeFile(
      config,
      JSON.stringify({
        layers: [
          { className: 'Conv2D', filters: 2, kernelSize: 3, activation: 'relu' },
          { className: 'MaxPooling2D' },
          { className: 'Flatten' },
          { className: 'Dense', units: 3, activation: 'softmax' },
        ],
        compile: { loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] },
      }),
    );
    const out = join(tmp, 'cnn');
    const run = await lockstep(
      'train',
      config,
      '--data',
      data,
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--workers',
      '0',
      '--verbose',
      '2',
      '--out',
      out,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('(None, 6, 6, 2)');
    const model = await loadModel(out);
    expect(model.inputSampleShape()).toEqual([8, 8, 1]);
    await model.dispose();
    // --out gets the history.json too.
    expect(JSON.parse(await readFile(join(out, 'history.json'), 'utf8')).epoch).toEqual([0, 1]);

    const summary = await lockstep('summary', config);
    expect(summary.code).toBe(2);
    expect(summary.stderr).toContain(
      'gives no "inputShape", so its shapes and parameter counts follow the --data file',
    );
  });

  it('a bad layer option is still refused before any data is read', async () => {
    const config = join(tmp, 'bad-cnn.json');
    await writeFile(
      config,
      JSON.stringify({
        layers: [{ className: 'Conv2D', filters: 2, kernelSize: 3, padding: 'full' }],
        compile: { loss: 'mse' },
      }),
    );
    const run = await lockstep('train', config, '--data', join(tmp, 'no-such.npz'), '--workers', '0');
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('layers[0]');
    expect(run.stderr).toContain('padding');
  });
});

describe('train without --out keeps the model', () => {
  it('saves model, weights and history.json under ./lockstep-runs/, prints the path, never reuses a folder', async () => {
    const cwd = await mkdtemp(join(tmp, 'cwd-'));
    const args = ['train', 'hitters', '--epochs', '2', '--workers', '0', '--verbose', '0'];
    const [a, b] = [await lockstepIn(cwd, ...args), await lockstepIn(cwd, ...args)];
    const dirs: string[] = [];
    for (const run of [a, b]) {
      expect(run.code, run.stderr).toBe(0);
      const said = run.stdout.match(
        /^Saved the model to (lockstep-runs\/hitters-seed13-\d{8}-\d{6}(?:-\d+)?), with history\.json and history\.svg$/m,
      );
      expect(said, run.stdout).not.toBeNull();
      dirs.push(said![1]);
    }
    expect(dirs[0]).not.toBe(dirs[1]);
    expect((await readdir(join(cwd, 'lockstep-runs'))).sort()).toEqual(dirs.map((d) => d.split('/')[1]).sort());
    for (const dir of dirs) {
      const history = JSON.parse(await readFile(join(cwd, dir, 'history.json'), 'utf8'));
      expect(history.epoch).toEqual([0, 1]);
      expect(history.history.loss).toHaveLength(2);
      expect(history.history.val_mean_absolute_error).toHaveLength(2);
      const model = await loadModel(join(cwd, dir));
      expect(model.iterations).toBe(2 * 6);
      await model.dispose();
    }
    // Same seed, same weights: the second run did not write into the first one's folder.
    const [w1, w2] = await Promise.all(dirs.map((d) => readFile(join(cwd, d, 'weights.bin'))));
    expect(w1.equals(w2)).toBe(true);
  });
});

describe('Ctrl-C during train', () => {
  const HIDE = '\x1b[?25l';
  const SHOW = '\x1b[?25h';

  it('stops after the step in hand, saves it, says what was kept, gives the terminal back and exits 130', async () => {
    const out = join(tmp, 'interrupted');
    const tty = fileURLToPath(new URL('./fixtures/tty-cli.mjs', import.meta.url));
    const child = spawn(
      process.execPath,
      [tty, 'train', 'hitters', '--epochs', '100000', '--workers', '2', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt once the progress bar shows its third epoch.
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c) => {
        stdout += c;
        if (stdout.includes('Epoch 3/100000')) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    // The terminal: the cursor shown again after the last time it was hidden.
    expect(stdout).toContain(HIDE);
    expect(stdout.lastIndexOf(SHOW)).toBeGreaterThan(stdout.lastIndexOf(HIDE));
    const said = stderr.match(
      /lockstep train: interrupted: stopped (?:during|after) epoch (\d+) of 100000.*\(update (\d+)[;)].*saved the model after that step to (.+), with history\.json and history\.svg$/m,
    );
    expect(said, stderr).not.toBeNull();
    expect(said![3]).toBe(out);
    const model = await loadModel(out);
    expect(model.iterations).toBe(Number(said![2]));
    await model.dispose();
    const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8'));
    expect(history.epoch.length).toBe(Number(said![1]));
  });
});
