#!/usr/bin/env node
/**
 * `npm run bench:browser`: the MNIST MLP and the Keras convnet in headless Chromium (demo/bench.html) and in
 * Node, same models, rows, epochs and seed, for 1 and 2 workers; the browser build's size; and the time from
 * page load to the first training step. Prints a table and writes dist/bench-browser.json.
 *
 *   npm run bench:browser -- --epochs 3 --mlp-rows 12800 --convnet-rows 2560
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { startServer } from './static-server.mjs';
import { MODELS, trainingRows } from '../demo/models.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const config = {
  kinds: ['mlp', 'convnet'],
  workers: [1, 2],
  rows: { mlp: arg('mlp-rows', 12800), convnet: arg('convnet-rows', 2560) },
  epochs: arg('epochs', 3),
  seed: 1,
};

async function bundleSize() {
  const dir = join(ROOT, 'dist', 'browser');
  let js = 0;
  let gz = 0;
  let wasm = 0;
  for (const f of await readdir(dir)) {
    if (f.endsWith('.js')) {
      const bytes = await readFile(join(dir, f));
      js += bytes.length;
      gz += gzipSync(bytes).length;
    } else if (f === 'tfjs-backend-wasm-simd.wasm') wasm += (await stat(join(dir, f))).size;
  }
  return { jsBytes: js, jsGzipBytes: gz, simdWasmBytes: wasm };
}

async function inNode() {
  const lib = await import('../dist/src/index.js');
  const mnist = await lib.datasets.mnist();
  const out = [];
  for (const kind of config.kinds) {
    for (const w of config.workers) {
      const model = MODELS[kind].build(lib, config.seed);
      const { x, y } = trainingRows(lib, mnist, kind, config.rows[kind]);
      const history = await model.fit(x, y, {
        epochs: config.epochs,
        batchSize: 128,
        workers: w,
        seed: config.seed,
        verbose: 0,
      });
      await model.dispose();
      const seconds = history.timing
        .slice(1)
        .map((t) => t.seconds)
        .sort((a, b) => a - b);
      out.push({ kind, workers: w, secondsPerEpoch: seconds[Math.floor(seconds.length / 2)] });
    }
  }
  return out;
}

const server = await startServer({ mounts: { '/': ROOT } });
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
try {
  const version = await browser.version();
  const page = await browser.newPage();
  await page.goto(`${server.url}demo/bench.html`);
  await page.waitForFunction('window.benchReady === true');
  const load = await page.evaluate(() => window.firstStep());
  const chromium = await page.evaluate((c) => window.bench(c), config);
  const node = await inNode();
  const size = await bundleSize();
  const result = {
    chromium: version,
    node: process.version,
    config,
    size,
    load,
    rows: chromium.map((r, i) => ({ ...r, nodeSecondsPerEpoch: node[i].secondsPerEpoch })),
  };
  await writeFile(join(ROOT, 'dist', 'bench-browser.json'), JSON.stringify(result, null, 2));
  console.log(
    `${version} vs Node ${process.version}; medians of epochs 2..${config.epochs}; the machine may be shared, so compare within one run`,
  );
  console.log('model    rows   workers  chromium s/epoch  node s/epoch  ratio');
  for (const r of result.rows)
    console.log(
      `${r.kind.padEnd(8)} ${String(r.rows).padEnd(6)} ${String(r.workers).padEnd(8)} ${r.secondsPerEpoch.toFixed(3).padStart(16)}  ${r.nodeSecondsPerEpoch.toFixed(3).padStart(12)}  ${(r.secondsPerEpoch / r.nodeSecondsPerEpoch).toFixed(2)}`,
    );
  console.log(
    `bundle: ${(size.jsBytes / 1024).toFixed(0)} KiB of JavaScript (${(size.jsGzipBytes / 1024).toFixed(0)} KiB gzipped) + ${(size.simdWasmBytes / 1024).toFixed(0)} KiB tfjs SIMD wasm`,
  );
  console.log(
    `page load to: library loaded ${load.moduleLoaded.toFixed(0)} ms, MNIST loaded ${load.mnistLoaded.toFixed(0)} ms, first step ${load.firstStep.toFixed(0)} ms (${(load.firstStep - load.fitCalled).toFixed(0)} ms after fit was called, ${load.workers} workers)`,
  );
} finally {
  await browser.close();
  await server.close();
}
