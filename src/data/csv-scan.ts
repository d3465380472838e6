/**
 * A streaming CSV tokenizer over bytes (RFC 4180: quoted fields may hold commas, newlines and doubled
 * quotes). It reads the file in chunks and hands each field to a sink as a byte range of the chunk, so no
 * string, array or object is made per field or per row: the sink parses numbers straight from the bytes.
 * Only a record that straddles two chunks is copied (into the next chunk's front).
 *
 * Blank lines are skipped, as pandas does; `\r\n` and `\n` both end a record; a UTF-8 byte-order mark is
 * ignored. Lines are counted for error messages (1-based, the header is line 1).
 */
import { open } from 'node:fs/promises';
import { DataFileError } from './errors.js';

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

export interface FieldSink {
  /**
   * One field: bytes [start, end) of `buf` (inside the quotes for a quoted field, whose doubled quotes are
   * still doubled), `col` its 0-based index in the record, `line` the record's first line.
   */
  field(buf: Buffer, start: number, end: number, quoted: boolean, col: number, line: number): void;
  /** The record ended with `fields` fields. Return false to stop reading (e.g. a row limit was reached). */
  endRecord(fields: number, line: number): boolean;
}

export interface ScanResult {
  /** Bytes read (the whole file unless the sink stopped early). */
  bytes: number;
  /** The last line number seen. */
  lines: number;
}

/**
 * Reads `file` and feeds its records to `sink`; `chunkBytes` is the read size (a record may be longer), `delimiter`
 * the separator byte.
 */
export async function scanCsv(
  file: string,
  sink: FieldSink,
  chunkBytes = 1 << 22,
  delimiter = COMMA,
): Promise<ScanResult> {
  const fh = await open(file, 'r');
  try {
    let carry: Buffer | null = null;
    let line = 1;
    let bytes = 0;
    let first = true;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(chunkBytes, carry ? carry.length * 2 : 0));
      let filled = 0;
      if (carry) {
        carry.copy(chunk);
        filled = carry.length;
      }
      const { bytesRead } = await fh.read(chunk, filled, chunk.length - filled, null);
      bytes += bytesRead;
      const eof = bytesRead === 0;
      const buf = chunk.subarray(0, filled + bytesRead);
      let p = 0;
      if (first && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) p = 3;
      first = false;
      const r = scanRecords(buf, p, eof, line, sink, file, delimiter);
      line = r.line;
      if (r.stopped || eof) return { bytes, lines: line };
      carry = r.next < buf.length ? Buffer.from(buf.subarray(r.next)) : null;
    }
  } finally {
    await fh.close();
  }
}

/** Scans the complete records of `buf` from `p`; returns where the first incomplete one starts. */
function scanRecords(buf: Buffer, p: number, eof: boolean, line: number, sink: FieldSink, file: string, sep: number) {
  const n = buf.length;
  // Where the next quote is: records before it take the fast path (no quote handling at all).
  let nextQuote = buf.indexOf(QUOTE, p);
  if (nextQuote < 0) nextQuote = n;
  while (p < n) {
    let end = buf.indexOf(LF, p);
    if (end < 0) {
      if (!eof) break;
      end = n;
    }
    if (nextQuote >= end) {
      // No quote in this record: split on the separator.
      let stop = end;
      if (stop > p && buf[stop - 1] === CR) stop--;
      if (stop === p) {
        // A blank line.
        p = end + 1;
        line++;
        continue;
      }
      let col = 0;
      let s = p;
      for (let i = p; i < stop; i++) {
        if (buf[i] === sep) {
          sink.field(buf, s, i, false, col++, line);
          s = i + 1;
        }
      }
      sink.field(buf, s, stop, false, col++, line);
      const go = sink.endRecord(col, line);
      p = end + 1;
      line++;
      if (!go) return { next: p, line, stopped: true };
      continue;
    }
    // A record with quotes: walk it field by field; it may span lines.
    const r = quotedRecord(buf, p, eof, line, sink, file, sep);
    if (r === null) break;
    p = r.next;
    line = r.line;
    if (r.stopped) return { next: p, line, stopped: true };
    nextQuote = buf.indexOf(QUOTE, p);
    if (nextQuote < 0) nextQuote = n;
  }
  return { next: p, line, stopped: false };
}

/** One record that holds quotes, or null when it does not end inside `buf` (and more bytes are coming). */
function quotedRecord(buf: Buffer, p: number, eof: boolean, line: number, sink: FieldSink, file: string, sep: number) {
  const n = buf.length;
  // Find the record's end first (newlines inside quotes do not end it), so a record cut by the chunk's end
  // is left whole for the next chunk instead of half-delivered. A quote opens a quoted field only at the
  // field's start; elsewhere (`5" pipe`) it is an ordinary character, as in pandas.
  let inQuote = false;
  let atStart = true;
  let end = -1;
  let lines = 0;
  for (let i = p; i < n; i++) {
    const b = buf[i];
    if (inQuote) {
      if (b === QUOTE) {
        // A doubled quote is a literal one; the byte after may be in the next chunk.
        if (i + 1 === n && !eof) return null;
        if (buf[i + 1] === QUOTE) i++;
        else inQuote = false;
      } else if (b === LF) lines++;
    } else if (b === QUOTE && atStart) {
      inQuote = true;
      atStart = false;
    } else if (b === sep) atStart = true;
    else if (b === LF) {
      end = i;
      break;
    } else atStart = false;
  }
  if (end < 0) {
    if (!eof) return null;
    if (inQuote) throw new DataFileError(file, 'a quoted field is never closed (the file ends inside it)', line);
    end = n;
  }
  const stop = end > p && buf[end - 1] === CR ? end - 1 : end;
  let col = 0;
  let i = p;
  for (;;) {
    if (buf[i] === QUOTE && i < stop) {
      let j = i + 1;
      while (j < stop) {
        if (buf[j] === QUOTE) {
          if (buf[j + 1] === QUOTE) j += 2;
          else break;
        } else j++;
      }
      sink.field(buf, i + 1, j, true, col++, line);
      const after = j + 1;
      if (after < stop && buf[after] !== sep) {
        throw new DataFileError(
          file,
          `unexpected character ${JSON.stringify(String.fromCharCode(buf[after]))} after the closing quote of field ${col}`,
          line,
          col,
        );
      }
      if (after >= stop) break;
      i = after + 1;
    } else {
      let j = i;
      while (j < stop && buf[j] !== sep) j++;
      sink.field(buf, i, j, false, col++, line);
      if (j >= stop) break;
      i = j + 1;
    }
  }
  const go = sink.endRecord(col, line);
  return { next: end + 1, line: line + lines + 1, stopped: !go };
}
