#!/usr/bin/env node
/**
 * The browser build (part of `npm run build`): src/browser/index.ts and workers/browser-worker.ts bundled by
 * esbuild into ES modules in dist/browser/ (lockstep.js, browser-worker.js and the chunks they share), with
 * tfjs-backend-wasm's .wasm files copied beside them. A page imports dist/browser/lockstep.js as served.
 *
 * The Node-only seams are swapped for their browser variants below (REPLACE); any other `node:` import, or
 * Piscina, fails the build naming the module that pulled it in, so nothing Node-only reaches a page unseen.
 */
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'browser');
const SRC = join(ROOT, 'src');

/** Node modules of lockstep's and the browser module that takes each one's place. */
const REPLACE = {
  'src/engine/executors.ts': 'src/browser/executors.ts',
  'src/backend.ts': 'src/browser/backend.ts',
  'src/io/artifacts.ts': 'src/browser/artifacts.ts',
  'src/io/version.ts': 'src/browser/version.ts',
  'src/plot.ts': 'src/browser/plot.ts',
};
/** Node built-ins that lockstep's browser graph may import, and their stand-ins. */
const BUILTINS = {
  'node:crypto': 'src/browser/node-crypto.ts',
  'node:path': 'src/browser/node-path.ts',
};
/** Globals of Node that lockstep's own modules use; src/browser/node-globals.ts defines stand-ins. */
const GLOBALS = ['process', 'Buffer', 'SharedArrayBuffer'];
const GLOBALS_FILE = join(SRC, 'browser', 'node-globals.ts');

const seams = {
  name: 'lockstep-browser-seams',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      if (BUILTINS[name]) return { path: join(ROOT, BUILTINS[name]) };
      if (
        ![
          'fs',
          'fs/promises',
          'os',
          'path',
          'url',
          'worker_threads',
          'child_process',
          'module',
          'util',
          'zlib',
          'crypto',
          'http',
          'net',
          'readline',
        ].includes(name.slice(5))
      )
        return undefined;
      const from = relative(ROOT, args.importer);
      // Packages (tfjs) guard their Node branches and map these to false in their "browser" field.
      if (from.includes('node_modules')) return undefined;
      return {
        errors: [
          {
            text: `${from} imports ${args.path}, which a browser lacks: give it a browser variant in scripts/build-browser.mjs (REPLACE)`,
          },
        ],
      };
    });
    b.onResolve({ filter: /^piscina$/ }, (args) => ({
      errors: [
        {
          text: `${relative(ROOT, args.importer)} imports piscina: the browser build runs on Web Workers (src/browser/executors.ts)`,
        },
      ],
    }));
    // Relative imports name .js files; lockstep's sources are .ts.
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.importer.includes('node_modules')) return undefined;
      const full = join(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const key = relative(ROOT, full);
      if (REPLACE[key]) return { path: join(ROOT, REPLACE[key]) };
      if (await exists(full)) return { path: full };
      return undefined;
    });
    // Node globals in lockstep's own modules (never in packages): import the stand-ins they name.
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('node_modules')) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (args.path === GLOBALS_FILE) return { contents: text, loader: 'ts' };
      const used = GLOBALS.filter((g) =>
        new RegExp(`(?<![.\\w$'"])${g}\\b(?!\\s*:)`).test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
      );
      if (used.length === 0) return { contents: text, loader: 'ts' };
      return { contents: `import { ${used.join(', ')} } from ${JSON.stringify(GLOBALS_FILE)};\n${text}`, loader: 'ts' };
    });
  },
};

async function exists(path) {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function buildBrowser({ quiet = false } = {}) {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const result = await build({
    // testing.js: the test hooks (setTestHooks), for lockstep's own browser tests; it shares the chunks, so
    // the hooks reach the same module instances as the library's.
    entryPoints: {
      lockstep: join(SRC, 'browser', 'index.ts'),
      'browser-worker': join(ROOT, 'workers', 'browser-worker.ts'),
      testing: join(SRC, 'testing.ts'),
    },
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16.4'],
    mainFields: ['browser', 'module', 'main'],
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'linked',
    // Chunks beside the entries: the wasm files and the worker entry resolve against import.meta.url.
    chunkNames: '[name]-[hash]',
    define: { __LOCKSTEP_VERSION__: JSON.stringify(pkg.version) },
    plugins: [seams],
    logLevel: quiet ? 'error' : 'warning',
  });
  const wasmDir = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
    await copyFile(join(wasmDir, f), join(OUT, f));
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { metafile } = await buildBrowser({ quiet: true });
  let js = 0;
  for (const [file, out] of Object.entries(metafile.outputs)) if (file.endsWith('.js')) js += out.bytes;
  if (process.argv.includes('--size')) console.log(`dist/browser: ${(js / 1024).toFixed(0)} KiB of JavaScript`);
}
