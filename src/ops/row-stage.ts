/**
 * A worker's input rows, staged inside tfjs-wasm's memory. Every step gathers its rows from the shared
 * dataset, and a Dense first layer also needs them transposed (its kernel gradient is x^T @ dz, and
 * XNNPACK's fast path wants x^T as a plain matrix). Gathering straight into tensors kept across steps, and
 * transposing there with a SIMD kernel (kernels/transpose.wat), replaces a gather into host arrays, a
 * JavaScript transpose and two copies into tfjs (`tf.tensor2d`) per step: for 64 random MNIST rows, 185 → 65 µs
 * (medians of `node dist/bench/step-time.js rows`); the transpose alone takes 12 µs instead of 75.
 *
 * Like heap.ts this relies on tfjs-wasm 4.x internals (the version is pinned); `HeapStage.create()` returns
 * null without them, and the caller stages rows in host arrays as before.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapTensor, heapView, wasmBackend, wasmMemory, type WasmWithOutput } from './heap.js';
import { transposerFor, type Transposer } from '../kernels/index.js';

export class HeapStage {
  private readonly tensors = new Map<string, tf.Tensor2D>();

  private constructor(
    private readonly be: WasmWithOutput,
    private readonly transposer: Transposer,
  ) {}

  /** A stage over the current backend's memory, or null when that is not tfjs-wasm with its internals. */
  static create(): HeapStage | null {
    const be = wasmBackend();
    const memory = wasmMemory(be);
    if (!be || !memory || typeof be.makeOutput !== 'function') return null;
    return new HeapStage(be as WasmWithOutput, transposerFor(memory));
  }

  /** The [rows, cols] tensor named `key`, allocated on first use and kept until `dispose()`. */
  tensor(key: string, rows: number, cols: number): tf.Tensor2D {
    let t = this.tensors.get(key);
    if (!t || t.shape[0] !== rows || t.shape[1] !== cols) {
      t?.dispose();
      t = heapTensor(this.be, rows, cols);
      this.tensors.set(key, t);
    }
    return t;
  }

  /** A view for writing `t`'s values; valid until the next tfjs call that allocates (memory may grow). */
  view(t: tf.Tensor2D): Float32Array {
    return heapView(t);
  }

  /** Rows [at, at + rows) of `x` ([*, cols]) transposed into `xT` ([cols, rows]), bit for bit. */
  transposeRows(x: tf.Tensor2D, at: number, rows: number, xT: tf.Tensor2D): void {
    const cols = x.shape[1];
    if (at < 0 || at + rows > x.shape[0] || xT.shape[0] !== cols || xT.shape[1] !== rows) {
      throw new Error(
        `lockstep internal: cannot transpose rows [${at}, ${at + rows}) of [${x.shape}] into [${xT.shape}]`,
      );
    }
    this.transposer.transpose(heapOffset(this.be, x) + at * cols * 4, rows, cols, heapOffset(this.be, xT));
  }

  /** Frees every tensor of the stage. */
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
