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
export const LAYER_TYPES = ['InputLayer', 'Dense', 'Dropout'] as const;

/** A Keras snake_case name (`'glorot_uniform'`) or a class with its options (`{ className: 'RandomNormal', config: { stddev: 0.1 } }`). */
export type InitializerSpec = string | { className: string; config?: Record<string, unknown> };

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

export type LayerConfig = InputLayerConfig | DenseConfig | DropoutConfig;

/** What `toModelTopology` accepts: a layer's `getConfig()`, checked field by field. */
export type LayerConfigLike = { className: string; name: string; [option: string]: unknown };
