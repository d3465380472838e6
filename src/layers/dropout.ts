/**
 * Dropout: inverted dropout while training (keep with probability 1 - rate, scale by 1/(1 - rate)), identity
 * at inference. The mask of a sample is keyed by (seed, epoch, layer, sample index), so it is the same
 * whichever worker, micro-shard or batch position the sample lands in.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFraction, checkLayerOptions } from '../errors.js';
import { foldInto } from '../rng.js';
import { dropoutMasks } from '../kernels/index.js';
import { mul } from '../ops/elementwise.js';
import {
  Layer,
  type BackwardResult,
  type ForwardContext,
  type ForwardResult,
  type LayerConfig,
  type T,
  type Weights,
  type RowPart,
} from './layer.js';
import { describeLayer } from './descriptor.js';
import { notSet, rate, required } from '../io/keras-fields.js';

/** A batch as [rows, values per sample] (a view: no copy), the shape the elementwise kernels take. */
const as2d = (x: T): tf.Tensor2D =>
  x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [x.shape[0], x.size / x.shape[0]]);
const like = (t: tf.Tensor2D, x: T): T => (x.rank === 2 ? t : tf.reshape(t, x.shape));

export interface DropoutOptions {
  rate: number;
  name?: string;
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly usesRandomKey = true;

  constructor(options: DropoutOptions) {
    checkLayerOptions('Dropout', options, ['rate', 'name']);
    super(options?.name);
    this.rate = checkFraction(`Dropout${options?.name ? ` '${options.name}'` : ''}`, 'rate', options?.rate);
  }

  get defaultName(): string {
    return 'dropout';
  }

  computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  forward(x: T, _w: Weights, ctx: ForwardContext): ForwardResult {
    if (!ctx.training || this.rate === 0) return { y: x, cache: null };
    const { dropoutKey, sampleIndices } = ctx;
    if (!dropoutKey || !sampleIndices)
      throw new Error(`Layer '${this.name}' (Dropout): training step without a dropout key`);
    const rows = x.shape[0];
    const cols = x.size / rows;
    const keys = new Int32Array(2 * rows);
    for (let r = 0; r < rows; r++) foldInto(dropoutKey, sampleIndices[r], keys, 2 * r);
    // The SIMD kernel gives the bits of rng.ts's fillDropoutMask, row by row, about 4x faster. A sample of any
    // shape takes its mask in row-major order.
    const m = tf.tensor2d(dropoutMasks(keys, rows, cols, this.rate), [rows, cols]);
    return { y: like(mul(as2d(x), m), x), cache: m };
  }

  backward(dy: T, cache: unknown, _w: Weights, _needDx: boolean, parts: RowPart[]): BackwardResult {
    if (cache === null) return { dx: dy, grads: parts.map(() => []) };
    return { dx: like(mul(as2d(dy), cache as tf.Tensor2D), dy), grads: parts.map(() => []) };
  }

  getConfig(): LayerConfig {
    return { className: this.className, name: this.name, rate: this.rate };
  }
}

/** Dropout as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const DROPOUT = describeLayer({
  className: 'Dropout',
  options: { rate: { rule: 'a number in [0, 1)', check: (v) => typeof v === 'number' && v >= 0 && v < 1 } },
  create: (options: DropoutOptions) => new Dropout(options),
  keras: {
    // The seed only picks tfjs's dropout masks; lockstep draws its own from the fit seed.
    fields: ['rate', 'noise_shape', 'seed'],
    toKeras: (l, where) => ({ rate: rate(l.rate, where), noise_shape: null, seed: null }),
    fromKeras: (c, where) => {
      notSet(c, ['noise_shape'], where);
      return { rate: rate(required(c, 'rate', where), where) };
    },
  },
});
