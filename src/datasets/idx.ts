/**
 * MNIST's IDX files parsed from bytes, wherever the bytes come from: a directory (mnist.ts) or URLs in a
 * browser (browser/mnist.ts). Every header is checked against the file's length before anything is allocated.
 */
import { Matrix } from '../matrix.js';

/**
 * How the pixels and labels are stored: `raw` keeps 0..255 (default: scaled to [0, 1]); `shared` puts them in
 * SharedArrayBuffers.
 */
export interface IdxOptions {
  raw?: boolean;
  shared?: boolean;
}

const IMAGES_MAGIC = 0x00000803; // unsigned bytes, 3 dimensions
const LABELS_MAGIC = 0x00000801; // unsigned bytes, 1 dimension

// For every byte, float32(i / 255) is the correctly rounded quotient, so this matches numpy's
// `x.astype('float32') / 255` (checked exhaustively with exact arithmetic).
const SCALE = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/**
 * Parses an IDX image file (magic 0x00000803) into one row per image.
 *
 * `file` names the source in errors. Options: `raw` (keep 0..255, default false), `shared` (default false).
 */
export function parseIdxImages(bytes: Uint8Array, file: string, options: IdxOptions = {}): Matrix {
  const [count, height, width] = readHeader(bytes, file, IMAGES_MAGIC, 3);
  const cols = height * width;
  const pixels = bytes.subarray(16);
  checkLength(bytes, 16 + count * cols, file, `${count} images of ${height} x ${width}`);
  const n = count * cols;
  const data = options.shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
  if (options.raw) {
    data.set(pixels); // converts uint8 to float32 natively
  } else {
    // In blocks through a small function: V8 optimizes it after a few calls, where one 47-million-pass loop
    // would run mostly before on-stack replacement (MNIST's training images: 160 -> 110 ms).
    for (let lo = 0; lo < n; lo += SCALE_BLOCK) scaleBlock(pixels, data, lo, Math.min(n, lo + SCALE_BLOCK));
  }
  return new Matrix(data, count, cols);
}

const SCALE_BLOCK = 65536;

function scaleBlock(pixels: Uint8Array, data: Float32Array, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) data[i] = SCALE[pixels[i]];
}

/** Parses an IDX label file (magic 0x00000801). `file` names the source in errors. */
export function parseIdxLabels(bytes: Uint8Array, file: string, options: Pick<IdxOptions, 'shared'> = {}): Int32Array {
  const [count] = readHeader(bytes, file, LABELS_MAGIC, 1);
  checkLength(bytes, 8 + count, file, `${count} labels`);
  const labels = options.shared ? new Int32Array(new SharedArrayBuffer(count * 4)) : new Int32Array(count);
  labels.set(bytes.subarray(8));
  return labels;
}

/** Checks the magic number and returns the big-endian dimension sizes that follow it. */
function readHeader(bytes: Uint8Array, file: string, magic: number, ndim: number): number[] {
  const headerBytes = 4 + 4 * ndim;
  const truncated = () =>
    new RangeError(`MNIST: ${file} is truncated: expected at least ${headerBytes} header bytes, got ${bytes.length}`);
  if (bytes.length < 4) throw truncated();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  // Check the magic before the length, so a label file passed as images says so instead of "truncated".
  if (found !== magic) {
    const hint =
      found === IMAGES_MAGIC ? ' (that is an image file)' : found === LABELS_MAGIC ? ' (that is a label file)' : '';
    throw new RangeError(`MNIST: ${file} has bad magic number ${hex(found)}${hint}, expected ${hex(magic)}`);
  }
  if (bytes.length < headerBytes) throw truncated();
  return Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
}

function checkLength(bytes: Uint8Array, expected: number, file: string, what: string): void {
  if (bytes.length !== expected) {
    const problem = bytes.length < expected ? 'is truncated' : 'has trailing bytes';
    throw new RangeError(
      `MNIST: ${file} ${problem}: its header promises ${what}, so expected ${expected} bytes, got ${bytes.length}`,
    );
  }
}

const hex = (v: number) => '0x' + v.toString(16).padStart(8, '0');
