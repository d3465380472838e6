/**
 * NumPy's .npz archives (`np.savez`, `np.savez_compressed`, Keras's `mnist.npz`): a zip file holding one
 * .npy per array. The zip side is yauzl's (a widely used, maintained reader that checks the central
 * directory, handles zip64 and inflates as a stream), so each array streams from the archive into its
 * float32 buffer like a plain .npy file.
 */
import yauzl from 'yauzl';
import { DataFileError, type Tensor } from './errors.js';
import { readNpy, readNpyShape } from './npy.js';

/** The names of the arrays in an .npz (its entries without `.npy`). */
export async function npzKeys(file: string): Promise<string[]> {
  const zip = await openZip(file);
  try {
    return (await entries(zip, file)).map((e) => e.fileName.replace(/\.npy$/, ''));
  } finally {
    zip.close();
  }
}

/**
 * Reads the arrays `keys` of an .npz; an absent key is an error listing the arrays that are there. Every
 * array's header is read and checked against the size the zip's central directory declares before any is
 * inflated, and `check` (given the shapes) may refuse them then, before anything large is allocated.
 */
export async function loadNpz(
  file: string,
  keys: string[],
  check?: (shapes: Record<string, number[]>) => void,
): Promise<Record<string, Tensor>> {
  const zip = await openZip(file);
  try {
    const all = await entries(zip, file);
    const found = keys.map((key) => {
      const entry = all.find((e) => e.fileName === `${key}.npy` || e.fileName === key);
      if (!entry)
        throw new DataFileError(
          file,
          `no array "${key}" in the archive (it holds: ${all.map((e) => e.fileName.replace(/\.npy$/, '')).join(', ') || 'nothing'})`,
        );
      return { key, entry };
    });
    const shapes: Record<string, number[]> = {};
    for (const { key, entry } of found)
      shapes[key] = await fromEntry(zip, entry, file, (s, at) => readNpyShape(s, at, entry.uncompressedSize));
    check?.(shapes);
    const out: Record<string, Tensor> = {};
    for (const { key, entry } of found)
      out[key] = await fromEntry(zip, entry, file, (s, at) => readNpy(s, at, entry.uncompressedSize));
    return out;
  } finally {
    zip.close();
  }
}

/** Runs `read` on an entry's inflating stream (yauzl stops it past the declared size), naming the entry in errors. */
async function fromEntry<T>(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  file: string,
  read: (s: NodeJS.ReadableStream & AsyncIterable<Buffer>, at: string) => Promise<T>,
): Promise<T> {
  const at = `${file}:${entry.fileName}`;
  const stream = await zip.openReadStreamPromise(entry);
  try {
    return await read(stream as never, at);
  } catch (err) {
    if (err instanceof DataFileError) throw err;
    throw new DataFileError(at, (err as Error).message);
  } finally {
    (stream as unknown as { destroy(): void }).destroy();
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new DataFileError(
            file,
            code === 'ENOENT' ? 'no such file' : `not a readable .npz (zip) archive: ${err.message}`,
          ),
        );
      } else resolve(zip);
    });
  });
}

function entries(zip: yauzl.ZipFile, file: string): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const list: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      if (!e.fileName.endsWith('/')) list.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve(list));
    zip.once('error', (err: Error) => reject(new DataFileError(file, `damaged .npz (zip) archive: ${err.message}`)));
    zip.readEntry();
  });
}
