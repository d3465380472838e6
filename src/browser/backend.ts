/**
 * The browser build's backend.ts: tfjs-core on the WebAssembly backend's SIMD build, whose .wasm files sit
 * beside this module (the build copies them there), so a page serves lockstep from any URL with no setup.
 *
 * The threaded build is turned off: lockstep's parallelism is its own workers, and each thread runs the same
 * single-threaded SIMD binary as in Node, which is what makes the bits the same in both.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

let ready: Promise<void> | undefined;

export async function initBackend(): Promise<void> {
  ready ??= (async () => {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(new URL('./', import.meta.url).href);
    if (!(await tf.setBackend('wasm'))) throw new Error('lockstep: the tfjs wasm backend failed to initialise');
    await tf.ready();
    if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) {
      throw new Error(
        'lockstep: this browser lacks WebAssembly SIMD, which lockstep needs (Chrome 91+, Firefox 89+, Safari 16.4+)',
      );
    }
  })();
  await ready;
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
}

export interface BackendInfo {
  backend: string;
  simd: boolean;
  threads: boolean;
  tfjsVersion: string;
}

export function backendInfo(): BackendInfo {
  return {
    backend: tf.getBackend(),
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    tfjsVersion: tf.version_core,
  };
}
