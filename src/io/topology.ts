/**
 * Sequential model topologies in the Keras / TensorFlow.js layers JSON format (`model.json`'s
 * `modelTopology`), translated to and from lockstep's layer configs.
 *
 * Written: an explicit InputLayer entry first (as Keras 2 and tfjs-layers' `inputLayer` write it), snake_case
 * keys, Keras initializer objects, `data_format: 'channels_last'` on the image layers. Read: what tfjs-layers
 * and Keras 2 / 3 write, with or without an InputLayer entry (then the first layer's `batch_input_shape`
 * gives the input), Keras 3's `batch_shape`, and the `{ model_config }` wrapper. Anything lockstep cannot
 * run exactly (channels_first, grouped convolutions, a regularizer outside Dense and Conv2D, a field it does not
 * know) is an error
 * naming the layer and the field, never a silent approximation.
 *
 * @example
 * const topology = toModelTopology('hitters', model.layers.map((l) => l.getConfig()));
 * const { modelName, layers } = fromModelTopology(topology);
 */
import { closestName } from '../errors.js';
import { descriptorOf, LAYER_DESCRIPTORS } from '../layers/index.js';
import { type LayerDescriptor, withDefaults } from '../layers/descriptor.js';
import { type JsonObject, isObject, quote } from './json.js';
import { batchShape, notSet } from './keras-fields.js';
import type { LayerConfig, LayerConfigLike } from './layer-config.js';

export type KerasLayerJson = { class_name: string; config: JsonObject };

export type ModelTopology = {
  class_name: 'Sequential';
  config: { name: string; layers: KerasLayerJson[] };
  keras_version: string;
  backend: string;
};

/** The `keras_version` tfjs-layers 4.22 writes; `loadLayersModel` reads this topology as its own. */
export const KERAS_VERSION = 'tfjs-layers 4.22.0';

// Fields every layer may carry that change nothing lockstep computes (Keras 3's dtype is a policy object);
// Keras 3 writes activity_regularizer on any layer that has one, which must be null.
const COMMON_FIELDS = [
  'name',
  'trainable',
  'dtype',
  'batch_input_shape',
  'batch_shape',
  'batch_size',
  'input_dtype',
  'activity_regularizer',
];
// Each layer's own fields and their translation are its descriptor's `keras` codec (layers/descriptor.ts).

/** lockstep layer configs (an InputLayer first, or a first layer with `inputShape`) → Keras `modelTopology`. */
export function toModelTopology(modelName: string, layers: LayerConfigLike[]): ModelTopology {
  if (typeof modelName !== 'string' || modelName === '') {
    throw new Error(`toModelTopology: modelName must be a non-empty string. Received: ${quote(modelName)}`);
  }
  if (!Array.isArray(layers) || layers.length === 0)
    throw new Error(`toModelTopology: layers must be a non-empty array. Received: ${quote(layers)}`);
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
  const descriptor = descriptorFor(layer.className, where);
  const fields = descriptor.keras.toKeras(withDefaults(descriptor, layer), where);
  if (descriptor.input) {
    if (i !== 0) throw new Error(`${where}: an ${descriptor.className} must be the first layer`);
    return { class_name: descriptor.className, config: { ...fields, name: layer.name } };
  }
  // Keras 2 style `inputShape` on the first layer stands in for an InputLayer.
  let first: JsonObject = {};
  if (i === 0) {
    if (layer.inputShape === undefined) {
      throw new Error(
        `${where}: the first layer must be an InputLayer or have an inputShape, so the model's input size is known`,
      );
    }
    first = { batch_input_shape: batchShape(layer.inputShape, where, 'inputShape') };
  }
  const config = { ...fields, name: layer.name, trainable: true, dtype: 'float32', ...first };
  return { class_name: descriptor.className, config };
}

/** One layer's Keras JSON in a functional model: its input shape, if any, comes from the graph. */
export function layerToKerasJson(layer: LayerConfigLike, where: string): KerasLayerJson {
  if (!isObject(layer) || typeof layer.name !== 'string' || layer.name === '')
    throw new Error(`${where}: a layer config needs a non-empty string name. Received: ${quote(layer)}`);
  const descriptor = descriptorFor(layer.className, where);
  const fields = descriptor.keras.toKeras(withDefaults(descriptor, layer), where);
  if (descriptor.input) return { class_name: descriptor.className, config: { ...fields, name: layer.name } };
  return {
    class_name: descriptor.className,
    config: { ...fields, name: layer.name, trainable: true, dtype: 'float32' },
  };
}

/** One layer of a functional model's JSON → its lockstep config (an InputLayer's shape from its batch shape). */
export function layerFromKerasJson(entry: unknown, i: number): LayerConfig {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new Error(`layer ${i}: expected { class_name, config }. Received: ${quote(entry)}`);
  }
  const c = entry.config;
  const where = describe(i, entry.class_name, c.name);
  if (typeof c.name !== 'string' || c.name === '') throw new Error(`${where}: missing field 'name'`);
  const descriptor = descriptorFor(entry.class_name, where);
  if (!descriptor.input) {
    checkFields(c, descriptor.keras.fields, where);
    notSet(c, ['activity_regularizer'], where);
  }
  return { className: descriptor.className, name: c.name, ...descriptor.keras.fromKeras(c, where) };
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
    throw new Error(
      `Only Sequential models can be read; this modelTopology has class_name ${quote(topology.class_name)}`,
    );
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
  const descriptor = descriptorFor(entry.class_name, where);
  if (descriptor.input) {
    if (i !== 0) throw new Error(`${where}: an ${descriptor.className} must be the first layer`);
    return [{ className: descriptor.className, name, ...descriptor.keras.fromKeras(c, where) }];
  }
  const input: LayerConfig[] = [];
  if (i === 0) {
    const shape = c.batch_input_shape ?? c.batch_shape;
    if (shape === undefined) {
      throw new Error(
        `${where}: the first layer has no batch_input_shape and there is no InputLayer, so the input size is unknown`,
      );
    }
    input.push({ className: INPUT.className, name: `${name}_input`, ...INPUT.keras.fromKeras(c, where) });
  }
  checkFields(c, descriptor.keras.fields, where);
  // Dense and Conv2D read their activity_regularizer (regularizers.ts); any other layer must have none.
  if (!descriptor.keras.fields.includes('activity_regularizer')) notSet(c, ['activity_regularizer'], where);
  return [...input, { className: descriptor.className, name, ...descriptor.keras.fromKeras(c, where) }];
}

/** The input layer's descriptor: a Sequential file without an InputLayer entry gets one from its first layer. */
const INPUT = LAYER_DESCRIPTORS.find((d) => d.input)!;

function descriptorFor(className: unknown, where: string): LayerDescriptor {
  const descriptor = descriptorOf(className);
  if (descriptor) return descriptor;
  throw new Error(
    `${where}: layer type ${quote(className)} is not supported; supported: ${LAYER_DESCRIPTORS.map((d) => d.className).join(', ')}`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Field checks. `where` names the layer: `layer 2 (Conv2D 'conv2d_1')`.

/** `layer 2 (Dense 'dense_1')`, or `layer 2 (Dense)` when the name is missing. */
function describe(i: number, className: unknown, name: unknown): string {
  return `layer ${i} (${String(className)}${typeof name === 'string' && name !== '' ? ` '${name}'` : ''})`;
}

/**
 * A field lockstep does not know may change the maths (tfjs's camelCase `dilationRate`, an option of a newer Keras):
 * refused.
 */
function checkFields(c: JsonObject, fields: readonly string[], where: string): void {
  const known = [...fields, ...COMMON_FIELDS];
  for (const key of Object.keys(c)) {
    if (known.includes(key)) continue;
    const near = closestName(key, known);
    throw new Error(
      `${where}: unknown field '${key}'${near ? `; did you mean '${near}'?` : '.'} Known fields: ${known.join(', ')}`,
    );
  }
}

function checkUniqueNames(names: unknown[]): void {
  const seen = new Set<unknown>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`Layer names must be unique; ${quote(n)} is used more than once`);
    seen.add(n);
  }
}
