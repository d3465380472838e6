/**
 * An independent float64 reference for the proof suites: Dense (every activation), Dropout (given its mask),
 * every loss and every metric, written from Keras 3's definitions in plain TypeScript.
 *
 * Nothing here imports lockstep: the point is to check lockstep's float32 tfjs/wasm maths against maths
 * that share none of its code (its own erf included). Parameters use Keras's flat layout: per Dense layer,
 * kernel [in, out] row-major, then bias [out]; Dropout holds no weights.
 *
 * `forwardModel` returns every layer's input, pre-activation and output, from which test/helpers/float32.ts
 * derives the error analysis the gradient check needs (kinks, float32 error scales).
 */

export const ACTIVATIONS = [
  'linear',
  'relu',
  'tanh',
  'sigmoid',
  'softmax',
  'elu',
  'selu',
  'softplus',
  'gelu',
  'swish',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const LOSSES = [
  'mean_squared_error',
  'mean_absolute_error',
  'huber',
  'binary_crossentropy',
  'categorical_crossentropy',
  'sparse_categorical_crossentropy',
] as const;
export type LossName = (typeof LOSSES)[number];

/** Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON] when there are no logits. */
export const EPSILON = 1e-7;
export const HUBER_DELTA = 1;

// Klambauer et al. (2017), eq. 14, to the digits the paper gives.
// The literals round to the nearest double, as intended: the digits are the paper's.
/* eslint-disable no-loss-of-precision */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
/* eslint-enable no-loss-of-precision */

// ---------------------------------------------------------------------------------------------------------
// erf

/**
 * erf(x) from the everywhere-convergent series erf x = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (2n+1)!!
 * (Abramowitz & Stegun 7.1.6). Every term has the sign of x, so there is no cancellation: the result is
 * accurate to a few float64 ulps. Past |x| = 6, 1 - erf(x) < 3e-17, below half an ulp of 1.
 */
export function erf(x: number): number {
  if (x === 0) return 0;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  const x2 = ax * ax;
  let term = ax;
  let sum = ax;
  for (let n = 1; n < 400; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

// ---------------------------------------------------------------------------------------------------------
// Activations

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Element-wise activations (everything but softmax). */
const ELEMENTWISE: Record<Exclude<ActivationName, 'softmax'>, (z: number) => number> = {
  linear: (z) => z,
  relu: (z) => (z > 0 ? z : 0),
  tanh: Math.tanh,
  sigmoid,
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  selu: (z) => (z > 0 ? SELU_SCALE * z : SELU_SCALE * SELU_ALPHA * Math.expm1(z)),
  softplus: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))),
  // Keras's default gelu is the exact one (approximate=False).
  gelu: (z) => 0.5 * z * (1 + erf(z / Math.SQRT2)),
  swish: (z) => z * sigmoid(z),
};

/** Applies an activation to a rows x cols matrix (softmax row by row, max-shifted). */
export function activate(name: ActivationName, z: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  if (name === 'softmax') {
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      let max = -Infinity;
      for (let c = 0; c < cols; c++) max = Math.max(max, z[off + c]);
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += Math.exp(z[off + c] - max);
      for (let c = 0; c < cols; c++) y[off + c] = Math.exp(z[off + c] - max) / sum;
    }
    return y;
  }
  const f = ELEMENTWISE[name];
  for (let i = 0; i < y.length; i++) y[i] = f(z[i]);
  return y;
}

/** z = x @ kernel + bias for rows x inCols input, kernel [inCols, units] row-major. */
export function denseForward(
  x: ArrayLike<number>,
  rows: number,
  inCols: number,
  kernel: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  units: number,
): Float64Array {
  const z = new Float64Array(rows * units);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      let s = bias ? bias[j] : 0;
      for (let i = 0; i < inCols; i++) s += x[r * inCols + i] * kernel[i * units + j];
      z[r * units + j] = s;
    }
  }
  return z;
}

/** Inverted dropout with a given mask (0 or 1 / (1 - rate) per element). */
function dropoutForward(x: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < y.length; i++) y[i] = x[i] * mask[i];
  return y;
}

// ---------------------------------------------------------------------------------------------------------
// Losses: Keras's per-sample values (mean over the last axis, or the sum for cross-entropy)

/** Which output activation the loss consumes as logits when the last Dense layer ends in it (Keras's _keras_logits). */
function fusedActivationOf(loss: LossName): ActivationName | undefined {
  if (loss === 'binary_crossentropy') return 'sigmoid';
  if (loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy') return 'softmax';
  return undefined;
}

/** Columns of y per row: one class index for the sparse loss, else one per output. */
export const targetCols = (loss: LossName, outCols: number) =>
  loss === 'sparse_categorical_crossentropy' ? 1 : outCols;

/** Keras's clipping of probabilities when it has no logits. */
export const clip = (p: number) => Math.min(Math.max(p, EPSILON), 1 - EPSILON);

/**
 * Per-sample losses of `out` (probabilities/values, or logits when `fromLogits`) against y.
 *
 * Without logits the cross-entropies follow Keras 3's numpy/JAX backends: categorical and sparse normalise
 * each row to sum 1, then clip to [1e-7, 1 - 1e-7]; binary clips. (Keras's TensorFlow backend clips the sparse
 * loss's probabilities before normalising; the two agree whenever nothing is clipped.) With logits they use
 * log-softmax / log-sigmoid and no clipping, as tf.nn.*_cross_entropy_with_logits does.
 */
export function perSampleLoss(
  loss: LossName,
  out: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  cols: number,
  fromLogits: boolean,
): Float64Array {
  const l = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let s = 0;
    switch (loss) {
      case 'mean_squared_error':
        for (let c = 0; c < cols; c++) s += (out[off + c] - y[off + c]) ** 2;
        l[r] = s / cols;
        break;
      case 'mean_absolute_error':
        for (let c = 0; c < cols; c++) s += Math.abs(out[off + c] - y[off + c]);
        l[r] = s / cols;
        break;
      case 'huber':
        for (let c = 0; c < cols; c++) {
          const a = Math.abs(out[off + c] - y[off + c]);
          s += a <= HUBER_DELTA ? 0.5 * a * a : HUBER_DELTA * a - 0.5 * HUBER_DELTA * HUBER_DELTA;
        }
        l[r] = s / cols;
        break;
      case 'binary_crossentropy':
        for (let c = 0; c < cols; c++) {
          const t = y[off + c];
          if (fromLogits) {
            // -t log sigmoid(z) - (1 - t) log(1 - sigmoid(z)), with log sigmoid(z) = -softplus(-z).
            const z = out[off + c];
            s += t * softplus(-z) + (1 - t) * softplus(z);
          } else {
            const p = clip(out[off + c]);
            s += -(t * Math.log(p) + (1 - t) * Math.log(1 - p));
          }
        }
        l[r] = s / cols;
        break;
      case 'categorical_crossentropy':
      case 'sparse_categorical_crossentropy': {
        const logp = fromLogits ? logSoftmaxRow(out, off, cols) : clippedLogRow(out, off, cols);
        if (loss === 'sparse_categorical_crossentropy') l[r] = -logp[y[r]];
        else for (let c = 0; c < cols; c++) l[r] -= y[off + c] * logp[c];
        break;
      }
    }
  }
  return l;
}

function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

function logSoftmaxRow(z: ArrayLike<number>, off: number, cols: number): Float64Array {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) max = Math.max(max, z[off + c]);
  let sum = 0;
  for (let c = 0; c < cols; c++) sum += Math.exp(z[off + c] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(cols);
  for (let c = 0; c < cols; c++) out[c] = z[off + c] - lse;
  return out;
}

function clippedLogRow(p: ArrayLike<number>, off: number, cols: number): Float64Array {
  let s = 0;
  for (let c = 0; c < cols; c++) s += p[off + c];
  const out = new Float64Array(cols);
  for (let c = 0; c < cols; c++) out[c] = Math.log(clip(p[off + c] / s));
  return out;
}

/** Keras's loss value: the mean over rows of the per-sample losses. */
export function lossValue(
  loss: LossName,
  out: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  cols: number,
  fromLogits: boolean,
): number {
  const l = perSampleLoss(loss, out, y, rows, cols, fromLogits);
  let s = 0;
  for (const v of l) s += v;
  return s / rows;
}

// ---------------------------------------------------------------------------------------------------------
// Metrics: Keras's per-epoch values over a set of rows (outputs are probabilities, never logits)

export const METRICS = [
  'mean_absolute_error',
  'mean_squared_error',
  'root_mean_squared_error',
  'sparse_categorical_accuracy',
  'categorical_accuracy',
  'binary_accuracy',
] as const;
export type MetricName = (typeof METRICS)[number];

/** First index of the largest value (numpy's argmax). */
function argmax(a: ArrayLike<number>, off: number, cols: number): number {
  let best = 0;
  for (let c = 1; c < cols; c++) if (a[off + c] > a[off + best]) best = c;
  return best;
}

export function metricValue(
  metric: MetricName,
  out: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  cols: number,
): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let v = 0;
    switch (metric) {
      case 'mean_absolute_error':
        for (let c = 0; c < cols; c++) v += Math.abs(out[off + c] - y[off + c]) / cols;
        break;
      case 'mean_squared_error':
      case 'root_mean_squared_error':
        for (let c = 0; c < cols; c++) v += (out[off + c] - y[off + c]) ** 2 / cols;
        break;
      case 'sparse_categorical_accuracy':
        v = argmax(out, off, cols) === y[r] ? 1 : 0;
        break;
      case 'categorical_accuracy':
        v = argmax(out, off, cols) === argmax(y, off, cols) ? 1 : 0;
        break;
      case 'binary_accuracy':
        // Keras: threshold 0.5 (strictly greater), mean over the last axis.
        for (let c = 0; c < cols; c++) v += ((out[off + c] > 0.5 ? 1 : 0) === y[off + c] ? 1 : 0) / cols;
        break;
    }
    sum += v;
  }
  // RMSE is the root of the mean of all squared errors (every row has `cols` of them).
  return metric === 'root_mean_squared_error' ? Math.sqrt(sum / rows) : sum / rows;
}

// ---------------------------------------------------------------------------------------------------------
// Whole models

export interface DenseSpec {
  kind: 'dense';
  units: number;
  activation: ActivationName;
  useBias: boolean;
}
export interface DropoutSpec {
  kind: 'dropout';
  rate: number;
}
export type LayerSpec = DenseSpec | DropoutSpec;

export interface ModelSpec {
  inputCols: number;
  layers: LayerSpec[];
  loss: LossName;
}

export function outputCols(spec: ModelSpec): number {
  let cols = spec.inputCols;
  for (const l of spec.layers) if (l.kind === 'dense') cols = l.units;
  return cols;
}

/** Keras's flat weight layout: [offset, kernel size, bias size] per layer (zeros for Dropout). */
export function paramLayout(spec: ModelSpec): { offset: number; kernel: number; bias: number; inCols: number }[] {
  let cols = spec.inputCols;
  let offset = 0;
  return spec.layers.map((l) => {
    if (l.kind !== 'dense') return { offset, kernel: 0, bias: 0, inCols: cols };
    const e = { offset, kernel: cols * l.units, bias: l.useBias ? l.units : 0, inCols: cols };
    offset += e.kernel + e.bias;
    cols = l.units;
    return e;
  });
}

export function paramCount(spec: ModelSpec): number {
  const layout = paramLayout(spec);
  const last = layout[layout.length - 1];
  return last ? last.offset + last.kernel + last.bias : 0;
}

/** Keras hands the loss logits when the last layer is a Dense whose activation the loss can absorb. */
export function isFused(spec: ModelSpec): boolean {
  const last = spec.layers[spec.layers.length - 1];
  return last?.kind === 'dense' && last.activation === fusedActivationOf(spec.loss);
}

/** What one layer saw and produced in a forward pass. */
export interface LayerTrace {
  /** The layer's input, rows x inCols. */
  input: Float64Array;
  inCols: number;
  /** Dense only: the pre-activation x W + b (the logits of a fused output layer). */
  z?: Float64Array;
  /** Dense only: the kernel [inCols, units] and bias (absent without bias). */
  kernel?: Float64Array;
  bias?: Float64Array;
  /** Dropout only: the mask applied, when training. */
  mask?: ArrayLike<number>;
  output: Float64Array;
  outCols: number;
}

export interface RefForward {
  /** The model's output, or the last layer's logits when `fused`. */
  out: Float64Array;
  fused: boolean;
  layers: LayerTrace[];
}

/**
 * Forward pass in float64. `masks[i]` is the rows x cols mask of layer i when it is a Dropout layer and the
 * pass is a training pass; without a mask, Dropout is the identity (inference). When the loss absorbs the
 * output activation (`isFused`), the last layer outputs its logits, as Keras hands them to the loss.
 */
export function forwardModel(
  spec: ModelSpec,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  rows: number,
  masks: (ArrayLike<number> | undefined)[] = [],
): RefForward {
  const layout = paramLayout(spec);
  const fused = isFused(spec);
  const layers: LayerTrace[] = [];
  let h: Float64Array = Float64Array.from(x);
  let cols = spec.inputCols;
  spec.layers.forEach((layer, i) => {
    if (layer.kind === 'dropout') {
      const mask = masks[i];
      const output = mask ? dropoutForward(h, mask) : h;
      layers.push({ input: h, inCols: cols, mask, output, outCols: cols });
      h = output;
      return;
    }
    const { offset, kernel: size } = layout[i];
    const kernel = sliceOf(params, offset, size);
    const bias = layer.useBias ? sliceOf(params, offset + size, layer.units) : undefined;
    const z = denseForward(h, rows, cols, kernel, bias, layer.units);
    const output = fused && i === spec.layers.length - 1 ? z : activate(layer.activation, z, rows, layer.units);
    layers.push({ input: h, inCols: cols, z, kernel, bias, output, outCols: layer.units });
    h = output;
    cols = layer.units;
  });
  return { out: h, fused, layers };
}

/** The loss of the whole model on (x, y): Keras's batch mean. */
export function modelLoss(
  spec: ModelSpec,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
  masks: (ArrayLike<number> | undefined)[] = [],
): number {
  const f = forwardModel(spec, params, x, rows, masks);
  return lossValue(spec.loss, f.out, y, rows, outputCols(spec), f.fused);
}

function sliceOf(a: ArrayLike<number>, offset: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[offset + i];
  return out;
}
