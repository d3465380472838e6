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
import { stat } from 'node:fs/promises';
import { DataFileError, sharedFloats, type Tensor } from './errors.js';
import { own } from '../errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** NumPy itself refuses longer headers (np.load's max_header_size), which only a hostile file has. */
const MAX_HEADER_BYTES = 10000;

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
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw new DataFileError(
      file,
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message,
    );
  }
  const stream = createReadStream(file, { highWaterMark: 1 << 22 });
  try {
    return await readNpy(stream, file, size);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DataFileError(file, 'no such file');
    throw err;
  } finally {
    stream.destroy();
  }
}

/**
 * Parses an .npy byte stream; `source` names it in errors (`mnist.npz:x_train.npy`). With `byteSize` (the
 * file's size, or a zip entry's declared one) the header's shape must match it before anything is allocated.
 */
export async function readNpy(chunks: AsyncIterable<Buffer>, source: string, byteSize?: number): Promise<Tensor> {
  return (await readNpyStream(chunks, source, byteSize, false)) as Tensor;
}

/** The shape an .npy stream declares, checked against `byteSize`, reading only its header. */
export async function readNpyShape(chunks: AsyncIterable<Buffer>, source: string, byteSize: number): Promise<number[]> {
  return (await readNpyStream(chunks, source, byteSize, true)) as number[];
}

async function readNpyStream(
  chunks: AsyncIterable<Buffer>,
  source: string,
  byteSize: number | undefined,
  headerOnly: boolean,
): Promise<Tensor | number[]> {
  const head: Buffer[] = [];
  let headBytes = 0;
  let need = 12;
  let reader: ElementReader | null = null;
  for await (const chunk of chunks) {
    if (reader) {
      reader.push(chunk);
      continue;
    }
    // Chunks are joined only once enough bytes for the next step have come, so a header is joined a few times at most.
    head.push(chunk);
    headBytes += chunk.length;
    if (headBytes < need) continue;
    const b = head.length === 1 ? head[0] : Buffer.concat(head);
    head.length = 0;
    head.push(b);
    const parsed = parseHeader(b, source);
    if (typeof parsed === 'number') {
      need = parsed;
      continue;
    }
    if (headerOnly) return checkSize(parsed, source, byteSize);
    reader = startReader(parsed, source, byteSize);
    reader.push(b.subarray(parsed.dataStart));
  }
  if (!reader) {
    const h = parseHeader(Buffer.concat(head), source, true) as Header;
    if (headerOnly) return checkSize(h, source, byteSize);
    reader = startReader(h, source, byteSize);
  }
  return reader.finish();
}

/** The header's shape against the bytes there are (when known); returns the shape. */
function checkSize(h: Header, source: string, byteSize: number | undefined): number[] {
  const dataBytes = h.shape.reduce((a, d) => a * d, 1) * DTYPES[h.dtype].size;
  if (byteSize !== undefined && h.dataStart + dataBytes !== byteSize) {
    const shape = `shape (${h.shape.join(', ')}) of ${h.dtype}`;
    const have = Math.max(0, byteSize - h.dataStart);
    throw new DataFileError(
      source,
      have < dataBytes
        ? `truncated: ${shape} needs ${dataBytes} bytes of data but the file has ${have}`
        : `${have - dataBytes} bytes after the data that ${shape} describes: the file is damaged`,
    );
  }
  return h.shape;
}

/** The header's shape against the bytes there are, then the output buffer. */
function startReader(h: Header, source: string, byteSize: number | undefined): ElementReader {
  checkSize(h, source, byteSize);
  const n = h.shape.reduce((a, d) => a * d, 1);
  const shape = `shape (${h.shape.join(', ')}) of ${h.dtype}`;
  try {
    return new ElementReader(h.dtype, h.shape, source);
  } catch (err) {
    if (err instanceof RangeError)
      throw new DataFileError(
        source,
        `${shape} needs ${n * 4} bytes as float32, more than this process can allocate (${err.message})`,
      );
    throw err;
  }
}
interface Header {
  dtype: string;
  shape: number[];
  dataStart: number;
}

/** The header, or how many bytes it needs when more must come first (an error at the end of the stream: `final`). */
function parseHeader(b: Buffer, source: string, final = false): Header | number {
  const fail = (why: string) => new DataFileError(source, why);
  if (b.length === 0 && final) throw fail('empty file: not an .npy file');
  for (let i = 0; i < Math.min(b.length, MAGIC.length); i++) {
    if (b[i] !== MAGIC[i]) throw fail('not an .npy file (it does not start with \\x93NUMPY)');
  }
  if (b.length < 10) {
    if (final) throw fail(`truncated: ${b.length} bytes, shorter than an .npy header`);
    return 12;
  }
  const major = b[6];
  if (major < 1 || major > 3) throw fail(`unsupported .npy format version ${major}.${b[7]} (1, 2 and 3 are read)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes)
    return final
      ? (() => {
          throw fail('truncated inside the header');
        })()
      : 8 + lenBytes;
  const len = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  if (len > MAX_HEADER_BYTES)
    throw fail(
      `the header claims ${len} bytes; an .npy header is at most ${MAX_HEADER_BYTES} (NumPy refuses longer ones too)`,
    );
  const dataStart = 8 + lenBytes + len;
  if (b.length < dataStart) {
    if (final) throw fail(`truncated inside the header (${b.length} of ${dataStart} bytes)`);
    return dataStart;
  }
  const text = b.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, dataStart);
  const descr = /'descr'\s*:\s*(['"])(.*?)\1/.exec(text)?.[2];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined) {
    if (/'descr'\s*:\s*\[/.test(text))
      throw fail('structured arrays (several named fields) are not supported: save each field as its own array');
    throw fail(`the header has no 'descr' (dtype): ${JSON.stringify(text.trim())}`);
  }
  if (fortran === undefined) throw fail(`the header has no 'fortran_order': ${JSON.stringify(text.trim())}`);
  if (shapeText === undefined) throw fail(`the header has no 'shape': ${JSON.stringify(text.trim())}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) {
    throw fail('Fortran-order arrays are not supported: save np.ascontiguousarray(a) instead');
  }
  return { dtype: checkDtype(descr, fail), shape, dataStart };
}

function checkDtype(descr: string, fail: (why: string) => Error): string {
  const order = descr[0];
  const code = descr.slice(1);
  if (code === 'O' || descr === 'O')
    throw fail(`object arrays (dtype ${descr}) cannot be read: convert with a.astype('float32')`);
  if (order === '>' && !code.endsWith('1'))
    throw fail(`big-endian data (dtype ${descr}) is not supported: save a.astype('<${code}') instead`);
  if (!own(DTYPES, code) || (!'<|='.includes(order) && order !== '>')) {
    throw fail(
      `dtype ${descr} is not supported (float32, float64, bool and integer arrays are): convert with a.astype('float32')`,
    );
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
      throw new DataFileError(
        this.source,
        `truncated: shape (${this.shape.join(', ')}) of ${this.dtype} needs ${this.out.length * this.size} bytes of data but the file has ${have}`,
      );
    }
    if (this.extra > 0)
      throw new DataFileError(
        this.source,
        `${this.extra} bytes after the data that shape (${this.shape.join(', ')}) describes: the file is damaged`,
      );
    return { data: this.out, shape: this.shape };
  }
}
