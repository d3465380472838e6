/**
 * MaxPooling2D and AveragePooling2D over [rows, height, width, channels], on tfjs-wasm's pooling kernels and
 * their gradient kernels (MaxPoolGrad, AvgPoolGrad). Keras's defaults: strides = poolSize, padding 'valid'.
 * Average pooling with 'same' padding divides by the values inside the input, as TensorFlow does.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkLayerOptions } from '../errors.js';
import { maxPoolGradient } from '../ops/conv-grads.js';
import { dataFormatOption, layerWhere, pairOption, paddingOption, windowPlan, type Padding } from './conv-shapes.js';
import { Layer, type BackwardResult, type ForwardResult, type LayerConfig, type RowPart, type T } from './layer.js';
import { describeLayer, type KerasCodec, type OptionSpec } from './descriptor.js';
import { channelsLast } from '../io/keras-fields.js';

export interface Pooling2DOptions {
  /** An int or [height, width]; default 2. */
  poolSize?: number | [number, number];
  /** Default: poolSize. */
  strides?: number | [number, number] | null;
  padding?: Padding;
  dataFormat?: 'channels_last';
  inputShape?: number[];
  name?: string;
}

const OPTIONS = ['poolSize', 'strides', 'padding', 'dataFormat', 'inputShape', 'name'];

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  protected abstract readonly kernel: 'MaxPool' | 'AvgPool';

  constructor(className: string, options: Pooling2DOptions = {}) {
    super(options?.name);
    const where = layerWhere(className, options?.name);
    checkLayerOptions(where, options, OPTIONS, { inputShape: 'shape' });
    this.poolSize = pairOption(where, 'poolSize', options.poolSize ?? 2);
    this.strides =
      options.strides === undefined || options.strides === null
        ? this.poolSize
        : pairOption(where, 'strides', options.strides);
    this.padding = paddingOption(where, options.padding);
    dataFormatOption(where, options.dataFormat);
    this.declaredInputShape = options.inputShape;
  }

  computeOutputShape(inputShape: number[]): number[] {
    const [ph, pw] = windowPlan(
      layerWhere(this.className, this.name),
      inputShape,
      { size: this.poolSize, strides: this.strides, dilation: [1, 1], padding: this.padding },
      'pool',
    );
    return [ph.out, pw.out, inputShape[2]];
  }

  forward(x: T): ForwardResult {
    const y = tf
      .engine()
      .runKernel(this.kernel, { x }, { filterSize: this.poolSize, strides: this.strides, pad: this.padding }) as T;
    return { y, cache: { x, y } };
  }

  backward(dy: T, cache: unknown, _w: unknown, _needDx: boolean, parts: RowPart[]): BackwardResult {
    const { x, y } = cache as { x: T; y: T };
    if (this.kernel === 'MaxPool') {
      const [ph, pw] = windowPlan(this.className, x.shape.slice(1), {
        size: this.poolSize,
        strides: this.strides,
        dilation: [1, 1],
        padding: this.padding,
      });
      return {
        dx: maxPoolGradient(x, y, dy, { size: this.poolSize, strides: this.strides, plan: [ph, pw] }),
        grads: parts.map(() => []),
      };
    }
    const attrs = { filterSize: this.poolSize, strides: this.strides, pad: this.padding };
    // tfjs's AvgPoolGrad divides every window by its full area, but the forward pass (as TensorFlow's)
    // divides a window that reaches into 'same' padding by its values inside the input: rescale those.
    const scaled = this.padding === 'same' ? tf.mul(dy, this.edgeScale(x.shape.slice(1))) : dy;
    return {
      dx: tf.engine().runKernel('AvgPoolGrad', { dy: scaled, input: x }, attrs) as T,
      grads: parts.map(() => []),
    };
  }

  /** [1, oh, ow, 1]: each output's pool area over its values inside the input (1 away from the edges). */
  private edgeScale(inputShape: number[]): tf.Tensor {
    const plans = windowPlan(this.className, inputShape, {
      size: this.poolSize,
      strides: this.strides,
      dilation: [1, 1],
      padding: this.padding,
    });
    const inside = plans.map((p, a) =>
      Array.from({ length: p.out }, (_, i) => {
        const first = i * this.strides[a] - p.before;
        return Math.min(first + this.poolSize[a], inputShape[a]) - Math.max(first, 0);
      }),
    );
    const area = this.poolSize[0] * this.poolSize[1];
    const scale = new Float32Array(plans[0].out * plans[1].out);
    inside[0].forEach((rows, i) =>
      inside[1].forEach((cols, j) => (scale[i * plans[1].out + j] = area / (rows * cols))),
    );
    return tf.tensor4d(scale, [1, plans[0].out, plans[1].out, 1]);
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      poolSize: this.poolSize,
      strides: this.strides,
      padding: this.padding,
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/** The largest value of each window; its gradient goes to that value (the first one, on a tie). */
export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  protected readonly kernel = 'MaxPool';
  constructor(options: Pooling2DOptions = {}) {
    super('MaxPooling2D', options);
  }
  get defaultName(): string {
    return 'max_pooling2d';
  }
}

/** The mean of each window. */
export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  protected readonly kernel = 'AvgPool';
  constructor(options: Pooling2DOptions = {}) {
    super('AveragePooling2D', options);
  }
  get defaultName(): string {
    return 'average_pooling2d';
  }
}

const POOLING_OPTIONS: Record<string, OptionSpec> = {
  poolSize: { default: 2 },
  strides: { default: null },
  padding: { default: 'valid' },
  dataFormat: { default: 'channels_last' },
};

// Keras's pooling defaults: a 2x2 window, strides = the window, 'valid'.
const POOLING_CODEC: KerasCodec = {
  fields: ['pool_size', 'strides', 'padding', 'data_format'],
  toKeras: (l, where) => {
    channelsLast(l.dataFormat, where, 'dataFormat');
    const pool_size = pairOption(where, 'poolSize', l.poolSize);
    const strides = l.strides == null ? pool_size : pairOption(where, 'strides', l.strides);
    return { pool_size, padding: paddingOption(where, l.padding), strides, data_format: 'channels_last' };
  },
  fromKeras: (c, where) => {
    channelsLast(c.data_format, where, 'data_format');
    const poolSize = pairOption(where, 'pool_size', c.pool_size ?? 2);
    const strides = c.strides == null ? poolSize : pairOption(where, 'strides', c.strides);
    return { poolSize, strides, padding: paddingOption(where, c.padding ?? 'valid') };
  },
};

/** MaxPooling2D and AveragePooling2D as layer types (see layers/descriptor.ts). */
export const MAX_POOLING_2D = describeLayer({
  className: 'MaxPooling2D',
  options: POOLING_OPTIONS,
  create: (options?: Pooling2DOptions) => new MaxPooling2D(options),
  keras: POOLING_CODEC,
});
export const AVERAGE_POOLING_2D = describeLayer({
  className: 'AveragePooling2D',
  options: POOLING_OPTIONS,
  create: (options?: Pooling2DOptions) => new AveragePooling2D(options),
  keras: POOLING_CODEC,
});
