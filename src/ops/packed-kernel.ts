/**
 * A Dense kernel that stays packed for XNNPACK across steps.
 *
 * tfjs-wasm runs `x @ kernel` on an XNNPACK fully-connected operator, which copies the kernel into its own
 * blocked layout when it is created; tfjs caches the operator per kernel tensor. Training changes the weights
 * every step, so a fresh kernel tensor per step means a fresh operator and a full repack: 0.36 ms per step
 * for MNIST's 784x128 kernel, in every worker. That cost does not shrink as workers are added, so it capped
 * the speed-up. Here each Dense layer keeps one kernel tensor (and bias tensor) for the life of the network,
 * and each step's weights are written straight into the operator's packed buffer, in XNNPACK's layout:
 *
 *   for each block of NR = 8 output columns: NR bias values, then for each input row k: kernel[k, block].
 *
 * The same goes for the backward pass's `dz @ kernel^T`: a PackedKernel built with `fromTransposed` packs
 * kernel^T straight from the kernel's own layout, so no transposed tensor is built or packed per step.
 *
 * Nothing here is trusted blindly. At construction the layout is located in the wasm heap from probe values
 * and checked element by element, then a matmul through the rewritten buffer must equal, bit for bit, a
 * matmul on fresh tensors. If any check fails (another tfjs build, another backend), the kernel falls back
 * to fresh tensors every step: slower, same results.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, wasmBackend, wasmMemory } from './heap.js';
import { packerFor, transposerFor, type Packer, type Transposer } from '../kernels/index.js';
import { directMatMul, type DirectMatMul, type FusedActivation } from './wasm-matmul.js';

export type { FusedActivation };

/** XNNPACK's output-column block for the f32 fully-connected kernels tfjs-wasm ships (checked at start-up). */
const NR = 8;

/**
 * XNNPACK's packed layout of (kernel [fanIn, units], bias [units]), written into `out` from `outAt`.
 * `fromTransposed`: `kernel` holds the matrix transposed ([units, fanIn], row-major).
 */
export function packKernel(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  fanIn: number,
  units: number,
  out: Float32Array,
  outAt: number,
  fromTransposed = false,
): void {
  let p = outAt;
  for (let c0 = 0; c0 < units; c0 += NR) {
    const n = Math.min(NR, units - c0);
    for (let c = 0; c < NR; c++) out[p + c] = bias && c < n ? bias[c0 + c] : 0;
    p += NR;
    if (fromTransposed) {
      // Column c of the operand is row c of the source: eight source rows are read side by side.
      for (let k = 0; k < fanIn; k++, p += NR) {
        for (let c = 0; c < NR; c++) out[p + c] = c < n ? kernel[(c0 + c) * fanIn + k] : 0;
      }
    } else if (n === NR) {
      // The common full block, unrolled: this loop moves every weight of the layer once per step.
      for (let k = 0, src = c0; k < fanIn; k++, src += units, p += NR) {
        out[p] = kernel[src];
        out[p + 1] = kernel[src + 1];
        out[p + 2] = kernel[src + 2];
        out[p + 3] = kernel[src + 3];
        out[p + 4] = kernel[src + 4];
        out[p + 5] = kernel[src + 5];
        out[p + 6] = kernel[src + 6];
        out[p + 7] = kernel[src + 7];
      }
    } else {
      for (let k = 0, src = c0; k < fanIn; k++, src += units, p += NR) {
        for (let c = 0; c < NR; c++) out[p + c] = c < n ? kernel[src + c] : 0;
      }
    }
  }
}

let instances = 0;

export const packedSize = (fanIn: number, units: number) => Math.ceil(units / NR) * NR * (fanIn + 1);

export class PackedKernel {
  /** Kept for the life of this object: tfjs keys its cached operator on these tensors' ids. */
  readonly kernel: tf.Tensor2D;
  readonly bias?: tf.Tensor1D;
  /** Float index of the operator's packed buffer in the wasm heap; null when falling back to fresh tensors. */
  private packedAt: number | null = null;
  private fresh: tf.Tensor[] = [];
  /**
   * The SIMD packer over tfjs's memory, and a staging block there (byte offset, from tfjs's malloc) that each
   * step's kernel and bias are copied into first: the packer can only read tfjs's memory. A `fromTransposed`
   * kernel is transposed within the staging block first (by the SIMD transpose), then packed the same way.
   */
  private simd: { packer: Packer; transposer: Transposer; staging: number } | null = null;
  /** tfjs-wasm's _FusedMatMul without the op wrapper (null: tf.fused.matMul). */
  private direct: DirectMatMul | null = directMatMul();
  /** What the next matmul multiplies by: the persistent tensors, or this step's fresh ones. */
  private current: { kernel: tf.Tensor2D; bias?: tf.Tensor1D };

  constructor(
    readonly fanIn: number,
    readonly units: number,
    readonly useBias: boolean,
    /** The activation fused into every matmul through this kernel (one operator per activation in tfjs). */
    readonly activation: FusedActivation,
    /** Written from the transposed matrix ([units, fanIn]): the backward pass's kernel^T, from the kernel. */
    readonly fromTransposed = false,
  ) {
    this.kernel = tf.zeros([fanIn, units]);
    this.bias = useBias ? tf.zeros([units]) : undefined;
    this.current = this;
    this.simd = this.simdPacker();
    this.packedAt = this.locate();
  }

  private simdPacker(): { packer: Packer; transposer: Transposer; staging: number } | null {
    const backend = wasmBackend();
    const wasm = backend?.wasm;
    const memory = wasmMemory(backend);
    if (!wasm?._malloc || !memory) return null;
    // The kernel, its transpose when needed, then the bias.
    const floats = (this.fromTransposed ? 2 : 1) * this.fanIn * this.units + this.units;
    return { packer: packerFor(memory), transposer: transposerFor(memory), staging: wasm._malloc(floats * 4) };
  }

  /** Whether each step's weights are packed by the SIMD kernel (else by packKernel, in JavaScript). */
  get simdPacked(): boolean {
    return this.simd !== null;
  }

  /** Whether matmuls call tfjs-wasm's kernel directly (else through tf.fused.matMul). */
  get directCalls(): boolean {
    return this.direct !== null;
  }

  /** Whether steps write into XNNPACK's packed buffer (true) or build fresh tensors (false). */
  get prepacked(): boolean {
    return this.packedAt !== null;
  }

  /**
   * Makes `kernel`/`bias` the weights of the coming matmuls (`kernel` in the source layout: transposed when
   * `fromTransposed`). Only the packed buffer is written: the kernel tensor itself keeps the probe values,
   * so every matmul by this kernel must go through `matMul`.
   */
  write(kernel: Float32Array, bias: Float32Array | undefined): void {
    this.releaseFresh();
    const be = wasmBackend();
    if (this.packedAt === null || !be) {
      const k = this.fromTransposed
        ? tf.tidy(() => tf.transpose(tf.tensor2d(kernel, [this.units, this.fanIn])))
        : tf.tensor2d(kernel, [this.fanIn, this.units]);
      const b = this.useBias ? tf.tensor1d(bias!) : undefined;
      this.fresh = b ? [k, b] : [k];
      this.current = { kernel: k as tf.Tensor2D, bias: b };
      return;
    }
    // The heap's buffer is replaced when wasm memory grows; offsets stay valid. The bias tensor is not
    // updated either: XNNPACK reads it only when it creates the operator, into the packed buffer.
    const heap = new Float32Array(be.wasm.HEAPU8.buffer);
    if (this.simd) {
      const { packer, transposer, staging } = this.simd;
      const bytes = this.fanIn * this.units * 4;
      heap.set(kernel, staging / 4);
      let src = staging;
      if (this.fromTransposed) {
        // The source is [units, fanIn]: its transpose is the [fanIn, units] matrix the packer reads.
        src = staging + bytes;
        transposer.transpose(staging, this.units, this.fanIn, src);
      }
      const biasAt = src + bytes;
      if (bias) heap.set(bias, biasAt / 4);
      packer.pack(src, bias ? biasAt : 0, this.fanIn, this.units, this.packedAt * 4);
    } else {
      packKernel(kernel, bias, this.fanIn, this.units, heap, this.packedAt, this.fromTransposed);
    }
    this.current = this;
  }

  /**
   * `write` for a kernel (no bias, not transposed) that already lies in tfjs's memory at byte offset `at`: the
   * SIMD packer reads it there, with no copy into the staging block. False when this kernel cannot (no SIMD
   * packer, not prepacked, a bias or a transposed source); the caller then uses `write`.
   */
  writeFromHeap(at: number): boolean {
    if (!this.simd || this.packedAt === null || this.useBias || this.fromTransposed) return false;
    this.releaseFresh();
    this.simd.packer.pack(at, 0, this.fanIn, this.units, this.packedAt * 4);
    this.current = this;
    return true;
  }

  private releaseFresh(): void {
    for (const t of this.fresh) t.dispose();
    this.fresh = [];
  }

  dispose(): void {
    this.releaseFresh();
    if (this.simd) wasmBackend()?.wasm._free?.(this.simd.staging);
    this.simd = null;
    this.kernel.dispose();
    this.bias?.dispose();
  }

  /** Finds and checks the packed buffer of this kernel's operator; null if anything does not match. */
  private locate(): number | null {
    const be = wasmBackend();
    const n = this.fanIn * this.units;
    // Probe values must be distinct floats: (1 + i * 2^-23) * 2^e are, for i < 2^23. The exponent differs per
    // instance, so a freed buffer of an earlier kernel of the same shape cannot be mistaken for this one.
    if (!be || n + this.units >= 2 ** 23) return null;
    const scale = 2 ** (instances++ % 64);
    const probeK = Float32Array.from({ length: n }, (_, i) => (1 + (i + 1) * 2 ** -23) * scale);
    const probeB = this.useBias
      ? Float32Array.from({ length: this.units }, (_, j) => (1 + (n + j + 1) * 2 ** -23) * scale)
      : undefined;
    const heapOf = () => new Float32Array(be.wasm.HEAPU8.buffer);
    heapOf().set(probeK, heapOffset(be, this.kernel) / 4);
    if (this.bias) heapOf().set(probeB!, heapOffset(be, this.bias) / 4);
    // The first matmul creates (and packs) the operator that every later matmul with this activation reuses.
    tf.tidy(() => {
      this.matMul(tf.zeros([1, this.fanIn]));
    });
    const expected = new Float32Array(packedSize(this.fanIn, this.units));
    packKernel(probeK, probeB, this.fanIn, this.units, expected, 0);
    const at = findSequence(heapOf(), expected, NR, heapOffset(be, this.kernel) / 4);
    if (at === null) return null;
    this.packedAt = at;
    if (this.verify()) return at;
    this.direct = null;
    return null;
  }

  /** A matmul through the rewritten packed buffer must equal one on fresh tensors, bit for bit. */
  private verify(): boolean {
    let s = 0x9e3779b9;
    const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
    const k = Float32Array.from({ length: this.fanIn * this.units }, rand);
    const b = this.useBias ? Float32Array.from({ length: this.units }, rand) : undefined;
    const x = Float32Array.from({ length: 3 * this.fanIn }, rand);
    return tf.tidy(() => {
      const xt = tf.tensor2d(x, [3, this.fanIn]);
      this.write(k, b);
      const ours = this.matMul(xt).dataSync();
      const kt = this.fromTransposed
        ? tf.transpose(tf.tensor2d(k, [this.units, this.fanIn]))
        : tf.tensor2d(k, [this.fanIn, this.units]);
      const bt = b ? tf.tensor1d(b) : undefined;
      const ref = tf.fused.matMul({ a: xt, b: kt, bias: bt, activation: this.activation }).dataSync();
      return ours.length === ref.length && ours.every((v, i) => Object.is(v, ref[i]));
    });
  }

  /** x @ kernel + bias, then the activation, in one XNNPACK call on the cached operator. */
  matMul(x: tf.Tensor2D): tf.Tensor2D {
    const { kernel, bias } = this.current;
    if (this.direct) return this.direct.fused(x, kernel, bias, this.activation);
    return tf.fused.matMul({ a: x, b: kernel, bias, activation: this.activation }) as tf.Tensor2D;
  }
}

/**
 * Index of `seq` in `heap`, checked in full; `anchor` is the position in `seq` to scan for (the first kernel
 * value: unlike the bias block it is never zero). `skip`: an index to ignore (the kernel tensor itself).
 */
function findSequence(heap: Float32Array, seq: Float32Array, anchor: number, skip: number): number | null {
  const first = seq[anchor];
  // indexOf is native: the scan runs once per kernel at start-up, over all of tfjs's memory (tens of MB),
  // before V8 would have optimized a loop here (38 ms of a 4-epoch fit's profile as a loop).
  for (
    let i = heap.indexOf(first, anchor);
    i >= 0 && i + seq.length - anchor <= heap.length;
    i = heap.indexOf(first, i + 1)
  ) {
    if (i === skip) continue;
    const start = i - anchor;
    let ok = true;
    for (let j = 0; j < seq.length && ok; j++) ok = heap[start + j] === seq[j];
    if (ok) return start;
  }
  return null;
}
