/**
 * Sequential model topologies in the Keras / TensorFlow.js layers JSON format (`model.json`'s
 * `modelTopology`), translated to and from lockstep's layer configs.
 *
 * Written: an explicit InputLayer entry first (as Keras 2 and tfjs-layers' `inputLayer` write it), snake_case
 * keys, Keras initializer objects. Read: what tfjs-layers and Keras write, with or without an InputLayer
 * entry (then the first layer's `batch_input_shape` gives the input), Keras 3's `batch_shape`, and the
 * `{ model_config }` wrapper. Anything lockstep cannot run exactly (a Conv2D, a regularizer) is an error
 * naming the layer, never a silent approximation.
 *
 * @example
 * const topology = toModelTopology('hitters', model.layers.map((l) => l.getConfig()));
 * const { modelName, layers } = fromModelTopology(topology);
 */
import { own } from '../errors.js';
import { initializerFromKeras, initializerToKeras } from './keras-initializers.js';
import { type JsonObject, isObject, isShape, quote } from './json.js';
import { ACTIVATIONS, type ActivationName, type InitializerSpec, LAYER_TYPES, type LayerConfig, type LayerConfigLike } from './layer-config.js';

export type KerasLayerJson = { class_name: string; config: JsonObject };

export type ModelTopology = {
  class_name: 'Sequential';
  config: { name: string; layers: KerasLayerJson[] };
  keras_version: string;
  backend: string;
};

/** The `keras_version` tfjs-layers 4.22 writes; `loadLayersModel` reads this topology as its own. */
export const KERAS_VERSION = 'tfjs-layers 4.22.0';

// Keras 3 calls swish 'silu'.
const ACTIVATION_ALIASES: Record<string, ActivationName> = { silu: 'swish' };
const UNSUPPORTED_IF_SET = ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint'];

/** lockstep layer configs (an InputLayer first, or a first layer with `inputShape`) → Keras `modelTopology`. */
export function toModelTopology(modelName: string, layers: LayerConfigLike[]): ModelTopology {
  if (typeof modelName !== 'string' || modelName === '') {
    throw new Error(`toModelTopology: modelName must be a non-empty string. Received: ${quote(modelName)}`);
  }
  if (!Array.isArray(layers) || layers.length === 0) throw new Error(`toModelTopology: layers must be a non-empty array. Received: ${quote(layers)}`);
  checkUniqueNames(layers.map((l) => l?.name));
  return {
    class_name: 'Sequential',
    config: { name: modelName, layers: layers.map((layer, i) => layerToKeras(layer, i)) },
    keras_version: KERAS_VERSION,
    backend: 'tensor_flow.js',
  };
}

function layerToKeras(layer: LayerConfigLike, i: number): KerasLayerJson {
  const where = describe(i, layer?.className, layer?.name);
  if (!isObject(layer) || typeof layer.name !== 'string' || layer.name === '') {
    throw new Error(`${where}: a layer config needs a non-empty string name. Received: ${quote(layer)}`);
  }
  const common = { name: layer.name, trainable: true, dtype: 'float32' };
  if (layer.className === 'InputLayer') {
    if (i !== 0) throw new Error(`${where}: an InputLayer must be the first layer`);
    const batch_input_shape = batchShape(layer.shape, where, 'shape');
    return { class_name: 'InputLayer', config: { batch_input_shape, dtype: 'float32', sparse: false, name: layer.name } };
  }
  // Keras 2 style `inputShape` on the first layer stands in for an InputLayer.
  let first: JsonObject = {};
  if (i === 0) {
    if (layer.inputShape === undefined) {
      throw new Error(`${where}: the first layer must be an InputLayer or have an inputShape, so the model's input size is known`);
    }
    first = { batch_input_shape: batchShape(layer.inputShape, where, 'inputShape') };
  }
  if (layer.className === 'Dense') {
    return {
      class_name: 'Dense',
      config: {
        units: positiveInt(layer.units, where, 'units'),
        activation: activation(layer.activation ?? 'linear', where),
        use_bias: bool(layer.useBias ?? true, where, 'useBias'),
        kernel_initializer: initializerToKeras((layer.kernelInitializer ?? 'glorot_uniform') as InitializerSpec, `${where} kernelInitializer`),
        bias_initializer: initializerToKeras((layer.biasInitializer ?? 'zeros') as InitializerSpec, `${where} biasInitializer`),
        ...Object.fromEntries(UNSUPPORTED_IF_SET.map((k) => [k, null])),
        ...common,
        ...first,
      },
    };
  }
  if (layer.className === 'Dropout') {
    return { class_name: 'Dropout', config: { rate: rate(layer.rate, where), noise_shape: null, seed: null, ...common, ...first } };
  }
  throw unsupportedLayer(layer.className, where);
}

/**
 * Keras `modelTopology` (or a whole model.json) → lockstep layer configs, InputLayer first.
 *
 * Throws, naming the layer, on unsupported layer types, activations or options and on missing fields.
 */
export function fromModelTopology(json: unknown): { modelName: string; layers: LayerConfig[] } {
  let topology = isObject(json) && isObject(json.modelTopology) ? json.modelTopology : json;
  if (isObject(topology) && isObject(topology.model_config)) topology = topology.model_config;
  if (!isObject(topology)) throw new Error(`modelTopology must be an object. Received: ${quote(topology)}`);
  if (topology.class_name !== 'Sequential') {
    throw new Error(`Only Sequential models can be read; this modelTopology has class_name ${quote(topology.class_name)}`);
  }
  const config = topology.config;
  const entries = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new Error(`modelTopology.config.layers must be a non-empty array. Received: ${quote(entries)}`);
  }
  const modelName = isObject(config) && typeof config.name === 'string' ? config.name : 'sequential';
  const layers: LayerConfig[] = [];
  entries.forEach((entry, i) => layers.push(...layerFromKeras(entry, i)));
  checkUniqueNames(layers.map((l) => l.name));
  return { modelName, layers };
}

function layerFromKeras(entry: unknown, i: number): LayerConfig[] {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new Error(`layer ${i}: expected { class_name, config }. Received: ${quote(entry)}`);
  }
  const c = entry.config;
  const where = describe(i, entry.class_name, c.name);
  if (typeof c.name !== 'string' || c.name === '') throw new Error(`${where}: missing field 'name'`);
  const name = c.name;
  const shape = c.batch_input_shape ?? c.batch_shape;
  if (entry.class_name === 'InputLayer') {
    if (i !== 0) throw new Error(`${where}: an InputLayer must be the first layer`);
    return [{ className: 'InputLayer', name, shape: rowShape(shape, where) }];
  }
  const input: LayerConfig[] = [];
  if (i === 0) {
    if (shape === undefined) {
      throw new Error(`${where}: the first layer has no batch_input_shape and there is no InputLayer, so the input size is unknown`);
    }
    input.push({ className: 'InputLayer', name: `${name}_input`, shape: rowShape(shape, where) });
  }
  if (entry.class_name === 'Dense') {
    for (const k of UNSUPPORTED_IF_SET) if (c[k] != null) throw new Error(`${where}: ${k} is not supported. Received: ${k}=${quote(c[k])}`);
    if (c.units === undefined) throw new Error(`${where}: missing field 'units'`);
    return [
      ...input,
      {
        className: 'Dense',
        name,
        units: positiveInt(c.units, where, 'units'),
        activation: activation(c.activation ?? 'linear', where),
        useBias: bool(c.use_bias ?? true, where, 'use_bias'),
        kernelInitializer: initializerFromKeras(c.kernel_initializer ?? 'glorot_uniform', `${where} kernel_initializer`),
        biasInitializer: initializerFromKeras(c.bias_initializer ?? 'zeros', `${where} bias_initializer`),
      },
    ];
  }
  if (entry.class_name === 'Dropout') {
    if (c.noise_shape != null) throw new Error(`${where}: noise_shape is not supported. Received: noise_shape=${quote(c.noise_shape)}`);
    if (c.rate === undefined) throw new Error(`${where}: missing field 'rate'`);
    return [...input, { className: 'Dropout', name, rate: rate(c.rate, where) }];
  }
  throw unsupportedLayer(entry.class_name, where);
}

/** `layer 2 (Dense 'dense_1')`, or `layer 2 (Dense)` when the name is missing. */
function describe(i: number, className: unknown, name: unknown): string {
  return `layer ${i} (${String(className)}${typeof name === 'string' && name !== '' ? ` '${name}'` : ''})`;
}

function unsupportedLayer(className: unknown, where: string): Error {
  return new Error(`${where}: layer type ${quote(className)} is not supported; supported: ${LAYER_TYPES.join(', ')}`);
}

function activation(v: unknown, where: string): ActivationName {
  const name = typeof v === 'string' ? (own(ACTIVATION_ALIASES, v) ?? v) : v;
  if (!ACTIVATIONS.includes(name as ActivationName)) {
    throw new Error(`${where}: unknown activation ${quote(v)}; supported: ${ACTIVATIONS.join(', ')}`);
  }
  return name as ActivationName;
}

/** `[null, 19]` → `[19]`; the batch dimension must be null (or a number, which is dropped). */
function rowShape(v: unknown, where: string): number[] {
  if (!Array.isArray(v) || v.length < 2 || !(v[0] === null || Number.isInteger(v[0])) || !isShape(v.slice(1), { allowZero: false })) {
    throw new Error(`${where}: batch_input_shape must be [null, ...positive integers]. Received: batch_input_shape=${quote(v)}`);
  }
  return v.slice(1) as number[];
}

function batchShape(v: unknown, where: string, option: string): Array<number | null> {
  if (!isShape(v, { allowZero: false }) || v.length === 0) {
    throw new Error(`${where}: ${option} must be a non-empty array of positive integers. Received: ${option}=${quote(v)}`);
  }
  return [null, ...v];
}

function positiveInt(v: unknown, where: string, option: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw new Error(`${where}: ${option} must be a positive integer. Received: ${option}=${quote(v)}`);
  return v as number;
}

function rate(v: unknown, where: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`${where}: rate must be in [0, 1). Received: rate=${quote(v)}`);
  return v;
}

function bool(v: unknown, where: string, option: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${where}: ${option} must be a boolean. Received: ${option}=${quote(v)}`);
  return v;
}

function checkUniqueNames(names: unknown[]): void {
  const seen = new Set<unknown>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`Layer names must be unique; ${quote(n)} is used more than once`);
    seen.add(n);
  }
}
