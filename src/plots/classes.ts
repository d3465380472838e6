/**
 * Class labels and predictions as the figures accept them: class indices (`number[]`, `Int32Array`, ...), or a
 * matrix with a row per sample (probabilities or one-hot rows, reduced by argmax; one column holds indices).
 */
import { assertFinite, Matrix } from '../matrix.js';

export type ClassesLike = ArrayLike<number> | ScoresLike;

/** A row of class scores (probabilities, one-hot) per sample. */
export type ScoresLike = Matrix | number[][] | { data: ArrayLike<number>; shape: readonly [number, number] };

export interface Classes {
  indices: Int32Array;
  /** The number of columns of a matrix input with more than one (its class count), else undefined. */
  columns?: number;
  /** That matrix (class scores), when there is one. */
  scores?: Matrix;
}

/** Checks `value` (named `what` in errors, after `owner`) and gives its class indices. */
export function toClasses(owner: string, what: string, value: unknown): Classes {
  const m = asMatrix(owner, what, value);
  if (m) assertFinite(m, `${owner}: ${what}`);
  if (m && m.cols > 1) return { indices: m.argMax(), columns: m.cols, scores: m };
  const values: ArrayLike<number> = m ? m.data : (value as ArrayLike<number>);
  const indices = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new RangeError(
        `${owner}: ${what}[${i}] = ${JSON.stringify(v) ?? String(v)} is not a class index (a non-negative integer)`,
      );
    }
    indices[i] = v;
  }
  return { indices };
}

/** A matrix input as a Matrix (argmax needs rows); undefined for a plain list of indices. */
function asMatrix(owner: string, what: string, value: unknown): Matrix | undefined {
  if (value instanceof Matrix) return value;
  if (Array.isArray(value) && value.some((v) => Array.isArray(v)))
    return Matrix.fromArray(value as number[][], `${owner}: ${what}`);
  if (Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView))) return undefined;
  const v = value as { data?: unknown; shape?: unknown } | null;
  if (v && (ArrayBuffer.isView(v.data) || Array.isArray(v.data)) && Array.isArray(v.shape) && v.shape.length === 2) {
    const [rows, cols] = v.shape as number[];
    const data = Float32Array.from(v.data as ArrayLike<number>);
    if (data.length !== rows * cols)
      throw new RangeError(
        `${owner}: ${what} data has ${data.length} values but shape [${rows}, ${cols}] needs ${rows * cols}`,
      );
    return new Matrix(data, rows, cols);
  }
  throw new TypeError(
    `${owner}: ${what} must be class indices (number[] or Int32Array) or a matrix of class scores with a row per sample. Received: ${JSON.stringify(value)?.slice(0, 80) ?? String(value)}`,
  );
}

/** Throws unless `labels` and `predictions` have the same, non-zero length. */
export function checkSameLength(owner: string, labels: Classes, predictions: Classes): void {
  if (labels.indices.length !== predictions.indices.length) {
    throw new RangeError(
      `${owner}: labels has ${labels.indices.length} entries but predictions has ${predictions.indices.length}; they must match one to one`,
    );
  }
  if (labels.indices.length === 0)
    throw new RangeError(`${owner}: labels and predictions are empty: there is nothing to count`);
}
