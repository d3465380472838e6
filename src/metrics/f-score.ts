/**
 * Keras's FBetaScore and F1Score: true/false positives and false negatives per class (or over all classes,
 * `average: 'micro'`), weighted by the rows' sample weights, and the score computed from them at the end.
 *
 * Without `threshold` a row's prediction is its argmax (every column equal to the row's maximum, and not 0);
 * with it, every column above it. Sparse targets (one class index per row) are read as one-hot rows.
 */
import { badOption, checkOptionKeys } from '../errors.js';
import { EPSILON, MetricObject, type Metric } from './metric.js';

export type FScoreAverage = null | 'micro' | 'macro' | 'weighted';

export interface FBetaScoreOptions {
  /** null (default: one score per class), 'micro', 'macro' or 'weighted'. */
  average?: FScoreAverage;
  /** Weight of recall against precision. Default 1. */
  beta?: number;
  /** Predictions above it count as positive; default none (the argmax of each row). */
  threshold?: number | null;
  name?: string;
}

export class FBetaScore extends MetricObject {
  readonly className: string = 'FBetaScore';
  readonly average: FScoreAverage;
  readonly beta: number;
  readonly threshold: number | null;
  readonly name: string;

  constructor(options: FBetaScoreOptions = {}, owner = 'FBetaScore', defaultName = 'fbeta_score') {
    super();
    checkOptionKeys(
      owner,
      options,
      owner === 'F1Score' ? ['average', 'threshold', 'name'] : ['average', 'beta', 'threshold', 'name'],
    );
    const o = options ?? {};
    const average = o.average ?? null;
    if (![null, 'micro', 'macro', 'weighted'].includes(average))
      throw badOption(owner, 'average', "null, 'micro', 'macro' or 'weighted'", average);
    const beta = o.beta ?? 1;
    if (typeof beta !== 'number' || !(beta > 0) || !Number.isFinite(beta))
      throw badOption(owner, 'beta', 'a number > 0', beta);
    const threshold = o.threshold ?? null;
    if (threshold !== null && (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)))
      throw badOption(owner, 'threshold', 'a number with 0 < threshold <= 1, or null', threshold);
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
      throw badOption(owner, 'name', 'a non-empty string', o.name);
    this.average = average;
    this.beta = beta;
    this.threshold = threshold;
    this.name = o.name ?? defaultName;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, average: this.average, beta: this.beta, threshold: this.threshold };
  }

  build(outputCols: number, sparseTargets: boolean): Metric {
    const C = outputCols;
    const cells = this.average === 'micro' ? 1 : C;
    const threshold = this.threshold === null ? null : Math.fround(this.threshold);
    const self = this;
    return {
      name: this.name,
      // tp, fp, fn, then the weight of true labels (the support), per class or for all.
      width: 4 * cells,
      update(out, y, rows, cols, acc, weights) {
        for (let r = 0; r < rows; r++) {
          const w = weights ? weights[r] : 1;
          let max = -Infinity;
          if (threshold === null) for (let c = 0; c < cols; c++) max = Math.max(max, out[r * cols + c]);
          for (let c = 0; c < cols; c++) {
            const p = out[r * cols + c];
            const pred = threshold === null ? p >= max && Math.abs(p) > 1e-9 : p > threshold;
            const t = sparseTargets ? (y[r] === c ? 1 : 0) : y[r * cols + c];
            const k = cells === 1 ? 0 : c;
            if (pred) {
              acc[k] += w * t;
              acc[cells + k] += w * (1 - t);
            } else acc[2 * cells + k] += w * t;
            acc[3 * cells + k] += w * t;
          }
        }
      },
      result(acc) {
        const b2 = self.beta * self.beta;
        const scores: number[] = [];
        let support = 0;
        for (let k = 0; k < cells; k++) {
          const tp = acc[k];
          const precision = tp / (tp + acc[cells + k] + EPSILON);
          const recall = tp / (tp + acc[2 * cells + k] + EPSILON);
          scores.push(((precision * recall) / (b2 * precision + recall + EPSILON)) * (1 + b2));
          support += acc[3 * cells + k];
        }
        if (self.average === 'weighted')
          return scores.reduce((s, v, k) => s + v * (acc[3 * cells + k] / (support + EPSILON)), 0);
        if (self.average !== null) return scores.reduce((s, v) => s + v, 0) / cells;
        return scores;
      },
    };
  }
}

/** FBetaScore with beta = 1: the harmonic mean of precision and recall. */
export class F1Score extends FBetaScore {
  readonly className = 'F1Score';
  constructor(options: Omit<FBetaScoreOptions, 'beta'> = {}) {
    super(options, 'F1Score', 'f1_score');
  }
  getConfig(): Record<string, unknown> {
    const { beta: _b, ...rest } = super.getConfig();
    return rest;
  }
}
