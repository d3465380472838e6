/**
 * What whole-batch BatchNormalization costs: Keras's MNIST convnet with and without a BatchNormalization after
 * each convolution, trained on the first `--rows` MNIST images (batch 128) with 1 and 2 workers (or
 * `--workers LIST`), after one warm-up epoch. Per case: ms per step, the time spent waiting at the batch
 * statistics exchange per step and per BatchNormalization layer, the exchange calls per step, and the test
 * accuracy on the 10,000 test images. Both worker counts of a model must give the same weights (checked).
 *
 *   node dist/bench/batchnorm.js                       # 6,000 rows, 1 timed epoch, workers 1,2
 *   node dist/bench/batchnorm.js --rows 12000 --epochs 2 --workers 1,2
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { Sequential, layers, datasets, toCategorical, initBackend } from '../src/index.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '6000' },
    epochs: { type: 'string', default: '1' },
    workers: { type: 'string', default: '1,2' },
  },
});
const rows = Number(values.rows);
const epochs = Number(values.epochs);
const workerCounts = values.workers!.split(',').map(Number);

await initBackend();
const { train, test } = await datasets.mnist({ imageShape: [28, 28, 1] });
const x = train.images.sliceRows(0, rows);
const y = toCategorical(train.labels.slice(0, rows), 10);
const yTest = toCategorical(test.labels, 10);

function build(batchnorm: boolean): Sequential {
  const model = new Sequential({ name: batchnorm ? 'convnet_bn' : 'convnet', seed: 13 });
  model.add(layers.Input({ shape: [28, 28, 1] }));
  model.add(layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu' }));
  if (batchnorm) model.add(layers.BatchNormalization());
  model.add(layers.MaxPooling2D({ poolSize: 2 }));
  model.add(layers.Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }));
  if (batchnorm) model.add(layers.BatchNormalization());
  model.add(layers.MaxPooling2D({ poolSize: 2 }));
  model.add(layers.Flatten());
  model.add(layers.Dropout({ rate: 0.5 }));
  model.add(layers.Dense({ units: 10, activation: 'softmax' }));
  model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return model;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const lines: string[] = [];
for (const batchnorm of [false, true]) {
  const shas = new Set<string>();
  for (const workers of workerCounts) {
    const fresh = build(batchnorm);
    const initial = fresh.getWeights();
    // Warm-up on the same pool (V8 and the wasm kernels in its threads), on 1,000 rows; then the timed
    // epochs from the initial weights, with a new optimizer (compile starts its state afresh).
    await fresh.fit(x.sliceRows(0, 1000), y.sliceRows(0, 1000), {
      batchSize: 128,
      epochs: 1,
      workers,
      verbose: 0,
      shuffle: false,
    });
    fresh.setWeights(initial);
    fresh.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const h = await fresh.fit(x, y, { batchSize: 128, epochs, workers, verbose: 0, seed: 13 });
    const t = h.timing;
    const step = median(t.map((e) => (1000 * e.seconds) / e.steps));
    const exchange = median(t.map((e) => e.exchangeMsPerStep ?? 0));
    const calls = median(t.map((e) => e.exchangesPerStep ?? 0));
    const score = await fresh.evaluate(test.images, yTest, { workers, batchSize: 500 });
    const hash = createHash('sha256');
    for (const w of fresh.getWeights()) hash.update(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    shas.add(hash.digest('hex'));
    const bnLayers = batchnorm ? 2 : 0;
    lines.push(
      `${batchnorm ? 'with BatchNormalization   ' : 'without BatchNormalization'} workers ${workers}: ${step.toFixed(1)} ms/step` +
        (bnLayers
          ? `, exchange ${exchange.toFixed(3)} ms/step (${(exchange / bnLayers).toFixed(3)} ms per BatchNormalization layer, ${calls.toFixed(1)} calls/step)`
          : '') +
        `, accuracy: training ${h.history.accuracy.at(-1)!.toFixed(4)} (batch statistics), test ${score.accuracy.toFixed(4)} after ${epochs} epoch(s) of ${rows} rows`,
    );
    console.log(lines[lines.length - 1]);
    await fresh.dispose();
  }
  if (shas.size !== 1)
    throw new Error(`${batchnorm ? 'with' : 'without'} BatchNormalization: the worker counts gave different weights`);
}
console.log(
  `\nsame weights on workers ${workerCounts.join(', ')}: yes (SHA-256 of the weights, moving statistics included)`,
);
// Keras's behaviour, not a lockstep one: at momentum 0.99 the moving statistics need a few hundred steps to
// forget their initial zeros and ones, and evaluate uses them; a short run scores low on the test set.
console.log(
  `moving statistics (momentum 0.99) after ${Math.ceil(rows / 128) * epochs} steps: ${(100 * (1 - 0.99 ** (Math.ceil(rows / 128) * epochs))).toFixed(0)}% of the way from their initial values`,
);
