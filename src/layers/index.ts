/**
 * Layer factories with Keras's names: `layers.Dense({ units: 10, activation: 'softmax' })`, and the registry
 * of layer types: `LAYER_DESCRIPTORS`, which `layerFromConfig`, the saved format (io/topology.ts) and the CLI's
 * model configs (cli/config.ts) read. Adding a layer: see "Adding a layer" in docs/design.md.
 */
import { Dense as DenseLayer, DENSE, type DenseOptions } from './dense.js';
import { Dropout as DropoutLayer, DROPOUT, type DropoutOptions } from './dropout.js';
import { InputLayer, INPUT_LAYER, type InputOptions } from './input.js';
import { Conv2D as Conv2DLayer, CONV2D, type Conv2DOptions } from './conv2d.js';
import {
  MaxPooling2D as MaxPooling2DLayer,
  AveragePooling2D as AveragePooling2DLayer,
  MAX_POOLING_2D,
  AVERAGE_POOLING_2D,
  type Pooling2DOptions,
} from './pooling2d.js';
import {
  GlobalAveragePooling2D as GlobalAveragePooling2DLayer,
  GlobalMaxPooling2D as GlobalMaxPooling2DLayer,
  GLOBAL_AVERAGE_POOLING_2D,
  GLOBAL_MAX_POOLING_2D,
  type GlobalPooling2DOptions,
} from './global-pooling2d.js';
import { Flatten as FlattenLayer, FLATTEN, type FlattenOptions } from './flatten.js';
import { Reshape as ReshapeLayer, RESHAPE, type ReshapeOptions } from './reshape.js';
import {
  BatchNormalization as BatchNormalizationLayer,
  BATCH_NORMALIZATION,
  type BatchNormalizationOptions,
} from './batch-normalization.js';
import {
  LayerNormalization as LayerNormalizationLayer,
  LAYER_NORMALIZATION,
  type LayerNormalizationOptions,
} from './layer-normalization.js';
import {
  Add as AddLayer,
  Subtract as SubtractLayer,
  Multiply as MultiplyLayer,
  Average as AverageLayer,
  Maximum as MaximumLayer,
  Minimum as MinimumLayer,
  ADD,
  SUBTRACT,
  MULTIPLY,
  AVERAGE,
  MAXIMUM,
  MINIMUM,
  type MergeOptions,
} from './merge.js';
import { Concatenate as ConcatenateLayer, CONCATENATE, type ConcatenateOptions } from './concatenate.js';
import { Embedding as EmbeddingLayer, EMBEDDING, type EmbeddingOptions } from './embedding.js';
import { Activation as ActivationLayer, ACTIVATION, type ActivationOptions } from './activation.js';
import { recordCall, SymbolicTensor } from './symbolic-tensor.js';
import type { LayerDescriptor } from './descriptor.js';
import type { Layer, LayerConfig } from './layer.js';
import { own, unknownName } from '../errors.js';

/** Every layer type, in the order messages list them: the one list a new layer joins. */
export const LAYER_DESCRIPTORS: readonly LayerDescriptor[] = [
  INPUT_LAYER,
  DENSE,
  DROPOUT,
  CONV2D,
  MAX_POOLING_2D,
  AVERAGE_POOLING_2D,
  GLOBAL_AVERAGE_POOLING_2D,
  GLOBAL_MAX_POOLING_2D,
  FLATTEN,
  RESHAPE,
  BATCH_NORMALIZATION,
  LAYER_NORMALIZATION,
  ACTIVATION,
  ADD,
  SUBTRACT,
  MULTIPLY,
  AVERAGE,
  MAXIMUM,
  MINIMUM,
  CONCATENATE,
  EMBEDDING,
];

// A null-prototype table: a user-given class name such as 'constructor' or '__proto__' finds nothing.
const BY_CLASS_NAME: Readonly<Record<string, LayerDescriptor>> = Object.freeze(
  Object.assign(Object.create(null), Object.fromEntries(LAYER_DESCRIPTORS.map((d) => [d.className, d]))),
);

/** The descriptor of a class name (user input: any value), or undefined. */
export function descriptorOf(className: unknown): LayerDescriptor | undefined {
  return own(BY_CLASS_NAME, className);
}

// Classes under explicit names; the Keras spellings below are factories, so `layers.Dense({...})` needs no `new`.
export {
  DenseLayer,
  DropoutLayer,
  InputLayer,
  Conv2DLayer,
  MaxPooling2DLayer,
  AveragePooling2DLayer,
  GlobalAveragePooling2DLayer,
  GlobalMaxPooling2DLayer,
  FlattenLayer,
  ReshapeLayer,
  BatchNormalizationLayer,
  LayerNormalizationLayer,
};
export type {
  DenseOptions,
  DropoutOptions,
  InputOptions,
  Conv2DOptions,
  Pooling2DOptions,
  GlobalPooling2DOptions,
  FlattenOptions,
  ReshapeOptions,
  BatchNormalizationOptions,
  LayerNormalizationOptions,
};
export { Layer } from './layer.js';
export type { LayerConfig, ParamSpec, ForwardContext } from './layer.js';
export type { LayerDescriptor, OptionSpec, KerasCodec } from './descriptor.js';
export {
  ActivationLayer,
  AddLayer,
  SubtractLayer,
  MultiplyLayer,
  AverageLayer,
  MaximumLayer,
  MinimumLayer,
  ConcatenateLayer,
  EmbeddingLayer,
  SymbolicTensor,
};
export type { MergeOptions, ConcatenateOptions, EmbeddingOptions, ActivationOptions };

/**
 * The shape of one sample, without the batch axis: a symbolic tensor for `layer.apply` and
 * `new Model({ inputs, outputs })`; `Sequential.add` takes it too.
 * @example
 * model.add(layers.Input({ shape: [28, 28, 1] }));
 */
export const Input = (options: InputOptions): SymbolicTensor<Layer> => recordInput(INPUT_LAYER.create(options));
/** The symbolic tensor of an InputLayer (its one call). */
export const recordInput = (layer: InputLayer): SymbolicTensor<Layer> =>
  layer.calls[0]?.output ?? recordCall<Layer>(layer, [], layer.shape, layer.calls);
/**
 * A fully connected layer: `activation(x @ kernel + bias)`.
 * @example
 * model.add(layers.Dense({ units: 64, activation: 'relu' }));
 */
export const Dense = DENSE.create;
/**
 * Zeroes a fraction `rate` of its inputs while training (keyed by seed, epoch and row: the same for any worker count).
 * @example
 * model.add(layers.Dropout({ rate: 0.2 }));
 */
export const Dropout = DROPOUT.create;
/**
 * A 2-D convolution over images (channels last).
 * @example
 * model.add(layers.Conv2D({ filters: 32, kernelSize: [3, 3], activation: 'relu', padding: 'same' }));
 */
export const Conv2D = CONV2D.create;
/**
 * The maximum over each pooling window.
 * @example
 * model.add(layers.MaxPooling2D({ poolSize: [2, 2] }));
 */
export const MaxPooling2D = MAX_POOLING_2D.create;
/**
 * The mean over each pooling window.
 * @example
 * model.add(layers.AveragePooling2D({ poolSize: 2, strides: 2 }));
 */
export const AveragePooling2D = AVERAGE_POOLING_2D.create;
/**
 * Each channel's mean over the image.
 * @example
 * model.add(layers.GlobalAveragePooling2D());
 */
export const GlobalAveragePooling2D = GLOBAL_AVERAGE_POOLING_2D.create;
/**
 * Each channel's maximum over the image.
 * @example
 * model.add(layers.GlobalMaxPooling2D());
 */
export const GlobalMaxPooling2D = GLOBAL_MAX_POOLING_2D.create;
/**
 * One row per sample.
 * @example
 * model.add(layers.Flatten());
 */
export const Flatten = FLATTEN.create;
/**
 * A new shape for each sample (same number of values).
 * @example
 * model.add(layers.Reshape({ targetShape: [28, 28, 1] }));
 */
export const Reshape = RESHAPE.create;
/**
 * Normalizes by the whole batch's statistics while training (exchanged between workers), by moving averages otherwise.
 * @example
 * model.add(layers.BatchNormalization({ momentum: 0.99 }));
 */
export const BatchNormalization = BATCH_NORMALIZATION.create;
/**
 * Normalizes each sample over its last axis.
 * @example
 * model.add(layers.LayerNormalization({ epsilon: 1e-3 }));
 */
export const LayerNormalization = LAYER_NORMALIZATION.create;
export const Activation = ACTIVATION.create;
export const Add = ADD.create;
export const Subtract = SUBTRACT.create;
export const Multiply = MULTIPLY.create;
export const Average = AVERAGE.create;
export const Maximum = MAXIMUM.create;
export const Minimum = MINIMUM.create;
export const Concatenate = CONCATENATE.create;
export const Embedding = EMBEDDING.create;
/** Lower-case aliases. */
export const dense = Dense;
export const dropout = Dropout;

/** Rebuilds a layer from `layer.getConfig()` (the worker pool and model loading use it). */
export function layerFromConfig(config: LayerConfig): Layer {
  const descriptor = descriptorOf(config?.className);
  if (!descriptor)
    throw unknownName(
      'layer type',
      config?.className,
      LAYER_DESCRIPTORS.map((d) => d.className),
    );
  // className picked the constructor; the rest are its options, checked like a user's.
  const { className: _className, ...options } = config;
  const layer = descriptor.create(options as never);
  layer.name = config.name;
  return layer;
}
