/**
 * Merge layers (Keras's merging/): Add, Subtract, Multiply, Average, Maximum and Minimum combine two or more
 * tensors of the same shape elementwise, left to right, so the bits never depend on anything but the inputs.
 * They hold no weights. Called through `apply([a, b, ...])`; shapes are checked there, naming the layer.
 *
 * ```ts
 * const y = layers.Add().apply([x, shortcut]);
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkLayerOptions } from '../errors.js';
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

export interface MergeOptions {
  name?: string;
}

const shapeText = (s: number[]) => `(None, ${s.join(', ')})`;

/** The elementwise merges' shared contract: several inputs of one shape, one output of that shape. */
export abstract class Merge extends Layer {
  /** Inputs the layer takes: at least 2 (Subtract: exactly 2). */
  protected readonly exactInputs?: number;

  constructor(owner: string, options: MergeOptions | undefined) {
    checkLayerOptions(owner, options ?? {}, ['name']);
    super(options?.name);
  }

  get defaultName(): string {
    return this.className.toLowerCase();
  }

  buildCall(shapes: number[][]): void {
    const who = `Layer '${this.name || this.defaultName}' (${this.className})`;
    if (this.exactInputs !== undefined ? shapes.length !== this.exactInputs : shapes.length < 2) {
      throw new Error(
        `${who} takes ${this.exactInputs ?? 'at least 2'} inputs, as an array: apply([a, b]). Received: ${shapes.length} input${shapes.length === 1 ? '' : 's'}`,
      );
    }
    if (shapes.some((s) => s.join(',') !== shapes[0].join(','))) {
      throw new Error(`${who} needs inputs of the same shape. Received: ${shapes.map(shapeText).join(', ')}`);
    }
    this.inputShape = shapes[0];
    this.outputShape = [...shapes[0]];
  }

  /** One input (Sequential.add): refused, since the layer merges several. */
  computeOutputShape(): number[] {
    throw new Error(
      `Layer '${this.name || this.defaultName}' (${this.className}) merges several inputs: call it with apply([a, b]) in a functional model`,
    );
  }

  forward(): ForwardResult {
    throw new Error(`Layer '${this.name}' (${this.className}) merges several inputs: call it with apply([a, b])`);
  }

  backward(): BackwardResult {
    throw new Error(`Layer '${this.name}' (${this.className}) merges several inputs: call it with apply([a, b])`);
  }

  /** The merged tensor, and what `gradients` needs. */
  protected abstract merge(xs: T[]): { y: T; cache: unknown };
  /** dL/dx of each input, given dL/dy. */
  protected abstract gradients(dy: T, xs: T[], cache: unknown): T[];

  forwardCall(xs: T[]): ForwardResult {
    const { y, cache } = this.merge(xs);
    return { y, cache: { xs, cache } };
  }

  backwardCall(dy: T, c: unknown, _w: Weights, needDx: boolean, parts: RowPart[]): CallBackwardResult {
    const { xs, cache } = c as { xs: T[]; cache: unknown };
    return { dxs: needDx ? this.gradients(dy, xs, cache) : xs.map(() => undefined), grads: parts.map(() => []) };
  }

  getConfig(): LayerConfig {
    return { className: this.className, name: this.name };
  }
}

export class Add extends Merge {
  readonly className = 'Add';
  constructor(options?: MergeOptions) {
    super('Add', options);
  }
  protected merge(xs: T[]) {
    return { y: xs.reduce((a, b) => tf.add(a, b)), cache: null };
  }
  protected gradients(dy: T, xs: T[]): T[] {
    return xs.map(() => dy);
  }
}

export class Subtract extends Merge {
  readonly className = 'Subtract';
  protected readonly exactInputs = 2;
  constructor(options?: MergeOptions) {
    super('Subtract', options);
  }
  protected merge(xs: T[]) {
    return { y: tf.sub(xs[0], xs[1]), cache: null };
  }
  protected gradients(dy: T): T[] {
    return [dy, tf.neg(dy)];
  }
}

export class Multiply extends Merge {
  readonly className = 'Multiply';
  constructor(options?: MergeOptions) {
    super('Multiply', options);
  }
  protected merge(xs: T[]) {
    return { y: xs.reduce((a, b) => tf.mul(a, b)), cache: null };
  }
  protected gradients(dy: T, xs: T[]): T[] {
    // d(x0 x1 ... xn)/dxi: the product of the others, in input order.
    return xs.map((_, i) => xs.reduce<T>((acc, x, j) => (j === i ? acc : tf.mul(acc, x)), dy));
  }
}

export class Average extends Merge {
  readonly className = 'Average';
  constructor(options?: MergeOptions) {
    super('Average', options);
  }
  protected merge(xs: T[]) {
    // As Keras: the sum, then divided by the count.
    return {
      y: tf.div(
        xs.reduce((a, b) => tf.add(a, b)),
        tf.scalar(xs.length),
      ),
      cache: null,
    };
  }
  protected gradients(dy: T, xs: T[]): T[] {
    const g = tf.div(dy, tf.scalar(xs.length));
    return xs.map(() => g);
  }
}

/** Maximum and Minimum: the winner of each element takes its gradient; on a tie, the first input wins. */
abstract class Extremum extends Merge {
  protected abstract beats(a: T, b: T): T;
  protected merge(xs: T[]) {
    let y = xs[0];
    let winner: T = tf.zerosLike(xs[0]);
    xs.slice(1).forEach((x, k) => {
      const take = this.beats(x, y);
      y = tf.where(take, x, y);
      winner = tf.where(take, tf.fill(x.shape, k + 1), winner);
    });
    return { y, cache: winner };
  }
  protected gradients(dy: T, xs: T[], winner: unknown): T[] {
    const zero = tf.zerosLike(dy);
    return xs.map((_, i) => tf.where(tf.equal(winner as T, tf.scalar(i)), dy, zero));
  }
}

export class Maximum extends Extremum {
  readonly className = 'Maximum';
  constructor(options?: MergeOptions) {
    super('Maximum', options);
  }
  protected beats(a: T, b: T): T {
    return tf.greater(a, b);
  }
}

export class Minimum extends Extremum {
  readonly className = 'Minimum';
  constructor(options?: MergeOptions) {
    super('Minimum', options);
  }
  protected beats(a: T, b: T): T {
    return tf.less(a, b);
  }
}

/** A merge layer as a layer type (see layers/descriptor.ts): no options, nothing in the saved format. */
const mergeType = <L extends Merge>(className: string, create: (options?: MergeOptions) => L) =>
  describeLayer({ className, options: {}, create, keras: { fields: [], toKeras: () => ({}), fromKeras: () => ({}) } });

export const ADD = mergeType('Add', (options?: MergeOptions) => new Add(options));
export const SUBTRACT = mergeType('Subtract', (options?: MergeOptions) => new Subtract(options));
export const MULTIPLY = mergeType('Multiply', (options?: MergeOptions) => new Multiply(options));
export const AVERAGE = mergeType('Average', (options?: MergeOptions) => new Average(options));
export const MAXIMUM = mergeType('Maximum', (options?: MergeOptions) => new Maximum(options));
export const MINIMUM = mergeType('Minimum', (options?: MergeOptions) => new Minimum(options));
