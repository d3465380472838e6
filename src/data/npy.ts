/**
 * NumPy's .npy format (version 1, 2 and 3): a magic string, a small Python-dict header naming the dtype,
 * the memory order and the shape, then the raw elements. Read as a stream, converted chunk by chunk into
 * a float32 SharedArrayBuffer (float32 data is copied byte for byte), so a large array never exists twice.
 *
 * Supported dtypes: float32, float64, float16 is not; bool, (u)int8, (u)int16, (u)int32 and (u)int64, all
 * little-endian (what NumPy writes on x86 and ARM). Big-endian, object, string and structured arrays, and
 * Fortran-ordered files (`np.asfortranarray`), are rejected with the fix to apply in NumPy. An .npy parser
 * from npm (npyjs) was not used: it needs the whole file in memory and does not report truncation.
 */
import { createReadStream } from 'node:fs';
import { DataFileError, sharedFloats, type Tensor } from './errors.js';
import { own } from '../errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** How each supported dtype is read: its size and a typed-array constructor over aligned bytes. */
const DTYPES: Record<string, { size: number; view: (b: ArrayBuffer, n: number) => ArrayLike<number | bigint> }> = {
  f4: { size: 4, view: (b, n) => new Float32Array(b, 0, n) },
  f8: { size: 8, view: (b, n) => new Float64Array(b, 0, n) },
  b1: { size: 1, view: (b, n) => new Uint8Array(b, 0, n) },
  u1: { size: 1, view: (b, n) => new Uint8Array(b, 0, n) },
  i1: { size: 1, view: (b, n) => new Int8Array(b, 0, n) },
  u2: { size: 2, view: (b, n) => new Uint16Array(b, 0, n) },
  i2: { size: 2, view: (b, n) => new Int16Array(b, 0, n) },
  u4: { size: 4, view: (b, n) => new Uint32Array(b, 0, n) },
  i4: { size: 4, view: (b, n) => new Int32Array(b, 0, n) },
  u8: { size: 8, view: (b, n) => new BigUint64Array(b, 0, n) },
  i8: { size: 8, view: (b, n) => new BigInt64Array(b, 0, n) },
};

/** Reads an .npy file into `{ data: Float32Array, shape }`. */
export async function loadNpy(file: string): Promise<Tensor> {
  const stream = createReadStream(file, { highWaterMark: 1 << 22 });
  try {
    return await readNpy(stream, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DataFileError(file, 'no such file');
    throw err;
  } finally {
    stream.destroy();
  }
}

/** Parses an .npy byte stream; `source` names it in errors (`mnist.npz:x_train.npy`). */
export async function readNpy(chunks: AsyncIterable<Buffer>, source: string): Promise<Tensor> {
  let head = Buffer.alloc(0);
  let reader: ElementReader | null = null;
  for await (const chunk of chunks) {
    if (reader) {
      reader.push(chunk);
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const parsed = parseHeader(head, source);
    if (parsed === null) continue;
    reader = new ElementReader(parsed.dtype, parsed.shape, source);
    reader.push(head.subarray(parsed.dataStart));
  }
  if (!reader) {
    const h = parseHeader(head, source, true);
    reader = new ElementReader(h!.dtype, h!.shape, source);
  }
  return reader.finish();
}

interface Header {
  dtype: string;
  shape: number[];
  dataStart: number;
}

/** The header, or null when more bytes are needed (an error at the end of the stream: `final`). */
function parseHeader(b: Buffer, source: string, final = false): Header | null {
  const fail = (why: string) => new DataFileError(source, why);
  if (b.length === 0 && final) throw fail('empty file: not an .npy file');
  for (let i = 0; i < Math.min(b.length, MAGIC.length); i++) {
    if (b[i] !== MAGIC[i]) throw fail('not an .npy file (it does not start with \\x93NUMPY)');
  }
  if (b.length < 10) {
    if (final) throw fail(`truncated: ${b.length} bytes, shorter than an .npy header`);
    return null;
  }
  const major = b[6];
  if (major < 1 || major > 3) throw fail(`unsupported .npy format version ${major}.${b[7]} (1, 2 and 3 are read)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) return final ? (() => { throw fail('truncated inside the header'); })() : null;
  const len = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const dataStart = 8 + lenBytes + len;
  if (b.length < dataStart) {
    if (final) throw fail(`truncated inside the header (${b.length} of ${dataStart} bytes)`);
    return null;
  }
  const text = b.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, dataStart);
  const descr = /'descr'\s*:\s*(['"])(.*?)\1/.exec(text)?.[2];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined) {
    if (/'descr'\s*:\s*\[/.test(text)) throw fail('structured arrays (several named fields) are not supported: save each field as its own array');
    throw fail(`the header has no 'descr' (dtype): ${JSON.stringify(text.trim())}`);
  }
  if (fortran === undefined) throw fail(`the header has no 'fortran_order': ${JSON.stringify(text.trim())}`);
  if (shapeText === undefined) throw fail(`the header has no 'shape': ${JSON.stringify(text.trim())}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) {
    throw fail('Fortran-order arrays are not supported: save np.ascontiguousarray(a) instead');
  }
  return { dtype: checkDtype(descr, fail), shape, dataStart };
}

function checkDtype(descr: string, fail: (why: string) => Error): string {
  const order = descr[0];
  const code = descr.slice(1);
  if (code === 'O' || descr === 'O') throw fail(`object arrays (dtype ${descr}) cannot be read: convert with a.astype('float32')`);
  if (order === '>' && !code.endsWith('1')) throw fail(`big-endian data (dtype ${descr}) is not supported: save a.astype('<${code}') instead`);
  if (!own(DTYPES, code) || !'<|='.includes(order) && order !== '>') {
    throw fail(`dtype ${descr} is not supported (float32, float64, bool and integer arrays are): convert with a.astype('float32')`);
  }
  return code;
}

/** Converts the element bytes as they arrive; a partial element waits for the next chunk. */
class ElementReader {
  private readonly out: Float32Array;
  private readonly size: number;
  private readonly view: (b: ArrayBuffer, n: number) => ArrayLike<number | bigint>;
  private written = 0;
  private pending = Buffer.alloc(0);
  private scratch = new ArrayBuffer(0);
  private extra = 0;

  constructor(
    private readonly dtype: string,
    private readonly shape: number[],
    private readonly source: string,
  ) {
    const n = shape.reduce((a, d) => a * d, 1);
    this.out = sharedFloats(n);
    this.size = DTYPES[dtype].size;
    this.view = DTYPES[dtype].view;
  }

  push(chunk: Buffer): void {
    let bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const room = (this.out.length - this.written) * this.size;
    if (bytes.length > room) {
      this.extra += bytes.length - room;
      bytes = bytes.subarray(0, room);
    }
    const n = Math.floor(bytes.length / this.size);
    const whole = n * this.size;
    if (this.dtype === 'f4') {
      // Little-endian float32 as stored: a byte copy.
      new Uint8Array(this.out.buffer, this.written * 4, whole).set(bytes.subarray(0, whole));
    } else if (n > 0) {
      if (this.scratch.byteLength < whole) this.scratch = new ArrayBuffer(whole);
      new Uint8Array(this.scratch, 0, whole).set(bytes.subarray(0, whole));
      const src = this.view(this.scratch, n);
      const out = this.out;
      const o = this.written;
      if (typeof src[0] === 'bigint') for (let i = 0; i < n; i++) out[o + i] = Number(src[i]);
      else for (let i = 0; i < n; i++) out[o + i] = src[i] as number;
    }
    this.written += n;
    this.pending = Buffer.from(bytes.subarray(whole));
  }

  finish(): Tensor {
    if (this.written < this.out.length) {
      const have = this.written * this.size + this.pending.length;
      throw new DataFileError(this.source, `truncated: shape (${this.shape.join(', ')}) of ${this.dtype} needs ${this.out.length * this.size} bytes of data but the file has ${have}`);
    }
    if (this.extra > 0) throw new DataFileError(this.source, `${this.extra} bytes after the data that shape (${this.shape.join(', ')}) describes: the file is damaged`);
    return { data: this.out, shape: this.shape };
  }
}
