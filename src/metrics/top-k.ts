/**
 * Keras's TopKCategoricalAccuracy and SparseTopKCategoricalAccuracy: the weighted share of rows whose true
 * class is among the k highest predictions. As TensorFlow's in_top_k, classes tied with the k-th value all
 * count as in the top k: the true class is in when fewer than k classes score strictly higher.
 */
import { badOption, checkOptionKeys } from '../errors.js';
import { MetricObject, type Metric } from './metric.js';

export interface TopKOptions {
  /** Default 5. */
  k?: number;
  name?: string;
}

function argmax(a: Float32Array, off: number, cols: number): number {
  let best = 0;
  for (let c = 1; c < cols; c++) if (a[off + c] > a[off + best]) best = c;
  return best;
}

export class TopKCategoricalAccuracy extends MetricObject {
  readonly className: string = 'TopKCategoricalAccuracy';
  readonly k: number;
  readonly name: string;
  protected readonly sparse: boolean = false;

  constructor(
    options: TopKOptions = {},
    owner = 'TopKCategoricalAccuracy',
    defaultName = 'top_k_categorical_accuracy',
  ) {
    super();
    checkOptionKeys(owner, options, ['k', 'name']);
    const o = options ?? {};
    const k = o.k ?? 5;
    if (!Number.isInteger(k) || k < 1) throw badOption(owner, 'k', 'a positive integer', k);
    if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
      throw badOption(owner, 'name', 'a non-empty string', o.name);
    this.k = k;
    this.name = o.name ?? defaultName;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, k: this.k };
  }

  build(sparseTargets: boolean): Metric {
    const k = this.k;
    const sparse = this.sparse || sparseTargets;
    return {
      name: this.name,
      width: 2,
      update(out, y, rows, cols, acc, weights) {
        for (let r = 0; r < rows; r++) {
          const w = weights ? weights[r] : 1;
          const label = sparse ? y[r] : argmax(y, r * cols, cols);
          const target = out[r * cols + label];
          let above = 0;
          for (let c = 0; c < cols; c++) if (out[r * cols + c] > target) above++;
          // in_top_k is false for a non-finite target prediction.
          if (Number.isFinite(target) && above < k) acc[0] += w;
          acc[1] += w;
        }
      },
      result: (acc) => (acc[1] === 0 ? 0 : acc[0] / acc[1]),
    };
  }
}

export class SparseTopKCategoricalAccuracy extends TopKCategoricalAccuracy {
  readonly className = 'SparseTopKCategoricalAccuracy';
  protected readonly sparse = true;
  constructor(options: TopKOptions = {}) {
    super(options, 'SparseTopKCategoricalAccuracy', 'sparse_top_k_categorical_accuracy');
  }
}
