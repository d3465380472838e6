/**
 * A small residual convnet on MNIST, written with the functional API: a Conv-BatchNorm-ReLU stem, three
 * residual blocks (two 3x3 convolutions each, joined to the block's input with Add), max pooling between
 * stages, global average pooling and a softmax Dense. Prints the test accuracy.
 *
 *   node dist/examples/mnist-resnet.js                  # all cores, 12 epochs
 *   node dist/examples/mnist-resnet.js --workers 2 --epochs 2
 */
import { Model, layers, datasets, setRandomSeed, backendInfo, initBackend, type SymbolicTensor } from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 12 });
setRandomSeed(args.seed);
const { train, test } = await datasets.mnist({ imageShape: [28, 28, 1] });
await initBackend();
const info = backendInfo();
console.log(
  `lockstep: training on ${args.workers === 0 ? 'the main thread' : `${args.workers} worker${args.workers === 1 ? '' : 's'}`} (tfjs ${info.backend}, simd: ${info.simd})`,
);

const convBn = (x: SymbolicTensor, filters: number) =>
  layers
    .BatchNormalization()
    .apply(layers.Conv2D({ filters, kernelSize: 3, padding: 'same', useBias: false }).apply(x));
const relu = (x: SymbolicTensor) => layers.Activation({ activation: 'relu' }).apply(x);

/** Conv-BN-ReLU, Conv-BN, plus the block's input, then ReLU. */
function residualBlock(x: SymbolicTensor, filters: number): SymbolicTensor {
  const y = convBn(relu(convBn(x, filters)), filters);
  return relu(layers.Add().apply([y, x]));
}

const input = layers.Input({ shape: [28, 28, 1], name: 'image' });
let x: SymbolicTensor = relu(convBn(input, 16));
x = residualBlock(x, 16);
x = layers.MaxPooling2D({ poolSize: 2 }).apply(x);
x = relu(convBn(x, 32));
x = residualBlock(x, 32);
x = layers.MaxPooling2D({ poolSize: 2 }).apply(x);
x = residualBlock(x, 32);
x = layers.GlobalAveragePooling2D().apply(x);
const output = layers.Dense({ units: 10, activation: 'softmax', name: 'digit' }).apply(x);
const model = new Model({ inputs: input, outputs: output, name: 'mnist_resnet' });
model.summary(console.log);
model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });

const started = performance.now();
const history = await model.fit(train.images, train.labels, {
  epochs: args.epochs,
  batchSize: 128,
  validationSplit: 0.1,
  workers: args.workers,
  verbose: args.verbose,
});
const seconds = (performance.now() - started) / 1000;
console.log(`trained ${history.epoch.length} epochs in ${seconds.toFixed(1)} s on ${history.params.workers} workers`);
const score = await model.evaluate(test.images, test.labels, { workers: args.workers, batchSize: 500 });
console.log(`Test loss: ${score.loss.toFixed(4)}`);
console.log(`Test accuracy: ${score.accuracy.toFixed(4)}`);
await model.dispose();
