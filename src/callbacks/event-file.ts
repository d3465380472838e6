/**
 * TensorBoard's event files, written by hand: TFRecord framing (length, masked CRC-32C of the length, data,
 * masked CRC-32C of the data) around tensorflow.Event protobufs that carry scalar and histogram summaries.
 *
 * Only the fields TensorBoard reads are encoded (event.proto / summary.proto):
 *   Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; HistogramProto histo = 5; }
 *   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
 *                    repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** CRC-32C (Castagnoli), as TFRecord uses. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits, plus a constant. */
export const maskedCrc32c = (data: Uint8Array): number => {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

/** A tiny protobuf writer: just the wire types the event protos use. */
class Pb {
  private bytes: number[] = [];
  private varint(v: number | bigint): void {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (x > 0n);
  }
  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.bytes.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes.push(...b);
    return this;
  }
  int64(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }
  bytesField(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  packedDoubles(field: number, values: number[]): this {
    const b = new Uint8Array(8 * values.length);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat64(8 * i, v, true));
    return this.bytesField(field, b);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A histogram of `values` as TensorFlow's summary writes one: `buckets` equal-width buckets over [min, max]. */
export function histogram(values: ArrayLike<number>, buckets = 30): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    sumSq += v * v;
  }
  if (values.length === 0) min = max = 0;
  const n = max > min ? buckets : 1;
  const width = (max - min) / n;
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++)
    counts[n === 1 ? 0 : Math.min(n - 1, Math.floor((values[i] - min) / width))]++;
  const limits = counts.map((_, k) => (k === n - 1 ? max : min + (k + 1) * width));
  return new Pb()
    .double(1, min)
    .double(2, max)
    .double(3, values.length)
    .double(4, sum)
    .double(5, sumSq)
    .packedDoubles(6, limits)
    .packedDoubles(7, counts)
    .finish();
}

let fileCounter = 0;

/** One event file: `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2` in `dir`, opened on creation. */
export class EventFileWriter {
  readonly path: string;
  private fd: number | null;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(
      dir,
      `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}.${fileCounter++}.v2`,
    );
    this.fd = openSync(this.path, 'w');
    this.event(
      new Pb()
        .double(1, Date.now() / 1000)
        .string(3, 'brain.Event:2')
        .finish(),
    );
  }

  /** Scalars at `step`, one Value each. */
  scalars(step: number, values: Record<string, number>): void {
    const summary = new Pb();
    for (const [tag, v] of Object.entries(values)) summary.bytesField(1, new Pb().string(1, tag).float(2, v).finish());
    this.summary(step, summary.finish());
  }

  /** Histograms at `step`, one Value each. */
  histograms(step: number, values: Record<string, ArrayLike<number>>): void {
    const summary = new Pb();
    for (const [tag, v] of Object.entries(values))
      summary.bytesField(1, new Pb().string(1, tag).bytesField(5, histogram(v)).finish());
    this.summary(step, summary.finish());
  }

  private summary(step: number, summary: Uint8Array): void {
    this.event(
      new Pb()
        .double(1, Date.now() / 1000)
        .int64(2, step)
        .bytesField(5, summary)
        .finish(),
    );
  }

  private event(data: Uint8Array): void {
    if (this.fd === null) throw new Error(`TensorBoard: ${this.path} is closed`);
    const header = new Uint8Array(12);
    const view = new DataView(header.buffer);
    view.setBigUint64(0, BigInt(data.length), true);
    view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
    const footer = new Uint8Array(4);
    new DataView(footer.buffer).setUint32(0, maskedCrc32c(data), true);
    for (const part of [header, data, footer]) writeSync(this.fd, part);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
