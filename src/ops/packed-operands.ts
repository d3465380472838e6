/**
 * Right operands that change every step, kept packed for XNNPACK: the weight gradients' `left @ dz`.
 *
 * tfjs-wasm packs a matmul's right operand into XNNPACK's blocked layout on every call with a fresh tensor
 * (it creates, packs and later frees an operator per call). For a weight gradient that operand is the step's
 * dz, new every step. Here each layer keeps one operator per part size (rows of dz), and each step's rows of
 * dz are written straight into its packed buffer by the SIMD packer (ops/packed-kernel.ts), read where dz
 * lies in tfjs's memory: no slice, no operator per call. The MNIST MLP's three weight gradients at 64 rows:
 * 107 µs of packing per 128-row step before (CPU profile of a 4-epoch fit), a few µs after. The bits are the
 * same: each PackedKernel checks itself against tfjs's own matmul when it is built.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PackedKernel } from './packed-kernel.js';
import { heapOffset, heapView, wasmBackend } from './heap.js';

/** Operators kept per layer (part sizes). */
const MAX_KEPT = 4;

export class PackedOperands {
  private readonly byRows = new Map<number, PackedKernel>();

  /** `cols`: the operand's columns (a layer's units or filters). */
  constructor(private readonly cols: number) {}

  /** The kept operator for parts of `rows` rows (made inside a step: kept out of its tidy). */
  private operator(rows: number): PackedKernel {
    let pk = this.byRows.get(rows);
    if (!pk) {
      // A fit uses one or two part sizes (full parts and the last batch's); other batch sizes in later fits
      // add more. Keep the newest few: a convnet layer's operator holds megabytes.
      if (this.byRows.size >= MAX_KEPT) {
        const [oldest, old] = this.byRows.entries().next().value as [number, PackedKernel];
        old.dispose();
        this.byRows.delete(oldest);
      }
      pk = new PackedKernel(rows, this.cols, false, 'linear');
      tf.keep(pk.kernel);
      this.byRows.set(rows, pk);
    }
    return pk;
  }

  /** left @ rows [start, start + rows) of `operand` ([*, cols], in tfjs's memory): left is [m, rows]. */
  times(left: tf.Tensor2D, operand: tf.Tensor2D, start: number, rows: number): tf.Tensor2D {
    if (operand.shape[1] !== this.cols || left.shape[1] !== rows || start < 0 || start + rows > operand.shape[0]) {
      throw new Error(
        `lockstep internal: cannot multiply [${left.shape}] by rows [${start}, ${start + rows}) of [${operand.shape}]`,
      );
    }
    const pk = this.operator(rows);
    const be = wasmBackend();
    // Packed straight from where the rows lie (the convnet's first layer: 5.5 MB of dz a part), else copied.
    if (!be || !pk.writeFromHeap(heapOffset(be, operand) + start * this.cols * 4)) {
      pk.write(heapView(operand).subarray(start * this.cols, (start + rows) * this.cols), undefined);
    }
    return pk.matMul(left);
  }

  dispose(): void {
    for (const pk of this.byRows.values()) pk.dispose();
    this.byRows.clear();
  }
}
