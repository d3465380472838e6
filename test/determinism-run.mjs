#!/usr/bin/env node
/**
 * One training run for the determinism suite, in a process of its own, on the built library (dist/): run
 * `npm run build` first. Prints one JSON line: the sha256 of the final weights (and optimizer state), and
 * the history.
 *
 *   node test/determinism-run.mjs '{"workers": 3, "epochs": 4}'
 *
 * Options (JSON, all optional): workers (0), epochs (4), rows (600; with mnist, rows of MNIST), features (16),
 * classes (4), hidden (32), batchSize (64), microBatchSize (8: eight shards a batch, so that the reduction
 * adds them in two groups and its order shows in the bits), learningRate (0.05, Adam: high enough that
 * val_loss turns up and EarlyStopping fires), seed (1234), earlyStopping (true: EarlyStopping on val_loss,
 * patience 1, restoreBestWeights), mnist (false), phase ('full' | 'first' | 'resume'), stopAfter (k: epochs
 * of the 'first' phase), dir (where 'first' saves and 'resume' loads), convnet (false: the features as 4x4
 * images of features/16 channels, or MNIST's rows as 28x28x1 images, through a small convnet instead),
 * mnistCache (a directory holding MNIST's first rows as x.f32 and y.i32, written by the test once, so that
 * each process does not read the IDX files again), batchnorm (false: a BatchNormalization
 * after each hidden Dense or Conv2D, momentum 0.9 so its moving statistics move visibly), winograd (false: the
 * convnet's second convolution 3x3 'same', on the Winograd path). The model: Dense(hidden, relu),
 * Dropout(0.2), Dense(classes, softmax), sparse categorical cross-entropy, accuracy; or Conv2D(4, 3x3, relu,
 * same) -> MaxPooling2D -> Conv2D(6, 2x2, tanh) -> Flatten -> Dropout(0.25) -> Dense(classes, softmax). fit
 * shuffles, holds out 20% for validation, and the last batch is partial. The planted bug comes from
 * LOCKSTEP_PLANT.
 *
 * Resuming: 'first' trains k epochs and saves with model.save(dir); 'resume' calls loadModel(dir) in a new
 * process and trains epochs k..n-1. When save/loadModel are not available, 'first' trains k epochs and then
 * continues in the same process with fit({ initialEpoch: k }), and reports resumedVia: 'same-process'.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { synthetic as syntheticArrays } from './browser/scenarios.mjs';

const lib = await import('../dist/src/index.js');
const { Sequential, Model, layers, callbacks, Matrix, datasets } = lib;

const o = {
  workers: 0,
  epochs: 4,
  rows: 600,
  features: 16,
  classes: 4,
  hidden: 32,
  batchSize: 64,
  microBatchSize: 8,
  seed: 1234,
  learningRate: 0.05,
  earlyStopping: true,
  mnist: false,
  phase: 'full',
  convnet: false,
  batchnorm: false,
  functional: false,
  winograd: false,
  ...JSON.parse(process.argv[2] ?? '{}'),
};

/** The synthetic problem the browser tests use too, as a Matrix. */
function synthetic(rows, features, classes) {
  const { x, y } = syntheticArrays(rows, features, classes);
  return { x: new Matrix(x, rows, features), y };
}

async function data() {
  if (!o.mnist) {
    const d = synthetic(o.rows, o.features, o.classes);
    return o.convnet ? { x: { data: d.x.data, shape: [o.rows, ...imageShape(o.features)] }, y: d.y } : d;
  }
  const { x, y } = o.mnistCache ? await cachedMnist(o.mnistCache) : await firstMnistRows();
  if (x.rows < o.rows) throw new Error(`determinism-run: ${o.rows} MNIST rows asked for, ${x.rows} available`);
  // The convnet sees each row as the 28 x 28 x 1 image it is.
  return {
    x: new Matrix(x.data.slice(0, o.rows * 784), o.rows, 784, o.convnet ? [28, 28, 1] : [784]),
    y: y.slice(0, o.rows),
  };
}

async function firstMnistRows() {
  const { train } = await datasets.mnist();
  return { x: train.images, y: train.labels };
}

/** MNIST rows the test saved once with saveMnistCache (reading the IDX files takes a second per process). */
async function cachedMnist(dir) {
  const x = await readFile(join(dir, 'x.f32'));
  const y = await readFile(join(dir, 'y.i32'));
  const labels = new Int32Array(y.byteLength / 4);
  new Uint8Array(labels.buffer).set(y);
  const pixels = new Float32Array(x.byteLength / 4);
  new Uint8Array(pixels.buffer).set(x);
  return { x: new Matrix(pixels, labels.length, 784), y: labels };
}

/**
 * The model's input: MNIST as rows of 784 or 28 x 28 x 1 images; synthetic features as rows or 4x4 images, channels
 * last.
 */
const inputShape = () =>
  o.mnist ? (o.convnet ? [28, 28, 1] : [784]) : o.convnet ? imageShape(o.features) : [o.features];
const imageShape = (features) => [4, 4, features / 16];

/**
 * functional: two inputs (the first half of the features, and the rest), a residual block whose Dense is
 * shared by two calls, Dropout and BatchNormalization in a branch, Concatenate, and two outputs (the class,
 * and a regression on the first feature) with their own losses, a loss weight and per-output metrics.
 */
function buildFunctional(features, classes) {
  const half = features / 2;
  const a = layers.Input({ shape: [half], name: 'left' });
  const b = layers.Input({ shape: [features - half], name: 'right' });
  const h = layers.Dense({ units: o.hidden, activation: 'relu' }).apply(a);
  const shared = layers.Dense({ units: o.hidden, activation: 'tanh', name: 'shared' });
  const res = layers.Add().apply([h, shared.apply(h)]);
  const branch = layers
    .BatchNormalization({ momentum: 0.9 })
    .apply(layers.Dropout({ rate: 0.2 }).apply(layers.Dense({ units: o.hidden }).apply(b)));
  const joined = layers.Add().apply([res, shared.apply(branch)]);
  const both = layers.Concatenate().apply([joined, branch]);
  const cls = layers.Dense({ units: classes, activation: 'softmax', name: 'cls' }).apply(both);
  const reg = layers.Dense({ units: 1, name: 'reg' }).apply(res);
  const model = new Model({ inputs: [a, b], outputs: [cls, reg], seed: o.seed });
  model.compile({
    loss: { cls: 'sparse_categorical_crossentropy', reg: 'mse' },
    lossWeights: { cls: 1, reg: 0.5 },
    metrics: { cls: ['accuracy'], reg: ['mae'] },
    optimizer: { className: 'Adam', learningRate: o.learningRate },
  });
  return model;
}

/** The functional model's inputs and targets, from the synthetic features. */
function functionalData(x, y, features) {
  const half = features / 2;
  const cut = (from, to) =>
    new Matrix(
      Float32Array.from(
        { length: x.rows * (to - from) },
        (_, i) => x.data[Math.floor(i / (to - from)) * features + from + (i % (to - from))],
      ),
      x.rows,
      to - from,
    );
  const reg = new Matrix(
    Float32Array.from({ length: x.rows }, (_, r) => x.data[r * features]),
    x.rows,
    1,
  );
  return { x: { left: cut(0, half), right: cut(half, features) }, y: { cls: y, reg } };
}

function build(classes) {
  if (o.functional) return buildFunctional(features, classes);
  const model = new Sequential({ seed: o.seed });
  model.add(layers.Input({ shape: inputShape() }));
  if (o.convnet) {
    model.add(layers.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'same' }));
    if (o.batchnorm) model.add(layers.BatchNormalization({ momentum: 0.9 }));
    model.add(layers.MaxPooling2D({ poolSize: 2, strides: 1 }));
    // winograd: a 3x3 'same' convolution of the first one's 4 channels, which runs as Winograd's F(4x4,3x3).
    model.add(
      layers.Conv2D(
        o.winograd
          ? { filters: 6, kernelSize: 3, padding: 'same', activation: 'tanh' }
          : { filters: 6, kernelSize: [2, 2], activation: 'tanh' },
      ),
    );
    if (o.batchnorm) model.add(layers.BatchNormalization({ momentum: 0.9, epsilon: 0.01 }));
    model.add(layers.Flatten());
    model.add(layers.Dropout({ rate: 0.25 }));
  } else {
    model.add(layers.Dense({ units: o.hidden, activation: 'relu' }));
    if (o.batchnorm) model.add(layers.BatchNormalization({ momentum: 0.9 }));
    model.add(layers.Dropout({ rate: 0.2 }));
  }
  model.add(layers.Dense({ units: classes, activation: 'softmax' }));
  model.compile({
    loss: 'sparse_categorical_crossentropy',
    optimizer: { className: 'Adam', learningRate: o.learningRate },
    metrics: ['accuracy'],
  });
  return model;
}

const fitOptions = (extra) => ({
  batchSize: o.batchSize,
  microBatchSize: o.microBatchSize,
  validationSplit: 0.2,
  shuffle: true,
  workers: o.workers,
  seed: o.seed,
  verbose: 0,
  callbacks: o.earlyStopping
    ? [
        new callbacks.EarlyStopping({
          monitor: o.functional ? 'val_cls_loss' : 'val_loss',
          patience: 1,
          restoreBestWeights: true,
        }),
      ]
    : [],
  ...extra,
});

function sha(arrays) {
  const h = createHash('sha256');
  for (const a of arrays) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

function report(model, histories, extra = {}) {
  const history = {};
  const epochs = [];
  for (const h of histories) {
    epochs.push(...h.epoch);
    for (const [k, v] of Object.entries(h.history)) (history[k] ??= []).push(...v);
  }
  const out = {
    sha: sha(model.getWeights().map((w) => w.data)),
    stateSha: sha(model.currentOptimizerState()),
    iterations: model.iterations,
    epochs,
    history,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const raw = await data();
const features = o.mnist ? raw.x.cols : o.features;
const { x, y } = o.functional ? functionalData(raw.x, raw.y, features) : raw;
const classes = o.mnist ? 10 : o.classes;
const canSave = typeof lib.loadModel === 'function';

if (o.phase === 'full') {
  const model = build(classes);
  const h = await model.fit(x, y, fitOptions({ epochs: o.epochs }));
  report(model, [h]);
  await model.dispose();
} else if (o.phase === 'first') {
  const model = build(classes);
  const h1 = await model.fit(x, y, fitOptions({ epochs: o.stopAfter }));
  let saved = false;
  if (canSave) {
    try {
      await model.save(o.dir);
      saved = true;
    } catch (err) {
      if (!/not yet wired/.test(String(err?.message))) throw err;
    }
  }
  if (saved) report(model, [h1], { resumedVia: 'saved' });
  else {
    const h2 = await model.fit(x, y, fitOptions({ initialEpoch: o.stopAfter, epochs: o.epochs }));
    report(model, [h1, h2], { resumedVia: 'same-process' });
  }
  await model.dispose();
} else if (o.phase === 'resume') {
  const model = await lib.loadModel(o.dir);
  if (!model.optimizer)
    throw new Error(
      'determinism-run: loadModel returned a model without its optimizer, so training cannot resume exactly',
    );
  const h = await model.fit(x, y, fitOptions({ initialEpoch: o.stopAfter, epochs: o.epochs }));
  report(model, [h], { resumedVia: 'loadModel' });
  await model.dispose();
} else {
  throw new Error(`determinism-run: unknown phase ${o.phase}`);
}
