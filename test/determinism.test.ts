/**
 * Bit-for-bit reproducibility across worker counts, repeated runs and save/resume, each run in a process of
 * its own (test/determinism-run.mjs on the built library: `npm test` builds first).
 *
 * A run trains Dense(relu) -> Dropout -> Dense(softmax) with sparse cross-entropy, shuffling, a partial last
 * batch, validationSplit 0.2 and EarlyStopping(restoreBestWeights), and reports the sha256 of its final
 * weights and optimizer state and its history. The convnet cases see the rows as images. npm test runs
 * every case twice: on 600 synthetic rows, and on 400 MNIST rows with the full form's options and two worker
 * counts; with LOCKSTEP_DETERMINISM=full (npm run test:determinism) every case runs on 6000 MNIST rows with
 * more epochs and worker counts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnist } from '../src/datasets/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const runner = join(here, 'determinism-run.mjs');
const root = join(here, '..');

const FULL = process.env.LOCKSTEP_DETERMINISM === 'full';

/**
 * One form of the suite: the runner's base options and the worker counts each case compares. Every case of
 * the full form also runs in npm test, shortened (MNIST, short): the same options but 400 rows (3 steps an
 * epoch of 128 rows in eight micro-shards of 16, the last step 64 rows in four) and two worker counts.
 */
interface Mode {
  name: string;
  base: { epochs: number; rows?: number; batchSize?: number; [option: string]: unknown };
  /** The dense model's worker counts. */
  workers: number[];
  /** The convnet's and BatchNormalization's worker counts. */
  counts: number[];
  /** Runs with the planted unordered reduction. */
  planted: number[];
  timeout: number;
}

const MNIST_BASE = { mnist: true, hidden: 64, batchSize: 128, microBatchSize: 16 };
/** 480 synthetic training rows in batches of 64 (MNIST: 4800 in batches of 128), so the last is partial. */
const SHORT: Mode = {
  name: 'short form',
  base: { epochs: 6 },
  workers: [0, 1, 2, 3, 4, 8],
  counts: [0, 1, 2, 3, 4, 8],
  planted: [1, 2, 3],
  timeout: 120_000,
};
const FULL_MODE: Mode = {
  name: 'full form',
  base: { ...MNIST_BASE, rows: 6000, epochs: 10 },
  workers: [0, 1, 2, 3, 4, 5, 8, 16],
  counts: [0, 1, 2, 3, 4, 8],
  planted: [1, 2, 3],
  timeout: 600_000,
};
const MNIST_SHORT: Mode = {
  name: 'MNIST, short',
  base: { ...MNIST_BASE, rows: 400, epochs: 8 },
  workers: [0, 3],
  counts: [0, 3],
  planted: [1, 3],
  timeout: 120_000,
};
const MODES = FULL ? [FULL_MODE] : [SHORT, MNIST_SHORT];

/** MNIST's first rows, saved once for every run (see the runner's mnistCache). */
const MNIST_ROWS = Math.max(...MODES.map((m) => (m.base.mnist ? (m.base.rows ?? 600) : 0)));

/** Optimizer steps an epoch: the training rows left by validationSplit 0.2, in batches (the last partial). */
const stepsPerEpoch = (cfg: Record<string, unknown>) =>
  Math.ceil(
    Math.floor(((cfg.rows as number | undefined) ?? 600) * 0.8) / ((cfg.batchSize as number | undefined) ?? 64),
  );

interface RunResult {
  sha: string;
  stateSha: string;
  iterations: number;
  epochs: number[];
  history: Record<string, number[]>;
  resumedVia?: string;
}

const exec = promisify(execFile);

/** Trains in a fresh node process and returns what the runner printed. */
async function runIn(
  mode: Mode,
  options: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const cfg = { ...mode.base, ...(mode.base.mnist ? { mnistCache: scratch } : {}), ...options };
  try {
    const { stdout } = await exec(process.execPath, [runner, JSON.stringify(cfg)], {
      cwd: root,
      env: { ...process.env, LOCKSTEP_PLANT: '', ...env },
      maxBuffer: 16 << 20,
      timeout: mode.timeout,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`determinism-run ${JSON.stringify(cfg)} failed: ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/** A run stopped after some epochs (`first`) and its resumption in another process (`rest`), as one run. */
function joined(first: RunResult, rest: RunResult): RunResult {
  return {
    ...rest,
    epochs: [...first.epochs, ...rest.epochs],
    history: Object.fromEntries(Object.entries(first.history).map(([key, v]) => [key, [...v, ...rest.history[key]]])),
  };
}

/** Throws unless every run has the same weights, optimizer state and history (exactly), naming the odd ones. */
function assertSame(runs: RunResult[], labels: string[]): void {
  const [first] = runs;
  const odd = runs
    .map((r, i) =>
      r.sha === first.sha &&
      r.stateSha === first.stateSha &&
      JSON.stringify(r.history) === JSON.stringify(first.history) &&
      JSON.stringify(r.epochs) === JSON.stringify(first.epochs)
        ? null
        : labels[i],
    )
    .filter((l) => l !== null);
  if (odd.length) {
    throw new Error(
      `runs differ from ${labels[0]}: ${odd.join(', ')}\n${runs.map((r, i) => `  ${labels[i]}: ${r.sha.slice(0, 16)} epochs ${r.epochs.join(',')} loss ${r.history.loss?.join(', ')}`).join('\n')}`,
    );
  }
}

let scratch: string;
beforeAll(async () => {
  for (const file of ['dist/src/index.js', 'dist/workers/engine-worker.js']) {
    if (!existsSync(join(root, file)))
      throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
  }
  scratch = await mkdtemp(join(tmpdir(), 'lockstep-determinism-'));
  if (MNIST_ROWS > 0) {
    const { train } = await mnist();
    const x = train.images.sliceRows(0, MNIST_ROWS).data;
    const y = train.labels.subarray(0, MNIST_ROWS);
    await writeFile(join(scratch, 'x.f32'), new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    await writeFile(join(scratch, 'y.i32'), new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
  }
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe.each(MODES)('$name', (mode) => {
  const run = (options: Record<string, unknown>, env?: Record<string, string>) => runIn(mode, options, env);
  const { base: BASE, workers: WORKERS, counts, timeout: TIMEOUT } = mode;
  const dirFor = (name: string) => join(scratch, `${mode.name.replace(/\W+/g, '-')}-${name}`);
  const byWorkers = new Map<number, Promise<RunResult>>();
  /** One run per worker count, shared by the tests below (each test may also run alone). */
  const runWith = (workers: number) => {
    if (!byWorkers.has(workers)) byWorkers.set(workers, run({ workers }));
    return byWorkers.get(workers)!;
  };

  describe('training is the same bits for any worker count', () => {
    it(
      `workers ${WORKERS.join(', ')} give identical weights, optimizer state and history`,
      async () => {
        const runs: RunResult[] = [];
        // One at a time: concurrent pools would only fight over the cores.
        for (const w of WORKERS) runs.push(await runWith(w));
        assertSame(
          runs,
          WORKERS.map((w) => `workers ${w}`),
        );
        // The scenario did what it claims: several steps a epoch, and EarlyStopping stopped before the last epoch.
        expect(runs[0].iterations).toBeGreaterThan(runs[0].epochs.length * 2);
        expect(runs[0].epochs.length).toBeLessThan(BASE.epochs);
      },
      TIMEOUT,
    );

    it(
      'a repeated run in a new process gives the same bits',
      async () => {
        const w = WORKERS.includes(2) ? 2 : WORKERS[WORKERS.length - 1];
        const again = await run({ workers: w });
        assertSame([await runWith(w), again], ['first run', 'repeated run']);
      },
      TIMEOUT,
    );

    it(
      'stopping after k epochs, saving, and resuming elsewhere equals the uninterrupted run',
      async () => {
        const epochs = BASE.epochs;
        const k = Math.floor(epochs / 2);
        // Without EarlyStopping: restoring the best weights at the end of the first fit would change what resumes.
        const common = { earlyStopping: false, epochs };
        const whole = await run({ ...common, workers: 0 });
        const dir = dirFor('model');
        const first = await run({ ...common, workers: 2, phase: 'first', stopAfter: k, dir });
        let resumed: RunResult;
        if (first.resumedVia === 'saved') {
          // A new process loads the files and continues, on yet another worker count.
          const rest = await run({ ...common, workers: 3, phase: 'resume', stopAfter: k, dir });
          resumed = joined(first, rest);
        } else {
          // save/loadModel not available: the runner continued in the same process with fit({ initialEpoch: k }).
          console.warn('determinism: model.save/loadModel unavailable, resumed in the same process instead');
          resumed = first;
        }
        expect(resumed.epochs).toEqual([...Array(epochs).keys()]);
        assertSame(
          [whole, resumed],
          [
            'uninterrupted',
            `stopped after ${k}, resumed via ${first.resumedVia === 'saved' ? 'save + loadModel' : 'same process'}`,
          ],
        );
      },
      TIMEOUT,
    );

    it(
      'the planted unordered reduction (LOCKSTEP_PLANT=unordered-reduction) is noticed',
      async () => {
        const planted = { LOCKSTEP_PLANT: 'unordered-reduction' };
        const runs: RunResult[] = [];
        for (const w of mode.planted) runs.push(await run({ workers: w }, planted));
        // Worker 0 sums in order, so one worker still agrees with the correct run; more workers must not.
        expect(() =>
          assertSame(
            runs,
            mode.planted.map((w) => `planted, workers ${w}`),
          ),
        ).toThrow(/runs differ/);
        expect(new Set(runs.map((r) => r.sha)).size).toBeGreaterThan(1);
        expect(runs[0].sha).toBe((await runWith(1)).sha);
      },
      TIMEOUT,
    );
  });

  describe('a small convnet (Conv2D, MaxPooling2D, Flatten, Dropout) is the same bits for any worker count', () => {
    // 4x4x2 synthetic images in batches of 64 (MNIST: 28x28x1 in batches of 128), eight micro-shards a batch:
    // the reduction order shows in the bits.
    const CONV = { convnet: true, features: 32, epochs: 4, earlyStopping: false };

    it(
      `workers ${counts.join(', ')} give identical weights, optimizer state and history`,
      async () => {
        const runs: RunResult[] = [];
        for (const w of counts) runs.push(await run({ ...CONV, workers: w }));
        assertSame(
          runs,
          counts.map((w) => `convnet, workers ${w}`),
        );
        expect(runs[0].iterations).toBe(CONV.epochs * stepsPerEpoch(BASE));
        // It learned something: the loss went down.
        const loss = runs[0].history.loss;
        expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
      },
      TIMEOUT,
    );

    it(
      'stopping, saving and resuming in another process equals the uninterrupted run',
      async () => {
        const whole = await run({ ...CONV, workers: 2 });
        const dir = dirFor('convnet');
        const first = await run({ ...CONV, workers: 3, phase: 'first', stopAfter: 2, dir });
        expect(first.resumedVia).toBe('saved');
        const rest = await run({ ...CONV, workers: 1, phase: 'resume', stopAfter: 2, dir });
        const resumed = joined(first, rest);
        assertSame([whole, resumed], ['uninterrupted', 'stopped after 2, saved, resumed']);
      },
      TIMEOUT,
    );
  });

  describe('BatchNormalization (statistics of the whole batch, exchanged between workers) is the same bits for any worker count', () => {
    // Batches in eight micro-shards, the last batch partial (4 shards: with 8 workers, half of them hold no
    // shard in that step and must not take part in the exchange); EarlyStopping restores the best weights,
    // moving statistics included.
    const BN = { batchnorm: true };
    const CONV_BN = { batchnorm: true, convnet: true, features: 32, epochs: 4, earlyStopping: false };

    it(
      `after Dense: workers ${counts.join(', ')} give identical weights, moving statistics, optimizer state and history`,
      async () => {
        const runs: RunResult[] = [];
        for (const w of counts) runs.push(await run({ ...BN, workers: w }));
        assertSame(
          runs,
          counts.map((w) => `batchnorm, workers ${w}`),
        );
        expect(runs[0].sha).not.toBe((await runWith(0)).sha);
        expect(runs[0].iterations).toBeGreaterThan(runs[0].epochs.length * 2);
      },
      TIMEOUT,
    );

    it(
      'after Dense: stopping, saving and resuming in another process equals the uninterrupted run',
      async () => {
        const common = { ...BN, earlyStopping: false, epochs: BASE.epochs };
        const k = Math.floor(BASE.epochs / 2);
        const whole = await run({ ...common, workers: 0 });
        const dir = dirFor('batchnorm');
        const first = await run({ ...common, workers: 2, phase: 'first', stopAfter: k, dir });
        expect(first.resumedVia).toBe('saved');
        const rest = await run({ ...common, workers: 3, phase: 'resume', stopAfter: k, dir });
        const resumed = joined(first, rest);
        assertSame([whole, resumed], ['uninterrupted', `stopped after ${k}, saved, resumed`]);
      },
      TIMEOUT,
    );

    it(
      `after Conv2D (per channel, over rows, height and width): workers ${counts.join(', ')} give identical bits`,
      async () => {
        const runs: RunResult[] = [];
        for (const w of counts) runs.push(await run({ ...CONV_BN, workers: w }));
        assertSame(
          runs,
          counts.map((w) => `convnet with batchnorm, workers ${w}`),
        );
        const loss = runs[0].history.loss;
        expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
      },
      TIMEOUT,
    );
  });

  describe('a convnet on the Winograd path (a 3x3 stride-1 Conv2D of 4 channels) is the same bits for any worker count', () => {
    const WINO = { convnet: true, winograd: true, features: 32, epochs: 3, earlyStopping: false };
    const winoCounts = counts.length > 2 ? [0, 1, 3] : counts;

    it(
      `workers ${winoCounts.join(', ')} give identical weights, optimizer state and history`,
      async () => {
        const runs: RunResult[] = [];
        for (const w of winoCounts) runs.push(await run({ ...WINO, workers: w }));
        assertSame(
          runs,
          winoCounts.map((w) => `winograd convnet, workers ${w}`),
        );
        const loss = runs[0].history.loss;
        expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
      },
      TIMEOUT,
    );

    it(
      'stopping, saving and resuming in another process equals the uninterrupted run',
      async () => {
        const whole = await run({ ...WINO, workers: 2 });
        const dir = dirFor('winograd');
        const first = await run({ ...WINO, workers: 3, phase: 'first', stopAfter: 1, dir });
        const rest = await run({ ...WINO, workers: 1, phase: 'resume', stopAfter: 1, dir });
        const resumed = joined(first, rest);
        assertSame([whole, resumed], ['uninterrupted', 'stopped after 1, saved, resumed']);
      },
      TIMEOUT,
    );
  });

  describe('a functional model (two inputs, a residual block with a shared layer, Dropout and BatchNormalization in a branch, two outputs) is the same bits for any worker count', () => {
    // Several micro-shards a batch; losses and metrics per output, a loss weight, EarlyStopping on one output's
    // validation loss.
    const FUNCTIONAL = { functional: true, epochs: 4 };

    it(
      `workers ${counts.join(', ')} give identical weights, optimizer state and history (per-output keys)`,
      async () => {
        const runs: RunResult[] = [];
        for (const w of counts) runs.push(await run({ ...FUNCTIONAL, workers: w }));
        assertSame(
          runs,
          counts.map((w) => `functional, workers ${w}`),
        );
        expect(Object.keys(runs[0].history).sort()).toEqual([
          'cls_accuracy',
          'cls_loss',
          'loss',
          'reg_loss',
          'reg_mae',
          'val_cls_accuracy',
          'val_cls_loss',
          'val_loss',
          'val_reg_loss',
          'val_reg_mae',
        ]);
      },
      TIMEOUT,
    );

    it(
      'stopping, saving and resuming in another process equals the uninterrupted run',
      async () => {
        const common = { ...FUNCTIONAL, earlyStopping: false };
        const whole = await run({ ...common, workers: 0 });
        const dir = dirFor('functional');
        const first = await run({ ...common, workers: 2, phase: 'first', stopAfter: 2, dir });
        expect(first.resumedVia).toBe('saved');
        const rest = await run({ ...common, workers: 3, phase: 'resume', stopAfter: 2, dir });
        const resumed = joined(first, rest);
        assertSame([whole, resumed], ['uninterrupted', 'stopped after 2, saved, resumed']);
      },
      TIMEOUT,
    );
  });
});
