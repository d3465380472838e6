/**
 * Conv2D: y = activation(conv(x, kernel) + bias) over [rows, height, width, channels] (channels last, as
 * Keras), kernel [kh, kw, inChannels, filters]. 3x3 stride-1 convolutions run all three passes as Winograd
 * convolutions (ops/winograd.ts) where the backend allows; otherwise forward is tfjs-wasm's fused convolution
 * (XNNPACK, bias and a fusable activation in the same call) and the gradients are in ops/conv-grads.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Activation, getActivation } from '../activations.js';
import type { InitializerConfig } from '../initializers.js';
import { checkLayerOptions, checkPositiveInt } from '../errors.js';
import { columnSumsOf } from '../ops/elementwise.js';
import { filterGradient, inputGradient, type ConvGeometry } from '../ops/conv-grads.js';
import { hookedActivation, type TaskHooks } from '../testing.js';
import { PackedOperands } from '../ops/packed-operands.js';
import { timed } from '../ops/profile.js';
import { WinogradConv, winogradAvailable, winogradTile, type TileSize } from '../ops/winograd.js';
import { dataFormatOption, layerWhere, pairOption, paddingOption, windowPlan, type Padding } from './conv-shapes.js';
import {
  REGULARIZER_OPTIONS,
  REGULARIZER_OPTION_SPECS,
  WEIGHTED_OPTION_SPECS,
  regularizerConfig,
  regularizerOptions,
  weightedLayerOptions,
} from './weighted-options.js';
import { regularizersFromKeras, regularizersToKeras, type RegularizerConfig } from '../regularizers.js';
import {
  Layer,
  type BackwardResult,
  type ForwardContext,
  type ForwardResult,
  type LayerConfig,
  type ParamSpec,
  type RowPart,
  type T,
  type Weights,
} from './layer.js';
import { describeLayer } from './descriptor.js';
import {
  KERAS3_EXTRAS,
  REGULARIZER_FIELDS,
  UNSUPPORTED_IF_SET,
  activation,
  bool,
  channelsLast,
  checkStridesAndDilation,
  initializersFromKeras,
  initializersToKeras,
  notSet,
  nulls,
  positiveInt,
  required,
} from '../io/keras-fields.js';
import { quote } from '../io/json.js';

export interface Conv2DOptions {
  filters: number;
  /** An int or [height, width]. */
  kernelSize: number | [number, number];
  /** Default 1. */
  strides?: number | [number, number];
  /** 'valid' (default) or 'same'. */
  padding?: Padding;
  /** Only 'channels_last'. */
  dataFormat?: 'channels_last';
  /** Default 1; strides and dilation cannot both exceed 1 (as in Keras). */
  dilationRate?: number | [number, number];
  /** Keras name; default 'linear'. */
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: InitializerConfig;
  biasInitializer?: InitializerConfig;
  /** Keras 2 style: the shape of one input sample, instead of a separate Input layer. */
  inputShape?: number[];
  name?: string;
}

const OPTIONS = [
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'dilationRate',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
  'inputShape',
  'name',
  ...REGULARIZER_OPTIONS,
];

interface ConvCache {
  x: T;
  z?: T;
  y: T;
  act: Activation;
  hooks?: TaskHooks;
}

/** [rows, ..., channels] as [rows * ..., channels]: a view for the per-channel activations and sums. */
const channels2d = (t: T): tf.Tensor2D => tf.reshape(t, [t.size / t.shape[t.rank - 1], t.shape[t.rank - 1]]);

export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly dilationRate: [number, number];
  readonly activation: Activation;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;
  readonly kernelRegularizer?: RegularizerConfig;
  readonly biasRegularizer?: RegularizerConfig;
  private geometry?: ConvGeometry;
  /** Winograd's F(m x m, 3x3) for this layer's shapes, or undefined: the direct path (ops/winograd.ts). */
  private tile?: TileSize;
  private winogradOps?: WinogradConv;
  /** The filter gradient's right operand (each part's dz), kept packed across steps (ops/packed-operands.ts). */
  private dzOperands?: PackedOperands;

  constructor(options: Conv2DOptions) {
    super(options?.name);
    const where = layerWhere('Conv2D', options?.name);
    checkLayerOptions(where, options, OPTIONS, { activation: 'name', inputShape: 'shape' });
    this.filters = checkPositiveInt(where, 'filters', options?.filters);
    this.kernelSize = pairOption(where, 'kernelSize', options.kernelSize);
    this.strides = pairOption(where, 'strides', options.strides ?? 1);
    this.padding = paddingOption(where, options.padding);
    dataFormatOption(where, options.dataFormat);
    this.dilationRate = pairOption(where, 'dilationRate', options.dilationRate ?? 1);
    if (this.strides.some((s) => s > 1) && this.dilationRate.some((d) => d > 1)) {
      throw new RangeError(
        `${where}: strides > 1 are not supported together with dilationRate > 1. Received: strides=${JSON.stringify(options.strides)}, dilationRate=${JSON.stringify(options.dilationRate)}`,
      );
    }
    ({
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
      declaredInputShape: this.declaredInputShape,
    } = weightedLayerOptions(where, options));
    ({
      kernelRegularizer: this.kernelRegularizer,
      biasRegularizer: this.biasRegularizer,
      activityRegularizer: this.activityRegularizer,
    } = regularizerOptions(where, options));
  }

  get defaultName(): string {
    return 'conv2d';
  }

  dispose(): void {
    super.dispose();
    this.dzOperands?.dispose();
    this.dzOperands = undefined;
    this.winogradOps?.dispose();
    this.winogradOps = undefined;
  }

  get outputActivation(): string {
    return this.activation.name;
  }

  computeOutputShape(inputShape: number[]): number[] {
    const plan = windowPlan(layerWhere('Conv2D', this.name), inputShape, {
      size: this.kernelSize,
      strides: this.strides,
      dilation: this.dilationRate,
      padding: this.padding,
    });
    this.geometry = { kernel: this.kernelSize, strides: this.strides, dilation: this.dilationRate, plan };
    this.tile = winogradTile(this.geometry, inputShape[2]);
    this.winogradOps?.dispose();
    this.winogradOps = undefined;
    return [plan[0].out, plan[1].out, this.filters];
  }

  params(): ParamSpec[] {
    const [kh, kw] = this.kernelSize;
    const cin = this.inputShape![2];
    // Keras's fans for a convolution kernel: channels times the receptive field.
    const fanIn = kh * kw * cin;
    const fanOut = kh * kw * this.filters;
    const p: ParamSpec[] = [
      {
        name: 'kernel',
        shape: [kh, kw, cin, this.filters],
        initializer: this.kernelInitializer,
        fanIn,
        fanOut,
        regularizer: this.kernelRegularizer,
      },
    ];
    if (this.useBias)
      p.push({
        name: 'bias',
        shape: [this.filters],
        initializer: this.biasInitializer,
        fanIn,
        fanOut,
        regularizer: this.biasRegularizer,
      });
    return p;
  }

  /** The explicit padding of both spatial axes, as tfjs takes it. */
  private pad(): [[number, number], [number, number], [number, number], [number, number]] {
    const [ph, pw] = this.geometry!.plan;
    return [
      [0, 0],
      [ph.before, ph.after],
      [pw.before, pw.after],
      [0, 0],
    ];
  }

  forward(x: T, w: Weights, ctx: ForwardContext): ForwardResult {
    const act = hookedActivation(ctx.logits ? getActivation('linear') : this.activation, ctx.hooks);
    const fused = act.fused && !act.needsZ ? act.fused : 'linear';
    const [kernel, bias] = w.values as [tf.Tensor4D, tf.Tensor1D | undefined];
    const wino = this.winograd();
    // Winograd's output transform adds the bias and applies relu; any other activation runs after it.
    const inConv = wino && fused !== 'relu' ? 'linear' : fused;
    const conv = wino
      ? wino.forward(x, kernel, bias, inConv === 'relu')
      : tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: kernel,
          strides: this.strides,
          pad: this.pad(),
          dilations: this.dilationRate,
          bias,
          activation: inConv,
        });
    if (inConv === act.name) return { y: conv, cache: { x, y: conv, act, hooks: ctx.hooks } satisfies ConvCache };
    const y = tf.reshape(act.forward(channels2d(conv)), conv.shape);
    return { y, cache: { x, z: conv, y, act, hooks: ctx.hooks } satisfies ConvCache };
  }

  backward(dy: T, cache: unknown, w: Weights, needDx: boolean, parts: RowPart[]): BackwardResult {
    const { x, z, y, act, hooks } = cache as ConvCache;
    const dz2d = act.backward(channels2d(dy), channels2d(y), z && channels2d(z));
    const pixels = y.shape[1]! * y.shape[2]!;
    const wino = this.winograd();
    // Bias sums first: the host fallback reads a heap view, valid only until the next tfjs allocation.
    const biasGrads = parts.map(({ start, rows }) =>
      this.useBias ? columnSumsOf(dz2d, start * pixels, rows * pixels) : undefined,
    );
    const grads = parts.map(({ start, rows }, i) => {
      let kernelGrad: tf.Tensor2D = timed('Conv2D filter gradient', () =>
        wino
          ? wino.filterGradient(x, dz2d, start, rows)
          : filterGradient(
              x,
              dz2d,
              start,
              rows,
              this.geometry!,
              (this.dzOperands ??= new PackedOperands(this.filters)),
            ),
      );
      // Test-only: a filter gradient off by a factor, which the gradient checks must catch.
      if (hooks?.plant === 'conv-filter') kernelGrad = tf.mul(kernelGrad, 1.01);
      return biasGrads[i] ? [kernelGrad, biasGrads[i]!] : [kernelGrad];
    });
    const dx = needDx
      ? timed('Conv2D input gradient', () =>
          wino
            ? wino.inputGradient(dz2d, w.values[0], x.shape)
            : inputGradient(
                tf.reshape(dz2d, y.shape as [number, number, number, number]) as tf.Tensor4D,
                w.values[0] as tf.Tensor4D,
                x.shape,
                this.geometry!,
              ),
        )
      : undefined;
    return { dx, grads };
  }

  /** The Winograd convolution when this layer has a variant and the backend can run it (tfjs-wasm), else undefined. */
  private winograd(): WinogradConv | undefined {
    if (!this.tile || !winogradAvailable()) return undefined;
    return (this.winogradOps ??= new WinogradConv(this.geometry!, this.inputShape![2], this.filters, this.tile));
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      activation: this.activation.name,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
      ...regularizerConfig(this),
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/** Conv2D as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const CONV2D = describeLayer({
  className: 'Conv2D',
  options: {
    filters: { rule: 'a positive integer', check: (v) => Number.isInteger(v) && (v as number) > 0 },
    kernelSize: { rule: 'a positive integer or [height, width]' },
    strides: { default: 1 },
    padding: { default: 'valid' },
    dataFormat: { default: 'channels_last' },
    dilationRate: { default: 1 },
    ...WEIGHTED_OPTION_SPECS,
    ...REGULARIZER_OPTION_SPECS,
  },
  create: (options: Conv2DOptions) => new Conv2D(options),
  keras: {
    fields: [
      'filters',
      'kernel_size',
      'strides',
      'padding',
      'data_format',
      'dilation_rate',
      'groups',
      'activation',
      'use_bias',
      'kernel_initializer',
      'bias_initializer',
      ...REGULARIZER_FIELDS,
      ...UNSUPPORTED_IF_SET,
      ...KERAS3_EXTRAS,
    ],
    toKeras: (l, where) => {
      const strides = pairOption(where, 'strides', l.strides);
      const dilation_rate = pairOption(where, 'dilationRate', l.dilationRate);
      checkStridesAndDilation(strides, dilation_rate, where, 'strides', 'dilationRate');
      channelsLast(l.dataFormat, where, 'dataFormat');
      return {
        filters: positiveInt(l.filters, where, 'filters'),
        kernel_size: pairOption(where, 'kernelSize', l.kernelSize),
        strides,
        padding: paddingOption(where, l.padding),
        data_format: 'channels_last',
        dilation_rate,
        activation: activation(l.activation, where),
        use_bias: bool(l.useBias, where, 'useBias'),
        ...initializersToKeras(l, where),
        ...regularizersToKeras(l, where),
        ...nulls(UNSUPPORTED_IF_SET),
      };
    },
    fromKeras: (c, where) => {
      notSet(c, [...UNSUPPORTED_IF_SET, 'lora_rank', 'quantization_config'], where);
      channelsLast(c.data_format, where, 'data_format');
      if (c.groups != null && c.groups !== 1)
        throw new Error(
          `${where}: grouped convolutions are not supported (groups must be 1). Received: groups=${quote(c.groups)}`,
        );
      const strides = pairOption(where, 'strides', c.strides ?? 1);
      const dilationRate = pairOption(where, 'dilation_rate', c.dilation_rate ?? 1);
      checkStridesAndDilation(strides, dilationRate, where, 'strides', 'dilation_rate');
      return {
        filters: positiveInt(required(c, 'filters', where), where, 'filters'),
        kernelSize: pairOption(where, 'kernel_size', required(c, 'kernel_size', where)),
        strides,
        padding: paddingOption(where, c.padding ?? 'valid'),
        dilationRate,
        activation: activation(c.activation ?? 'linear', where),
        useBias: bool(c.use_bias ?? true, where, 'use_bias'),
        ...initializersFromKeras(c, where),
        ...regularizersFromKeras(c, where),
      };
    },
  },
});
