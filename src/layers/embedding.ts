/**
 * Embedding({ inputDim, outputDim, embeddingsInitializer }): maps integer indices in [0, inputDim) to learned
 * vectors of outputDim values, as Keras does: input (None, n) of indices -> output (None, n, outputDim). The
 * indices arrive as float32 values of the input; any that is not an integer in range is an error naming its
 * row. The weight gradient adds each row's vectors into its index's row, row by row in float64 (a fixed
 * order), per micro-shard.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkInitializer, type InitializerConfig } from '../initializers.js';
import { checkLayerOptions, checkPositiveInt } from '../errors.js';
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
import { notSet, nulls, positiveInt, required } from '../io/keras-fields.js';
import { initializerFromKeras, initializerToKeras } from '../io/keras-initializers.js';

export interface EmbeddingOptions {
  inputDim: number;
  outputDim: number;
  /** Default 'random_uniform' (Keras's 'uniform': between -0.05 and 0.05). */
  embeddingsInitializer?: InitializerConfig;
  name?: string;
}

export class Embedding extends Layer {
  readonly className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: InitializerConfig;

  constructor(options: EmbeddingOptions) {
    const where = `Embedding${options?.name ? ` '${options.name}'` : ''}`;
    checkLayerOptions(where, options, ['inputDim', 'outputDim', 'embeddingsInitializer', 'name']);
    super(options?.name);
    this.inputDim = checkPositiveInt(where, 'inputDim', options?.inputDim);
    this.outputDim = checkPositiveInt(where, 'outputDim', options?.outputDim);
    this.embeddingsInitializer = options.embeddingsInitializer ?? 'random_uniform';
    checkInitializer(this.embeddingsInitializer, `${where} embeddingsInitializer`);
  }

  get defaultName(): string {
    return 'embedding';
  }

  computeOutputShape(inputShape: number[]): number[] {
    return [...inputShape, this.outputDim];
  }

  params(): ParamSpec[] {
    return [
      {
        name: 'embeddings',
        shape: [this.inputDim, this.outputDim],
        initializer: this.embeddingsInitializer,
        fanIn: this.inputDim,
        fanOut: this.outputDim,
      },
    ];
  }

  /** The first value that is not an index in [0, inputDim), as "row r: ..."; undefined when all are. */
  checkInputValues(values: Float32Array, rows: number, cols: number, rowNames?: Int32Array): string | undefined {
    for (let i = 0; i < rows * cols; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= this.inputDim) {
        const r = Math.floor(i / cols);
        return `row ${rowNames ? rowNames[r] : r}: value ${v} at column ${i % cols} is not an index in [0, ${this.inputDim}) of layer '${this.name}' (Embedding, inputDim ${this.inputDim})`;
      }
    }
    return undefined;
  }

  forward(x: T, w: Weights, ctx: ForwardContext): ForwardResult {
    const rows = x.shape[0];
    const cols = x.size / rows;
    const values = x.dataSync() as Float32Array;
    const problem = this.checkInputValues(values, rows, cols, ctx.sampleIndices);
    if (problem) throw new RangeError(`input ${problem}`);
    const indices = Int32Array.from(values);
    const y = tf.reshape(tf.gather(w.values[0], tf.tensor1d(indices, 'int32')), [rows, ...this.outputShape!]);
    return { y, cache: indices };
  }

  backward(dy: T, cache: unknown, _w: Weights, needDx: boolean, parts: RowPart[]): BackwardResult {
    const indices = cache as Int32Array;
    const D = this.outputDim;
    const rows = dy.shape[0];
    const perRow = indices.length / rows;
    const g = dy.dataSync() as Float32Array;
    const grads = parts.map(({ start, rows: n }) => {
      const sum = new Float64Array(this.inputDim * D);
      for (let i = start * perRow; i < (start + n) * perRow; i++) {
        const at = indices[i] * D;
        for (let d = 0; d < D; d++) sum[at + d] += g[i * D + d];
      }
      return [Float32Array.from(sum)];
    });
    // Indices have no gradient; a caller that asks gets zeros.
    return { dx: needDx ? tf.zeros([rows, ...this.inputShape!]) : undefined, grads };
  }

  getConfig(): LayerConfig {
    return {
      className: this.className,
      name: this.name,
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: this.embeddingsInitializer,
    };
  }
}

const EMBEDDING_UNSUPPORTED = ['embeddings_regularizer', 'embeddings_constraint'];

/** Embedding as a layer type: options, factory and saved format (see layers/descriptor.ts). */
export const EMBEDDING = describeLayer({
  className: 'Embedding',
  options: {
    inputDim: { rule: 'a positive integer', check: (v) => Number.isInteger(v) && (v as number) > 0 },
    outputDim: { rule: 'a positive integer', check: (v) => Number.isInteger(v) && (v as number) > 0 },
    embeddingsInitializer: { default: 'random_uniform', rule: 'an initializer name or { className, config }' },
  },
  create: (options: EmbeddingOptions) => new Embedding(options),
  keras: {
    fields: [
      'input_dim',
      'output_dim',
      'embeddings_initializer',
      'mask_zero',
      'input_length',
      ...EMBEDDING_UNSUPPORTED,
      'lora_rank',
      'lora_alpha',
    ],
    toKeras: (l, where) => ({
      input_dim: positiveInt(l.inputDim, where, 'inputDim'),
      output_dim: positiveInt(l.outputDim, where, 'outputDim'),
      embeddings_initializer: initializerToKeras(
        (l.embeddingsInitializer ?? 'random_uniform') as InitializerConfig,
        `${where} embeddingsInitializer`,
      ),
      mask_zero: false,
      ...nulls(EMBEDDING_UNSUPPORTED),
    }),
    fromKeras: (c, where) => {
      notSet(c, [...EMBEDDING_UNSUPPORTED, 'lora_rank'], where);
      // Masking changes what later layers compute; lockstep has no masks.
      if (c.mask_zero != null && c.mask_zero !== false)
        throw new Error(`${where}: mask_zero=true is not supported. Received: mask_zero=${String(c.mask_zero)}`);
      return {
        inputDim: positiveInt(required(c, 'input_dim', where), where, 'input_dim'),
        outputDim: positiveInt(required(c, 'output_dim', where), where, 'output_dim'),
        embeddingsInitializer:
          c.embeddings_initializer == null
            ? 'random_uniform'
            : initializerFromKeras(c.embeddings_initializer, `${where} embeddings_initializer`),
      };
    },
  },
});
