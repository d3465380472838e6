/**
 * NumPy's .npz archives (`np.savez`, `np.savez_compressed`, Keras's `mnist.npz`): a zip file holding one
 * .npy per array. The zip side is yauzl's (a widely used, maintained reader that checks the central
 * directory, handles zip64 and inflates as a stream), so each array streams from the archive into its
 * float32 buffer like a plain .npy file.
 */
import yauzl from 'yauzl';
import { DataFileError, type Tensor } from './errors.js';
import { readNpy } from './npy.js';

/** The names of the arrays in an .npz (its entries without `.npy`). */
export async function npzKeys(file: string): Promise<string[]> {
  const zip = await openZip(file);
  try {
    return (await entries(zip, file)).map((e) => e.fileName.replace(/\.npy$/, ''));
  } finally {
    zip.close();
  }
}

/** Reads the arrays `keys` of an .npz; an absent key is an error listing the arrays that are there. */
export async function loadNpz(file: string, keys: string[]): Promise<Record<string, Tensor>> {
  const zip = await openZip(file);
  try {
    const all = await entries(zip, file);
    const out: Record<string, Tensor> = {};
    for (const key of keys) {
      const entry = all.find((e) => e.fileName === `${key}.npy` || e.fileName === key);
      if (!entry) throw new DataFileError(file, `no array "${key}" in the archive (it holds: ${all.map((e) => e.fileName.replace(/\.npy$/, '')).join(', ') || 'nothing'})`);
      const stream = await zip.openReadStreamPromise(entry);
      try {
        out[key] = await readNpy(stream, `${file}:${entry.fileName}`);
      } catch (err) {
        if (err instanceof DataFileError) throw err;
        throw new DataFileError(`${file}:${entry.fileName}`, (err as Error).message);
      } finally {
        stream.destroy();
      }
    }
    return out;
  } finally {
    zip.close();
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(new DataFileError(file, code === 'ENOENT' ? 'no such file' : `not a readable .npz (zip) archive: ${err.message}`));
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
