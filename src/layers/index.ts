/**
 * Layer factories with Keras's names: `layers.Dense({ units: 10, activation: 'softmax' })`.
 * `layerFromConfig(layer.getConfig())` rebuilds a layer (the worker pool and model loading use it).
 * Adding a layer: its own file, a line in each list below, the saved format (io/topology.ts) and its tests.
 */
import { Dense as DenseLayer, type DenseOptions } from './dense.js';
import { Dropout as DropoutLayer, type DropoutOptions } from './dropout.js';
import { InputLayer, type InputOptions } from './input.js';
import { Conv2D as Conv2DLayer, type Conv2DOptions } from './conv2d.js';
import { MaxPooling2D as MaxPooling2DLayer, AveragePooling2D as AveragePooling2DLayer, type Pooling2DOptions } from './pooling2d.js';
import { GlobalAveragePooling2D as GlobalAveragePooling2DLayer, GlobalMaxPooling2D as GlobalMaxPooling2DLayer, type GlobalPooling2DOptions } from './global-pooling2d.js';
import { Flatten as FlattenLayer, type FlattenOptions } from './flatten.js';
import { Reshape as ReshapeLayer, type ReshapeOptions } from './reshape.js';
import { BatchNormalization as BatchNormalizationLayer, type BatchNormalizationOptions } from './batch-normalization.js';
import { LayerNormalization as LayerNormalizationLayer, type LayerNormalizationOptions } from './layer-normalization.js';
import { Add as AddLayer, Subtract as SubtractLayer, Multiply as MultiplyLayer, Average as AverageLayer, Maximum as MaximumLayer, Minimum as MinimumLayer, type MergeOptions } from './merge.js';
import { Concatenate as ConcatenateLayer, type ConcatenateOptions } from './concatenate.js';
import { Embedding as EmbeddingLayer, type EmbeddingOptions } from './embedding.js';
import { Activation as ActivationLayer, type ActivationOptions } from './activation.js';
import type { Layer, LayerConfig } from './layer.js';
import { own, unknownName } from '../errors.js';
import { recordCall, SymbolicTensor } from './symbolic-tensor.js';
export { SymbolicTensor } from './symbolic-tensor.js';

// Classes under explicit names; the Keras spellings below are factories, so `layers.Dense({...})` needs no `new`.
export { DenseLayer, DropoutLayer, InputLayer, Conv2DLayer, MaxPooling2DLayer, AveragePooling2DLayer, GlobalAveragePooling2DLayer, GlobalMaxPooling2DLayer, FlattenLayer, ReshapeLayer, BatchNormalizationLayer, LayerNormalizationLayer };
export type { DenseOptions, DropoutOptions, InputOptions, Conv2DOptions, Pooling2DOptions, GlobalPooling2DOptions, FlattenOptions, ReshapeOptions, BatchNormalizationOptions, LayerNormalizationOptions };
export { Layer } from './layer.js';
export type { LayerConfig, ParamSpec, ForwardContext } from './layer.js';

/** Keras's `Input`: a symbolic tensor for `layer.apply` and `new Model({ inputs, outputs })`; `Sequential.add` takes it too. */
export const Input = (options: InputOptions): SymbolicTensor => recordInput(new InputLayer(options));
/** The symbolic tensor of an InputLayer (its one call). */
export const recordInput = (layer: InputLayer): SymbolicTensor => layer.calls[0]?.output ?? recordCall(layer, [], layer.shape, layer.calls);
export const Dense = (options: DenseOptions): DenseLayer => new DenseLayer(options);
export const Dropout = (options: DropoutOptions): DropoutLayer => new DropoutLayer(options);
export const Conv2D = (options: Conv2DOptions): Conv2DLayer => new Conv2DLayer(options);
export const MaxPooling2D = (options?: Pooling2DOptions): MaxPooling2DLayer => new MaxPooling2DLayer(options);
export const AveragePooling2D = (options?: Pooling2DOptions): AveragePooling2DLayer => new AveragePooling2DLayer(options);
export const GlobalAveragePooling2D = (options?: GlobalPooling2DOptions): GlobalAveragePooling2DLayer => new GlobalAveragePooling2DLayer(options);
export const GlobalMaxPooling2D = (options?: GlobalPooling2DOptions): GlobalMaxPooling2DLayer => new GlobalMaxPooling2DLayer(options);
export const Flatten = (options?: FlattenOptions): FlattenLayer => new FlattenLayer(options);
export const Reshape = (options: ReshapeOptions): ReshapeLayer => new ReshapeLayer(options);
export const BatchNormalization = (options?: BatchNormalizationOptions): BatchNormalizationLayer => new BatchNormalizationLayer(options);
export const LayerNormalization = (options?: LayerNormalizationOptions): LayerNormalizationLayer => new LayerNormalizationLayer(options);
export const Add = (options?: MergeOptions): AddLayer => new AddLayer(options);
export const Subtract = (options?: MergeOptions): SubtractLayer => new SubtractLayer(options);
export const Multiply = (options?: MergeOptions): MultiplyLayer => new MultiplyLayer(options);
export const Average = (options?: MergeOptions): AverageLayer => new AverageLayer(options);
export const Maximum = (options?: MergeOptions): MaximumLayer => new MaximumLayer(options);
export const Minimum = (options?: MergeOptions): MinimumLayer => new MinimumLayer(options);
export const Concatenate = (options?: ConcatenateOptions): ConcatenateLayer => new ConcatenateLayer(options);
export const Embedding = (options: EmbeddingOptions): EmbeddingLayer => new EmbeddingLayer(options);
export const Activation = (options: ActivationOptions): ActivationLayer => new ActivationLayer(options);
export { ActivationLayer, AddLayer, SubtractLayer, MultiplyLayer, AverageLayer, MaximumLayer, MinimumLayer, ConcatenateLayer, EmbeddingLayer };
export type { MergeOptions, ConcatenateOptions, EmbeddingOptions, ActivationOptions };
/** Lower-case aliases. */
export const dense = Dense;
export const dropout = Dropout;

const FROM_CONFIG: Record<string, (c: LayerConfig) => Layer> = {
  InputLayer: (c) => new InputLayer(c as unknown as InputOptions),
  Dense: (c) => new DenseLayer(c as unknown as DenseOptions),
  Dropout: (c) => new DropoutLayer(c as unknown as DropoutOptions),
  Conv2D: (c) => new Conv2DLayer(c as unknown as Conv2DOptions),
  MaxPooling2D: (c) => new MaxPooling2DLayer(c as unknown as Pooling2DOptions),
  AveragePooling2D: (c) => new AveragePooling2DLayer(c as unknown as Pooling2DOptions),
  GlobalAveragePooling2D: (c) => new GlobalAveragePooling2DLayer(c as unknown as GlobalPooling2DOptions),
  GlobalMaxPooling2D: (c) => new GlobalMaxPooling2DLayer(c as unknown as GlobalPooling2DOptions),
  Flatten: (c) => new FlattenLayer(c as unknown as FlattenOptions),
  Reshape: (c) => new ReshapeLayer(c as unknown as ReshapeOptions),
  BatchNormalization: (c) => new BatchNormalizationLayer(c as unknown as BatchNormalizationOptions),
  LayerNormalization: (c) => new LayerNormalizationLayer(c as unknown as LayerNormalizationOptions),
  Add: (c) => new AddLayer(c as unknown as MergeOptions),
  Subtract: (c) => new SubtractLayer(c as unknown as MergeOptions),
  Multiply: (c) => new MultiplyLayer(c as unknown as MergeOptions),
  Average: (c) => new AverageLayer(c as unknown as MergeOptions),
  Maximum: (c) => new MaximumLayer(c as unknown as MergeOptions),
  Minimum: (c) => new MinimumLayer(c as unknown as MergeOptions),
  Concatenate: (c) => new ConcatenateLayer(c as unknown as ConcatenateOptions),
  Embedding: (c) => new EmbeddingLayer(c as unknown as EmbeddingOptions),
  Activation: (c) => new ActivationLayer(c as unknown as ActivationOptions),
};

export function layerFromConfig(config: LayerConfig): Layer {
  const make = own(FROM_CONFIG, config?.className);
  if (!make) throw unknownName('layer type', config?.className, Object.keys(FROM_CONFIG));
  // className picked the constructor; the rest are its options, checked like a user's.
  const { className: _className, ...options } = config;
  const layer = make(options as LayerConfig);
  layer.name = config.name;
  return layer;
}
