/**
 * Layer factories with Keras's names: `layers.Dense({ units: 10, activation: 'softmax' })`.
 * `layerFromConfig(layer.getConfig())` rebuilds a layer (the worker pool and model loading use it).
 */
import { Dense, type DenseOptions } from './dense.js';
import { Dropout, type DropoutOptions } from './dropout.js';
import { InputLayer, type InputOptions } from './input.js';
import type { Layer, LayerConfig } from './layer.js';
import { unknownName } from '../errors.js';

export { Dense, Dropout, InputLayer };
export type { DenseOptions, DropoutOptions, InputOptions };
export { Layer } from './layer.js';
export type { LayerConfig, ParamSpec, ForwardContext } from './layer.js';

export const Input = (options: InputOptions): InputLayer => new InputLayer(options);
export const dense = (options: DenseOptions): Dense => new Dense(options);
export const dropout = (options: DropoutOptions): Dropout => new Dropout(options);

const FROM_CONFIG: Record<string, (c: LayerConfig) => Layer> = {
  InputLayer: (c) => new InputLayer(c as unknown as InputOptions),
  Dense: (c) => new Dense(c as unknown as DenseOptions),
  Dropout: (c) => new Dropout(c as unknown as DropoutOptions),
};

export function layerFromConfig(config: LayerConfig): Layer {
  const make = FROM_CONFIG[config?.className];
  if (!make) throw unknownName('layer type', config?.className, Object.keys(FROM_CONFIG));
  const layer = make(config);
  layer.name = config.name;
  return layer;
}
