/**
 * Keras's "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet), line for line: two 3x3
 * convolutions with max pooling, dropout 0.5, softmax; Adam, categorical cross-entropy on one-hot labels,
 * 15 epochs of batch 128 with 10% held out for validation. Uses every core by default.
 *
 *   node dist/examples/mnist-convnet.js                  # all cores
 *   node dist/examples/mnist-convnet.js --workers 1 --epochs 2
 */
import { Sequential, layers, datasets, setRandomSeed, toCategorical, backendInfo, initBackend } from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 15 });
setRandomSeed(args.seed);
// Images as [28, 28, 1] (height, width, channels), pixels scaled to [0, 1], as Keras's example prepares them.
const { train, test } = await datasets.mnist({ imageShape: [28, 28, 1] });
const yTrain = toCategorical(train.labels, 10);
const yTest = toCategorical(test.labels, 10);
await initBackend();
const info = backendInfo();
console.log(
  `lockstep: training on ${args.workers === 0 ? 'the main thread' : `${args.workers} worker${args.workers === 1 ? '' : 's'}`} (tfjs ${info.backend}, simd: ${info.simd})`,
);

const model = new Sequential({ name: 'mnist_convnet' });
model.add(layers.Input({ shape: [28, 28, 1] }));
model.add(layers.Conv2D({ filters: 32, kernelSize: [3, 3], activation: 'relu' }));
model.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
model.add(layers.Conv2D({ filters: 64, kernelSize: [3, 3], activation: 'relu' }));
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
const perEpoch = history.timing.map((t) => t.seconds).sort((a, b) => a - b)[Math.floor(history.timing.length / 2)];
console.log(
  `trained ${args.epochs} epochs in ${seconds.toFixed(1)} s (median ${perEpoch.toFixed(2)} s/epoch of ${history.params.steps} steps) on ${history.params.workers} workers`,
);

const score = await model.evaluate(test.images, yTest, { workers: args.workers, batchSize: 500 });
console.log(`Test loss: ${score.loss.toFixed(4)}`);
console.log(`Test accuracy: ${score.accuracy.toFixed(4)}`);
await model.dispose();
