/**
 * Dropout: inverted dropout while training (keep with probability 1 - rate, scale by 1/(1 - rate)), identity
 * at inference. The mask of a sample is keyed by (seed, epoch, layer, sample index), so it is the same
 * whichever worker, micro-shard or batch position the sample lands in.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFraction, checkLayerOptions } from '../errors.js';
import { foldInto } from '../rng.js';
import { dropoutMasks } from '../kernels/index.js';
import { mul } from '../engine/elementwise.js';
import { Layer, type BackwardResult, type ForwardContext, type ForwardResult, type LayerConfig, type T, type Weights, type RowPart } from './layer.js';

export interface DropoutOptions {
  rate: number;
  name?: string;
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;

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
    if (!dropoutKey || !sampleIndices) throw new Error(`Layer '${this.name}' (Dropout): training step without a dropout key`);
    const [rows, cols] = x.shape;
    const keys = new Int32Array(2 * rows);
    for (let r = 0; r < rows; r++) foldInto(dropoutKey, sampleIndices[r], keys, 2 * r);
    // The SIMD kernel gives the bits of rng.ts's fillDropoutMask, row by row, about 4x faster.
    const m = tf.tensor2d(dropoutMasks(keys, rows, cols, this.rate), [rows, cols]);
    return { y: mul(x, m), cache: m };
  }

  backward(dy: T, cache: unknown, _w: Weights, _needDx: boolean, parts: RowPart[]): BackwardResult {
    if (cache === null) return { dx: dy, grads: parts.map(() => []) };
    return { dx: mul(dy, cache as T), grads: parts.map(() => []) };
  }

  getConfig(): LayerConfig {
    return { className: this.className, name: this.name, rate: this.rate };
  }
}
