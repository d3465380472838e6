/**
 * Sequential: Keras's linear stack of layers, a Model whose graph is a chain.
 *
 * ```ts
 * setRandomSeed(13);
 * const model = new Sequential();
 * model.add(layers.Input({ shape: [19] }));
 * model.add(layers.Dense({ units: 50, activation: 'relu' }));
 * model.add(layers.Dense({ units: 1 }));
 * model.compile({ loss: 'mse', optimizer: 'rmsprop', metrics: ['mae'] });
 * const history = await model.fit(x, y, { epochs: 20, validationData: [xTest, yTest] });
 * ```
 */
import { Layer, InputLayer, layerFromConfig } from './layers/index.js';
import type { LayerConfig } from './layers/layer.js';
import { SymbolicTensor } from './layers/symbolic-tensor.js';

import { initialize } from './initializers.js';
import { keyFor, Purpose, seedKey } from './rng.js';
import { currentSeed } from './seed.js';
import { summaryTable } from './summary.js';
import { Model, type Topology } from './model.js';
import type { Matrix, MatrixLike } from './matrix.js';
import type { InferenceOptions } from './engine/inference.js';
import { toModelTopology } from './io/topology.js';

export type { CompileOptions } from './model.js';

export interface SequentialOptions {
  name?: string;
  /** Seed for the initial weights; default: the global seed (setRandomSeed) at the time each layer is built. */
  seed?: number;
}

/**
 * Keras's linear stack of layers: `add` layers, `compile`, then `fit`, `evaluate`, `predict`, `save`.
 * Training runs on every core (`workers`, default one per core) with the same bits for any worker count.
 *
 * @example
 * const model = new Sequential({ seed: 13 });
 * model.add(layers.Input({ shape: [784] }));
 * model.add(layers.Dense({ units: 128, activation: 'relu' }));
 * model.add(layers.Dropout({ rate: 0.2 }));
 * model.add(layers.Dense({ units: 10, activation: 'softmax' }));
 * model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
 * const history = await model.fit(train.images, train.labels, { epochs: 5, batchSize: 128, validationSplit: 0.1 });
 * const logs = await model.evaluate(test.images, test.labels); // { loss, accuracy }
 * await model.save('models/mnist'); // in a browser: 'indexeddb://mnist' or 'downloads://mnist'
 */
export class Sequential extends Model {
  private inputShape?: number[];

  constructor(options: SequentialOptions = {}) {
    super(options);
  }

  /** Appends a layer; weights are created (from the seed) as soon as the input shape is known. */
  add(item: Layer | SymbolicTensor): this {
    this.assertIdle('add', false);
    // layers.Input(...) gives a symbolic tensor; its InputLayer is what a stack holds.
    const layer =
      item instanceof SymbolicTensor && item.node.layer instanceof InputLayer ? (item.node.layer as InputLayer) : item;
    if (!(layer instanceof Layer))
      throw new TypeError(`Sequential.add expects a layer (layers.Dense(...)...). Received: ${String(layer)}`);
    if (this.layers.includes(layer)) throw new Error(`Layer '${layer.name}' is already in model '${this.name}'`);
    if (layer instanceof InputLayer) {
      if (this.layers.length > 0) throw new Error(`An Input layer must come first in model '${this.name}'`);
      this.inputShape = layer.shape;
    }
    // Default names are per model: dense, dense_1, dense_2...
    const given = layer.name;
    if (!layer.name) {
      const base = layer.defaultName;
      const taken = new Set(this.layers.map((l) => l.name));
      let n = 0;
      while (taken.has(n === 0 ? base : `${base}_${n}`)) n++;
      layer.name = n === 0 ? base : `${base}_${n}`;
    } else if (this.layers.some((l) => l.name === layer.name)) {
      throw new Error(`Model '${this.name}' already has a layer named '${layer.name}'; layer names must be unique`);
    }
    const inputShape = this.inputShape ?? layer.declaredInputShape;
    if (inputShape) {
      // Check the layer fits its input (a kernel larger than the image, Dense on images...) before the model
      // changes: Keras raises at add time, and the model stays as it was.
      try {
        layer.build(this.layers.length === 0 ? inputShape : this.layers[this.layers.length - 1].outputShape!);
      } catch (err) {
        layer.name = given;
        throw err;
      }
    }
    this.inputShape = inputShape;
    // Keep trained weights when a compiled model grows.
    this.uncompile();
    this.layers.push(layer);
    if (this.inputShape) this.buildFrom(this.layers.length - 1);
    return this;
  }

  /** Builds layers from index `from` on and draws their initial weights. */
  private buildFrom(from: number): void {
    let shape = from === 0 ? this.inputShape! : this.layers[from - 1].outputShape!;
    const seed = currentSeed(this.seed);
    const chunks: Float32Array[] = [this.flat];
    for (let i = from; i < this.layers.length; i++) {
      const layer = this.layers[i];
      layer.build(shape);
      shape = layer.outputShape!;
      layer.params().forEach((p, k) => {
        const size = p.shape.reduce((a, b) => a * b, 1);
        // Keyed by (seed, layer position, weight index): independent of build order and of other layers.
        chunks.push(initialize(p.initializer, keyFor(seedKey(seed), Purpose.Init, i, k), size, p.fanIn, p.fanOut));
      });
    }
    const total = chunks.reduce((n, c) => n + c.length, 0);
    this.flat = new Float32Array(total);
    let off = 0;
    for (const c of chunks) {
      this.flat.set(c, off);
      off += c.length;
    }
  }

  /** A chain: the input, then every layer on the one before it. */
  topology(): Topology {
    const first = this.layers[0];
    const last = this.layers[this.layers.length - 1];
    return {
      inputs: this.inputShape
        ? [{ name: first instanceof InputLayer ? first.name : 'input_layer', shape: [...this.inputShape] }]
        : [],
      outputs: last?.outputShape ? [{ name: last.name, shape: [...last.outputShape], layer: last }] : [],
      weightLayers: this.layers.filter((l) => !(l instanceof InputLayer)),
    };
  }

  /** Calls the stack on a symbolic tensor, as a layer inside another model (the same layers and weights). */
  apply(input: SymbolicTensor | SymbolicTensor[]): SymbolicTensor<Layer> {
    this.assertBuilt('apply');
    let t = (Array.isArray(input) && input.length === 1 ? input[0] : input) as SymbolicTensor<Layer>;
    if (!(t instanceof SymbolicTensor))
      throw new TypeError(`Sequential '${this.name}'.apply expects one symbolic tensor. Received: ${String(input)}`);
    for (const layer of this.topology().weightLayers) {
      Model.markWeightSource(layer, this);
      t = layer.apply(t);
    }
    return t;
  }

  /**
   * Keras's summary table, printed (as Keras's `print_fn`, `print` defaults to console.log) and returned.
   * `summary(() => {})` returns it without printing.
   */
  /** The model's output for `x` (a Sequential model has one output). */
  override async predict(x: MatrixLike, options?: InferenceOptions): Promise<Matrix> {
    return (await super.predict(x, options)) as Matrix;
  }

  summary(print: (text: string) => void = (text) => console.log(text)): string {
    const text = summaryTable(this.name, this.layers);
    print(text);
    return text;
  }

  /** The layer configs (Input included), in order: what save() writes and loadModel() reads. */
  layerConfigs(): LayerConfig[] {
    const configs = this.layers.map((l) => l.getConfig());
    if (this.inputShape && !(this.layers[0] instanceof InputLayer)) {
      configs.unshift({ className: 'InputLayer', name: 'input_layer', shape: this.inputShape });
    }
    return configs;
  }

  /** model.json's `modelTopology`: the Sequential format. */
  modelTopology(): Record<string, unknown> {
    return toModelTopology(this.name, this.layerConfigs() as never) as unknown as Record<string, unknown>;
  }

  protected readersOf(): Layer[] {
    const first = this.layers.find((l) => !(l instanceof InputLayer)) ?? this.layers[0];
    return first ? [first] : [];
  }

  /** Rebuilds a model from layer configs (InputLayer first), as loadModel does. */
  static fromConfigs(configs: LayerConfig[], name = 'sequential', seed?: number): Sequential {
    const model = new Sequential({ name, ...(seed !== undefined ? { seed } : {}) });
    for (const c of configs) model.add(layerFromConfig(c));
    return model;
  }
}
