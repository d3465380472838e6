/**
 * The benchmark's models and data, shared by the lockstep cases and every peer (tfjs-layers, PyTorch,
 * scikit-learn): one plain description of each architecture, and one loader that prepares the rows.
 */
import { Sequential, layers, datasets, StandardScaler, trainTestSplit, Matrix } from '../src/index.js';

export type ModelName = 'mlp' | 'logreg' | 'hitters' | 'wide';
export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'logreg', 'hitters', 'wide'];

/** One layer after the input: a dense layer, or dropout. */
export type LayerSpec = { kind: 'dense'; units: number; activation: 'relu' | 'tanh' | 'softmax' | 'linear' } | { kind: 'dropout'; rate: number };

export interface ModelSpec {
  name: ModelName;
  title: string;
  dataset: 'mnist' | 'hitters';
  inputDim: number;
  layers: LayerSpec[];
  loss: 'sparse_categorical_crossentropy' | 'mse';
  /** Always RMSprop with Keras's defaults (learning rate 0.001, rho 0.9, epsilon 1e-7). */
  optimizer: 'rmsprop';
  /** What the test-set column shows: accuracy for the digits, mean absolute error for salaries. */
  metric: 'accuracy' | 'mae';
}

const dense = (units: number, activation: 'relu' | 'tanh' | 'softmax' | 'linear'): LayerSpec => ({ kind: 'dense', units, activation });
const dropout = (rate: number): LayerSpec => ({ kind: 'dropout', rate });

export const MODELS: Record<ModelName, ModelSpec> = {
  mlp: {
    name: 'mlp',
    title: 'MNIST MLP 784-128(relu)-drop0.3-64(tanh)-drop0.2-10(softmax)',
    dataset: 'mnist',
    inputDim: 784,
    layers: [dense(128, 'relu'), dropout(0.3), dense(64, 'tanh'), dropout(0.2), dense(10, 'softmax')],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'rmsprop',
    metric: 'accuracy',
  },
  logreg: {
    name: 'logreg',
    title: 'MNIST softmax regression 784-10',
    dataset: 'mnist',
    inputDim: 784,
    layers: [dense(10, 'softmax')],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'rmsprop',
    metric: 'accuracy',
  },
  hitters: {
    name: 'hitters',
    title: 'Hitters 19-50(relu)-drop0.4-1, mse',
    dataset: 'hitters',
    inputDim: 19,
    layers: [dense(50, 'relu'), dropout(0.4), dense(1, 'linear')],
    loss: 'mse',
    optimizer: 'rmsprop',
    metric: 'mae',
  },
  wide: {
    name: 'wide',
    title: 'MNIST wide MLP 784-1024(relu)-1024(relu)-10(softmax)',
    dataset: 'mnist',
    inputDim: 784,
    layers: [dense(1024, 'relu'), dense(1024, 'relu'), dense(10, 'softmax')],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'rmsprop',
    metric: 'accuracy',
  },
};

export function parseModelName(name: string): ModelName {
  if (!(MODEL_NAMES as readonly string[]).includes(name)) throw new Error(`unknown model '${name}'; expected one of ${MODEL_NAMES.join(', ')}`);
  return name as ModelName;
}

/** Parameter count of a spec (kernel + bias of each dense layer). */
export function paramCount(spec: ModelSpec): number {
  let inputs = spec.inputDim;
  let total = 0;
  for (const l of spec.layers) {
    if (l.kind !== 'dense') continue;
    total += inputs * l.units + l.units;
    inputs = l.units;
  }
  return total;
}

/** Training and test rows. Classification targets are Int32Array labels; regression targets a one-column Matrix. */
export interface BenchData {
  xTrain: Matrix;
  yTrain: Int32Array | Matrix;
  xTest: Matrix;
  yTest: Int32Array | Matrix;
}

/**
 * Loads the data of a model. `rows` keeps only the first rows of the training set and `testRows` of the MNIST
 * test set (quick runs); the Hitters test third is always whole. Hitters: NA rows dropped, factors dummy-coded (drop first), one third held out (seed 1),
 * features standardized on the training rows; the target is the raw salary. `shared` puts the MNIST arrays
 * in SharedArrayBuffers (what lockstep's pool reads without copying).
 */
export async function loadData(spec: ModelSpec, options: { rows?: number; testRows?: number; shared?: boolean } = {}): Promise<BenchData> {
  const { rows, testRows, shared = false } = options;
  if (spec.dataset === 'mnist') {
    const { train, test } = await datasets.mnist({ shared });
    const n = Math.min(rows ?? Infinity, train.images.rows);
    const t = Math.min(testRows ?? Infinity, test.images.rows);
    return { xTrain: train.images.sliceRows(0, n), yTrain: train.labels.subarray(0, n), xTest: test.images.sliceRows(0, t), yTest: test.labels.subarray(0, t) };
  }
  const { x, y } = await datasets.hittersXY();
  const { xTrain, xTest, yTrain, yTest } = trainTestSplit(x, y, { testSize: 1 / 3, seed: 1 });
  const scaler = new StandardScaler().fit(xTrain);
  const n = rows === undefined ? xTrain.rows : Math.min(rows, xTrain.rows);
  return { xTrain: scaler.transform(xTrain).sliceRows(0, n), yTrain: yTrain.sliceRows(0, n), xTest: scaler.transform(xTest), yTest };
}

/** The rows of `data` as [first n rows of x, first n targets]. */
export function headRows(data: { x: Matrix; y: Int32Array | Matrix }, n: number): { x: Matrix; y: Int32Array | Matrix } {
  const k = Math.min(n, data.x.rows);
  return { x: data.x.sliceRows(0, k), y: data.y instanceof Matrix ? data.y.sliceRows(0, k) : data.y.subarray(0, k) };
}

/** The lockstep model of a spec, compiled. */
export function buildLockstep(spec: ModelSpec): Sequential {
  const model = new Sequential({ name: spec.name });
  model.add(layers.Input({ shape: [spec.inputDim] }));
  for (const l of spec.layers) {
    model.add(l.kind === 'dense' ? layers.dense({ units: l.units, activation: l.activation }) : layers.dropout({ rate: l.rate }));
  }
  model.compile({ loss: spec.loss, optimizer: spec.optimizer, metrics: [spec.metric] });
  return model;
}

/** Keras's "Simple MNIST convnet" as an engine plan (for the step-time micro-benchmark). */
export const CONVNET_PLAN = {
  inputShape: [28, 28, 1],
  loss: 'sparse_categorical_crossentropy',
  metrics: ['accuracy'],
  layers: [
    { className: 'Conv2D', name: 'conv2d', filters: 32, kernelSize: [3, 3], activation: 'relu' },
    { className: 'MaxPooling2D', name: 'max_pooling2d', poolSize: [2, 2] },
    { className: 'Conv2D', name: 'conv2d_1', filters: 64, kernelSize: [3, 3], activation: 'relu' },
    { className: 'MaxPooling2D', name: 'max_pooling2d_1', poolSize: [2, 2] },
    { className: 'Flatten', name: 'flatten' },
    { className: 'Dropout', name: 'dropout', rate: 0.5 },
    { className: 'Dense', name: 'dense', units: 10, activation: 'softmax' },
  ],
};
