/**
 * Losses with Keras's names, computed on the host in float64 from the network's float32 output.
 *
 * `compute` returns the sum over rows of each row's loss (Keras averages over the last axis, then over the
 * batch) and, when `grad` is given, writes `scale * dLoss/dOutput` into it. The engine passes
 * scale = 1 / (global batch size), so the gradients of a batch's micro-shards add up to the batch gradient.
 *
 * Cross-entropy after a softmax (or sigmoid) is fused, as Keras 3 does with the logits it keeps: the engine
 * hands over the logits z instead of probabilities, the loss uses a stable log-softmax, and the gradient
 * with respect to z is simply (p - y) * scale.
 */
import { own, unknownName } from './errors.js';
// Engine-independent exp/log (Math.exp's bits differ between Node and browsers).
import { exp, log, log1p } from './ops/libm.js';

export interface Loss {
  name: string;
  /** When the output layer ends in this activation, `compute` receives logits and returns dL/dlogits. */
  fusedActivation?: 'softmax' | 'sigmoid';
  /** How targets are laid out: one column of class indices, or one value per output. */
  target: 'sparse' | 'dense';
  /**
   * `probs`, when given with `fused`: filled with the activated outputs (softmax or sigmoid of the logits),
   * as the loss computes them in float64, rounded to float32; the metrics read them, so the activation runs
   * once per row instead of twice (the same values as `Network.activateLogits`).
   */
  compute(
    out: Float32Array,
    y: Float32Array,
    rows: number,
    cols: number,
    grad: Float32Array | null,
    scale: number,
    fused: boolean,
    probs?: Float32Array | null,
  ): number;
}

// Keras clips probabilities to [EPSILON, 1 - EPSILON] when it has no logits.
const EPSILON = 1e-7;

/** Stable log-softmax of one row of logits into `logp`; `p` gets the probabilities. */
export function softmaxRow(z: Float32Array, off: number, cols: number, p: Float64Array, logp: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) max = Math.max(max, z[off + c]);
  let sum = 0;
  for (let c = 0; c < cols; c++) sum += exp(z[off + c] - max);
  const logSum = log(sum) + max;
  for (let c = 0; c < cols; c++) {
    logp[c] = z[off + c] - logSum;
    p[c] = exp(logp[c]);
  }
}

function crossEntropy(sparse: boolean): Loss['compute'] {
  return (out, y, rows, cols, grad, scale, fused, probs) => {
    const p = new Float64Array(cols);
    const logp = new Float64Array(cols);
    let total = 0;
    let s = 1;
    let tLive = 0;
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      const label = sparse ? y[r] : -1;
      if (fused) {
        softmaxRow(out, off, cols, p, logp);
        if (probs) probs.set(p, off);
      } else {
        // Keras normalises the probabilities, then clips them.
        s = 0;
        for (let c = 0; c < cols; c++) s += out[off + c];
        tLive = 0;
        for (let c = 0; c < cols; c++) {
          const q = out[off + c] / s;
          p[c] = Math.min(Math.max(q, EPSILON), 1 - EPSILON);
          logp[c] = log(p[c]);
          // Terms whose probability is clipped are constant: they contribute no gradient.
          if (p[c] === q) tLive += sparse ? (c === label ? 1 : 0) : y[off + c];
        }
      }
      for (let c = 0; c < cols; c++) {
        const t = sparse ? (c === label ? 1 : 0) : y[off + c];
        if (t !== 0) total -= t * logp[c];
        if (grad) {
          if (fused) {
            // d/dz of -sum t log softmax(z) = p * sum(t) - t.
            let tSum = 1;
            if (!sparse) {
              tSum = 0;
              for (let k = 0; k < cols; k++) tSum += y[off + k];
            }
            grad[off + c] = (p[c] * tSum - t) * scale;
          } else {
            // d/dx_c of -sum_k t_k log(x_k / s) = -t_c / x_c + sum_k t_k / s, over the unclipped terms.
            const x = out[off + c];
            const live = p[c] === x / s;
            grad[off + c] = ((live ? -t / x : 0) + tLive / s) * scale;
          }
        }
      }
    }
    return total;
  };
}

const binaryCrossEntropy: Loss['compute'] = (out, y, rows, cols, grad, scale, fused, probs) => {
  let total = 0;
  for (let i = 0; i < rows * cols; i++) {
    const t = y[i];
    let l: number;
    let g: number;
    if (fused) {
      // Stable form on logits: max(z, 0) - z t + log(1 + e^{-|z|}); d/dz = sigmoid(z) - t.
      const z = out[i];
      l = Math.max(z, 0) - z * t + log1p(exp(-Math.abs(z)));
      const sigmoid = 1 / (1 + exp(-z));
      if (probs) probs[i] = sigmoid;
      g = sigmoid - t;
    } else {
      const x = out[i];
      const p = Math.min(Math.max(x, EPSILON), 1 - EPSILON);
      l = -(t * log(p) + (1 - t) * log(1 - p));
      g = x !== p ? 0 : -t / p + (1 - t) / (1 - p);
    }
    total += l / cols;
    if (grad) grad[i] = (g / cols) * scale;
  }
  return total;
};

/** Element-wise losses averaged over the columns: `f(e)` and `df(e)` of the error e = out - y. */
function elementwise(f: (e: number) => number, df: (e: number) => number): Loss['compute'] {
  return (out, y, rows, cols, grad, scale) => {
    let total = 0;
    for (let i = 0; i < rows * cols; i++) {
      const e = out[i] - y[i];
      total += f(e) / cols;
      if (grad) grad[i] = (df(e) / cols) * scale;
    }
    return total;
  };
}

const HUBER_DELTA = 1;

const LOSSES: Record<string, Loss> = {
  mean_squared_error: {
    name: 'mean_squared_error',
    target: 'dense',
    compute: elementwise(
      (e) => e * e,
      (e) => 2 * e,
    ),
  },
  mean_absolute_error: { name: 'mean_absolute_error', target: 'dense', compute: elementwise(Math.abs, Math.sign) },
  huber: {
    name: 'huber',
    target: 'dense',
    compute: elementwise(
      (e) => (Math.abs(e) <= HUBER_DELTA ? 0.5 * e * e : HUBER_DELTA * (Math.abs(e) - 0.5 * HUBER_DELTA)),
      (e) => Math.max(-HUBER_DELTA, Math.min(HUBER_DELTA, e)),
    ),
  },
  binary_crossentropy: {
    name: 'binary_crossentropy',
    fusedActivation: 'sigmoid',
    target: 'dense',
    compute: binaryCrossEntropy,
  },
  categorical_crossentropy: {
    name: 'categorical_crossentropy',
    fusedActivation: 'softmax',
    target: 'dense',
    compute: crossEntropy(false),
  },
  sparse_categorical_crossentropy: {
    name: 'sparse_categorical_crossentropy',
    fusedActivation: 'softmax',
    target: 'sparse',
    compute: crossEntropy(true),
  },
};

/** Keras's aliases for the same functions. */
const ALIASES: Record<string, string> = {
  mse: 'mean_squared_error',
  mae: 'mean_absolute_error',
  huber_loss: 'huber',
};

export const LOSS_NAMES = [...Object.keys(LOSSES), ...Object.keys(ALIASES)];

export function getLoss(name: string): Loss {
  const loss = own(LOSSES, own(ALIASES, name) ?? name);
  if (!loss) throw unknownName('loss', name, LOSS_NAMES);
  return loss;
}
