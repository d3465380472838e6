/**
 * The SIMD kernels: reduce-and-update (optimizer.wat), instantiated over a model's shared memory; dropout
 * masks (dropout.wat), one private instance per thread; and the packing of Dense kernels for XNNPACK
 * (pack.wat), the transpose of a step's input rows (transpose.wat), the fused elementwise ops
 * (elementwise.wat) and the bias gradients' column sums (column-sums.wat), instantiated over tfjs-wasm's
 * own memory.
 *
 * The JavaScript loops in optimizers.ts are the reference; each kernel here computes the same float32
 * operations in the same order, four lanes at a time, so the bits agree (test/kernels.test.ts). The gain is
 * in the phase every worker runs between its two barriers: RMSprop over 55k parameters drops from about
 * 0.27 ms of scalar float64 sqrt and divide to a fraction of that.
 */
import { wasmBase64 } from './optimizer-wasm.js';
import { wasmBase64 as dropoutBase64 } from './dropout-wasm.js';
import { wasmBase64 as packBase64 } from './pack-wasm.js';
import { wasmBase64 as transposeBase64 } from './transpose-wasm.js';
import { wasmBase64 as elementwiseBase64 } from './elementwise-wasm.js';
import { wasmBase64 as columnSumsBase64 } from './column-sums-wasm.js';
import { wasmBase64 as maxPoolGradBase64 } from './max-pool-grad-wasm.js';
import { wasmBase64 as im2colBase64 } from './im2col-wasm.js';
import { wasmBase64 as tanhBase64 } from './tanh-wasm.js';
import { wasmBase64 as winogradBase64 } from './winograd-wasm.js';
import { growTo } from './memory.js';

type F32 = Float32Array;

interface Exports {
  sumSlots(out: number, slots: number, stride: number, n: number, first: number, lo: number, hi: number): void;
  sgd(p: number, g: number, pOut: number, lo: number, hi: number, lr: number): void;
  rmsprop(
    p: number,
    v: number,
    g: number,
    pOut: number,
    vOut: number,
    lo: number,
    hi: number,
    lr: number,
    rho: number,
    c: number,
    eps: number,
  ): void;
  adam(
    p: number,
    m: number,
    v: number,
    g: number,
    pOut: number,
    mOut: number,
    vOut: number,
    lo: number,
    hi: number,
    alpha: number,
    c1: number,
    c2: number,
    eps: number,
  ): void;
  decay(p: number, pOut: number, lo: number, hi: number, wd: number, lr: number): void;
}

/**
 * Kernels bound to one shared memory. Every array handed to them must be a view of that memory: they
 * address it by byteOffset.
 */
export class SimdKernels {
  private readonly k: Exports;

  constructor(memory: WebAssembly.Memory) {
    this.k = new WebAssembly.Instance(compiled(), { env: { memory } }).exports as unknown as Exports;
  }

  /**
   * out[i] = sum over k of slots[(first + k) % n][i], left to right, for i in [lo, hi); slot s starts at s * stride
   * floats.
   */
  sumSlots(out: F32, slots: F32, stride: number, n: number, first: number, lo: number, hi: number): void {
    this.k.sumSlots(out.byteOffset, slots.byteOffset, stride * 4, n, first, lo, hi);
  }

  sgd(p: F32, g: F32, pOut: F32, lo: number, hi: number, lr: number): void {
    this.k.sgd(p.byteOffset, g.byteOffset, pOut.byteOffset, lo, hi, lr);
  }

  rmsprop(
    p: F32,
    v: F32,
    g: F32,
    pOut: F32,
    vOut: F32,
    lo: number,
    hi: number,
    lr: number,
    rho: number,
    c: number,
    eps: number,
  ): void {
    this.k.rmsprop(p.byteOffset, v.byteOffset, g.byteOffset, pOut.byteOffset, vOut.byteOffset, lo, hi, lr, rho, c, eps);
  }

  adam(
    p: F32,
    m: F32,
    v: F32,
    g: F32,
    pOut: F32,
    mOut: F32,
    vOut: F32,
    lo: number,
    hi: number,
    alpha: number,
    c1: number,
    c2: number,
    eps: number,
  ): void {
    this.k.adam(
      p.byteOffset,
      m.byteOffset,
      v.byteOffset,
      g.byteOffset,
      pOut.byteOffset,
      mOut.byteOffset,
      vOut.byteOffset,
      lo,
      hi,
      alpha,
      c1,
      c2,
      eps,
    );
  }

  decay(p: F32, pOut: F32, lo: number, hi: number, wd: number, lr: number): void {
    this.k.decay(p.byteOffset, pOut.byteOffset, lo, hi, wd, lr);
  }
}

let module: WebAssembly.Module | undefined;
function compiled(): WebAssembly.Module {
  return (module ??= new WebAssembly.Module(Buffer.from(wasmBase64, 'base64')));
}

interface DropoutExports {
  memory: WebAssembly.Memory;
  masks(out: number, keys: number, rows: number, cols: number, threshold: number, scale: number): void;
}

let dropout: DropoutExports | undefined;

/**
 * Inverted-dropout masks for `rows` rows of `cols` values, row r keyed by (keys[2r], keys[2r + 1]): the bits of
 * rng.ts's fillDropoutMask for each row, four Threefry blocks at a time. The result is a view of the
 * kernel's memory, valid until the next call.
 */
export function dropoutMasks(keys: Int32Array, rows: number, cols: number, rate: number): Float32Array {
  const k = (dropout ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(dropoutBase64, 'base64')))
    .exports as unknown as DropoutExports);
  const outAt = Math.ceil((rows * 8) / 16) * 16;
  // 8 floats of slack: a row's last block of eight may run past the end.
  growTo(k.memory, outAt + (rows * cols + 8) * 4);
  new Int32Array(k.memory.buffer, 0, rows * 2).set(keys);
  // Same threshold and scale as fillDropoutMask: keep when the top 24 bits >= ceil(rate * 2^24).
  const scaleBits = new Int32Array(Float32Array.of(1 / (1 - rate)).buffer)[0];
  k.masks(outAt, 0, rows, cols, Math.ceil(rate * 16777216), scaleBits);
  return new Float32Array(k.memory.buffer, outAt, rows * cols);
}

export interface Packer {
  /**
   * XNNPACK's packed layout of kernel [fanIn, units] (+ bias), all byte offsets in the packer's memory; bias 0 = none.
   */
  pack(kernel: number, bias: number, fanIn: number, units: number, out: number): void;
}

/** One instance of a kernel module per (module, memory), for modules that import their memory. */
const instances = new Map<string, WeakMap<WebAssembly.Memory, object>>();
function instanceOver<E extends object>(base64: string, memory: WebAssembly.Memory): E {
  let perMemory = instances.get(base64);
  if (!perMemory) instances.set(base64, (perMemory = new WeakMap()));
  let e = perMemory.get(memory);
  if (!e) {
    e = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64')), { env: { memory } }).exports;
    perMemory.set(memory, e);
  }
  return e as E;
}

/** The pack kernel over `memory` (one instance per memory and thread); see pack.wat. */
export function packerFor(memory: WebAssembly.Memory): Packer {
  return instanceOver<Packer>(packBase64, memory);
}

export interface Transposer {
  /** dst[c * rows + r] = src[r * cols + c], float32 bits; byte offsets in the transposer's memory. */
  transpose(src: number, rows: number, cols: number, dst: number): void;
  /** dst[c * stride + r] = src[r * cols + c]: into rows of a wider matrix (stride >= rows). */
  transposeStrided(src: number, rows: number, cols: number, dst: number, stride: number): void;
}

/** The transpose kernel over `memory` (one instance per memory and thread); see transpose.wat. */
export function transposerFor(memory: WebAssembly.Memory): Transposer {
  return instanceOver<Transposer>(transposeBase64, memory);
}

export interface ElementwiseKernels {
  /** out = a * b, n values; byte offsets in the kernels' memory (as all below). */
  mul(a: number, b: number, out: number, n: number): void;
  /** out = dy * tf.step(y). */
  reluGrad(dy: number, y: number, out: number, n: number): void;
  /** out = dy * (1 - y * y). */
  tanhGrad(dy: number, y: number, out: number, n: number): void;
  /** out = dy * (y * (1 - y)). */
  sigmoidGrad(dy: number, y: number, out: number, n: number): void;
}

export interface TanhKernel {
  /** out = tanh(x) with the bits of musl's tanhf (tfjs-wasm's Tanh), n values; byte offsets. */
  tanh(x: number, out: number, n: number): void;
}

/** The tanh kernel over `memory` (one instance per memory and thread); see tanh.wat. */
export function tanhFor(memory: WebAssembly.Memory): TanhKernel {
  return instanceOver<TanhKernel>(tanhBase64, memory);
}

/** The elementwise kernels over `memory` (one instance per memory and thread); see elementwise.wat. */
export function elementwiseFor(memory: WebAssembly.Memory): ElementwiseKernels {
  return instanceOver<ElementwiseKernels>(elementwiseBase64, memory);
}

export interface ColumnSumsKernel {
  /** out[c] = float32(float64 sum of src rows [start, start + rows), column c, in row order); byte offsets. */
  columnSums(src: number, start: number, rows: number, cols: number, out: number): void;
}

/** The column-sums kernel over `memory` (one instance per memory and thread); see column-sums.wat. */
export function columnSumsFor(memory: WebAssembly.Memory): ColumnSumsKernel {
  return instanceOver<ColumnSumsKernel>(columnSumsBase64, memory);
}

export interface MaxPoolGradKernel {
  /** See max-pool-grad.wat: byte offsets of x, y, dy and out (zeroed), then the geometry. */
  maxPoolGrad(
    x: number,
    y: number,
    dy: number,
    out: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
  ): void;
}

/** The max-pool gradient kernel over `memory` (one instance per memory and thread); see max-pool-grad.wat. */
export function maxPoolGradFor(memory: WebAssembly.Memory): MaxPoolGradKernel {
  return instanceOver<MaxPoolGradKernel>(maxPoolGradBase64, memory);
}

export interface Im2colKernel {
  /** See im2col.wat: byte offsets of the channel-major input and of the output, then the geometry. */
  patchesT(
    xc: number,
    out: number,
    rows: number,
    cin: number,
    h: number,
    w: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    oh: number,
    ow: number,
    top: number,
    left: number,
  ): void;
}

/** The transposed-patches kernel over `memory` (one instance per memory and thread); see im2col.wat. */
export function im2colFor(memory: WebAssembly.Memory): Im2colKernel {
  return instanceOver<Im2colKernel>(im2colBase64, memory);
}

export interface WinogradKernels {
  /** See winograd.wat (generated by scripts/winograd-wat.mjs): byte offsets, tables of byte offsets, shapes. */
  input2(
    src: number,
    dsts: number,
    n: number,
    h: number,
    w: number,
    c: number,
    top: number,
    left: number,
    th: number,
    tw: number,
  ): void;
  input4(
    src: number,
    dsts: number,
    n: number,
    h: number,
    w: number,
    c: number,
    top: number,
    left: number,
    th: number,
    tw: number,
  ): void;
  output2(
    srcs: number,
    dst: number,
    n: number,
    oh: number,
    ow: number,
    f: number,
    th: number,
    tw: number,
    bias: number,
    relu: number,
  ): void;
  output4(
    srcs: number,
    dst: number,
    n: number,
    oh: number,
    ow: number,
    f: number,
    th: number,
    tw: number,
    bias: number,
    relu: number,
  ): void;
  grad2(
    src: number,
    dsts: number,
    n: number,
    oh: number,
    ow: number,
    f: number,
    th: number,
    tw: number,
    tiles: number,
  ): void;
  grad4(
    src: number,
    dsts: number,
    n: number,
    oh: number,
    ow: number,
    f: number,
    th: number,
    tw: number,
    tiles: number,
  ): void;
  kernel2(src: number, dsts: number, cin: number, cout: number, turned: number): void;
  kernel4(src: number, dsts: number, cin: number, cout: number, turned: number): void;
  filter2(srcs: number, dst: number, cin: number, cout: number): void;
  filter4(srcs: number, dst: number, cin: number, cout: number): void;
}

/** The Winograd tile transforms over `memory` (one instance per memory and thread); see winograd.wat. */
export function winogradFor(memory: WebAssembly.Memory): WinogradKernels {
  return instanceOver<WinogradKernels>(winogradBase64, memory);
}
