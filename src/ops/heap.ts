/**
 * tfjs-wasm's internals, in one place: zero-copy reads of a tensor's values from the wasm heap (`dataSync()`
 * slices a fresh copy for every call; gradients are copied straight into their shared slot instead, once),
 * tensors allocated the way its kernels allocate outputs, byte offsets for our kernels, and a per-backend
 * memo for the direct calls. Falls back to dataSync() on other backends. Relies on tfjs-backend-wasm 4.x
 * keeping { id, memoryOffset } per dataId (the version is pinned).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface WasmBackendInternals {
  /** `id` is the tensor's number in the wasm side's registry, which the wasm kernel functions take. */
  dataIdMap: { get(id: object): { id: number; memoryOffset: number; dtype: string } | undefined };
  /** Allocates an output tensor's memory the way tfjs-wasm's own kernels do (see wasm-matmul.ts). */
  makeOutput?(shape: number[], dtype: 'float32'): { dataId: object; shape: number[]; dtype: 'float32' };
  wasm: {
    HEAPU8: Uint8Array;
    asm?: { memory?: WebAssembly.Memory };
    _malloc?(bytes: number): number;
    _free?(at: number): void;
    cwrap?(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  };
}

/** The current backend's wasm internals, or undefined when it is not tfjs-wasm. */
export function wasmBackend(): WasmBackendInternals | undefined {
  const b = tf.backend() as unknown as Partial<WasmBackendInternals>;
  return b.wasm && b.dataIdMap ? (b as WasmBackendInternals) : undefined;
}

/** The internals with `makeOutput`, which the direct calls and the row stage need (callers check it exists). */
export type WasmWithOutput = WasmBackendInternals & Required<Pick<WasmBackendInternals, 'makeOutput'>>;

/**
 * A new [rows, cols] float32 tensor in tfjs-wasm's memory, allocated the way tfjs-wasm's own kernels make
 * their outputs (values not set) and registered with the engine, so tidy and dispose treat it as any other.
 */
export function heapTensor(be: WasmWithOutput, rows: number, cols: number): tf.Tensor2D {
  const engine = tf.engine() as unknown as { makeTensorFromTensorInfo(info: object): tf.Tensor };
  return engine.makeTensorFromTensorInfo(be.makeOutput([rows, cols], 'float32')) as tf.Tensor2D;
}

/** The byte offset of `t`'s values in tfjs-wasm's memory. */
export function heapOffset(be: WasmBackendInternals, t: tf.Tensor): number {
  return be.dataIdMap.get(t.dataId)!.memoryOffset;
}

/**
 * `create()` run once per tfjs backend and remembered: the direct calls bind one backend's internals, and their
 * start-up checks need to run only once per thread.
 */
export function perBackend<R>(create: () => R): () => R {
  let cached: { backend: object; value: R } | undefined;
  return () => {
    const backend = tf.backend();
    if (cached?.backend !== backend) cached = { backend, value: create() };
    return cached.value;
  };
}

/** tfjs-wasm's memory, for kernels of ours instantiated over it (undefined: not tfjs-wasm, or hidden). */
export function wasmMemory(backend = wasmBackend()): WebAssembly.Memory | undefined {
  const memory = backend?.wasm.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** A float32 view of `t`'s values in wasm memory; valid until the next tfjs call that allocates. */
export function heapView(t: tf.Tensor): Float32Array {
  const backend = wasmBackend();
  const info = backend?.dataIdMap.get(t.dataId);
  if (!backend || !info || info.dtype !== 'float32') return t.dataSync() as Float32Array;
  return new Float32Array(backend.wasm.HEAPU8.buffer, info.memoryOffset, t.size);
}
