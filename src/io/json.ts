/** Small helpers for reading untrusted JSON: type guards, key-case conversion, quoting received values. */

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `GlorotUniform` → `glorot_uniform`, `useBias` → `use_bias` (tfjs-layers' own rule). */
export function toSnakeCase(name: string): string {
  const s = name
    .replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
  return s.startsWith('_') ? s.slice(1) : s;
}

/** `use_bias` → `useBias`, `beta_1` → `beta1`. */
export function toCamelCase(name: string): string {
  return name.replace(/[_-](.)/g, (_, c: string) => c.toUpperCase());
}

/** `glorot_uniform` → `GlorotUniform`. */
export function toPascalCase(name: string): string {
  const camel = toCamelCase(name);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}

/** A copy of `obj` with every key converted (values untouched). */
export function mapKeys(obj: JsonObject, convert: (key: string) => string): JsonObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [convert(k), v]));
}

/** A short rendering of a received value for error messages. */
export function quote(v: unknown): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

export function isShape(v: unknown, { allowZero = true } = {}): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && (allowZero ? d >= 0 : d > 0));
}
