/**
 * The chapter's multinomial logistic regression on MNIST: one Dense layer of 10 softmax units (7,850
 * weights), RMSprop, 20 epochs of batch 128 with 20% held out for validation.
 *
 *   node dist/examples/mnist-logreg.js [--workers N] [--epochs N]
 */
import { Sequential, layers, datasets, setRandomSeed } from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 20 });
setRandomSeed(args.seed);
const { train, test } = await datasets.mnist();

const model = new Sequential({ name: 'mnist_logreg' });
model.add(layers.Input({ shape: [784] }));
model.add(layers.Dense({ units: 10, activation: 'softmax' }));
model.summary(console.log);
model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'rmsprop', metrics: ['accuracy'] });
await model.fit(train.images, train.labels, {
  epochs: args.epochs,
  batchSize: 128,
  validationSplit: 0.2,
  workers: args.workers,
  verbose: args.verbose,
});
const { accuracy } = await model.evaluate(test.images, test.labels, { workers: args.workers, batchSize: 500 });
console.log(`test accuracy: ${accuracy.toFixed(4)}`);
await model.dispose();
