/** Input: declares the shape of one row (without the batch dimension). Holds no weights; not in summary(). */
import { badOption, checkLayerOptions } from '../errors.js';
import { Layer, type BackwardResult, type ForwardResult, type LayerConfig, type T, type RowPart } from './layer.js';

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
