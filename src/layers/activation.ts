/**
 * Activation({ activation }): applies an activation on its own, as Keras's layer does (a Conv-BatchNorm-ReLU
 * block needs the ReLU after the normalization). Holds no weights; the activations work on rows of values.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Activation as ActivationFn, getActivation } from '../activations.js';
import { checkLayerOptions } from '../errors.js';
import {
  Layer,
  type BackwardResult,
  type ForwardContext,
  type ForwardResult,
  type LayerConfig,
  type RowPart,
  type T,
  type Weights,
} from './layer.js';
import { describeLayer } from './descriptor.js';
import { activation, required } from '../io/keras-fields.js';

export interface ActivationOptions {
  activation: string;
  name?: string;
}

/** [rows, ...sample] as [rows, values per sample]: a view. */
const rows2d = (t: T): tf.Tensor2D =>
  t.rank === 2 ? (t as tf.Tensor2D) : tf.reshape(t, [t.shape[0], t.size / t.shape[0]]);

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: ActivationFn;

  constructor(options: ActivationOptions) {
    const where = `Activation${options?.name ? ` '${options.name}'` : ''}`;
    checkLayerOptions(where, options, ['activation', 'name'], { activation: 'name' });
    super(options?.name);
    this.activation = getActivation(options.activation);
  }

  get defaultName(): string {
    return 'activation';
  }

  get outputActivation(): string {
    return this.activation.name;
  }

  computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  forward(x: T, _w: Weights, ctx: ForwardContext): ForwardResult {
    if (ctx.logits) return { y: x, cache: null };
    const y = tf.reshape(this.activation.forward(rows2d(x)), x.shape);
    return { y, cache: { x, y } };
  }

  backward(dy: T, cache: unknown, _w: Weights, _needDx: boolean, parts: RowPart[]): BackwardResult {
    if (cache === null) return { dx: dy, grads: parts.map(() => []) };
    const { x, y } = cache as { x: T; y: T };
    return {
      dx: tf.reshape(this.activation.backward(rows2d(dy), rows2d(y), rows2d(x)), dy.shape),
      grads: parts.map(() => []),
    };
  }

  getConfig(): LayerConfig {
    return { className: this.className, name: this.name, activation: this.activation.name };
  }
}

/** Activation as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const ACTIVATION = describeLayer({
  className: 'Activation',
  options: { activation: { rule: 'an activation name' } },
  create: (options: ActivationOptions) => new Activation(options),
  keras: {
    fields: ['activation'],
    toKeras: (l, where) => ({ activation: activation(l.activation, where) }),
    fromKeras: (c, where) => ({ activation: activation(required(c, 'activation', where), where) }),
  },
});
