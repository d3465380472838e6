/**
 * One-time setup of tfjs-core on the WebAssembly backend (SIMD build) for the current thread.
 *
 * The main thread (workers: 0) and every pool worker call `initBackend()` once and keep the backend for
 * their lifetime. tfjs disables its threaded wasm build under Node, so each thread runs XNNPACK on one core.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';

let ready: Promise<void> | undefined;

export async function initBackend(): Promise<void> {
  ready ??= (async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('lockstep: the tfjs wasm backend failed to initialise');
    await tf.ready();
  })();
  await ready;
  // Other code in the process (tfjs-layers on the cpu backend, say) may have switched the global backend:
  // lockstep's results are defined on wasm, so switch back rather than silently compute elsewhere.
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
}

export interface BackendInfo {
  backend: string;
  simd: boolean;
  threads: boolean;
  tfjsVersion: string;
}

/** What this thread computes with; `simd: true` means the wasm SIMD binary is in use. */
export function backendInfo(): BackendInfo {
  return {
    backend: tf.getBackend(),
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    tfjsVersion: tf.version_core,
  };
}
