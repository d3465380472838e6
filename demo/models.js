/**
 * The demo's and the browser bench's two models (the README's MNIST MLP and Keras's MNIST convnet) and how
 * they are fed, shared so that the bench measures what the demo trains.
 */
export const MODELS = {
  mlp: {
    title: 'MNIST MLP',
    imageShape: [784],
    build(lib, seed) {
      const { Sequential, layers } = lib;
      const model = new Sequential({ name: 'mnist_mlp', seed });
      model.add(layers.Input({ shape: [784] }));
      model.add(layers.Dense({ units: 128, activation: 'relu' }));
      model.add(layers.Dropout({ rate: 0.3 }));
      model.add(layers.Dense({ units: 64, activation: 'tanh' }));
      model.add(layers.Dropout({ rate: 0.2 }));
      model.add(layers.Dense({ units: 10, activation: 'softmax' }));
      model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'rmsprop', metrics: ['accuracy'] });
      return model;
    },
  },
  convnet: {
    title: 'Keras MNIST convnet',
    imageShape: [28, 28, 1],
    build(lib, seed) {
      const { Sequential, layers } = lib;
      const model = new Sequential({ name: 'mnist_convnet', seed });
      model.add(layers.Input({ shape: [28, 28, 1] }));
      model.add(layers.Conv2D({ filters: 32, kernelSize: [3, 3], activation: 'relu' }));
      model.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
      model.add(layers.Conv2D({ filters: 64, kernelSize: [3, 3], activation: 'relu' }));
      model.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
      model.add(layers.Flatten());
      model.add(layers.Dropout({ rate: 0.5 }));
      model.add(layers.Dense({ units: 10, activation: 'softmax' }));
      model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
      return model;
    },
  },
};

/** The first `rows` training images (as the model's input shape) and labels. */
export function trainingRows(lib, mnist, kind, rows) {
  const images = mnist.train.images;
  const n = Math.min(rows, images.rows);
  const x = new lib.Matrix(images.data.subarray(0, n * 784), n, 784, MODELS[kind].imageShape);
  return { x, y: mnist.train.labels.subarray(0, n) };
}

export const VALIDATION_ROWS = 2000;

/**
 * Everything a demo run trains with, for settings { kind, rows, epochs, workers, seed }: the model, its
 * data, and fit's options (plus `extra`, such as callbacks). The browser test trains the same in Node.
 */
export function demoRun(lib, mnist, s, extra = {}) {
  const { x, y } = trainingRows(lib, mnist, s.kind, s.rows);
  const test = mnist.test;
  const valX = new lib.Matrix(
    test.images.data.subarray(0, VALIDATION_ROWS * 784),
    VALIDATION_ROWS,
    784,
    MODELS[s.kind].imageShape,
  );
  const valY = test.labels.subarray(0, VALIDATION_ROWS);
  const model = MODELS[s.kind].build(lib, s.seed);
  const options = {
    epochs: s.epochs,
    batchSize: 128,
    workers: s.workers,
    seed: s.seed,
    verbose: 0,
    validationData: [valX, valY],
    ...extra,
  };
  return { model, x, y, valX, valY, options };
}
