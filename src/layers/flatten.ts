/** Flatten: [rows, ...sample shape] -> [rows, values per sample], in row-major (channels-last) order. */
import * as tf from '@tensorflow/tfjs-core';
import { checkLayerOptions } from '../errors.js';
import { dataFormatOption, layerWhere } from './conv-shapes.js';
import { Layer, type BackwardResult, type ForwardResult, type LayerConfig, type RowPart, type T } from './layer.js';
import { describeLayer } from './descriptor.js';
import { channelsLast } from '../io/keras-fields.js';

export interface FlattenOptions {
  dataFormat?: 'channels_last';
  inputShape?: number[];
  name?: string;
}

export class Flatten extends Layer {
  readonly className = 'Flatten';

  constructor(options: FlattenOptions = {}) {
    super(options?.name);
    const where = layerWhere('Flatten', options?.name);
    checkLayerOptions(where, options, ['dataFormat', 'inputShape', 'name'], { inputShape: 'shape' });
    dataFormatOption(where, options.dataFormat);
    this.declaredInputShape = options.inputShape;
  }

  get defaultName(): string {
    return 'flatten';
  }

  computeOutputShape(inputShape: number[]): number[] {
    return [inputShape.reduce((a, b) => a * b, 1)];
  }

  forward(x: T): ForwardResult {
    return { y: tf.reshape(x, [x.shape[0], x.size / x.shape[0]]), cache: x.shape };
  }

  backward(dy: T, cache: unknown, _w: unknown, _needDx: boolean, parts: RowPart[]): BackwardResult {
    return { dx: tf.reshape(dy, cache as number[]), grads: parts.map(() => []) };
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/** Flatten as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const FLATTEN = describeLayer({
  className: 'Flatten',
  options: { dataFormat: { default: 'channels_last' } },
  create: (options?: FlattenOptions) => new Flatten(options),
  keras: {
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
  },
});
