/**
 * Initializers between lockstep's specs (`'glorot_uniform'`, `{ className, config }`) and Keras objects
 * (`{ class_name: 'GlorotUniform', config: { seed: null } }`).
 *
 * tfjs-layers writes Glorot, He and LeCun initializers as `VarianceScaling` with their parameters, so
 * reading maps those back to the short names; anything else keeps its class and options.
 */
import { own } from '../errors.js';
import type { InitializerSpec } from './layer-config.js';
import { type JsonObject, isObject, mapKeys, quote, toCamelCase, toPascalCase, toSnakeCase } from './json.js';

// Default Keras configs, written out in full so Keras and tfjs readers agree on them.
const DEFAULTS: Record<string, JsonObject> = {
  zeros: {},
  ones: {},
  constant: { value: 0 },
  glorot_uniform: { seed: null },
  glorot_normal: { seed: null },
  he_uniform: { seed: null },
  he_normal: { seed: null },
  lecun_uniform: { seed: null },
  lecun_normal: { seed: null },
  random_uniform: { minval: -0.05, maxval: 0.05, seed: null },
  random_normal: { mean: 0, stddev: 0.05, seed: null },
  truncated_normal: { mean: 0, stddev: 0.05, seed: null },
};

// tfjs-layers registers LeCun's initializers as `LeCunNormal`/`LeCunUniform` (Keras spells them `Lecun...`).
const TFJS_CLASS: Record<string, string> = { lecun_normal: 'LeCunNormal', lecun_uniform: 'LeCunUniform' };

// [scale, mode, distribution] → name; Keras and tfjs treat distribution 'normal' as the truncated normal.
const VARIANCE_SCALING: Array<[number, string, string[], string]> = [
  [1, 'fan_avg', ['uniform'], 'glorot_uniform'],
  [1, 'fan_avg', ['normal', 'truncated_normal'], 'glorot_normal'],
  [2, 'fan_in', ['uniform'], 'he_uniform'],
  [2, 'fan_in', ['normal', 'truncated_normal'], 'he_normal'],
  [1, 'fan_in', ['uniform'], 'lecun_uniform'],
  [1, 'fan_in', ['normal', 'truncated_normal'], 'lecun_normal'],
];

const snakeName = (name: string) => toSnakeCase(name).replace(/^le_cun_/, 'lecun_');

/** lockstep spec → Keras `{ class_name, config }` (config keys snake_case, defaults filled in). */
export function initializerToKeras(spec: InitializerSpec, where: string): JsonObject {
  const className = typeof spec === 'string' ? spec : spec?.className;
  if (typeof className !== 'string' || className === '') {
    throw new Error(`${where}: an initializer must be a name or { className, config }. Received: ${quote(spec)}`);
  }
  const name = snakeName(className);
  const given = typeof spec === 'string' || !isObject(spec.config) ? {} : mapKeys(spec.config, toSnakeCase);
  return {
    class_name: own(TFJS_CLASS, name) ?? toPascalCase(name),
    config: { ...(own(DEFAULTS, name) ?? {}), ...given },
  };
}

/** Keras initializer (object or legacy string) → lockstep spec: a short name when it has default options. */
export function initializerFromKeras(json: unknown, where: string): InitializerSpec {
  if (typeof json === 'string' && json !== '') return snakeName(json);
  if (!isObject(json) || typeof json.class_name !== 'string') {
    throw new Error(`${where}: expected an initializer { class_name, config }. Received: ${quote(json)}`);
  }
  const config = isObject(json.config) ? json.config : {};
  const known = json.class_name === 'VarianceScaling' ? varianceScalingName(config) : undefined;
  if (known) return known;
  const name = snakeName(json.class_name);
  const options = Object.fromEntries(Object.entries(config).filter(([k, v]) => !(k === 'seed' && v === null)));
  const { seed: _seed, ...defaults } = own(DEFAULTS, name) ?? {};
  if (Object.keys(options).length === 0 || sameEntries(options, defaults)) return name;
  return { className: toPascalCase(name), config: mapKeys(options, toCamelCase) };
}

function varianceScalingName(config: JsonObject): string | undefined {
  if (config.seed != null) return undefined;
  const mode = typeof config.mode === 'string' ? toSnakeCase(config.mode) : 'fan_in';
  const distribution = typeof config.distribution === 'string' ? toSnakeCase(config.distribution) : 'truncated_normal';
  const scale = config.scale ?? 1;
  return VARIANCE_SCALING.find(([s, m, d]) => s === scale && m === mode && d.includes(distribution))?.[3];
}

function sameEntries(a: JsonObject, b: JsonObject): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
