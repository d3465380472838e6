/**
 * Model config files for `lockstep train <file.json>` (format: CONFIG_HELP in catalog.ts): a small JSON description of
 * a Sequential model, its
 * compile arguments and the built-in data it trains on. Every field is checked before anything runs, and
 * an error names the field (`layers[1].units`), so a typo never surfaces as a failure mid-training.
 *
 * @example
 * {
 *   "name": "mnist_small",
 *   "data": "mnist",
 *   "inputShape": [784],
 *   "layers": [
 *     { "className": "Dense", "units": 64, "activation": "relu" },
 *     { "className": "Dropout", "rate": 0.2 },
 *     { "className": "Dense", "units": 10, "activation": "softmax" }
 *   ],
 *   "compile": { "loss": "sparse_categorical_crossentropy", "optimizer": "adam", "metrics": ["accuracy"] },
 *   "fit": { "epochs": 5, "batchSize": 128, "validationSplit": 0.2 }
 * }
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { layers as L, Sequential, modelFromTopology, type CompileOptions } from '../index.js';
import { descriptorOf, LAYER_DESCRIPTORS } from '../layers/index.js';
import { LOSS_NAMES } from '../losses.js';
import { METRIC_NAMES } from '../metrics.js';
import { getOptimizer, OPTIMIZER_NAMES } from '../optimizers.js';
import { FAMILIES, FEATURES, type Family } from './catalog.js';
import type { ModelSpec } from './examples.js';
import { UsageError } from './errors.js';
import { buildCallbacks, CALLBACK_NAMES } from './fit-callbacks.js';

const TOP_FIELDS = ['name', 'data', 'inputShape', 'layers', 'modelTopology', 'compile', 'fit'];
// A config's layers: every layer type but the input (its shape is `inputShape`), with the options its
// descriptor declares (layers/descriptor.ts); the layer's constructor checks every value in full.
const CONFIG_LAYERS = LAYER_DESCRIPTORS.filter((d) => !d.input).map((d) => d.className);
const COMPILE_FIELDS = ['loss', 'optimizer', 'metrics'];
const FIT_FIELDS = ['epochs', 'batchSize', 'validationSplit', 'callbacks'];

/** Reads and checks a config file; the returned spec builds a fresh compiled model for each seed. */
export async function readConfig(file: string): Promise<ModelSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `no such config file: ${file}` : `cannot read config file ${file}: ${(err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(json, file);
}

/** Checks a parsed config; `file` prefixes every error message. */
export function parseConfig(json: unknown, file: string): ModelSpec {
  const fail: Fail = (field, rule, ...value) => {
    throw new UsageError(
      `${file}: ${field} ${rule}${value.length > 0 ? `. Received: ${field}=${show(value[0])}` : ''}`,
    );
  };
  if (!isObject(json)) return fail('the config', 'must be a JSON object', json);
  unknownFields(json, TOP_FIELDS, '', fail);

  // Without "data" the model trains on a --data file only, and its input shape comes from that file.
  const data = json.data;
  if (data !== undefined && !FAMILIES.includes(data as Family))
    fail(
      'data',
      `must be one of ${FAMILIES.map((f) => `"${f}"`).join(', ')}, or left out to train on a --data file`,
      data,
    );
  const family = data as Family | undefined;

  const features = family ? FEATURES[family] : undefined;
  let declared: number[] | undefined = features === undefined ? undefined : [features];
  if (json.inputShape !== undefined) {
    const s = json.inputShape;
    if (!Array.isArray(s) || s.length === 0 || !s.every((d) => Number.isInteger(d) && d > 0)) {
      fail('inputShape', 'must be an array of positive integers, e.g. [784] or [28, 28, 1]', s);
    }
    // Any shape of the data's values per row: mnist's 784 pixels as [784], [28, 28] or [28, 28, 1].
    if (features !== undefined && (s as number[]).reduce((a, b) => a * b, 1) !== features) {
      fail(
        'inputShape',
        `must hold ${features} values per row for data "${family}" (e.g. [${features}]${family === 'mnist' ? ' or [28, 28, 1]' : ''})`,
        s,
      );
    }
    declared = s as number[];
  }

  const name = json.name ?? (basename(file, extname(file)).replace(/[^A-Za-z0-9_]/g, '_') || 'sequential');
  if (typeof name !== 'string' || name === '') fail('name', 'must be a non-empty string', name);

  // A functional model comes as a TensorFlow.js topology (what model.json's modelTopology holds) instead of layers.
  const topology = json.modelTopology;
  if (topology !== undefined) {
    if (json.layers !== undefined || json.inputShape !== undefined)
      fail('modelTopology', 'replaces "layers" and "inputShape": give one or the other', topology);
    if (!isObject(topology))
      fail(
        'modelTopology',
        'must be a TensorFlow.js model topology { "class_name": "Model", "config": { ... } }',
        topology,
      );
  } else if (!Array.isArray(json.layers) || json.layers.length === 0) {
    fail(
      'layers',
      'must be a non-empty array of layer objects such as { "className": "Dense", "units": 10 }',
      json.layers,
    );
  }
  const layerConfigs =
    topology !== undefined ? [] : (json.layers as unknown[]).map((layer, i) => checkLayer(layer, `layers[${i}]`, fail));

  if (!isObject(json.compile))
    return fail('compile', 'is required: { "loss": ..., "optimizer": ..., "metrics": [...] }', json.compile);
  const compile = json.compile;
  unknownFields(compile, COMPILE_FIELDS, 'compile.', fail);
  if (typeof compile.loss !== 'string')
    fail('compile.loss', `is required: one of ${LOSS_NAMES.join(', ')}`, compile.loss);
  if (!LOSS_NAMES.includes(compile.loss as string))
    fail('compile.loss', `must be one of ${LOSS_NAMES.join(', ')}`, compile.loss);
  const optimizer = compile.optimizer;
  if (optimizer !== undefined) {
    const className = typeof optimizer === 'string' ? optimizer : isObject(optimizer) ? optimizer.className : undefined;
    if (typeof className !== 'string' || !OPTIMIZER_NAMES.includes(className.toLowerCase())) {
      fail(
        'compile.optimizer',
        `must be one of ${OPTIMIZER_NAMES.join(', ')} or { "className": ..., "learningRate": ... }`,
        optimizer,
      );
    }
    attempt(() => getOptimizer(optimizer as string), `${file}: compile.optimizer`);
  }
  if (compile.metrics !== undefined) {
    if (!Array.isArray(compile.metrics))
      fail(
        'compile.metrics',
        'must be an array of metric names or { "className": ..., "config": {...} }',
        compile.metrics,
      );
    (compile.metrics as unknown[]).forEach((m, i) => {
      // A metric object's options are checked when the model compiles, below.
      if (isObject(m) && typeof m.className === 'string') return;
      if (!METRIC_NAMES.includes(m as string))
        fail(
          `compile.metrics[${i}]`,
          `must be one of ${METRIC_NAMES.join(', ')}, or { "className": "AUC", "config": { "curve": "PR" } }`,
          m,
        );
    });
  }

  const fit: ModelSpec['fit'] = { epochs: 1, batchSize: 32, validation: family === 'hitters' ? 'test' : 0.2 };
  if (json.fit !== undefined) {
    if (!isObject(json.fit)) fail('fit', 'must be an object { "epochs", "batchSize", "validationSplit" }', json.fit);
    const f = json.fit as Record<string, unknown>;
    unknownFields(f, FIT_FIELDS, 'fit.', fail);
    for (const k of ['epochs', 'batchSize'] as const) {
      if (f[k] !== undefined && !(Number.isInteger(f[k]) && (f[k] as number) > 0))
        fail(`fit.${k}`, 'must be a positive integer', f[k]);
    }
    if (
      f.validationSplit !== undefined &&
      !(typeof f.validationSplit === 'number' && f.validationSplit >= 0 && f.validationSplit < 1)
    ) {
      fail('fit.validationSplit', 'must be a number in [0, 1)', f.validationSplit);
    }
    fit.epochs = (f.epochs as number | undefined) ?? fit.epochs;
    fit.batchSize = (f.batchSize as number | undefined) ?? fit.batchSize;
    if (f.validationSplit !== undefined) fit.validation = f.validationSplit as number;
    if (f.callbacks !== undefined) {
      if (!Array.isArray(f.callbacks))
        fail(
          'fit.callbacks',
          `must be an array of callbacks (${CALLBACK_NAMES.join(', ')}), each a name or { "className": ..., options }`,
          f.callbacks,
        );
      attempt(() => buildCallbacks(f.callbacks as unknown[], 'fit.callbacks'), file);
      fit.callbacks = f.callbacks as unknown[];
    }
  }

  const compileOptions = compile as unknown as CompileOptions;
  const spec: ModelSpec = {
    name: name as string,
    description: `model config ${file}`,
    data: family,
    build(seed, inputShape) {
      if (topology !== undefined) {
        const model = attempt(
          () => modelFromTopology(topology, { name: name as string, seed }),
          `${file}: modelTopology`,
        );
        const top = model.topology();
        if (top.inputs.length !== 1 || top.outputs.length !== 1)
          throw new UsageError(
            `${file}: modelTopology: the command line trains models of one input and one output; this one has ${top.inputs.length} inputs and ${top.outputs.length} outputs`,
          );
        if (features !== undefined && top.inputs[0].shape.reduce((a, b) => a * b, 1) !== features)
          throw new UsageError(
            `${file}: modelTopology: input '${top.inputs[0].name}' has shape [${top.inputs[0].shape}], which does not hold the ${features} values per row of data "${family}"`,
          );
        attempt(() => model.compile(compileOptions), `${file}: compile`);
        return model;
      }
      const model = new Sequential({ name: name as string, seed });
      // A declared shape wins; else the --data file's sample shape; [1] only for the dry build below.
      model.add(L.Input({ shape: declared ?? inputShape ?? [1] }));
      layerConfigs.forEach((c, i) => {
        // The layer constructors check values (ranges, pairs, initializer names); name the layer they came from.
        const { className, ...options } = c;
        const layer = attempt(() => descriptorOf(className)!.create(options as never), `${file}: layers[${i}]`);
        attempt(() => model.add(layer), `${file}: layers[${i}]`);
      });
      attempt(() => model.compile(compileOptions), `${file}: compile`);
      return model;
    },
    fit,
  };
  if (declared) {
    // every remaining check (metric names against the loss, initializers...) happens here, before any data loads
    spec.build(0);
  } else {
    // The --data file gives the input shape, which a dry build on [1] may not fit (a convnet wants images).
    // Each layer's own options are checked now; the shapes and the compile checks when the data's shape is known.
    try {
      spec.build(0);
    } catch {
      layerConfigs.forEach(({ className, ...options }, i) =>
        attempt(() => descriptorOf(className)!.create(options as never), `${file}: layers[${i}]`),
      );
    }
  }
  return spec;
}

/** Throws a UsageError naming `field`; the received value is quoted when one is passed. */
type Fail = (field: string, rule: string, ...value: unknown[]) => never;

function checkLayer(layer: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (!isObject(layer)) return fail(at, 'must be a layer object such as { "className": "Dense", "units": 10 }', layer);
  const className = layer.className;
  if (className === undefined) fail(`${at}.className`, `is required: one of ${CONFIG_LAYERS.join(', ')}`);
  const descriptor = descriptorOf(className);
  if (!descriptor || descriptor.input)
    return fail(`${at}.className`, `must be one of ${CONFIG_LAYERS.join(', ')}`, className);
  unknownFields(layer, ['className', 'name', ...Object.keys(descriptor.options)], `${at}.`, fail);
  if (layer.name !== undefined && (typeof layer.name !== 'string' || layer.name === ''))
    fail(`${at}.name`, 'must be a non-empty string', layer.name);
  for (const [field, spec] of Object.entries(descriptor.options)) {
    const value = layer[field];
    if (value === undefined && !('default' in spec))
      fail(`${at}.${field}`, `is required${spec.rule ? ` (${spec.rule})` : ''}`);
    if (value !== undefined && spec.check && !spec.check(value)) fail(`${at}.${field}`, `must be ${spec.rule}`, value);
  }
  return layer;
}

function unknownFields(obj: Record<string, unknown>, known: string[], prefix: string, fail: Fail): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k))
      fail(`${prefix}${k}`, `is not a known field; expected ${known.map((f) => prefix + f).join(', ')}`);
  }
}

/** Runs `f`, turning a library error into a UsageError that names where in the config it came from. */
function attempt<T>(f: () => T, where: string): T {
  try {
    return f();
  } catch (err) {
    throw new UsageError(`${where}: ${(err as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * The parameters of a config's model for input samples of `inputShape` (a declared inputShape, or the data
 * family's, wins, as in `build`), counted from the layers' shapes without building the model or drawing a
 * weight: a queue worker checks a job's size with it before anything is allocated. Counting stops at a layer
 * whose options or input are wrong (parseConfig then names the error).
 */
export function configParamCount(json: unknown, inputShape?: number[]): number {
  if (!isObject(json) || !Array.isArray(json.layers)) return 0;
  const family = FAMILIES.includes(json.data as Family) ? (json.data as Family) : undefined;
  const s = json.inputShape;
  const declared =
    Array.isArray(s) && s.length > 0 && s.every((d) => Number.isInteger(d) && d > 0)
      ? (s as number[])
      : family
        ? [FEATURES[family]]
        : undefined;
  let shape = declared ?? inputShape ?? [1];
  let count = 0;
  for (const c of json.layers as unknown[]) {
    const descriptor = isObject(c) && typeof c.className === 'string' ? descriptorOf(c.className) : undefined;
    if (!descriptor) break;
    const { className: _, ...options } = c as Record<string, unknown>;
    try {
      const layer = descriptor.create(options as never);
      layer.build(shape);
      count += layer.params().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
      shape = layer.outputShape!;
    } catch {
      break;
    }
  }
  return count;
}
