/**
 * The plain layer configs that the TensorFlow.js layers format is translated to and from.
 *
 * Each layer's own options and their translation live in its descriptor (layers/descriptor.ts).
 */

/** Activations lockstep implements, by their Keras names. */
export const ACTIVATIONS = [
  'linear',
  'relu',
  'tanh',
  'sigmoid',
  'softmax',
  'elu',
  'selu',
  'softplus',
  'gelu',
  'swish',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/**
 * A Keras snake_case name (`'glorot_uniform'`) or a class with its options
 * (`{ className: 'RandomNormal', config: { stddev: 0.1 } }`).
 */
export type InitializerSpec = string | { className: string; config?: Record<string, unknown> };

/**
 * A layer config as `layer.getConfig()` returns it and `fromModelTopology` reads it: camelCase options. Each
 * layer's options are declared by its descriptor (layers/descriptor.ts).
 */
export type LayerConfig = { className: string; name: string; [option: string]: unknown };

/** What `toModelTopology` accepts: a layer's `getConfig()`, checked field by field. */
export type LayerConfigLike = { className: string; name: string; [option: string]: unknown };
