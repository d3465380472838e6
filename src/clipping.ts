/**
 * Gradient clipping with Keras 3's options (at most one of them, as Keras): `clipvalue` clips each element to
 * [-v, v]; `clipnorm` scales each weight's gradient to an L2 norm of at most clipnorm; `globalClipnorm`
 * scales every gradient by clipnorm / (norm of all of them together) when that norm is larger. Clipping sees
 * the gradient Keras's would: summed over the batch's shards, with the regularizers' terms added; the moving
 * averages (BatchNormalization's statistics) are not gradients and are left alone.
 *
 * A norm spans weights that several workers update, each over its own range. So the step waits at a barrier
 * once every worker has summed its range; every worker then computes the norms itself over the whole summed
 * gradient, in parameter order (float64 sums of float32 squares, rounded to float32): the same bits on every
 * worker and for any worker count; and after a second barrier each scales its own range in place, in Keras's
 * float32 arithmetic.
 */
import { badOption } from './errors.js';

const f = Math.fround;

export interface ClipOptions {
  clipnorm?: number | null;
  clipvalue?: number | null;
  globalClipnorm?: number | null;
}

export const CLIP_OPTIONS = ['clipnorm', 'clipvalue', 'globalClipnorm'] as const;

/** The checked clipping options (only those set), for an optimizer named `owner`. */
export function checkClipping(owner: string, o: ClipOptions = {}): ClipOptions {
  const out: ClipOptions = {};
  for (const k of CLIP_OPTIONS) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      throw badOption(owner, k, 'a positive finite number', v);
    out[k] = v;
  }
  if (Object.keys(out).length > 1)
    throw new Error(
      `${owner}: only one of clipnorm, clipvalue and globalClipnorm can be set (as in Keras). Received: ${JSON.stringify(out)}`,
    );
  return out;
}

/** Whether clipping needs a norm over weights other workers sum (and so a barrier first). */
export const needsNorm = (c: ClipOptions): boolean => c.clipnorm != null || c.globalClipnorm != null;

/** A weight's span in the flat vector. */
export interface Span {
  offset: number;
  size: number;
}

function sumOfSquares(g: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += g[i] * g[i];
  return s;
}

/**
 * The norms clipping needs, read from the whole summed gradient (every worker's range done): one per weight
 * for clipnorm, one in all for globalClipnorm, none for clipvalue. Reads only: the caller waits at a
 * barrier before any worker scales its range in place (`applyClipping`).
 */
export function clipNorms(c: ClipOptions, weights: readonly Span[], grad: Float32Array): number[] {
  if (c.clipnorm != null) return weights.map((w) => f(sumOfSquares(grad, w.offset, w.offset + w.size)));
  if (c.globalClipnorm != null) {
    let total = 0;
    for (const w of weights) total += sumOfSquares(grad, w.offset, w.offset + w.size);
    return [f(total)];
  }
  return [];
}

/** Clips `grad` over [lo, hi), with the sums of squares from `clipNorms`. */
export function applyClipping(
  c: ClipOptions,
  weights: readonly Span[],
  grad: Float32Array,
  lo: number,
  hi: number,
  sums: number[],
): void {
  const each = (scale: (w: number, v: number) => number) =>
    weights.forEach((w, k) => {
      for (let i = Math.max(lo, w.offset); i < Math.min(hi, w.offset + w.size); i++) grad[i] = scale(k, grad[i]);
    });
  if (c.clipvalue != null) {
    const v = f(c.clipvalue);
    each((_, g) => Math.min(Math.max(g, -v), v));
  } else if (c.clipnorm != null) {
    const cn = f(c.clipnorm);
    // Keras's _clip_by_norm: (g * clipnorm) / max(norm, clipnorm); a zero sum keeps the norm 0.
    const denom = sums.map((l2sum) => Math.max(l2sum > 0 ? f(Math.sqrt(l2sum)) : l2sum, cn));
    each((k, g) => f(f(g * cn) / denom[k]));
  } else if (c.globalClipnorm != null) {
    const cn = f(c.globalClipnorm);
    const norm = f(Math.sqrt(sums[0]));
    // Keras's clip_by_global_norm: a factor of 1 for a small norm; NaN for a non-finite one.
    const scale = f(f(cn * Math.min(f(1 / norm), f(1 / cn))) + f(norm - norm));
    each((_, g) => f(g * scale));
  }
}

/** Clips the whole of `grad` in one thread (norms, then scaling). */
export function clipGradients(
  c: ClipOptions,
  weights: readonly Span[],
  grad: Float32Array,
  lo = 0,
  hi = grad.length,
): void {
  applyClipping(c, weights, grad, lo, hi, clipNorms(c, weights, grad));
}
