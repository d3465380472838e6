/**
 * The image inputs the figures accept, turned into one form: a stack of `count` images of `height` x `width`
 * pixels with 1 (gray) or 3 (RGB) channels, row-major, top row first (NHWC, as Keras stores images).
 */
import { Matrix } from '../matrix.js';

/**
 * Rows of a matrix (one flattened gray image per row: `number[][]`, a `Matrix` or `{ data, shape: [n, h*w] }`),
 * or a tensor `{ data, shape: [n, h, w] }` / `{ data, shape: [n, h, w, c] }` with c = 1 (gray) or 3 (RGB).
 */
export type ImagesLike = Matrix | number[][] | { data: ArrayLike<number>; shape: readonly number[] };

export interface ImageStack {
  count: number;
  height: number;
  width: number;
  channels: 1 | 3;
  data: ArrayLike<number>;
}

/**
 * Checks `images` and gives its stack. Rows need `height` and `width` (they may be left out when the rows are
 * square: 784 values are 28 x 28); a tensor has its own, and any given must agree with it.
 * Every message starts with `owner` and names the image and pixel at fault.
 */
export function toImageStack(owner: string, images: unknown, size: { height?: number; width?: number }): ImageStack {
  const { data, shape } = dataAndShape(owner, images);
  if (shape.length < 2 || shape.length > 4 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(
      `${owner}: images must have shape [n, height*width], [n, height, width] or [n, height, width, channels]. Received: shape [${shape.join(', ')}]`,
    );
  }
  const size0 = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size0)
    throw new RangeError(
      `${owner}: images data has ${data.length} values but shape [${shape.join(', ')}] needs ${size0}`,
    );
  if (shape[0] === 0)
    throw new RangeError(`${owner}: images is empty (shape [${shape.join(', ')}]): there is nothing to draw`);
  const stack = shape.length === 2 ? fromRows(owner, shape, size) : fromTensor(owner, shape, size);
  checkFinite(owner, { ...stack, data });
  return { ...stack, data };
}

function dataAndShape(owner: string, images: unknown): { data: ArrayLike<number>; shape: readonly number[] } {
  if (images instanceof Matrix) return { data: images.data, shape: images.shape };
  if (Array.isArray(images)) {
    if (images.length === 0) throw new RangeError(`${owner}: images is an empty list: there is nothing to draw`);
    if (!images.every((row) => Array.isArray(row) && row.every((v) => typeof v === 'number'))) {
      throw new TypeError(
        `${owner}: images given as an array must be rows of numbers (number[][]), one flattened image per row`,
      );
    }
    const m = Matrix.fromArray(images as number[][], `${owner}: images`);
    return { data: m.data, shape: m.shape };
  }
  const value = images as { data?: unknown; shape?: unknown } | null;
  const data = value?.data;
  const dataOk = Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView));
  if (!dataOk || !Array.isArray(value?.shape)) {
    throw new TypeError(
      `${owner}: images must be number[][], a Matrix, or { data: Float32Array, shape: [n, h, w, c] }. Received: ${describe(images)}`,
    );
  }
  return { data: data as ArrayLike<number>, shape: value!.shape as number[] };
}

function fromRows(owner: string, [count, cols]: readonly number[], size: { height?: number; width?: number }) {
  let { height, width } = size;
  if (height === undefined && width === undefined) {
    const side = Math.round(Math.sqrt(cols));
    if (side * side !== cols) {
      throw new RangeError(
        `${owner}: images are rows of ${cols} values, which is not a square; give height and width (height * width = ${cols})`,
      );
    }
    [height, width] = [side, side];
  } else if (height === undefined || width === undefined) {
    throw new RangeError(
      `${owner}: give both height and width (or neither, for square images). Received: height=${height}, width=${width}`,
    );
  }
  if (height * width !== cols) {
    throw new RangeError(
      `${owner}: each image row has ${cols} values but height x width is ${height} x ${width} = ${height * width}`,
    );
  }
  return { count, height, width, channels: 1 as const };
}

function fromTensor(owner: string, shape: readonly number[], size: { height?: number; width?: number }) {
  const [count, height, width, channels = 1] = shape;
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(
      `${owner}: images must have 1 (gray) or 3 (RGB) channels. Received: shape [${shape.join(', ')}] with ${channels} channels`,
    );
  }
  for (const [name, given, actual] of [
    ['height', size.height, height],
    ['width', size.width, width],
  ] as const) {
    if (given !== undefined && given !== actual) {
      throw new RangeError(
        `${owner}: ${name}=${given} does not match the images' shape [${shape.join(', ')}] (${name} ${actual})`,
      );
    }
  }
  return { count, height, width, channels: channels as 1 | 3 };
}

function checkFinite(owner: string, s: ImageStack): void {
  const { data } = s;
  for (let i = 0; i < data.length; i++) {
    if (typeof data[i] !== 'number' || !Number.isFinite(data[i])) {
      const pixel = Math.floor(i / s.channels);
      const [image, at] = [Math.floor(pixel / (s.height * s.width)), pixel % (s.height * s.width)];
      throw new RangeError(
        `${owner}: image ${image} has a non-finite value (${data[i]}) at row ${Math.floor(at / s.width)}, column ${at % s.width}`,
      );
    }
  }
}

/** The images at `indices`, in that order, as a new stack. */
export function selectImages(s: ImageStack, indices: readonly number[]): ImageStack {
  const size = s.height * s.width * s.channels;
  const data = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) {
    for (let j = 0; j < size; j++) data[k * size + j] = s.data[indices[k] * size + j];
  }
  return { ...s, count: indices.length, data };
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? String(v);
  return `an object with keys ${Object.keys(v).join(', ') || '(none)'}`;
}
