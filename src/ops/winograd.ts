/**
 * Winograd convolution for 3x3 kernels at stride 1 and dilation 1 (Lavin and Gray 2015): F(2x2,3x3) or
 * F(4x4,3x3), all three passes of training. Each image is cut into tiles of m x m outputs (m + 2 inputs square);
 * the transforms (kernels/winograd.wat) turn a tile into (m + 2)^2 values per channel, and the convolution
 * becomes one matmul per tile position xi, over all tiles at once (XNNPACK's untransposed matmul):
 *
 * - forward: M_xi [tiles, cout] = V_xi [tiles, cin] @ U_xi [cin, cout], V = B^T d B of the input tiles,
 *   U = G g G^T of the kernel; the output transform A^T M A adds the bias and the relu.
 * - input gradient: the same with the output gradient as input, padded by 2 - padding before, and the kernel
 *   turned 180° with in and out channels swapped (a "full" convolution).
 * - filter gradient: dU_xi^T [cout, cin] = Y_xi [cout, tiles] @ V_xi [tiles, cin], Y = A dY A^T of the output
 *   gradient's tiles (the adjoint of the output transform), summed over the part's tiles by the matmul; then
 *   dg = G^T dU G.
 *
 * F(4x4,3x3) does 4x fewer multiplications than a direct convolution, F(2x2,3x3) 2.25x (before the tiles'
 * overhang); its float32 error is larger (docs/performance.md has both, measured). Which one a layer uses is
 * `winogradTile`'s rule of its shapes, never a timing, so the bits never depend on the machine. Every pass over
 * a part depends on that part's rows only, so gradients keep their bits for any worker count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapTensor, heapView, perBackend, wasmBackend, wasmMemory, type WasmWithOutput } from './heap.js';
import { directMatMul } from './wasm-matmul.js';
import { PackedKernel } from './packed-kernel.js';
import { winogradFor, type WinogradKernels } from '../kernels/index.js';
import { timed } from './profile.js';
import type { ConvGeometry } from './conv-grads.js';

/** Output tile size m: F(m x m, 3x3). */
export type TileSize = 2 | 4;

/** Input channels below this keep the direct path: a matmul with an inner dimension of 1-3 is all memory traffic. */
export const MIN_CHANNELS = 4;

/**
 * The variant a convolution uses, from its shapes alone; undefined: not a 3x3 stride-1 undilated convolution
 * with at least MIN_CHANNELS input channels. F(4x4,3x3) when its tile positions times tiles are at most 3/4 of
 * F(2x2,3x3)'s over the layer's output (it does fewer multiplications, but its tiles overhang small outputs
 * more, and it rounds more), else F(2x2,3x3).
 */
export function winogradTile(g: ConvGeometry, cin: number): TileSize | undefined {
  if (
    g.kernel.some((k) => k !== 3) ||
    g.strides.some((s) => s !== 1) ||
    g.dilation.some((d) => d !== 1) ||
    cin < MIN_CHANNELS
  )
    return undefined;
  const [oh, ow] = [g.plan[0].out, g.plan[1].out];
  const cost = (m: number) => Math.ceil(oh / m) * Math.ceil(ow / m) * (m + 2) ** 2;
  return cost(4) <= 0.75 * cost(2) ? 4 : 2;
}

interface Tools {
  be: WasmWithOutput;
  k: WinogradKernels;
  /** A table of up to 36 byte offsets in tfjs's memory, for the kernels' lists of matrices. */
  table: number;
}

/** What the Winograd path needs of tfjs-wasm (its memory, allocations and direct matmuls), or null. */
const tools = perBackend((): Tools | null => {
  const be = wasmBackend();
  const memory = wasmMemory(be);
  const mm = directMatMul();
  if (!be || !memory || !mm || typeof be.makeOutput !== 'function' || typeof be.wasm._malloc !== 'function')
    return null;
  return { be: be as WasmWithOutput, k: winogradFor(memory), table: be.wasm._malloc(36 * 4) };
});

/** Whether the Winograd path can run on the current backend (tfjs-wasm with its internals reachable). */
export function winogradAvailable(): boolean {
  return tools() !== null;
}

function setTable(t: Tools, tensors: tf.Tensor[]): number {
  return setOffsets(
    t,
    tensors.map((x) => heapOffset(t.be, x)),
  );
}

function setOffsets(t: Tools, offsets: number[]): number {
  new Int32Array(t.be.wasm.HEAPU8.buffer, t.table, offsets.length).set(offsets);
  return t.table;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The kernel's transforms G g G^T, one [cin, cout] matrix per tile position; `turned`: of the kernel turned 180°
 * with its channels swapped, [cout, cin] (the input gradient's).
 */
function kernelTiles(t: Tools, kernel: tf.Tensor, m: TileSize, turned: boolean): tf.Tensor2D[] {
  const [, , cin, cout] = kernel.shape as number[];
  const U = range((m + 2) ** 2).map(() => (turned ? heapTensor(t.be, cout, cin) : heapTensor(t.be, cin, cout)));
  (m === 2 ? t.k.kernel2 : t.k.kernel4)(heapOffset(t.be, kernel), setTable(t, U), cin, cout, turned ? 1 : 0);
  return U;
}

/**
 * The tiled convolution of `rows` images of [h, w, c] starting at byte offset `src` in tfjs's memory, padded
 * by top/left zeros (and as many after as the output needs), with the transformed kernel U (one [c, f]
 * matrix per tile position): [rows * oh * ow, f], plus bias and relu when given.
 */
function tiledConv(
  t: Tools,
  src: () => number,
  rows: number,
  h: number,
  w: number,
  c: number,
  top: number,
  left: number,
  oh: number,
  ow: number,
  U: PackedKernel[],
  f: number,
  m: TileSize,
  phase: string,
  bias?: tf.Tensor,
  relu = false,
): tf.Tensor2D {
  const th = Math.ceil(oh / m);
  const tw = Math.ceil(ow / m);
  const tiles = rows * th * tw;
  const a = m + 2;
  const out = heapTensor(t.be, rows * oh * ow, f);
  const V = range(a * a).map(() => heapTensor(t.be, tiles, c));
  // Offsets are read after the allocations: an allocation may grow (and so move views of) the memory.
  timed(phase, () => (m === 2 ? t.k.input2 : t.k.input4)(src(), setTable(t, V), rows, h, w, c, top, left, th, tw));
  const M = V.map((v, i) => U[i].matMul(v));
  for (const v of V) v.dispose();
  timed(phase, () =>
    (m === 2 ? t.k.output2 : t.k.output4)(
      setTable(t, M),
      heapOffset(t.be, out),
      rows,
      oh,
      ow,
      f,
      th,
      tw,
      bias ? heapOffset(t.be, bias) : 0,
      relu ? 1 : 0,
    ),
  );
  for (const x of M) x.dispose();
  return out;
}

/** Operators kept per layer for the filter gradient's parts (part sizes): as PackedOperands. */
const MAX_KEPT = 4;

/**
 * One layer's Winograd convolution, with its matmuls' right operands kept packed for XNNPACK across steps:
 * tfjs-wasm creates, packs and frees an operator per call with a fresh right operand, about 0.24 ms each,
 * and a pass makes 16 or 36 matmuls. Here each tile position keeps one operator (ops/packed-kernel.ts) for
 * the forward kernel, one for the turned kernel and one per part size for the filter gradient's V, and each
 * step's values are packed straight into them by the SIMD packer (same bits: each PackedKernel checks itself
 * against tfjs's matmul when built).
 */
export class WinogradConv {
  private forwardOps?: PackedKernel[];
  private inputOps?: PackedKernel[];
  private readonly filterOps = new Map<number, PackedKernel[]>();

  constructor(
    readonly g: ConvGeometry,
    readonly cin: number,
    readonly cout: number,
    readonly m: TileSize,
  ) {}

  private ops(fanIn: number, units: number): PackedKernel[] {
    return range((this.m + 2) ** 2).map(() => {
      const pk = new PackedKernel(fanIn, units, false, 'linear');
      tf.keep(pk.kernel);
      return pk;
    });
  }

  /** The kernel's transforms packed into `ops` (turned: the input gradient's). */
  private loadKernel(t: Tools, ops: PackedKernel[], kernel: tf.Tensor, turned: boolean, phase: string): void {
    timed(phase, () => {
      const U = kernelTiles(t, kernel, this.m, turned);
      U.forEach((u, i) => ops[i].writeFromHeap(heapOffset(t.be, u)) || ops[i].write(heapView(u), undefined));
      for (const u of U) u.dispose();
    });
  }

  /** The forward convolution [n, oh, ow, cout] of x [n, h, w, cin], + bias, then relu when `relu`. */
  forward(
    x: tf.Tensor,
    kernel: tf.Tensor,
    bias: tf.Tensor | undefined,
    relu: boolean,
    phase = 'Conv2D forward transforms',
  ): tf.Tensor4D {
    const t = need();
    const [n, h, w, c] = x.shape as number[];
    const [ph, pw] = this.g.plan;
    const ops = (this.forwardOps ??= this.ops(this.cin, this.cout));
    this.loadKernel(t, ops, kernel, false, phase);
    const out = tiledConv(
      t,
      () => heapOffset(t.be, x),
      n,
      h,
      w,
      c,
      ph.before,
      pw.before,
      ph.out,
      pw.out,
      ops,
      this.cout,
      this.m,
      phase,
      bias,
      relu,
    );
    return tf.reshape(out, [n, ph.out, pw.out, this.cout]);
  }

  /**
   * dL/dx [n, h, w, cin] from dz ([n * oh * ow, cout], any tensor of that size): the full convolution with the turned
   * kernel.
   */
  inputGradient(
    dz: tf.Tensor,
    kernel: tf.Tensor,
    xShape: number[],
    phase = 'Conv2D input gradient transforms',
  ): tf.Tensor4D {
    const t = need();
    const [n, h, w, c] = xShape;
    const [ph, pw] = this.g.plan;
    const ops = (this.inputOps ??= this.ops(this.cout, this.cin));
    this.loadKernel(t, ops, kernel, true, phase);
    const out = tiledConv(
      t,
      () => heapOffset(t.be, dz),
      n,
      ph.out,
      pw.out,
      this.cout,
      2 - ph.before,
      2 - pw.before,
      h,
      w,
      ops,
      c,
      this.m,
      phase,
    );
    return tf.reshape(out, [n, h, w, c]);
  }

  /**
   * dL/dkernel over samples [start, start + rows) of x ([n, h, w, cin]) and dz2d ([n * oh * ow, cout]), as the
   * kernel's [3 * 3 * cin, cout].
   */
  filterGradient(
    x: tf.Tensor,
    dz2d: tf.Tensor,
    start: number,
    rows: number,
    phase = 'Conv2D filter gradient transforms',
  ): tf.Tensor2D {
    const t = need();
    const { m } = this;
    const [, h, w, c] = x.shape as number[];
    const f = this.cout;
    const [ph, pw] = this.g.plan;
    const [oh, ow] = [ph.out, pw.out];
    const th = Math.ceil(oh / m);
    const tw = Math.ceil(ow / m);
    const tiles = rows * th * tw;
    const a = m + 2;
    const ops = this.partOps(tiles);
    const out = heapTensor(t.be, 9 * c, f);
    const Y = range(a * a).map(() => heapTensor(t.be, f, tiles));
    const V = heapTensor(t.be, a * a * tiles, c);
    timed(phase, () => {
      (m === 2 ? t.k.grad2 : t.k.grad4)(
        heapOffset(t.be, dz2d) + start * oh * ow * f * 4,
        setTable(t, Y),
        rows,
        oh,
        ow,
        f,
        th,
        tw,
        tiles,
      );
      const vAt = heapOffset(t.be, V);
      const table = setOffsets(
        t,
        range(a * a).map((i) => vAt + i * tiles * c * 4),
      );
      (m === 2 ? t.k.input2 : t.k.input4)(
        heapOffset(t.be, x) + start * h * w * c * 4,
        table,
        rows,
        h,
        w,
        c,
        ph.before,
        pw.before,
        th,
        tw,
      );
      ops.forEach(
        (op, i) =>
          op.writeFromHeap(vAt + i * tiles * c * 4) ||
          op.write(heapView(V).subarray(i * tiles * c, (i + 1) * tiles * c), undefined),
      );
    });
    V.dispose();
    const D = Y.map((y, i) => ops[i].matMul(y));
    for (const y of Y) y.dispose();
    timed(phase, () => (m === 2 ? t.k.filter2 : t.k.filter4)(setTable(t, D), heapOffset(t.be, out), c, f));
    for (const d of D) d.dispose();
    return out;
  }

  /** The filter gradient's kept operators for parts of `tiles` tiles ([tiles, cin] right operands). */
  private partOps(tiles: number): PackedKernel[] {
    let ops = this.filterOps.get(tiles);
    if (!ops) {
      if (this.filterOps.size >= MAX_KEPT) {
        const [oldest, old] = this.filterOps.entries().next().value as [number, PackedKernel[]];
        for (const op of old) op.dispose();
        this.filterOps.delete(oldest);
      }
      ops = this.ops(tiles, this.cin);
      this.filterOps.set(tiles, ops);
    }
    return ops;
  }

  dispose(): void {
    for (const op of [...(this.forwardOps ?? []), ...(this.inputOps ?? []), ...[...this.filterOps.values()].flat()])
      op.dispose();
    this.forwardOps = this.inputOps = undefined;
    this.filterOps.clear();
  }
}

function need(): Tools {
  const t = tools();
  if (!t) throw new Error('Winograd convolution needs the tfjs-wasm backend (check winogradAvailable() first)');
  return t;
}
