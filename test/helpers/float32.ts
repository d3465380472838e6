/**
 * What float32 can be asked to agree with: error scales for a forward pass of the float64 reference, the
 * kinks near which float32 and float64 may take different branches, and per-weight error scales for the
 * gradient.
 *
 * An error scale S of a quantity bounds the magnitude of every term and partial sum that goes into it, with
 * each factor that float32 only knows to absolute precision (a derivative computed from a rounded output,
 * 1 - y^2 for a saturated tanh, say) replaced by its bound. Every float32 operation then errs by at most
 * 2^-24 of such magnitudes, so a float32 evaluation differs from the exact value by at most c 2^-24 S, with
 * c the length of the chain of operations (tens here, for <= 3 layers of <= 8 units).
 */
import {
  EPSILON,
  HUBER_DELTA,
  activate,
  clip,
  outputCols,
  paramCount,
  paramLayout,
  type ActivationName,
  type ModelSpec,
  type RefForward,
} from '../reference.js';

/** Bounds on |f'(z)| (selu's is scale * alpha; gelu's and swish's maxima are 1.129 and 1.100); a derivative
 * rebuilt from a rounded output (sigmoid's y (1 - y)) is known to absolute precision only, hence 1, not 1/4. */
const DERIVATIVE: Record<ActivationName, number> = {
  linear: 1,
  relu: 1,
  tanh: 1,
  sigmoid: 1,
  softmax: 1,
  elu: 1,
  selu: 1.76,
  softplus: 1,
  gelu: 1.13,
  swish: 1.1,
};
/** Bounds on |f''(z)|: how much an error in z moves the derivative. */
const CURVATURE: Record<ActivationName, number> = {
  linear: 0,
  relu: 0,
  tanh: 0.77,
  sigmoid: 0.1,
  softmax: 1,
  elu: 1,
  selu: 1.76,
  softplus: 0.25,
  gelu: 0.8,
  swish: 0.5,
};

const SELU_SCALE_ALPHA = 1.7581;

/** Activations whose derivative jumps at z = 0 (elu's first derivative is continuous, its second is not). */
const KINKED_AT_ZERO: ReadonlySet<ActivationName> = new Set(['relu', 'selu', 'elu']);

export interface Kink {
  /** What it is, for messages: 'relu at 0 (layer 1)', 'clip at 1e-7'... */
  kind: string;
  /** Signed distance to the kink: its sign tells the side. */
  d: number;
  /** Error scale of the quantity (see the module comment). */
  scale: number;
}

/** Error scales of each layer's input, pre-activation and output, in the order of `ref.layers`. */
export interface ForwardScales {
  input: Float64Array[];
  z: (Float64Array | undefined)[];
  output: Float64Array[];
}

export function forwardScales(spec: ModelSpec, ref: RefForward, rows: number): ForwardScales {
  const s: ForwardScales = { input: [], z: [], output: [] };
  let es: Float64Array = ref.layers[0].input.map(Math.abs);
  ref.layers.forEach((t, i) => {
    const layer = spec.layers[i];
    s.input.push(es);
    if (layer.kind === 'dropout') {
      const mask = t.mask;
      es = mask ? es.map((v, k) => v * Math.abs(mask[k])) : es;
      s.z.push(undefined);
    } else {
      // z = x W + b: every partial sum is bounded by sum |x| |W| + |b|.
      const ez = matmulAbs(es, rows, t.inCols, t.kernel!, t.bias, t.outCols);
      s.z.push(ez);
      es =
        ref.fused && i === ref.layers.length - 1
          ? ez
          : activationScales(layer.activation, t.z!, t.output, ez, rows, t.outCols);
    }
    s.output.push(es);
  });
  return s;
}

function activationScales(
  name: ActivationName,
  z: Float64Array,
  y: Float64Array,
  ez: Float64Array,
  rows: number,
  cols: number,
): Float64Array {
  const es = new Float64Array(y.length);
  if (name === 'softmax') {
    // exp turns an absolute error in z into a relative one in p; the max shift and the sum double it.
    for (let r = 0; r < rows; r++) {
      const m = rowMax(ez, r, cols);
      for (let c = 0; c < cols; c++) es[r * cols + c] = y[r * cols + c] * (1 + 2 * m);
    }
  } else if (name === 'sigmoid' || name === 'softplus') {
    // Both behave like e^z for z << 0, and their slope is at most y: relative errors again.
    for (let i = 0; i < y.length; i++) es[i] = y[i] * (1 + ez[i]);
  } else {
    for (let i = 0; i < y.length; i++) es[i] = DERIVATIVE[name] * ez[i] + Math.abs(y[i]);
    // tfjs's wasm Selu computes scale alpha (e^z - 1) without expm1: below 0 it is accurate to 2^-24 scale alpha
    // absolutely, not relatively (1% off at z = -1e-6). Its Elu uses expm1 and keeps relative precision.
    if (name === 'selu') for (let i = 0; i < y.length; i++) if (z[i] < 0) es[i] += SELU_SCALE_ALPHA;
  }
  return es;
}

/**
 * The kinks of a forward pass: relu/selu/elu pre-activations at 0; mae at e = 0 and huber at |e| = delta; for
 * the unfused cross-entropies the clipping limits 1e-7 and 1 - 1e-7 and, inside them, the poles of log p
 * (p -> 0) and of log(1 - p) (binary, p -> 1), where float32's rounding of p is what the gradient divides by.
 * A clipped probability is a constant, so its poles do not matter.
 */
export function kinks(spec: ModelSpec, ref: RefForward, fs: ForwardScales, y: ArrayLike<number>, rows: number): Kink[] {
  const k: Kink[] = [];
  ref.layers.forEach((t, i) => {
    const layer = spec.layers[i];
    if (layer.kind !== 'dense' || !KINKED_AT_ZERO.has(layer.activation) || (ref.fused && i === ref.layers.length - 1))
      return;
    const kind = `${layer.activation} at 0 (layer ${i})`;
    t.z!.forEach((z, j) => k.push({ kind, d: z, scale: fs.z[i]![j] }));
  });
  if (ref.fused) return k;
  const out = ref.out;
  const es = fs.output[fs.output.length - 1];
  const cols = outputCols(spec);
  switch (spec.loss) {
    case 'mean_absolute_error':
      // e = out - y is formed in float64 from the float32 output: the output's scale bounds its error.
      out.forEach((o, i) => k.push({ kind: 'mae at e = 0', d: o - y[i], scale: es[i] }));
      break;
    case 'huber':
      out.forEach((o, i) =>
        k.push({ kind: 'huber at |e| = delta', d: Math.abs(o - y[i]) - HUBER_DELTA, scale: es[i] }),
      );
      break;
    case 'binary_crossentropy':
      out.forEach((p, i) => {
        k.push(
          { kind: 'clip at 1e-7', d: p - EPSILON, scale: es[i] },
          { kind: 'clip at 1 - 1e-7', d: p - (1 - EPSILON), scale: es[i] },
        );
        if (p === clip(p))
          k.push({ kind: 'pole of log p', d: p, scale: es[i] }, { kind: 'pole of log(1 - p)', d: 1 - p, scale: es[i] });
      });
      break;
    case 'categorical_crossentropy':
    case 'sparse_categorical_crossentropy':
      for (let r = 0; r < rows; r++) {
        let s = 0;
        let ss = 0;
        for (let c = 0; c < cols; c++) {
          s += out[r * cols + c];
          ss += es[r * cols + c];
        }
        for (let c = 0; c < cols; c++) {
          const x = out[r * cols + c];
          const q = x / s;
          // dq = (dx_c (s - x_c) - x_c sum_{k != c} dx_k) / s^2: zero when the other entries are exact zeros
          // (dropped by dropout, or a single column), where q = x / x = 1 in any precision.
          const scale = (es[r * cols + c] * Math.abs(s - x) + Math.abs(x) * (ss - es[r * cols + c])) / (s * s);
          k.push(
            { kind: 'clip at 1e-7', d: q - EPSILON, scale },
            { kind: 'clip at 1 - 1e-7', d: q - (1 - EPSILON), scale },
          );
          if (q === clip(q)) k.push({ kind: 'pole of log p', d: q, scale });
        }
      }
      break;
  }
  return k;
}

/**
 * Error scale of each weight's gradient (of the batch-mean loss): the backward pass run on magnitudes, with
 * derivatives replaced by their bounds plus the curvature times z's error scale, and inputs by their error
 * scales. For a well-conditioned entry this is about |gradient|; it is larger where terms cancel.
 */
export function gradientScales(
  spec: ModelSpec,
  ref: RefForward,
  fs: ForwardScales,
  y: ArrayLike<number>,
  rows: number,
): Float64Array {
  const layout = paramLayout(spec);
  const out = new Float64Array(paramCount(spec));
  let m: Float64Array = lossGradientScales(spec, ref, fs, y, rows);
  for (let i = ref.layers.length - 1; i >= 0; i--) {
    const t = ref.layers[i];
    const layer = spec.layers[i];
    if (layer.kind === 'dropout') {
      const mask = t.mask;
      if (mask) m = m.map((v, k) => v * Math.abs(mask[k]));
      continue;
    }
    const cols = t.outCols;
    const ez = fs.z[i]!;
    let mz: Float64Array;
    if (ref.fused && i === ref.layers.length - 1) mz = m;
    else if (layer.activation === 'relu') mz = m.map((v, k) => (t.z![k] > 0 ? v : 0));
    else if (layer.activation === 'softmax') {
      // J^T dy = y (dy - sum dy y), with y known to relative precision (1 + 2 max scale(z)).
      mz = new Float64Array(m.length);
      for (let r = 0; r < rows; r++) {
        const rel = 1 + 2 * rowMax(ez, r, cols);
        let dot = 0;
        for (let c = 0; c < cols; c++) dot += m[r * cols + c] * t.output[r * cols + c];
        for (let c = 0; c < cols; c++) mz[r * cols + c] = rel * t.output[r * cols + c] * (m[r * cols + c] + dot);
      }
    } else {
      const a = layer.activation;
      mz = m.map((v, k) => (DERIVATIVE[a] + CURVATURE[a] * ez[k]) * v);
    }
    const { offset, kernel } = layout[i];
    const esIn = fs.input[i];
    const inCols = t.inCols;
    for (let a = 0; a < inCols; a++) {
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += esIn[r * inCols + a] * mz[r * cols + c];
        out[offset + a * cols + c] = s;
      }
    }
    if (layer.useBias) {
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += mz[r * cols + c];
        out[offset + kernel + c] = s;
      }
    }
    // dx = dz W^T, on magnitudes.
    const w = t.kernel!;
    const next = new Float64Array(rows * inCols);
    for (let r = 0; r < rows; r++) {
      for (let a = 0; a < inCols; a++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += mz[r * cols + c] * Math.abs(w[a * cols + c]);
        next[r * inCols + a] = s;
      }
    }
    m = next;
  }
  return out;
}

/** Error scale of the batch-mean loss computed from float32 outputs: sum |dL/d output| scale(output). */
export function lossScale(
  spec: ModelSpec,
  ref: RefForward,
  fs: ForwardScales,
  y: ArrayLike<number>,
  rows: number,
): number {
  const m = lossGradientScales(spec, ref, fs, y, rows);
  const es = fs.output[fs.output.length - 1];
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i] * es[i];
  return s;
}

/** Error scales of d(batch-mean loss)/d(output), including how the output's own rounding moves them. */
function lossGradientScales(
  spec: ModelSpec,
  ref: RefForward,
  fs: ForwardScales,
  y: ArrayLike<number>,
  rows: number,
): Float64Array {
  const out = ref.out;
  const es = fs.output[fs.output.length - 1];
  const cols = outputCols(spec);
  const g = new Float64Array(out.length);
  const sparse = spec.loss === 'sparse_categorical_crossentropy';
  const target = (r: number, c: number) => (sparse ? (y[r] === c ? 1 : 0) : y[r * cols + c]);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let T = 0;
    for (let c = 0; c < cols; c++) T += Math.abs(target(r, c));
    if (ref.fused && spec.loss !== 'binary_crossentropy') {
      // d/dz = p sum(t) - t, p = softmax(z) to relative precision (1 + 2 max scale(z)).
      const p = activate('softmax', out.subarray(off, off + cols), 1, cols);
      const rel = 1 + 2 * rowMax(es, r, cols);
      for (let c = 0; c < cols; c++) g[off + c] = rel * p[c] * T + Math.abs(target(r, c));
      continue;
    }
    let s = 0;
    let ss = 0;
    for (let c = 0; c < cols; c++) {
      s += out[off + c];
      ss += es[off + c];
    }
    for (let c = 0; c < cols; c++) {
      const i = off + c;
      const e = out[i] - y[i];
      const t = target(r, c);
      switch (spec.loss) {
        case 'mean_squared_error':
          g[i] = (2 * (Math.abs(e) + es[i])) / cols;
          break;
        case 'mean_absolute_error':
          g[i] = 1 / cols;
          break;
        case 'huber':
          g[i] = (Math.min(Math.abs(e), HUBER_DELTA) + es[i]) / cols;
          break;
        case 'binary_crossentropy': {
          if (ref.fused) {
            // sigmoid(z) - t, with sigmoid's slope at most 1/4.
            const z = out[i];
            g[i] = (1 / (1 + Math.exp(-z)) + Math.abs(t) + es[i] / 4) / cols;
          } else {
            const p = out[i];
            const live = p === clip(p);
            g[i] = live
              ? (Math.abs(t) / p +
                  Math.abs(1 - t) / (1 - p) +
                  es[i] * (Math.abs(t) / p ** 2 + Math.abs(1 - t) / (1 - p) ** 2)) /
                cols
              : 0;
          }
          break;
        }
        default: {
          // Unfused cross-entropy: -t_c / x_c (unclipped terms) + sum(t) / s, and their sensitivity to rounding.
          const x = out[i];
          const live = x / s === clip(x / s);
          g[i] = (live ? Math.abs(t) / x + (Math.abs(t) * es[i]) / x ** 2 : 0) + T / Math.abs(s) + (T * ss) / s ** 2;
        }
      }
    }
  }
  return g.map((v) => v / rows);
}

function matmulAbs(
  x: Float64Array,
  rows: number,
  inCols: number,
  w: Float64Array,
  b: Float64Array | undefined,
  cols: number,
): Float64Array {
  const z = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = b ? Math.abs(b[c]) : 0;
      for (let a = 0; a < inCols; a++) s += x[r * inCols + a] * Math.abs(w[a * cols + c]);
      z[r * cols + c] = s;
    }
  }
  return z;
}

function rowMax(a: Float64Array, r: number, cols: number): number {
  let m = 0;
  for (let c = 0; c < cols; c++) m = Math.max(m, a[r * cols + c]);
  return m;
}
