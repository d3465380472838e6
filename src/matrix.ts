/**
 * A dense row-major float32 matrix: lockstep's own data type for inputs, targets and predictions.
 *
 * The data may live in a SharedArrayBuffer, which lets the worker pool read rows without copying.
 */
export class Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;

  constructor(data: Float32Array, rows: number, cols: number) {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
      throw new RangeError(`Matrix shape must be non-negative integers. Received: [${rows}, ${cols}]`);
    }
    if (data.length !== rows * cols) {
      throw new RangeError(`Matrix data has ${data.length} values but shape [${rows}, ${cols}] needs ${rows * cols}`);
    }
    this.data = data;
    this.rows = rows;
    this.cols = cols;
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
        throw new RangeError(`${what}: row ${r} has ${Array.isArray(row) ? row.length : 'no'} values, row 0 has ${cols}`);
      }
      for (let c = 0; c < cols; c++) checkNumber(row[c], what, r, c);
      data.set(row, r * cols);
    }
    return new Matrix(data, rows.length, cols);
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  row(r: number): Float32Array {
    return this.data.subarray(r * this.cols, (r + 1) * this.cols);
  }

  get(r: number, c: number): number {
    return this.data[r * this.cols + c];
  }

  /** Rows [start, end) as a view (no copy). */
  sliceRows(start: number, end: number): Matrix {
    return new Matrix(this.data.subarray(start * this.cols, end * this.cols), end - start, this.cols);
  }

  /** The rows at `indices`, copied, in that order. */
  gather(indices: ArrayLike<number>): Matrix {
    const out = new Float32Array(indices.length * this.cols);
    for (let i = 0; i < indices.length; i++) out.set(this.row(indices[i]), i * this.cols);
    return new Matrix(out, indices.length, this.cols);
  }

  /** A copy whose data lives in a SharedArrayBuffer (returns `this` when it already does). */
  toShared(): Matrix {
    if (this.data.buffer instanceof SharedArrayBuffer) return this;
    const data = new Float32Array(new SharedArrayBuffer(this.data.byteLength));
    data.set(this.data);
    return new Matrix(data, this.rows, this.cols);
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

function checkNumber(v: unknown, what: string, r: number, c: number): void {
  if (typeof v !== 'number') throw new TypeError(`${what}: row ${r}, column ${c} holds ${v === undefined ? 'undefined' : JSON.stringify(v)}, not a number`);
}

/** What lockstep accepts as x or y: nested arrays, a flat array (one column), a Float32Array with a shape, or a Matrix. */
export type MatrixLike = Matrix | number[][] | number[] | { data: Float32Array; shape: [number, number] };

/**
 * Turns any accepted input into a Matrix without copying a Matrix or Float32Array, and checks that every value
 * is finite. `what` names the argument in errors (e.g. "x", "validationData[1]").
 */
export function toMatrix(value: MatrixLike, what: string): Matrix {
  let m: Matrix;
  if (value instanceof Matrix) m = value;
  else if (Array.isArray(value)) m = Matrix.fromArray(value, what);
  else if (value && value.data instanceof Float32Array && Array.isArray(value.shape)) {
    const [rows, cols] = value.shape;
    if (value.data.length !== rows * cols) {
      throw new RangeError(`${what}: data has ${value.data.length} values but shape [${rows}, ${cols}] needs ${rows * cols}`);
    }
    m = new Matrix(value.data, rows, cols);
  } else {
    throw new TypeError(`${what} must be number[][], number[], a Matrix or { data: Float32Array, shape: [rows, cols] }`);
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
