/**
 * Keras's confusion-matrix metrics: AUC, Precision and Recall, accumulated as weighted counts per threshold.
 *
 * A prediction is positive at threshold t when p > t (strictly), as in Keras. Labels count as positive when
 * non-zero. Several output columns are flattened into one list of (label, prediction) pairs unless `classId`
 * picks one, and each row's sample weight applies to all of its pairs.
 */
import { badOption, checkOptionKeys } from '../errors.js';
import { divideNoNan, EPSILON, MetricObject, type Metric } from './metric.js';

const f = Math.fround;
/** What Keras's top-k filter writes over the predictions outside the top k. */
const NEG_INF = -1e10;

function checkThreshold(owner: string, option: string, t: unknown): number {
  if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw badOption(owner, option, 'a number in [0, 1]', t);
  return t;
}

function optionalName(owner: string, name: unknown, fallback: string): string {
  if (name === undefined) return fallback;
  if (typeof name !== 'string' || name === '') throw badOption(owner, 'name', 'a non-empty string', name);
  return name;
}

export interface AUCOptions {
  /** Thresholds spread evenly over [0, 1] (plus -epsilon and 1 + epsilon at the ends). Default 200. */
  numThresholds?: number;
  /** 'ROC' (default) or 'PR'. */
  curve?: 'ROC' | 'PR';
  /** 'interpolation' (default), 'minoring' or 'majoring'. */
  summationMethod?: 'interpolation' | 'minoring' | 'majoring';
  /** Thresholds in [0, 1] to use instead of numThresholds evenly spaced ones. */
  thresholds?: number[];
  name?: string;
}

/** Area under the ROC or precision-recall curve, Keras's thresholded estimate (Riemann sum over the thresholds). */
export class AUC extends MetricObject {
  readonly className = 'AUC';
  readonly numThresholds: number;
  readonly curve: 'ROC' | 'PR';
  readonly summationMethod: 'interpolation' | 'minoring' | 'majoring';
  readonly thresholds?: number[];
  readonly name: string;

  constructor(options: AUCOptions = {}) {
    super();
    checkOptionKeys('AUC', options, ['numThresholds', 'curve', 'summationMethod', 'thresholds', 'name']);
    const o = options ?? {};
    if (o.thresholds !== undefined) {
      if (!Array.isArray(o.thresholds) || o.thresholds.length === 0)
        throw badOption('AUC', 'thresholds', 'a non-empty array of numbers in [0, 1]', o.thresholds);
      o.thresholds.forEach((t, i) => checkThreshold('AUC', `thresholds[${i}]`, t));
      this.thresholds = [...o.thresholds].sort((a, b) => a - b);
      this.numThresholds = this.thresholds.length + 2;
    } else {
      const n = o.numThresholds ?? 200;
      if (!Number.isInteger(n) || n <= 1) throw badOption('AUC', 'numThresholds', 'an integer > 1', n);
      this.numThresholds = n;
    }
    const curve = (typeof o.curve === 'string' ? o.curve.toUpperCase() : (o.curve ?? 'ROC')) as 'ROC' | 'PR';
    if (curve !== 'ROC' && curve !== 'PR') throw badOption('AUC', 'curve', "'ROC' or 'PR'", o.curve);
    this.curve = curve;
    const sm = o.summationMethod ?? 'interpolation';
    if (!['interpolation', 'minoring', 'majoring'].includes(sm))
      throw badOption('AUC', 'summationMethod', "'interpolation', 'minoring' or 'majoring'", sm);
    this.summationMethod = sm;
    this.name = optionalName('AUC', o.name, 'auc');
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      numThresholds: this.numThresholds,
      curve: this.curve,
      summationMethod: this.summationMethod,
      ...(this.thresholds ? { thresholds: this.thresholds, numThresholds: undefined } : {}),
    };
  }

  /** Every threshold, with Keras's end points -epsilon and 1 + epsilon. */
  allThresholds(): number[] {
    const T = this.numThresholds;
    const inner = this.thresholds ?? Array.from({ length: T - 2 }, (_, i) => ((i + 1) * 1.0) / (T - 1));
    return [0 - EPSILON, ...inner, 1 + EPSILON];
  }

  build(): Metric {
    const T = this.numThresholds;
    const evenly = this.thresholds === undefined;
    const ts = this.allThresholds().map(f);
    const self = this;
    /** The last threshold index at which `p` counts as positive, -1 for none. */
    const bucket = (p: number): number => {
      if (Number.isNaN(p)) return -1;
      if (evenly) {
        // Keras's bucketing for evenly spaced thresholds, in float32: ceil(p * (T - 1)) - 1, at least 0.
        return Math.min(T - 1, Math.max(0, Math.ceil(f(p * (T - 1))) - 1));
      }
      let b = -1;
      while (b + 1 < T && p > ts[b + 1]) b++;
      return b;
    };
    return {
      name: this.name,
      // Per bucket: the weight of positive labels, then of negative ones (cumulated into counts in `result`);
      // then the total weights of positive and negative labels.
      width: 2 * T + 2,
      update(out, y, rows, cols, acc, weights) {
        for (let r = 0; r < rows; r++) {
          const w = weights ? weights[r] : 1;
          for (let c = 0; c < cols; c++) {
            const label = y[r * cols + c] !== 0;
            acc[label ? 2 * T : 2 * T + 1] += w;
            const b = bucket(out[r * cols + c]);
            if (b >= 0) acc[label ? b : T + b] += w;
          }
        }
      },
      result: (acc) => self.resultOf(confusionCounts(acc, T)),
    };
  }

  /** Keras's AUC.result() from the counts per threshold. */
  resultOf({ tp, fp, tn, fn }: Counts): number {
    const T = this.numThresholds;
    if (this.curve === 'PR' && this.summationMethod === 'interpolation') {
      // Davis & Goadrich's interpolation as Keras writes it (interpolate_pr_auc).
      let sum = 0;
      for (let i = 0; i < T - 1; i++) {
        const dtp = tp[i] - tp[i + 1];
        const pA = tp[i] + fp[i];
        const pB = tp[i + 1] + fp[i + 1];
        const slope = divideNoNan(dtp, Math.max(pA - pB, 0));
        const intercept = tp[i + 1] - slope * pB;
        const ratio = pA > 0 && pB > 0 ? divideNoNan(pA, Math.max(pB, 0)) : 1;
        sum += divideNoNan(slope * (dtp + intercept * Math.log(ratio)), Math.max(tp[i + 1] + fn[i + 1], 0));
      }
      return sum;
    }
    const recall = tp.map((t, i) => divideNoNan(t, t + fn[i]));
    const x = this.curve === 'ROC' ? fp.map((v, i) => divideNoNan(v, v + tn[i])) : recall;
    const yv = this.curve === 'ROC' ? recall : tp.map((t, i) => divideNoNan(t, t + fp[i]));
    let sum = 0;
    for (let i = 0; i < T - 1; i++) {
      const h =
        this.summationMethod === 'interpolation'
          ? (yv[i] + yv[i + 1]) / 2
          : this.summationMethod === 'minoring'
            ? Math.min(yv[i], yv[i + 1])
            : Math.max(yv[i], yv[i + 1]);
      sum += (x[i] - x[i + 1]) * h;
    }
    return sum;
  }
}

export interface Counts {
  tp: Float64Array;
  fp: Float64Array;
  tn: Float64Array;
  fn: Float64Array;
}

/** Counts per threshold from the per-bucket weights: threshold i counts every bucket b >= i as predicted positive. */
export function confusionCounts(acc: Float64Array, T: number): Counts {
  const tp = new Float64Array(T);
  const fp = new Float64Array(T);
  let pos = 0;
  let neg = 0;
  for (let i = T - 1; i >= 0; i--) {
    pos += acc[i];
    neg += acc[T + i];
    tp[i] = pos;
    fp[i] = neg;
  }
  // A pair below every threshold lands in no bucket: the totals are counted apart.
  const allPos = acc[2 * T];
  const allNeg = acc[2 * T + 1];
  return { tp, fp, fn: tp.map((t) => allPos - t), tn: fp.map((v) => allNeg - v) };
}

export interface PrecisionRecallOptions {
  /** A threshold in [0, 1] or a list of them (one value each). Default 0.5, or none with topK (as Keras). */
  thresholds?: number | number[];
  /** Only the top k predictions of each row can be positive. */
  topK?: number;
  /** Score only this output column. */
  classId?: number;
  name?: string;
}

abstract class ThresholdMetric extends MetricObject {
  readonly thresholds: number[];
  readonly scalar: boolean;
  readonly topK?: number;
  readonly classId?: number;
  readonly name: string;

  constructor(owner: string, defaultName: string, options: PrecisionRecallOptions) {
    super();
    checkOptionKeys(owner, options, ['thresholds', 'topK', 'classId', 'name']);
    const o = options ?? {};
    if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK > 0))
      throw badOption(owner, 'topK', 'a positive integer', o.topK);
    if (o.classId !== undefined && !(Number.isInteger(o.classId) && o.classId >= 0))
      throw badOption(owner, 'classId', 'a non-negative integer', o.classId);
    // Keras: with topK and no thresholds, any prediction kept in the top k counts (threshold NEG_INF).
    const given = o.thresholds ?? (o.topK !== undefined ? NEG_INF : 0.5);
    this.scalar = !Array.isArray(given);
    const list = Array.isArray(given) ? given : [given];
    if (list.length === 0)
      throw badOption(owner, 'thresholds', 'a number or a non-empty array of numbers in [0, 1]', given);
    this.thresholds = list.map((t, i) =>
      t === NEG_INF && o.thresholds === undefined
        ? t
        : checkThreshold(owner, Array.isArray(given) ? `thresholds[${i}]` : 'thresholds', t),
    );
    this.topK = o.topK;
    this.classId = o.classId;
    this.name = optionalName(owner, o.name, defaultName);
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      ...(this.thresholds[0] === NEG_INF ? {} : { thresholds: this.scalar ? this.thresholds[0] : this.thresholds }),
      ...(this.topK !== undefined ? { topK: this.topK } : {}),
      ...(this.classId !== undefined ? { classId: this.classId } : {}),
    };
  }

  protected abstract value(tp: number, fp: number, fn: number): number;

  build(outputCols: number): Metric {
    const { topK, classId } = this;
    if (classId !== undefined && classId >= outputCols)
      throw new RangeError(
        `${this.className}: classId ${classId} is outside the model's ${outputCols} output column${outputCols === 1 ? '' : 's'}`,
      );
    const ts = this.thresholds.map(f);
    const T = ts.length;
    const self = this;
    const kept = new Float32Array(outputCols);
    return {
      name: this.name,
      // tp, fp, fn per threshold.
      width: 3 * T,
      update(out, y, rows, cols, acc, weights) {
        for (let r = 0; r < rows; r++) {
          const w = weights ? weights[r] : 1;
          const row = out.subarray(r * cols, (r + 1) * cols);
          const p = topK === undefined ? row : filterTopK(row, topK, kept);
          for (let c = classId ?? 0; c < (classId === undefined ? cols : classId + 1); c++) {
            const label = y[r * cols + c] !== 0;
            for (let i = 0; i < T; i++) {
              const pos = p[c] > ts[i];
              if (pos && label) acc[i] += w;
              else if (pos) acc[T + i] += w;
              else if (label) acc[2 * T + i] += w;
            }
          }
        }
      },
      result(acc) {
        const v = ts.map((_, i) => self.value(acc[i], acc[T + i], acc[2 * T + i]));
        return self.scalar ? v[0] : v;
      },
    };
  }
}

/** Keeps the k largest values of a row (ties: the lower index first, as tf.math.top_k) and sets the others to -1e10. */
function filterTopK(row: Float32Array, k: number, into: Float32Array): Float32Array {
  into.fill(NEG_INF);
  const idx = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
  for (let i = 0; i < Math.min(k, idx.length); i++) into[idx[i]] = row[idx[i]];
  return into;
}

/** tp / (tp + fp) per threshold. */
export class Precision extends ThresholdMetric {
  readonly className = 'Precision';
  constructor(options: PrecisionRecallOptions = {}) {
    super('Precision', 'precision', options);
  }
  protected value(tp: number, fp: number): number {
    return divideNoNan(tp, tp + fp);
  }
}

/** tp / (tp + fn) per threshold. */
export class Recall extends ThresholdMetric {
  readonly className = 'Recall';
  constructor(options: PrecisionRecallOptions = {}) {
    super('Recall', 'recall', options);
  }
  protected value(tp: number, _fp: number, fn: number): number {
    return divideNoNan(tp, tp + fn);
  }
}
