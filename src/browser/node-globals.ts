/**
 * Stand-ins for the few Node globals lockstep's own modules use, for the browser build only:
 * scripts/build-browser.mjs imports the ones a module names at the top of that module (never into
 * tfjs, which tells Node from a browser by looking for `process`). Each does what lockstep needs and no more.
 */

/**
 * A page without cross-origin isolation has no SharedArrayBuffer: plain buffers serve a model trained on the page's
 * thread (workers: 0).
 */
const SharedArrayBufferOrPlain: SharedArrayBufferConstructor =
  (globalThis as { SharedArrayBuffer?: SharedArrayBufferConstructor }).SharedArrayBuffer ??
  (ArrayBuffer as unknown as SharedArrayBufferConstructor);
export { SharedArrayBufferOrPlain as SharedArrayBuffer };

/** Lines written to `process.stdout` (fit's progress logger) go to the console, one console.log per line. */
let pending = '';
const stdout = {
  isTTY: false,
  write(text: string): boolean {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) console.log(line);
    return true;
  },
};

export const process = {
  env: {} as Record<string, string | undefined>,
  stdout,
  stderr: stdout,
  pid: 0,
  version: 'browser',
  platform: 'browser',
  arch: 'wasm32',
  exit(code?: number): never {
    // Only the worker-fault test hook calls this; in a browser worker it fails the task instead.
    throw new Error(`lockstep: process.exit(${code ?? 0}) in a browser`);
  },
  on: () => process,
  once: () => process,
  removeListener: () => process,
  listenerCount: () => 0,
};

/** Only `Buffer.from(base64, 'base64')`, which the SIMD kernels use to carry their bytes. */
export const Buffer = {
  from(data: unknown, encoding?: string): Uint8Array {
    if (typeof data !== 'string' || encoding !== 'base64')
      throw new Error('lockstep (browser build): only Buffer.from(text, "base64") is available');
    const text = atob(data);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  },
};
