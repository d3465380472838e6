/**
 * Metrics with Keras's names. Each adds its shard's contribution into float64 accumulators (see
 * metrics/metric.ts) that the engine sums over shards in a fixed order: a mean keeps (weighted sum, weight),
 * AUC keeps weighted counts per threshold, and so on; the epoch value is computed once from the sums.
 *
 * 'accuracy' resolves from the loss as Keras does: sparse categorical for sparse_categorical_crossentropy,
 * categorical for categorical_crossentropy, binary for binary_crossentropy (and for one-column outputs).
 * The history key is the name the user wrote for the mean metrics ('mae' stays 'mae'), and the metric's name
 * for the stateful ones ('AUC' logs as 'auc', as in Keras).
 */
import { badOption, own, unknownName } from './errors.js';
import type { Loss } from './losses.js';
import { MetricObject, type Metric, type MetricConfig } from './metrics/metric.js';
import { AUC, Precision, Recall } from './metrics/confusion.js';
import { F1Score, FBetaScore } from './metrics/f-score.js';
import { SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy } from './metrics/top-k.js';

export type { Metric, MetricConfig } from './metrics/metric.js';
export { MetricObject } from './metrics/metric.js';
export { AUC, Precision, Recall, F1Score, FBetaScore, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy };

/** A metric as compile takes it: a Keras name, or an object (`new metrics.AUC()`) or its config. */
export type MetricSpec = string | MetricObject | MetricConfig;

function argmaxRow(a: Float32Array, off: number, cols: number): number {
  let best = 0;
  for (let c = 1; c < cols; c++) if (a[off + c] > a[off + best]) best = c;
  return best;
}

/** One row's value of a mean metric. */
type RowValue = (out: Float32Array, y: Float32Array, r: number, cols: number) => number;

const sparseAccuracy: RowValue = (out, y, r, cols) => (argmaxRow(out, r * cols, cols) === y[r] ? 1 : 0);
const categoricalAccuracy: RowValue = (out, y, r, cols) =>
  argmaxRow(out, r * cols, cols) === argmaxRow(y, r * cols, cols) ? 1 : 0;
// Keras averages over the last axis per sample, then over samples.
const binaryAccuracy: RowValue = (out, y, r, cols) => {
  let hits = 0;
  for (let c = 0; c < cols; c++) if ((out[r * cols + c] > 0.5 ? 1 : 0) === y[r * cols + c]) hits++;
  return hits / cols;
};
const rowMean =
  (g: (e: number) => number): RowValue =>
  (out, y, r, cols) => {
    let s = 0;
    for (let c = 0; c < cols; c++) s += g(out[r * cols + c] - y[r * cols + c]);
    return s / cols;
  };

/** A weighted mean of row values: accumulators (sum of w * value, sum of w). */
function meanMetric(name: string, value: RowValue, finish: (mean: number) => number = (m) => m): Metric {
  return {
    name,
    width: 2,
    update(out, y, rows, cols, acc, weights) {
      let sum = 0;
      let count = 0;
      for (let r = 0; r < rows; r++) {
        const w = weights ? weights[r] : 1;
        sum += w * value(out, y, r, cols);
        count += w;
      }
      acc[0] += sum;
      acc[1] += count;
    },
    result: (acc) => finish(acc[1] === 0 ? 0 : acc[0] / acc[1]),
  };
}

/** Root mean squared error: unweighted, over every element (as before); weighted, over rows' means (Keras's Mean). */
function rmse(name: string): Metric {
  const weighted = meanMetric(
    name,
    rowMean((e) => e * e),
    Math.sqrt,
  );
  return {
    ...weighted,
    update(out, y, rows, cols, acc, weights) {
      if (weights) return weighted.update(out, y, rows, cols, acc, weights);
      let sum = 0;
      for (let i = 0; i < rows * cols; i++) sum += (out[i] - y[i]) ** 2;
      acc[0] += sum;
      acc[1] += rows * cols;
    },
  };
}

const MEANS: Record<string, (name: string) => Metric> = {
  mean_absolute_error: (n) => meanMetric(n, rowMean(Math.abs)),
  mean_squared_error: (n) =>
    meanMetric(
      n,
      rowMean((e) => e * e),
    ),
  root_mean_squared_error: rmse,
  sparse_categorical_accuracy: (n) => meanMetric(n, sparseAccuracy),
  categorical_accuracy: (n) => meanMetric(n, categoricalAccuracy),
  binary_accuracy: (n) => meanMetric(n, binaryAccuracy),
};

const ALIASES: Record<string, string> = {
  mae: 'mean_absolute_error',
  mse: 'mean_squared_error',
  rmse: 'root_mean_squared_error',
};

/** The stateful metrics, by class name; Keras also takes their snake_case names. */
const CLASSES: Record<string, (o: Record<string, unknown>) => MetricObject> = {
  AUC: (o) => new AUC(o),
  Precision: (o) => new Precision(o),
  Recall: (o) => new Recall(o),
  F1Score: (o) => new F1Score(o),
  FBetaScore: (o) => new FBetaScore(o),
  TopKCategoricalAccuracy: (o) => new TopKCategoricalAccuracy(o),
  SparseTopKCategoricalAccuracy: (o) => new SparseTopKCategoricalAccuracy(o),
};
const SNAKE: Record<string, string> = {
  auc: 'AUC',
  precision: 'Precision',
  recall: 'Recall',
  f1_score: 'F1Score',
  fbeta_score: 'FBetaScore',
  top_k_categorical_accuracy: 'TopKCategoricalAccuracy',
  sparse_top_k_categorical_accuracy: 'SparseTopKCategoricalAccuracy',
};

export const METRIC_NAMES = [
  'accuracy',
  'acc',
  ...Object.keys(MEANS),
  ...Object.keys(ALIASES),
  ...Object.keys(CLASSES),
  ...Object.keys(SNAKE),
];

/** The metric object a stateful name or config stands for; undefined for the mean metrics' names. */
function metricObject(spec: MetricSpec): MetricObject | undefined {
  if (spec instanceof MetricObject) return spec;
  if (typeof spec === 'string') {
    const cls = own(CLASSES, spec) ? spec : own(SNAKE, spec);
    return cls ? CLASSES[cls]({}) : undefined;
  }
  if (spec === null || typeof spec !== 'object' || typeof spec.className !== 'string')
    throw badOption('compile', 'metrics', 'metric names, metric objects or { className, config }', spec);
  const make = own(CLASSES, spec.className);
  if (!make) throw unknownName('metric class', spec.className, Object.keys(CLASSES));
  if (spec.config !== undefined && (spec.config === null || typeof spec.config !== 'object'))
    throw badOption(spec.className, 'config', 'an object', spec.config);
  // Keys set to undefined (left out of the saved JSON) take their defaults.
  return make(Object.fromEntries(Object.entries(spec.config ?? {}).filter(([, v]) => v !== undefined)));
}

/** Whether a spec names one of the stateful metric classes (which tfjs-layers cannot compile). */
export const isStatefulMetric = (spec: MetricSpec): boolean => metricObject(spec) !== undefined;

/** The JSON form of a metric spec, as plans and saved models carry it (names stay names). */
export function metricConfig(spec: MetricSpec): string | MetricConfig {
  if (typeof spec === 'string') return spec;
  const obj = metricObject(spec)!;
  return obj.toConfig();
}

/** Resolves a metric against the loss (for 'accuracy' and sparse targets) and the output width. */
export function getMetric(spec: MetricSpec, loss: Loss, outputCols: number): Metric {
  const sparse = loss.target === 'sparse';
  const obj = metricObject(spec);
  if (obj instanceof AUC) return obj.build();
  if (obj instanceof Precision || obj instanceof Recall) {
    if (sparse)
      throw new Error(
        `${obj.className} needs one target per output (a binary or one-hot target); loss ${loss.name} has class indices`,
      );
    return obj.build(outputCols);
  }
  if (obj instanceof FBetaScore) return obj.build(outputCols, sparse);
  if (obj instanceof SparseTopKCategoricalAccuracy && !sparse)
    throw new Error(
      `SparseTopKCategoricalAccuracy needs class-index targets (loss sparse_categorical_crossentropy); loss ${loss.name} has one target per output: use TopKCategoricalAccuracy`,
    );
  if (obj instanceof TopKCategoricalAccuracy) return obj.build(sparse);
  if (obj) throw new Error(`lockstep internal: metric ${obj.className} has no builder`);
  const name = spec as string;
  let key = own(ALIASES, name) ?? name;
  if (key === 'accuracy' || key === 'acc') {
    if (loss.name === 'sparse_categorical_crossentropy') key = 'sparse_categorical_accuracy';
    else if (loss.name === 'binary_crossentropy' || outputCols === 1) key = 'binary_accuracy';
    else key = 'categorical_accuracy';
  }
  const m = own(MEANS, key);
  if (!m) throw unknownName('metric', name, METRIC_NAMES);
  return m(name);
}

/** Builds a compile's metrics, naming repeats as Keras does (auc, auc_1, ...). */
export function getMetrics(specs: readonly MetricSpec[], loss: Loss, outputCols: number): Metric[] {
  const seen = new Map<string, number>();
  return specs.map((s) => {
    const m = getMetric(s, loss, outputCols);
    const n = seen.get(m.name) ?? 0;
    seen.set(m.name, n + 1);
    return n === 0 ? m : { ...m, name: `${m.name}_${n}` };
  });
}

/** Total accumulator cells of `metrics`. */
export const metricsWidth = (metrics: readonly Metric[]): number => metrics.reduce((n, m) => n + m.width, 0);

/**
 * Writes each metric's value from accumulators laid out one metric after another (as the engine sums them)
 * into `logs`. A value per class or threshold logs as `name_0`, `name_1`... (Keras keeps an array); a single
 * one as `name`.
 */
export function metricLogs(
  metrics: readonly Metric[],
  acc: Float64Array,
  logs: Record<string, number>,
  prefix = '',
): void {
  let at = 0;
  for (const m of metrics) {
    const v = m.result(acc.subarray(at, at + m.width));
    at += m.width;
    if (typeof v === 'number') logs[prefix + m.name] = v;
    else if (v.length === 1) logs[prefix + m.name] = v[0];
    else v.forEach((x, i) => (logs[`${prefix}${m.name}_${i}`] = x));
  }
}
