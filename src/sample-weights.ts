/**
 * Sample and class weights (Keras 3): each row's loss and metric contributions are multiplied by its weight,
 * and the loss is still divided by the number of rows ("sum_over_batch_size": sum(w * loss) / n).
 *
 * The engine carries a row's weight as one more target column, so it travels with the row through shuffling,
 * micro-shards and validation splits without a buffer of its own; `splitWeights` takes it off again where the
 * loss and the metrics read the targets.
 */
import { Matrix } from './matrix.js';
import { badOption } from './errors.js';

/** Per-row weights from `sampleWeight` or `classWeight` (Keras rejects both at once); null for neither. */
export function rowWeights(
  owner: string,
  y: Matrix,
  sparse: boolean,
  sampleWeight: unknown,
  classWeight: unknown,
): Float32Array | null {
  if (sampleWeight !== undefined && sampleWeight !== null && classWeight !== undefined && classWeight !== null) {
    throw new Error(`${owner}: give sampleWeight or classWeight, not both (as Keras)`);
  }
  if (sampleWeight !== undefined && sampleWeight !== null) {
    if (!(sampleWeight instanceof Float32Array || sampleWeight instanceof Float64Array || Array.isArray(sampleWeight)))
      throw badOption(owner, 'sampleWeight', 'an array of one number per row', sampleWeight);
    if (sampleWeight.length !== y.rows)
      throw new Error(
        `${owner}: sampleWeight has ${sampleWeight.length} values but y has ${y.rows} rows: give one weight per row`,
      );
    const w = Float32Array.from(sampleWeight as ArrayLike<number>);
    w.forEach((v, r) => {
      if (!Number.isFinite(v) || v < 0)
        throw new RangeError(
          `${owner}: sampleWeight[${r}] is ${String((sampleWeight as ArrayLike<unknown>)[r])}; weights must be finite and non-negative`,
        );
    });
    return w;
  }
  if (classWeight === undefined || classWeight === null) return null;
  if (typeof classWeight !== 'object' || Array.isArray(classWeight))
    throw badOption(owner, 'classWeight', 'an object mapping class index to weight, e.g. { 0: 1, 1: 5 }', classWeight);
  const table = new Map<number, number>();
  for (const [k, v] of Object.entries(classWeight as Record<string, unknown>)) {
    const c = Number(k);
    if (!Number.isInteger(c) || c < 0)
      throw badOption(owner, `classWeight key '${k}'`, 'a class index (a non-negative integer)', k);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw badOption(owner, `classWeight[${k}]`, 'a finite non-negative number', v);
    table.set(c, v);
  }
  // Keras: the class of a row is its label, the argmax of a one-hot row, or a single column rounded.
  const w = new Float32Array(y.rows);
  for (let r = 0; r < y.rows; r++) {
    let c: number;
    if (sparse || y.cols === 1) c = Math.round(y.data[r * y.cols]);
    else {
      c = 0;
      for (let k = 1; k < y.cols; k++) if (y.data[r * y.cols + k] > y.data[r * y.cols + c]) c = k;
    }
    // Keras gives classes left out of the map weight 1.
    w[r] = table.get(c) ?? 1;
  }
  return w;
}

/** y with each row's weight appended as one more column. */
export function appendWeights(y: Matrix, w: Float32Array): Matrix {
  const cols = y.cols + 1;
  const out = new Float32Array(y.rows * cols);
  for (let r = 0; r < y.rows; r++) {
    out.set(y.data.subarray(r * y.cols, (r + 1) * y.cols), r * cols);
    out[r * cols + y.cols] = w[r];
  }
  return new Matrix(out, y.rows, cols);
}

/**
 * Splits targets that carry a weight column (one more column than `targetCols`) into targets and weights,
 * into reused buffers; targets without one come back as they are, with null weights.
 */
export class WeightSplitter {
  private targets = new Float32Array(0);
  private weights = new Float32Array(0);

  split(y: Float32Array, rows: number, targetCols: number): { y: Float32Array; weights: Float32Array | null } {
    if (rows === 0 || y.length === rows * targetCols) return { y, weights: null };
    if (y.length !== rows * (targetCols + 1))
      throw new Error(
        `lockstep internal: ${y.length / rows} target columns per row, expected ${targetCols} or ${targetCols + 1}`,
      );
    if (this.targets.length < rows * targetCols) this.targets = new Float32Array(rows * targetCols);
    if (this.weights.length < rows) this.weights = new Float32Array(rows);
    const t = this.targets.subarray(0, rows * targetCols);
    const w = this.weights.subarray(0, rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < targetCols; c++) t[r * targetCols + c] = y[r * (targetCols + 1) + c];
      w[r] = y[r * (targetCols + 1) + targetCols];
    }
    return { y: t, weights: w };
  }
}
