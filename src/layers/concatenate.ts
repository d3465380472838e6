/**
 * Concatenate({ axis }): joins two or more tensors along `axis` (default -1, the last), as Keras does; their
 * shapes must be equal except along it. Holds no weights; backward splits the gradient back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { badOption, checkLayerOptions } from '../errors.js';
import {
  Layer,
  type BackwardResult,
  type CallBackwardResult,
  type ForwardResult,
  type LayerConfig,
  type RowPart,
  type T,
  type Weights,
} from './layer.js';
import { describeLayer } from './descriptor.js';
import { integer } from '../io/keras-fields.js';

export interface ConcatenateOptions {
  /** The axis of the joined tensors (the batch axis 0 excluded); negative counts from the end. Default -1. */
  axis?: number;
  name?: string;
}

const shapeText = (s: number[]) => `(None, ${s.join(', ')})`;

export class Concatenate extends Layer {
  readonly className = 'Concatenate';
  readonly axis: number;
  /** The joined axis in a batch tensor ([rows, ...sample]), and each input's size along it. */
  private batchAxis = -1;
  private sizes: number[] = [];

  constructor(options: ConcatenateOptions = {}) {
    checkLayerOptions('Concatenate', options ?? {}, ['axis', 'name']);
    super(options?.name);
    const axis = options?.axis ?? -1;
    if (!Number.isInteger(axis) || axis === 0)
      throw badOption(
        `Concatenate${options?.name ? ` '${options.name}'` : ''}`,
        'axis',
        'a non-zero integer (axis 0 is the batch)',
        axis,
      );
    this.axis = axis;
  }

  get defaultName(): string {
    return 'concatenate';
  }

  buildCall(shapes: number[][]): void {
    const who = `Layer '${this.name || this.defaultName}' (Concatenate)`;
    if (shapes.length < 2)
      throw new Error(
        `${who} takes at least 2 inputs, as an array: apply([a, b]). Received: ${shapes.length} input${shapes.length === 1 ? '' : 's'}`,
      );
    const rank = shapes[0].length;
    // Keras counts axes in the batch tensor: -1 is the last, 1 the first after the batch.
    const axis = this.axis < 0 ? rank + 1 + this.axis : this.axis;
    if (axis < 1 || axis > rank)
      throw new Error(
        `${who}: axis ${this.axis} is outside inputs of rank ${rank + 1}. Received: ${shapes.map(shapeText).join(', ')}`,
      );
    const without = (s: number[]) => s.filter((_, i) => i !== axis - 1).join(',');
    if (shapes.some((s) => s.length !== rank || without(s) !== without(shapes[0]))) {
      throw new Error(
        `${who} needs inputs of the same shape except along axis ${this.axis}. Received: ${shapes.map(shapeText).join(', ')}`,
      );
    }
    this.batchAxis = axis;
    this.sizes = shapes.map((s) => s[axis - 1]);
    this.inputShape = shapes[0];
    this.outputShape = shapes[0].map((d, i) => (i === axis - 1 ? this.sizes.reduce((a, b) => a + b, 0) : d));
  }

  /** One input (Sequential.add): refused, since the layer merges several. */
  computeOutputShape(): number[] {
    throw new Error(
      `Layer '${this.name || this.defaultName}' (${'Concatenate'}) merges several inputs: call it with apply([a, b]) in a functional model`,
    );
  }

  forward(): ForwardResult {
    throw new Error(`Layer '${this.name}' (Concatenate) joins several inputs: call it with apply([a, b])`);
  }

  backward(): BackwardResult {
    throw new Error(`Layer '${this.name}' (Concatenate) joins several inputs: call it with apply([a, b])`);
  }

  forwardCall(xs: T[]): ForwardResult {
    return { y: tf.concat(xs, this.batchAxis), cache: null };
  }

  backwardCall(dy: T, _c: unknown, _w: Weights, needDx: boolean, parts: RowPart[]): CallBackwardResult {
    return {
      dxs: needDx ? tf.split(dy, this.sizes, this.batchAxis) : this.sizes.map(() => undefined),
      grads: parts.map(() => []),
    };
  }

  getConfig(): LayerConfig {
    return { className: this.className, name: this.name, axis: this.axis };
  }
}

/** Concatenate as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const CONCATENATE = describeLayer({
  className: 'Concatenate',
  options: { axis: { default: -1, rule: 'a non-zero integer', check: (v) => Number.isInteger(v) && v !== 0 } },
  create: (options?: ConcatenateOptions) => new Concatenate(options),
  keras: {
    fields: ['axis'],
    toKeras: (l, where) => ({ axis: integer(l.axis ?? -1, where, 'axis') }),
    fromKeras: (c, where) => ({ axis: integer(c.axis ?? -1, where, 'axis') }),
  },
});
