/**
 * The elementwise ops of a training step without tfjs's op wrappers: Dropout's x * mask and the derivatives
 * of relu, tanh and sigmoid, each one pass of a SIMD kernel (kernels/elementwise.wat) over tensors in
 * tfjs-wasm's memory. Through tfjs, tanh's derivative is three ops (square, sub, mul) and relu's two, each
 * with its own output tensor and about 5 µs of engine dispatch; the MNIST MLP's step made nine such calls
 * per worker. The arithmetic is the ops' own, in their order, so the bits are the same: `directElementwise()`
 * checks that once per thread, on values that include NaNs, infinities, zeros of both signs and subnormals,
 * and returns null if any bit differs; callers then use the tf ops.
 *
 * Like heap.ts this relies on tfjs-wasm 4.x internals (the version is pinned).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmBackend, wasmMemory, type WasmBackendInternals } from './heap.js';
import { elementwiseFor, type ElementwiseKernels } from '../kernels/index.js';

type Internals = WasmBackendInternals & Required<Pick<WasmBackendInternals, 'makeOutput'>>;
type T = tf.Tensor2D;
type Kernel = 'mul' | 'reluGrad' | 'tanhGrad' | 'sigmoidGrad';

export class DirectElementwise {
  private readonly engine = tf.engine() as unknown as { makeTensorFromTensorInfo(info: object): tf.Tensor };

  constructor(
    private readonly be: Internals,
    private readonly k: ElementwiseKernels,
  ) {}

  private run(kernel: Kernel, a: T, b: T): T {
    if (a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1] || a.dtype !== 'float32' || b.dtype !== 'float32') {
      throw new Error(`lockstep internal: ${kernel} needs two float32 tensors of one shape, got [${a.shape}] and [${b.shape}]`);
    }
    const out = this.engine.makeTensorFromTensorInfo(this.be.makeOutput(a.shape, 'float32')) as T;
    this.k[kernel](this.offset(a), this.offset(b), this.offset(out), a.size);
    return out;
  }

  private offset(t: tf.Tensor): number {
    return this.be.dataIdMap.get(t.dataId)!.memoryOffset;
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
}

/** What each direct op must equal, on tfjs's ops. */
export const REFERENCE: Record<Kernel, (a: T, b: T) => tf.Tensor> = {
  mul: (a, b) => tf.mul(a, b),
  reluGrad: (dy, y) => tf.mul(dy, tf.step(y, 0)),
  tanhGrad: (dy, y) => tf.mul(dy, tf.sub(1, tf.square(y))),
  sigmoidGrad: (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y))),
};

let cached: { backend: object; direct: DirectElementwise | null } | undefined;

/** The direct ops for the current backend, or null when it is not tfjs-wasm or they do not give tfjs's bits. */
export function directElementwise(): DirectElementwise | null {
  const backend = tf.backend();
  if (cached?.backend === backend) return cached.direct;
  const be = wasmBackend();
  const memory = wasmMemory(be);
  let direct: DirectElementwise | null = null;
  if (be && memory && typeof be.makeOutput === 'function') {
    direct = new DirectElementwise(be as Internals, elementwiseFor(memory));
    if (!agrees(direct)) direct = null;
  }
  cached = { backend, direct };
  return direct;
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
    });
  });
}
