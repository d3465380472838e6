/**
 * The plain layer configs that the TensorFlow.js layers format is translated to and from.
 *
 * These are lockstep's camelCase configs (what `layer.getConfig()` returns), written as type aliases so
 * they stay assignable to the looser `{ className, name, [option]: unknown }` the layers use.
 */

/** Activations lockstep implements, by their Keras names. */
export const ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax', 'elu', 'selu', 'softplus', 'gelu', 'swish'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Layer types the format module reads and writes. */
export const LAYER_TYPES = [
  'InputLayer',
  'Dense',
  'Dropout',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Reshape',
  'BatchNormalization',
  'LayerNormalization',
  'Add',
  'Subtract',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Concatenate',
  'Embedding',
  'Activation',
] as const;

/** A Keras snake_case name (`'glorot_uniform'`) or a class with its options (`{ className: 'RandomNormal', config: { stddev: 0.1 } }`). */
export type InitializerSpec = string | { className: string; config?: Record<string, unknown> };

export type Padding = 'valid' | 'same';

/** One sample's shape, any rank: [19] for a row of features, [28, 28, 1] for an image (height, width, channels). */
export type InputLayerConfig = { className: 'InputLayer'; name: string; shape: number[] };

export type DenseConfig = {
  className: 'Dense';
  name: string;
  units: number;
  activation: ActivationName;
  useBias: boolean;
  kernelInitializer: InitializerSpec;
  biasInitializer: InitializerSpec;
};

export type DropoutConfig = { className: 'Dropout'; name: string; rate: number };

/** Channels last; kernel [kh, kw, inChannels, filters]. */
export type Conv2DConfig = {
  className: 'Conv2D';
  name: string;
  filters: number;
  kernelSize: [number, number];
  strides: [number, number];
  padding: Padding;
  dilationRate: [number, number];
  activation: ActivationName;
  useBias: boolean;
  kernelInitializer: InitializerSpec;
  biasInitializer: InitializerSpec;
};

export type Pooling2DConfig = { className: 'MaxPooling2D' | 'AveragePooling2D'; name: string; poolSize: [number, number]; strides: [number, number]; padding: Padding };

export type GlobalPooling2DConfig = { className: 'GlobalAveragePooling2D' | 'GlobalMaxPooling2D'; name: string; keepdims: boolean };

export type FlattenConfig = { className: 'Flatten'; name: string };

/** One dimension may be -1 (inferred). */
export type ReshapeConfig = { className: 'Reshape'; name: string; targetShape: number[] };

export type BatchNormalizationConfig = {
  className: 'BatchNormalization';
  name: string;
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  betaInitializer: InitializerSpec;
  gammaInitializer: InitializerSpec;
  movingMeanInitializer: InitializerSpec;
  movingVarianceInitializer: InitializerSpec;
};

export type LayerNormalizationConfig = {
  className: 'LayerNormalization';
  name: string;
  axis: number | number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  betaInitializer: InitializerSpec;
  gammaInitializer: InitializerSpec;
};

export type LayerConfig =
  | BatchNormalizationConfig
  | LayerNormalizationConfig
  | InputLayerConfig
  | DenseConfig
  | DropoutConfig
  | Conv2DConfig
  | Pooling2DConfig
  | GlobalPooling2DConfig
  | FlattenConfig
  | ReshapeConfig;

/** What `toModelTopology` accepts: a layer's `getConfig()`, checked field by field. */
export type LayerConfigLike = { className: string; name: string; [option: string]: unknown };
