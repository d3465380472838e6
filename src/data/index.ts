/**
 * Your own data as x and y, by file type: a CSV with a header (`loadCsv`), NumPy's .npy (`loadNpy`, one file
 * per array) and .npz (`loadNpz`). `loadDataFile` picks by extension; the CLI's `--data FILE` calls it for
 * train, evaluate and predict alike. Arrays come back as `{ data: Float32Array, shape }` in
 * SharedArrayBuffers, so `fit` hands them to the worker pool without a copy.
 *
 * ```ts
 * const train = await loadDataFile('train.csv', { target: 'price', standardize: true, validationSplit: 0.2 });
 * await model.fit(train.x, train.y!, { validationSplit: 0.2 });
 * await model.save('out/model');
 * await savePreprocessing('out/model', train.preprocessing!);
 * // later, on new rows: the same columns, categories and scaler
 * const test = await loadDataFile('test.csv', { preprocessing: await loadPreprocessing('out/model') });
 * ```
 */
import { extname } from 'node:path';
import { badOption, checkOptionKeys, checkPositiveInt } from '../errors.js';
import { CSV_OPTION_KEYS, loadCsv, type CsvOptions } from './csv.js';
import { DataFileError, type Tensor } from './errors.js';
import { loadNpy } from './npy.js';
import { loadNpz, npzKeys } from './npz.js';
import type { CsvPreprocessing } from './preprocessing-file.js';

export { loadCsv, type CsvOptions, type CsvData } from './csv.js';
export { loadNpy, readNpy } from './npy.js';
export { loadNpz, npzKeys } from './npz.js';
export { DataFileError, type Tensor } from './errors.js';
export {
  loadPreprocessing,
  requirePreprocessing,
  savePreprocessing,
  PREPROCESSING_FILE,
  type CsvPreprocessing,
  type CsvColumn,
} from './preprocessing-file.js';

export const DATA_FILE_EXTENSIONS = ['.csv', '.npy', '.npz'];

export interface DataFileOptions extends CsvOptions {
  /** For an x .npy file: the .npy file of its targets. */
  y?: string;
  /**
   * For an .npz without `x`/`y` arrays: which of Keras's `x_train`/`y_train` or `x_test`/`y_test` to read. Default
   * 'train'.
   */
  split?: 'train' | 'test';
}
const OPTION_KEYS = [...CSV_OPTION_KEYS, 'y', 'split'];
const CSV_ONLY = [
  'target',
  'features',
  'standardize',
  'preprocessing',
  'missing',
  'id',
  'delimiter',
  'encoding',
] as const;

export interface DataFile {
  x: Tensor;
  y?: Tensor;
  /** CSV only: the preprocessing learned or applied. */
  preprocessing?: CsvPreprocessing;
  /** CSV only: rows dropped for a missing value. */
  droppedRows: number;
  /** CSV only: the file line of each row of x, and of each dropped row (the header is line 1). */
  lines?: Int32Array;
  droppedLines?: number[];
  /** CSV only, with `id`: that column's text per row of x. */
  ids?: string[];
  /** CSV only: things the user should know (see CsvData.warnings). */
  warnings?: string[];
  /** Where x and y came from, for messages (`mnist.npz: x_train, y_train`). */
  source: string;
}

/** Loads x (and y, when the file has targets) from a .csv, .npy or .npz file. */
export async function loadDataFile(file: string, options: DataFileOptions = {}): Promise<DataFile> {
  checkOptionKeys('loadDataFile', options, OPTION_KEYS);
  if (options.y !== undefined && (typeof options.y !== 'string' || options.y === ''))
    throw badOption('loadDataFile', 'y', 'the path of an .npy file', options.y);
  if (options.split !== undefined && options.split !== 'train' && options.split !== 'test')
    throw badOption('loadDataFile', 'split', "'train' or 'test'", options.split);
  if (options.limit !== undefined) checkPositiveInt('loadDataFile', 'limit', options.limit);
  const ext = extname(file).toLowerCase();
  if (!DATA_FILE_EXTENSIONS.includes(ext)) {
    throw new DataFileError(file, `unknown data file type "${ext}": use ${DATA_FILE_EXTENSIONS.join(', ')}`);
  }
  if (ext === '.csv') {
    if (options.y !== undefined)
      throw new DataFileError(file, 'a CSV holds its targets: name the column with target (--target), not a y file');
    const { y: _y, split: _s, ...csv } = options;
    const d = await loadCsv(file, csv);
    const { x, y, preprocessing, droppedRows, droppedLines, lines, ids, warnings } = d;
    return { x, y, preprocessing, droppedRows, droppedLines, lines, ids, warnings, source: file };
  }
  for (const k of CSV_ONLY) {
    if (options[k] !== undefined) {
      throw new DataFileError(file, `option ${k} applies to CSV files only`);
    }
  }
  const limit = (t: Tensor | undefined) =>
    t === undefined || options.limit === undefined ? t : firstRows(t, options.limit);
  if (ext === '.npy') {
    const x = await loadNpy(file);
    const y = options.y === undefined ? undefined : await loadNpy(options.y);
    if (y && y.shape[0] !== x.shape[0])
      throw new DataFileError(options.y!, `has ${y.shape[0]} rows but ${file} has ${x.shape[0]}`);
    return { x: limit(x)!, y: limit(y), droppedRows: 0, source: options.y ? `${file}, ${options.y}` : file };
  }
  if (options.y !== undefined)
    throw new DataFileError(file, 'an .npz holds its targets: the y option is for .npy files');
  const keys = await npzKeys(file);
  const split = options.split ?? 'train';
  const [xKey, yKey] = keys.includes('x') ? ['x', 'y'] : [`x_${split}`, `y_${split}`];
  // Rows are compared from the headers, before either array is inflated.
  const arrays = await loadNpz(file, keys.includes(yKey) ? [xKey, yKey] : [xKey], (shapes) => {
    const [xs, ys] = [shapes[xKey], shapes[yKey]];
    if (ys && ys[0] !== xs[0]) throw new DataFileError(file, `${yKey} has ${ys[0]} rows but ${xKey} has ${xs[0]}`);
  });
  const x = arrays[xKey];
  const y = arrays[yKey];
  return { x: limit(x)!, y: limit(y), droppedRows: 0, source: `${file}: ${y ? `${xKey}, ${yKey}` : xKey}` };
}

/** The first `n` rows of an array, as a view. */
function firstRows(t: Tensor, n: number): Tensor {
  if (t.shape.length === 0 || t.shape[0] <= n) return t;
  const per = t.shape.slice(1).reduce((a, d) => a * d, 1);
  return { data: t.data.subarray(0, n * per), shape: [n, ...t.shape.slice(1)] };
}

/**
 * A 2-D view for models that take rows of features: [n, a, b, ...] becomes [n, a*b*...], [n] becomes [n, 1].
 * (Convolutional models take the rank-N array as it is.)
 */
export function asRows(t: Tensor): { data: Float32Array; shape: [number, number] } {
  if (t.shape.length === 0) return { data: t.data, shape: [1, 1] };
  const per = t.shape.slice(1).reduce((a, d) => a * d, 1);
  return { data: t.data, shape: [t.shape[0], per] };
}
