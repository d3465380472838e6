/**
 * The two gradients of a 2-D convolution, on XNNPACK's fast paths (tfjs-wasm has no Conv2DBackpropFilter,
 * and its Conv2DBackpropInput is a plain loop: 100 ms for the MNIST convnet's second layer at 64 rows,
 * against 10 ms for the same work as a convolution; see docs/performance.md).
 *
 * - filter: im2col. The part's input patches P [rows*oh*ow, kh*kw*cin] are copied straight into tfjs's
 *   memory, then one untransposed matmul dz^T @ P gives [cout, kh*kw*cin], whose transpose is the kernel's own
 *   layout [kh, kw, cin, cout].
 * - input: a "full" convolution of dz (spread out by the strides, padded) with the kernel turned 180° and its
 *   in/out channels swapped, which XNNPACK runs as an ordinary convolution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapTensor, heapView, wasmBackend, wasmMemory, type WasmWithOutput } from './heap.js';
import { im2colFor, maxPoolGradFor, transposerFor } from '../kernels/index.js';
import { matMul } from './wasm-matmul.js';
import type { PackedOperands } from './packed-operands.js';
import type { AxisPlan } from '../layers/conv-shapes.js';

export interface ConvGeometry {
  kernel: [number, number];
  strides: [number, number];
  dilation: [number, number];
  /** Output rows and columns, with the input padding before and after. */
  plan: [AxisPlan, AxisPlan];
}

/** A [rows, cols] tensor to be filled through a view: in tfjs-wasm's memory where possible (no copy in). */
function fillable(rows: number, cols: number, fill: (out: Float32Array) => void): tf.Tensor2D {
  const be = wasmBackend();
  if (be && typeof be.makeOutput === 'function') {
    const t = heapTensor(be as WasmWithOutput, rows, cols);
    fill(heapView(t));
    return t;
  }
  const out = new Float32Array(rows * cols);
  fill(out);
  return tf.tensor2d(out, [rows, cols]);
}

/**
 * Writes the patches of samples [start, start + rows) of x ([n, h, w, cin], row-major) into `out`
 * ([rows*oh*ow, kh*kw*cin]): row (b, i, j) holds the window of output pixel (i, j), positions in the padding
 * 0. Without dilation a kernel row's kw * cin values are contiguous in x and copied as one block.
 */
export function patches(
  x: Float32Array,
  shape: number[],
  start: number,
  rows: number,
  g: ConvGeometry,
  out: Float32Array,
): void {
  const [, h, w, cin] = shape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilation;
  const [ph, pw] = g.plan;
  const k = kh * kw * cin;
  let o = 0;
  for (let b = start; b < start + rows; b++) {
    for (let i = 0; i < ph.out; i++) {
      for (let j = 0; j < pw.out; j++, o += k) {
        const c0 = j * sw - pw.before;
        for (let ki = 0; ki < kh; ki++) {
          const r = i * sh + ki * dh - ph.before;
          const at = o + ki * kw * cin;
          if (r < 0 || r >= h) {
            out.fill(0, at, at + kw * cin);
            continue;
          }
          const rowAt = (b * h + r) * w;
          if (dw === 1 && c0 >= 0 && c0 + kw <= w) {
            const from = (rowAt + c0) * cin;
            const span = kw * cin;
            // A short span is cheaper copied by hand than through a subarray object.
            if (span < 32) for (let t = 0; t < span; t++) out[at + t] = x[from + t];
            else out.set(x.subarray(from, from + span), at);
            continue;
          }
          for (let kj = 0; kj < kw; kj++) {
            const col = c0 + kj * dw;
            const dst = at + kj * cin;
            const from = (rowAt + col) * cin;
            for (let t = 0; t < cin; t++) out[dst + t] = col < 0 || col >= w ? 0 : x[from + t];
          }
        }
      }
    }
  }
}

/**
 * The transpose of `patches`: `out` is [kh*kw*cin, rows*oh*ow], row (ki, kj, c) holding channel c of kernel
 * position (ki, kj) for every output pixel. The JavaScript reference of `patchesTransposedOnHeap`.
 */
export function patchesTransposed(
  x: Float32Array,
  shape: number[],
  start: number,
  rows: number,
  g: ConvGeometry,
  out: Float32Array,
): void {
  const [, h, w, cin] = shape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilation;
  const [ph, pw] = g.plan;
  const oh = ph.out;
  const ow = pw.out;
  const cols = rows * oh * ow;
  for (let ki = 0; ki < kh; ki++) {
    for (let kj = 0; kj < kw; kj++) {
      const row0 = (ki * kw + kj) * cin * cols;
      // Output columns j whose input column j * sw + kj * dw - before lies inside [0, w).
      const shift = kj * dw - pw.before;
      const jlo = Math.min(ow, Math.max(0, Math.ceil(-shift / sw)));
      const jhi = Math.max(jlo, Math.min(ow, Math.floor((w - 1 - shift) / sw) + 1));
      for (let b = 0; b < rows; b++) {
        for (let i = 0; i < oh; i++) {
          const col0 = row0 + (b * oh + i) * ow;
          const r = i * sh + ki * dh - ph.before;
          if (r < 0 || r >= h) {
            for (let c = 0; c < cin; c++) out.fill(0, col0 + c * cols, col0 + c * cols + ow);
            continue;
          }
          for (let c = 0; c < cin; c++) {
            out.fill(0, col0 + c * cols, col0 + c * cols + jlo);
            out.fill(0, col0 + c * cols + jhi, col0 + c * cols + ow);
          }
          const rowAt = ((start + b) * h + r) * w;
          for (let j = jlo; j < jhi; j++) {
            const src = (rowAt + j * sw + shift) * cin;
            for (let c = 0; c < cin; c++) out[col0 + j + c * cols] = x[src + c];
          }
        }
      }
    }
  }
}

/**
 * dL/dkernel over samples [start, start + rows), [kh*kw*cin, cout]: P^T @ dz. XNNPACK packs its right operand
 * on every call, so that operand is dz (rows*oh*ow x cout), not the patches (kh*kw*cin times wider for
 * cin > cout... and 16 of the 28 ms of dz^T @ P at the MNIST convnet's second layer were that packing). With
 * `packedDz` (kept operators for dz's rows, ops/packed-operands.ts), dz is written into XNNPACK's packed
 * buffer by the SIMD packer instead, which is faster still; the bits are the same (the operator checks).
 */
export function filterGradient(
  x: tf.Tensor,
  dz2d: tf.Tensor2D,
  start: number,
  rows: number,
  g: ConvGeometry,
  packedDz?: PackedOperands,
): tf.Tensor2D {
  const cin = x.shape[3]!;
  const pixels = g.plan[0].out * g.plan[1].out;
  const k = g.kernel[0] * g.kernel[1] * cin;
  // The output is allocated before x's values are viewed: an allocation may grow (and so move) the heap.
  const pT =
    patchesTransposedOnHeap(x, start, rows, g) ??
    fillable(k, rows * pixels, (out) => patchesTransposed(heapView(x), x.shape, start, rows, g, out));
  if (packedDz) return packedDz.times(pT, dz2d, start * pixels, rows * pixels);
  const dz =
    start === 0 && rows * pixels === dz2d.shape[0]
      ? dz2d
      : tf.slice(dz2d, [start * pixels, 0], [rows * pixels, dz2d.shape[1]]);
  return matMul(pT, dz);
}

/**
 * `patchesTransposed` as a tensor in tfjs-wasm's memory, by two SIMD kernels: each sample's [h*w, cin] values
 * transposed to channel-major [cin, h*w] (kernels/transpose.wat), then every (kernel position, channel,
 * sample, output row) run copied from there (kernels/im2col.wat). Undefined without tfjs-wasm's internals.
 * The MNIST convnet's second layer at 64 rows: 7.0 ms in JavaScript with a SIMD transpose per block.
 */
export function patchesTransposedOnHeap(
  x: tf.Tensor,
  start: number,
  rows: number,
  g: ConvGeometry,
): tf.Tensor2D | undefined {
  const be = wasmBackend();
  const memory = wasmMemory(be);
  if (!be || !memory || typeof be.makeOutput !== 'function') return undefined;
  const [, h, w, cin] = x.shape as number[];
  const [ph, pw] = g.plan;
  const out = heapTensor(be as WasmWithOutput, g.kernel[0] * g.kernel[1] * cin, rows * ph.out * pw.out);
  const channels = heapTensor(be as WasmWithOutput, rows * cin, h * w);
  // Offsets after both allocations: an allocation may grow the memory (offsets stay valid, views do not).
  const transposer = transposerFor(memory);
  const xAt = heapOffset(be, x);
  const cAt = heapOffset(be, channels);
  for (let b = 0; b < rows; b++)
    transposer.transpose(xAt + (start + b) * h * w * cin * 4, h * w, cin, cAt + b * cin * h * w * 4);
  im2colFor(memory).patchesT(
    cAt,
    heapOffset(be, out),
    rows,
    cin,
    h,
    w,
    g.kernel[0],
    g.kernel[1],
    g.strides[0],
    g.strides[1],
    g.dilation[0],
    g.dilation[1],
    ph.out,
    pw.out,
    ph.before,
    pw.before,
  );
  channels.dispose();
  return out;
}

/** dL/dx: the full convolution of dz ([n, oh, ow, cout]) with the turned kernel, back to x's shape. */
export function inputGradient(dz: tf.Tensor4D, kernel: tf.Tensor4D, xShape: number[], g: ConvGeometry): tf.Tensor4D {
  const [n, oh, ow, cout] = dz.shape;
  const [sh, sw] = g.strides;
  let spread: tf.Tensor4D = dz;
  if (sh > 1 || sw > 1) {
    // Strides become gaps: dz[i, j] moves to [i * sh, j * sw], zeros between.
    const gaps = tf.pad(tf.reshape(dz, [n, oh, 1, ow, 1, cout]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
    spread = tf.slice(
      tf.reshape(gaps, [n, oh * sh, ow * sw, cout]) as tf.Tensor4D,
      [0, 0, 0, 0],
      [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, cout],
    );
  }
  const pads = [0, 1].map((a) => {
    const dilated = (g.kernel[a] - 1) * g.dilation[a] + 1;
    const before = dilated - 1 - g.plan[a].before;
    const after = xShape[a + 1] + dilated - 1 - before - spread.shape[a + 1];
    return [before, after] as [number, number];
  });
  const turned = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  return tf.conv2d(spread, turned, 1, [[0, 0], pads[0], pads[1], [0, 0]], 'NHWC', g.dilation);
}

/** A pooling window's geometry: size, strides and the plan of both spatial axes. */
export interface PoolGeometry {
  size: [number, number];
  strides: [number, number];
  plan: [AxisPlan, AxisPlan];
}

/**
 * dL/dx of max pooling: each output's gradient goes to the first position of its window (row-major) that
 * holds the maximum, as TensorFlow's MaxPoolGrad does; overlapping windows add up in output order. A SIMD
 * kernel over tfjs's memory (kernels/max-pool-grad.wat) where there is one, else `maxPoolGradientOnHost`, its
 * reference (tfjs-wasm's MaxPoolGrad kernel took 47 ms at the MNIST convnet's first pool and 64 rows).
 */
export function maxPoolGradient(x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor, g: PoolGeometry, simd = true): tf.Tensor {
  const be = wasmBackend();
  const memory = wasmMemory(be);
  if (!simd || !be || !memory || typeof be.makeOutput !== 'function') return maxPoolGradientOnHost(x, y, dy, g);
  const [n, h, w, c] = x.shape as number[];
  const dx = heapTensor(be as WasmWithOutput, n * h * w, c);
  heapView(dx).fill(0);
  const [ph, pw] = g.plan;
  maxPoolGradFor(memory).maxPoolGrad(
    heapOffset(be, x),
    heapOffset(be, y),
    heapOffset(be, dy),
    heapOffset(be, dx),
    n,
    h,
    w,
    c,
    ph.out,
    pw.out,
    g.size[0],
    g.size[1],
    g.strides[0],
    g.strides[1],
    ph.before,
    pw.before,
  );
  return tf.reshape(dx, x.shape);
}

/** `maxPoolGradient` in JavaScript over views of the tensors' values. */
export function maxPoolGradientOnHost(x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor, g: PoolGeometry): tf.Tensor {
  const [n, h, w, c] = x.shape as number[];
  const [ph, pw] = g.plan;
  const dx = fillable(n * h * w, c, () => {});
  const [xv, yv, dyv, out] = [heapView(x), heapView(y), heapView(dy), heapView(dx)];
  out.fill(0);
  // The window's positions inside the input, as offsets from the sample's start (reused per output pixel).
  const at = new Int32Array(g.size[0] * g.size[1]);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ph.out; i++) {
      for (let j = 0; j < pw.out; j++, o += c) {
        let k = 0;
        for (let ki = 0; ki < g.size[0]; ki++) {
          const r = i * g.strides[0] + ki - ph.before;
          if (r < 0 || r >= h) continue;
          for (let kj = 0; kj < g.size[1]; kj++) {
            const col = j * g.strides[1] + kj - pw.before;
            if (col >= 0 && col < w) at[k++] = ((b * h + r) * w + col) * c;
          }
        }
        for (let ch = 0; ch < c; ch++) {
          const max = yv[o + ch];
          for (let p = 0; p < k; p++) {
            if (xv[at[p] + ch] === max) {
              out[at[p] + ch] += dyv[o + ch];
              break;
            }
          }
        }
      }
    }
  }
  return tf.reshape(dx, x.shape);
}
