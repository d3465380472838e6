/**
 * Zero-copy reads of a tensor's values from the wasm heap. `dataSync()` slices a fresh copy for every call;
 * gradients are copied straight into their shared slot instead, once. Falls back to dataSync() on other
 * backends. Relies on tfjs-backend-wasm 4.x keeping { memoryOffset } per dataId (the version is pinned).
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
