/**
 * The layer contract: options are checked in the constructor, `build` fixes shapes and declares weights,
 * `forward`/`backward` are pure functions of (input, weights, context) on tfjs tensors, and `getConfig`
 * mirrors the constructor so `layerFromConfig(layer.getConfig())` rebuilds the same layer (in a worker too).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { InitializerConfig } from '../initializers.js';
import type { Key } from '../rng.js';

export type T = tf.Tensor2D;

export interface ParamSpec {
  /** Short name within the layer: 'kernel', 'bias'. */
  name: string;
  shape: number[];
  initializer: InitializerConfig;
  fanIn: number;
  fanOut: number;
}

export interface LayerConfig {
  className: string;
  name: string;
  [option: string]: unknown;
}

/** What a layer needs to know about the step it runs in. */
export interface ForwardContext {
  training: boolean;
  /** Dropout key for this layer and epoch: keyFor(seed, Purpose.Dropout, epoch, layerIndex). */
  dropoutKey?: Key;
  /** Dataset row index of each row in the batch, so a sample's dropout mask never depends on its batch. */
  sampleIndices?: Int32Array;
  /** Output logits (skip the activation): the loss applies it, fused with cross-entropy. */
  logits?: boolean;
}

/** A layer's weights for one step, loaded once per step and reused by every shard. */
export interface Weights {
  /** The weight tensors, in params() order; empty for a Dense layer, whose matmuls use the two below. */
  values: T[];
  /**
   * Dense only: x @ kernel + bias with `activation` fused, on an operator whose packed kernel the network
   * rewrites in place each step (engine/packed-kernel.ts). Every matmul by this kernel must go through it.
   */
  kernelMatMul?: { activation: string; matMul(x: T): T };
  /**
   * Dense only, past the first layer with weights: dz @ kernel^T (the input gradient), on a kernel^T the
   * network packs each step from the kernel.
   */
  transposedMatMul?: { matMul(x: T): T };
}

export interface ForwardResult {
  y: T;
  /** Whatever backward needs; tensors in it stay alive until the step's tidy scope ends. */
  cache: unknown;
}

/**
 * A micro-shard within the rows of a forward pass. A worker runs the forward pass once over all its shards
 * (rows are independent there), but each shard's weight gradient is a separate sum, so it gets its own part.
 */
export interface RowPart {
  start: number;
  rows: number;
  /** This part's input, transposed (given to the first layer, where it is cheap to build on the host). */
  inputTransposed?: T;
}

export interface BackwardResult {
  /** dL/dx for all rows, absent when the caller said it does not need it (the first layer). */
  dx?: T;
  /** grads[part][k]: dL/dw of weight k over that part's rows: a tensor, or host values summed in float64. */
  grads: (T | Float32Array)[][];
}

export abstract class Layer {
  abstract readonly className: string;
  name: string;
  inputShape?: number[];
  outputShape?: number[];

  constructor(name: string | undefined) {
    this.name = name ?? '';
  }

  /** Default name prefix (dense, dropout...): Sequential appends _1, _2 per model. */
  abstract get defaultName(): string;

  get built(): boolean {
    return this.outputShape !== undefined;
  }

  build(inputShape: number[]): void {
    this.inputShape = inputShape;
    this.outputShape = this.computeOutputShape(inputShape);
  }

  abstract computeOutputShape(inputShape: number[]): number[];

  /** Weights this layer owns, in a fixed order. */
  params(): ParamSpec[] {
    return [];
  }

  abstract forward(x: T, w: Weights, ctx: ForwardContext): ForwardResult;
  abstract backward(dy: T, cache: unknown, w: Weights, needDx: boolean, parts: RowPart[]): BackwardResult;
  abstract getConfig(): LayerConfig;
}
