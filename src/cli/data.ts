/**
 * The data the CLI trains and scores on: the built-in datasets by name, or a small CSV / JSON file.
 *
 * Built-in names:
 * - `mnist-train` (60,000 images) and `mnist-test` (10,000): 784 pixels in [0, 1], labels 0..9.
 * - `hitters-train` (175 players) and `hitters-test` (88): the examples' preprocessing (drop rows with a
 *   missing value, one-hot `League`/`Division`/`NewLeague` dropping the first level, standardise all 19
 *   columns), then their 2:1 split with seed 13. The split never depends on `--seed`, so `hitters-test` is
 *   the same players whatever seed a model was trained with.
 *
 * Files: `.csv` with a header row (target column(s) `--target`, default `y`; see src/data/csv.ts), `.npy`
 * (x; its targets in a second .npy given as `--y`), `.npz` (arrays `x`/`y`, or Keras's `x_train`/`y_train`
 * and `x_test`/`y_test`), or `.json` holding `{ "x": [[...], ...], "y": [...] }` (y optional for predict).
 * Files go through the library's loader (src/data/), so the CLI and `loadDataFile` read them alike.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { datasets, Matrix, StandardScaler, trainTestSplit } from '../index.js';
import {
  asRows,
  DATA_FILE_EXTENSIONS,
  loadDataFile,
  type CsvPreprocessing,
  type DataFileOptions,
} from '../data/index.js';
import { DATASET_NAMES, type Family } from './catalog.js';
import { UsageError } from './errors.js';

export interface Dataset {
  /** The name or file it came from, for messages. */
  name: string;
  x: Matrix;
  /** Targets: class indices (MNIST) or one row of values per row; absent for unlabelled files. */
  y?: Matrix | Int32Array;
  /** A CSV's preprocessing (learned by train, or the saved one applied). */
  preprocessing?: CsvPreprocessing;
  /** A CSV's rows dropped for a missing value. */
  droppedRows?: number;
  /** A CSV's file line of each row of x, and of each dropped row (the header is line 1). */
  lines?: Int32Array;
  droppedLines?: number[];
  /** A CSV's --id column, per row of x. */
  ids?: string[];
  /** A CSV's warnings (a column that looks like an ID...). */
  warnings?: string[];
  /** A data file's x shape as stored ([n, h, w, c] for images); `x` holds its rows with that sample shape. */
  xShape?: number[];
}

/** How to read a data file (CSV options, the y file of an .npy, the .npz split). */
export type FileOptions = Omit<DataFileOptions, 'limit' | 'chunkBytes'>;
const FILE_EXTENSIONS = [...DATA_FILE_EXTENSIONS, '.json'];

/** The split seed of the hitters examples (their default `--seed`). */
const HITTERS_SPLIT_SEED = 13;

/** Throws a UsageError unless `nameOrFile` is a built-in name or a data file path (checked before any loading). */
export function checkDataName(nameOrFile: string): void {
  const ext = extname(nameOrFile).toLowerCase();
  if (!DATASET_NAMES.includes(nameOrFile) && !FILE_EXTENSIONS.includes(ext)) {
    throw new UsageError(
      `--data must be one of ${DATASET_NAMES.join(', ')} or a ${FILE_EXTENSIONS.join(' / ')} file. Received: ${JSON.stringify(nameOrFile)}`,
    );
  }
}

/** Throws a UsageError when CSV-only or .npy-only options come with another kind of data. */
export function checkFileOptions(nameOrFile: string, o: FileOptions): void {
  const ext = extname(nameOrFile).toLowerCase();
  const csvOnly: [string, unknown][] = [
    ['--target', o.target],
    ['--features', o.features],
    ['--standardize', o.standardize || undefined],
    ['--id', o.id],
    ['--skip-missing', o.missing === 'drop' ? true : undefined],
    ['--delimiter', o.delimiter],
    ['--encoding', o.encoding],
  ];
  for (const [flag, v] of csvOnly)
    if (v !== undefined && ext !== '.csv')
      throw new UsageError(`${flag} applies to a .csv --data file. Received: --data ${nameOrFile}`);
  if (o.y !== undefined && ext !== '.npy')
    throw new UsageError(`--y names the targets of an .npy --data file. Received: --data ${nameOrFile}`);
}

/** Loads `nameOrFile` (a built-in name or a data file), keeping the first `limit` rows if given. */
export async function loadData(nameOrFile: string, limit?: number, file: FileOptions = {}): Promise<Dataset> {
  if (DATASET_NAMES.includes(nameOrFile)) {
    const data = await builtIn(nameOrFile);
    return limit === undefined ? data : firstRows(data, limit);
  }
  checkDataName(nameOrFile);
  checkFileOptions(nameOrFile, file);
  if (extname(nameOrFile).toLowerCase() === '.json') {
    const data = await fromFile(nameOrFile);
    return limit === undefined ? data : firstRows(data, limit);
  }
  const d = await loadDataFile(nameOrFile, { ...file, limit });
  const x = asRows(d.x);
  const y = d.y && asRows(d.y);
  return {
    name: d.source,
    // Each row keeps the file's sample shape ([28, 28, 1] for images), as a model's input needs it.
    x: new Matrix(x.data, x.shape[0], x.shape[1], d.x.shape.length > 1 ? d.x.shape.slice(1) : [x.shape[1]]),
    y: y && new Matrix(y.data, y.shape[0], y.shape[1]),
    preprocessing: d.preprocessing,
    droppedRows: d.preprocessing ? d.droppedRows : undefined,
    droppedLines: d.droppedLines,
    lines: d.lines,
    ids: d.ids,
    warnings: d.warnings,
    xShape: d.x.shape,
  };
}

async function builtIn(name: string): Promise<Dataset> {
  const [family, split] = name.split('-') as [Family, 'train' | 'test'];
  if (family === 'mnist') {
    // In SharedArrayBuffers: the worker pool then reads the pixels without a copy.
    const { train, test } = await datasets.mnist({ shared: true });
    const s = split === 'train' ? train : test;
    return { name, x: s.images, y: s.labels };
  }
  const { xTrain, xTest, yTrain, yTest } = await hitters();
  return split === 'train' ? { name, x: xTrain, y: yTrain } : { name, x: xTest, y: yTest };
}

/** The hitters examples' preprocessing and split (see examples/hitters.ts). */
async function hitters() {
  const { x, y } = await datasets.hittersXY();
  return trainTestSplit(new StandardScaler().fitTransform(x), y, { testSize: 1 / 3, seed: HITTERS_SPLIT_SEED });
}

/**
 * The data with each row shaped as the model's input sample when both hold the same number of values: the
 * built-in MNIST sets give rows of 784 pixels, an .npy file [n, 28, 28], and a convnet wants [28, 28, 1].
 * (The library itself is strict, as Keras is; the command line has no other way to say the shape.)
 */
export function shapedFor(data: Dataset, sampleShape: number[] | undefined): Dataset {
  const x = data.x;
  if (!sampleShape || sampleShape.join(',') === x.sampleShape.join(',')) return data;
  if (sampleShape.reduce((a, b) => a * b, 1) !== x.cols) return data;
  return { ...data, x: new Matrix(x.data, x.rows, x.cols, sampleShape) };
}

function firstRows(data: Dataset, limit: number): Dataset {
  const n = Math.min(limit, data.x.rows);
  const y =
    data.y === undefined ? undefined : data.y instanceof Matrix ? data.y.sliceRows(0, n) : data.y.subarray(0, n);
  return { name: data.name, x: data.x.sliceRows(0, n), y };
}

async function fromFile(file: string): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read --data file '${file}': ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err },
    );
  }
  return fromJson(text, file);
}

function fromJson(text: string, file: string): Dataset {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !Array.isArray((json as { x?: unknown }).x)) {
    throw new Error(`${file} must hold { "x": [[...], ...], "y": [...] }`);
  }
  const { x, y } = json as { x: number[][]; y?: number[] | number[][] };
  // Matrix.fromArray names the row and column of a value that is not a number, as the library does.
  const xm = Matrix.fromArray(x, `${file}: x`);
  if (y === undefined) return { name: file, x: xm };
  if (!Array.isArray(y)) throw new Error(`${file}: y must be an array of numbers (one per row) or of rows of numbers`);
  const ym = Matrix.fromArray(y, `${file}: y`);
  if (ym.rows !== xm.rows) throw new Error(`${file}: x has ${xm.rows} rows but y has ${ym.rows}`);
  return { name: file, x: xm, y: ym };
}
