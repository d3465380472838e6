/**
 * The elementwise ops of a training step without tfjs's op wrappers: Dropout's x * mask and the derivatives
 * of relu, tanh and sigmoid, each one pass of a SIMD kernel (kernels/elementwise.wat) over tensors in
 * tfjs-wasm's memory; and the bias gradients' column sums (kernels/column-sums.wat), read in place. Through tfjs,
 * tanh's derivative is three ops (square, sub, mul) and relu's two, each
 * with its own output tensor and about 5 µs of engine dispatch; the MNIST MLP's step made nine such calls
 * per worker. The arithmetic is the ops' own, in their order, so the bits are the same: `directElementwise()`
 * checks that once per thread, on values that include NaNs, infinities, zeros of both signs and subnormals,
 * and returns null if any bit differs; callers then use the tf ops.
 *
 * Like heap.ts this relies on tfjs-wasm 4.x internals (the version is pinned).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  heapOffset,
  heapTensor,
  heapView,
  perBackend,
  wasmBackend,
  wasmMemory,
  type WasmBackendInternals,
  type WasmWithOutput,
} from './heap.js';
import {
  columnSumsFor,
  elementwiseFor,
  tanhFor,
  type ColumnSumsKernel,
  type ElementwiseKernels,
  type TanhKernel,
} from '../kernels/index.js';

type Internals = WasmWithOutput & { wasm: Required<Pick<WasmBackendInternals['wasm'], '_malloc' | '_free'>> };
type T = tf.Tensor2D;
type Kernel = 'mul' | 'reluGrad' | 'tanhGrad' | 'sigmoidGrad';

export class DirectElementwise {
  /** A block of tfjs's memory for column sums' output (byte offset, size in bytes). */
  private scratch = { at: 0, bytes: 0 };

  constructor(
    private readonly be: Internals,
    private readonly k: ElementwiseKernels,
    private readonly sums: ColumnSumsKernel,
    private readonly tanhKernel: TanhKernel,
  ) {}

  private run(kernel: Kernel, a: T, b: T): T {
    if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || a.dtype !== 'float32' || b.dtype !== 'float32') {
      throw new Error(
        `lockstep internal: ${kernel} needs two float32 tensors of one shape, got [${a.shape}] and [${b.shape}]`,
      );
    }
    const out = heapTensor(this.be, a.shape[0], a.shape[1]);
    this.k[kernel](heapOffset(this.be, a), heapOffset(this.be, b), heapOffset(this.be, out), a.size);
    return out;
  }

  /** a * b (tf.mul). */
  mul(a: T, b: T): T {
    return this.run('mul', a, b);
  }

  /** tf.mul(dy, tf.step(y, 0)). */
  reluGrad(dy: T, y: T): T {
    return this.run('reluGrad', dy, y);
  }

  /** tf.mul(dy, tf.sub(1, tf.square(y))). */
  tanhGrad(dy: T, y: T): T {
    return this.run('tanhGrad', dy, y);
  }

  /** tf.mul(dy, tf.mul(y, tf.sub(1, y))). */
  sigmoidGrad(dy: T, y: T): T {
    return this.run('sigmoidGrad', dy, y);
  }

  /** tf.tanh(a), any rank: musl's tanhf four values at a time (kernels/tanh.wat), 2.6x faster than tfjs's loop. */
  tanh(a: tf.Tensor): tf.Tensor {
    if (a.dtype !== 'float32' || a.rank === 0 || a.size === 0) return tf.tanh(a);
    const rows = a.shape[0];
    const out = heapTensor(this.be, rows, a.size / rows);
    this.tanhKernel.tanh(heapOffset(this.be, a), heapOffset(this.be, out), a.size);
    if (a.rank === 2) return out;
    // reshape shares the values: dropping the [rows, rest] handle frees nothing.
    const shaped = tf.reshape(out, a.shape);
    out.dispose();
    return shaped;
  }

  /** columnSums(values of a, start, rows): a Dense layer's bias gradient, read where the tensor lives. */
  columnSums(a: T, start: number, rows: number): Float32Array {
    const cols = a.shape[1];
    if (a.dtype !== 'float32' || start < 0 || start + rows > a.shape[0])
      throw new Error(`lockstep internal: no rows [${start}, ${start + rows}) in [${a.shape}]`);
    if (this.scratch.bytes < cols * 4) {
      if (this.scratch.bytes) this.be.wasm._free(this.scratch.at);
      this.scratch = { at: this.be.wasm._malloc(cols * 4), bytes: cols * 4 };
    }
    // The offsets are taken after the malloc, which may have grown (and so replaced) the memory's buffer.
    this.sums.columnSums(heapOffset(this.be, a), start, rows, cols, this.scratch.at);
    return new Float32Array(this.be.wasm.HEAPU8.buffer, this.scratch.at, cols).slice();
  }
}

/**
 * Column sums of rows [start, start + rows) of a row-major matrix, accumulated in float64 in row order and
 * rounded to float32 once: the reference for `DirectElementwise.columnSums` and the path without it.
 */
export function columnSums(a: Float32Array, start: number, rows: number, cols: number): Float32Array {
  const acc = new Float64Array(cols);
  for (let r = start; r < start + rows; r++) for (let c = 0; c < cols; c++) acc[c] += a[r * cols + c];
  return Float32Array.from(acc);
}

/** What each direct op must equal, on tfjs's ops. */
export const REFERENCE: Record<Kernel, (a: T, b: T) => tf.Tensor> = {
  mul: (a, b) => tf.mul(a, b),
  reluGrad: (dy, y) => tf.mul(dy, tf.step(y, 0)),
  tanhGrad: (dy, y) => tf.mul(dy, tf.sub(1, tf.square(y))),
  sigmoidGrad: (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y))),
};

/** The direct ops for the current backend, or null when it is not tfjs-wasm or they do not give tfjs's bits. */
export const directElementwise = perBackend((): DirectElementwise | null => {
  const be = wasmBackend();
  const memory = wasmMemory(be);
  if (
    !be ||
    !memory ||
    typeof be.makeOutput !== 'function' ||
    typeof be.wasm._malloc !== 'function' ||
    typeof be.wasm._free !== 'function'
  )
    return null;
  const direct = new DirectElementwise(be as Internals, elementwiseFor(memory), columnSumsFor(memory), tanhFor(memory));
  return agrees(direct) ? direct : null;
});

/** a * b: the direct kernel where available, else tf.mul (the same bits either way). */
export const mul = (a: T, b: T): T => directElementwise()?.mul(a, b) ?? (REFERENCE.mul(a, b) as T);
/** relu's derivative times dy, as `mul`. */
export const reluGrad = (dy: T, y: T): T => directElementwise()?.reluGrad(dy, y) ?? (REFERENCE.reluGrad(dy, y) as T);
/** tanh's derivative times dy, as `mul`. */
export const tanhGrad = (dy: T, y: T): T => directElementwise()?.tanhGrad(dy, y) ?? (REFERENCE.tanhGrad(dy, y) as T);
/** sigmoid's derivative times dy, as `mul`. */
export const sigmoidGrad = (dy: T, y: T): T =>
  directElementwise()?.sigmoidGrad(dy, y) ?? (REFERENCE.sigmoidGrad(dy, y) as T);

/** tanh: the direct kernel where available, else tf.tanh (the same bits either way; NaN stays NaN). */
export const tanh = <R extends tf.Tensor>(a: R): R => (directElementwise()?.tanh(a) ?? tf.tanh(a)) as R;

/** Column sums of rows [start, start + rows) of `a` (a bias gradient): the kernel in place, else on a heap view. */
export function columnSumsOf(a: T, start: number, rows: number): Float32Array {
  return directElementwise()?.columnSums(a, start, rows) ?? columnSums(heapView(a), start, rows, a.shape[1]);
}

/** Special values, then random ones of every magnitude; 5 x 7 = 35 values, so the one-at-a-time tail runs too. */
function probeValues(seed: number): Float32Array {
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e-40, -1e-40, 3.4e38, 0.5, 2];
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: 35 }, (_, i) =>
    i < special.length ? special[(i + seed) % special.length] : (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 20),
  );
}

/**
 * The tanh kernel against tf.tanh on values from every branch of musl's tanhf (subnormal, the three ranges
 * and their edges, beyond 10, infinities) and random ones: the same bits, NaN for NaN (payloads aside).
 */
function tanhAgrees(direct: DirectElementwise): boolean {
  const edges = [
    0,
    -0,
    1e-45,
    -1e-40,
    1.1754944e-38,
    1e-8,
    2.9e-8,
    0.17328679,
    0.2554,
    0.25541,
    0.3,
    0.5493,
    0.54931,
    0.7,
    1.0397,
    2,
    9.01,
    10,
    10.001,
    88.8,
    3.4e38,
    Infinity,
    -Infinity,
    NaN,
    -0.2554,
    -0.6,
    -3,
  ];
  const values = Float32Array.from([...edges, ...probeValues(11), ...probeValues(5).map((v) => v * 1e-3)]);
  const x = tf.tensor2d(values, [1, values.length]);
  const got = direct.tanh(x).dataSync() as Float32Array;
  const want = tf.tanh(x).dataSync() as Float32Array;
  const same = got.every((v, i) => Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i])));
  tf.dispose(x);
  return same;
}

/** Every op against its tfjs reference: the same bits (NaN payloads included) or nothing. */
function agrees(direct: DirectElementwise): boolean {
  return tf.tidy(() => {
    const a = tf.tensor2d(probeValues(0x2545f491), [5, 7]);
    const b = tf.tensor2d(probeValues(7), [5, 7]);
    const bitsOf = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
    return (
      (Object.keys(REFERENCE) as Kernel[]).every((k) => {
        for (const [x, y] of [
          [a, b],
          [b, a],
        ]) {
          const got = bitsOf(direct[k](x, y));
          const want = bitsOf(REFERENCE[k](x, y));
          if (!got.every((v, i) => v === want[i])) return false;
        }
        return true;
      }) &&
      tanhAgrees(direct) &&
      [
        [0, 5],
        [1, 3],
        [4, 1],
      ].every(([start, rows]) => {
        // Finite values only: float64 NaN payloads are not defined across JavaScript and wasm.
        const finite = tf.tensor2d(
          probeValues(3).map((v) => (Number.isFinite(v) ? v : 1.5)),
          [5, 7],
        );
        const got = new Uint32Array(direct.columnSums(finite, start, rows).buffer);
        const want = new Uint32Array(columnSums(finite.dataSync() as Float32Array, start, rows, 7).buffer);
        return got.every((v, i) => v === want[i]);
      })
    );
  });
}
