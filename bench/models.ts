/**
 * The benchmark's models and data, shared by the lockstep cases and every peer (tfjs-layers, PyTorch,
 * scikit-learn): one plain description of each architecture, and one loader that prepares the rows.
 */
import { Sequential, layers, datasets, StandardScaler, trainTestSplit, Matrix } from '../src/index.js';
import type { Plan } from '../src/engine/network.js';

export type ModelName = 'mlp' | 'logreg' | 'hitters' | 'wide' | 'convnet';
export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'logreg', 'hitters', 'wide', 'convnet'];

export type Activation = 'relu' | 'tanh' | 'softmax' | 'linear';

/**
 * One layer after the input. Convolutions and pooling are 'valid' with strides equal to the pool (Keras's defaults).
 */
export type LayerSpec =
  | { kind: 'dense'; units: number; activation: Activation }
  | { kind: 'dropout'; rate: number }
  | { kind: 'conv2d'; filters: number; kernelSize: [number, number]; activation: Activation }
  | { kind: 'maxpool2d'; poolSize: [number, number] }
  | { kind: 'flatten' };

export interface ModelSpec {
  name: ModelName;
  title: string;
  dataset: 'mnist' | 'hitters';
  /** One sample: [features] for the MLPs, [height, width, channels] (channels last, as Keras) for the convnet. */
  inputShape: number[];
  layers: LayerSpec[];
  loss: 'sparse_categorical_crossentropy' | 'mse';
  /**
   * With Keras's defaults: RMSprop (lr 0.001, rho 0.9, epsilon 1e-7) or Adam (lr 0.001, betas 0.9, 0.999, epsilon
   * 1e-7).
   */
  optimizer: 'rmsprop' | 'adam';
  /** What the test-set column shows: accuracy for the digits, mean absolute error for salaries. */
  metric: 'accuracy' | 'mae';
  /**
   * lockstep's default warm-up before timing: `steps` optimizer steps, run as at most `maxEpochs` epochs over
   * the first rows. The MLPs' steps are about 2 ms and V8 keeps compiling their per-step code for about 2,500
   * steps (see CaseSpec.warmupSteps); a convnet step is 50-100 ms of wasm kernels, so 150 steps do.
   */
  warmup: { steps: number; maxEpochs: number };
}

const dense = (units: number, activation: Activation): LayerSpec => ({ kind: 'dense', units, activation });
const dropout = (rate: number): LayerSpec => ({ kind: 'dropout', rate });
const conv2d = (filters: number, kernel: number, activation: Activation): LayerSpec => ({
  kind: 'conv2d',
  filters,
  kernelSize: [kernel, kernel],
  activation,
});
const maxpool2d = (pool: number): LayerSpec => ({ kind: 'maxpool2d', poolSize: [pool, pool] });
const MLP_WARMUP = { steps: 2500, maxEpochs: 6 };

export const MODELS: Record<ModelName, ModelSpec> = {
  mlp: {
    name: 'mlp',
    title: 'MNIST MLP 784-128(relu)-drop0.3-64(tanh)-drop0.2-10(softmax)',
    dataset: 'mnist',
    inputShape: [784],
    layers: [dense(128, 'relu'), dropout(0.3), dense(64, 'tanh'), dropout(0.2), dense(10, 'softmax')],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'rmsprop',
    metric: 'accuracy',
    warmup: MLP_WARMUP,
  },
  logreg: {
    name: 'logreg',
    title: 'MNIST softmax regression 784-10',
    dataset: 'mnist',
    inputShape: [784],
    layers: [dense(10, 'softmax')],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'rmsprop',
    metric: 'accuracy',
    warmup: MLP_WARMUP,
  },
  hitters: {
    name: 'hitters',
    title: 'Hitters 19-50(relu)-drop0.4-1, mse',
    dataset: 'hitters',
    inputShape: [19],
    layers: [dense(50, 'relu'), dropout(0.4), dense(1, 'linear')],
    loss: 'mse',
    optimizer: 'rmsprop',
    metric: 'mae',
    warmup: MLP_WARMUP,
  },
  wide: {
    name: 'wide',
    title: 'MNIST wide MLP 784-1024(relu)-1024(relu)-10(softmax)',
    dataset: 'mnist',
    inputShape: [784],
    layers: [dense(1024, 'relu'), dense(1024, 'relu'), dense(10, 'softmax')],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'rmsprop',
    metric: 'accuracy',
    warmup: MLP_WARMUP,
  },
  // Keras's "Simple MNIST convnet" (keras.io/examples/vision/mnist_convnet); sparse labels instead of one-hot
  // (the same loss and gradients).
  convnet: {
    name: 'convnet',
    title: 'MNIST convnet 28x28x1-conv32(3x3,relu)-pool2-conv64(3x3,relu)-pool2-flatten-drop0.5-10(softmax), Adam',
    dataset: 'mnist',
    inputShape: [28, 28, 1],
    layers: [
      conv2d(32, 3, 'relu'),
      maxpool2d(2),
      conv2d(64, 3, 'relu'),
      maxpool2d(2),
      { kind: 'flatten' },
      dropout(0.5),
      dense(10, 'softmax'),
    ],
    loss: 'sparse_categorical_crossentropy',
    optimizer: 'adam',
    metric: 'accuracy',
    warmup: { steps: 150, maxEpochs: 1 },
  },
};

export function parseModelName(name: string): ModelName {
  if (!(MODEL_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown model '${name}'; expected one of ${MODEL_NAMES.join(', ')}`);
  return name as ModelName;
}

/** The shape of one sample after each layer (entry i is layer i's output), by Keras's 'valid' shape rules. */
export function layerShapes(spec: ModelSpec): number[][] {
  let shape = spec.inputShape;
  return spec.layers.map((l) => {
    const [h, w, c] = shape;
    if (l.kind === 'dense') shape = [l.units];
    else if (l.kind === 'conv2d') shape = [h - l.kernelSize[0] + 1, w - l.kernelSize[1] + 1, l.filters];
    else if (l.kind === 'maxpool2d') shape = [Math.floor(h / l.poolSize[0]), Math.floor(w / l.poolSize[1]), c];
    else if (l.kind === 'flatten') shape = [shape.reduce((a, b) => a * b, 1)];
    return shape;
  });
}

/** Parameter count of a spec (kernel + bias of each dense and conv2d layer); Keras's summary gives the same. */
export function paramCount(spec: ModelSpec): number {
  const shapes = layerShapes(spec);
  let total = 0;
  spec.layers.forEach((l, i) => {
    const inputs = i === 0 ? spec.inputShape : shapes[i - 1];
    if (l.kind === 'dense') total += inputs[0] * l.units + l.units;
    if (l.kind === 'conv2d') total += l.kernelSize[0] * l.kernelSize[1] * inputs[2] * l.filters + l.filters;
  });
  return total;
}

/** Does the model convolve (no scikit-learn peer; a per-phase profile)? */
export const isConvnet = (spec: ModelSpec): boolean => spec.layers.some((l) => l.kind === 'conv2d');

/** Training and test rows. Classification targets are Int32Array labels; regression targets a one-column Matrix. */
export interface BenchData {
  xTrain: Matrix;
  yTrain: Int32Array | Matrix;
  xTest: Matrix;
  yTest: Int32Array | Matrix;
}

/**
 * Loads the data of a model. `rows` keeps only the first rows of the training set and `testRows` of the MNIST
 * test set (quick runs); the Hitters test third is always whole. Hitters: NA rows dropped, factors dummy-coded (drop
 * first), one third held out (seed 1),
 * features standardized on the training rows; the target is the raw salary. `shared` puts the MNIST arrays
 * in SharedArrayBuffers (what lockstep's pool reads without copying).
 */
export async function loadData(
  spec: ModelSpec,
  options: { rows?: number; testRows?: number; shared?: boolean } = {},
): Promise<BenchData> {
  const { rows, testRows, shared = false } = options;
  if (spec.dataset === 'mnist') {
    const { train, test } = await datasets.mnist({ shared, imageShape: spec.inputShape });
    const n = Math.min(rows ?? Infinity, train.images.rows);
    const t = Math.min(testRows ?? Infinity, test.images.rows);
    return {
      xTrain: train.images.sliceRows(0, n),
      yTrain: train.labels.subarray(0, n),
      xTest: test.images.sliceRows(0, t),
      yTest: test.labels.subarray(0, t),
    };
  }
  const { x, y } = await datasets.hittersXY();
  const { xTrain, xTest, yTrain, yTest } = trainTestSplit(x, y, { testSize: 1 / 3, seed: 1 });
  const scaler = new StandardScaler().fit(xTrain);
  const n = rows === undefined ? xTrain.rows : Math.min(rows, xTrain.rows);
  return {
    xTrain: scaler.transform(xTrain).sliceRows(0, n),
    yTrain: yTrain.sliceRows(0, n),
    xTest: scaler.transform(xTest),
    yTest,
  };
}

/** The rows of `data` as [first n rows of x, first n targets]. */
export function headRows(
  data: { x: Matrix; y: Int32Array | Matrix },
  n: number,
): { x: Matrix; y: Int32Array | Matrix } {
  const k = Math.min(n, data.x.rows);
  return { x: data.x.sliceRows(0, k), y: data.y instanceof Matrix ? data.y.sliceRows(0, k) : data.y.subarray(0, k) };
}

/** The lockstep model of a spec, compiled. */
export function buildLockstep(spec: ModelSpec): Sequential {
  const model = new Sequential({ name: spec.name });
  model.add(layers.Input({ shape: spec.inputShape }));
  for (const l of spec.layers) model.add(LOCKSTEP_LAYER[l.kind](l as never));
  model.compile({ loss: spec.loss, optimizer: spec.optimizer, metrics: [spec.metric] });
  return model;
}

type Of<K extends LayerSpec['kind']> = Extract<LayerSpec, { kind: K }>;
const LOCKSTEP_LAYER: { [K in LayerSpec['kind']]: (l: Of<K>) => layers.Layer } = {
  dense: (l) => layers.Dense({ units: l.units, activation: l.activation }),
  dropout: (l) => layers.Dropout({ rate: l.rate }),
  conv2d: (l) => layers.Conv2D({ filters: l.filters, kernelSize: l.kernelSize, activation: l.activation }),
  maxpool2d: (l) => layers.MaxPooling2D({ poolSize: l.poolSize }),
  flatten: () => layers.Flatten(),
};

/** Keras's class name and default layer name of each kind. */
const KERAS_NAMES: Record<LayerSpec['kind'], [string, string]> = {
  dense: ['Dense', 'dense'],
  dropout: ['Dropout', 'dropout'],
  conv2d: ['Conv2D', 'conv2d'],
  maxpool2d: ['MaxPooling2D', 'max_pooling2d'],
  flatten: ['Flatten', 'flatten'],
};

/**
 * A spec as the engine's plan (what a pool worker builds; for the per-phase profile and step-time.ts), with Keras's
 * default names.
 */
export function planOf(spec: ModelSpec): Plan {
  const seen = new Map<string, number>();
  return {
    inputShape: spec.inputShape,
    loss: spec.loss,
    metrics: [spec.metric],
    layers: spec.layers.map(({ kind, ...options }) => {
      const [className, base] = KERAS_NAMES[kind];
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      return { className, name: n === 0 ? base : `${base}_${n}`, ...options };
    }),
  };
}

/** Keras's "Simple MNIST convnet" as an engine plan (for step-time.ts conv). */
export const CONVNET_PLAN: Plan = planOf(MODELS.convnet);
