/**
 * The npm package as someone else's project gets it: `npm pack` (of the build `npm test` just made), then
 * an install of the tarball into a fresh temporary project, offline, from the npm cache that lockstep's own
 * install filled. The project imports `lockstep` (and type-checks against its `exports` types), trains a
 * tiny model on 2 workers from the installed location (worker script and wasm kernels included), and runs
 * the `lockstep` binary.
 *
 * Offline, npm cannot look up version ranges, so the project gets a lockfile made from lockstep's own: the
 * exact versions and integrity hashes `npm ci` installed here, whose tarballs are in the cache.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TIMEOUT = 300_000;

let tmp: string;
let project: string;
let files: string[];
let tarball: string;

interface LockEntry {
  version: string;
  resolved?: string;
  dev?: boolean;
  [k: string]: unknown;
}

/** The consumer project's lockfile: lockstep from the tarball, its dependencies pinned as lockstep pins them. */
async function consumerLock(tgz: string, registry: string): Promise<unknown> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const self = lock.packages[''];
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { lockstep: `file:${tgz}` } },
    'node_modules/lockstep': {
      version: self.version,
      resolved: `file:${tgz}`,
      dependencies: self.dependencies,
      bin: self.bin,
      engines: self.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || entry.dev) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    // Where npm would fetch it: the key the cache holds the tarball under.
    const resolved =
      entry.resolved ?? `${registry.replace(/\/?$/, '/')}${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    packages[path] = { ...entry, resolved };
  }
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-pack-'));
  // --ignore-scripts: `prepare` would build again; `npm test` has just built dist/.
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = info.files.map((f) => f.path);
  tarball = join(tmp, info.filename);
  project = join(tmp, 'consumer');
  await exec('mkdir', ['-p', project]);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { lockstep: `file:${tarball}` },
    }),
  );
  const registry = (await exec('npm', ['config', 'get', 'registry'])).stdout.trim();
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(await consumerLock(tarball, registry)));
  await exec('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: project, maxBuffer: 64 << 20 });
}, TIMEOUT);
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('the npm package', () => {
  it('holds the built library, its types, the worker script, the CLI and the Hitters data; no tests, sources, bench results or source maps', () => {
    for (const f of [
      'package.json',
      'README.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/workers/engine-worker.js',
      'dist/src/cli/main.js',
      'dist/src/cli/verify-run.js',
      'dist/src/kernels/optimizer-wasm.js',
      'data/hitters.csv',
      'docs/design.md',
      'dist/browser/lockstep.js',
      'dist/browser/browser-worker.js',
      'dist/browser/tfjs-backend-wasm-simd.wasm',
    ]) {
      expect(files).toContain(f);
    }
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|src|examples|scripts|workers)\//.test(f) ||
        f.startsWith('dist/bench/') ||
        f.startsWith('dist/examples/') ||
        f.endsWith('.map') ||
        f.endsWith('.wat'),
    );
    expect(unwanted).toEqual([]);
  });

  it('declares exports with types, a bin, and a prepare script that builds (for installs from git)', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['.']).toEqual({
      types: './dist/src/index.d.ts',
      import: './dist/src/index.js',
      default: './dist/src/index.js',
    });
    expect(pkg.bin.lockstep).toBe('dist/src/cli/main.js');
    expect(pkg.scripts.prepare).toBe('npm run build');
  });

  it(
    'installs offline, imports as `lockstep`, and trains on 2 workers to the same bits as the repository build',
    async () => {
      const script = (from: string) => `
      import { Sequential, layers, Matrix, fingerprint } from '${from}';
      const x = new Matrix(Float32Array.from({ length: 96 * 4 }, (_, i) => Math.sin(i)), 96, 4);
      const y = new Matrix(Float32Array.from({ length: 96 }, (_, i) => Math.cos(i)), 96, 1);
      const m = new Sequential({ seed: 5 });
      m.add(layers.Input({ shape: [4] }));
      m.add(layers.Dense({ units: 8, activation: 'relu' }));
      m.add(layers.Dropout({ rate: 0.1 }));
      m.add(layers.Dense({ units: 1 }));
      m.compile({ loss: 'mse', optimizer: 'adam' });
      const h = await m.fit(x, y, { epochs: 2, batchSize: 24, microBatchSize: 8, workers: 2, seed: 3, verbose: 0 });
      console.log(JSON.stringify({ loss: h.history.loss, weights: fingerprint({ config: null, weights: m.getWeights() }).weightsHash }));
      await m.dispose();`;
      await writeFile(join(project, 'train.mjs'), script('lockstep'));
      await writeFile(join(tmp, 'train-repo.mjs'), script(join(ROOT, 'dist/src/index.js')));
      const installed = await exec(process.execPath, ['train.mjs'], { cwd: project });
      const repo = await exec(process.execPath, [join(tmp, 'train-repo.mjs')]);
      const result = JSON.parse(installed.stdout);
      expect(result.loss).toHaveLength(2);
      expect(result).toEqual(JSON.parse(repo.stdout));
    },
    TIMEOUT,
  );

  it(
    "type-checks a TypeScript file against the package's exported types",
    async () => {
      await writeFile(
        join(project, 'use.ts'),
        `import { Sequential, layers, loadCsv, verifyDeterminism, type FitOptions, type VerifyReport } from 'lockstep';
       const options: FitOptions = { epochs: 1, workers: 2 };
       const model: Sequential = new Sequential({ seed: 1 });
       model.add(layers.Dense({ units: 1 }));
       export const pending: [Promise<unknown>, Promise<VerifyReport>] = [loadCsv('a.csv', { target: 'y' }), verifyDeterminism(() => model, [[1]], [1], { epochs: options.epochs })];
       // @ts-expect-error: a misspelt option is a type error
       loadCsv('a.csv', { targt: 'y' });`,
      );
      await writeFile(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: [],
          },
          files: ['use.ts'],
        }),
      );
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      const run = await exec(process.execPath, [tsc, '-p', project]).catch((e: { stdout: string }) => ({
        stdout: e.stdout,
        failed: true,
      }));
      expect(run.stdout).toBe('');
    },
    TIMEOUT,
  );

  it(
    'runs the `lockstep` binary from node_modules/.bin: train, then evaluate the saved model',
    async () => {
      const bin = join(project, 'node_modules/.bin/lockstep');
      const version = await exec(bin, ['--version']);
      expect(version.stdout.trim()).toBe(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version);
      await exec(bin, ['train', 'hitters', '--epochs', '1', '--workers', '2', '--verbose', '0', '--out', 'model'], {
        cwd: project,
      });
      const evaluated = await exec(bin, ['evaluate', 'model', '--data', 'hitters-test', '--json'], { cwd: project });
      expect(JSON.parse(evaluated.stdout)).toMatchObject({ data: 'hitters-test', rows: 88 });
    },
    TIMEOUT,
  );
});
