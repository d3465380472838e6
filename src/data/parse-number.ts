/**
 * Decimal numbers read straight from bytes, with the value `Number(text)` would give, without making a
 * string. Fast path (Clinger's): up to 15 significant digits and a power of ten up to 22 are both exact
 * doubles, so one multiply or divide rounds correctly. Anything else (more digits, big exponents, spaces
 * around the number) goes through `Number` on the field's text, which a strict pattern checks first so
 * that `0x10` or `1_000` are not numbers, as in pandas (which reads `inf` and `Infinity` as infinities, as
 * this does too).
 */

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
/**
 * pandas reads these as infinities; they are numbers here too, so a column holding one stays numeric (and the reader
 * refuses the value).
 */
const INFINITY = /^\s*([+-]?)inf(inity)?\s*$/i;

/** The number in bytes [start, end) of `buf`, or NaN when they do not hold one. */
export function parseNumber(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let neg = false;
  if (i < end && (buf[i] === 45 || buf[i] === 43)) {
    neg = buf[i] === 45;
    i++;
  }
  let mant = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  while (i < end) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) break;
    if (mant !== 0 || d !== 0) digits++;
    mant = mant * 10 + d;
    any = true;
    i++;
  }
  if (i < end && buf[i] === 46) {
    i++;
    while (i < end) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      if (mant !== 0 || d !== 0) digits++;
      mant = mant * 10 + d;
      scale--;
      any = true;
      i++;
    }
  }
  if (any && i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    let eneg = false;
    if (i < end && (buf[i] === 45 || buf[i] === 43)) {
      eneg = buf[i] === 45;
      i++;
    }
    let e = 0;
    let edigits = 0;
    while (i < end && edigits < 6) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      e = e * 10 + d;
      edigits++;
      i++;
    }
    if (edigits === 0 || edigits === 6) return slow(buf, start, end);
    scale += eneg ? -e : e;
  }
  if (!any || i !== end || digits > 15 || scale > 22 || scale < -22) return slow(buf, start, end);
  const v = scale < 0 ? mant / POW10[-scale] : mant * POW10[scale];
  return neg ? -v : v;
}

function slow(buf: Uint8Array, start: number, end: number): number {
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
  if (NUMBER.test(text)) return Number(text);
  const inf = INFINITY.exec(text);
  return inf ? (inf[1] === '-' ? -Infinity : Infinity) : NaN;
}
