/**
 * The determinism check users run on their own models: `verifyDeterminism` (in process), `lockstep verify`
 * (each worker count in its own process, on the built dist/: `npm test` builds first), the fingerprint and
 * `--against`. Batches are cut into 3 or more micro-shards, so the reduction's order shows in the bits; the
 * planted order-dependent reduction (LOCKSTEP_PLANT) shows that the check can fail.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  compareFingerprints,
  fingerprint,
  layers,
  Matrix,
  Model,
  Sequential,
  verifyDeterminism,
} from '../src/index.js';
import { firstDifference, type RunDigest } from '../src/verify/digest.js';

const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lockstep(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { maxBuffer: 16 << 20, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-verify-test-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** 150 rows of a fixed regression problem (xorshift, independent of lockstep's generator). */
function data(): { x: Matrix; y: Matrix } {
  let s = 0x2545f491;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
  const x = Float32Array.from({ length: 150 * 6 }, next);
  const y = Float32Array.from({ length: 150 }, (_, r) => x[r * 6] - 2 * x[r * 6 + 3] + 0.1 * next());
  return { x: new Matrix(x, 150, 6), y: new Matrix(y, 150, 1) };
}

function buildModel(): Sequential {
  const model = new Sequential({ seed: 7 });
  model.add(layers.Input({ shape: [6] }));
  model.add(layers.Dense({ units: 12, activation: 'tanh' }));
  model.add(layers.Dropout({ rate: 0.25 }));
  model.add(layers.Dense({ units: 1 }));
  model.compile({ loss: 'mse', optimizer: 'adam', metrics: ['mae'] });
  return model;
}

describe('verifyDeterminism', () => {
  it('finds the same bits for 0, 1 and 3 workers with 3 micro-shards a batch, and reports the hashes and a fingerprint', async () => {
    const { x, y } = data();
    const report = await verifyDeterminism(buildModel, x, y, {
      workers: [0, 1, 3],
      epochs: 2,
      batchSize: 24,
      fit: { microBatchSize: 8, validationSplit: 0.2, seed: 3 },
    });
    expect(report.ok, report.message).toBe(true);
    expect(report.message).toBe('the same weights, optimizer state and history, bit for bit, with 0, 1, 3 workers');
    expect(report.runs.map((r) => r.workers)).toEqual([0, 1, 3]);
    expect(new Set(report.runs.map((r) => `${r.weights} ${r.optimizerState} ${r.history}`)).size).toBe(1);
    expect(report.fingerprint).toMatchObject({
      tfjs: '4.22.0',
      node: process.version,
      arch: process.arch,
      weightsHash: report.runs[0].weights,
    });
    expect(Object.keys(report.fingerprint.tensors)).toEqual([
      'dense/kernel',
      'dense/bias',
      'dense_1/kernel',
      'dense_1/bias',
    ]);
  }, 120_000);

  it('checks its options', async () => {
    const { x, y } = data();
    await expect(verifyDeterminism(buildModel, x, y, { worker: [0, 1] } as never)).rejects.toThrow(
      /did you mean 'workers'/,
    );
    await expect(verifyDeterminism(buildModel, x, y, { workers: [2] })).rejects.toThrow(
      /workers must be an array of at least two worker counts/,
    );
    await expect(verifyDeterminism(buildModel, x, y, { fit: { epochs: 3 } as never })).rejects.toThrow(
      /fit.epochs must be left out/,
    );
  });
});

describe('firstDifference and fingerprints', () => {
  const digest = (kernel: Float32Array, loss: number[]): RunDigest => ({
    workers: 0,
    weightsHash: '',
    optimizerHash: '',
    historyHash: '',
    weights: [
      { name: 'd/bias', shape: [2], data: Float32Array.of(1, 2) },
      { name: 'd/kernel', shape: [2, 3], data: kernel },
    ],
    optimizer: [{ name: 'iterations', shape: [], data: Float32Array.of(4) }],
    history: { loss },
  });

  it('names the first differing tensor, its element by shape and both values; then the history', () => {
    const k = Float32Array.of(0, 1, 2, 3, 4, 5);
    const k2 = k.slice();
    k2[4] = 4.000000476837158; // the next float32 after 4: one bit
    expect(firstDifference(digest(k, [1]), digest(k2, [1]))).toEqual({
      part: 'weights',
      tensor: 'd/kernel',
      element: 4,
      index: [1, 1],
      a: 4,
      b: 4.000000476837158,
    });
    expect(firstDifference(digest(k, [1, 0.5]), digest(k.slice(), [1, 0.25]))).toMatchObject({
      part: 'history',
      tensor: 'loss',
      element: 1,
    });
    expect(firstDifference(digest(k, [1]), digest(k.slice(), [1]))).toBeNull();
  });

  it('hashes a config whatever its key order, and compares fingerprints by what decides the bits', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }));
    const weights = [{ name: 'k', data: Float32Array.of(1, 2) }];
    const a = fingerprint({ config: { units: 3 }, weights });
    expect(compareFingerprints(a, { ...a, node: 'v99.0.0' })).toEqual([`node: ${process.version} here, v99.0.0 there`]);
    const b = fingerprint({ config: { units: 3 }, weights: [{ name: 'k', data: Float32Array.of(1, 3) }] });
    expect(compareFingerprints(a, b)).toEqual([
      `weightsHash: ${a.weightsHash} here, ${b.weightsHash} there (first differing tensor: k)`,
    ]);
  });
});

describe('lockstep verify', () => {
  const args = ['verify', 'hitters', '--epochs', '2', '--micro-batch-size', '8'];

  it('agrees across 0, 1 and 2 worker processes (4 micro-shards a batch) and prints the table and fingerprint', async () => {
    const run = await lockstep([...args, '--workers', '0,1,2']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/workers\s+weights\s+optimizer state\s+history/);
    const hashes = lines.slice(2, 5).map((l) => l.trim().split(/\s+/).slice(1).join(' '));
    expect(new Set(hashes).size).toBe(1);
    expect(run.stdout).toMatch(/Fingerprint: lockstep \S+, tfjs 4\.22\.0, Node v\d+/);
    expect(lines.at(-1)).toBe('OK: the same weights, optimizer state and history, bit for bit, with 0, 1, 2 workers');
  }, 120_000);

  it('exits 1 naming the first differing tensor and element when the reduction depends on the worker count (planted)', async () => {
    const run = await lockstep([...args, '--workers', '0,2'], { LOCKSTEP_PLANT: 'unordered-reduction' });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /DIFFERENT: runs differ: first at weights dense\/kernel\[\d+, \d+\] \(element \d+\): \S+ with 0 workers, \S+ with 2 workers/,
    );
  }, 120_000);

  it('--against compares with a fingerprint saved by --json: 0 when it matches, 1 naming what differs', async () => {
    const saved = join(tmp, 'fingerprint.json');
    const first = await lockstep([...args, '--workers', '0,2', '--json']);
    expect(first.code, first.stderr).toBe(0);
    await writeFile(saved, first.stdout);
    const same = await lockstep([...args, '--workers', '2', '--against', saved]);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toContain(`OK: the same config, data and weights as ${saved}`);

    const json = JSON.parse(await readFile(saved, 'utf8'));
    json.fingerprint.weightsHash = '0'.repeat(64);
    json.fingerprint.tensors['Output/kernel'] = '0'.repeat(64);
    const tampered = join(tmp, 'tampered.json');
    await writeFile(tampered, JSON.stringify(json.fingerprint));
    const differs = await lockstep([...args, '--workers', '0', '--against', tampered]);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toMatch(
      /DIFFERENT from .*tampered.json: weightsHash: .* \(first differing tensor: Output\/kernel\)/,
    );

    const otherSeed = await lockstep([...args, '--workers', '0', '--seed', '14', '--against', saved, '--json']);
    expect(otherSeed.code).toBe(1);
    expect(JSON.parse(otherSeed.stdout).against.differences[0]).toMatch(/^configHash: /);
  }, 180_000);

  it('verifies a functional config (a TensorFlow.js topology with a residual Add) across 0 and 2 workers', async () => {
    const input = layers.Input({ shape: [19], name: 'stats' });
    const h = layers.Dense({ units: 8, activation: 'relu' }).apply(input);
    const out = layers
      .Dense({ units: 1, name: 'salary' })
      .apply(layers.Add().apply([h, layers.Dense({ units: 8, activation: 'tanh' }).apply(h)]));
    const config = join(tmp, 'functional.json');
    await writeFile(
      config,
      JSON.stringify({
        data: 'hitters',
        modelTopology: new Model({ inputs: input, outputs: out }).modelTopology(),
        compile: { loss: 'mse', optimizer: 'rmsprop' },
      }),
    );
    const run = await lockstep(['verify', config, '--epochs', '2', '--micro-batch-size', '8', '--workers', '0,2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      'OK: the same weights, optimizer state and history, bit for bit, with 0, 2 workers',
    );
    const both = join(tmp, 'both.json');
    await writeFile(both, JSON.stringify({ data: 'hitters', modelTopology: {}, layers: [], compile: { loss: 'mse' } }));
    const bad = await lockstep(['verify', both, '--workers', '0,2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('modelTopology replaces "layers" and "inputShape"');
  }, 120_000);

  it('verifies a config on a CSV file, and rejects bad flags with exit 2', async () => {
    const csv = join(tmp, 'rows.csv');
    const { x, y } = data();
    await writeFile(
      csv,
      ['a,b,c,d,e,f,target', ...x.toArray().map((row, r) => [...row, y.data[r]].join(','))].join('\n'),
    );
    const config = join(tmp, 'reg.json');
    await writeFile(
      config,
      JSON.stringify({
        layers: [
          { className: 'Dense', units: 8, activation: 'relu' },
          { className: 'Dropout', rate: 0.2 },
          { className: 'Dense', units: 1 },
        ],
        compile: { loss: 'mse', optimizer: 'rmsprop' },
        fit: { batchSize: 30 },
      }),
    );
    const run = await lockstep([
      'verify',
      config,
      '--data',
      csv,
      '--target',
      'target',
      '--standardize',
      '--workers',
      '0,3',
      '--micro-batch-size',
      '10',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(true);
    expect(report.runs).toHaveLength(2);
    expect(report.data).toBe(csv);
    const bad = await lockstep(['verify', 'hitters', '--workers', '0,two']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Expected worker counts such as 0,1,2,4');
    const noFile = await lockstep(['verify', 'hitters', '--against', join(tmp, 'missing.json')]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('no such file');
  }, 120_000);
});
