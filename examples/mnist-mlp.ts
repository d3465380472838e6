/**
 * The chapter's MNIST multilayer network: 784-128 relu, dropout 0.3, 64 tanh, dropout 0.2, 10 softmax,
 * RMSprop, 20 epochs of batch 128 with 20% held out for validation. Uses every core by default. Draws the
 * misclassified digits among the first 500 test images and the test set's confusion matrix into --out
 * (default out/mnist-mlp).
 *
 *   npm start                      # all cores
 *   node dist/examples/mnist-mlp.js --workers 1 --epochs 5 --out /tmp/mnist
 */
import { join } from 'node:path';
import {
  Sequential,
  layers,
  datasets,
  setRandomSeed,
  backendInfo,
  initBackend,
  plotMisclassified,
  plotConfusionMatrix,
} from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 20 });
setRandomSeed(args.seed);
const { train, test } = await datasets.mnist();
await initBackend();
const info = backendInfo();
console.log(
  `lockstep: training on ${args.workers === 0 ? 'the main thread' : `${args.workers} worker${args.workers === 1 ? '' : 's'}`} (tfjs ${info.backend}, simd: ${info.simd})`,
);

const model = new Sequential({ name: 'mnist_mlp' });
model.add(layers.Input({ shape: [784] }));
model.add(layers.Dense({ units: 128, activation: 'relu' }));
model.add(layers.Dropout({ rate: 0.3 }));
model.add(layers.Dense({ units: 64, activation: 'tanh' }));
model.add(layers.Dropout({ rate: 0.2 }));
model.add(layers.Dense({ units: 10, activation: 'softmax' }));
model.summary(console.log);
model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'rmsprop', metrics: ['accuracy'] });

const started = performance.now();
const history = await model.fit(train.images, train.labels, {
  epochs: args.epochs,
  batchSize: 128,
  validationSplit: 0.2,
  workers: args.workers,
  verbose: args.verbose,
});
const seconds = (performance.now() - started) / 1000;
const perEpoch = history.timing.map((t) => t.seconds).sort((a, b) => a - b)[Math.floor(history.timing.length / 2)];
console.log(
  `trained ${args.epochs} epochs in ${seconds.toFixed(1)} s (median ${perEpoch.toFixed(2)} s/epoch of ${history.params.steps} steps) on ${history.params.workers} workers`,
);

const { accuracy } = await model.evaluate(test.images, test.labels, { workers: args.workers, batchSize: 500 });
console.log(`test accuracy: ${accuracy.toFixed(4)}`);

// The chapter looks at the mistakes among the first 500 test images, and draws them.
const out = args.out ?? 'out/mnist-mlp';
const probabilities = await model.predict(test.images, { workers: args.workers, batchSize: 500 });
const first = probabilities.sliceRows(0, 500);
const wrongFile = join(out, 'misclassified.png');
const wrong = await plotMisclassified(wrongFile, test.images.sliceRows(0, 500), test.labels.subarray(0, 500), first);
console.log(`misclassified among the first 500 test images: ${wrong.length}`);
for (const m of wrong) {
  const p = Array.from(first.row(m.index), (v) => v.toFixed(2)).join(' ');
  console.log(
    `  image ${m.index}: label ${m.label}, predicted ${m.predicted} (${m.probability.toFixed(2)}); probabilities ${p}`,
  );
}
console.log(`drew them in ${wrongFile}`);
const confusionFile = join(out, 'confusion.png');
await plotConfusionMatrix(confusionFile, test.labels, probabilities);
console.log(`drew the test set's confusion matrix in ${confusionFile}`);
await model.dispose();
