/**
 * GlobalAveragePooling2D and GlobalMaxPooling2D: one value per channel over height and width,
 * [rows, h, w, c] -> [rows, c] (or [rows, 1, 1, c] with keepdims, as Keras).
 */
import * as tf from '@tensorflow/tfjs-core';
import { badOption, checkLayerOptions } from '../errors.js';
import { dataFormatOption, layerWhere } from './conv-shapes.js';
import { Layer, type BackwardResult, type ForwardResult, type LayerConfig, type RowPart, type T } from './layer.js';
import { describeLayer, type KerasCodec, type OptionSpec } from './descriptor.js';
import { bool, channelsLast } from '../io/keras-fields.js';

export interface GlobalPooling2DOptions {
  /** Keep the spatial axes as size 1. Default false. */
  keepdims?: boolean;
  dataFormat?: 'channels_last';
  inputShape?: number[];
  name?: string;
}

const OPTIONS = ['keepdims', 'dataFormat', 'inputShape', 'name'];

abstract class GlobalPooling2D extends Layer {
  readonly keepdims: boolean;

  constructor(className: string, options: GlobalPooling2DOptions = {}) {
    super(options?.name);
    const where = layerWhere(className, options?.name);
    checkLayerOptions(where, options, OPTIONS, { inputShape: 'shape' });
    if (options.keepdims !== undefined && typeof options.keepdims !== 'boolean')
      throw badOption(where, 'keepdims', 'a boolean', options.keepdims);
    this.keepdims = options.keepdims ?? false;
    dataFormatOption(where, options.dataFormat);
    this.declaredInputShape = options.inputShape;
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) {
      throw new Error(
        `${layerWhere(this.className, this.name)} expects inputs of rank 4, i.e. shape (None, height, width, channels). Received: (None, ${inputShape.join(', ')})`,
      );
    }
    return this.keepdims ? [1, 1, inputShape[2]] : [inputShape[2]];
  }

  /** [rows, h * w, c]: each channel's values along axis 1. */
  protected flat(x: T): tf.Tensor3D {
    const [n, h, w, c] = x.shape;
    return tf.reshape(x, [n, h! * w!, c!]);
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      keepdims: this.keepdims,
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

export class GlobalAveragePooling2D extends GlobalPooling2D {
  readonly className = 'GlobalAveragePooling2D';
  constructor(options: GlobalPooling2DOptions = {}) {
    super('GlobalAveragePooling2D', options);
  }
  get defaultName(): string {
    return 'global_average_pooling2d';
  }
  forward(x: T): ForwardResult {
    return { y: tf.mean(x, [1, 2], this.keepdims), cache: x.shape };
  }
  backward(dy: T, cache: unknown, _w: unknown, _needDx: boolean, parts: RowPart[]): BackwardResult {
    const [n, h, w, c] = cache as number[];
    // Each input value contributed 1 / (h * w) of its channel's mean.
    const share = tf.div(tf.reshape(dy, [n, 1, 1, c]), h * w);
    return { dx: tf.mul(share, tf.ones([1, h, w, 1])), grads: parts.map(() => []) };
  }
}

export class GlobalMaxPooling2D extends GlobalPooling2D {
  readonly className = 'GlobalMaxPooling2D';
  constructor(options: GlobalPooling2DOptions = {}) {
    super('GlobalMaxPooling2D', options);
  }
  get defaultName(): string {
    return 'global_max_pooling2d';
  }
  forward(x: T): ForwardResult {
    return { y: tf.max(x, [1, 2], this.keepdims), cache: x };
  }
  backward(dy: T, cache: unknown, _w: unknown, _needDx: boolean, parts: RowPart[]): BackwardResult {
    const x = cache as T;
    const [n, , , c] = x.shape;
    // As TensorFlow's gradient of a max: shared equally by every position that holds the maximum.
    const flat = this.flat(x);
    const hit = tf.cast(tf.equal(flat, tf.max(flat, 1, true)), 'float32');
    const share = tf.div(tf.reshape(dy, [n, 1, c!]), tf.sum(hit, 1, true));
    return { dx: tf.reshape(tf.mul(hit, share), x.shape), grads: parts.map(() => []) };
  }
}

const GLOBAL_POOLING_OPTIONS: Record<string, OptionSpec> = {
  keepdims: { default: false },
  dataFormat: { default: 'channels_last' },
};

const GLOBAL_POOLING_CODEC: KerasCodec = {
  fields: ['data_format', 'keepdims'],
  toKeras: (l, where) => {
    channelsLast(l.dataFormat, where, 'dataFormat');
    // tfjs-layers 4.22 has no keepdims: it would read the file as a model with other output shapes.
    if (bool(l.keepdims, where, 'keepdims')) {
      throw new Error(
        `${where}: keepdims=true cannot be saved in the TensorFlow.js layers format: tfjs-layers 4.22 ignores keepdims and would load another model. ` +
          'Use keepdims false followed by a Reshape to [1, 1, channels]',
      );
    }
    return { data_format: 'channels_last' };
  },
  fromKeras: (c, where) => {
    channelsLast(c.data_format, where, 'data_format');
    return { keepdims: bool(c.keepdims ?? false, where, 'keepdims') };
  },
};

/** GlobalAveragePooling2D and GlobalMaxPooling2D as layer types (see layers/descriptor.ts). */
export const GLOBAL_AVERAGE_POOLING_2D = describeLayer({
  className: 'GlobalAveragePooling2D',
  options: GLOBAL_POOLING_OPTIONS,
  create: (options?: GlobalPooling2DOptions) => new GlobalAveragePooling2D(options),
  keras: GLOBAL_POOLING_CODEC,
});
export const GLOBAL_MAX_POOLING_2D = describeLayer({
  className: 'GlobalMaxPooling2D',
  options: GLOBAL_POOLING_OPTIONS,
  create: (options?: GlobalPooling2DOptions) => new GlobalMaxPooling2D(options),
  keras: GLOBAL_POOLING_CODEC,
});
