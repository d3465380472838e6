/**
 * The models `lockstep train <name>` knows by name: the architectures of examples/*.ts, with their data
 * and fit settings. (examples/ are scripts that train on import, so they are mirrored here, not imported.)
 */
import { layers, Sequential, type Model } from '../index.js';
import { EXAMPLE_DESCRIPTIONS, FEATURES, type Family } from './catalog.js';
import { own } from '../errors.js';

/** What `train` and `summary` need from an example or a config file. */
export interface ModelSpec {
  name: string;
  /** One line for `--help` and messages. */
  description: string;
  /**
   * The built-in data it trains on: `<data>-train`, validated on `<data>-test` or a split of the training rows.
   * Undefined for a config without "data": it trains on a `--data` file only.
   */
  data?: Family;
  /**
   * A new compiled model whose initial weights come from `seed`; `inputShape` replaces the input shape, for
   * training on a `--data` file with another number of columns.
   */
  build(seed: number, inputShape?: number[]): Model;
  fit: {
    epochs: number;
    batchSize: number;
    /** `'test'`: validate on the family's test split; a number in [0, 1): Keras's validationSplit (0: none). */
    validation: 'test' | number;
    /** A config's `fit.callbacks` (see fit-callbacks.ts). */
    callbacks?: unknown[];
  };
}

const mnistMlp: ModelSpec = {
  name: 'mnist-mlp',
  description: EXAMPLE_DESCRIPTIONS['mnist-mlp'],
  data: 'mnist',
  build(seed, inputShape) {
    const model = new Sequential({ name: 'mnist_mlp', seed });
    model.add(layers.Input({ shape: inputShape ?? [FEATURES.mnist] }));
    model.add(layers.Dense({ units: 128, activation: 'relu' }));
    model.add(layers.Dropout({ rate: 0.3 }));
    model.add(layers.Dense({ units: 64, activation: 'tanh' }));
    model.add(layers.Dropout({ rate: 0.2 }));
    model.add(layers.Dense({ units: 10, activation: 'softmax' }));
    model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'rmsprop', metrics: ['accuracy'] });
    return model;
  },
  fit: { epochs: 20, batchSize: 128, validation: 0.2 },
};

const mnistLogreg: ModelSpec = {
  name: 'mnist-logreg',
  description: EXAMPLE_DESCRIPTIONS['mnist-logreg'],
  data: 'mnist',
  build(seed, inputShape) {
    const model = new Sequential({ name: 'mnist_logreg', seed });
    model.add(layers.Input({ shape: inputShape ?? [FEATURES.mnist] }));
    model.add(layers.Dense({ units: 10, activation: 'softmax' }));
    model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'rmsprop', metrics: ['accuracy'] });
    return model;
  },
  fit: { epochs: 20, batchSize: 128, validation: 0.2 },
};

/** Keras's "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet), line for line. */
const mnistConvnet: ModelSpec = {
  name: 'mnist-convnet',
  description: EXAMPLE_DESCRIPTIONS['mnist-convnet'],
  data: 'mnist',
  build(seed) {
    const model = new Sequential({ name: 'mnist_convnet', seed });
    model.add(layers.Input({ shape: [28, 28, 1] }));
    model.add(layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu' }));
    model.add(layers.MaxPooling2D({ poolSize: 2 }));
    model.add(layers.Conv2D({ filters: 64, kernelSize: 3, activation: 'relu' }));
    model.add(layers.MaxPooling2D({ poolSize: 2 }));
    model.add(layers.Flatten());
    model.add(layers.Dropout({ rate: 0.5 }));
    model.add(layers.Dense({ units: 10, activation: 'softmax' }));
    model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    return model;
  },
  fit: { epochs: 15, batchSize: 128, validation: 0.1 },
};

const hitters: ModelSpec = {
  name: 'hitters',
  description: EXAMPLE_DESCRIPTIONS.hitters,
  data: 'hitters',
  build(seed, inputShape) {
    const model = new Sequential({ name: 'hitters', seed });
    model.add(layers.Input({ shape: inputShape ?? [FEATURES.hitters] }));
    model.add(layers.Dense({ units: 50, activation: 'relu' }));
    model.add(layers.Dropout({ rate: 0.4 }));
    model.add(layers.Dense({ units: 1, name: 'Output' }));
    model.compile({ loss: 'mse', optimizer: 'rmsprop', metrics: ['mean_absolute_error'] });
    return model;
  },
  fit: { epochs: 200, batchSize: 32, validation: 'test' },
};

const EXAMPLES: Readonly<Record<string, ModelSpec>> = {
  [mnistMlp.name]: mnistMlp,
  [mnistLogreg.name]: mnistLogreg,
  [mnistConvnet.name]: mnistConvnet,
  [hitters.name]: hitters,
};

/**
 * The example called `name`, if there is one. Names come from the command line and from queued jobs, so only
 * the table's own keys count: 'constructor', 'toString' or '__proto__' are unknown like any other name.
 */
export function exampleSpec(name: unknown): ModelSpec | undefined {
  return own(EXAMPLES, name);
}
