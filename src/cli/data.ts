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
 * Files: `.json` holding `{ "x": [[...], ...], "y": [...] }` (y optional for predict; a number per row or a
 * row per row), or `.csv` with a header row, numeric columns, and the target in a column named `y`.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { datasets, frameToMatrix, Matrix, StandardScaler, trainTestSplit } from '../index.js';
import { DATASET_NAMES, type Family } from './catalog.js';
import { UsageError } from './errors.js';

export interface Dataset {
  /** The name or file it came from, for messages. */
  name: string;
  x: Matrix;
  /** Targets: class indices (MNIST) or one row of values per row; absent for unlabelled files. */
  y?: Matrix | Int32Array;
}

/** The split seed of the hitters examples (their default `--seed`). */
const HITTERS_SPLIT_SEED = 13;

/** Throws a UsageError unless `nameOrFile` is a built-in name or a .csv / .json path (checked before any loading). */
export function checkDataName(nameOrFile: string): void {
  const ext = extname(nameOrFile).toLowerCase();
  if (!DATASET_NAMES.includes(nameOrFile) && ext !== '.json' && ext !== '.csv') {
    throw new UsageError(`--data must be one of ${DATASET_NAMES.join(', ')} or a .csv / .json file. Received: ${JSON.stringify(nameOrFile)}`);
  }
}

/** Loads `nameOrFile` (a built-in name or a .csv / .json path), keeping the first `limit` rows if given. */
export async function loadData(nameOrFile: string, limit?: number): Promise<Dataset> {
  const data = DATASET_NAMES.includes(nameOrFile) ? await builtIn(nameOrFile) : await fromFile(nameOrFile);
  return limit === undefined ? data : firstRows(data, limit);
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

function firstRows(data: Dataset, limit: number): Dataset {
  const n = Math.min(limit, data.x.rows);
  const y = data.y === undefined ? undefined : data.y instanceof Matrix ? data.y.sliceRows(0, n) : data.y.subarray(0, n);
  return { name: data.name, x: data.x.sliceRows(0, n), y };
}

async function fromFile(file: string): Promise<Dataset> {
  checkDataName(file);
  const ext = extname(file).toLowerCase();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --data file '${file}': ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return ext === '.json' ? fromJson(text, file) : fromCsv(text, file);
}

function fromJson(text: string, file: string): Dataset {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
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

function fromCsv(text: string, file: string): Dataset {
  const frame = datasets.parseCsv(text, file);
  const features = frame.columns.filter((c) => c !== 'y');
  for (const c of frame.columns) {
    const bad = frame.rows.findIndex((r) => typeof r[c] !== 'number');
    if (bad >= 0) throw new Error(`${file}: row ${bad}, column "${c}" is not a number (${JSON.stringify(frame.rows[bad][c])}); every column must be numeric`);
  }
  const x = frameToMatrix(frame, features);
  return frame.columns.includes('y') ? { name: file, x, y: frameToMatrix(frame, ['y']) } : { name: file, x };
}
