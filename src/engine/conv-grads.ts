/**
 * The two gradients of a 2-D convolution, on XNNPACK's fast paths (tfjs-wasm has no Conv2DBackpropFilter,
 * and its Conv2DBackpropInput is a plain loop: 100 ms for the MNIST convnet's second layer at 64 rows,
 * against 10 ms for the same work as a convolution; see docs/performance.md).
 *
 * - filter: im2col. The part's input patches are written transposed, P^T [kh*kw*cin, rows*oh*ow], straight
 *   into tfjs's memory, then one untransposed matmul P^T @ dz gives [kh*kw*cin, cout], which is the kernel's
 *   own layout [kh, kw, cin, cout].
 * - input: a "full" convolution of dz (spread out by the strides, padded) with the kernel turned 180° and its
 *   in/out channels swapped, which XNNPACK runs as an ordinary convolution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapTensor, heapView, wasmBackend, type WasmWithOutput } from './heap.js';
import { matMul } from './wasm-matmul.js';
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
 * Writes the transposed patches of samples [start, start + rows) of x ([n, h, w, cin], row-major) into
 * `out` ([kh*kw*cin, rows*oh*ow]); positions in the padding are 0.
 */
export function patchesTransposed(x: Float32Array, shape: number[], start: number, rows: number, g: ConvGeometry, out: Float32Array): void {
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
      for (let c = 0; c < cin; c++) {
        let o = ((ki * kw + kj) * cin + c) * cols;
        for (let b = start; b < start + rows; b++) {
          for (let i = 0; i < oh; i++) {
            const r = i * sh + ki * dh - ph.before;
            if (r < 0 || r >= h) {
              out.fill(0, o, o + ow);
              o += ow;
              continue;
            }
            const rowAt = (b * h + r) * w;
            for (let j = 0; j < ow; j++) {
              const col = j * sw + kj * dw - pw.before;
              out[o++] = col < 0 || col >= w ? 0 : x[(rowAt + col) * cin + c];
            }
          }
        }
      }
    }
  }
}

/** dL/dkernel over samples [start, start + rows): P^T @ dz, shape [kh*kw*cin, cout]. */
export function filterGradient(x: tf.Tensor, dz2d: tf.Tensor2D, start: number, rows: number, g: ConvGeometry): tf.Tensor2D {
  const cin = x.shape[3]!;
  const pixels = g.plan[0].out * g.plan[1].out;
  const k = g.kernel[0] * g.kernel[1] * cin;
  // The output is allocated before x's values are viewed: an allocation may grow (and so move) the heap.
  const pT = fillable(k, rows * pixels, (out) => patchesTransposed(heapView(x), x.shape, start, rows, g, out));
  const dz = start === 0 && rows * pixels === dz2d.shape[0] ? dz2d : tf.slice(dz2d, [start * pixels, 0], [rows * pixels, dz2d.shape[1]]);
  return matMul(pT, dz);
}

/** dL/dx: the full convolution of dz ([n, oh, ow, cout]) with the turned kernel, back to x's shape. */
export function inputGradient(dz: tf.Tensor4D, kernel: tf.Tensor4D, xShape: number[], g: ConvGeometry): tf.Tensor4D {
  const [n, oh, ow, cout] = dz.shape;
  const [sh, sw] = g.strides;
  let spread: tf.Tensor4D = dz;
  if (sh > 1 || sw > 1) {
    // Strides become gaps: dz[i, j] moves to [i * sh, j * sw], zeros between.
    const gaps = tf.pad(tf.reshape(dz, [n, oh, 1, ow, 1, cout]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    spread = tf.slice(tf.reshape(gaps, [n, oh * sh, ow * sw, cout]) as tf.Tensor4D, [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, cout]);
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
