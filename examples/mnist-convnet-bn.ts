/**
 * Keras's "Simple MNIST convnet" with a BatchNormalization after each convolution. While training, each
 * BatchNormalization uses the mean and variance of the whole batch of 128 images, all its micro-shards on
 * all the workers (they meet at a shared-memory exchange between layers), so the weights are the same bits
 * on any number of workers; evaluate uses the moving statistics. Prints the test accuracy and what the
 * exchange cost per step.
 *
 *   node dist/examples/mnist-convnet-bn.js                  # all cores
 *   node dist/examples/mnist-convnet-bn.js --workers 2 --epochs 2
 */
import { Sequential, layers, datasets, setRandomSeed, toCategorical, backendInfo, initBackend } from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 15 });
setRandomSeed(args.seed);
const { train, test } = await datasets.mnist({ imageShape: [28, 28, 1] });
const yTrain = toCategorical(train.labels, 10);
const yTest = toCategorical(test.labels, 10);
await initBackend();
const info = backendInfo();
console.log(
  `lockstep: training on ${args.workers === 0 ? 'the main thread' : `${args.workers} worker${args.workers === 1 ? '' : 's'}`} (tfjs ${info.backend}, simd: ${info.simd})`,
);

const model = new Sequential({ name: 'mnist_convnet_bn' });
model.add(layers.Input({ shape: [28, 28, 1] }));
model.add(layers.Conv2D({ filters: 32, kernelSize: [3, 3], activation: 'relu' }));
model.add(layers.BatchNormalization());
model.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
model.add(layers.Conv2D({ filters: 64, kernelSize: [3, 3], activation: 'relu' }));
model.add(layers.BatchNormalization());
model.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
model.add(layers.Flatten());
model.add(layers.Dropout({ rate: 0.5 }));
model.add(layers.Dense({ units: 10, activation: 'softmax' }));
model.summary(console.log);
model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });

const started = performance.now();
const history = await model.fit(train.images, yTrain, {
  epochs: args.epochs,
  batchSize: 128,
  validationSplit: 0.1,
  workers: args.workers,
  verbose: args.verbose,
});
const seconds = (performance.now() - started) / 1000;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const t = history.timing;
console.log(
  `trained ${args.epochs} epochs in ${seconds.toFixed(1)} s (median ${median(t.map((e) => e.seconds)).toFixed(2)} s/epoch of ${history.params.steps} steps) on ${history.params.workers} workers`,
);
const exchange = median(t.map((e) => e.exchangeMsPerStep ?? 0));
console.log(
  `batch statistics exchange: ${median(t.map((e) => e.exchangesPerStep ?? 0)).toFixed(1)} calls a step, ${exchange.toFixed(3)} ms a step waiting ` +
    `(${(exchange / 2).toFixed(3)} ms per BatchNormalization layer) of ${median(t.map((e) => e.computeMsPerStep + e.reduceMsPerStep + e.syncMsPerStep + (e.exchangeMsPerStep ?? 0))).toFixed(1)} ms`,
);

const score = await model.evaluate(test.images, yTest, { workers: args.workers, batchSize: 500 });
console.log(`Test loss: ${score.loss.toFixed(4)}`);
console.log(`Test accuracy: ${score.accuracy.toFixed(4)}`);
await model.dispose();
