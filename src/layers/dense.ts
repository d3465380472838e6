/** Dense: y = activation(x @ kernel + bias), with kernel [in, out] as in Keras. */
import * as tf from '@tensorflow/tfjs-core';
import { type Activation, getActivation } from '../activations.js';
import type { InitializerConfig } from '../initializers.js';
import { checkLayerOptions, checkPositiveInt } from '../errors.js';
import { transposeRows } from '../ops/wasm-matmul.js';
import { PackedOperands } from '../ops/packed-operands.js';
import { columnSumsOf } from '../ops/elementwise.js';
import { PackedKernel } from '../ops/packed-kernel.js';
import { hookedActivation } from '../testing.js';
import {
  REGULARIZER_OPTIONS,
  REGULARIZER_OPTION_SPECS,
  WEIGHTED_OPTION_SPECS,
  regularizerConfig,
  regularizerOptions,
  weightedLayerOptions,
} from './weighted-options.js';
import {
  regularizersFromKeras,
  regularizersToKeras,
  type RegularizerConfig,
  type RegularizerSpec,
} from '../regularizers.js';
import {
  Layer,
  type BackwardResult,
  type ForwardContext,
  type ForwardResult,
  type LayerConfig,
  type ParamSpec,
  type StageContext,
  type T,
  type Weights,
  type RowPart,
} from './layer.js';
import { describeLayer } from './descriptor.js';
import {
  KERAS3_EXTRAS,
  REGULARIZER_FIELDS,
  UNSUPPORTED_IF_SET,
  activation,
  bool,
  initializersFromKeras,
  initializersToKeras,
  notSet,
  nulls,
  positiveInt,
  required,
} from '../io/keras-fields.js';

type T2 = tf.Tensor2D;

/**
 * Dense's weights for a step: no plain tensors. Every matmul by the kernel goes through operators whose packed
 * kernels are rewritten in place each step (ops/packed-kernel.ts), which saves XNNPACK's per-call repack.
 */
interface DenseWeights extends Weights {
  /** x @ kernel + bias with `activation` fused. */
  kernelMatMul: PackedKernel;
  /** dz @ kernel^T (the input gradient), only when a gradient flows back through this layer. */
  transposedMatMul?: PackedKernel;
}

export interface DenseOptions {
  units: number;
  /** Keras name; default 'linear'. */
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: InitializerConfig;
  biasInitializer?: InitializerConfig;
  /** Keras 2 style: the shape of one input row, instead of a separate Input layer. */
  inputShape?: number[];
  name?: string;
  /** Penalties added to the loss: regularizers.l2() etc. (Keras's kernel_regularizer...). */
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  activityRegularizer?: RegularizerSpec;
}

interface DenseCache {
  x: T2;
  z?: T2;
  y: T2;
  act: Activation;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: Activation;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;
  readonly kernelRegularizer?: RegularizerConfig;
  readonly biasRegularizer?: RegularizerConfig;
  readonly wantsInputTransposed = true;
  /** The packed operators, built on the first `stageWeights` and kept across steps (see `dispose`). */
  private packed?: { kernel: PackedKernel; transposed?: PackedKernel };
  /** The kernel gradient's right operand, each part's rows of dz, kept packed across steps. */
  private dzOperands?: PackedOperands;

  constructor(options: DenseOptions) {
    checkLayerOptions(
      'Dense',
      options,
      [
        'units',
        'activation',
        'useBias',
        'kernelInitializer',
        'biasInitializer',
        'inputShape',
        'name',
        ...REGULARIZER_OPTIONS,
      ],
      { activation: 'name', inputShape: 'shape' },
    );
    super(options?.name);
    const where = `Dense${options?.name ? ` '${options.name}'` : ''}`;
    this.units = checkPositiveInt(where, 'units', options?.units);
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
    return 'dense';
  }

  get outputActivation(): string {
    return this.activation.name;
  }

  computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 1) {
      throw new Error(
        `Layer '${this.name}' (Dense) expects rows of rank 1, i.e. input shape (None, features). Received: (None, ${inputShape.join(', ')})`,
      );
    }
    return [this.units];
  }

  params(): ParamSpec[] {
    const fanIn = this.inputShape![0];
    const p: ParamSpec[] = [
      {
        name: 'kernel',
        shape: [fanIn, this.units],
        initializer: this.kernelInitializer,
        fanIn,
        fanOut: this.units,
        regularizer: this.kernelRegularizer,
      },
    ];
    if (this.useBias)
      p.push({
        name: 'bias',
        shape: [this.units],
        initializer: this.biasInitializer,
        fanIn,
        fanOut: this.units,
        regularizer: this.biasRegularizer,
      });
    return p;
  }

  /** The activation the matmul itself applies in a forward pass (`logits`: the loss applies the real one). */
  matMulActivation(logits: boolean): NonNullable<Activation['fused']> {
    const act = logits ? getActivation('linear') : this.activation;
    return act.fused && !act.needsZ ? act.fused : 'linear';
  }

  stageWeights(values: Float32Array[], ctx: StageContext): DenseWeights {
    const [kernel, bias] = values;
    const fanIn = this.inputShape![0];
    this.packed ??= {
      kernel: new PackedKernel(fanIn, this.units, this.useBias, this.matMulActivation(ctx.logits)),
      transposed: ctx.needDx ? new PackedKernel(this.units, fanIn, false, 'linear', true) : undefined,
    };
    this.packed.kernel.write(kernel, bias);
    this.packed.transposed?.write(kernel, undefined);
    return { values: [], kernelMatMul: this.packed.kernel, transposedMatMul: this.packed.transposed };
  }

  dispose(): void {
    super.dispose();
    this.packed?.kernel.dispose();
    this.packed?.transposed?.dispose();
    this.packed = undefined;
    this.dzOperands?.dispose();
    this.dzOperands = undefined;
  }

  forward(xIn: T, wIn: Weights, ctx: ForwardContext): ForwardResult {
    const x = xIn as T2;
    const w = wIn as DenseWeights;
    // The loss applies the activation itself when fused (ctx.logits): then dL/dz comes back directly.
    const act = hookedActivation(ctx.logits ? getActivation('linear') : this.activation, ctx.hooks);
    const fused = this.matMulActivation(!!ctx.logits);
    const pre = w.kernelMatMul;
    // A persistent kernel has one operator, for one activation: the one training uses. Inference of a fused
    // output layer (softmax/sigmoid) asks for another; then that operator (linear) runs and the
    // activation follows as its own op, because a second operator on the kernel would keep stale weights.
    if (!pre || (pre.activation !== fused && pre.activation !== 'linear')) {
      throw new Error(`lockstep internal: Dense '${this.name}' has no kernel operator for ${fused}`);
    }
    let z: T2 | undefined;
    let y: T2;
    if (fused !== 'linear' && pre.activation === fused) {
      // One XNNPACK call: matmul + bias + activation, neither operand transposed.
      y = pre.matMul(x);
    } else {
      z = pre.matMul(x);
      y = act.forward(z);
    }
    return { y, cache: { x, z, y, act } satisfies DenseCache };
  }

  backward(dyIn: T, cache: unknown, wIn: Weights, needDx: boolean, parts: RowPart[]): BackwardResult {
    const { x, z, y, act } = cache as DenseCache;
    const w = wIn as DenseWeights;
    const dz = act.backward(dyIn as T2, y, z);
    // The bias gradient is a column sum in float64, read where dz lies. Read it now, before the matmuls below:
    // the host fallback reads a heap view, valid only until the next tfjs allocation.
    const biasGrads = parts.map(({ start, rows }) => (this.useBias ? columnSumsOf(dz, start, rows) : undefined));
    this.dzOperands ??= new PackedOperands(this.units);
    const grads = parts.map(({ start, rows, inputTransposed }, i) => {
      // An explicit x^T keeps the matmul on XNNPACK's path (a transposed operand falls back to a slow loop).
      const xT = inputTransposed ?? transposeRows(x, start, rows);
      const g: (T | Float32Array)[] = [this.dzOperands!.times(xT, dz, start, rows)];
      if (biasGrads[i]) g.push(biasGrads[i]!);
      return g;
    });
    if (needDx && !w.transposedMatMul)
      throw new Error(`lockstep internal: Dense '${this.name}' has no kernel^T operator`);
    const dx = needDx ? w.transposedMatMul!.matMul(dz) : undefined;
    return { dx, grads };
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      units: this.units,
      activation: this.activation.name,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
      ...regularizerConfig(this),
      ...(this.declaredInputShape ? { inputShape: this.declaredInputShape } : {}),
    };
  }
}

/** Dense as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const DENSE = describeLayer({
  className: 'Dense',
  options: {
    units: { rule: 'a positive integer', check: (v) => Number.isInteger(v) && (v as number) > 0 },
    ...WEIGHTED_OPTION_SPECS,
    ...REGULARIZER_OPTION_SPECS,
  },
  create: (options: DenseOptions) => new Dense(options),
  keras: {
    fields: [
      'units',
      'activation',
      'use_bias',
      'kernel_initializer',
      'bias_initializer',
      ...REGULARIZER_FIELDS,
      ...UNSUPPORTED_IF_SET,
      ...KERAS3_EXTRAS,
    ],
    toKeras: (l, where) => ({
      units: positiveInt(l.units, where, 'units'),
      activation: activation(l.activation, where),
      use_bias: bool(l.useBias, where, 'useBias'),
      ...initializersToKeras(l, where),
      ...regularizersToKeras(l, where),
      ...nulls(UNSUPPORTED_IF_SET),
    }),
    fromKeras: (c, where) => {
      notSet(c, [...UNSUPPORTED_IF_SET, 'lora_rank', 'quantization_config'], where);
      return {
        units: positiveInt(required(c, 'units', where), where, 'units'),
        activation: activation(c.activation ?? 'linear', where),
        useBias: bool(c.use_bias ?? true, where, 'use_bias'),
        ...initializersFromKeras(c, where),
        ...regularizersFromKeras(c, where),
      };
    },
  },
});
