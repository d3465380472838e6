/**
 * BatchNormalization: y = gamma * (x - mean) / sqrt(variance + epsilon) + beta for each feature along `axis`
 * (Dense's units, a convolution's channels), as Keras 3. While training, mean and variance are those of the
 * whole batch (all its micro-shards, on whichever workers they run: `ctx.batch`, engine/shard-exchange.ts),
 * the gradient flows through them, and the moving statistics follow them; inference (evaluate, predict,
 * validation) uses the moving statistics.
 *
 * Options and defaults (Keras 3): axis -1, momentum 0.99, epsilon 1e-3, center true (beta), scale true
 * (gamma), gammaInitializer 'ones', betaInitializer 'zeros', movingMeanInitializer 'zeros',
 * movingVarianceInitializer 'ones'. Weights in Keras's order: gamma, beta, moving_mean, moving_variance (the
 * last two non-trainable).
 *
 * @example
 * model.add(layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu' }));
 * model.add(layers.BatchNormalization());          // per channel, over rows, height and width
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkInitializer, type InitializerConfig } from '../initializers.js';
import { badOption, checkFraction, checkLayerOptions, checkPositiveNumber } from '../errors.js';
import { heapView } from '../ops/heap.js';
import type { TaskHooks } from '../testing.js';
import { timed } from '../ops/profile.js';
import {
  combineMoments,
  gradientSlotWidth,
  momentSlotWidth,
  shardGradientSums,
  shardMoments,
  sumSlots,
  type Moments,
} from './batch-stats.js';
import { layerWhere } from './conv-shapes.js';
import { AFFINE_OPTION_SPECS, affineOptions } from './weighted-options.js';
import {
  Layer,
  type BackwardResult,
  type BatchSync,
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
  BN_INITIALIZERS,
  NORM_UNSUPPORTED,
  bool,
  fraction,
  integer,
  normInitializers,
  notSet,
  nulls,
  positive,
} from '../io/keras-fields.js';

export interface BatchNormalizationOptions {
  /** The feature axis, counting the batch as axis 0; negative counts from the end. Default -1. */
  axis?: number;
  /** Of the moving statistics, in [0, 1]. Default 0.99. */
  momentum?: number;
  /** Added to the variance. Default 1e-3. */
  epsilon?: number;
  /** Learn an offset beta. Default true. */
  center?: boolean;
  /** Learn a scale gamma. Default true. */
  scale?: boolean;
  betaInitializer?: InitializerConfig;
  gammaInitializer?: InitializerConfig;
  movingMeanInitializer?: InitializerConfig;
  movingVarianceInitializer?: InitializerConfig;
  inputShape?: number[];
  name?: string;
}

const OPTIONS = [
  'axis',
  'momentum',
  'epsilon',
  'center',
  'scale',
  'betaInitializer',
  'gammaInitializer',
  'movingMeanInitializer',
  'movingVarianceInitializer',
  'inputShape',
  'name',
];

/** The sample's layout around the feature axis: [outer, channels, inner] values per row. */
interface Geometry {
  channels: number;
  inner: number;
  perRow: number;
  /** The shape that broadcasts a per-channel vector against a batch: 1s but the channel axis. */
  broadcast: number[];
}

/** A range of rows normalized with one set of statistics: all rows, or (planted bug) one micro-shard. */
interface Group {
  start: number;
  rows: number;
  /** Indices of the parts inside it. */
  parts: number[];
  stats: Moments;
  /** 1 / sqrt(variance + epsilon), float64. */
  invStd: Float64Array;
}

interface BNCache {
  sync: BatchSync;
  xc: T;
  groups: Group[];
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerConfig;
  readonly gammaInitializer: InitializerConfig;
  readonly movingMeanInitializer: InitializerConfig;
  readonly movingVarianceInitializer: InitializerConfig;
  private geometry?: Geometry;
  /** This step's weights, copied to the host: the per-channel factors are computed there, in float64. */
  private host?: { gamma?: Float32Array; beta?: Float32Array; movingMean: Float32Array; movingVariance: Float32Array };

  constructor(options: BatchNormalizationOptions = {}) {
    const where = layerWhere('BatchNormalization', options?.name);
    checkLayerOptions(where, options, OPTIONS, { inputShape: 'shape' });
    super(options?.name);
    const o = options ?? {};
    if (o.axis !== undefined && !Number.isInteger(o.axis)) throw badOption(where, 'axis', 'an integer', o.axis);
    this.axis = o.axis ?? -1;
    this.momentum =
      o.momentum === undefined ? 0.99 : checkFraction(where, 'momentum', o.momentum, { closedRight: true });
    this.epsilon = o.epsilon === undefined ? 1e-3 : checkPositiveNumber(where, 'epsilon', o.epsilon);
    ({
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
    } = affineOptions(where, o));
    this.movingMeanInitializer = o.movingMeanInitializer ?? 'zeros';
    this.movingVarianceInitializer = o.movingVarianceInitializer ?? 'ones';
    checkInitializer(this.movingMeanInitializer, `${where} movingMeanInitializer`);
    checkInitializer(this.movingVarianceInitializer, `${where} movingVarianceInitializer`);
    this.declaredInputShape = o.inputShape;
  }

  get defaultName(): string {
    return 'batch_normalization';
  }

  computeOutputShape(inputShape: number[]): number[] {
    const rank = inputShape.length + 1;
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a < 1 || a >= rank) {
      throw new RangeError(
        `${layerWhere('BatchNormalization', this.name)}: axis must name a feature axis of its input (None, ${inputShape.join(', ')}): ` +
          `1..${rank - 1} or -${rank - 1}..-1 (axis 0 is the batch). Received: axis=${this.axis}`,
      );
    }
    const k = a - 1;
    const channels = inputShape[k];
    const inner = inputShape.slice(k + 1).reduce((p, d) => p * d, 1);
    const perRow = inputShape.reduce((p, d) => p * d, 1);
    this.geometry = { channels, inner, perRow, broadcast: [1, ...inputShape.map((d, i) => (i === k ? d : 1))] };
    return [...inputShape];
  }

  params(): ParamSpec[] {
    const c = this.geometry!.channels;
    const spec = (name: string, initializer: InitializerConfig, movingAverage?: boolean): ParamSpec => ({
      name,
      shape: [c],
      initializer,
      fanIn: c,
      fanOut: c,
      ...(movingAverage ? { movingAverage: { momentum: this.momentum } } : {}),
    });
    const p: ParamSpec[] = [];
    if (this.scale) p.push(spec('gamma', this.gammaInitializer));
    if (this.center) p.push(spec('beta', this.betaInitializer));
    p.push(
      spec('moving_mean', this.movingMeanInitializer, true),
      spec('moving_variance', this.movingVarianceInitializer, true),
    );
    return p;
  }

  batchSyncWidth(): number {
    const c = this.geometry!.channels;
    return Math.max(momentSlotWidth(c), gradientSlotWidth(c));
  }

  stageWeights(values: Float32Array[]): Weights {
    const v = values.map((a) => a.slice());
    const gamma = this.scale ? v.shift() : undefined;
    const beta = this.center ? v.shift() : undefined;
    this.host = { gamma, beta, movingMean: v[0], movingVariance: v[1] };
    return { values: [] };
  }

  /** A per-channel vector as a tensor that broadcasts against the batch. */
  private channelTensor(v: ArrayLike<number>): T {
    return tf.tensor(Float32Array.from(v), this.geometry!.broadcast);
  }

  /** (x - mean) * (gamma / sqrt(variance + epsilon)) + beta, with the factors computed in float64. */
  private normalize(x: T, mean: ArrayLike<number>, invStd: Float64Array): { y: T; xc: T } {
    const g = this.host!.gamma;
    const xc = tf.sub(x, this.channelTensor(mean));
    const scaled = tf.mul(xc, this.channelTensor(invStd.map((s, c) => (g ? g[c] * s : s))));
    return { y: this.host!.beta ? tf.add(scaled, this.channelTensor(this.host!.beta)) : scaled, xc };
  }

  private invStd(variance: Float64Array): Float64Array {
    return variance.map((v) => 1 / Math.sqrt(v + this.epsilon));
  }

  forward(x: T, _w: Weights, ctx: ForwardContext): ForwardResult {
    const { channels, inner, perRow } = this.geometry!;
    if (!ctx.training) {
      const { movingMean, movingVariance } = this.host!;
      return { y: this.normalize(x, movingMean, this.invStd(Float64Array.from(movingVariance))).y, cache: null };
    }
    // Never fall back to the statistics of the rows at hand: they are not the batch's.
    const sync = ctx.batch;
    if (!sync)
      throw new Error(`lockstep internal: BatchNormalization '${this.name}' is training without the batch exchange`);
    // Read the values before any tfjs call: the heap view is valid only until the next allocation.
    const xv = heapView(x);
    const slots = sync.gather(momentSlotWidth(channels), (k, out) => {
      const p = sync.parts[k];
      timed('BatchNormalization partial sums', () =>
        shardMoments(xv, p.start * perRow, p.rows * perRow, channels, inner, out),
      );
    });
    const groups = this.groups(
      sync,
      ctx.hooks,
      x.shape[0],
      (parts) =>
        combineMoments(
          parts.map((k) => slots[sync.parts[k].shard]),
          channels,
        ),
      () => combineMoments(slots, channels),
    );
    const outs = groups.map((g) => this.normalize(this.rowsOf(x, g), g.stats.mean, g.invStd));
    const y = outs.length === 1 ? outs[0].y : tf.concat(outs.map((o) => o.y));
    const xc = outs.length === 1 ? outs[0].xc : tf.concat(outs.map((o) => o.xc));
    return { y, cache: { sync, xc, groups } satisfies BNCache };
  }

  /**
   * The row ranges that share statistics: all rows, with the whole batch's; under the planted bug
   * 'batchnorm-per-shard', each micro-shard with its own (what a data-parallel trainer gets without an exchange).
   */
  private groups(
    sync: BatchSync,
    hooks: TaskHooks | undefined,
    rows: number,
    own: (parts: number[]) => Moments,
    whole: () => Moments,
  ): Group[] {
    const make = (start: number, n: number, parts: number[], stats: Moments): Group => ({
      start,
      rows: n,
      parts,
      stats,
      invStd: this.invStd(stats.variance),
    });
    if (hooks?.plant === 'batchnorm-per-shard') return sync.parts.map((p, k) => make(p.start, p.rows, [k], own([k])));
    return [
      make(
        0,
        rows,
        sync.parts.map((_, k) => k),
        whole(),
      ),
    ];
  }

  private rowsOf(t: T, g: Group): T {
    return g.start === 0 && g.rows === t.shape[0] ? t : tf.slice(t, g.start, g.rows);
  }

  backward(dy: T, cache: unknown, _w: Weights, needDx: boolean, parts: RowPart[]): BackwardResult {
    const { sync, xc, groups } = cache as BNCache;
    const { channels, inner, perRow } = this.geometry!;
    const gamma = this.host!.gamma;
    // Each part's sum(dy) and sum(dy * xc), read before any tfjs call (heap views).
    const dyv = heapView(dy);
    const xcv = heapView(xc);
    const sums = parts.map((p) => {
      const out = new Float64Array(gradientSlotWidth(channels));
      timed('BatchNormalization partial sums', () =>
        shardGradientSums(dyv, xcv, p.start * perRow, p.rows * perRow, channels, inner, out),
      );
      return out;
    });
    const groupOf = (k: number) => groups.find((g) => g.parts.includes(k))!;
    const grads = parts.map((_, k) => {
      const g = groupOf(k);
      const out: Float32Array[] = [];
      // d/dgamma = sum(dy * xhat) = invStd * sum(dy * xc); d/dbeta = sum(dy).
      if (this.scale) out.push(Float32Array.from({ length: channels }, (_, c) => g.invStd[c] * sums[k][channels + c]));
      if (this.center) out.push(Float32Array.from(sums[k].subarray(0, channels)));
      // The moving statistics' "gradient" is the batch's statistic, carried by shard 0's part alone.
      const first = sync.parts[k].shard === 0;
      out.push(
        first ? Float32Array.from(g.stats.mean) : new Float32Array(channels),
        first ? Float32Array.from(g.stats.variance) : new Float32Array(channels),
      );
      return out;
    });
    if (!needDx) return { grads };
    // The input gradient needs the sums over the whole batch.
    const width = gradientSlotWidth(channels);
    const slots = sync.gather(width, (k, out) => out.set(sums[k]));
    const dxs = groups.map((g) => {
      const total =
        groups.length === 1
          ? sumSlots(slots, width)
          : sumSlots(
              g.parts.map((k) => sums[k]),
              width,
            );
      const n = g.stats.count;
      // dx = gamma * s * (dy - sum(dy) / n - xc * s^2 * sum(dy * xc) / n), with s = 1 / sqrt(variance + epsilon).
      const a = new Float64Array(channels);
      const b = new Float64Array(channels);
      const c0 = new Float64Array(channels);
      for (let c = 0; c < channels; c++) {
        const s = g.invStd[c];
        const gs = (gamma ? gamma[c] : 1) * s;
        a[c] = gs;
        b[c] = (-gs * s * s * total[channels + c]) / n;
        c0[c] = (-gs * total[c]) / n;
      }
      const dyg = this.rowsOf(dy, g);
      return tf.add(
        tf.add(tf.mul(dyg, this.channelTensor(a)), tf.mul(this.rowsOf(xc, g), this.channelTensor(b))),
        this.channelTensor(c0),
      );
    });
    return { dx: dxs.length === 1 ? dxs[0] : tf.concat(dxs), grads };
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
      movingMeanInitializer: this.movingMeanInitializer,
      movingVarianceInitializer: this.movingVarianceInitializer,
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/**
 * BatchNormalization as a layer type: options, factory and saved format (see layers/descriptor.ts). Keras 3's
 * `synchronized` picks per-replica or cross-replica statistics under tf.distribute; lockstep's are always the
 * whole batch's (what Keras computes on one device), so either value reads the same.
 */
export const BATCH_NORMALIZATION = describeLayer({
  className: 'BatchNormalization',
  options: {
    axis: { default: -1 },
    momentum: { default: 0.99 },
    epsilon: { default: 1e-3 },
    ...AFFINE_OPTION_SPECS,
    movingMeanInitializer: { default: 'zeros' },
    movingVarianceInitializer: { default: 'ones' },
  },
  create: (options?: BatchNormalizationOptions) => new BatchNormalization(options),
  keras: {
    fields: [
      'axis',
      'momentum',
      'epsilon',
      'center',
      'scale',
      ...BN_INITIALIZERS.map((i) => i[1]),
      ...NORM_UNSUPPORTED,
      'synchronized',
    ],
    toKeras: (l, where) => ({
      axis: integer(l.axis, where, 'axis'),
      momentum: fraction(l.momentum, where, 'momentum'),
      epsilon: positive(l.epsilon, where, 'epsilon'),
      center: bool(l.center, where, 'center'),
      scale: bool(l.scale, where, 'scale'),
      ...normInitializers(BN_INITIALIZERS, l, null, where),
      ...nulls(NORM_UNSUPPORTED),
    }),
    fromKeras: (c, where) => {
      notSet(c, NORM_UNSUPPORTED, where);
      if (c.synchronized != null) bool(c.synchronized, where, 'synchronized');
      return {
        axis: integer(c.axis ?? -1, where, 'axis'),
        momentum: fraction(c.momentum ?? 0.99, where, 'momentum'),
        epsilon: positive(c.epsilon ?? 1e-3, where, 'epsilon'),
        center: bool(c.center ?? true, where, 'center'),
        scale: bool(c.scale ?? true, where, 'scale'),
        ...normInitializers(BN_INITIALIZERS, null, c, where),
      };
    },
  },
});
