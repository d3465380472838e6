/**
 * Metrics with Keras's names, accumulated as (sum, count) pairs so that shards and batches combine exactly:
 * the epoch value is finish(sum over shards, count over shards), added in a fixed order.
 *
 * 'accuracy' resolves from the loss as Keras does: sparse categorical for sparse_categorical_crossentropy,
 * categorical for categorical_crossentropy, binary for binary_crossentropy (and for one-column outputs).
 * The history key is the name the user wrote ('mae' stays 'mae').
 */
import { own, unknownName } from './errors.js';
import type { Loss } from './losses.js';

export interface Metric {
  /** The key in logs and history. */
  name: string;
  /** Adds this batch's contribution: returns [sum, count]. `out` holds probabilities/outputs, not logits. */
  update(out: Float32Array, y: Float32Array, rows: number, cols: number): [number, number];
  finish(sum: number, count: number): number;
}

const mean = (sum: number, count: number) => (count === 0 ? 0 : sum / count);

function argmaxRow(a: Float32Array, off: number, cols: number): number {
  let best = 0;
  for (let c = 1; c < cols; c++) if (a[off + c] > a[off + best]) best = c;
  return best;
}

type Update = Metric['update'];

const sparseAccuracy: Update = (out, y, rows, cols) => {
  let hits = 0;
  for (let r = 0; r < rows; r++) if (argmaxRow(out, r * cols, cols) === y[r]) hits++;
  return [hits, rows];
};
const categoricalAccuracy: Update = (out, y, rows, cols) => {
  let hits = 0;
  for (let r = 0; r < rows; r++) if (argmaxRow(out, r * cols, cols) === argmaxRow(y, r * cols, cols)) hits++;
  return [hits, rows];
};
const binaryAccuracy: Update = (out, y, rows, cols) => {
  // Keras averages over the last axis per sample, then over samples.
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    let hits = 0;
    for (let c = 0; c < cols; c++) if ((out[r * cols + c] > 0.5 ? 1 : 0) === y[r * cols + c]) hits++;
    sum += hits / cols;
  }
  return [sum, rows];
};
const perSampleMean = (f: (e: number) => number): Update => (out, y, rows, cols) => {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += f(out[r * cols + c] - y[r * cols + c]);
    sum += s / cols;
  }
  return [sum, rows];
};
const squaredErrors: Update = (out, y, rows, cols) => {
  let sum = 0;
  for (let i = 0; i < rows * cols; i++) sum += (out[i] - y[i]) ** 2;
  return [sum, rows * cols];
};

const BY_NAME: Record<string, { update: Update; finish?: Metric['finish'] }> = {
  mean_absolute_error: { update: perSampleMean(Math.abs) },
  mean_squared_error: { update: perSampleMean((e) => e * e) },
  root_mean_squared_error: { update: squaredErrors, finish: (s, n) => Math.sqrt(mean(s, n)) },
  sparse_categorical_accuracy: { update: sparseAccuracy },
  categorical_accuracy: { update: categoricalAccuracy },
  binary_accuracy: { update: binaryAccuracy },
};

const ALIASES: Record<string, string> = { mae: 'mean_absolute_error', mse: 'mean_squared_error', rmse: 'root_mean_squared_error' };

export const METRIC_NAMES = ['accuracy', 'acc', ...Object.keys(BY_NAME), ...Object.keys(ALIASES)];

/** Resolves a metric name against the loss (for 'accuracy') and the output width. */
export function getMetric(name: string, loss: Loss, outputCols: number): Metric {
  let key = own(ALIASES, name) ?? name;
  if (key === 'accuracy' || key === 'acc') {
    if (loss.name === 'sparse_categorical_crossentropy') key = 'sparse_categorical_accuracy';
    else if (loss.name === 'binary_crossentropy' || outputCols === 1) key = 'binary_accuracy';
    else key = 'categorical_accuracy';
  }
  const m = own(BY_NAME, key);
  if (!m) throw unknownName('metric', name, METRIC_NAMES);
  return { name, update: m.update, finish: m.finish ?? mean };
}
