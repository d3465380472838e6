/**
 * The compute core: a built stack of layers over one flat parameter vector, with a pure gradient function.
 *
 * `gradients(params, shard)` is a pure function of (weights, rows, keys): the same inputs give the same
 * bits on any thread, which is what lets the pool split a batch across workers without changing results.
 * The main thread (workers: 0) and every worker build a Network from the same plan.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getLoss, softmaxRow, type Loss } from '../losses.js';
import { getMetrics, metricLogs, metricsWidth, type Metric, type MetricConfig } from '../metrics.js';
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
      slots.push({
        layer: i,
        name: `${layer.name}/${p.name}`,
        shape: p.shape,
        offset,
        size,
        ...(p.movingAverage ? { movingAverage: p.movingAverage } : {}),
        ...(p.regularizer ? { regularizer: p.regularizer } : {}),
      });
      offset += size;
    }
  });
  return slots;
}

/**
 * A graph of layer calls: the model's inputs, then nodes in topological order. Tensors are numbered: input i
 * is tensor i, node k's output is tensor inputs.length + k. Each input's values lie side by side in a row of
 * x, in input order; each output's targets side by side in a row of y.
 */
export interface GraphPlan {
  inputs: { name: string; shape: number[] }[];
  /** `layer`: index into Plan.layers (a layer called at two nodes shares its weights); `inbound`: tensor ids. */
  nodes: { layer: number; inbound: number[] }[];
  /** The tensor id of each output, in output order. */
  outputs: number[];
}

/** The loss and metrics of one output (several outputs: see Plan.heads). */
export interface HeadPlan {
  name: string;
  loss: string;
  /** Metric names, or configs of metric objects (AUC, Precision...). */
  metrics: (string | MetricConfig)[];
  weight: number;
}

/** Everything a thread needs to rebuild the model: plain JSON, sent to workers. */
export interface Plan {
  /** The layers with their weights, in weight order. */
  layers: LayerConfig[];
  /** A chain: `layers` in order, on one input of this shape (when `graph` is absent). */
  inputShape?: number[];
  graph?: GraphPlan;
  /** The loss and metrics of a model with one output. */
  loss: string;
  /** Metric names, or configs of metric objects (AUC, Precision...). */
  metrics: (string | MetricConfig)[];
  /** One per output when the model has several (then `loss` and `metrics` are unused). */
  heads?: HeadPlan[];
}

/** One call of a layer in the built graph. */
interface Node {
  layer: Layer;
  layerIndex: number;
  inbound: number[];
  out: number;
}

/** An output with its loss and metrics, and where its values and targets lie in a row. */
export interface Head {
  name: string;
  loss: Loss;
  metrics: Metric[];
  /** Float64 accumulators of its metrics in a shard's stats. */
  metricsWidth: number;
  /** Prefixed to its metrics' names in the logs ('' for a model with one output). */
  prefix: string;
  weight: number;
  tensor: number;
  shape: number[];
  cols: number;
  /** Its first column among the outputs, and among the targets. */
  outOffset: number;
  yOffset: number;
  yCols: number;
  /** Its layer's activation is folded into the loss (softmax/sigmoid + cross-entropy). */
  fused: boolean;
}

/** The graph a plan describes: a chain when it has no graph. */
function graphOf(plan: Plan): GraphPlan {
  if (plan.graph) return plan.graph;
  if (!plan.inputShape) throw new Error('lockstep internal: a plan needs a graph or an input shape');
  return {
    inputs: [{ name: 'input_layer', shape: plan.inputShape }],
    nodes: plan.layers.map((_, i) => ({ layer: i, inbound: [i] })),
    outputs: [plan.layers.length],
  };
}

/**
 * Float64 values per step and shard in the stats: the loss, each output's loss (several outputs), every metric's
 * accumulators.
 */
export function statWidthOf(net: Network): number {
  return 1 + (net.plan.heads ? net.heads.length : 0) + net.metricsWidth;
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
  /** The layer calls in topological order; node k's output is tensor `inputs.length + k`. */
  readonly nodes: Node[];
  /** The model's inputs, with their columns in a row of x. */
  readonly inputs: { name: string; shape: number[]; cols: number; offset: number }[];
  readonly heads: Head[];
  readonly slots: ParamSlot[];
  readonly paramCount: number;
  /** Values per row of x (every input's), of the outputs, and of the targets. */
  readonly inputCols: number;
  readonly outputCols: number;
  readonly targetCols: number;
  /** The first output's loss, metrics and shape (the only ones of a model with one output). */
  readonly loss: Loss;
  readonly metrics: Metric[];
  /** Float64 accumulators of all the metrics of a shard (every output's). */
  readonly metricsWidth: number;
  readonly outputShape: number[];
  /** Whether the first output's activation is folded into the loss (softmax/sigmoid + cross-entropy). */
  readonly fusedOutput: boolean;
  /** Float64s per shard of the largest batch-statistics exchange a layer makes (0: none does). */
  readonly syncWidth: number;
  /** The weights kept as moving averages (BatchNormalization's moving statistics), which the optimizer skips. */
  readonly movingAverages: ParamSlot[];
  /** The weights with a penalty (regularizers.ts): its value joins the loss, its gradient the summed gradient. */
  readonly regularized: RegularizedSlot[];
  /** A node reading the only input takes the rows transposed, built while gathering (see `wantsInputTransposed`). */
  readonly wantsInputTransposed: boolean;
  /** Per tensor: a gradient flows to it (a layer with weights produced it or something before it). */
  private readonly needsGrad: boolean[];
  /** Per layer, the slots of its weights; whether its output is fused logits; whether a call of it needs dx. */
  private readonly layerSlots: ParamSlot[][];
  private readonly layerLogits: boolean[];
  private readonly layerNeedsDx: boolean[];

  /**
   * The test hooks of the task being run (testing.ts), given to every layer in its ForwardContext; a cached
   * Network takes each task's own (see engine/step.ts).
   */
  hooks: TaskHooks;

  constructor(
    readonly plan: Plan,
    hooks: TaskHooks = NO_HOOKS,
  ) {
    this.hooks = hooks;
    const graph = graphOf(plan);
    this.layers = plan.layers.map(layerFromConfig);
    let offset = 0;
    this.inputs = graph.inputs.map(({ name, shape }) => {
      const cols = sizeOf(shape);
      offset += cols;
      return { name, shape, cols, offset: offset - cols };
    });
    this.inputCols = offset;
    const shapes: number[][] = graph.inputs.map((i) => i.shape);
    const first = graph.inputs.length;
    this.nodes = graph.nodes.map((n, k) => {
      const layer = this.layers[n.layer];
      if (!layer || n.inbound.length === 0 || n.inbound.some((t) => !Number.isInteger(t) || t < 0 || t >= first + k)) {
        throw new Error(`lockstep internal: plan node ${k} refers to a layer or tensor that does not precede it`);
      }
      layer.buildCall(n.inbound.map((t) => shapes[t]));
      shapes.push(layer.outputShape!);
      return { layer, layerIndex: n.layer, inbound: n.inbound, out: first + k };
    });
    this.slots = paramLayout(this.layers);
    this.layerSlots = this.layers.map((_, i) => this.slots.filter((s) => s.layer === i));
    this.paramCount = this.slots.reduce((n, s) => n + s.size, 0);
    this.syncWidth = Math.max(0, ...this.layers.map((l) => l.batchSyncWidth()));
    this.movingAverages = this.slots.filter((s) => s.movingAverage);
    this.needsGrad = shapes.map(() => false);
    for (const node of this.nodes) {
      this.needsGrad[node.out] =
        this.layerSlots[node.layerIndex].length > 0 || node.inbound.some((t) => this.needsGrad[t]);
    }
    this.layerNeedsDx = this.layers.map((_, i) =>
      this.nodes.some((n) => n.layerIndex === i && n.inbound.some((t) => this.needsGrad[t])),
    );
    this.regularized = this.slots.flatMap((s) =>
      s.regularizer ? [{ offset: s.offset, size: s.size, regularizer: s.regularizer }] : [],
    );
    this.heads = this.buildHeads(plan, graph, shapes);
    this.metricsWidth = this.heads.reduce((n, h) => n + h.metricsWidth, 0);
    this.layerLogits = this.layers.map((_, i) =>
      this.heads.some((h) => h.fused && this.nodes[h.tensor - first].layerIndex === i),
    );
    this.outputCols = this.heads.reduce((n, h) => n + h.cols, 0);
    this.targetCols = this.heads.reduce((n, h) => n + h.yCols, 0);
    [{ loss: this.loss, metrics: this.metrics, shape: this.outputShape, fused: this.fusedOutput }] = this.heads;
    // The fused path never materialises the output layer's activated output, which its penalty would need.
    for (const h of this.heads) {
      const last = this.nodes[h.tensor - first].layer;
      if (h.fused && last.activityRegularizer)
        throw new Error(
          `Layer '${last.name}' (${last.className}): an activityRegularizer on the output layer of a ${h.loss.name} model is not supported; put it on a hidden layer`,
        );
    }
    this.wantsInputTransposed =
      this.inputs.length === 1 &&
      this.nodes.some((n) => n.inbound[0] === 0 && n.inbound.length === 1 && n.layer.wantsInputTransposed);
  }

  private buildHeads(plan: Plan, graph: GraphPlan, shapes: number[][]): Head[] {
    const specs = plan.heads ?? [{ name: '', loss: plan.loss, metrics: plan.metrics, weight: 1 }];
    if (specs.length !== graph.outputs.length)
      throw new Error(`lockstep internal: the plan has ${graph.outputs.length} outputs but ${specs.length} losses`);
    const first = graph.inputs.length;
    let outOffset = 0;
    let yOffset = 0;
    return specs.map((spec, k) => {
      const tensor = graph.outputs[k];
      if (!(tensor >= first && tensor < shapes.length))
        throw new Error(`lockstep internal: output ${k} is not a node's output`);
      const shape = shapes[tensor];
      const cols = sizeOf(shape);
      const loss = getLoss(spec.loss);
      const producer = this.nodes[tensor - first];
      // The loss takes over the activation only where nothing else reads the output and the layer is called once.
      const alone =
        !this.nodes.some((n) => n.inbound.includes(tensor)) &&
        this.nodes.filter((n) => n.layerIndex === producer.layerIndex).length === 1 &&
        graph.outputs.filter((t) => t === tensor).length === 1;
      const fused =
        loss.fusedActivation !== undefined &&
        producer.layer.outputActivation === loss.fusedActivation &&
        shape.length === 1 &&
        alone;
      const yCols = loss.target === 'sparse' ? 1 : cols;
      const metrics = getMetrics(spec.metrics, loss, cols);
      const head: Head = {
        name: spec.name,
        loss,
        metrics,
        metricsWidth: metricsWidth(metrics),
        prefix: plan.heads ? `${spec.name}_` : '',
        weight: spec.weight,
        tensor,
        shape,
        cols,
        outOffset,
        yOffset,
        yCols,
        fused,
      };
      outOffset += cols;
      yOffset += yCols;
      return head;
    });
  }

  /** Keras's logs from stats summed over `rows` rows (laid out as `statWidthOf` says). */
  logsOf(sums: Float64Array, rows: number): Record<string, number> {
    const logs: Record<string, number> = { loss: rows ? sums[0] / rows : NaN };
    let at = 1;
    if (this.plan.heads) for (const h of this.heads) logs[`${h.name}_loss`] = rows ? sums[at++] / rows : NaN;
    for (const h of this.heads) {
      metricLogs(h.metrics, sums.subarray(at, at + h.metricsWidth), logs, h.prefix);
      at += h.metricsWidth;
    }
    return logs;
  }

  /** Weights of the current step, one set per layer (see `loadWeights`). */
  private weights: Weights[] | null = null;

  /**
   * Makes `params` the weights of the coming step(s): each layer stages its own (tensors, or Dense's packed
   * kernels rewritten in place). Every shard and inference chunk until the next call uses them.
   */
  loadWeights(params: Float32Array): void {
    this.releaseWeights();
    this.weights = this.layers.map((layer, i) =>
      layer.stageWeights(
        this.layerSlots[i].map((s) => params.subarray(s.offset, s.offset + s.size)),
        { logits: this.layerLogits[i], needDx: this.layerNeedsDx[i] },
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

  /** Rows of x as one batch per input, each of its own shape (the only input's: a reshape, no copy). */
  private inputTensors(x: tf.Tensor2D, rows: number): T[] {
    const samples = (t: tf.Tensor2D, shape: number[]): T => (shape.length === 1 ? t : tf.reshape(t, [rows, ...shape]));
    if (this.inputs.length === 1) return [samples(x, this.inputs[0].shape)];
    return this.inputs.map((i) => samples(tf.slice(x, [0, i.offset], [rows, i.cols]), i.shape));
  }

  /** Runs the nodes in order; `logits` stops fused outputs before their activation. Returns every tensor. */
  private run(
    inputs: T[],
    training: boolean,
    logits: boolean,
    shard?: ShardInput,
    dropoutKeys?: (Key | undefined)[],
    batch?: BatchSync,
  ) {
    const caches: unknown[] = [];
    const values: T[] = [...inputs];
    const w = this.loaded();
    this.nodes.forEach((node, k) => {
      const ctx = {
        training,
        dropoutKey: dropoutKeys?.[k],
        sampleIndices: shard?.sampleIndices,
        logits: logits && this.layerLogits[node.layerIndex],
        batch,
        hooks: this.hooks,
      };
      const r = timed(`${node.layer.className} forward`, () =>
        node.layer.forwardCall(
          node.inbound.map((t) => values[t]),
          w[node.layerIndex],
          ctx,
        ),
      );
      caches.push(r.cache);
      values.push(r.y);
    });
    return { values, caches };
  }

  /** Adds an activity penalty on output `a` to each part's loss, and its gradient to `dy` (returned anew). */
  private addActivityPenalty(
    reg: RegularizerConfig,
    a: T,
    dy: T,
    parts: GradientPart[],
    stats: ShardStats[],
    scale: number,
  ): T {
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
   * Backward runs the nodes in reverse. A tensor read by several nodes gets the sum of their gradients, and a
   * layer called at several nodes the sum of its calls' weight gradients, both in a fixed order (the loss's
   * gradient first, then the nodes from the last back), so the bits never depend on the worker count.
   *
   * Layers with statistics over the whole batch (BatchNormalization) get them through `exchange`: the
   * training step's, spanning every worker's shards; without one, `parts` are taken to be the whole batch.
   */
  gradientsOfParts(
    input: ShardInput,
    parts: GradientPart[],
    dropoutKeys: (Key | undefined)[],
    scale: number,
    exchange?: BatchSync,
  ): ShardStats[] {
    const w = this.loaded();
    // Only a network with a layer that exchanges needs one; the others skip building it on every step.
    const batch = exchange ?? (this.syncWidth > 0 ? ShardExchange.local(parts, this.syncWidth) : undefined);
    if (
      batch &&
      (batch.parts.length !== parts.length ||
        batch.parts.some((p, k) => p.start !== parts[k].start || p.rows !== parts[k].rows))
    ) {
      throw new Error("lockstep internal: the exchange's parts differ from the gradient parts");
    }
    const { rows } = input;
    const F = this.inputCols;
    let stats: ShardStats[] = [];
    tf.tidy(() => {
      const x2 = input.x instanceof Float32Array ? tf.tensor2d(input.x.subarray(0, rows * F), [rows, F]) : input.x;
      const { values, caches } = this.run(this.inputTensors(x2, rows), true, true, input, dropoutKeys, batch);
      const dOuts = this.heads.map((h) => new Float32Array(rows * h.cols));
      const outs = this.heads.map((h) => heapView(values[h.tensor]));
      stats = parts.map((p) => this.scoreRows(outs, input.y, rows, p.start, p.rows, dOuts, scale));
      const plain: RowPart[] = parts.map(({ start, rows }) => ({ start, rows }));
      // Only a node that reads the raw (only) input can use the host-built transposes.
      const first: RowPart[] = parts.map(({ start, rows, xT }) => ({
        start,
        rows,
        inputTransposed: xT instanceof Float32Array ? tf.tensor2d(xT, [F, rows]) : xT,
      }));
      const grads: T[][] = values.map(() => []);
      this.heads.forEach((h, k) => grads[h.tensor].push(tf.tensor(dOuts[k], [rows, ...h.shape])));
      const written = new Set<number>();
      for (let k = this.nodes.length - 1; k >= 0; k--) {
        const node = this.nodes[k];
        const dys = grads[node.out];
        if (!this.needsGrad[node.out] || dys.length === 0) continue;
        let dy = dys.reduce((a, b) => tf.add(a, b));
        // Keras adds an activity penalty per batch, undivided: each part adds its rows' share to its loss
        // (as batch-size-weighted loss, like the rows' losses) and its gradient to dy, row by row.
        if (node.layer.activityRegularizer)
          dy = this.addActivityPenalty(node.layer.activityRegularizer, values[node.out], dy, parts, stats, scale);
        const needDx = node.inbound.some((t) => this.needsGrad[t]);
        const own = node.inbound.length === 1 && node.inbound[0] === 0 && this.inputs.length === 1 ? first : plain;
        const r = timed(`${node.layer.className} backward`, () =>
          node.layer.backwardCall(dy, caches[k], w[node.layerIndex], needDx, own),
        );
        const again = written.has(node.layerIndex);
        written.add(node.layerIndex);
        parts.forEach((p, j) =>
          this.layerSlots[node.layerIndex].forEach((s, q) => {
            const g = r.grads[j][q];
            const v = g instanceof Float32Array ? g : heapView(g);
            if (!again) p.gradOut.set(v, s.offset);
            else for (let i = 0; i < s.size; i++) p.gradOut[s.offset + i] += v[i];
          }),
        );
        node.inbound.forEach((t, q) => {
          const dx = r.dxs[q];
          if (dx && this.needsGrad[t]) grads[t].push(dx);
        });
      }
    });
    return stats;
  }

  /**
   * Loss and metric sums of rows [start, start + rows) of every output (logits where fused), from the outputs
   * of all rows; fills each output's `dOuts` rows with its scaled loss gradient. `y` holds all rows' targets.
   */
  private scoreRows(
    outs: Float32Array[],
    y: Float32Array,
    allRows: number,
    start: number,
    rows: number,
    dOuts: Float32Array[],
    scale: number,
  ): ShardStats {
    const yCols = allRows ? y.length / allRows : 0;
    const ys = y.subarray(start * yCols, (start + rows) * yCols);
    if (!this.plan.heads) {
      const C = this.outputCols;
      return this.score(
        outs[0].subarray(start * C, (start + rows) * C),
        ys,
        rows,
        dOuts[0].subarray(start * C, (start + rows) * C),
        scale,
      );
    }
    return this.scoreHeads(
      this.heads.map((h, k) => outs[k].subarray(start * h.cols, (start + rows) * h.cols)),
      ys,
      rows,
      dOuts.map((d, k) => d.subarray(start * this.heads[k].cols, (start + rows) * this.heads[k].cols)),
      scale,
    );
  }

  /** Each output's targets, as rows x yCols blocks, from rows of all targets (`targetCols` a row). */
  private targetsOfRows(y: Float32Array, rows: number): Float32Array[] {
    const T = this.targetCols;
    return this.heads.map((h) => {
      const out = new Float32Array(rows * h.yCols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < h.yCols; c++) out[r * h.yCols + c] = y[r * T + h.yOffset + c];
      return out;
    });
  }

  /** One output's loss sum; with sample weights, each row's loss and gradient multiplied by its weight. */
  private headLoss(
    h: Head,
    out: Float32Array,
    y: Float32Array,
    rows: number,
    dOut: Float32Array | null,
    scale: number,
    fill: Float32Array | null,
    weights: Float32Array | null,
  ): number {
    const C = h.cols;
    if (!weights) return h.loss.compute(out, y, rows, C, dOut, scale, h.fused, fill);
    const Y = h.yCols;
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const w = weights[r];
      const row = (a: Float32Array, n: number) => a.subarray(r * n, (r + 1) * n);
      loss +=
        w *
        h.loss.compute(row(out, C), row(y, Y), 1, C, dOut && row(dOut, C), scale * w, h.fused, fill && row(fill, C));
    }
    return loss;
  }

  /**
   * Several outputs: the weighted sum of their losses, then each one's loss and its metrics (see `statWidthOf`).
   * `yIn` holds rows of all outputs' targets, plus each row's sample weight as one more column if given.
   */
  private scoreHeads(
    outs: Float32Array[],
    yIn: Float32Array,
    rows: number,
    dOuts: Float32Array[] | null,
    scale: number,
    probs?: (Float32Array | undefined)[],
  ): ShardStats {
    const { y, weights } = this.splitter.split(yIn, rows, this.targetCols);
    const ys = this.targetsOfRows(y, rows);
    let total = 0;
    const H = this.heads.length;
    const metrics = new Float64Array(H + this.metricsWidth);
    let at = H;
    this.heads.forEach((h, k) => {
      const given = probs?.[k];
      const fill = h.fused && !given && h.metrics.length > 0 ? this.probsScratch(outs[k].length) : null;
      const loss = this.headLoss(h, outs[k], ys[k], rows, dOuts ? dOuts[k] : null, scale * h.weight, fill, weights);
      total += h.weight * loss;
      metrics[k] = loss;
      const p = given ?? fill ?? outs[k];
      for (const m of h.metrics) {
        m.update(p, ys[k], rows, h.cols, metrics.subarray(at, at + m.width), weights);
        at += m.width;
      }
    });
    return { loss: total, metrics };
  }

  /**
   * Loss and metric sums of outputs (logits when fused; `probs` are the activated outputs, if the caller has
   * them); fills `dOut` with the scaled loss gradient if given. Targets may carry each row's sample weight as
   * one more column (see sample-weights.ts): each row's loss, gradient and metric contributions are then
   * multiplied by it.
   */
  score(
    out: Float32Array,
    yIn: Float32Array,
    rows: number,
    dOut: Float32Array | null,
    scale: number,
    probs?: Float32Array,
  ): ShardStats {
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
        loss +=
          w *
          this.loss.compute(
            row(out, C),
            row(y, targetCols),
            1,
            C,
            dOut && row(dOut, C),
            scale * w,
            this.fusedOutput,
            fill && row(fill, C),
          );
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

  /** Applies an output's fused activation on the host (float64, rounded to float32); the first output's by default. */
  activateLogits(z: Float32Array, rows: number, head: Head = this.heads[0]): Float32Array {
    const cols = head.cols;
    const p = new Float32Array(z.length);
    if (head.loss.fusedActivation === 'sigmoid') {
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
   * Inference on `rows` rows with the loaded weights: the model's outputs side by side in a row (or logits
   * where `logits` and the output is fused). Dropout is off.
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
      out.set(
        this.forwardPass(x.subarray(r * this.inputCols, (r + n) * this.inputCols), n, logits),
        r * this.outputCols,
      );
    }
    return out;
  }

  /** Rows per inference pass: its layers' outputs within about 32 MiB (at least one row). */
  private get passRows(): number {
    const floatsPerRow = this.nodes.reduce((n, node) => n + sizeOf(node.layer.outputShape!), this.inputCols);
    return Math.max(1, Math.floor(PASS_BYTES / (4 * floatsPerRow)));
  }

  private forwardPass(x: Float32Array, rows: number, logits: boolean): Float32Array {
    const out = tf.tidy(() => {
      const { values } = this.run(this.inputTensors(tf.tensor2d(x, [rows, this.inputCols]), rows), false, logits);
      for (const node of this.nodes) {
        if (node.layer.activityRegularizer)
          this.activityPenalty += penalty(node.layer.activityRegularizer, heapView(values[node.out]));
      }
      if (this.heads.length === 1) return values[this.heads[0].tensor];
      return tf.concat(
        this.heads.map((h) => tf.reshape(values[h.tensor], [rows, h.cols])),
        1,
      );
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  }

  /** Inference plus loss and metric sums (the fused path scores logits, like training). */
  evaluate(x: Float32Array, y: Float32Array, rows: number): { out: Float32Array; stats: ShardStats } {
    const raw = this.forward(x, rows, true);
    if (!this.plan.heads) {
      const out = this.fusedOutput ? this.activateLogits(raw, rows) : raw;
      const stats = this.score(raw, y, rows, null, 1, out);
      // A chunk's loss as Keras's evaluate reports it: its rows' losses plus its activity penalties, per row.
      stats.loss += this.activityPenalty * rows;
      return { out, stats };
    }
    const C = this.outputCols;
    const zs = this.heads.map((h) => {
      const z = new Float32Array(rows * h.cols);
      for (let r = 0; r < rows; r++) z.set(raw.subarray(r * C + h.outOffset, r * C + h.outOffset + h.cols), r * h.cols);
      return z;
    });
    const probs = this.heads.map((h, k) => (h.fused ? this.activateLogits(zs[k], rows, h) : zs[k]));
    const out = new Float32Array(rows * C);
    this.heads.forEach((h, k) => {
      for (let r = 0; r < rows; r++) out.set(probs[k].subarray(r * h.cols, (r + 1) * h.cols), r * C + h.outOffset);
    });
    const stats = this.scoreHeads(zs, y, rows, null, 1, probs);
    stats.loss += this.activityPenalty * rows;
    return { out, stats };
  }
}
