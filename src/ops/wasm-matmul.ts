/**
 * tfjs-wasm's matmul kernels, and the transpose that prepares their operands, called without the op wrappers.
 *
 * `tf.fused.matMul` costs about 16 µs per call on tiny matrices, `tf.matMul` about 7.6 µs and `tf.transpose`
 * 4.5 µs, almost all of it in JavaScript: argument checks, reshapes to rank 3 and back, the engine's kernel
 * dispatch. A training step of the MNIST MLP makes ten such calls per worker, and every worker's V8 must
 * compile all that code (tfjs-wasm's transpose kernel alone takes about 40 ms to optimize) while training
 * runs. Here the same wasm functions (`_FusedMatMul`, `BatchMatMul`, `Transpose`) are called directly with
 * shape bytes and an output tensor made the way tfjs's own kernels make it, for 2-3 µs. The wasm code, and so
 * XNNPACK's operator cache and every bit of the result, is the same.
 *
 * Like heap.ts this relies on tfjs-wasm 4.x internals (the version is pinned). `directMatMul()` checks once
 * per thread that every call gives tfjs's own bits and returns null otherwise; callers then use the tf ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  heapOffset,
  heapTensor,
  perBackend,
  wasmBackend,
  wasmMemory,
  type WasmBackendInternals,
  type WasmWithOutput,
} from './heap.js';
import { transposerFor } from '../kernels/index.js';

/** tfjs-wasm's FusableActivation enum (checked by the start-up comparison for the ones Dense uses). */
const ACTIVATION = { linear: 0, relu: 1, sigmoid: 5, elu: 6 } as const;
export type FusedActivation = keyof typeof ACTIVATION;

/** The internals the direct calls need, all present (directMatMul checks). */
type Internals = WasmWithOutput & { wasm: Required<Pick<WasmBackendInternals['wasm'], 'cwrap'>> };

type Call = (...args: unknown[]) => void;

export class DirectMatMul {
  private readonly be: Internals;
  private readonly fusedFn: Call;
  private readonly batchFn: Call;
  private readonly transposeFn: Call;

  constructor(be: Internals) {
    this.be = be;
    // The raw exports take pointers to the shape arrays; cwrap's wrappers copy 'array' arguments onto the
    // stack on every call (Emscripten's ccall and its function lookup: about 25 µs of a 128-row MLP step).
    // The shapes live in tfjs's memory instead, written once per shape (see `shapeAt`).
    const raw = be.wasm as unknown as Record<string, Call | undefined>;
    const direct = raw.__FusedMatMul && raw._BatchMatMul && raw._Transpose && be.wasm._malloc;
    this.fusedFn = direct
      ? raw.__FusedMatMul!
      : be.wasm.cwrap('_FusedMatMul', null, [
          'number',
          'array',
          'number',
          'number',
          'array',
          'number',
          'number',
          'number',
          'number',
          'number',
          'number',
          'number',
          'number',
        ]);
    this.batchFn = direct
      ? raw._BatchMatMul!
      : be.wasm.cwrap('BatchMatMul', null, [
          'number',
          'array',
          'number',
          'number',
          'array',
          'number',
          'number',
          'number',
          'number',
        ]);
    this.transposeFn = direct
      ? raw._Transpose!
      : be.wasm.cwrap('Transpose', null, ['number', 'array', 'number', 'number', 'number', 'array', 'number']);
    this.shapeArg = direct ? (bytes) => this.shapeAt(bytes) : (bytes) => bytes;
  }

  /** How a shape (int32 bytes) is passed: a pointer into tfjs's memory (raw exports) or the bytes (cwrap). */
  private readonly shapeArg: (bytes: Uint8Array) => number | Uint8Array;
  private readonly pointers = new Map<Uint8Array, number>();

  /** The shape's bytes copied once into tfjs's memory (never freed: a few shapes per model). */
  private shapeAt(bytes: Uint8Array): number {
    let at = this.pointers.get(bytes);
    if (at === undefined) {
      at = this.be.wasm._malloc!(bytes.length);
      this.be.wasm.HEAPU8.set(bytes, at);
      this.pointers.set(bytes, at);
    }
    return at;
  }

  private id(t: tf.Tensor): number {
    return this.be.dataIdMap.get(t.dataId)!.id;
  }

  private output(rows: number, cols: number): tf.Tensor2D {
    return heapTensor(this.be, rows, cols);
  }

  /** activation(a @ b + bias): a [m, k], b [k, n] (neither transposed: XNNPACK's fast path). */
  fused(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D | undefined, activation: FusedActivation): tf.Tensor2D {
    const [m, k] = a.shape;
    const n = b.shape[1];
    const out = this.output(m, n);
    this.fusedFn(
      this.id(a),
      this.shapeArg(shape3(m, k)),
      3,
      this.id(b),
      this.shapeArg(shape3(k, n)),
      3,
      0,
      0,
      ACTIVATION[activation],
      bias ? this.id(bias) : 0,
      0,
      0,
      this.id(out),
    );
    return out;
  }

  /** a @ b: a [m, k], b [k, n]. */
  matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
    const [m, k] = a.shape;
    const n = b.shape[1];
    const out = this.output(m, n);
    this.batchFn(
      this.id(a),
      this.shapeArg(shape3(m, k)),
      3,
      this.id(b),
      this.shapeArg(shape3(k, n)),
      3,
      0,
      0,
      this.id(out),
    );
    return out;
  }

  /** a^T. tfjs's kernel drops size-1 dimensions before calling wasm; for those shapes this uses the op. */
  transpose(a: tf.Tensor2D): tf.Tensor2D {
    const [m, n] = a.shape;
    if (m === 1 || n === 1) return tf.transpose(a);
    const out = this.output(n, m);
    // 0: float32 in tfjs-wasm's CppDType.
    this.transposeFn(this.id(a), this.shapeArg(shapeBytes(m, n).s2), 2, 0, this.id(out), this.shapeArg(PERM), 2);
    return out;
  }
}

const PERM = new Uint8Array(Int32Array.of(1, 0).buffer);

const shapes = new Map<number, Map<number, { s2: Uint8Array; s3: Uint8Array }>>();

/** The shape [r, c] and its rank-3 form [1, r, c] as the bytes tfjs-wasm's kernels take; cached (a step uses a few). */
function shapeBytes(r: number, c: number): { s2: Uint8Array; s3: Uint8Array } {
  let byCols = shapes.get(r);
  if (!byCols) shapes.set(r, (byCols = new Map()));
  let bytes = byCols.get(c);
  if (!bytes)
    byCols.set(
      c,
      (bytes = { s2: new Uint8Array(Int32Array.of(r, c).buffer), s3: new Uint8Array(Int32Array.of(1, r, c).buffer) }),
    );
  return bytes;
}

const shape3 = (r: number, c: number) => shapeBytes(r, c).s3;

/** The direct calls for the current backend, or null when it is not tfjs-wasm or they do not give tfjs's bits. */
export const directMatMul = perBackend((): DirectMatMul | null => {
  const be = wasmBackend();
  if (!be || typeof be.wasm.cwrap !== 'function' || typeof be.makeOutput !== 'function') return null;
  const direct = new DirectMatMul(be as Internals);
  return agrees(direct) ? direct : null;
});

/** a @ b, directly when the direct calls are available, else with tf.matMul (same bits). */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const direct = directMatMul();
  return direct ? direct.matMul(a, b) : tf.matMul(a, b);
}

/** a^T, directly when the direct calls are available, else with tf.transpose (same bits). */
export function transpose(a: tf.Tensor2D): tf.Tensor2D {
  const direct = directMatMul();
  return direct ? direct.transpose(a) : tf.transpose(a);
}

/**
 * Rows [start, start + rows) of `x` ([*, cols]) transposed ([cols, rows]): the SIMD transpose reads the rows
 * where they lie in tfjs's memory, so no slice is copied first (a transpose moves values: the same bits as
 * tf.transpose of the slice, the fallback).
 */
export function transposeRows(x: tf.Tensor2D, start: number, rows: number): tf.Tensor2D {
  const [all, cols] = x.shape;
  if (start === 0 && rows === all) return transpose(x);
  const be = wasmBackend();
  const memory = wasmMemory(be);
  if (!be || !memory || typeof be.makeOutput !== 'function' || rows === 1 || cols === 1)
    return transpose(tf.slice(x, [start, 0], [rows, cols]));
  const out = heapTensor(be as WasmWithOutput, cols, rows);
  // Offsets after the allocation, which may have grown the memory.
  transposerFor(memory).transpose(heapOffset(be, x) + start * cols * 4, rows, cols, heapOffset(be, out));
  return out;
}

/** Both calls against tfjs's ops on odd shapes, every activation: the same bits or nothing. */
function agrees(direct: DirectMatMul): boolean {
  let s = 0x2545f491;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  return tf.tidy(() => {
    const a = tf.tensor2d(Float32Array.from({ length: 3 * 13 }, rand), [3, 13]);
    const b = tf.tensor2d(Float32Array.from({ length: 13 * 11 }, rand), [13, 11]);
    const bias = tf.tensor1d(Float32Array.from({ length: 11 }, rand));
    const same = (x: tf.Tensor, y: tf.Tensor) => {
      const p = x.dataSync();
      const q = y.dataSync();
      return x.shape.join() === y.shape.join() && p.every((v, i) => Object.is(v, q[i]));
    };
    if (!same(direct.matMul(a, b), tf.matMul(a, b)) || !same(direct.transpose(b), tf.transpose(b))) return false;
    return (Object.keys(ACTIVATION) as FusedActivation[]).every((act) =>
      same(direct.fused(a, b, bias, act), tf.fused.matMul({ a, b, bias, activation: act })),
    );
  });
}
