/**
 * The error every data loader throws for a bad file: `file:line:column: message`, with the parts as fields
 * so callers (the CLI, tests) can point at the place. `line` and `column` are 1-based; a .npy file has no
 * lines, so there they are absent and the message names the byte offset or header field instead.
 */
export class DataFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(
      `${file}${line !== undefined ? `:${line}` : ''}${line !== undefined && column !== undefined ? `:${column}` : ''}: ${message}`,
    );
    this.name = 'DataFileError';
  }
}

/** An n-dimensional float32 array, row-major: what the loaders return for x and y. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** A Float32Array of `length` values in a SharedArrayBuffer, so the worker pool reads it without a copy. */
export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}
