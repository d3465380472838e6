/** Reshape: each sample to `targetShape` (one dimension may be -1: inferred), values in row-major order. */
import * as tf from '@tensorflow/tfjs-core';
import { badOption, checkLayerOptions } from '../errors.js';
import { layerWhere } from './conv-shapes.js';
import { Layer, type BackwardResult, type ForwardResult, type LayerConfig, type RowPart, type T } from './layer.js';
import { describeLayer } from './descriptor.js';
import { required, targetShape } from '../io/keras-fields.js';

export interface ReshapeOptions {
  targetShape: number[];
  inputShape?: number[];
  name?: string;
}

export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];

  constructor(options: ReshapeOptions) {
    super(options?.name);
    const where = layerWhere('Reshape', options?.name);
    checkLayerOptions(where, options, ['targetShape', 'inputShape', 'name'], { inputShape: 'shape' });
    const t = options?.targetShape;
    const ok =
      Array.isArray(t) &&
      t.length > 0 &&
      t.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) &&
      t.filter((d) => d === -1).length <= 1;
    if (!ok) throw badOption(where, 'targetShape', 'a non-empty array of positive integers, with at most one -1', t);
    this.targetShape = [...t];
    this.declaredInputShape = options.inputShape;
  }

  get defaultName(): string {
    return 'reshape';
  }

  computeOutputShape(inputShape: number[]): number[] {
    const total = inputShape.reduce((a, b) => a * b, 1);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const fits = this.targetShape.includes(-1) ? total % known === 0 : total === known;
    if (!fits) {
      throw new Error(
        `${layerWhere('Reshape', this.name)}: total size of the new shape (${this.targetShape.join(', ')}) must be unchanged: the input (None, ${inputShape.join(', ')}) has ${total} values per sample`,
      );
    }
    return this.targetShape.map((d) => (d === -1 ? total / known : d));
  }

  forward(x: T): ForwardResult {
    return { y: tf.reshape(x, [x.shape[0], ...this.outputShape!]), cache: x.shape };
  }

  backward(dy: T, cache: unknown, _w: unknown, _needDx: boolean, parts: RowPart[]): BackwardResult {
    return { dx: tf.reshape(dy, cache as number[]), grads: parts.map(() => []) };
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      targetShape: this.targetShape,
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/** Reshape as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const RESHAPE = describeLayer({
  className: 'Reshape',
  options: { targetShape: { rule: 'an array of positive integers, at most one -1' } },
  create: (options: ReshapeOptions) => new Reshape(options),
  keras: {
    fields: ['target_shape'],
    toKeras: (l, where) => ({ target_shape: targetShape(l.targetShape, where, 'targetShape') }),
    fromKeras: (c, where) => ({ targetShape: targetShape(required(c, 'target_shape', where), where, 'target_shape') }),
  },
});
