/**
 * Sequential model topologies in the Keras / TensorFlow.js layers JSON format (`model.json`'s
 * `modelTopology`), translated to and from lockstep's layer configs.
 *
 * Written: an explicit InputLayer entry first (as Keras 2 and tfjs-layers' `inputLayer` write it), snake_case
 * keys, Keras initializer objects, `data_format: 'channels_last'` on the image layers. Read: what tfjs-layers
 * and Keras 2 / 3 write, with or without an InputLayer entry (then the first layer's `batch_input_shape`
 * gives the input), Keras 3's `batch_shape`, and the `{ model_config }` wrapper. Anything lockstep cannot
 * run exactly (channels_first, grouped convolutions, a regularizer, a field it does not know) is an error
 * naming the layer and the field, never a silent approximation.
 *
 * @example
 * const topology = toModelTopology('hitters', model.layers.map((l) => l.getConfig()));
 * const { modelName, layers } = fromModelTopology(topology);
 */
import { closestName, own } from '../errors.js';
import { pairOption, paddingOption } from '../layers/conv-shapes.js';
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
// Fields every layer may carry that change nothing lockstep computes (Keras 3's dtype is a policy object);
// Keras 3 writes activity_regularizer on any layer that has one, which must be null.
const COMMON_FIELDS = ['name', 'trainable', 'dtype', 'batch_input_shape', 'batch_shape', 'batch_size', 'input_dtype', 'activity_regularizer'];
// Keras 3's LoRA and quantization (Dense, Conv2D): fine-tuning deltas and int8 kernels, which must be off.
const KERAS3_EXTRAS = ['lora_rank', 'lora_alpha', 'quantization_config'];

/** How one layer type is written and read; `fields` are the Keras config fields read, any other is an error. */
interface LayerCodec {
  fields: readonly string[];
  toKeras(layer: LayerConfigLike, where: string): JsonObject;
  fromKeras(c: JsonObject, where: string): Record<string, unknown>;
}

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
  if (layer.className === 'InputLayer') {
    if (i !== 0) throw new Error(`${where}: an InputLayer must be the first layer`);
    const batch_input_shape = batchShape(layer.shape, where, 'shape');
    return { class_name: 'InputLayer', config: { batch_input_shape, dtype: 'float32', sparse: false, name: layer.name } };
  }
  const codec = codecFor(layer.className, where);
  // Keras 2 style `inputShape` on the first layer stands in for an InputLayer.
  let first: JsonObject = {};
  if (i === 0) {
    if (layer.inputShape === undefined) {
      throw new Error(`${where}: the first layer must be an InputLayer or have an inputShape, so the model's input size is known`);
    }
    first = { batch_input_shape: batchShape(layer.inputShape, where, 'inputShape') };
  }
  const config = { ...codec.toKeras(layer, where), name: layer.name, trainable: true, dtype: 'float32', ...first };
  return { class_name: layer.className, config };
}

/** One layer's Keras JSON in a functional model: its input shape, if any, comes from the graph. */
export function layerToKerasJson(layer: LayerConfigLike, where: string): KerasLayerJson {
  if (!isObject(layer) || typeof layer.name !== 'string' || layer.name === '') throw new Error(`${where}: a layer config needs a non-empty string name. Received: ${quote(layer)}`);
  if (layer.className === 'InputLayer') {
    return { class_name: 'InputLayer', config: { batch_input_shape: batchShape(layer.shape, where, 'shape'), dtype: 'float32', sparse: false, name: layer.name } };
  }
  const codec = codecFor(layer.className, where);
  return { class_name: layer.className, config: { ...codec.toKeras(layer, where), name: layer.name, trainable: true, dtype: 'float32' } };
}

/** One layer of a functional model's JSON → its lockstep config (an InputLayer's shape from its batch shape). */
export function layerFromKerasJson(entry: unknown, i: number): LayerConfig {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new Error(`layer ${i}: expected { class_name, config }. Received: ${quote(entry)}`);
  }
  const c = entry.config;
  const where = describe(i, entry.class_name, c.name);
  if (typeof c.name !== 'string' || c.name === '') throw new Error(`${where}: missing field 'name'`);
  if (entry.class_name === 'InputLayer') return { className: 'InputLayer', name: c.name, shape: rowShape(c.batch_input_shape ?? c.batch_shape, where) };
  const codec = codecFor(entry.class_name, where);
  checkFields(c, codec.fields, where);
  notSet(c, ['activity_regularizer'], where);
  return { className: entry.class_name, name: c.name, ...codec.fromKeras(c, where) } as LayerConfig;
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
  const codec = codecFor(entry.class_name, where);
  const input: LayerConfig[] = [];
  if (i === 0) {
    if (shape === undefined) {
      throw new Error(`${where}: the first layer has no batch_input_shape and there is no InputLayer, so the input size is unknown`);
    }
    input.push({ className: 'InputLayer', name: `${name}_input`, shape: rowShape(shape, where) });
  }
  checkFields(c, codec.fields, where);
  notSet(c, ['activity_regularizer'], where);
  return [...input, { className: entry.class_name, name, ...codec.fromKeras(c, where) } as LayerConfig];
}

// ---------------------------------------------------------------------------------------------------
// One codec per layer type: the Keras fields it writes, and how it reads what tfjs-layers and Keras write.

const CONV_FIELDS = ['filters', 'kernel_size', 'strides', 'padding', 'data_format', 'dilation_rate', 'groups', 'activation', 'use_bias', 'kernel_initializer', 'bias_initializer'];
const POOL_FIELDS = ['pool_size', 'strides', 'padding', 'data_format'];

const dense: LayerCodec = {
  fields: ['units', 'activation', 'use_bias', 'kernel_initializer', 'bias_initializer', ...UNSUPPORTED_IF_SET, ...KERAS3_EXTRAS],
  toKeras: (l, where) => ({
    units: positiveInt(l.units, where, 'units'),
    activation: activation(l.activation ?? 'linear', where),
    use_bias: bool(l.useBias ?? true, where, 'useBias'),
    ...initializersToKeras(l, where),
    ...nulls(UNSUPPORTED_IF_SET),
  }),
  fromKeras: (c, where) => {
    notSet(c, [...UNSUPPORTED_IF_SET, 'lora_rank', 'quantization_config'], where);
    return {
      units: positiveInt(required(c, 'units', where), where, 'units'),
      activation: activation(c.activation ?? 'linear', where),
      useBias: bool(c.use_bias ?? true, where, 'use_bias'),
      ...initializersFromKeras(c, where),
    };
  },
};

const dropout: LayerCodec = {
  // The seed only picks tfjs's dropout masks; lockstep draws its own from the fit seed.
  fields: ['rate', 'noise_shape', 'seed'],
  toKeras: (l, where) => ({ rate: rate(l.rate, where), noise_shape: null, seed: null }),
  fromKeras: (c, where) => {
    notSet(c, ['noise_shape'], where);
    return { rate: rate(required(c, 'rate', where), where) };
  },
};

const conv2d: LayerCodec = {
  fields: [...CONV_FIELDS, ...UNSUPPORTED_IF_SET, ...KERAS3_EXTRAS],
  toKeras: (l, where) => {
    const strides = pairOption(where, 'strides', l.strides ?? 1);
    const dilation_rate = pairOption(where, 'dilationRate', l.dilationRate ?? 1);
    checkStridesAndDilation(strides, dilation_rate, where, 'strides', 'dilationRate');
    channelsLast(l.dataFormat, where, 'dataFormat');
    return {
      filters: positiveInt(l.filters, where, 'filters'),
      kernel_size: pairOption(where, 'kernelSize', l.kernelSize),
      strides,
      padding: paddingOption(where, l.padding),
      data_format: 'channels_last',
      dilation_rate,
      activation: activation(l.activation ?? 'linear', where),
      use_bias: bool(l.useBias ?? true, where, 'useBias'),
      ...initializersToKeras(l, where),
      ...nulls(UNSUPPORTED_IF_SET),
    };
  },
  fromKeras: (c, where) => {
    notSet(c, [...UNSUPPORTED_IF_SET, 'lora_rank', 'quantization_config'], where);
    channelsLast(c.data_format, where, 'data_format');
    if (c.groups != null && c.groups !== 1) throw new Error(`${where}: grouped convolutions are not supported (groups must be 1). Received: groups=${quote(c.groups)}`);
    const strides = pairOption(where, 'strides', c.strides ?? 1);
    const dilationRate = pairOption(where, 'dilation_rate', c.dilation_rate ?? 1);
    checkStridesAndDilation(strides, dilationRate, where, 'strides', 'dilation_rate');
    return {
      filters: positiveInt(required(c, 'filters', where), where, 'filters'),
      kernelSize: pairOption(where, 'kernel_size', required(c, 'kernel_size', where)),
      strides,
      padding: paddingOption(where, c.padding ?? 'valid'),
      dilationRate,
      activation: activation(c.activation ?? 'linear', where),
      useBias: bool(c.use_bias ?? true, where, 'use_bias'),
      ...initializersFromKeras(c, where),
    };
  },
};

// Keras's pooling defaults: a 2x2 window, strides = the window, 'valid'.
const pooling2d: LayerCodec = {
  fields: POOL_FIELDS,
  toKeras: (l, where) => {
    channelsLast(l.dataFormat, where, 'dataFormat');
    const pool_size = pairOption(where, 'poolSize', l.poolSize ?? 2);
    const strides = l.strides == null ? pool_size : pairOption(where, 'strides', l.strides);
    return { pool_size, padding: paddingOption(where, l.padding), strides, data_format: 'channels_last' };
  },
  fromKeras: (c, where) => {
    channelsLast(c.data_format, where, 'data_format');
    const poolSize = pairOption(where, 'pool_size', c.pool_size ?? 2);
    const strides = c.strides == null ? poolSize : pairOption(where, 'strides', c.strides);
    return { poolSize, strides, padding: paddingOption(where, c.padding ?? 'valid') };
  },
};

const globalPooling2d: LayerCodec = {
  fields: ['data_format', 'keepdims'],
  toKeras: (l, where) => {
    channelsLast(l.dataFormat, where, 'dataFormat');
    // tfjs-layers 4.22 has no keepdims: it would read the file as a model with other output shapes.
    if (bool(l.keepdims ?? false, where, 'keepdims')) {
      throw new Error(
        `${where}: keepdims=true cannot be saved in the TensorFlow.js layers format: tfjs-layers 4.22 ignores keepdims and would load another model. ` +
          'Use keepdims false followed by a Reshape to [1, 1, channels]',
      );
    }
    return { data_format: 'channels_last' };
  },
  fromKeras: (c, where) => {
    channelsLast(c.data_format, where, 'data_format');
    return { keepdims: bool(c.keepdims ?? false, where, 'keepdims') };
  },
};

const flatten: LayerCodec = {
  fields: ['data_format'],
  toKeras: (l, where) => {
    channelsLast(l.dataFormat, where, 'dataFormat');
    return { data_format: 'channels_last' };
  },
  fromKeras: (c, where) => {
    // channels_first would flatten in another order (channels before pixels).
    channelsLast(c.data_format, where, 'data_format');
    return {};
  },
};

const reshape: LayerCodec = {
  fields: ['target_shape'],
  toKeras: (l, where) => ({ target_shape: targetShape(l.targetShape, where, 'targetShape') }),
  fromKeras: (c, where) => ({ targetShape: targetShape(required(c, 'target_shape', where), where, 'target_shape') }),
};

const NORM_UNSUPPORTED = ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'];

/** An initializer field of a normalization layer: lockstep's camelCase option <-> Keras's snake_case field. */
function normInitializers(names: readonly (readonly [string, string, string])[], l: LayerConfigLike | null, c: JsonObject | null, where: string): JsonObject {
  const out: Record<string, unknown> = {};
  for (const [option, field, fallback] of names) {
    if (l) out[field] = initializerToKeras((l[option] ?? fallback) as InitializerSpec, `${where} ${option}`);
    else out[option] = initializerFromKeras(c![field] ?? fallback, `${where} ${field}`);
  }
  return out as JsonObject;
}

const BN_INITIALIZERS = [
  ['betaInitializer', 'beta_initializer', 'zeros'],
  ['gammaInitializer', 'gamma_initializer', 'ones'],
  ['movingMeanInitializer', 'moving_mean_initializer', 'zeros'],
  ['movingVarianceInitializer', 'moving_variance_initializer', 'ones'],
] as const;
const LN_INITIALIZERS = BN_INITIALIZERS.slice(0, 2);

// Keras 3's `synchronized` picks per-replica or cross-replica statistics under tf.distribute; lockstep's are
// always the whole batch's (what Keras computes on one device), so either value reads the same.
const batchNormalization: LayerCodec = {
  fields: ['axis', 'momentum', 'epsilon', 'center', 'scale', ...BN_INITIALIZERS.map((i) => i[1]), ...NORM_UNSUPPORTED, 'synchronized'],
  toKeras: (l, where) => ({
    axis: integer(l.axis ?? -1, where, 'axis'),
    momentum: fraction(l.momentum ?? 0.99, where, 'momentum'),
    epsilon: positive(l.epsilon ?? 1e-3, where, 'epsilon'),
    center: bool(l.center ?? true, where, 'center'),
    scale: bool(l.scale ?? true, where, 'scale'),
    ...normInitializers(BN_INITIALIZERS, l, null, where),
    ...nulls(NORM_UNSUPPORTED),
  }),
  fromKeras: (c, where) => {
    notSet(c, NORM_UNSUPPORTED, where);
    if (c.synchronized != null) bool(c.synchronized, where, 'synchronized');
    return {
      axis: integer(c.axis ?? -1, where, 'axis'),
      momentum: fraction(c.momentum ?? 0.99, where, 'momentum'),
      epsilon: positive(c.epsilon ?? 1e-3, where, 'epsilon'),
      center: bool(c.center ?? true, where, 'center'),
      scale: bool(c.scale ?? true, where, 'scale'),
      ...normInitializers(BN_INITIALIZERS, null, c, where),
    };
  },
};

const layerNormalization: LayerCodec = {
  fields: ['axis', 'epsilon', 'center', 'scale', 'rms_scaling', ...LN_INITIALIZERS.map((i) => i[1]), ...NORM_UNSUPPORTED],
  toKeras: (l, where) => ({
    axis: axes(l.axis ?? -1, where, 'axis'),
    epsilon: positive(l.epsilon ?? 1e-3, where, 'epsilon'),
    center: bool(l.center ?? true, where, 'center'),
    scale: bool(l.scale ?? true, where, 'scale'),
    ...normInitializers(LN_INITIALIZERS, l, null, where),
    beta_regularizer: null,
    gamma_regularizer: null,
  }),
  fromKeras: (c, where) => {
    notSet(c, NORM_UNSUPPORTED, where);
    if (c.rms_scaling != null && c.rms_scaling !== false) throw new Error(`${where}: rms_scaling is not supported. Received: rms_scaling=${quote(c.rms_scaling)}`);
    return {
      axis: axes(c.axis ?? -1, where, 'axis'),
      epsilon: positive(c.epsilon ?? 1e-3, where, 'epsilon'),
      center: bool(c.center ?? true, where, 'center'),
      scale: bool(c.scale ?? true, where, 'scale'),
      ...normInitializers(LN_INITIALIZERS, null, c, where),
    };
  },
};

// Merge layers hold no options (Keras 3 writes none either).
const merge: LayerCodec = { fields: [], toKeras: () => ({}), fromKeras: () => ({}) };

const concatenate: LayerCodec = {
  fields: ['axis'],
  toKeras: (l, where) => ({ axis: integer(l.axis ?? -1, where, 'axis') }),
  fromKeras: (c, where) => ({ axis: integer(c.axis ?? -1, where, 'axis') }),
};

const EMBEDDING_UNSUPPORTED = ['embeddings_regularizer', 'embeddings_constraint'];
const embedding: LayerCodec = {
  fields: ['input_dim', 'output_dim', 'embeddings_initializer', 'mask_zero', 'input_length', ...EMBEDDING_UNSUPPORTED, 'lora_rank', 'lora_alpha'],
  toKeras: (l, where) => ({
    input_dim: positiveInt(l.inputDim, where, 'inputDim'),
    output_dim: positiveInt(l.outputDim, where, 'outputDim'),
    embeddings_initializer: initializerToKeras((l.embeddingsInitializer ?? 'random_uniform') as InitializerSpec, `${where} embeddingsInitializer`),
    mask_zero: false,
    ...nulls(EMBEDDING_UNSUPPORTED),
  }),
  fromKeras: (c, where) => {
    notSet(c, [...EMBEDDING_UNSUPPORTED, 'lora_rank'], where);
    // Masking changes what later layers compute; lockstep has no masks.
    if (c.mask_zero != null && c.mask_zero !== false) throw new Error(`${where}: mask_zero=true is not supported. Received: mask_zero=${quote(c.mask_zero)}`);
    return {
      inputDim: positiveInt(required(c, 'input_dim', where), where, 'input_dim'),
      outputDim: positiveInt(required(c, 'output_dim', where), where, 'output_dim'),
      embeddingsInitializer: c.embeddings_initializer == null ? 'random_uniform' : initializerFromKeras(c.embeddings_initializer, `${where} embeddings_initializer`),
    };
  },
};

const activationLayer: LayerCodec = {
  fields: ['activation'],
  toKeras: (l, where) => ({ activation: activation(l.activation, where) }),
  fromKeras: (c, where) => ({ activation: activation(required(c, 'activation', where), where) }),
};

const CODECS: Record<string, LayerCodec> = {
  Activation: activationLayer,
  Add: merge,
  Subtract: merge,
  Multiply: merge,
  Average: merge,
  Maximum: merge,
  Minimum: merge,
  Concatenate: concatenate,
  Embedding: embedding,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  Dense: dense,
  Dropout: dropout,
  Conv2D: conv2d,
  MaxPooling2D: pooling2d,
  AveragePooling2D: pooling2d,
  GlobalAveragePooling2D: globalPooling2d,
  GlobalMaxPooling2D: globalPooling2d,
  Flatten: flatten,
  Reshape: reshape,
};

function codecFor(className: unknown, where: string): LayerCodec {
  if (typeof className === 'string' && Object.hasOwn(CODECS, className)) return CODECS[className];
  throw new Error(`${where}: layer type ${quote(className)} is not supported; supported: ${LAYER_TYPES.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------------
// Field checks. `where` names the layer: `layer 2 (Conv2D 'conv2d_1')`.

/** `layer 2 (Dense 'dense_1')`, or `layer 2 (Dense)` when the name is missing. */
function describe(i: number, className: unknown, name: unknown): string {
  return `layer ${i} (${String(className)}${typeof name === 'string' && name !== '' ? ` '${name}'` : ''})`;
}

/** A field lockstep does not know may change the maths (tfjs's camelCase `dilationRate`, an option of a newer Keras): refused. */
function checkFields(c: JsonObject, fields: readonly string[], where: string): void {
  const known = [...fields, ...COMMON_FIELDS];
  for (const key of Object.keys(c)) {
    if (known.includes(key)) continue;
    const near = closestName(key, known);
    throw new Error(`${where}: unknown field '${key}'${near ? `; did you mean '${near}'?` : ''}. Known fields: ${known.join(', ')}`);
  }
}

function required(c: JsonObject, field: string, where: string): unknown {
  if (c[field] === undefined) throw new Error(`${where}: missing field '${field}'`);
  return c[field];
}

function notSet(c: JsonObject, fields: string[], where: string): void {
  for (const k of fields) if (c[k] != null) throw new Error(`${where}: ${k} is not supported. Received: ${k}=${quote(c[k])}`);
}

const nulls = (fields: string[]) => Object.fromEntries(fields.map((k) => [k, null]));

/** lockstep runs images as [height, width, channels] only; tfjs spells it 'channelsLast' in its own configs. */
function channelsLast(v: unknown, where: string, field: string): void {
  if (v != null && v !== 'channels_last' && v !== 'channelsLast') {
    throw new Error(`${where}: ${field} must be 'channels_last' (channels_first is not supported). Received: ${field}=${quote(v)}`);
  }
}

/** Keras refuses strides > 1 with dilation > 1, and so does lockstep's Conv2D. */
function checkStridesAndDilation(strides: number[], dilation: number[], where: string, s: string, d: string): void {
  if (strides.some((v) => v > 1) && dilation.some((v) => v > 1)) {
    throw new Error(`${where}: ${s} > 1 together with ${d} > 1 is not supported. Received: ${s}=${quote(strides)}, ${d}=${quote(dilation)}`);
  }
}

function initializersToKeras(l: LayerConfigLike, where: string): JsonObject {
  return {
    kernel_initializer: initializerToKeras((l.kernelInitializer ?? 'glorot_uniform') as InitializerSpec, `${where} kernelInitializer`),
    bias_initializer: initializerToKeras((l.biasInitializer ?? 'zeros') as InitializerSpec, `${where} biasInitializer`),
  };
}

function initializersFromKeras(c: JsonObject, where: string): { kernelInitializer: InitializerSpec; biasInitializer: InitializerSpec } {
  return {
    kernelInitializer: initializerFromKeras(c.kernel_initializer ?? 'glorot_uniform', `${where} kernel_initializer`),
    biasInitializer: initializerFromKeras(c.bias_initializer ?? 'zeros', `${where} bias_initializer`),
  };
}

function activation(v: unknown, where: string): ActivationName {
  const name = typeof v === 'string' ? (own(ACTIVATION_ALIASES, v) ?? v) : v;
  if (!ACTIVATIONS.includes(name as ActivationName)) {
    throw new Error(`${where}: unknown activation ${quote(v)}; supported: ${ACTIVATIONS.join(', ')}`);
  }
  return name as ActivationName;
}

/** `[null, 8, 8, 1]` → `[8, 8, 1]`; the batch dimension must be null (or a number, which is dropped). */
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

/** Positive integers, at most one -1 (inferred), as Keras's Reshape takes them. */
function targetShape(v: unknown, where: string, field: string): number[] {
  const ok = Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) && v.filter((d) => d === -1).length <= 1;
  if (!ok) throw new Error(`${where}: ${field} must be a non-empty array of positive integers, with at most one -1. Received: ${field}=${quote(v)}`);
  return [...(v as number[])];
}

function positiveInt(v: unknown, where: string, option: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw new Error(`${where}: ${option} must be a positive integer. Received: ${option}=${quote(v)}`);
  return v as number;
}

function rate(v: unknown, where: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new Error(`${where}: rate must be in [0, 1). Received: rate=${quote(v)}`);
  return v;
}

function integer(v: unknown, where: string, option: string): number {
  if (!Number.isInteger(v)) throw new Error(`${where}: ${option} must be an integer. Received: ${option}=${quote(v)}`);
  return v as number;
}

/** An axis or a non-empty list of axes (LayerNormalization). */
function axes(v: unknown, where: string, option: string): number | number[] {
  if (Array.isArray(v) && v.length > 0 && v.every((a) => Number.isInteger(a))) return [...(v as number[])];
  return integer(v, where, option);
}

function fraction(v: unknown, where: string, option: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${where}: ${option} must be in [0, 1]. Received: ${option}=${quote(v)}`);
  return v;
}

function positive(v: unknown, where: string, option: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new Error(`${where}: ${option} must be a positive number. Received: ${option}=${quote(v)}`);
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
