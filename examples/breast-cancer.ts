/**
 * An imbalanced binary task: malignant (37% of rows) or benign, from 30 measurements of a breast mass
 * (scikit-learn's copy of the Breast Cancer Wisconsin (Diagnostic) data, CC BY 4.0; exported to data/ by
 * scripts/export-breast-cancer.py, which also scores scikit-learn's MLPClassifier on the same split).
 *
 * Dense(16, relu, L2) -> Dense(1, sigmoid), Adam with a cosine learning-rate schedule and warm-up, class
 * weights that balance the two classes, and AUC (ROC and PR), precision and recall.
 *
 *   node dist/examples/breast-cancer.js [--workers N] [--epochs N]
 */
import { fileURLToPath } from 'node:url';
import {
  loadCsv,
  layers,
  metrics,
  optimizers,
  regularizers,
  schedules,
  Sequential,
  setRandomSeed,
} from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 60 });
setRandomSeed(args.seed);
const file = (split: string) => fileURLToPath(new URL(`../../data/breast-cancer-${split}.csv`, import.meta.url));

// The scaler is fitted on the training rows and applied to the test rows.
const train = await loadCsv(file('train'), { target: 'malignant', standardize: true });
const test = await loadCsv(file('test'), { preprocessing: train.preprocessing });
const labels = train.y!.data;
const positives = labels.reduce((n, v) => n + v, 0);
// Keras's usual balancing: each class weighs n / (2 * rows of the class).
const classWeight = { 0: labels.length / (2 * (labels.length - positives)), 1: labels.length / (2 * positives) };
console.log(
  `breast cancer: ${labels.length} training rows (${positives} malignant), ${test.y!.shape[0]} test rows; class weights ${classWeight[0].toFixed(3)}, ${classWeight[1].toFixed(3)}`,
);

const batchSize = 32;
const steps = Math.ceil(labels.length / batchSize) * args.epochs;
const model = new Sequential({ name: 'breast_cancer' });
model.add(layers.Input({ shape: [train.x.shape[1]] }));
model.add(layers.Dense({ units: 16, activation: 'relu', kernelRegularizer: regularizers.l2({ l2: 1e-3 }) }));
model.add(layers.Dense({ units: 1, activation: 'sigmoid' }));
const learningRate = new schedules.CosineDecay({
  initialLearningRate: 1e-3,
  warmupTarget: 1e-2,
  warmupSteps: 30,
  decaySteps: steps - 30,
});
model.compile({
  loss: 'binary_crossentropy',
  optimizer: new optimizers.Adam({ learningRate }),
  metrics: ['AUC', new metrics.AUC({ curve: 'PR', name: 'pr_auc' }), 'precision', 'recall'],
});

const x = { data: train.x.data, shape: train.x.shape };
const history = await model.fit(
  x,
  { data: train.y!.data, shape: train.y!.shape },
  { epochs: args.epochs, batchSize, classWeight, workers: args.workers, verbose: 0 },
);
const last = (k: string) => history.history[k].at(-1)!.toFixed(4);
console.log(
  `after ${args.epochs} epochs: loss ${last('loss')}, auc ${last('auc')}, precision ${last('precision')}, recall ${last('recall')}`,
);
const scores = await model.evaluate(
  { data: test.x.data, shape: test.x.shape },
  { data: test.y!.data, shape: test.y!.shape },
  { workers: args.workers },
);
console.log(
  `test: ROC AUC ${scores.auc.toFixed(4)}, PR AUC ${scores.pr_auc.toFixed(4)}, precision ${scores.precision.toFixed(4)}, recall ${scores.recall.toFixed(4)}`,
);
if (args.out) await history.plot(`${args.out}/breast-cancer-history.svg`);
await model.dispose();
