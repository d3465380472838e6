/**
 * The elementwise ops of a training step without tfjs's op wrappers: Dropout's x * mask and the derivatives
 * of relu, tanh and sigmoid, each one pass of a SIMD kernel (kernels/elementwise.wat) over tensors in
 * tfjs-wasm's memory; and the bias gradients' column sums (kernels/column-sums.wat), read in place. Through tfjs, tanh's derivative is three ops (square, sub, mul) and relu's two, each
 * with its own output tensor and about 5 µs of engine dispatch; the MNIST MLP's step made nine such calls
 * per worker. The arithmetic is the ops' own, in their order, so the bits are the same: `directElementwise()`
 * checks that once per thread, on values that include NaNs, infinities, zeros of both signs and subnormals,
 * and returns null if any bit differs; callers then use the tf ops.
 *
 * Like heap.ts this relies on tfjs-wasm 4.x internals (the version is pinned).
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapTensor, heapView, perBackend, wasmBackend, wasmMemory, type WasmBackendInternals, type WasmWithOutput } from './heap.js';
import { columnSumsFor, elementwiseFor, type ColumnSumsKernel, type ElementwiseKernels } from '../kernels/index.js';

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
  ) {}

  private run(kernel: Kernel, a: T, b: T): T {
    if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || a.dtype !== 'float32' || b.dtype !== 'float32') {
      throw new Error(`lockstep internal: ${kernel} needs two float32 tensors of one shape, got [${a.shape}] and [${b.shape}]`);
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

  /** columnSums(values of a, start, rows): a Dense layer's bias gradient, read where the tensor lives. */
  columnSums(a: T, start: number, rows: number): Float32Array {
    const cols = a.shape[1];
    if (a.dtype !== 'float32' || start < 0 || start + rows > a.shape[0]) throw new Error(`lockstep internal: no rows [${start}, ${start + rows}) in [${a.shape}]`);
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
  if (!be || !memory || typeof be.makeOutput !== 'function' || typeof be.wasm._malloc !== 'function' || typeof be.wasm._free !== 'function') return null;
  const direct = new DirectElementwise(be as Internals, elementwiseFor(memory), columnSumsFor(memory));
  return agrees(direct) ? direct : null;
});

/** a * b: the direct kernel where available, else tf.mul (the same bits either way). */
export const mul = (a: T, b: T): T => directElementwise()?.mul(a, b) ?? (REFERENCE.mul(a, b) as T);
/** relu's derivative times dy, as `mul`. */
export const reluGrad = (dy: T, y: T): T => directElementwise()?.reluGrad(dy, y) ?? (REFERENCE.reluGrad(dy, y) as T);
/** tanh's derivative times dy, as `mul`. */
export const tanhGrad = (dy: T, y: T): T => directElementwise()?.tanhGrad(dy, y) ?? (REFERENCE.tanhGrad(dy, y) as T);
/** sigmoid's derivative times dy, as `mul`. */
export const sigmoidGrad = (dy: T, y: T): T => directElementwise()?.sigmoidGrad(dy, y) ?? (REFERENCE.sigmoidGrad(dy, y) as T);

/** Column sums of rows [start, start + rows) of `a` (a bias gradient): the kernel in place, else on a heap view. */
export function columnSumsOf(a: T, start: number, rows: number): Float32Array {
  return directElementwise()?.columnSums(a, start, rows) ?? columnSums(heapView(a), start, rows, a.shape[1]);
}

/** Special values, then random ones of every magnitude; 5 x 7 = 35 values, so the one-at-a-time tail runs too. */
function probeValues(seed: number): Float32Array {
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e-40, -1e-40, 3.4e38, 0.5, 2];
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from({ length: 35 }, (_, i) => (i < special.length ? special[(i + seed) % special.length] : (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 20)));
}

/** Every op against its tfjs reference: the same bits (NaN payloads included) or nothing. */
function agrees(direct: DirectElementwise): boolean {
  return tf.tidy(() => {
    const a = tf.tensor2d(probeValues(0x2545f491), [5, 7]);
    const b = tf.tensor2d(probeValues(7), [5, 7]);
    const bitsOf = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
    return (Object.keys(REFERENCE) as Kernel[]).every((k) => {
      for (const [x, y] of [[a, b], [b, a]]) {
        const got = bitsOf(direct[k](x, y));
        const want = bitsOf(REFERENCE[k](x, y));
        if (!got.every((v, i) => v === want[i])) return false;
      }
      return true;
    }) && [[0, 5], [1, 3], [4, 1]].every(([start, rows]) => {
      // Finite values only: float64 NaN payloads are not defined across JavaScript and wasm.
      const finite = tf.tensor2d(probeValues(3).map((v) => (Number.isFinite(v) ? v : 1.5)), [5, 7]);
      const got = new Uint32Array(direct.columnSums(finite, start, rows).buffer);
      const want = new Uint32Array(columnSums(finite.dataSync() as Float32Array, start, rows, 7).buffer);
      return got.every((v, i) => v === want[i]);
    });
  });
}
