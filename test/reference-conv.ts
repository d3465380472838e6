/**
 * An independent float64 reference for the convolutional layers: Conv2D, MaxPooling2D, AveragePooling2D,
 * GlobalAverage/MaxPooling2D, Flatten and Reshape, with a Dense head and the mean squared error, written
 * from Keras's and TensorFlow's definitions in plain loops.
 *
 * Nothing here imports lockstep (only the Dense and activation maths of test/reference.ts, itself
 * independent). Tensors are channels last, [rows, height, width, channels] row-major. Parameters use
 * Keras's flat layout: per Conv2D, kernel [kh, kw, inChannels, filters] then bias [filters]; per Dense,
 * kernel [in, units] then bias [units].
 *
 * Output lengths, per spatial axis, with the dilated kernel k' = (k - 1) d + 1:
 * - 'valid': floor((in - k') / s) + 1 (a layer whose window does not fit is an error, as in Keras);
 * - 'same':  ceil(in / s), padded with total = max((out - 1) s + k' - in, 0), floor(total / 2) before
 *   (TensorFlow puts the odd one at the end).
 * Pooling over padding: max ignores the padded positions; average divides by the in-bounds count (as TF).
 */
import { activate, denseForward, lossValue } from './reference.js';

export const CONV_ACTIVATIONS = ['linear', 'tanh', 'sigmoid', 'relu'] as const;
export type ConvActivation = (typeof CONV_ACTIVATIONS)[number];
export type Padding = 'valid' | 'same';
type Pair = [number, number];

export interface Conv2DSpec {
  kind: 'conv2d';
  filters: number;
  kernelSize: Pair;
  strides: Pair;
  padding: Padding;
  dilationRate: Pair;
  activation: ConvActivation;
  useBias: boolean;
}
export interface Pooling2DSpec {
  kind: 'maxPooling2d' | 'averagePooling2d';
  poolSize: Pair;
  /** The effective strides. */
  strides: Pair;
  /** Whether the model says so, or leaves Keras's default (strides = poolSize). */
  stridesGiven: boolean;
  padding: Padding;
}
export interface GlobalPooling2DSpec {
  kind: 'globalAveragePooling2d' | 'globalMaxPooling2d';
  keepdims: boolean;
}
export interface FlattenSpec {
  kind: 'flatten';
}
export interface ReshapeSpec {
  kind: 'reshape';
  /** At most one -1, inferred. */
  targetShape: number[];
}
export interface DenseHeadSpec {
  kind: 'dense';
  units: number;
  activation: ConvActivation;
  useBias: boolean;
}
export type ConvLayerSpec =
  Conv2DSpec | Pooling2DSpec | GlobalPooling2DSpec | FlattenSpec | ReshapeSpec | DenseHeadSpec;

/** A Sequential model on images of `inputShape` ([h, w, c]), trained on the mean squared error. */
export interface ConvModelSpec {
  inputShape: number[];
  layers: ConvLayerSpec[];
}

// ---------------------------------------------------------------------------------------------------------
// Shapes

export interface Axis {
  out: number;
  /** Padding before the first input position. */
  before: number;
}

/** One spatial axis of a window (kernel or pool), or null when 'valid' leaves no output. */
export function axis(input: number, size: number, stride: number, dilation: number, padding: Padding): Axis | null {
  const span = (size - 1) * dilation + 1;
  if (padding === 'valid') {
    const out = Math.floor((input - span) / stride) + 1;
    return out >= 1 ? { out, before: 0 } : null;
  }
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + span - input, 0);
  return { out, before: Math.floor(total / 2) };
}

function axes(
  shape: number[],
  size: Pair,
  strides: Pair,
  dilation: Pair,
  padding: Padding,
  where: string,
): [Axis, Axis] {
  if (shape.length !== 3) throw new Error(`${where} needs an [h, w, c] input, got [${shape}]`);
  const a = [0, 1].map((i) => axis(shape[i], size[i], strides[i], dilation[i], padding));
  if (!a[0] || !a[1])
    throw new Error(
      `${where}: a window of ${size.join('x')} (dilation ${dilation.join('x')}) does not fit [${shape}] with 'valid'`,
    );
  return a as [Axis, Axis];
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The sample shape after one layer, by Keras's rules. */
export function layerOutputShape(layer: ConvLayerSpec, shape: number[]): number[] {
  switch (layer.kind) {
    case 'conv2d': {
      const [a, b] = axes(shape, layer.kernelSize, layer.strides, layer.dilationRate, layer.padding, 'Conv2D');
      return [a.out, b.out, layer.filters];
    }
    case 'maxPooling2d':
    case 'averagePooling2d': {
      const [a, b] = axes(shape, layer.poolSize, layer.strides, [1, 1], layer.padding, layer.kind);
      return [a.out, b.out, shape[2]];
    }
    case 'globalAveragePooling2d':
    case 'globalMaxPooling2d':
      if (shape.length !== 3) throw new Error(`${layer.kind} needs an [h, w, c] input, got [${shape}]`);
      return layer.keepdims ? [1, 1, shape[2]] : [shape[2]];
    case 'flatten':
      return [sizeOf(shape)];
    case 'reshape': {
      const known = sizeOf(layer.targetShape.filter((d) => d !== -1));
      const out = layer.targetShape.map((d) => (d === -1 ? sizeOf(shape) / known : d));
      if (sizeOf(out) !== sizeOf(shape) || !out.every(Number.isInteger))
        throw new Error(`Reshape: [${layer.targetShape}] does not fit [${shape}]`);
      return out;
    }
    case 'dense':
      if (shape.length !== 1) throw new Error(`Dense here takes flat samples, got [${shape}]`);
      return [layer.units];
  }
}

/** The output shape of every layer. */
export function outputShapes(spec: ConvModelSpec): number[][] {
  let shape = spec.inputShape;
  return spec.layers.map((l) => (shape = layerOutputShape(l, shape)));
}

/** Each weight of the model, in Keras's order: layer by layer, kernel then bias. */
export interface RefSlot {
  layer: number;
  name: 'kernel' | 'bias';
  shape: number[];
  offset: number;
  size: number;
}

export function paramSlots(spec: ConvModelSpec): RefSlot[] {
  const slots: RefSlot[] = [];
  let offset = 0;
  let shape = spec.inputShape;
  spec.layers.forEach((l, i) => {
    const add = (name: RefSlot['name'], s: number[]) => {
      slots.push({ layer: i, name, shape: s, offset, size: sizeOf(s) });
      offset += sizeOf(s);
    };
    if (l.kind === 'conv2d') {
      add('kernel', [l.kernelSize[0], l.kernelSize[1], shape[2], l.filters]);
      if (l.useBias) add('bias', [l.filters]);
    } else if (l.kind === 'dense') {
      add('kernel', [shape[0], l.units]);
      if (l.useBias) add('bias', [l.units]);
    }
    shape = layerOutputShape(l, shape);
  });
  return slots;
}

export function convParamCount(spec: ConvModelSpec): number {
  const s = paramSlots(spec);
  return s.length ? s[s.length - 1].offset + s[s.length - 1].size : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Layers

/** z = conv(x, kernel) + bias, x [rows, h, w, cin] -> [rows, oh, ow, filters]. */
export function conv2dForward(
  x: ArrayLike<number>,
  rows: number,
  shape: number[],
  kernel: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  l: Conv2DSpec,
): Float64Array {
  const [h, w, cin] = shape;
  const [ah, aw] = axes(shape, l.kernelSize, l.strides, l.dilationRate, l.padding, 'Conv2D');
  const [kh, kw] = l.kernelSize;
  const f = l.filters;
  const z = new Float64Array(rows * ah.out * aw.out * f);
  let o = 0;
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < ah.out; i++) {
      for (let j = 0; j < aw.out; j++) {
        for (let k = 0; k < f; k++) {
          let s = bias ? bias[k] : 0;
          for (let ki = 0; ki < kh; ki++) {
            const r = i * l.strides[0] + ki * l.dilationRate[0] - ah.before;
            if (r < 0 || r >= h) continue;
            for (let kj = 0; kj < kw; kj++) {
              const c = j * l.strides[1] + kj * l.dilationRate[1] - aw.before;
              if (c < 0 || c >= w) continue;
              for (let ch = 0; ch < cin; ch++)
                s += x[((b * h + r) * w + c) * cin + ch] * kernel[((ki * kw + kj) * cin + ch) * f + k];
            }
          }
          z[o++] = s;
        }
      }
    }
  }
  return z;
}

/** Positions of the input (flat indices) inside each pooling window, window by window in output order. */
export function poolWindows(rows: number, shape: number[], l: Pooling2DSpec): number[][] {
  const [h, w, ch] = shape;
  const [ah, aw] = axes(shape, l.poolSize, l.strides, [1, 1], l.padding, l.kind);
  const windows: number[][] = [];
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < ah.out; i++) {
      for (let j = 0; j < aw.out; j++) {
        for (let k = 0; k < ch; k++) {
          const at: number[] = [];
          for (let pi = 0; pi < l.poolSize[0]; pi++) {
            const r = i * l.strides[0] + pi - ah.before;
            if (r < 0 || r >= h) continue;
            for (let pj = 0; pj < l.poolSize[1]; pj++) {
              const c = j * l.strides[1] + pj - aw.before;
              if (c >= 0 && c < w) at.push(((b * h + r) * w + c) * ch + k);
            }
          }
          windows.push(at);
        }
      }
    }
  }
  return windows;
}

/** The windows of a global pooling: every pixel of one channel of one sample. */
export function globalWindows(rows: number, shape: number[]): number[][] {
  const [h, w, ch] = shape;
  const windows: number[][] = [];
  for (let b = 0; b < rows; b++) {
    for (let k = 0; k < ch; k++) {
      const at: number[] = [];
      for (let p = 0; p < h * w; p++) at.push((b * h * w + p) * ch + k);
      windows.push(at);
    }
  }
  return windows;
}

/** The first largest value of each window (and where it is): max pooling. */
export function maxOver(x: ArrayLike<number>, windows: number[][]): { y: Float64Array; picks: Int32Array } {
  const y = new Float64Array(windows.length);
  const picks = new Int32Array(windows.length);
  windows.forEach((at, o) => {
    let best = at[0];
    for (const p of at) if (x[p] > x[best]) best = p;
    y[o] = x[best];
    picks[o] = best;
  });
  return { y, picks };
}

/** The mean of each window's in-bounds values: average pooling. */
export function meanOver(x: ArrayLike<number>, windows: number[][]): Float64Array {
  return Float64Array.from(windows, (at) => at.reduce((s, p) => s + x[p], 0) / at.length);
}

// ---------------------------------------------------------------------------------------------------------
// Whole models

/** What one layer saw and produced. */
export interface ConvLayerTrace {
  inShape: number[];
  outShape: number[];
  input: Float64Array;
  /** Conv2D and Dense: the pre-activation. */
  z?: Float64Array;
  /** Max poolings: the windows and the input position each output took. */
  windows?: number[][];
  picks?: Int32Array;
  output: Float64Array;
}

export interface ConvForward {
  out: Float64Array;
  layers: ConvLayerTrace[];
}

const slice = (a: ArrayLike<number>, offset: number, n: number) =>
  Float64Array.from({ length: n }, (_, i) => a[offset + i]);

/** The float64 forward pass of every layer. */
export function convForward(
  spec: ConvModelSpec,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  rows: number,
): ConvForward {
  const slots = paramSlots(spec);
  const layers: ConvLayerTrace[] = [];
  let h: Float64Array = Float64Array.from(x);
  let shape = spec.inputShape;
  spec.layers.forEach((l, i) => {
    const outShape = layerOutputShape(l, shape);
    const weights = slots.filter((s) => s.layer === i).map((s) => slice(params, s.offset, s.size));
    const t: ConvLayerTrace = { inShape: shape, outShape, input: h, output: h };
    switch (l.kind) {
      case 'conv2d':
        t.z = conv2dForward(h, rows, shape, weights[0], weights[1], l);
        t.output = activate(l.activation, t.z, t.z.length, 1);
        break;
      case 'dense':
        t.z = denseForward(h, rows, shape[0], weights[0], weights[1], l.units);
        t.output = activate(l.activation, t.z, t.z.length, 1);
        break;
      case 'maxPooling2d':
      case 'globalMaxPooling2d': {
        t.windows = l.kind === 'maxPooling2d' ? poolWindows(rows, shape, l) : globalWindows(rows, shape);
        const m = maxOver(h, t.windows);
        t.output = m.y;
        t.picks = m.picks;
        break;
      }
      case 'averagePooling2d':
        t.output = meanOver(h, poolWindows(rows, shape, l));
        break;
      case 'globalAveragePooling2d':
        t.output = meanOver(h, globalWindows(rows, shape));
        break;
      case 'flatten':
      case 'reshape':
        // Row-major values are already in the new shape's order.
        break;
    }
    layers.push(t);
    h = t.output;
    shape = outShape;
  });
  return { out: h, layers };
}

/** Keras's mean squared error: the mean over rows of each row's mean over outputs. */
export function mse(out: ArrayLike<number>, y: ArrayLike<number>, rows: number): number {
  return lossValue('mean_squared_error', out, y, rows, out.length / rows, false);
}

/** The model's loss on (x, y), as a function of the flat parameters. */
export function convModelLoss(
  spec: ConvModelSpec,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
): number {
  return mse(convForward(spec, params, x, rows).out, y, rows);
}
