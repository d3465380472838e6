/**
 * Model: Keras's functional model, with compile / fit / evaluate / predict. `Sequential` is a Model whose
 * graph is a chain; both train on the one engine (engine/trainer.ts) and infer on the one path.
 *
 * ```ts
 * const numbers = layers.Input({ shape: [16], name: 'numbers' });
 * const h = layers.Dense({ units: 32, activation: 'relu' }).apply(numbers);
 * const out = layers.Add().apply([h, layers.Dense({ units: 32 }).apply(h)]);
 * const model = new Model({ inputs: numbers, outputs: layers.Dense({ units: 1 }).apply(out) });
 * ```
 *
 * The weights and optimizer state live in SharedArrayBuffers, double-buffered (see engine/layout.ts).
 */
import { Layer, InputLayer } from './layers/index.js';
import type { LayerConfig } from './layers/layer.js';
import { SymbolicTensor as AnyTensor, type CallNode as AnyCall } from './layers/symbolic-tensor.js';

/** The graph's tensors and calls, with lockstep's layers. */
type SymbolicTensor = AnyTensor<Layer>;
type CallNode = AnyCall<Layer>;
import { getLoss } from './losses.js';
import { getMetrics, metricConfig, type MetricConfig, type MetricSpec } from './metrics.js';
import { getOptimizer, type Optimizer, type OptimizerConfig } from './optimizers.js';
import { initialize } from './initializers.js';
import { keyFor, Purpose, seedKey } from './rng.js';
import { currentSeed } from './seed.js';
import { functionalSummaryTable } from './summary.js';
import { Matrix, toMatrix, type MatrixLike } from './matrix.js';
import {
  Network,
  paramLayout,
  sizeOf,
  type GraphPlan,
  type HeadPlan,
  type ParamSlot,
  type Plan,
} from './engine/network.js';
import { allocModelBuffers, Ctrl, sharedI32, type ModelBuffers } from './engine/layout.js';
import type { Executor } from './engine/executor.js';
import { createExecutor, defaultWorkers, executorInfo } from './engine/executors.js';
import { abortWorkers } from './engine/barrier.js';
import { badOption, checkOptionKeys, formatValue } from './errors.js';
import type { BackendInfo } from './backend.js';
import type { NamedWeight } from './callbacks/callback.js';
import { checkFitOptions, fit, type FitData, type FitOptions, type Many } from './engine/trainer.js';
import { checkInferenceOptions, inference, targetsFor, type InferenceOptions } from './engine/inference.js';
import type { CompiledModel, TrainingModel } from './engine/model-interface.js';
import type { History } from './history.js';
import type { Logs } from './callbacks/callback.js';
import { saveModel } from './io/save-model.js';
import { testHooksOf } from './testing.js';
import { appendWeights, rowWeights } from './sample-weights.js';
import { toFunctionalTopology } from './io/functional-topology.js';

export interface CompileOptions {
  /** A loss name; with several outputs, one per output (an array, or an object keyed by output name). */
  loss: string | string[] | Record<string, string>;
  optimizer?: string | Optimizer | OptimizerConfig;
  /**
   * Metric names ('accuracy', 'AUC'...) or metric objects (new metrics.AUC({ curve: 'PR' })); with several
   * outputs, for every output, or one list per output (array or object).
   */
  metrics?: MetricSpec[] | MetricSpec[][] | Record<string, MetricSpec[]>;
  /** Several outputs: each loss's weight in the total (default 1 each). */
  lossWeights?: number[] | Record<string, number>;
}

export interface ModelOptions {
  inputs: AnyTensor | AnyTensor[];
  outputs: AnyTensor | AnyTensor[];
  name?: string;
  /** Seed for the initial weights; default: the global seed (setRandomSeed) when the model is built. */
  seed?: number;
}

/** What a model's inputs and outputs are, and how its layers connect. */
export interface Topology {
  inputs: { name: string; shape: number[] }[];
  outputs: { name: string; shape: number[]; layer: Layer }[];
  /** The layers with weights (every layer but the inputs), in weight order. */
  weightLayers: Layer[];
  /** How they connect; absent for a chain. */
  graph?: GraphPlan;
  /** The calls in topological order (a functional model's), for summary and save. */
  nodes?: CallNode[];
}

interface Compiled extends CompiledModel {
  /** The compile arguments as given (loss names as written), for save and verify. */
  args: {
    loss: CompileOptions['loss'];
    metrics: CompileOptions['metrics'];
    lossWeights?: CompileOptions['lossWeights'];
  };
  canonicalLoss: string | string[];
}

/** `predict`'s result for a caller that handles one output (the CLI, ensembles): an error names `who` otherwise. */
export function onlyOutput(p: Matrix | Matrix[], who: string): Matrix {
  if (!Array.isArray(p)) return p;
  throw new Error(`${who}: this model has ${p.length} outputs; only models of one output are supported here`);
}

/** Layers called inside another model's `apply`: their weights start from that model's. */
const weightSource = new WeakMap<Layer, Model>();

const shapeText = (s: number[]) => `(None, ${s.join(', ')})`;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  !(v instanceof Matrix) &&
  !ArrayBuffer.isView(v) &&
  !('data' in v && 'shape' in v);

/**
 * Keras's functional model: a graph of layers from `layers.Input` symbolic tensors to outputs, built with
 * `layer.apply`. Several inputs and outputs, shared layers, merge layers and nested models; the same `compile`,
 * `fit`, `evaluate`, `predict` and `save` as `Sequential` (which is a `Model` whose graph is a chain).
 *
 * @example
 * const input = layers.Input({ shape: [28, 28, 1] });
 * const x = layers.Conv2D({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input);
 * const y = layers.Conv2D({ filters: 16, kernelSize: 3, padding: 'same' }).apply(x);
 * const joined = layers.Activation({ activation: 'relu' }).apply(layers.Add().apply([x, y]));
 * const pooled = layers.GlobalAveragePooling2D().apply(joined);
 * const output = layers.Dense({ units: 10, activation: 'softmax' }).apply(pooled);
 * const model = new Model({ inputs: input, outputs: output });
 * model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
 */
export class Model implements TrainingModel {
  readonly name: string;
  /** Every layer, the inputs' first (Keras's model.layers). */
  readonly layers: Layer[] = [];
  /** A functional model's symbolic inputs and outputs. */
  readonly inputs: SymbolicTensor[] = [];
  readonly outputs: SymbolicTensor[] = [];
  stopTraining = false;
  protected readonly seed?: number;
  /** Flat initial/current weights until compile moves them into shared, double-buffered storage. */
  protected flat: Float32Array = new Float32Array(0);
  private compiled?: Compiled;
  /** Shared weights and optimizer state, and the control block whose Updates field says which set is current. */
  buffers?: ModelBuffers;
  readonly control = sharedI32(Ctrl.Length);
  private executor?: Executor;
  /** @internal >0 while fit awaits callbacks: the workers are parked, so setWeights is safe then. */
  callbackDepth = 0;
  /** @internal Set by dispose() during a fit: fit rejects with it at its next check. */
  fitInterrupted: Error | undefined;
  private nodes: CallNode[] = [];

  constructor(options: ModelOptions | { name?: string; seed?: number }) {
    const owner = new.target === Model ? 'Model' : new.target.name;
    const functional = new.target === Model;
    checkOptionKeys(owner, options, functional ? ['inputs', 'outputs', 'name', 'seed'] : ['name', 'seed']);
    const o = (options ?? {}) as Partial<ModelOptions>;
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
      throw badOption(owner, 'name', 'a non-empty string', o.name);
    if (o.seed !== undefined && (!Number.isSafeInteger(o.seed) || o.seed < 0))
      throw badOption(owner, 'seed', 'a non-negative safe integer', o.seed);
    this.name = o.name ?? (functional ? 'functional' : 'sequential');
    this.seed = o.seed;
    if (functional) this.buildGraph(o);
  }

  /** Lists the calls from the inputs to the outputs in topological order, names the layers, draws the weights. */
  private buildGraph(o: Partial<ModelOptions>): void {
    const list = (v: unknown, what: string): SymbolicTensor[] => {
      const a = Array.isArray(v) ? v : [v];
      if (a.length === 0 || !a.every((t) => t instanceof AnyTensor))
        throw badOption(
          'Model',
          what,
          'a symbolic tensor (layers.Input(...) or layer.apply(...)) or an array of them',
          v,
        );
      return a as SymbolicTensor[];
    };
    const inputs = list(o.inputs, 'inputs');
    const outputs = list(o.outputs, 'outputs');
    inputs.forEach((t, i) => {
      if (!(t.node.layer instanceof InputLayer))
        throw new Error(
          `Model '${this.name}': inputs[${i}] must come from layers.Input(...); it is the output of layer '${t.node.layer.name}' (${t.node.layer.className})`,
        );
      if (inputs.indexOf(t) !== i) throw new Error(`Model '${this.name}': inputs[${i}] is given twice`);
    });
    const seen = new Set<CallNode>();
    const visit = (t: SymbolicTensor, from: Layer | undefined) => {
      const node = t.node;
      if (seen.has(node)) return;
      if (node.layer instanceof InputLayer) {
        if (!inputs.includes(t))
          throw new Error(
            `Model '${this.name}': graph disconnected: layer '${from?.name || from?.defaultName}' (${from?.className}) reads input '${node.layer.name || 'input_layer'}', which is not among the model's inputs`,
          );
        return;
      }
      for (const input of node.inputs) visit(input, node.layer);
      seen.add(node);
      this.nodes.push(node);
    };
    for (const t of outputs) {
      if (t.node.layer instanceof InputLayer)
        throw new Error(`Model '${this.name}': an output must be a layer's output, not an input`);
      visit(t, undefined);
    }
    this.inputs.push(...inputs);
    this.outputs.push(...outputs);
    const layers = [...inputs.map((t) => t.node.layer)];
    for (const n of this.nodes) if (!layers.includes(n.layer)) layers.push(n.layer);
    this.nameLayers(layers);
    for (const layer of layers) {
      const calls = this.nodes.filter((n) => n.layer === layer).length;
      if (calls > 1 && layer.params().some((p) => p.movingAverage)) {
        throw new Error(
          `Model '${this.name}': layer '${layer.name}' (${layer.className}) is called ${calls} times, but a layer with moving statistics can be called once only`,
        );
      }
    }
    this.layers.push(...layers);
    this.drawWeights();
  }

  /** Default names are per model (dense, dense_1...); names must be unique. */
  protected nameLayers(layers: Layer[]): void {
    const taken = new Set(layers.map((l) => l.name).filter((n) => n));
    for (const layer of layers) {
      if (layer.name) continue;
      const base = layer.defaultName;
      let n = 0;
      while (taken.has(n === 0 ? base : `${base}_${n}`)) n++;
      layer.name = n === 0 ? base : `${base}_${n}`;
      taken.add(layer.name);
    }
    const names = layers.map((l) => l.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`Model '${this.name}' has two layers named '${dup}'; layer names must be unique`);
  }

  /** Initial weights of every layer, keyed by (seed, layer position, weight index); a nested model's are copied. */
  private drawWeights(): void {
    const seed = currentSeed(this.seed);
    const chunks: Float32Array[] = [];
    this.layers.forEach((layer, i) => {
      const source = weightSource.get(layer);
      const theirs = source && source !== this ? new Map(source.getWeights().map((w) => [w.name, w.data])) : undefined;
      layer.params().forEach((p, k) => {
        const size = sizeOf(p.shape);
        chunks.push(
          theirs?.get(`${layer.name}/${p.name}`)?.slice() ??
            initialize(p.initializer, keyFor(seedKey(seed), Purpose.Init, i, k), size, p.fanIn, p.fanOut),
        );
      });
    });
    this.flat = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      this.flat.set(c, off);
      off += c.length;
    }
  }

  /** The model's inputs, outputs and connections; Sequential describes its chain. */
  topology(): Topology {
    const ids = new Map<SymbolicTensor, number>(this.inputs.map((t, i) => [t, i]));
    this.nodes.forEach((n, k) => ids.set(n.output, this.inputs.length + k));
    const weightLayers = this.layers.filter((l) => !(l instanceof InputLayer));
    const names = this.outputs.map((t) => t.node.layer.name);
    return {
      inputs: this.inputs.map((t) => ({ name: t.node.layer.name, shape: [...t.shape] })),
      outputs: this.outputs.map((t, k) => ({
        name: names.indexOf(names[k]) === k ? names[k] : `${names[k]}_${k}`,
        shape: [...t.shape],
        layer: t.node.layer,
      })),
      weightLayers,
      graph: {
        inputs: this.inputs.map((t) => ({ name: t.node.layer.name, shape: [...t.shape] })),
        nodes: this.nodes.map((n) => ({
          layer: weightLayers.indexOf(n.layer),
          inbound: n.inputs.map((t) => ids.get(t)!),
        })),
        outputs: this.outputs.map((t) => ids.get(t)!),
      },
      nodes: [...this.nodes],
    };
  }

  /**
   * Calls the whole model on symbolic tensors, as a layer inside another model: its calls are repeated on
   * them (the same layers, so the same weights: the new model starts from this one's).
   */
  apply(inputs: AnyTensor | AnyTensor[]): SymbolicTensor | SymbolicTensor[] {
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as SymbolicTensor[];
    if (list.length !== this.inputs.length)
      throw new Error(`Model '${this.name}' takes ${this.inputs.length} inputs. Received: ${list.length}`);
    const map = new Map<SymbolicTensor, SymbolicTensor>();
    this.inputs.forEach((t, i) => {
      if (list[i].shape.join(',') !== t.shape.join(','))
        throw new Error(
          `Model '${this.name}': input '${t.name}' has shape ${shapeText(t.shape)}. Received: ${shapeText(list[i].shape)}`,
        );
      map.set(t, list[i]);
    });
    for (const n of this.nodes) {
      weightSource.set(n.layer, this);
      map.set(n.output, n.layer.apply(n.inputs.map((t) => map.get(t)!)));
    }
    const outs = this.outputs.map((t) => map.get(t)!);
    return outs.length === 1 ? outs[0] : outs;
  }

  /** @internal For Sequential.apply: its layers' weights start from this model's when called in another. */
  protected static markWeightSource(layer: Layer, model: Model): void {
    weightSource.set(layer, model);
  }

  get built(): boolean {
    return this.layers.length > 0 && this.topology().inputs.length > 0;
  }

  /** The shape of one input sample ([784], [28, 28, 1]...), once known (the first input's). */
  inputSampleShape(): number[] | undefined {
    return this.built ? [...this.topology().inputs[0].shape] : undefined;
  }

  protected assertBuilt(what: string): void {
    if (!this.built) {
      throw new Error(
        `Model '${this.name}' has no input shape yet, so ${what} is not possible: add layers.Input({ shape: [...] }) first`,
      );
    }
  }

  /** Keras's summary table; also printed through `print` when given (e.g. console.log). */
  summary(print?: (text: string) => void): string {
    const calls = (t: SymbolicTensor) =>
      `${t.node.layer.name}[${this.nodes.filter((n) => n.layer === t.node.layer).indexOf(t.node) + (t.node.layer instanceof InputLayer ? 1 : 0)}][0]`;
    const rows = [
      ...this.inputs.map((t) => ({ layer: t.node.layer, shape: t.shape, connected: [] as string[] })),
      ...this.nodes.map((n) => ({ layer: n.layer, shape: n.output.shape, connected: n.inputs.map(calls) })),
    ];
    const text = functionalSummaryTable(this.name, rows, this.layers);
    print?.(text);
    return text;
  }

  countParams(): number {
    return this.flat.length || (this.buffers ? this.buffers.params[0].length : 0);
  }

  /** The layer configs (Input included), in order. */
  layerConfigs(): LayerConfig[] {
    return this.layers.map((l) => l.getConfig());
  }

  compile(options: CompileOptions): void {
    this.assertIdle('compile', false);
    this.assertBuilt('compile');
    checkOptionKeys('compile', options, ['loss', 'optimizer', 'metrics', 'lossWeights']);
    const top = this.topology();
    const heads = this.headsOf(options, top);
    const optimizer = getOptimizer(options.optimizer ?? 'rmsprop');
    heads.forEach((h, k) => {
      const loss = getLoss(h.loss);
      const { shape, layer } = top.outputs[k];
      // Keras applies a cross-entropy along the last axis of each position; lockstep's losses see a sample's
      // outputs as one row, which is the same for elementwise losses (mse, mae, huber, binary cross-entropy)
      // but not for a distribution over classes.
      if (shape.length > 1 && (loss.target === 'sparse' || loss.name === 'categorical_crossentropy')) {
        throw new Error(
          `compile: ${loss.name} needs an output of shape (None, classes), but layer '${layer.name}' (${layer.className}) outputs ${shapeText(shape)}: add a Flatten or GlobalAveragePooling2D and a Dense classifier`,
        );
      }
      getMetrics(h.metrics, loss, sizeOf(shape));
    });
    const plan: Plan = {
      layers: top.weightLayers.map((l) => l.getConfig()),
      ...(top.graph ? { graph: top.graph } : { inputShape: top.inputs[0].shape }),
      loss: getLoss(heads[0].loss).name,
      metrics: heads[0].metrics,
      ...(heads.length > 1 ? { heads: heads.map((h) => ({ ...h, loss: getLoss(h.loss).name })) } : {}),
    };
    const weights = this.currentParams();
    const net = new Network(plan);
    const canonicalLoss = heads.length > 1 ? heads.map((h) => getLoss(h.loss).name) : plan.loss;
    this.compiled = {
      optimizer,
      plan,
      net,
      buffers: undefined as never,
      args: { loss: options.loss, metrics: options.metrics ?? [], lossWeights: options.lossWeights },
      canonicalLoss,
    };
    // A new optimizer starts from fresh state, as in Keras; the weights carry over.
    this.buffers = allocModelBuffers(weights.length, optimizer.stateNames.length);
    this.compiled.buffers = this.buffers;
    Atomics.store(this.control, Ctrl.Updates, 0);
    this.buffers.params[0].set(weights);
    this.buffers.state[0].forEach((s, k) => s.fill(optimizer.initialState(k)));
  }

  /** compile's loss, metrics and loss weights, one set per output (checked against the output names). */
  private headsOf(options: CompileOptions, top: Topology): HeadPlan[] {
    const names = top.outputs.map((o) => o.name);
    const perOutput = <V>(
      value: unknown,
      what: string,
      isOne: (v: unknown) => boolean,
      fallback: V | undefined,
      rule: string,
    ): V[] => {
      if (value === undefined) {
        if (fallback === undefined) throw badOption('compile', what, rule, value);
        return names.map(() => fallback);
      }
      if (isOne(value)) return names.map(() => value as V);
      if (Array.isArray(value)) {
        if (value.length !== names.length || !value.every(isOne))
          throw badOption(
            'compile',
            what,
            `${rule}, or an array of ${names.length} (one per output: ${names.join(', ')})`,
            value,
          );
        return value as V[];
      }
      if (isPlainObject(value)) {
        const extra = Object.keys(value).find((k) => !names.includes(k));
        if (extra !== undefined)
          throw new Error(
            `compile: ${what} names output '${extra}', but the outputs are ${names.map((n) => `'${n}'`).join(', ')}`,
          );
        return names.map((n) => {
          if (!(n in value)) {
            if (fallback === undefined) throw new Error(`compile: ${what} has no entry for output '${n}'`);
            return fallback;
          }
          if (!isOne(value[n])) throw badOption('compile', `${what}.${n}`, rule, value[n]);
          return value[n] as V;
        });
      }
      throw badOption('compile', what, rule, value);
    };
    const isName = (v: unknown) => typeof v === 'string';
    const isWeight = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
    if (names.length === 1) {
      if (
        typeof options?.loss !== 'string' &&
        !(Array.isArray(options?.loss) && options.loss.length === 1) &&
        !isPlainObject(options?.loss)
      )
        throw badOption('compile', 'loss', 'a loss name such as "mse"', options?.loss);
    }
    const losses = perOutput<string>(options?.loss, 'loss', isName, undefined, 'a loss name such as "mse"');
    // A metric is a name, a metric object or its config; a list of them is for every output.
    const isMetric = (v: unknown) =>
      typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v));
    const isMetrics = (v: unknown) => Array.isArray(v) && v.every(isMetric);
    const metrics =
      options.metrics !== undefined && isMetrics(options.metrics)
        ? names.map(() => options.metrics as MetricSpec[])
        : perOutput<MetricSpec[]>(options.metrics, 'metrics', isMetrics, [], 'an array of metric names or objects');
    const weights = perOutput<number>(options.lossWeights, 'lossWeights', isWeight, 1, 'a non-negative number');
    return names.map((name, k) => ({
      name,
      loss: losses[k],
      metrics: metrics[k].map(metricConfig),
      weight: weights[k],
    }));
  }

  /** @internal */
  requireCompiled(what: string): CompiledModel {
    if (!this.compiled || !this.buffers)
      throw new Error(
        `Model '${this.name}' must be compiled before ${what}: call model.compile({ loss, optimizer, metrics })`,
      );
    return {
      plan: this.compiled.plan,
      net: this.compiled.net,
      optimizer: this.compiled.optimizer,
      buffers: this.buffers,
    };
  }

  /** The current flat parameter vector (a view: the live set of the double buffer). */
  currentParams(): Float32Array {
    if (!this.buffers) return this.flat;
    return this.buffers.params[Atomics.load(this.control, Ctrl.Updates) % 2];
  }

  /** Current optimizer state arrays (views of the live set). */
  currentOptimizerState(): Float32Array[] {
    if (!this.buffers) return [];
    return this.buffers.state[Atomics.load(this.control, Ctrl.Updates) % 2];
  }

  /**
   * The compile arguments (loss as the user wrote it and its canonical name, metrics), if compiled. A model
   * with several outputs has a canonical loss per output.
   */
  compiledArgs():
    { lossName: string; canonicalLoss: string; metrics: (string | MetricConfig)[]; heads?: HeadPlan[] } | undefined {
    const c = this.compiled;
    if (!c) return undefined;
    if (c.plan.heads)
      return {
        lossName: JSON.stringify(c.args.loss),
        canonicalLoss: JSON.stringify(c.canonicalLoss),
        metrics: [],
        heads: c.plan.heads.map((h) => ({ ...h, metrics: [...h.metrics] })),
      };
    const loss = c.args.loss;
    return {
      lossName: typeof loss === 'string' ? loss : c.plan.loss,
      canonicalLoss: c.plan.loss,
      metrics: [...c.plan.metrics],
    };
  }

  get optimizer(): Optimizer | undefined {
    return this.compiled?.optimizer;
  }

  /** The rate of the next update (a schedule's value at the current update count). */
  get learningRate(): number {
    return this.requireCompiled('reading the learning rate').optimizer.rateAt(this.iterations);
  }

  set learningRate(lr: number) {
    if (!(lr > 0) || !Number.isFinite(lr)) throw badOption(this.name, 'learningRate', 'a positive finite number', lr);
    this.requireCompiled('setting the learning rate').optimizer.learningRate = lr;
  }

  private slotNames(): ParamSlot[] {
    this.assertBuilt('reading weights');
    return paramLayout(this.topology().weightLayers);
  }

  /**
   * The weights, optimizer state and update count of one completed step, copied; consistent even while a fit
   * runs. Steps write the other set of the double buffer, so the copy of set `u % 2` is whole if the count is
   * still `u` after it (a seqlock); a step reads and writes more memory than this copy does, so a retry
   * soon succeeds.
   */
  snapshot(): { params: Float32Array; state: Float32Array[]; iterations: number } {
    if (!this.buffers) return { params: this.flat.slice(), state: [], iterations: 0 };
    const buffers = this.buffers;
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const u = Atomics.load(this.control, Ctrl.Updates);
      const params = buffers.params[u % 2].slice();
      const state = buffers.state[u % 2].map((a) => a.slice());
      if (Atomics.load(this.control, Ctrl.Updates) === u) return { params, state, iterations: u };
    }
    throw new Error(`Model '${this.name}': could not copy a consistent snapshot while training`);
  }

  /** Copies of every weight, Keras order (kernel then bias, layer by layer); those of one completed step. */
  getWeights(): NamedWeight[] {
    return this.weightsOf(this.running === 'fit' ? this.snapshot().params : this.currentParams());
  }

  /** @internal `params` (a flat vector) cut into named weights, copied. */
  weightsOf(params: Float32Array): NamedWeight[] {
    return this.slotNames().map((s) => ({
      name: s.name,
      shape: s.shape,
      data: params.slice(s.offset, s.offset + s.size),
    }));
  }

  /** Replaces every weight; checks all shapes first, so a bad list changes nothing. */
  setWeights(weights: NamedWeight[] | Float32Array[]): void {
    this.assertIdle('setWeights', true);
    const slots = this.slotNames();
    if (!Array.isArray(weights) || weights.length !== slots.length) {
      throw new Error(
        `setWeights on model '${this.name}' expects ${slots.length} arrays (${slots.map((s) => s.name).join(', ')}). Received: ${Array.isArray(weights) ? weights.length : typeof weights}`,
      );
    }
    const arrays = weights.map((w, i) => {
      const data = w instanceof Float32Array ? w : w?.data;
      if (!(data instanceof Float32Array) || data.length !== slots[i].size) {
        throw new Error(
          `setWeights: ${slots[i].name} needs ${slots[i].size} values (shape [${slots[i].shape}]). Received: ${data?.length ?? typeof data}`,
        );
      }
      if (!(w instanceof Float32Array) && w.shape && w.shape.join(',') !== slots[i].shape.join(',')) {
        throw new Error(`setWeights: ${slots[i].name} has shape [${slots[i].shape}]. Received: [${w.shape}]`);
      }
      return data;
    });
    const params = this.currentParams();
    arrays.forEach((a, i) => params.set(a, slots[i].offset));
  }

  /** Sets the optimizer state (used by loadModel to resume training exactly). */
  setOptimizerState(state: Float32Array[], iterations: number): void {
    this.assertIdle('setOptimizerState', true);
    const { buffers, optimizer } = this.requireCompiled('setting optimizer state');
    if (state.length !== optimizer.stateNames.length)
      throw new Error(
        `Optimizer ${optimizer.className} has ${optimizer.stateNames.length} state arrays. Received: ${state.length}`,
      );
    const params = this.currentParams().slice();
    Atomics.store(this.control, Ctrl.Updates, iterations);
    const cur = iterations % 2;
    buffers.params[cur].set(params);
    state.forEach((s, k) => buffers.state[cur][k].set(s));
  }

  /** Optimizer updates applied so far (Keras's optimizer.iterations). */
  get iterations(): number {
    return Atomics.load(this.control, Ctrl.Updates);
  }

  /** The executor for `workers` (0 = this thread), reusing the pool across calls while the size matches. */
  async executorFor(workers: number | undefined): Promise<Executor> {
    const n = workers ?? defaultWorkers();
    if (!Number.isInteger(n) || n < 0)
      throw badOption('lockstep', 'workers', 'a non-negative integer (0 = in process)', workers);
    if (this.executor && this.executor.workers === n) return this.executor;
    await this.executor?.dispose();
    this.executor = createExecutor(n);
    return this.executor;
  }

  /**
   * Trains on x (one array per input: an array in input order or an object keyed by input name, when there
   * are several) and y (one per output, likewise).
   *
   * @example
   * const history = await model.fit({ numbers, categories }, { salary }, {
   *   epochs: 100, batchSize: 32, validationSplit: 0.2, verbose: 2,
   *   callbacks: [new callbacks.EarlyStopping({ monitor: 'val_loss', patience: 10, restoreBestWeights: true })],
   * });
   * console.log(history.history.val_loss.at(-1));
   */
  fit(x: Many<MatrixLike>, y: Many<MatrixLike | Int32Array>, options: FitOptions = {}): Promise<History> {
    return this.exclusive('fit', async () => {
      const calledAt = performance.now();
      const compiled = this.requireCompiled('fit');
      const settings = checkFitOptions(options);
      // The workers start (and build the network) while the input is checked and copied below: a pool's
      // start-up is most of a first fit's time to its first step. Starting threads changes nothing in the model.
      const executor = this.executorFor(settings.workers).then(
        (e) => (e.prepare(compiled.plan, compiled.buffers.params[0]), e),
      );
      executor.catch(() => undefined);
      // Check everything before touching the model, so a bad call changes nothing.
      const data: FitData = { x: this.packInputs(x, 'x'), y: this.packTargets(compiled.net, y, 'y') };
      data.weights = rowWeightsOf(compiled.net, 'fit', data.y, settings.sampleWeight, settings.classWeight);
      data.classWeighted = settings.classWeight !== undefined;
      const v = options?.validationData;
      if (v !== undefined) {
        let vy = this.packTargets(compiled.net, v[1], 'validationData[1]');
        // [x, y, sampleWeight]: the weights travel as one more target column (see sample-weights.ts).
        const vw = v.length === 3 ? rowWeightsOf(compiled.net, 'fit: validationData[2]', vy, v[2], undefined) : null;
        if (vw) vy = appendWeights(vy, vw);
        data.validation = { x: this.packInputs(v[0], 'validationData[0]'), y: vy };
      }
      return fit(this, compiled, data, settings, executor, calledAt);
    });
  }

  /** Loss and metrics on (x, y), Keras names as keys. */
  async evaluate(x: Many<MatrixLike>, y: Many<MatrixLike | Int32Array>, options: InferenceOptions = {}): Promise<Logs> {
    return this.exclusive('evaluate', async () => {
      const s = checkInferenceOptions('evaluate', options);
      const c = this.requireCompiled('evaluate');
      const xm = this.packInputs(x, 'x');
      let ym = this.packTargets(c.net, y, 'y');
      const w = rowWeightsOf(c.net, 'evaluate', ym, s.sampleWeight, undefined);
      if (w) ym = appendWeights(ym, w);
      const r = await inference(
        {
          ...c,
          params: this.currentParams(),
          control: this.control,
          hooks: testHooksOf(this),
          fitInterrupted: () => this.fitInterrupted,
        },
        xm,
        ym,
        s,
        await this.executorFor(s.workers),
      );
      return r.logs!;
    });
  }

  /** Outputs for x, computed in batches (default 32 rows) on the pool; one Matrix per output. */
  /** The outputs for `x`: one Matrix, or one per output (in `outputs` order) for a model with several. */
  async predict(x: Many<MatrixLike>, options: InferenceOptions = {}): Promise<Matrix | Matrix[]> {
    return this.exclusive('predict', async () => {
      const s = checkInferenceOptions('predict', options);
      // predict works on an uncompiled model, as in Keras: any loss will do, outputs are never scored.
      const { plan, net } = this.compiled ?? this.inferencePlan();
      const xm = this.packInputs(x, 'x');
      const r = await inference(
        {
          plan,
          net,
          params: this.currentParams(),
          control: this.control,
          hooks: testHooksOf(this),
          fitInterrupted: () => this.fitInterrupted,
        },
        xm,
        undefined,
        s,
        await this.executorFor(s.workers),
      );
      return net.heads.length === 1 ? r.out : this.splitOutputs(net, r.out);
    });
  }

  /** A plan for predict on an uncompiled model (any loss: outputs are never scored). */
  private inferencePlan(): { plan: Plan; net: Network } {
    this.assertBuilt('predict');
    const top = this.topology();
    const plan: Plan = {
      layers: top.weightLayers.map((l) => l.getConfig()),
      ...(top.graph ? { graph: top.graph } : { inputShape: top.inputs[0].shape }),
      loss: 'mse',
      metrics: [],
      ...(top.outputs.length > 1
        ? { heads: top.outputs.map((o) => ({ name: o.name, loss: 'mse', metrics: [], weight: 1 })) }
        : {}),
    };
    return { plan, net: new Network(plan) };
  }

  /** Several outputs: predict's rows cut into one Matrix per output. */
  private splitOutputs(net: Network, out: Matrix): Matrix[] {
    return net.heads.map((h) => {
      const data = new Float32Array(out.rows * h.cols);
      for (let r = 0; r < out.rows; r++)
        data.set(out.data.subarray(r * out.cols + h.outOffset, r * out.cols + h.outOffset + h.cols), r * h.cols);
      return new Matrix(data, out.rows, h.cols, h.shape);
    });
  }

  /** One value per input or output: the value itself (one), an array in order, or an object keyed by name. */
  private perName<V>(value: unknown, names: string[], what: string, kind: string): V[] {
    if (names.length === 1) {
      if (isPlainObject(value) && names[0] in value && Object.keys(value).length === 1) return [value[names[0]] as V];
      return [value as V];
    }
    // Several inputs: an array holds one value per input (a single matrix is never enough for them).
    if (Array.isArray(value) && value.length === names.length) return value as V[];
    if (isPlainObject(value)) {
      const extra = Object.keys(value).find((k) => !names.includes(k));
      if (extra !== undefined)
        throw new Error(
          `${what} names ${kind} '${extra}', but model '${this.name}' has ${kind}s ${names.map((n) => `'${n}'`).join(', ')}`,
        );
      return names.map((n) => {
        if (!(n in value)) throw new Error(`${what} has no entry for ${kind} '${n}'`);
        return value[n] as V;
      });
    }
    throw new Error(
      `${what}: model '${this.name}' has ${names.length} ${kind}s (${names.join(', ')}), so it takes an array of ${names.length} or an object keyed by ${kind} name. Received: ${formatValue(value)}`,
    );
  }

  /** x as one Matrix: each input's values side by side in a row, each checked against its input's shape. */
  protected packInputs(x: unknown, what: string): Matrix {
    const inputs = this.topology().inputs;
    const parts = this.perName<MatrixLike>(
      x,
      inputs.map((i) => i.name),
      what,
      'input',
    );
    const ms = parts.map((p, i) => {
      const w = inputs.length === 1 ? what : `${what}[${inputs[i].name}]`;
      const m = toMatrix(p, w);
      this.checkInput(m, w, i);
      return m;
    });
    return ms.length === 1 ? ms[0] : sideBySide(ms, what);
  }

  /** y as one Matrix: each output's targets (checked against its loss) side by side in a row. */
  protected packTargets(net: Network, y: unknown, what: string): Matrix {
    const top = this.topology();
    const parts = this.perName<MatrixLike | Int32Array>(
      y,
      top.outputs.map((o) => o.name),
      what,
      'output',
    );
    const ms = net.heads.map((h, k) =>
      targetsFor(
        h.loss,
        h.cols,
        `'${top.outputs[k].layer.name}'`,
        parts[k],
        net.heads.length === 1 ? what : `${what}[${h.name}]`,
      ),
    );
    return ms.length === 1 ? ms[0] : sideBySide(ms, what);
  }

  /**
   * @internal Checks x against input `i`'s shape, naming the layer that reads it. Vectors match by their
   * length; samples with a shape of their own (images) must match the Input's shape exactly.
   */
  checkInput(x: Matrix, what: string, i = 0): void {
    const want = this.topology().inputs[i].shape;
    const ok =
      x.sampleShape.length === 1 && want.length === 1 ? x.cols === want[0] : x.sampleShape.join(',') === want.join(',');
    if (!ok) {
      const reader = this.readerOf(i);
      throw new Error(
        `${what} has shape (${x.shape.join(', ')}) but layer '${reader.name}' (${reader.className}) expects input shape ${shapeText(want)}`,
      );
    }
    // A layer that reads the input directly may restrict its values (Embedding's indices).
    for (const layer of this.readersOf(i)) {
      const problem = layer.checkInputValues(x.data, x.rows, x.cols);
      if (problem) throw new RangeError(`${what} ${problem}`);
    }
  }

  /** The layers that read input `i` directly. */
  protected readersOf(i: number): Layer[] {
    const t = this.inputs[i];
    return this.nodes.filter((n) => n.inputs.includes(t)).map((n) => n.layer);
  }

  /** The layer named in errors about input `i`: the first that reads it. */
  protected readerOf(i: number): Layer {
    return this.readersOf(i)[0] ?? this.layers[i];
  }

  private running?: string;
  private runningCall?: Promise<unknown>;

  /** One fit/evaluate/predict at a time: they share the model's pool, control block and weight buffers. */
  private async exclusive<R>(what: string, run: () => Promise<R>): Promise<R> {
    this.assertIdle(what, false);
    this.running = what;
    this.fitInterrupted = undefined;
    const call = run();
    this.runningCall = call;
    try {
      return await call;
    } finally {
      this.running = undefined;
      this.runningCall = undefined;
    }
  }

  /**
   * Throws the "busy" error while a fit, evaluate or predict runs. With `inCallback`, a call from one of
   * fit's callbacks is allowed: fit awaits them at points where no worker touches the weights.
   */
  protected assertIdle(what: string, inCallback: boolean): void {
    if (!this.running || (inCallback && this.running === 'fit' && this.callbackDepth > 0)) return;
    throw new Error(`Model '${this.name}' is busy with ${this.running}; await it before calling ${what}`);
  }

  /** @internal A model that changes shape (Sequential.add) drops its compiled state; the weights carry over. */
  protected uncompile(): void {
    if (this.buffers) this.flat = this.currentParams().slice();
    this.compiled = undefined;
    this.buffers = undefined;
  }

  /** @internal */
  protected get isCompiled(): boolean {
    return this.buffers !== undefined;
  }

  /** model.json's `modelTopology`: the functional format (class_name 'Functional', inbound_nodes...). */
  modelTopology(): Record<string, unknown> {
    return toFunctionalTopology(
      this.name,
      this.layers.map((layer) => ({
        config: layer.getConfig(),
        calls: this.nodes.filter((n) => n.layer === layer).map((n) => n.inputs.map((t) => this.callRef(t))),
      })),
      this.inputs.map((t) => this.callRef(t)),
      this.outputs.map((t) => this.callRef(t)),
    );
  }

  /** [layer name, call index within this model, tensor index]: how the saved format points at a tensor. */
  private callRef(t: SymbolicTensor): [string, number, number] {
    const layer = t.node.layer;
    return [
      layer.name,
      layer instanceof InputLayer ? 0 : this.nodes.filter((n) => n.layer === layer).indexOf(t.node),
      0,
    ];
  }

  /** Writes the TensorFlow.js layers format (model.json + weights.bin) to `dir`, atomically. */
  async save(dir: string, options?: Record<string, never>): Promise<void> {
    // No options yet; Keras's (overwrite, zipped...) must not be silently ignored.
    checkOptionKeys('save', options, []);
    if (typeof dir !== 'string' || dir === '') throw badOption('save', 'dir', 'a directory path', dir);
    await saveModel(this, dir);
  }

  /** What each worker computes with (backend, simd...), starting the pool if needed; [this thread's] for workers 0. */
  async workerInfo(workers?: number): Promise<(BackendInfo & { threadId: number })[]> {
    return executorInfo(await this.executorFor(workers));
  }

  /**
   * Releases the worker pool. The model stays usable: a later fit starts a new pool. A fit in progress stops
   * at its next step boundary and rejects with a "disposed during fit" error, keeping the weights and
   * optimizer state of its last completed step; an evaluate or predict in progress is awaited.
   */
  async dispose(): Promise<void> {
    const executor = this.executor;
    if (this.running === 'fit') {
      this.fitInterrupted ??= new Error(
        `lockstep: model '${this.name}' was disposed during fit; it keeps the weights of the last completed step`,
      );
      abortWorkers(this.control);
      // Not the fit itself: dispose may be called from one of its callbacks, which fit awaits.
      await executor?.idle();
    } else if (this.runningCall) {
      await this.runningCall.catch(() => undefined);
    }
    await executor?.dispose();
    if (this.executor === executor) this.executor = undefined;
  }
}

/** Matrices of the same rows laid side by side: row r of the result is row r of each, in order. */
function sideBySide(ms: Matrix[], what: string): Matrix {
  const rows = ms[0].rows;
  const bad = ms.findIndex((m) => m.rows !== rows);
  if (bad >= 0)
    throw new Error(
      `${what}: every input (output) needs the same rows; the first has ${rows}, number ${bad + 1} has ${ms[bad].rows}`,
    );
  const cols = ms.reduce((n, m) => n + m.cols, 0);
  const data = new Float32Array(rows * cols);
  let off = 0;
  for (const m of ms) {
    for (let r = 0; r < rows; r++) data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), r * cols + off);
    off += m.cols;
  }
  return new Matrix(data, rows, cols);
}

/**
 * One weight per row of packed targets `y` from sampleWeight or classWeight (null for neither). A class
 * weight needs one output's labels: a model with several outputs takes sampleWeight only.
 */
function rowWeightsOf(
  net: Network,
  owner: string,
  y: Matrix,
  sampleWeight: unknown,
  classWeight: unknown,
): Float32Array | null {
  if (net.heads.length > 1 && classWeight !== undefined && classWeight !== null)
    throw badOption(owner, 'classWeight', 'absent for a model with several outputs (give sampleWeight)', classWeight);
  return rowWeights(owner, y, net.loss.target === 'sparse', sampleWeight, classWeight);
}
