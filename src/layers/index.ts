/**
 * Layer factories with Keras's names: `layers.Dense({ units: 10, activation: 'softmax' })`.
 * `layerFromConfig(layer.getConfig())` rebuilds a layer (the worker pool and model loading use it).
 */
import { Dense as DenseLayer, type DenseOptions } from './dense.js';
import { Dropout as DropoutLayer, type DropoutOptions } from './dropout.js';
import { InputLayer, type InputOptions } from './input.js';
import type { Layer, LayerConfig } from './layer.js';
import { own, unknownName } from '../errors.js';

// Classes under explicit names; the Keras spellings below are factories, so `layers.Dense({...})` needs no `new`.
export { DenseLayer, DropoutLayer, InputLayer };
export type { DenseOptions, DropoutOptions, InputOptions };
export { Layer } from './layer.js';
export type { LayerConfig, ParamSpec, ForwardContext } from './layer.js';

export const Input = (options: InputOptions): InputLayer => new InputLayer(options);
export const Dense = (options: DenseOptions): DenseLayer => new DenseLayer(options);
export const Dropout = (options: DropoutOptions): DropoutLayer => new DropoutLayer(options);
/** Lower-case aliases. */
export const dense = Dense;
export const dropout = Dropout;

const FROM_CONFIG: Record<string, (c: LayerConfig) => Layer> = {
  InputLayer: (c) => new InputLayer(c as unknown as InputOptions),
  Dense: (c) => new DenseLayer(c as unknown as DenseOptions),
  Dropout: (c) => new DropoutLayer(c as unknown as DropoutOptions),
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
