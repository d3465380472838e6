/**
 * The layer contract: options are checked in the constructor, `build` fixes shapes and declares weights,
 * `stageWeights` turns the step's weight values into whatever its passes use (tensors by default; Dense keeps
 * packed kernels), `forward`/`backward` are pure functions of (input, weights, context) on tfjs tensors of
 * shape [rows, ...sample shape], and `getConfig` mirrors the constructor so `layerFromConfig(layer.getConfig())`
 * rebuilds the same layer (in a worker too). The engine knows no layer by name: only this contract.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InitializerConfig } from '../initializers.js';
import type { Key } from '../rng.js';
import type { RegularizerConfig } from '../regularizers.js';
import type { TaskHooks } from '../testing.js';
import { recordCall, SymbolicTensor, type CallNode } from './symbolic-tensor.js';

/** A batch: [rows, ...sample shape]. */
export type T = tf.Tensor;

export interface ParamSpec {
  /** Short name within the layer: 'kernel', 'bias'. */
  name: string;
  shape: number[];
  initializer: InitializerConfig;
  fanIn: number;
  fanOut: number;
  /**
   * A non-trainable weight kept as a moving average (BatchNormalization's moving mean and variance). The
   * optimizer never changes it. In a training step, the layer reports the batch's value as this weight's
   * gradient, from the part of shard 0 only (zeros from every other part, so the fixed-order slot sum carries
   * the value exactly to whichever worker owns it), and that worker writes w * momentum + value * (1 -
   * momentum) in float32, as Keras does.
   */
  movingAverage?: { momentum: number };
  /** A penalty on this weight added to the loss (kernelRegularizer, biasRegularizer; see regularizers.ts). */
  regularizer?: RegularizerConfig;
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
  /** In a training step: the exchange for statistics over the whole batch (see `BatchSync`). */
  batch?: BatchSync;
  /** Test hooks of the task (planted bugs, testing.ts); a layer that honours one keeps it in its cache for backward. */
  hooks?: TaskHooks;
}

/** A micro-shard among a pass's rows: rows [start, start + rows), shard number `shard` of the batch. */
export interface ShardPart {
  start: number;
  rows: number;
  shard: number;
}

/**
 * Statistics over the whole batch, for a layer that cannot work shard by shard (BatchNormalization): the
 * batch's micro-shards are spread over workers, so each part writes its partial sums to its shard's slot in
 * shared memory and every worker combines all the slots in shard order (engine/shard-exchange.ts).
 */
export interface BatchSync {
  /** This pass's micro-shards, in row order (the same parts, in the same order, as `backward` receives). */
  readonly parts: readonly ShardPart[];
  /** Shards in the whole batch. */
  readonly shards: number;
  /**
   * Part k's `width` partial values are written by `fill(k, out)`; once every shard of the batch has written
   * its own (a barrier across the workers that hold one), returns every shard's values in shard order 0, 1,
   * 2... for the caller to combine in that order: the same bits on any worker count. Every call must be made
   * by every worker of the step, in the same order; `width` is at most the layer's `batchSyncWidth()`. The
   * returned views stay valid until the next call but one.
   */
  gather(width: number, fill: (part: number, out: Float64Array) => void): Float64Array[];
}

/** How a layer's weights will be used in the coming steps (see `stageWeights`). */
export interface StageContext {
  /** The layer's output is the logits of a fused softmax/sigmoid + cross-entropy loss. */
  logits: boolean;
  /** Backward must produce dx (false for the first layer with weights: no gradient flows back from it). */
  needDx: boolean;
}

/** A layer's weights for one step, staged once per step and reused by every shard (see `stageWeights`). */
export interface Weights {
  /** The weight tensors, in params() order (a layer that stages its weights its own way may leave it empty). */
  values: T[];
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
  /** This part's input, transposed (given to a first layer that asks for it: `wantsInputTransposed`). */
  inputTransposed?: tf.Tensor2D;
}

export interface BackwardResult {
  /** dL/dx for all rows, absent when the caller said it does not need it (the first layer). */
  dx?: T;
  /** grads[part][k]: dL/dw of weight k over that part's rows: a tensor, or host values summed in float64. */
  grads: (T | Float32Array)[][];
}

/** `backwardCall`'s result: one dL/dx per input of the call (absent when not needed). */
export interface CallBackwardResult {
  dxs: (T | undefined)[];
  grads: (T | Float32Array)[][];
}

export abstract class Layer {
  abstract readonly className: string;
  name: string;
  inputShape?: number[];
  outputShape?: number[];
  /** Keras 2 style: the shape of one input sample, given to the first layer instead of an Input layer. */
  declaredInputShape?: number[];
  /** The layer draws random numbers while training (Dropout): the step gives it a key per epoch. */
  readonly usesRandomKey: boolean = false;
  /** As the first layer, it wants each part's input rows transposed (built cheaply while gathering rows). */
  readonly wantsInputTransposed: boolean = false;
  /** A penalty on the layer's output, added to the loss (Keras's activity_regularizer; see regularizers.ts). */
  activityRegularizer?: RegularizerConfig;
  /** Tensors made by the default `stageWeights`, freed by `releaseWeights`. */
  private staged: tf.Tensor[] = [];
  /** The layer's calls on symbolic tensors (`apply`), in order. */
  readonly calls: CallNode<Layer>[] = [];

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

  /** Float64 values per shard the layer exchanges through `ForwardContext.batch` at most (0: it never does). */
  batchSyncWidth(): number {
    return 0;
  }

  /**
   * The activation a fused loss may take over (softmax, sigmoid): a layer that names one must honour
   * `ForwardContext.logits` by skipping it.
   */
  get outputActivation(): string | undefined {
    return undefined;
  }

  /**
   * Makes `values` (views of this step's weights, in params() order) usable by forward and backward until
   * `releaseWeights`. By default, one tensor per weight.
   */
  stageWeights(values: Float32Array[], _ctx: StageContext): Weights {
    const specs = this.params();
    const tensors = values.map((v, k) => tf.tensor(v, specs[k].shape));
    this.staged.push(...tensors);
    return { values: tensors };
  }

  /** Frees what `stageWeights` made for the step; state kept across steps stays (see `dispose`). */
  releaseWeights(): void {
    for (const t of this.staged) t.dispose();
    this.staged = [];
  }

  /** Frees everything the layer holds in tfjs. */
  dispose(): void {
    this.releaseWeights();
  }

  /**
   * Builds for one call of the layer on tensors of `shapes` (one per input). A layer of one input takes one
   * shape; merge layers (Add, Concatenate...) override this to take several and check them.
   */
  buildCall(shapes: number[][]): void {
    if (shapes.length !== 1)
      throw new Error(
        `Layer '${this.name}' (${this.className}) takes one input. Received: ${shapes.length} inputs of shapes ${shapes.map((s) => `(None, ${s.join(', ')})`).join(', ')}`,
      );
    this.build(shapes[0]);
  }

  /**
   * Calls the layer on symbolic tensors (`layers.Input(...)` or another layer's output): checks and builds
   * for their shapes and returns the output tensor, for `new Model({ inputs, outputs })`. A merge layer takes
   * an array. A layer applied twice keeps one set of weights, so its inputs must have the same shapes.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor<Layer> {
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as SymbolicTensor<Layer>[];
    const who = `Layer '${this.name || this.defaultName}' (${this.className})`;
    if (list.length === 0 || !list.every((t) => t instanceof SymbolicTensor)) {
      throw new TypeError(
        `${who}.apply expects a symbolic tensor (layers.Input(...) or another layer's output) or an array of them. Received: ${String(inputs)}`,
      );
    }
    const shapes = list.map((t) => t.shape);
    if (this.calls.length > 0) {
      const first = this.calls[0].inputs.map((t) => t.shape.join(','));
      if (shapes.length !== first.length || shapes.some((s, i) => s.join(',') !== first[i])) {
        throw new Error(
          `${who} is shared, so every call needs inputs of the shapes of its first: ${this.calls[0].inputs.map((t) => `(None, ${t.shape.join(', ')})`).join(', ')}. Received: ${shapes.map((s) => `(None, ${s.join(', ')})`).join(', ')}`,
        );
      }
    }
    this.buildCall(shapes);
    return recordCall<Layer>(this, list, this.outputShape!, this.calls);
  }

  /** One call's forward pass on its inputs (one tensor, except for merge layers). */
  forwardCall(xs: T[], w: Weights, ctx: ForwardContext): ForwardResult {
    return this.forward(xs[0], w, ctx);
  }

  /** One call's backward pass: a dL/dx per input (see `backward`). */
  backwardCall(dy: T, cache: unknown, w: Weights, needDx: boolean, parts: RowPart[]): CallBackwardResult {
    const r = this.backward(dy, cache, w, needDx, parts);
    return { dxs: [r.dx], grads: r.grads };
  }

  /**
   * For a layer that reads a model input directly: the first of `rows` samples (`cols` values each) it cannot
   * take, as a message naming the row (Embedding's indices must be integers in range); undefined when all fit.
   */
  checkInputValues(_values: Float32Array, _rows: number, _cols: number): string | undefined {
    return undefined;
  }

  abstract forward(x: T, w: Weights, ctx: ForwardContext): ForwardResult;
  abstract backward(dy: T, cache: unknown, w: Weights, needDx: boolean, parts: RowPart[]): BackwardResult;
  abstract getConfig(): LayerConfig;
}
