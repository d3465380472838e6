/** Input: declares the shape of one row (without the batch dimension). Holds no weights; not in summary(). */
import { badOption, checkLayerOptions } from '../errors.js';
import { Layer, type BackwardResult, type ForwardResult, type LayerConfig, type T, type RowPart } from './layer.js';
import { describeLayer } from './descriptor.js';
import { batchShape, rowShape } from '../io/keras-fields.js';

export interface InputOptions {
  shape: number[];
  name?: string;
}

export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  readonly shape: number[];

  constructor(options: InputOptions) {
    checkLayerOptions('Input', options, ['shape', 'name']);
    super(options?.name);
    const shape = options?.shape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw badOption('Input', 'shape', 'a non-empty array of positive integers, e.g. [784]', shape);
    }
    this.shape = [...shape];
  }

  get defaultName(): string {
    return 'input_layer';
  }

  computeOutputShape(): number[] {
    return this.shape;
  }

  forward(x: T): ForwardResult {
    return { y: x, cache: null };
  }

  backward(dy: T, _c: unknown, _w: unknown, _n: boolean, parts: RowPart[]): BackwardResult {
    return { dx: dy, grads: parts.map(() => []) };
  }

  getConfig(): LayerConfig {
    return { className: this.className, name: this.name, shape: this.shape };
  }
}

/** The model's input as a layer type (see layers/descriptor.ts); Keras writes it first, with the batch dimension. */
export const INPUT_LAYER = describeLayer({
  className: 'InputLayer',
  options: { shape: { rule: 'a non-empty array of positive integers' } },
  create: (options: InputOptions) => new InputLayer(options),
  input: true,
  keras: {
    fields: [],
    toKeras: (l, where) => ({
      batch_input_shape: batchShape(l.shape, where, 'shape'),
      dtype: 'float32',
      sparse: false,
    }),
    fromKeras: (c, where) => ({ shape: rowShape(c.batch_input_shape ?? c.batch_shape, where) }),
  },
});
