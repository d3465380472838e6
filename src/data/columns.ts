/**
 * From the CSV reader's raw rows (one float per used column, category codes for categorical ones) to x and
 * y: the one-hot expansion in pandas' column order, the targets, and the standard scaler. x and y are
 * written once, into SharedArrayBuffers.
 */
import { sharedFloats, type Tensor } from './errors.js';
import type { CsvColumn } from './preprocessing-file.js';

/** x: numeric columns as they are, then each categorical one one-hot without its first category (pandas' order). */
export function expandFeatures(raw: Float32Array, rows: number, w: number, features: CsvColumn[]): Tensor {
  // Output position of each feature's first column; -1 width marks numeric.
  const at = new Int32Array(features.length);
  let cols = 0;
  features.forEach((f, i) => {
    if (f.kind === 'numeric') at[i] = cols++;
  });
  features.forEach((f, i) => {
    if (f.kind === 'categorical') {
      at[i] = cols;
      cols += f.categories!.length - 1;
    }
  });
  const numeric = features.map((f) => f.kind === 'numeric');
  const data = sharedFloats(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const base = r * w;
    for (let f = 0; f < features.length; f++) {
      const v = raw[base + f];
      if (numeric[f]) data[o + at[f]] = v;
      else if (v > 0) data[o + at[f] + v - 1] = 1;
    }
  }
  return { data, shape: [rows, cols] };
}

/** y: the target columns (a categorical target as its class index). */
export function pickTargets(raw: Float32Array, rows: number, w: number, first: number, n: number): Tensor {
  const data = sharedFloats(rows * n);
  for (let r = 0; r < rows; r++) for (let t = 0; t < n; t++) data[r * n + t] = raw[r * w + first + t];
  return { data, shape: [rows, n] };
}

/** Means and population standard deviations (1 for a constant column) over the first `rows` rows, in float64. */
export function fitScaler(x: Tensor, rows: number): { mean: number[]; scale: number[] } {
  const cols = x.shape[1];
  const mean = new Float64Array(cols);
  const sq = new Float64Array(cols);
  for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < cols; c++, i++) mean[c] += x.data[i];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < cols; c++, i++) sq[c] += (x.data[i] - mean[c]) ** 2;
  return { mean: Array.from(mean), scale: Array.from(sq, (s) => Math.sqrt(s / rows) || 1) };
}

export function applyScaler(x: Tensor, { mean, scale }: { mean: number[]; scale: number[] }): void {
  const cols = x.shape[1];
  for (let i = 0, c = 0; i < x.data.length; i++, c = c + 1 === cols ? 0 : c + 1)
    x.data[i] = (x.data[i] - mean[c]) / scale[c];
}
