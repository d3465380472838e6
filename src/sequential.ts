/**
 * Sequential: Keras's linear stack of layers, with compile / fit / evaluate / predict.
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
 *
 * The weights and optimizer state live in SharedArrayBuffers, double-buffered (see engine/layout.ts).
 */
import { Layer, InputLayer, layerFromConfig } from './layers/index.js';
import type { LayerConfig } from './layers/layer.js';
import { getLoss, type Loss } from './losses.js';
import { getMetrics, metricConfig, type MetricConfig, type MetricSpec } from './metrics.js';
import { getOptimizer, type Optimizer, type OptimizerConfig } from './optimizers.js';
import { initialize } from './initializers.js';
import { keyFor, Purpose, seedKey } from './rng.js';
import { currentSeed } from './seed.js';
import { summaryTable } from './summary.js';
import { Matrix, toMatrix, type MatrixLike } from './matrix.js';
import { Network, paramLayout, sizeOf, type ParamSlot, type Plan } from './engine/network.js';
import { allocModelBuffers, Ctrl, sharedI32, type ModelBuffers } from './engine/layout.js';
import type { Executor } from './engine/executor.js';
import { createExecutor, defaultWorkers, executorInfo } from './engine/executors.js';
import { abortWorkers } from './engine/barrier.js';
import { badOption, checkOptionKeys } from './errors.js';
import type { BackendInfo } from './backend.js';
import type { CallbackModel, NamedWeight } from './callbacks/callback.js';
import { fit, type FitOptions } from './engine/trainer.js';
import { inference, type InferenceOptions } from './engine/inference.js';
import type { History } from './history.js';
import type { Logs } from './callbacks/callback.js';

export interface CompileOptions {
  loss: string;
  optimizer?: string | Optimizer | OptimizerConfig;
  /** Metric names ('accuracy', 'AUC'...) or metric objects (new metrics.AUC({ curve: 'PR' })). */
  metrics?: MetricSpec[];
}

export interface SequentialOptions {
  name?: string;
  /** Seed for the initial weights; default: the global seed (setRandomSeed) at the time each layer is built. */
  seed?: number;
}

interface Compiled {
  loss: Loss;
  lossName: string;
  optimizer: Optimizer;
  metrics: (string | MetricConfig)[];
  plan: Plan;
  net: Network;
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
export class Sequential implements CallbackModel {
  readonly name: string;
  readonly layers: Layer[] = [];
  stopTraining = false;
  private readonly seed?: number;
  private inputShape?: number[];
  /** Flat initial/current weights until compile moves them into shared, double-buffered storage. */
  private flat: Float32Array = new Float32Array(0);
  private compiled?: Compiled;
  /** Shared weights and optimizer state, and the control block whose Updates field says which set is current. */
  buffers?: ModelBuffers;
  readonly control = sharedI32(Ctrl.Length);
  private executor?: Executor;
  /** @internal >0 while fit awaits callbacks: the workers are parked, so setWeights is safe then. */
  callbackDepth = 0;
  /** @internal Set by dispose() during a fit: fit rejects with it at its next check. */
  fitInterrupted?: Error;

  constructor(options: SequentialOptions = {}) {
    checkOptionKeys('Sequential', options, ['name', 'seed']);
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) throw badOption('Sequential', 'name', 'a non-empty string', options.name);
    if (options.seed !== undefined && (!Number.isSafeInteger(options.seed) || options.seed < 0)) throw badOption('Sequential', 'seed', 'a non-negative safe integer', options.seed);
    this.name = options.name ?? 'sequential';
    this.seed = options.seed;
  }

  /** Appends a layer; weights are created (from the seed) as soon as the input shape is known. */
  add(layer: Layer): this {
    this.assertIdle('add', false);
    if (!(layer instanceof Layer)) throw new TypeError(`Sequential.add expects a layer (layers.Dense(...)...). Received: ${String(layer)}`);
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
    if (this.buffers) this.flat = this.currentParams().slice();
    this.layers.push(layer);
    if (this.inputShape) this.buildFrom(this.layers.length - 1);
    this.compiled = undefined;
    this.buffers = undefined;
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

  get built(): boolean {
    return this.inputShape !== undefined;
  }

  /** The shape of one input sample ([784], [28, 28, 1]...), once known. */
  inputSampleShape(): number[] | undefined {
    return this.inputShape && [...this.inputShape];
  }

  private assertBuilt(what: string): void {
    if (!this.built) {
      throw new Error(`Model '${this.name}' has no input shape yet, so ${what} is not possible: add layers.Input({ shape: [...] }) first`);
    }
  }

  /**
   * Keras's summary table, printed (as Keras's `print_fn`, `print` defaults to console.log) and returned.
   * `summary(() => {})` returns it without printing.
   */
  summary(print: (text: string) => void = (text) => console.log(text)): string {
    const text = summaryTable(this.name, this.layers);
    print(text);
    return text;
  }

  countParams(): number {
    return this.flat.length || (this.buffers ? this.buffers.params[0].length : 0);
  }

  /** The layer configs (Input included), in order: what save() writes and loadModel() reads. */
  layerConfigs(): LayerConfig[] {
    const configs = this.layers.map((l) => l.getConfig());
    if (this.inputShape && !(this.layers[0] instanceof InputLayer)) {
      configs.unshift({ className: 'InputLayer', name: 'input_layer', shape: this.inputShape });
    }
    return configs;
  }

  compile(options: CompileOptions): void {
    this.assertIdle('compile', false);
    this.assertBuilt('compile');
    checkOptionKeys('compile', options, ['loss', 'optimizer', 'metrics']);
    if (!options || typeof options.loss !== 'string') throw badOption('compile', 'loss', 'a loss name such as "mse"', options?.loss);
    const loss = getLoss(options.loss);
    const optimizer = getOptimizer(options.optimizer ?? 'rmsprop');
    if (options.metrics !== undefined && !Array.isArray(options.metrics)) throw badOption('compile', 'metrics', 'an array of metric names or objects', options.metrics);
    const metrics = (options.metrics ?? []).map(metricConfig);
    const last = this.layers[this.layers.length - 1];
    const outputShape = last.outputShape!;
    // Keras applies a cross-entropy along the last axis of each position; lockstep's losses see a sample's
    // outputs as one row, which is the same for elementwise losses (mse, mae, huber, binary cross-entropy)
    // but not for a distribution over classes.
    if (outputShape.length > 1 && (loss.target === 'sparse' || loss.name === 'categorical_crossentropy')) {
      throw new Error(`compile: ${loss.name} needs an output of shape (None, classes), but layer '${last.name}' (${last.className}) outputs (None, ${outputShape.join(', ')}): add a Flatten or GlobalAveragePooling2D and a Dense classifier`);
    }
    const outputCols = sizeOf(outputShape);
    getMetrics(metrics, loss, outputCols);
    const plan: Plan = {
      layers: this.layers.filter((l) => !(l instanceof InputLayer)).map((l) => l.getConfig()),
      inputShape: this.inputShape!,
      loss: loss.name,
      metrics,
    };
    const weights = this.currentParams();
    this.compiled = { loss, lossName: options.loss, optimizer, metrics, plan, net: new Network(plan) };
    // A new optimizer starts from fresh state, as in Keras; the weights carry over.
    this.buffers = allocModelBuffers(weights.length, optimizer.stateNames.length);
    Atomics.store(this.control, Ctrl.Updates, 0);
    this.buffers.params[0].set(weights);
    this.buffers.state[0].forEach((s, k) => s.fill(optimizer.initialState(k)));
  }

  /** @internal */
  requireCompiled(what: string): Compiled & { buffers: ModelBuffers } {
    if (!this.compiled || !this.buffers) throw new Error(`Model '${this.name}' must be compiled before ${what}: call model.compile({ loss, optimizer, metrics })`);
    return { ...this.compiled, buffers: this.buffers };
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

  /** The compile arguments (loss as the user wrote it and its canonical name, metrics), if compiled. */
  compiledArgs(): { lossName: string; canonicalLoss: string; metrics: (string | MetricConfig)[] } | undefined {
    const c = this.compiled;
    return c && { lossName: c.lossName, canonicalLoss: c.loss.name, metrics: [...c.metrics] };
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
    return paramLayout(this.layers);
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
    return this.slotNames().map((s) => ({ name: s.name, shape: s.shape, data: params.slice(s.offset, s.offset + s.size) }));
  }

  /** Replaces every weight; checks all shapes first, so a bad list changes nothing. */
  setWeights(weights: NamedWeight[] | Float32Array[]): void {
    this.assertIdle('setWeights', true);
    const slots = this.slotNames();
    if (!Array.isArray(weights) || weights.length !== slots.length) {
      throw new Error(`setWeights on model '${this.name}' expects ${slots.length} arrays (${slots.map((s) => s.name).join(', ')}). Received: ${Array.isArray(weights) ? weights.length : typeof weights}`);
    }
    const arrays = weights.map((w, i) => {
      const data = w instanceof Float32Array ? w : w?.data;
      if (!(data instanceof Float32Array) || data.length !== slots[i].size) {
        throw new Error(`setWeights: ${slots[i].name} needs ${slots[i].size} values (shape [${slots[i].shape}]). Received: ${data?.length ?? typeof data}`);
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
    if (state.length !== optimizer.stateNames.length) throw new Error(`Optimizer ${optimizer.className} has ${optimizer.stateNames.length} state arrays. Received: ${state.length}`);
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
    if (!Number.isInteger(n) || n < 0) throw badOption('lockstep', 'workers', 'a non-negative integer (0 = in process)', workers);
    if (this.executor && this.executor.workers === n) return this.executor;
    await this.executor?.dispose();
    this.executor = createExecutor(n);
    return this.executor;
  }

  /**
   * Trains for `epochs` epochs (Keras's semantics, defaults and callbacks order); resolves with the History.
   *
   * @example
   * const history = await model.fit(x, y, {
   *   epochs: 20, batchSize: 32, validationSplit: 0.2, seed: 1,
   *   callbacks: [new callbacks.EarlyStopping({ patience: 3, restoreBestWeights: true })],
   * });
   * history.history.val_loss; // one value per epoch
   */
  fit(x: MatrixLike, y: MatrixLike | Int32Array, options: FitOptions = {}): Promise<History> {
    return this.exclusive('fit', () => fit(this, x, y, options));
  }

  /** Loss and metrics on (x, y), Keras names as keys. */
  async evaluate(x: MatrixLike, y: MatrixLike | Int32Array, options: InferenceOptions = {}): Promise<Logs> {
    return (await this.exclusive('evaluate', () => inference(this, x, y, options))).logs!;
  }

  /** Outputs for x, computed in batches (default 32 rows) on the pool. */
  async predict(x: MatrixLike, options: InferenceOptions = {}): Promise<Matrix> {
    return (await this.exclusive('predict', () => inference(this, x, undefined, options))).out;
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
  private assertIdle(what: string, inCallback: boolean): void {
    if (!this.running || (inCallback && this.running === 'fit' && this.callbackDepth > 0)) return;
    throw new Error(`Model '${this.name}' is busy with ${this.running}; await it before calling ${what}`);
  }

  /** @internal fit's check between phases: rejects once dispose() was called during the fit. */
  checkFitInterrupt(): void {
    if (this.fitInterrupted) throw this.fitInterrupted;
  }

  /** Writes the TensorFlow.js layers format (model.json + weights.bin) to `dir`, atomically. */
  async save(dir: string, options?: Record<string, never>): Promise<void> {
    // No options yet; Keras's (overwrite, zipped...) must not be silently ignored.
    checkOptionKeys('save', options, []);
    if (typeof dir !== 'string' || dir === '') throw badOption('save', 'dir', 'a directory path', dir);
    const { saveModel } = await import('./model-io.js');
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
      this.fitInterrupted ??= new Error(`lockstep: model '${this.name}' was disposed during fit; it keeps the weights of the last completed step`);
      abortWorkers(this.control);
      // Not the fit itself: dispose may be called from one of its callbacks, which fit awaits.
      await executor?.idle();
    } else if (this.runningCall) {
      await this.runningCall.catch(() => undefined);
    }
    await executor?.dispose();
    if (this.executor === executor) this.executor = undefined;
  }

  /** Rebuilds a model from layer configs (InputLayer first), as loadModel does. */
  static fromConfigs(configs: LayerConfig[], name = 'sequential'): Sequential {
    const model = new Sequential({ name });
    for (const c of configs) model.add(layerFromConfig(c));
    return model;
  }

  /**
   * @internal for trainer/inference: check x against the input shape, naming the first layer. Vectors match
   * by their length; samples with a shape of their own (images) must match the Input's shape exactly.
   */
  checkInput(x: Matrix, what: string): void {
    const want = this.inputShape!;
    const ok = x.sampleShape.length === 1 && want.length === 1 ? x.cols === want[0] : x.sampleShape.join(',') === want.join(',');
    if (!ok) {
      const first = this.layers.find((l) => !(l instanceof InputLayer)) ?? this.layers[0];
      throw new Error(`${what} has shape (${x.shape.join(', ')}) but layer '${first.name}' (${first.className}) expects input shape (None, ${want.join(', ')})`);
    }
  }

  /** @internal */
  toMatrixInput(x: MatrixLike, what: string): Matrix {
    const m = toMatrix(x, what);
    this.checkInput(m, what);
    return m;
  }
}
