/**
 * The compute core: a built stack of layers over one flat parameter vector, with a pure gradient function.
 *
 * `gradients(params, shard)` is a pure function of (weights, rows, keys): the same inputs give the same
 * bits on any thread, which is what lets the pool split a batch across workers without changing results.
 * The main thread (workers: 0) and every worker build a Network from the same plan.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getLoss, softmaxRow, type Loss } from '../losses.js';
import { getMetrics, metricsWidth, type Metric, type MetricConfig } from '../metrics.js';
import { WeightSplitter } from '../sample-weights.js';
import { addPenaltyGradient, penalty, type RegularizedSlot, type RegularizerConfig } from '../regularizers.js';
import { layerFromConfig } from '../layers/index.js';
import type { BatchSync, Layer, LayerConfig, RowPart, T, Weights } from '../layers/layer.js';
import { ShardExchange } from './shard-exchange.js';
import { heapView } from '../ops/heap.js';
import type { Key } from '../rng.js';
import { timed } from '../ops/profile.js';
import { exp } from '../ops/libm.js';
import { NO_HOOKS, type TaskHooks } from '../testing.js';

/** Memory for one inference pass's layer outputs (see Network.forward). */
const PASS_BYTES = 32 * 2 ** 20;

/** Values in one sample of `shape` (the product of its dimensions). */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Where each weight lives in the flat parameter vector. */
export interface ParamSlot {
  layer: number;
  /** Keras-style full name: 'dense/kernel'. */
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** A non-trainable moving average (see ParamSpec.movingAverage): the optimizer's update is replaced for it. */
  movingAverage?: { momentum: number };
  /** A penalty on this weight (kernelRegularizer, biasRegularizer). */
  regularizer?: RegularizerConfig;
}

/** Where each weight of built `layers` lives in the flat parameter vector: layer by layer, in params() order. */
export function paramLayout(layers: Layer[]): ParamSlot[] {
  const slots: ParamSlot[] = [];
  let offset = 0;
  layers.forEach((layer, i) => {
    for (const p of layer.params()) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      slots.push({ layer: i, name: `${layer.name}/${p.name}`, shape: p.shape, offset, size, ...(p.movingAverage ? { movingAverage: p.movingAverage } : {}), ...(p.regularizer ? { regularizer: p.regularizer } : {}) });
      offset += size;
    }
  });
  return slots;
}

/** Everything a thread needs to rebuild the model: plain JSON, sent to workers. */
export interface Plan {
  layers: LayerConfig[];
  inputShape: number[];
  loss: string;
  /** Metric names, or configs of metric objects (AUC, Precision...). */
  metrics: (string | MetricConfig)[];
}

/** One micro-shard of a batch, gathered into host memory. */
export interface ShardInput {
  rows: number;
  /** rows x (values per sample), row-major: host values, or a tensor already in tfjs's memory (kept by the caller). */
  x: Float32Array | tf.Tensor2D;
  /** features x rows (for the first Dense layer's kernel gradient, built while gathering). */
  xT?: Float32Array;
  /** Targets: rows x targetCols. */
  y: Float32Array;
  /** Dataset row index of each row (keys the dropout masks). */
  sampleIndices: Int32Array;
}

/** A micro-shard within a gradient pass: rows [start, start + rows) of the input, and its gradient slot. */
export interface GradientPart {
  start: number;
  rows: number;
  /** The part's rows transposed (features x rows), for the first Dense layer's kernel gradient; as for x. */
  xT?: Float32Array | tf.Tensor2D;
  gradOut: Float32Array;
}

export interface ShardStats {
  loss: number;
  /** Each metric's accumulators, one metric after another in plan order (see metrics/metric.ts). */
  metrics: Float64Array;
}

export class Network {
  readonly layers: Layer[];
  readonly slots: ParamSlot[];
  readonly paramCount: number;
  readonly loss: Loss;
  readonly metrics: Metric[];
  /** Float64 accumulators of all the metrics of a shard. */
  readonly metricsWidth: number;
  readonly outputCols: number;
  readonly inputCols: number;
  /** Whether the last layer's activation is folded into the loss (softmax/sigmoid + cross-entropy). */
  readonly fusedOutput: boolean;
  /** The shape of one output sample (outputCols values). */
  readonly outputShape: number[];
  /** Float64s per shard of the largest batch-statistics exchange a layer makes (0: none does). */
  readonly syncWidth: number;
  /** The weights kept as moving averages (BatchNormalization's moving statistics), which the optimizer skips. */
  readonly movingAverages: ParamSlot[];
  /** The weights with a penalty (regularizers.ts): its value joins the loss, its gradient the summed gradient. */
  readonly regularized: RegularizedSlot[];
  /** Index of the first layer that holds weights: no input gradient is needed at or before it. */
  private readonly firstParamLayer: number;
  /** Per layer, the slots of its weights. */
  private readonly layerSlots: ParamSlot[][];

  /**
   * The test hooks of the task being run (testing.ts), given to every layer in its ForwardContext; a cached
   * Network takes each task's own (see engine/step.ts).
   */
  hooks: TaskHooks;

  constructor(readonly plan: Plan, hooks: TaskHooks = NO_HOOKS) {
    this.hooks = hooks;
    this.layers = plan.layers.map(layerFromConfig);
    let shape = plan.inputShape;
    for (const layer of this.layers) {
      layer.build(shape);
      shape = layer.outputShape!;
    }
    this.outputShape = shape;
    this.outputCols = sizeOf(shape);
    this.inputCols = sizeOf(plan.inputShape);
    this.slots = paramLayout(this.layers);
    this.layerSlots = this.layers.map((_, i) => this.slots.filter((s) => s.layer === i));
    this.paramCount = this.slots.reduce((n, s) => n + s.size, 0);
    this.syncWidth = Math.max(0, ...this.layers.map((l) => l.batchSyncWidth()));
    this.movingAverages = this.slots.filter((s) => s.movingAverage);
    this.regularized = this.slots.flatMap((s) => (s.regularizer ? [{ offset: s.offset, size: s.size, regularizer: s.regularizer }] : []));
    this.firstParamLayer = this.layerSlots.findIndex((s) => s.length > 0);
    this.loss = getLoss(plan.loss);
    this.metrics = getMetrics(plan.metrics, this.loss, this.outputCols);
    this.metricsWidth = metricsWidth(this.metrics);
    const last = this.layers[this.layers.length - 1];
    this.fusedOutput = this.loss.fusedActivation !== undefined && last.outputActivation === this.loss.fusedActivation && shape.length === 1;
    // The fused path never materialises the last layer's activated output, which its penalty would need.
    if (this.fusedOutput && last.activityRegularizer) throw new Error(`Layer '${last.name}' (${last.className}): an activityRegularizer on the output layer of a ${this.loss.name} model is not supported; put it on a hidden layer`);
  }

  /** Weights of the current step, one set per layer (see `loadWeights`). */
  private weights: Weights[] | null = null;

  /**
   * Makes `params` the weights of the coming step(s): each layer stages its own (tensors, or Dense's packed
   * kernels rewritten in place). Every shard and inference chunk until the next call uses them.
   */
  loadWeights(params: Float32Array): void {
    this.releaseWeights();
    const last = this.layers.length - 1;
    this.weights = this.layers.map((layer, i) =>
      layer.stageWeights(
        this.layerSlots[i].map((s) => params.subarray(s.offset, s.offset + s.size)),
        { logits: this.fusedOutput && i === last, needDx: i > this.firstParamLayer },
      ),
    );
  }

  /** Frees the step's tensors; what layers keep across steps (packed kernels) stays until `dispose`. */
  releaseWeights(): void {
    for (const layer of this.layers) layer.releaseWeights();
    this.weights = null;
  }

  /** Frees everything, packed kernels included. */
  dispose(): void {
    this.releaseWeights();
    for (const layer of this.layers) layer.dispose();
  }

  private loaded(): Weights[] {
    if (!this.weights) throw new Error('lockstep internal: loadWeights() must precede a forward or backward pass');
    return this.weights;
  }

  /** Rows of flat samples as a batch of the input's shape (a reshape: no copy). */
  private toSamples(x: tf.Tensor2D, rows: number): T {
    return this.plan.inputShape.length === 1 ? x : tf.reshape(x, [rows, ...this.plan.inputShape]);
  }

  /** Runs the stack; `logits` stops before the last activation when it is fused into the loss. */
  private run(x: T, training: boolean, logits: boolean, shard?: ShardInput, dropoutKeys?: (Key | undefined)[], batch?: BatchSync) {
    const caches: unknown[] = [];
    const outs: T[] = [];
    let h = x;
    this.layers.forEach((layer, i) => {
      const ctx = { training, dropoutKey: dropoutKeys?.[i], sampleIndices: shard?.sampleIndices, logits: logits && i === this.layers.length - 1, batch, hooks: this.hooks };
      const r = timed(`${layer.className} forward`, () => layer.forward(h, this.loaded()[i], ctx));
      caches.push(r.cache);
      outs.push(r.y);
      h = r.y;
    });
    return { out: h, caches, outs };
  }

  /** Adds an activity penalty on output `a` to each part's loss, and its gradient to `dy` (returned anew). */
  private addActivityPenalty(reg: RegularizerConfig, a: T, dy: T, parts: GradientPart[], stats: ShardStats[], scale: number): T {
    const av = heapView(a);
    const cols = av.length / a.shape[0];
    const g = heapView(dy).slice();
    parts.forEach((p, j) => {
      stats[j].loss += penalty(reg, av, p.start * cols, (p.start + p.rows) * cols) / scale;
      addPenaltyGradient(reg, av, g, p.start * cols, (p.start + p.rows) * cols);
    });
    return tf.tensor(g, dy.shape);
  }

  /** The activity penalties of the last inference pass(es) since `forward` began, summed in layer order. */
  private activityPenalty = 0;

  /** `gradientsOfParts` for a single shard: its gradient goes to `gradOut`. */
  gradients(shard: ShardInput, dropoutKeys: (Key | undefined)[], scale: number, gradOut: Float32Array): ShardStats {
    return this.gradientsOfParts(shard, [{ start: 0, rows: shard.rows, xT: shard.xT, gradOut }], dropoutKeys, scale)[0];
  }

  /**
   * For each part (a micro-shard: a range of `input`'s rows), the gradient of (sum of its rows' losses) * scale
   * with the loaded weights, written into the part's `gradOut`. scale = 1 / (rows in the whole batch), so the
   * shards of a batch add up to its gradient. The forward pass runs once over all rows: every op there works row
   * by row (the matmul too: XNNPACK's result for a row does not depend on the other rows), so a part's values
   * are the same bits as if it ran alone. Only the weight gradients, sums over rows, are taken per part.
   *
   * Layers with statistics over the whole batch (BatchNormalization) get them through `exchange`: the
   * training step's, spanning every worker's shards; without one, `parts` are taken to be the whole batch.
   */
  gradientsOfParts(input: ShardInput, parts: GradientPart[], dropoutKeys: (Key | undefined)[], scale: number, exchange?: BatchSync): ShardStats[] {
    const w = this.loaded();
    // Only a network with a layer that exchanges needs one; the others skip building it on every step.
    const batch = exchange ?? (this.syncWidth > 0 ? ShardExchange.local(parts, this.syncWidth) : undefined);
    if (batch && (batch.parts.length !== parts.length || batch.parts.some((p, k) => p.start !== parts[k].start || p.rows !== parts[k].rows))) {
      throw new Error('lockstep internal: the exchange\'s parts differ from the gradient parts');
    }
    const { rows } = input;
    const F = this.inputCols;
    const C = this.outputCols;
    const yCols = input.y.length / rows;
    let stats: ShardStats[] = [];
    tf.tidy(() => {
      const x2 = input.x instanceof Float32Array ? tf.tensor2d(input.x.subarray(0, rows * F), [rows, F]) : input.x;
      const { out, caches, outs } = this.run(this.toSamples(x2, rows), true, this.fusedOutput, input, dropoutKeys, batch);
      const dOut = new Float32Array(rows * C);
      const outHost = heapView(out);
      stats = parts.map((p) =>
        this.score(outHost.subarray(p.start * C, (p.start + p.rows) * C), input.y.subarray(p.start * yCols, (p.start + p.rows) * yCols), p.rows, dOut.subarray(p.start * C, (p.start + p.rows) * C), scale),
      );
      const plain: RowPart[] = parts.map(({ start, rows }) => ({ start, rows }));
      // Only a first layer that sees the raw input can use the host-built transposes.
      const first: RowPart[] = parts.map(({ start, rows, xT }) => ({ start, rows, inputTransposed: xT instanceof Float32Array ? tf.tensor2d(xT, [F, rows]) : xT }));
      let dy: T = tf.tensor(dOut, [rows, ...this.outputShape]);
      for (let i = this.layers.length - 1; i >= this.firstParamLayer; i--) {
        const layer = this.layers[i];
        // Keras adds an activity penalty per batch, undivided: each part adds its rows' share to its loss
        // (as batch-size-weighted loss, like the rows' losses) and its gradient to dy, row by row.
        if (layer.activityRegularizer) dy = this.addActivityPenalty(layer.activityRegularizer, outs[i], dy, parts, stats, scale);
        const r = timed(`${layer.className} backward`, () => layer.backward(dy, caches[i], w[i], i > this.firstParamLayer, i === 0 ? first : plain));
        parts.forEach((p, j) =>
          this.layerSlots[i].forEach((s, k) => {
            const g = r.grads[j][k];
            p.gradOut.set(g instanceof Float32Array ? g : heapView(g), s.offset);
          }),
        );
        if (r.dx) dy = r.dx;
      }
    });
    return stats;
  }

  /**
   * Loss and metric sums of outputs (logits when fused; `probs` are the activated outputs, if the caller has
   * them); fills `dOut` with the scaled loss gradient if given. Targets may carry each row's sample weight as
   * one more column (see sample-weights.ts): each row's loss, gradient and metric contributions are then
   * multiplied by it.
   */
  score(out: Float32Array, yIn: Float32Array, rows: number, dOut: Float32Array | null, scale: number, probs?: Float32Array): ShardStats {
    const C = this.outputCols;
    const targetCols = this.loss.target === 'sparse' ? 1 : C;
    const { y, weights } = this.splitter.split(yIn, rows, targetCols);
    // Fused: the loss activates the logits anyway and hands the probabilities to the metrics.
    const fill = this.fusedOutput && !probs && this.metrics.length > 0 ? this.probsScratch(out.length) : null;
    let loss = 0;
    if (!weights) loss = this.loss.compute(out, y, rows, C, dOut, scale, this.fusedOutput, fill);
    else {
      for (let r = 0; r < rows; r++) {
        const w = weights[r];
        const row = (a: Float32Array, n: number) => a.subarray(r * n, (r + 1) * n);
        loss += w * this.loss.compute(row(out, C), row(y, targetCols), 1, C, dOut && row(dOut, C), scale * w, this.fusedOutput, fill && row(fill, C));
      }
    }
    const p = probs ?? fill ?? out;
    const metrics = new Float64Array(this.metricsWidth);
    let at = 0;
    for (const m of this.metrics) {
      m.update(p, y, rows, C, metrics.subarray(at, at + m.width), weights);
      at += m.width;
    }
    return { loss, metrics };
  }

  private readonly splitter = new WeightSplitter();

  private probs = new Float32Array(0);
  /** A reused buffer for a shard's activated outputs (read by the metrics before the next score). */
  private probsScratch(n: number): Float32Array {
    if (this.probs.length < n) this.probs = new Float32Array(n);
    return this.probs.subarray(0, n);
  }

  /** Applies the fused output activation on the host (float64, rounded to float32). */
  activateLogits(z: Float32Array, rows: number): Float32Array {
    const cols = this.outputCols;
    const p = new Float32Array(z.length);
    if (this.loss.fusedActivation === 'sigmoid') {
      for (let i = 0; i < z.length; i++) p[i] = 1 / (1 + exp(-z[i]));
      return p;
    }
    const p64 = new Float64Array(cols);
    const logp = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      softmaxRow(z, r * cols, cols, p64, logp);
      p.set(p64, r * cols);
    }
    return p;
  }

  /**
   * Inference on `rows` rows with the loaded weights: the model's outputs, or logits when `logits` and the
   * output is fused. Dropout is off.
   */
  forward(x: Float32Array, rows: number, logits = false): Float32Array {
    // Every layer's output of a pass lives in tfjs's memory until the pass ends, and that memory never
    // shrinks: so a pass takes at most `passRows` rows (a convnet's predict with batchSize 1024 grew each
    // worker's memory by about 200 MB). Rows do not affect one another, so the bits are the same.
    const per = this.passRows;
    this.activityPenalty = 0;
    if (rows <= per) return this.forwardPass(x, rows, logits);
    const out = new Float32Array(rows * this.outputCols);
    for (let r = 0; r < rows; r += per) {
      const n = Math.min(per, rows - r);
      out.set(this.forwardPass(x.subarray(r * this.inputCols, (r + n) * this.inputCols), n, logits), r * this.outputCols);
    }
    return out;
  }

  /** Rows per inference pass: its layers' outputs within about 32 MiB (at least one row). */
  private get passRows(): number {
    const floatsPerRow = this.layers.reduce((n, l) => n + sizeOf(l.outputShape!), this.inputCols);
    return Math.max(1, Math.floor(PASS_BYTES / (4 * floatsPerRow)));
  }

  private forwardPass(x: Float32Array, rows: number, logits: boolean): Float32Array {
    const out = tf.tidy(() => {
      const r = this.run(this.toSamples(tf.tensor2d(x, [rows, this.inputCols]), rows), false, logits && this.fusedOutput);
      this.layers.forEach((l, i) => {
        if (l.activityRegularizer) this.activityPenalty += penalty(l.activityRegularizer, heapView(r.outs[i]));
      });
      return r.out;
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  }

  /** Inference plus loss and metric sums (the fused path scores logits, like training). */
  evaluate(x: Float32Array, y: Float32Array, rows: number): { out: Float32Array; stats: ShardStats } {
    const raw = this.forward(x, rows, true);
    const out = this.fusedOutput ? this.activateLogits(raw, rows) : raw;
    const stats = this.score(raw, y, rows, null, 1, out);
    // A chunk's loss as Keras's evaluate reports it: its rows' losses plus its activity penalties, per row.
    stats.loss += this.activityPenalty * rows;
    return { out, stats };
  }
}
