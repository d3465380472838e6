/**
 * An independent float64 reference for models with BatchNormalization and LayerNormalization, written from
 * the textbook definitions (not from lockstep's code): Dense, Conv2D (test/reference-conv.ts), Flatten, and
 * the two normalizations, trained on the mean squared error. BatchNormalization normalizes with the mean and
 * biased variance of the WHOLE batch, every row at once: the semantics lockstep must keep however the batch is
 * cut into micro-shards and spread over workers.
 */
import { conv2dForward, layerOutputShape, type Conv2DSpec } from './reference-conv.js';

export type NormActivation = 'linear' | 'tanh';

export interface DenseL {
  kind: 'dense';
  units: number;
  activation: NormActivation;
  useBias: boolean;
}
export interface ConvL {
  kind: 'conv2d';
  conv: Conv2DSpec;
}
export interface FlattenL {
  kind: 'flatten';
}
export interface BatchNormL {
  kind: 'batchNorm';
  /** Counting the batch as axis 0; negative from the end. */
  axis: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
}
export interface LayerNormL {
  kind: 'layerNorm';
  axis: number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
}
export type NormLayer = DenseL | ConvL | FlattenL | BatchNormL | LayerNormL;

export interface NormModel {
  inputShape: number[];
  layers: NormLayer[];
}

const prod = (a: number[]) => a.reduce((p, d) => p * d, 1);

export interface RefWeight {
  layer: number;
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Sample shapes: the input's, then each layer's output. */
export function shapesOf(m: NormModel): number[][] {
  const out = [m.inputShape];
  for (const l of m.layers) {
    const s = out[out.length - 1];
    if (l.kind === 'dense') out.push([l.units]);
    else if (l.kind === 'conv2d') out.push(layerOutputShape(l.conv, s));
    else if (l.kind === 'flatten') out.push([prod(s)]);
    else out.push([...s]);
  }
  return out;
}

/** Keras's weights and their order: kernel, bias; gamma, beta, moving_mean, moving_variance. */
export function weightsOf(m: NormModel): RefWeight[] {
  const shapes = shapesOf(m);
  const w: RefWeight[] = [];
  let offset = 0;
  const add = (layer: number, name: string, shape: number[]) => {
    w.push({ layer, name, shape, offset, size: prod(shape) });
    offset += prod(shape);
  };
  m.layers.forEach((l, i) => {
    const s = shapes[i];
    if (l.kind === 'dense') {
      add(i, 'kernel', [s[0], l.units]);
      if (l.useBias) add(i, 'bias', [l.units]);
    } else if (l.kind === 'conv2d') {
      add(i, 'kernel', [...l.conv.kernelSize, s[2], l.conv.filters]);
      if (l.conv.useBias) add(i, 'bias', [l.conv.filters]);
    } else if (l.kind === 'batchNorm') {
      const c = s[(l.axis < 0 ? l.axis + s.length + 1 : l.axis) - 1];
      if (l.scale) add(i, 'gamma', [c]);
      if (l.center) add(i, 'beta', [c]);
      add(i, 'moving_mean', [c]);
      add(i, 'moving_variance', [c]);
    } else if (l.kind === 'layerNorm') {
      // The axes' sizes in the order given (the values are laid out over the axes in increasing order).
      const given = l.axis.map((a) => (a < 0 ? a + s.length + 1 : a));
      if (l.scale)
        add(
          i,
          'gamma',
          given.map((a) => s[a - 1]),
        );
      if (l.center)
        add(
          i,
          'beta',
          given.map((a) => s[a - 1]),
        );
    }
  });
  return w;
}

export const normalizedAxes = (axis: number[], rank: number) =>
  [...new Set(axis.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);

const act = (a: NormActivation, v: number) => (a === 'tanh' ? Math.tanh(v) : v);

/** The batch statistics each BatchNormalization layer used, by layer index. */
export type BatchStats = Map<number, { mean: Float64Array; variance: Float64Array }>;

/** The model's outputs on `rows` rows, and each BatchNormalization's whole-batch statistics. */
export function forward(
  m: NormModel,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  rows: number,
): { out: Float64Array; stats: BatchStats } {
  const shapes = shapesOf(m);
  const weights = weightsOf(m);
  const get = (i: number, name: string) => {
    const w = weights.find((v) => v.layer === i && v.name === name);
    return w ? Array.from({ length: w.size }, (_, k) => params[w.offset + k]) : undefined;
  };
  const stats: BatchStats = new Map();
  let h = Float64Array.from(x);
  m.layers.forEach((l, i) => {
    const s = shapes[i];
    if (l.kind === 'dense') {
      const f = s[0];
      const k = get(i, 'kernel')!;
      const b = get(i, 'bias');
      const y = new Float64Array(rows * l.units);
      for (let r = 0; r < rows; r++) {
        for (let u = 0; u < l.units; u++) {
          let z = b ? b[u] : 0;
          for (let j = 0; j < f; j++) z += h[r * f + j] * k[j * l.units + u];
          y[r * l.units + u] = act(l.activation, z);
        }
      }
      h = y;
    } else if (l.kind === 'conv2d') {
      h = conv2dForward(h, rows, s, get(i, 'kernel')!, get(i, 'bias'), { ...l.conv, activation: 'linear' }).map((v) =>
        act(l.conv.activation as NormActivation, v),
      );
    } else if (l.kind === 'batchNorm') {
      const k = (l.axis < 0 ? l.axis + s.length + 1 : l.axis) - 1;
      const c = s[k];
      const inner = prod(s.slice(k + 1));
      const channel = (e: number) => Math.floor(e / inner) % c;
      // Over every row of the batch at once.
      const n = h.length / c;
      const mean = new Float64Array(c);
      h.forEach((v, e) => (mean[channel(e)] += v / n));
      const variance = new Float64Array(c);
      h.forEach((v, e) => (variance[channel(e)] += (v - mean[channel(e)]) ** 2 / n));
      stats.set(i, { mean, variance });
      const gamma = get(i, 'gamma');
      const beta = get(i, 'beta');
      h = h.map((v, e) => {
        const ch = channel(e);
        return (gamma ? gamma[ch] : 1) * ((v - mean[ch]) / Math.sqrt(variance[ch] + l.epsilon)) + (beta ? beta[ch] : 0);
      });
    } else if (l.kind === 'layerNorm') {
      h = layerNorm(h, rows, s, l, get(i, 'gamma'), get(i, 'beta'));
    }
  });
  return { out: h, stats };
}

/** Each row normalized over the given axes, separately for every position of the other axes. */
function layerNorm(
  h: Float64Array,
  rows: number,
  s: number[],
  l: LayerNormL,
  gamma: number[] | undefined,
  beta: number[] | undefined,
): Float64Array {
  const axes = normalizedAxes(l.axis, s.length + 1).map((a) => a - 1);
  const perRow = prod(s);
  const strides = s.map((_, d) => prod(s.slice(d + 1)));
  const index = (e: number) => s.map((dim, d) => Math.floor(e / strides[d]) % dim);
  // Group of an element: its row and its indices on the axes not normalized; weight index: the others.
  const groupOf = (e: number) =>
    index(e)
      .map((v, d) => (axes.includes(d) ? 0 : v))
      .join(',');
  const paramOf = (e: number) => {
    const idx = index(e);
    return axes.reduce((p, d) => p * s[d] + idx[d], 0);
  };
  const out = new Float64Array(h.length);
  for (let r = 0; r < rows; r++) {
    const groups = new Map<string, number[]>();
    for (let e = 0; e < perRow; e++) {
      const g = groupOf(e);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(e);
    }
    for (const members of groups.values()) {
      const vals = members.map((e) => h[r * perRow + e]);
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const variance = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length;
      members.forEach((e, j) => {
        const p = paramOf(e);
        out[r * perRow + e] =
          (gamma ? gamma[p] : 1) * ((vals[j] - mean) / Math.sqrt(variance + l.epsilon)) + (beta ? beta[p] : 0);
      });
    }
  }
  return out;
}

/** Keras's mean squared error over the batch: the mean over rows of each row's mean over outputs. */
export function loss(
  m: NormModel,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
): number {
  const { out } = forward(m, params, x, rows);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += (out[i] - y[i]) ** 2;
  return s / out.length;
}

/** Central differences of `loss` in every parameter (float64; h = 1e-6). */
export function numericGradient(
  m: NormModel,
  params: number[],
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
): Float64Array {
  const p = Float64Array.from(params);
  const g = new Float64Array(p.length);
  const h = 1e-6;
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    p[i] = v + h;
    const up = loss(m, p, x, y, rows);
    p[i] = v - h;
    const down = loss(m, p, x, y, rows);
    p[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
