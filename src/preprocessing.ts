/**
 * Data preparation in the style of pandas and scikit-learn: a tiny data frame, `getDummies`, `StandardScaler`,
 * `trainTestSplit` and `toCategorical`.
 *
 * ```ts
 * const frame = dropNA(await datasets.hitters());
 * const x = getDummies(frame.drop(['Names', 'Salary']), { dropFirst: true }).toMatrix(); // 263 x 19
 * const y = frame.toMatrix(['Salary']);
 * const { xTrain, xTest, yTrain, yTest } = trainTestSplit(x, y, { testSize: 1 / 3, seed: 1 });
 * ```
 */
import { Matrix, assertFinite } from './matrix.js';
import { badOption, checkOptionKeys } from './errors.js';
import { Purpose, keyFor, permutation, seedKey } from './rng.js';

/** One cell of a data frame; `null` is a missing value (NA). */
export type Cell = number | string | null;

/** A table of named columns, stored as one record per row. Frames are never mutated: methods return new ones. */
export class DataFrame {
  readonly columns: readonly string[];
  readonly rows: readonly Readonly<Record<string, Cell>>[];

  constructor(columns: readonly string[], rows: readonly Readonly<Record<string, Cell>>[]) {
    const dup = columns.find((c, i) => columns.indexOf(c) !== i);
    if (dup !== undefined) throw new Error(`DataFrame: column name "${dup}" appears more than once`);
    this.columns = columns;
    this.rows = rows;
  }

  /** Number of rows. */
  get length(): number {
    return this.rows.length;
  }

  /** The values of one column, top to bottom. */
  column(name: string): Cell[] {
    this.check([name]);
    return this.rows.map((r) => r[name]);
  }

  /** A frame with only `names`, in that order. */
  select(names: readonly string[]): DataFrame {
    this.check(names);
    return new DataFrame(
      names,
      this.rows.map((r) => Object.fromEntries(names.map((n) => [n, r[n]]))),
    );
  }

  /** A frame without the columns `names`. */
  drop(names: readonly string[]): DataFrame {
    this.check(names);
    return this.select(this.columns.filter((c) => !names.includes(c)));
  }

  /** A frame without the rows that hold a missing value in any column. */
  dropNA(): DataFrame {
    return new DataFrame(
      this.columns,
      this.rows.filter((r) => this.columns.every((c) => r[c] !== null)),
    );
  }

  /** The numeric columns `names` (default: all) as a float32 Matrix; see `frameToMatrix`. */
  toMatrix(names: readonly string[] = this.columns): Matrix {
    return frameToMatrix(this, names);
  }

  private check(names: readonly string[]): void {
    for (const n of names) {
      if (!this.columns.includes(n))
        throw new Error(`DataFrame has no column "${n}". Columns: ${this.columns.join(', ')}`);
    }
  }
}

/** Drops the rows that hold a missing value (pandas `dropna()`). */
export function dropNA(frame: DataFrame): DataFrame {
  return frame.dropNA();
}

/**
 * Copies numeric columns into a Matrix, one row per frame row. Throws naming the row and column of the first
 * string (encode it with `getDummies` first) or missing value (drop it with `dropNA` first).
 */
export function frameToMatrix(frame: DataFrame, names: readonly string[] = frame.columns): Matrix {
  const sub = frame.select(names);
  const out = new Float32Array(sub.length * names.length);
  sub.rows.forEach((row, r) =>
    names.forEach((name, c) => {
      const v = row[name];
      if (typeof v !== 'number') {
        const fix = v === null ? 'drop such rows with dropNA' : 'encode the column with getDummies';
        throw new TypeError(`frameToMatrix: row ${r}, column "${name}" is ${JSON.stringify(v)}, not a number; ${fix}`);
      }
      out[r * names.length + c] = v;
    }),
  );
  return new Matrix(out, sub.length, names.length);
}

export interface GetDummiesOptions {
  /** Leave out each column's first (smallest) level, as pandas `drop_first=True`. Default false. */
  dropFirst?: boolean;
  /** Columns to encode. Default: every column that holds a string. */
  columns?: readonly string[];
}

/**
 * One-hot encodes factor columns like pandas `get_dummies`: the other columns keep their order and come first,
 * then one 0/1 column `<column>_<level>` per level, levels sorted. A missing value encodes as all zeros.
 */
export function getDummies(frame: DataFrame, options: GetDummiesOptions = {}): DataFrame {
  checkOptionKeys('getDummies', options, ['dropFirst', 'columns']);
  if (options.dropFirst !== undefined && typeof options.dropFirst !== 'boolean')
    throw badOption('getDummies', 'dropFirst', 'true or false', options.dropFirst);
  if (
    options.columns !== undefined &&
    !(Array.isArray(options.columns) && options.columns.every((c) => frame.columns.includes(c)))
  ) {
    throw badOption(
      'getDummies',
      'columns',
      `an array of column names of the frame (${frame.columns.join(', ')})`,
      options.columns,
    );
  }
  const encode = options.columns ?? frame.columns.filter((c) => frame.rows.some((r) => typeof r[c] === 'string'));
  const keep = frame.columns.filter((c) => !encode.includes(c));
  const dummies = encode.flatMap((c) => {
    const levels = levelsOf(frame.column(c));
    return (options.dropFirst ? levels.slice(1) : levels).map((level) => ({ source: c, level, name: `${c}_${level}` }));
  });
  const rows = frame.rows.map((r) => {
    const out: Record<string, Cell> = {};
    for (const c of keep) out[c] = r[c];
    for (const d of dummies) out[d.name] = r[d.source] !== null && String(r[d.source]) === d.level ? 1 : 0;
    return out;
  });
  return new DataFrame([...keep, ...dummies.map((d) => d.name)], rows);
}

/** The distinct non-missing values as strings, sorted. */
function levelsOf(values: Cell[]): string[] {
  const present = values.filter((v): v is number | string => v !== null);
  // Numbers sort by value (2 before 10) as pandas sorts them; a column holding any string sorts as text.
  if (present.every((v) => typeof v === 'number'))
    return [...new Set(present as number[])].sort((a, b) => a - b).map(String);
  return [...new Set(present.map(String))].sort();
}

/** pandas-flavoured alias of `getDummies`. */
export const oneHot = getDummies;

/**
 * Standardizes columns to mean 0 and standard deviation 1, like scikit-learn's StandardScaler: the population
 * standard deviation (ddof 0), and a constant column keeps scale 1 so it maps to zeros instead of NaN.
 */
export class StandardScaler {
  /** Column means, set by `fit`. */
  mean: Float64Array | null = null;
  /** Column standard deviations (1 where a column is constant), set by `fit`. */
  scale: Float64Array | null = null;

  fit(x: Matrix): this {
    if (x.rows === 0)
      throw new RangeError(`StandardScaler.fit needs at least one row. Received: shape [${x.rows}, ${x.cols}]`);
    assertFinite(x, 'StandardScaler.fit x');
    const mean = new Float64Array(x.cols);
    const sq = new Float64Array(x.cols);
    // Two passes (mean, then squared deviations) avoid the cancellation of E[x^2] - E[x]^2.
    for (let r = 0, i = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++, i++) mean[c] += x.data[i];
    for (let c = 0; c < x.cols; c++) mean[c] /= x.rows;
    for (let r = 0, i = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++, i++) sq[c] += (x.data[i] - mean[c]) ** 2;
    this.mean = mean;
    this.scale = sq.map((s) => Math.sqrt(s / x.rows) || 1);
    return this;
  }

  /** `(x - mean) / scale`, as a new Matrix. */
  transform(x: Matrix): Matrix {
    const [mean, scale] = this.fitted(x, 'transform');
    return mapColumns(x, (v, c) => (v - mean[c]) / scale[c]);
  }

  fitTransform(x: Matrix): Matrix {
    return this.fit(x).transform(x);
  }

  /** `x * scale + mean`, as a new Matrix: undoes `transform`. */
  inverseTransform(x: Matrix): Matrix {
    const [mean, scale] = this.fitted(x, 'inverseTransform');
    return mapColumns(x, (v, c) => v * scale[c] + mean[c]);
  }

  private fitted(x: Matrix, method: string): [Float64Array, Float64Array] {
    if (!this.mean || !this.scale) throw new Error(`StandardScaler.${method} called before fit`);
    if (x.cols !== this.mean.length) {
      throw new RangeError(`StandardScaler was fitted on ${this.mean.length} columns but ${method} received ${x.cols}`);
    }
    return [this.mean, this.scale];
  }
}

/** A new Matrix with `f(value, column)` applied to every value. */
function mapColumns(x: Matrix, f: (v: number, c: number) => number): Matrix {
  const out = new Float32Array(x.data.length);
  for (let r = 0, i = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++, i++) out[i] = f(x.data[i], c);
  return new Matrix(out, x.rows, x.cols);
}

export interface TrainTestSplitOptions {
  /** Fraction of rows in (0, 1), or a whole number of rows, for the test set. Default 0.25. */
  testSize?: number;
  /** Seed of the shuffle (the `Purpose.Split` stream). Default 0. */
  seed?: number;
}

export interface Split<Y> {
  xTrain: Matrix;
  xTest: Matrix;
  yTrain: Y;
  yTest: Y;
}

/**
 * Shuffles rows and splits them into train and test sets, like scikit-learn's `train_test_split`.
 *
 * A fractional test size rounds up (`ceil(testSize * n)` rows). The first rows of the seeded permutation form
 * the test set, so the split depends only on the seed and the row count.
 */
export function trainTestSplit<Y extends Matrix | Int32Array>(
  x: Matrix,
  y: Y,
  options: TrainTestSplitOptions = {},
): Split<Y> {
  checkOptionKeys('trainTestSplit', options, ['testSize', 'seed']);
  const { testSize = 0.25, seed = 0 } = options;
  if (typeof testSize !== 'number') throw badOption('trainTestSplit', 'testSize', 'a number', testSize);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw badOption('trainTestSplit', 'seed', 'a non-negative safe integer', seed);
  const n = x.rows;
  const yRows = y instanceof Matrix ? y.rows : y.length;
  if (yRows !== n) throw new RangeError(`trainTestSplit: x has ${n} rows but y has ${yRows}`);
  const nTest = testSize > 0 && testSize < 1 ? Math.ceil(testSize * n) : testSize;
  if (!Number.isInteger(nTest) || nTest < 1 || nTest >= n) {
    throw new RangeError(
      `trainTestSplit: options.testSize must be a fraction in (0, 1) or a whole number of rows leaving both sets non-empty (x has ${n} rows). Received: testSize=${testSize}`,
    );
  }
  const perm = permutation(keyFor(seedKey(seed), Purpose.Split), n);
  const test = perm.subarray(0, nTest);
  const train = perm.subarray(nTest);
  return { xTrain: x.gather(train), xTest: x.gather(test), yTrain: take(y, train), yTest: take(y, test) };
}

function take<Y extends Matrix | Int32Array>(y: Y, indices: Int32Array): Y {
  if (y instanceof Matrix) return y.gather(indices) as Y;
  return Int32Array.from(indices, (i) => y[i]) as Y;
}

/**
 * One-hot encodes integer class labels into a `labels.length x numClasses` Matrix, like Keras's `to_categorical`.
 * `numClasses` defaults to the largest label plus one.
 */
export function toCategorical(labels: ArrayLike<number>, numClasses?: number): Matrix {
  if (numClasses !== undefined && (!Number.isInteger(numClasses) || numClasses < 1)) {
    throw new RangeError(`toCategorical: numClasses must be a positive integer. Received: numClasses=${numClasses}`);
  }
  let k = numClasses ?? 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || (numClasses !== undefined && v >= numClasses)) {
      const range = numClasses === undefined ? 'a non-negative integer' : `an integer in [0, ${numClasses})`;
      throw new RangeError(`toCategorical: label at row ${i} is ${v}, expected ${range}`);
    }
    if (numClasses === undefined) k = Math.max(k, v + 1);
  }
  const out = new Float32Array(labels.length * k);
  for (let i = 0; i < labels.length; i++) out[i * k + labels[i]] = 1;
  return new Matrix(out, labels.length, k);
}
