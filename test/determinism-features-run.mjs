#!/usr/bin/env node
/**
 * One training run using every feature of issue 25 at once, in a process of its own, on the built library
 * (dist/): sample weights (and weighted validation data), L2/L1 weight penalties and an activity penalty,
 * globalClipnorm, a CosineDecay schedule with warm-up, and every stateful metric. Prints one JSON line: the
 * sha256 of the final weights, of the optimizer state, and of the history.
 *
 *   node test/determinism-features-run.mjs '{"workers": 3}'
 *
 * Options (JSON): workers (0), epochs (3), phase ('full' | 'first' | 'resume'), stopAfter (epochs of the
 * 'first' phase), dir (where 'first' saves and 'resume' loads). Batches of 48 rows in micro-shards of 16:
 * three shards a batch; 200 training rows, so the last batch is partial.
 */
import { createHash } from 'node:crypto';

const { Sequential, layers, metrics, optimizers, regularizers, schedules, loadModel } =
  await import('../dist/src/index.js');

const o = { workers: 0, epochs: 3, phase: 'full', ...JSON.parse(process.argv[2] ?? '{}') };
const F = 6;
const C = 3;

/** A fixed three-class problem (xorshift32 stream), imbalanced: class 0 is most rows. */
function problem(rows, seed) {
  let s = seed;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const x = new Float32Array(rows * F);
  const y = new Float32Array(rows * C);
  const w = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) x[r * F + f] = next() * 2 - 1;
    const score = x[r * F] + 0.5 * x[r * F + 1] - 0.3 * x[r * F + 2] + 0.4 * next();
    const c = score > 0.9 ? 2 : score > 0.4 ? 1 : 0;
    y[r * C + c] = 1;
    w[r] = c === 0 ? 1 : 3 + next();
  }
  return { x: { data: x, shape: [rows, F] }, y: { data: y, shape: [rows, C] }, w };
}

const train = problem(200, 0x2545f491);
const val = problem(60, 0x9e3779b9);

function build() {
  const model = new Sequential({ seed: 77 });
  model.add(layers.Input({ shape: [F] }));
  model.add(
    layers.Dense({
      units: 12,
      activation: 'relu',
      kernelRegularizer: regularizers.l2(),
      biasRegularizer: regularizers.l1({ l1: 0.001 }),
      activityRegularizer: regularizers.l2({ l2: 0.0005 }),
    }),
  );
  model.add(
    layers.Dense({ units: C, activation: 'softmax', kernelRegularizer: regularizers.l1l2({ l1: 0.001, l2: 0.001 }) }),
  );
  const learningRate = new schedules.CosineDecay({
    initialLearningRate: 0.001,
    decaySteps: 20,
    alpha: 0.1,
    warmupTarget: 0.05,
    warmupSteps: 4,
  });
  model.compile({
    loss: 'categorical_crossentropy',
    optimizer: new optimizers.Adam({ learningRate, globalClipnorm: 0.5 }),
    metrics: [
      'accuracy',
      'AUC',
      new metrics.AUC({ curve: 'PR', numThresholds: 50 }),
      'precision',
      new metrics.Recall({ classId: 2, thresholds: [0.3, 0.6] }),
      new metrics.F1Score({ average: 'macro' }),
      new metrics.FBetaScore({ beta: 2, average: 'weighted', threshold: 0.4 }),
      new metrics.TopKCategoricalAccuracy({ k: 2 }),
    ],
  });
  return model;
}

const fitOptions = (extra) => ({
  batchSize: 48,
  microBatchSize: 16,
  sampleWeight: train.w,
  validationData: [val.x, val.y, val.w],
  workers: o.workers,
  seed: 5,
  verbose: 0,
  ...extra,
});

const sha = (arrays) => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
};

let model;
let history;
if (o.phase === 'resume') {
  model = await loadModel(o.dir);
  history = await model.fit(train.x, train.y, fitOptions({ epochs: o.epochs, initialEpoch: o.stopAfter }));
} else {
  model = build();
  history = await model.fit(train.x, train.y, fitOptions({ epochs: o.phase === 'first' ? o.stopAfter : o.epochs }));
  if (o.phase === 'first') await model.save(o.dir);
}
const snap = model.snapshot();
console.log(
  JSON.stringify({
    sha: sha([snap.params]),
    stateSha: sha(snap.state),
    iterations: snap.iterations,
    history: history.history,
    historySha: createHash('sha256').update(JSON.stringify(history.history)).digest('hex'),
  }),
);
await model.dispose();
