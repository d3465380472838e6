/** Error helpers: every message names the offending thing and lists what would have been valid. */

/**
 * `table[key]` for the table's own keys only, so that 'constructor', '__proto__', 'toString' or
 * 'hasOwnProperty' are unknown names like any other rather than something inherited from Object.prototype.
 */
export function own<T>(table: Readonly<Record<string, T>>, key: unknown): T | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** An unknown name (loss, metric, optimizer, activation...), listing the valid ones. */
export function unknownName(kind: string, received: unknown, valid: readonly string[], where?: string): Error {
  const plural = kind.endsWith('s') ? `${kind}es` : `${kind}s`;
  return new Error(
    `${where ? `${where}: ` : ''}Unknown ${kind}: ${JSON.stringify(received)}. Valid ${plural}: ${valid.join(', ')}`,
  );
}

/** An invalid option: `${owner}: ${option} must be ${rule}. Received: ${option}=${value}`. */
export function badOption(owner: string, option: string, rule: string, value: unknown): Error {
  return new RangeError(`${owner}: ${option} must be ${rule}. Received: ${option}=${formatValue(value)}`);
}

/**
 * A received value as the user would write it: JSON-like, but NaN, Infinity, undefined, functions and bigints
 * as themselves (JSON.stringify would print null, or nothing). Nesting is cut after 3 levels, arrays after
 * 20 items.
 */
export function formatValue(value: unknown, depth = 0): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === undefined)
    return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null) return 'null';
  if (depth >= 3) return Array.isArray(value) ? '[...]' : '{...}';
  if (Array.isArray(value))
    return `[${value
      .slice(0, 20)
      .map((v) => formatValue(v, depth + 1))
      .join(',')}${value.length > 20 ? ',...' : ''}]`;
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length ?? value.byteLength})`;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return `[object ${proto?.constructor?.name ?? 'Object'}]`;
  return `{${Object.entries(value as object)
    .map(([k, v]) => `${JSON.stringify(k)}:${formatValue(v, depth + 1)}`)
    .join(',')}}`;
}

export function checkPositiveInt(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw badOption(owner, option, 'a positive integer', value);
  return value;
}

export function checkNonNegativeInt(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw badOption(owner, option, 'a non-negative integer', value);
  return value;
}

export function checkFraction(owner: string, option: string, value: unknown, { closedRight = false } = {}): number {
  const ok = typeof value === 'number' && value >= 0 && (closedRight ? value <= 1 : value < 1);
  if (!ok) throw badOption(owner, option, closedRight ? 'in [0, 1]' : 'in [0, 1)', value);
  return value as number;
}

export function checkPositiveNumber(owner: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw badOption(owner, option, 'a positive finite number', value);
  return value;
}

const LAYER_VALUE_RULES = {
  /** a name looked up later (activation...): a string, or null / undefined for the default */
  name: (v: unknown) => v == null || typeof v === 'string',
  /** a shape: a non-empty array of positive integers */
  shape: (v: unknown) =>
    v === undefined || (Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && d > 0)),
};
const LAYER_VALUE_TEXT = { name: 'a name such as "relu"', shape: 'a non-empty array of positive integers, e.g. [784]' };

/**
 * A layer constructor's options: known keys only, a non-empty string `name` if any, and the type of each
 * option listed in `types`; the constructor checks ranges and names.
 */
export function checkLayerOptions(
  owner: string,
  options: unknown,
  known: readonly string[],
  types: Record<string, keyof typeof LAYER_VALUE_RULES> = {},
): void {
  checkOptionKeys(owner, options, known);
  const o = (options ?? {}) as Record<string, unknown>;
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === ''))
    throw badOption(owner, 'name', 'a non-empty string', o.name);
  for (const [key, rule] of Object.entries(types))
    if (!LAYER_VALUE_RULES[rule](o[key])) throw badOption(owner, key, LAYER_VALUE_TEXT[rule], o[key]);
}

/** Edit distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The known name closest to `name` (case-insensitive, snake_case and camelCase alike), if any is close. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, '');
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(norm(name), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Keras's strictness about options: an options object must be a plain object whose keys are all `known`.
 * `Unrecognized option 'activaton' for Dense; did you mean 'activation'?`
 */
export function checkOptionKeys(owner: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object. Received: ${formatValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    // Options starting with '__' are test hooks: accepted, but never offered to a user.
    const open = known.filter((k) => !k.startsWith('__'));
    const near = closestName(key, open);
    const valid = open.length ? `Valid options: ${open.join(', ')}` : `${owner} takes no options`;
    throw new TypeError(
      `Unrecognized option '${key}' for ${owner}${near ? `; did you mean '${near}'?` : '.'} ${valid}`,
    );
  }
}
