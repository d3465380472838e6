/**
 * The shape every metric has: float64 accumulators that add across micro-shards and batches.
 *
 * Keras's stateful metrics keep variables (confusion counts per threshold, a weighted sum and its weight) and
 * compute their result from them at the end. Here a metric adds its contribution for a shard into `acc` (its
 * own `width` float64 cells); the engine sums the shards' cells in shard order, step by step, so the epoch's
 * accumulators (and so its value) are the same bits for any worker count.
 */
export interface Metric {
  /** The key in logs and history. */
  name: string;
  /** Float64 accumulators per shard. */
  width: number;
  /**
   * Adds a shard's contribution into acc[0, width). `out` holds probabilities/outputs (never logits), `y` the
   * targets (rows x yCols), `weights` each row's sample weight (null: all 1).
   */
  update(
    out: Float32Array,
    y: Float32Array,
    rows: number,
    cols: number,
    acc: Float64Array,
    weights: Float32Array | null,
  ): void;
  /** The value from the summed accumulators: a number, or one per class/threshold. */
  result(acc: Float64Array): number | number[];
}

/** A metric described as plain JSON (class name and Keras-style camelCase options), as plans carry it. */
export interface MetricConfig {
  className: string;
  config: Record<string, unknown>;
}

/** A metric given as an object: `new metrics.AUC({ curve: 'PR' })`. */
export abstract class MetricObject {
  abstract readonly className: string;
  abstract getConfig(): Record<string, unknown>;
  toConfig(): MetricConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

/** x / y, 0 when y is 0 (Keras's divide_no_nan). */
export const divideNoNan = (x: number, y: number): number => (y === 0 ? 0 : x / y);

/** Keras's backend.epsilon(). */
export const EPSILON = 1e-7;
