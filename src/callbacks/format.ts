/**
 * Python's number formatting (`repr(float)`, `format(x, spec)`, `str.format`), so that callbacks print and
 * name files exactly as Keras does.
 *
 * JavaScript's `toFixed`/`toExponential` round ties away from zero and write exponents as `e-5`; Python
 * rounds the exact binary value half-to-even and writes `e-05`. Rounding here works on the exact decimal
 * expansion of the double (BigInt), so `format(0.125, '.2f')` is `0.12` as in Python.
 */

/** The exact value of a finite, non-negative double as `digits * 10^-scale`. */
function exactDecimal(x: number): { digits: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = biased === 0 ? -1074 : biased - 1075;
  if (exponent >= 0) return { digits: mantissa << BigInt(exponent), scale: 0 };
  // m * 2^-k = m * 5^k / 10^k
  return { digits: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
}

/** `digits / 10^drop`, rounded half to even. */
function roundDrop(digits: bigint, drop: number): bigint {
  if (drop <= 0) return digits * 10n ** BigInt(-drop);
  const unit = 10n ** BigInt(drop);
  const q = digits / unit;
  const r = digits % unit;
  const twice = 2n * r;
  if (twice > unit || (twice === unit && q % 2n === 1n)) return q + 1n;
  return q;
}

function withPoint(digitString: string, decimals: number): string {
  if (decimals === 0) return digitString;
  const padded = digitString.padStart(decimals + 1, '0');
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

/** |x| in fixed point with `precision` decimals (x finite). */
function fixedAbs(x: number, precision: number): string {
  const { digits, scale } = exactDecimal(Math.abs(x));
  return withPoint(roundDrop(digits, scale - precision).toString(), precision);
}

/** |x| as `precision + 1` significant digits and a decimal exponent (x finite). */
function scientificParts(x: number, precision: number): { mantissa: string; exponent: number } {
  const { digits, scale } = exactDecimal(Math.abs(x));
  if (digits === 0n) return { mantissa: '0'.repeat(precision + 1), exponent: 0 };
  const length = digits.toString().length;
  let exponent = length - 1 - scale;
  let q = roundDrop(digits, length - (precision + 1));
  let s = q.toString();
  if (s.length > precision + 1) {
    // Rounding carried into a new digit (9.99 -> 10.0): the extra digit is a zero.
    q /= 10n;
    s = q.toString();
    exponent += 1;
  }
  return { mantissa: s, exponent };
}

function exponentSuffix(exponent: number, upper: boolean): string {
  const sign = exponent < 0 ? '-' : '+';
  return `${upper ? 'E' : 'e'}${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function scientificAbs(x: number, precision: number, upper = false): string {
  const { mantissa, exponent } = scientificParts(x, precision);
  return withPoint(mantissa, precision) + exponentSuffix(exponent, upper);
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Python's `g` (and, with `noneType`, the float default with a precision) for |x|. */
function generalAbs(
  x: number,
  precision: number,
  opts: { alternate: boolean; upper: boolean; noneType: boolean },
): string {
  const p = precision === 0 ? 1 : precision;
  const { exponent } = scientificParts(x, p - 1);
  // CPython's format_float_short: the float default switches to scientific one digit earlier than 'g'.
  if (exponent < -4 || exponent >= (opts.noneType ? p - 1 : p)) {
    const { mantissa } = scientificParts(x, p - 1);
    let m = withPoint(mantissa, p - 1);
    if (!opts.alternate) m = stripZeros(m);
    return m + exponentSuffix(exponent, opts.upper);
  }
  let s = fixedAbs(x, Math.max(p - 1 - exponent, 0));
  if (!opts.alternate) s = stripZeros(s);
  else if (!s.includes('.')) s += '.';
  if (opts.noneType && !s.includes('.')) s += '.0';
  return s;
}

/** Python's `repr(float)`: the shortest round-tripping digits, scientific outside [1e-4, 1e16). */
export function pyRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exp);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const frac = digits.slice(exponent + 1);
    return `${sign}${intPart}.${frac === '' ? '0' : frac}`;
  }
  return `${sign}${withPoint(digits, digits.length - 1)}${exponentSuffix(exponent, false)}`;
}

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s;

/**
 * Python's `format(value, spec)` for a number. `isInt` says whether Python would hold the value as an int
 * (`{epoch:02d}` works on an int, not on a float; `{loss}` prints `1.0` for a float).
 */
export function pyFormat(value: number, spec: string, isInt = false): string {
  const m = SPEC.exec(spec);
  if (!m) throw new Error(`Invalid format specifier '${spec}'`);
  const [, fillChar, alignChar, signChar, zFlag, altFlag, zeroFlag, widthStr, grouping, precisionStr, typeChar] = m;
  const precision = precisionStr === undefined ? undefined : Number(precisionStr);
  let type = typeChar;
  if (type === 'n') type = isInt ? 'd' : 'g';
  if (type !== undefined && !'deEfFgG%'.includes(type)) {
    throw new Error(`Format code '${type}' is not supported for numbers (spec '${spec}')`);
  }
  if (type === 'd' && !isInt) throw new Error(`Unknown format code 'd' for object of type 'float' (spec '${spec}')`);
  if (isInt && type === undefined && precision !== undefined)
    throw new Error(`Precision not allowed in integer format specifier (spec '${spec}')`);

  const percent = type === '%';
  if (percent) value *= 100;
  let negative = value < 0 || (Object.is(value, -0) && !isInt);
  let body: string;
  if (Number.isNaN(value)) {
    body = 'nan';
    negative = false;
  } else if (!Number.isFinite(value)) {
    body = 'inf';
  } else if (isInt && (type === undefined || type === 'd')) {
    body = String(Math.abs(value));
  } else {
    const upper = type === 'E' || type === 'F' || type === 'G';
    switch (type) {
      case 'f':
      case 'F':
        body = fixedAbs(value, precision ?? 6);
        break;
      case 'e':
      case 'E':
        body = scientificAbs(value, precision ?? 6, upper);
        break;
      case 'g':
      case 'G':
        body = generalAbs(value, precision ?? 6, { alternate: altFlag !== undefined, upper, noneType: false });
        break;
      case '%':
        body = fixedAbs(value, precision ?? 6);
        break;
      default:
        body =
          precision === undefined
            ? pyRepr(Math.abs(value))
            : generalAbs(value, precision, { alternate: altFlag !== undefined, upper: false, noneType: true });
    }
    if (zFlag !== undefined && /^[0.]*$/.test(body.replace(/e.*$/i, ''))) negative = false;
  }
  if (grouping !== undefined) {
    const [intPart, rest] = splitInteger(body);
    body = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, grouping) + rest;
  }
  if (!Number.isFinite(value) && type !== undefined && type === type.toUpperCase() && !percent)
    body = body.toUpperCase();
  if (percent) body += '%';

  const sign = negative ? '-' : signChar === '+' ? '+' : signChar === ' ' ? ' ' : '';
  const width = widthStr === undefined ? 0 : Number(widthStr);
  let fill = fillChar ?? ' ';
  let align = alignChar ?? '>';
  if (zeroFlag !== undefined && alignChar === undefined) {
    fill = '0';
    align = '=';
  }
  const pad = Math.max(0, width - sign.length - body.length);
  switch (align) {
    case '<':
      return sign + body + fill.repeat(pad);
    case '^':
      return fill.repeat(Math.floor(pad / 2)) + sign + body + fill.repeat(pad - Math.floor(pad / 2));
    case '=':
      return sign + fill.repeat(pad) + body;
    default:
      return fill.repeat(pad) + sign + body;
  }
}

function splitInteger(body: string): [string, string] {
  const i = body.search(/[^0-9]/);
  return i < 0 ? [body, ''] : [body.slice(0, i), body.slice(i)];
}

/** A value for `pyTemplate`: a number, held by Python as an int or a float. */
export interface TemplateValue {
  value: number;
  isInt: boolean;
}

/**
 * Python's `template.format(**values)` for named fields: `{name}`, `{name:spec}`, `{{` and `}}`.
 * Throws `KeyError`-like errors naming the missing field.
 */
export function pyTemplate(template: string, values: Record<string, TemplateValue>): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      out += '{';
      i += 2;
    } else if (c === '}' && template[i + 1] === '}') {
      out += '}';
      i += 2;
    } else if (c === '{') {
      const close = template.indexOf('}', i);
      if (close < 0) throw new Error(`Single '{' encountered in format string`);
      const field = template.slice(i + 1, close);
      const colon = field.indexOf(':');
      const name = colon < 0 ? field : field.slice(0, colon);
      const spec = colon < 0 ? '' : field.slice(colon + 1);
      if (!Object.prototype.hasOwnProperty.call(values, name)) throw new Error(`KeyError: '${name}'`);
      const v = values[name];
      out += pyFormat(v.value, spec, v.isInt);
      i = close + 1;
    } else if (c === '}') {
      throw new Error(`Single '}' encountered in format string`);
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}
