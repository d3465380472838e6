/**
 * LayerNormalization: each sample is normalized over `axis` by its own mean and variance, then
 * y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, as Keras 3. Statistics are per row, so micro-shards
 * need no exchange.
 *
 * Options and defaults (Keras 3): axis -1 (an axis or a list of axes, counting the batch as axis 0), epsilon
 * 1e-3, center true (beta), scale true (gamma), gammaInitializer 'ones', betaInitializer 'zeros'. gamma and
 * beta have the shape of the normalized axes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InitializerConfig } from '../initializers.js';
import { badOption, checkLayerOptions, checkPositiveNumber } from '../errors.js';
import { layerWhere } from './conv-shapes.js';
import { AFFINE_OPTION_SPECS, affineOptions } from './weighted-options.js';
import {
  Layer,
  type BackwardResult,
  type ForwardResult,
  type LayerConfig,
  type ParamSpec,
  type RowPart,
  type T,
  type Weights,
} from './layer.js';
import { describeLayer } from './descriptor.js';
import {
  LN_INITIALIZERS,
  NORM_UNSUPPORTED,
  axes,
  bool,
  normInitializers,
  notSet,
  positive,
} from '../io/keras-fields.js';
import { quote } from '../io/json.js';

export interface LayerNormalizationOptions {
  /** The axis or axes to normalize over (the batch is axis 0; negative counts from the end). Default -1. */
  axis?: number | number[];
  /** Added to the variance. Default 1e-3. */
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerConfig;
  gammaInitializer?: InitializerConfig;
  inputShape?: number[];
  name?: string;
}

const OPTIONS = ['axis', 'epsilon', 'center', 'scale', 'betaInitializer', 'gammaInitializer', 'inputShape', 'name'];

interface LNCache {
  xhat: T;
  invStd: T;
}

export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  readonly axis: number | number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerConfig;
  readonly gammaInitializer: InitializerConfig;
  /**
   * The normalized axes of a batch (0 is the rows), sorted; the others with the rows; the weights' broadcast shape and
   * own shape.
   */
  private axes?: { normalized: number[]; reduced: number[]; broadcast: number[]; param: number[] };

  constructor(options: LayerNormalizationOptions = {}) {
    const where = layerWhere('LayerNormalization', options?.name);
    checkLayerOptions(where, options, OPTIONS, { inputShape: 'shape' });
    super(options?.name);
    const o = options ?? {};
    const axisOk = (a: unknown) => Number.isInteger(a);
    if (
      o.axis !== undefined &&
      !(axisOk(o.axis) || (Array.isArray(o.axis) && o.axis.length > 0 && o.axis.every(axisOk)))
    ) {
      throw badOption(where, 'axis', 'an integer or a non-empty array of integers', o.axis);
    }
    this.axis = Array.isArray(o.axis) ? [...o.axis] : (o.axis ?? -1);
    this.epsilon = o.epsilon === undefined ? 1e-3 : checkPositiveNumber(where, 'epsilon', o.epsilon);
    ({
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
    } = affineOptions(where, o));
    this.declaredInputShape = o.inputShape;
  }

  get defaultName(): string {
    return 'layer_normalization';
  }

  computeOutputShape(inputShape: number[]): number[] {
    const rank = inputShape.length + 1;
    const given = Array.isArray(this.axis) ? this.axis : [this.axis];
    const normalized = given.map((a) => (a < 0 ? a + rank : a));
    if (normalized.some((a) => a < 1 || a >= rank) || new Set(normalized).size !== normalized.length) {
      throw new RangeError(
        `${layerWhere('LayerNormalization', this.name)}: axis must name distinct feature axes of its input (None, ${inputShape.join(', ')}): ` +
          `1..${rank - 1} or -${rank - 1}..-1 (axis 0 is the batch). Received: axis=${JSON.stringify(this.axis)}`,
      );
    }
    // gamma and beta have the axes' sizes in the order given and are reshaped (not transposed) to broadcast,
    // as in Keras and tfjs-layers.
    const param = normalized.map((a) => inputShape[a - 1]);
    normalized.sort((a, b) => a - b);
    const reduced = [0, ...Array.from({ length: rank - 1 }, (_, i) => i + 1).filter((a) => !normalized.includes(a))];
    this.axes = {
      normalized,
      reduced,
      broadcast: [1, ...inputShape.map((d, i) => (normalized.includes(i + 1) ? d : 1))],
      param,
    };
    return [...inputShape];
  }

  params(): ParamSpec[] {
    const { param } = this.axes!;
    const size = param.reduce((p, d) => p * d, 1);
    const spec = (name: string, initializer: InitializerConfig): ParamSpec => ({
      name,
      shape: param,
      initializer,
      fanIn: size,
      fanOut: size,
    });
    const p: ParamSpec[] = [];
    if (this.scale) p.push(spec('gamma', this.gammaInitializer));
    if (this.center) p.push(spec('beta', this.betaInitializer));
    return p;
  }

  private weightsOf(w: Weights): { gamma?: T; beta?: T } {
    const v = [...w.values];
    const shape = this.axes!.broadcast;
    const gamma = this.scale ? tf.reshape(v.shift()!, shape) : undefined;
    const beta = this.center ? tf.reshape(v.shift()!, shape) : undefined;
    return { gamma, beta };
  }

  forward(x: T, w: Weights): ForwardResult {
    const { normalized } = this.axes!;
    const { gamma, beta } = this.weightsOf(w);
    const mean = tf.mean(x, normalized, true);
    const xc = tf.sub(x, mean);
    const variance = tf.mean(tf.square(xc), normalized, true);
    const invStd = tf.rsqrt(tf.add(variance, this.epsilon));
    const xhat = tf.mul(xc, invStd);
    let y = gamma ? tf.mul(xhat, gamma) : xhat;
    if (beta) y = tf.add(y, beta);
    return { y, cache: { xhat, invStd } satisfies LNCache };
  }

  backward(dy: T, cache: unknown, w: Weights, needDx: boolean, parts: RowPart[]): BackwardResult {
    const { xhat, invStd } = cache as LNCache;
    const { normalized, reduced, param } = this.axes!;
    const { gamma } = this.weightsOf(w);
    const grads = parts.map(({ start, rows }) => {
      const whole = start === 0 && rows === dy.shape[0];
      const dys = whole ? dy : tf.slice(dy, start, rows);
      const xs = whole ? xhat : tf.slice(xhat, start, rows);
      const out: T[] = [];
      if (this.scale) out.push(tf.reshape(tf.sum(tf.mul(dys, xs), reduced), param));
      if (this.center) out.push(tf.reshape(tf.sum(dys, reduced), param));
      return out;
    });
    if (!needDx) return { grads };
    // dx = s * (g - mean(g) - xhat * mean(g * xhat)) over the normalized axes, with g = dy * gamma.
    const g = gamma ? tf.mul(dy, gamma) : dy;
    const dx = tf.mul(
      invStd,
      tf.sub(tf.sub(g, tf.mean(g, normalized, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), normalized, true))),
    );
    return { dx, grads };
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      axis: Array.isArray(this.axis) ? [...this.axis] : this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/** LayerNormalization as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const LAYER_NORMALIZATION = describeLayer({
  className: 'LayerNormalization',
  options: { axis: { default: -1 }, epsilon: { default: 1e-3 }, ...AFFINE_OPTION_SPECS },
  create: (options?: LayerNormalizationOptions) => new LayerNormalization(options),
  keras: {
    fields: [
      'axis',
      'epsilon',
      'center',
      'scale',
      'rms_scaling',
      ...LN_INITIALIZERS.map((i) => i[1]),
      ...NORM_UNSUPPORTED,
    ],
    toKeras: (l, where) => ({
      axis: axes(l.axis, where, 'axis'),
      epsilon: positive(l.epsilon, where, 'epsilon'),
      center: bool(l.center, where, 'center'),
      scale: bool(l.scale, where, 'scale'),
      ...normInitializers(LN_INITIALIZERS, l, null, where),
      beta_regularizer: null,
      gamma_regularizer: null,
    }),
    fromKeras: (c, where) => {
      notSet(c, NORM_UNSUPPORTED, where);
      if (c.rms_scaling != null && c.rms_scaling !== false)
        throw new Error(`${where}: rms_scaling is not supported. Received: rms_scaling=${quote(c.rms_scaling)}`);
      return {
        axis: axes(c.axis ?? -1, where, 'axis'),
        epsilon: positive(c.epsilon ?? 1e-3, where, 'epsilon'),
        center: bool(c.center ?? true, where, 'center'),
        scale: bool(c.scale ?? true, where, 'scale'),
        ...normInitializers(LN_INITIALIZERS, null, c, where),
      };
    },
  },
});
