/**
 * Training runs that Node and Chromium both execute, from the same code, seed and data: the browser tests
 * compare their digests. `lib` is lockstep (dist/src/index.js in Node, dist/browser/lockstep.js in a page);
 * `sha256` hashes a list of typed arrays to hex (node:crypto in Node, WebCrypto in the page).
 *
 * Batches of 64 rows in eight micro-shards of 8 (the reduction order shows in the bits), a partial last batch,
 * 20% held out for validation, shuffling and dropout: whatever differs between the engines shows.
 */

/** A fixed synthetic classification problem (xorshift32, independent of lockstep's generator). */
export function synthetic(rows, features, classes) {
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const w = Float64Array.from({ length: features * classes }, () => next() * 2 - 1);
  const x = new Float32Array(rows * features);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const score = new Float64Array(classes);
    for (let f = 0; f < features; f++) {
      const v = next() * 2 - 1;
      x[r * features + f] = v;
      for (let c = 0; c < classes; c++) score[c] += v * w[f * classes + c];
    }
    let best = 0;
    for (let c = 1; c < classes; c++) if (score[c] + 0.3 * next() > score[best]) best = c;
    y[r] = best;
  }
  return { x, y };
}

export const SCENARIOS = ['mlp-dropout', 'convnet-batchnorm', 'functional'];

/**
 * Two inputs (the first and second half of the features), a Dense shared by two calls, a residual Add,
 * Dropout and BatchNormalization in a branch, Concatenate, and two outputs (the class, and a regression on the
 * first feature) with their own losses, a loss weight, a top-k metric and a learning-rate schedule.
 */
function functionalSetup(lib, x, y, rows, features, classes) {
  const { Model, layers, schedules } = lib;
  const half = features / 2;
  const a = layers.Input({ shape: [half], name: 'left' });
  const b = layers.Input({ shape: [half], name: 'right' });
  const h = layers.Dense({ units: 16, activation: 'relu' }).apply(a);
  const shared = layers.Dense({ units: 16, activation: 'tanh', name: 'shared' });
  const res = layers.Add().apply([h, shared.apply(h)]);
  const branch = layers
    .BatchNormalization({ momentum: 0.9 })
    .apply(layers.Dropout({ rate: 0.2 }).apply(layers.Dense({ units: 16 }).apply(b)));
  const joined = layers.Add().apply([res, shared.apply(branch)]);
  const both = layers.Concatenate().apply([joined, branch]);
  const cls = layers.Dense({ units: classes, activation: 'softmax', name: 'cls' }).apply(both);
  const reg = layers.Dense({ units: 1, name: 'reg' }).apply(res);
  const model = new Model({ inputs: [a, b], outputs: [cls, reg], seed: 1234 });
  const learningRate = new schedules.ExponentialDecay({ initialLearningRate: 0.05, decaySteps: 5, decayRate: 0.9 });
  model.compile({
    loss: { cls: 'sparse_categorical_crossentropy', reg: 'mse' },
    lossWeights: { cls: 1, reg: 0.5 },
    metrics: { cls: ['accuracy', new lib.metrics.SparseTopKCategoricalAccuracy({ k: 2 })], reg: ['mae'] },
    optimizer: new lib.optimizers.Adam({ learningRate }),
  });
  const column = (from, to) => ({
    data: Float32Array.from({ length: rows * (to - from) }, (_, i) => {
      const r = Math.floor(i / (to - from));
      return x[r * features + from + (i % (to - from))];
    }),
    shape: [rows, to - from],
  });
  const target = { data: Float32Array.from({ length: rows }, (_, r) => x[r * features]), shape: [rows, 1] };
  return { model, x: { left: column(0, half), right: column(half, features) }, y: { cls: y, reg: target } };
}

/** Builds the scenario's model (seeded) and its data. */
export function setup(lib, scenario) {
  const { Sequential, layers } = lib;
  const rows = 600;
  const features = 32;
  const classes = 4;
  const { x, y } = synthetic(rows, features, classes);
  if (scenario === 'functional') return functionalSetup(lib, x, y, rows, features, classes);
  const model = new Sequential({ seed: 1234 });
  let input;
  if (scenario === 'mlp-dropout') {
    model.add(layers.Input({ shape: [features] }));
    model.add(layers.Dense({ units: 32, activation: 'relu' }));
    model.add(layers.Dropout({ rate: 0.2 }));
    model.add(layers.Dense({ units: 16, activation: 'tanh' }));
    input = { data: x, shape: [rows, features] };
  } else if (scenario === 'convnet-batchnorm') {
    // The features as 4x4 images of two channels.
    model.add(layers.Input({ shape: [4, 4, 2] }));
    model.add(layers.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'same' }));
    model.add(layers.BatchNormalization({ momentum: 0.9 }));
    model.add(layers.MaxPooling2D({ poolSize: 2, strides: 1 }));
    model.add(layers.Conv2D({ filters: 6, kernelSize: [2, 2], activation: 'tanh' }));
    model.add(layers.BatchNormalization({ momentum: 0.9, epsilon: 0.01 }));
    model.add(layers.Flatten());
    model.add(layers.Dropout({ rate: 0.25 }));
    input = { data: x, shape: [rows, 4, 4, 2] };
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  model.add(layers.Dense({ units: classes, activation: 'softmax' }));
  model.compile({
    loss: 'sparse_categorical_crossentropy',
    optimizer: { className: 'Adam', learningRate: 0.05 },
    metrics: ['accuracy'],
  });
  return { model, x: input, y };
}

/** Trains `scenario` on `workers` and reports the digests and the history. */
export async function runScenario(lib, sha256, scenario, workers, extra = {}) {
  const { model, x, y } = setup(lib, scenario);
  try {
    const history = await model.fit(x, y, {
      epochs: 3,
      batchSize: 64,
      microBatchSize: 8,
      validationSplit: 0.2,
      workers,
      seed: 1234,
      verbose: 0,
      callbacks: [new lib.callbacks.EarlyStopping({ monitor: 'val_loss', patience: 1, restoreBestWeights: true })],
      ...extra,
    });
    const predicted = await model.predict(x, { workers, batchSize: 50 });
    const predictions = Array.isArray(predicted) ? predicted : [predicted];
    return {
      sha: await sha256(model.getWeights().map((w) => w.data)),
      stateSha: await sha256(model.currentOptimizerState()),
      predictionSha: await sha256(predictions.map((p) => p.data)),
      iterations: model.iterations,
      epochs: history.epoch,
      history: history.history,
    };
  } finally {
    await model.dispose();
  }
}

/** fit stopped by an AbortSignal at epoch 2, step 3: the error, and the steps and weights it kept. */
export async function abortScenario(lib, sha256, workers) {
  const { model, x, y } = setup(lib, 'mlp-dropout');
  const controller = new AbortController();
  const stopper = new (class extends lib.Callback {
    onBatchEnd(batch) {
      if (this.epoch === 1 && batch === 2) controller.abort('stop from the test');
    }
    onEpochBegin(epoch) {
      this.epoch = epoch;
    }
  })();
  try {
    await model.fit(x, y, {
      epochs: 3,
      batchSize: 64,
      microBatchSize: 8,
      workers,
      seed: 1234,
      verbose: 0,
      signal: controller.signal,
      callbacks: [stopper],
    });
    return { error: null };
  } catch (err) {
    return {
      name: err.name,
      message: err.message,
      iterations: model.iterations,
      sha: await sha256(model.getWeights().map((w) => w.data)),
    };
  } finally {
    await model.dispose();
  }
}

/**
 * fit on `workers` (2 or more) whose worker 1 throws at step 4 of the first epoch: the error, the steps and
 * weights kept, then a second fit on the same model and worker count (new workers replace the failed ones).
 */
export async function faultScenario(lib, sha256, workers, setTestHooks) {
  const { model, x, y } = setup(lib, 'mlp-dropout');
  const options = { epochs: 1, batchSize: 64, microBatchSize: 8, workers, seed: 1234, verbose: 0 };
  try {
    let failure = null;
    setTestHooks(model, { fault: { worker: 1, step: 3, kind: 'throw' } });
    await model.fit(x, y, options).catch((err) => (failure = err));
    setTestHooks(model, undefined);
    const kept = {
      name: failure?.name,
      message: failure?.message,
      isWorkerFailure: failure instanceof lib.WorkerFailure,
      iterations: model.iterations,
      sha: await sha256(model.getWeights().map((w) => w.data)),
    };
    const again = await model.fit(x, y, options);
    return {
      ...kept,
      after: {
        iterations: model.iterations,
        loss: again.history.loss,
        sha: await sha256(model.getWeights().map((w) => w.data)),
      },
    };
  } finally {
    await model.dispose();
  }
}
