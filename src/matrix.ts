/**
 * A dense row-major float32 batch: lockstep's own data type for inputs, targets and predictions. Row r is
 * one sample of `sampleShape` (a vector of `cols` values by default; an image [h, w, c] for a convnet),
 * flattened: `shape` is [rows, ...sampleShape], and `cols` the values per sample.
 *
 * The data may live in a SharedArrayBuffer, which lets the worker pool read rows without copying.
 */
export class Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** The shape of one sample (row); its values multiply out to `cols`. */
  readonly sampleShape: number[];

  constructor(data: Float32Array, rows: number, cols: number, sampleShape: number[] = [cols]) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new RangeError(`Matrix shape must be non-negative integers. Received: [${rows}, ${cols}]`);
    }
    if (data.length !== rows * cols) {
      throw new RangeError(`Matrix data has ${data.length} values but shape [${rows}, ${cols}] needs ${rows * cols}`);
    }
    if (sampleShape.reduce((a, b) => a * b, 1) !== cols || !sampleShape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`Matrix sample shape [${sampleShape}] does not hold ${cols} values per row`);
    }
    this.data = data;
    this.rows = rows;
    this.cols = cols;
    this.sampleShape = [...sampleShape];
  }

  static zeros(rows: number, cols: number): Matrix {
    return new Matrix(new Float32Array(rows * cols), rows, cols);
  }

  /** Copies `number[][]` (or a flat `number[]` as one column) into a Matrix. */
  static fromArray(values: number[][] | number[], what = 'array'): Matrix {
    if (values.length === 0) return Matrix.zeros(0, 0);
    if (!Array.isArray(values[0])) {
      // Float32Array.from would turn null into 0 and '3' into 3: only numbers are values.
      (values as unknown[]).forEach((v, r) => checkNumber(v, what, r, 0));
      return new Matrix(Float32Array.from(values as number[]), values.length, 1);
    }
    const rows = values as number[][];
    const cols = rows[0].length;
    const data = new Float32Array(rows.length * cols);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new RangeError(
          `${what}: row ${r} has ${Array.isArray(row) ? row.length : 'no'} values, row 0 has ${cols}`,
        );
      }
      for (let c = 0; c < cols; c++) checkNumber(row[c], what, r, c);
      data.set(row, r * cols);
    }
    return new Matrix(data, rows.length, cols);
  }

  /** [rows, ...sampleShape]: [rows, cols] for vectors, [n, h, w, c] for images. */
  get shape(): number[] {
    return [this.rows, ...this.sampleShape];
  }

  row(r: number): Float32Array {
    return this.data.subarray(r * this.cols, (r + 1) * this.cols);
  }

  get(r: number, c: number): number {
    return this.data[r * this.cols + c];
  }

  /** Rows [start, end) as a view (no copy). */
  sliceRows(start: number, end: number): Matrix {
    return new Matrix(this.data.subarray(start * this.cols, end * this.cols), end - start, this.cols, this.sampleShape);
  }

  /** The rows at `indices`, copied, in that order. */
  gather(indices: ArrayLike<number>): Matrix {
    const out = new Float32Array(indices.length * this.cols);
    for (let i = 0; i < indices.length; i++) out.set(this.row(indices[i]), i * this.cols);
    return new Matrix(out, indices.length, this.cols, this.sampleShape);
  }

  /** A copy whose data lives in a SharedArrayBuffer (returns `this` when it already does). */
  toShared(): Matrix {
    if (this.data.buffer instanceof SharedArrayBuffer) return this;
    const data = new Float32Array(new SharedArrayBuffer(this.data.byteLength));
    data.set(this.data);
    return new Matrix(data, this.rows, this.cols, this.sampleShape);
  }

  toArray(): number[][] {
    const out: number[][] = [];
    for (let r = 0; r < this.rows; r++) out.push(Array.from(this.row(r)));
    return out;
  }

  /** Index of the largest value in each row. */
  argMax(): Int32Array {
    const out = new Int32Array(this.rows);
    for (let r = 0; r < this.rows; r++) {
      let best = 0;
      for (let c = 1; c < this.cols; c++) if (this.data[r * this.cols + c] > this.data[r * this.cols + best]) best = c;
      out[r] = best;
    }
    return out;
  }
}

/** Arrays nested to any depth: number[][] for vectors, number[][][][] for images [n][h][w][c]. */
export type NestedArray = number[] | NestedArray[];

/**
 * What lockstep accepts as x or y: nested arrays (any depth; a flat array is one column), a Float32Array with
 * a shape [rows, ...sample shape], or a Matrix.
 */
export type MatrixLike = Matrix | NestedArray | { data: Float32Array; shape: number[] };

/** Nested arrays of any depth as a Matrix, checking that every level is rectangular and every leaf a number. */
function fromNested(values: NestedArray, what: string): Matrix {
  const shape: number[] = [];
  for (let v: unknown = values; Array.isArray(v); v = v[0]) shape.push(v.length);
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(shape[0] * cols);
  let at = 0;
  const walk = (v: unknown, depth: number, path: number[]): void => {
    const where = () => `${what}${path.map((i) => `[${i}]`).join('')}`;
    if (depth === shape.length) {
      if (typeof v !== 'number') throw new TypeError(`${where()} must be a number. Received: ${JSON.stringify(v)}`);
      data[at++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new RangeError(
        `${where()} has ${Array.isArray(v) ? v.length : 'no'} entries where ${what}${path.map(() => '[0]').join('')} has ${shape[depth]}: nested arrays must be rectangular`,
      );
    }
    v.forEach((e, i) => walk(e, depth + 1, [...path, i]));
  };
  walk(values, 0, []);
  return new Matrix(data, shape[0], cols, shape.slice(1));
}

function checkNumber(v: unknown, what: string, r: number, c: number): void {
  if (typeof v !== 'number')
    throw new TypeError(
      `${what}: row ${r}, column ${c} holds ${v === undefined ? 'undefined' : JSON.stringify(v)}, not a number`,
    );
}

/**
 * Turns any accepted input into a Matrix without copying a Matrix or Float32Array, and checks that every value
 * is finite. `what` names the argument in errors (e.g. "x", "validationData[1]").
 */
export function toMatrix(value: MatrixLike, what: string): Matrix {
  let m: Matrix;
  if (value instanceof Matrix) m = value;
  else if (Array.isArray(value) && Array.isArray(value[0]) && Array.isArray(value[0][0])) m = fromNested(value, what);
  else if (Array.isArray(value)) m = Matrix.fromArray(value as number[][] | number[], what);
  else if (value && value.data instanceof Float32Array && Array.isArray(value.shape)) {
    const shape = value.shape;
    if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(
        `${what}: shape must be [rows, ...sample shape] of non-negative integers. Received: [${shape}]`,
      );
    }
    const sample = shape.length === 1 ? [1] : shape.slice(1);
    const cols = sample.reduce((a, b) => a * b, 1);
    if (value.data.length !== shape[0] * cols) {
      throw new RangeError(
        `${what}: data has ${value.data.length} values but shape [${shape}] needs ${shape[0] * cols}`,
      );
    }
    m = new Matrix(value.data, shape[0], cols, sample);
  } else {
    throw new TypeError(
      `${what} must be nested number arrays, a Matrix or { data: Float32Array, shape: [rows, ...sample shape] }`,
    );
  }
  assertFinite(m, what);
  return m;
}

/** Throws naming the first row and column that hold NaN or Infinity. */
export function assertFinite(m: Matrix, what: string): void {
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const r = Math.floor(i / m.cols);
      throw new RangeError(`${what} has a non-finite value (${d[i]}) at row ${r}, column ${i - r * m.cols}`);
    }
  }
}
