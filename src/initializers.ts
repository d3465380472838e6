/**
 * Weight initializers with Keras's names and defaults, driven by the counter-based RNG.
 *
 * Element i of a weight is a pure function of (key, i), so an initial weight never depends on the order in
 * which layers are built or on which thread builds them.
 */
import { type Key, truncatedNormal, normal, uniform } from './rng.js';
import { own, unknownName } from './errors.js';

export type InitializerConfig = string | { className: string; config?: Record<string, unknown> };

type Fill = (key: Key, out: Float32Array, fanIn: number, fanOut: number, config: Record<string, unknown>) => void;

// Keras divides the truncated normal's stddev by this, the stddev of a unit normal truncated to [-2, 2].
const TRUNC_STD = 0.8796256610342398;

const uniformFill = (limit: number, key: Key, out: Float32Array) => {
  for (let i = 0; i < out.length; i++) out[i] = (2 * uniform(key, i) - 1) * limit;
};
const truncFill = (std: number, key: Key, out: Float32Array) => {
  for (let i = 0; i < out.length; i++) out[i] = (truncatedNormal(key, i) * std) / TRUNC_STD;
};

const INITIALIZERS: Record<string, Fill> = {
  zeros: (_k, out) => out.fill(0),
  ones: (_k, out) => out.fill(1),
  constant: (_k, out, _i, _o, c) => out.fill(Number(c.value ?? 0)),
  glorot_uniform: (k, out, fi, fo) => uniformFill(Math.sqrt(6 / (fi + fo)), k, out),
  glorot_normal: (k, out, fi, fo) => truncFill(Math.sqrt(2 / (fi + fo)), k, out),
  he_uniform: (k, out, fi) => uniformFill(Math.sqrt(6 / fi), k, out),
  he_normal: (k, out, fi) => truncFill(Math.sqrt(2 / fi), k, out),
  lecun_uniform: (k, out, fi) => uniformFill(Math.sqrt(3 / fi), k, out),
  lecun_normal: (k, out, fi) => truncFill(Math.sqrt(1 / fi), k, out),
  random_uniform: (k, out, _i, _o, c) => {
    const lo = Number(c.minval ?? -0.05);
    const hi = Number(c.maxval ?? 0.05);
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * uniform(k, i);
  },
  random_normal: (k, out, _i, _o, c) => {
    const mean = Number(c.mean ?? 0);
    const std = Number(c.stddev ?? 0.05);
    for (let i = 0; i < out.length; i++) out[i] = mean + std * normal(k, i);
  },
};

const INITIALIZER_NAMES = Object.keys(INITIALIZERS);

/** Keras class names (GlorotUniform) and snake_case names (glorot_uniform) both work. */
function canonical(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

export function checkInitializer(init: InitializerConfig, what: string): void {
  const name = typeof init === 'string' ? init : init?.className;
  if (typeof name !== 'string' || !own(INITIALIZERS, canonical(name))) {
    throw unknownName('initializer', name ?? init, INITIALIZER_NAMES, what);
  }
}

/** Fills a new Float32Array of `size` values for a weight with the given fans. */
export function initialize(
  init: InitializerConfig,
  key: Key,
  size: number,
  fanIn: number,
  fanOut: number,
): Float32Array {
  const name = canonical(typeof init === 'string' ? init : init.className);
  const config = typeof init === 'string' ? {} : (init.config ?? {});
  const out = new Float32Array(size);
  const fill = own(INITIALIZERS, name);
  if (!fill) throw unknownName('initializer', name, INITIALIZER_NAMES);
  fill(key, out, fanIn, fanOut, config);
  return out;
}
