/**
 * Counter-based random numbers (Threefry-2x32, 20 rounds, as in JAX and Random123).
 *
 * A key is a pair of uint32 words. Every random number is a pure function of a key and a counter, so
 * a value never depends on evaluation order or on which worker asked for it. Derive keys with
 * `foldIn(key, data)` for each purpose, epoch, layer and sample instead of advancing shared state.
 *
 * ```ts
 * const k = foldIn(foldIn(seedKey(13), Purpose.Dropout), epoch);
 * const u = uniform(k, 7); // the 8th uniform of that stream, always the same
 * ```
 */
// Engine-independent exp/log (Math.exp's bits differ between Node and browsers).
import { exp, log } from './ops/libm.js';

export type Key = readonly [number, number];

/** Purposes keep the streams for init, shuffling and dropout apart even for the same seed. */
export const Purpose = {
  Init: 1,
  Shuffle: 2,
  Dropout: 3,
  Split: 4,
  Seed: 5,
} as const;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

// Rotation constants from the Threefry paper; groups of four rounds alternate between the two sets.
const ROT = [13, 15, 26, 6, 17, 29, 16, 24];

/** One Threefry-2x32-20 block: encrypts the counter (x0, x1) under the key (k0, k1). */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  threefryInto(k0, k1, x0, x1, PAIR, 0);
  return [PAIR[0], PAIR[1]];
}
const PAIR = new Uint32Array(2);

/**
 * `threefry2x32` writing its two words into out[at], out[at + 1]: no allocation, for the per-row keys a
 * training step derives (two Dropout layers x 64 rows per step on MNIST).
 */
function threefryInto(k0: number, k1: number, x0: number, x1: number, out: Uint32Array | Int32Array, at: number): void {
  k0 >>>= 0;
  k1 >>>= 0;
  const k2 = (k0 ^ k1 ^ 0x1bd11bda) >>> 0;
  let a = (x0 + k0) >>> 0;
  let b = (x1 + k1) >>> 0;
  for (let group = 0; group < 5; group++) {
    const rot = (group % 2) * 4;
    for (let j = 0; j < 4; j++) {
      a = (a + b) >>> 0;
      b = rotl(b, ROT[rot + j]) ^ a;
    }
    // Key injection after every group of four rounds: ks = [k0, k1, k2].
    const inject = group % 3;
    a = (a + (inject === 0 ? k1 : inject === 1 ? k2 : k0)) >>> 0;
    b = (b + (inject === 0 ? k2 : inject === 1 ? k0 : k1) + group + 1) >>> 0;
  }
  out[at] = a;
  out[at + 1] = b >>> 0;
}

/** The root key for an integer seed (0 <= seed < 2^53), laid out like JAX's PRNGKey. */
export function seedKey(seed: number): Key {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer. Received: seed=${seed}`);
  }
  return [Math.floor(seed / 2 ** 32) >>> 0, seed >>> 0];
}

/** A new key that mixes `data` (a uint32) into `key`: one key per epoch, layer, sample... */
export function foldIn(key: Key, data: number): Key {
  return threefry2x32(key[0], key[1], 0, data >>> 0);
}

/** `foldIn(key, data)` written into out[at], out[at + 1] (no allocation). */
export function foldInto(key: Key, data: number, out: Uint32Array | Int32Array, at: number): void {
  threefryInto(key[0], key[1], 0, data >>> 0, out, at);
}

/** Folds several values in, left to right: `keyFor(k, a, b)` is `foldIn(foldIn(k, a), b)`. */
export function keyFor(key: Key, ...data: number[]): Key {
  let k = key;
  for (const d of data) k = foldIn(k, d);
  return k;
}

// The stream counter sits in the high word next to a tag, so random bits never equal a foldIn result.
const STREAM_TAG = 0x52414e44; // "RAND"

/** The i-th uint32 of the stream of `key`. */
export function bits(key: Key, i: number): number {
  const block = threefry2x32(key[0], key[1], STREAM_TAG ^ Math.floor(i / 2 ** 33), Math.floor(i / 2) >>> 0);
  return block[i & 1];
}

/** The i-th float in [0, 1) of the stream of `key`, with 24 random bits (exact in float32). */
export function uniform(key: Key, i: number): number {
  return (bits(key, i) >>> 8) / 16777216;
}

/** Fills `out` with uniforms [0,1) from positions 0..n-1 of the stream (two per Threefry block). */
export function fillUniform(key: Key, out: Float32Array | Float64Array): void {
  const [k0, k1] = key;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const [a, b] = threefry2x32(k0, k1, STREAM_TAG, i / 2);
    out[i] = (a >>> 8) / 16777216;
    if (i + 1 < n) out[i + 1] = (b >>> 8) / 16777216;
  }
}

/**
 * Writes an inverted-dropout mask: out[offset + j] = u_j >= rate ? 1 / (1 - rate) : 0, j < n, where u_j is the
 * j-th uniform of the stream of `key`. Inlined Threefry, since masks are the hottest use of the generator.
 */
export function fillDropoutMask(key: Key, out: Float32Array, offset: number, n: number, rate: number): void {
  const scale = 1 / (1 - rate);
  // Compare in 24-bit integers: u >= rate  <=>  (bits >>> 8) >= rate * 2^24.
  const threshold = Math.ceil(rate * 16777216);
  const k0 = key[0] >>> 0;
  const k1 = key[1] >>> 0;
  const k2 = (k0 ^ k1 ^ 0x1bd11bda) >>> 0;
  for (let i = 0; i < n; i += 2) {
    // Threefry-2x32-20 unrolled (same as threefry2x32 with counter [STREAM_TAG, i/2]), allocation-free.
    let a = (STREAM_TAG + k0) | 0;
    let b = ((i >>> 1) + k1) | 0;
    a = (a + b) | 0;
    b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0;
    b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0;
    b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0;
    b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + k1) | 0;
    b = (b + k2 + 1) | 0;
    a = (a + b) | 0;
    b = ((b << 17) | (b >>> 15)) ^ a;
    a = (a + b) | 0;
    b = ((b << 29) | (b >>> 3)) ^ a;
    a = (a + b) | 0;
    b = ((b << 16) | (b >>> 16)) ^ a;
    a = (a + b) | 0;
    b = ((b << 24) | (b >>> 8)) ^ a;
    a = (a + k2) | 0;
    b = (b + k0 + 2) | 0;
    a = (a + b) | 0;
    b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0;
    b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0;
    b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0;
    b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + k0) | 0;
    b = (b + k1 + 3) | 0;
    a = (a + b) | 0;
    b = ((b << 17) | (b >>> 15)) ^ a;
    a = (a + b) | 0;
    b = ((b << 29) | (b >>> 3)) ^ a;
    a = (a + b) | 0;
    b = ((b << 16) | (b >>> 16)) ^ a;
    a = (a + b) | 0;
    b = ((b << 24) | (b >>> 8)) ^ a;
    a = (a + k1) | 0;
    b = (b + k2 + 4) | 0;
    a = (a + b) | 0;
    b = ((b << 13) | (b >>> 19)) ^ a;
    a = (a + b) | 0;
    b = ((b << 15) | (b >>> 17)) ^ a;
    a = (a + b) | 0;
    b = ((b << 26) | (b >>> 6)) ^ a;
    a = (a + b) | 0;
    b = ((b << 6) | (b >>> 26)) ^ a;
    a = (a + k2) | 0;
    b = (b + k0 + 5) | 0;
    out[offset + i] = a >>> 8 >= threshold ? scale : 0;
    if (i + 1 < n) out[offset + i + 1] = b >>> 8 >= threshold ? scale : 0;
  }
}

/** A uniform integer in [0, n) from the i-th uint32 of the stream (multiply-shift, n < 2^32). */
function randInt(key: Key, i: number, n: number): number {
  return Math.floor((bits(key, i) * n) / 4294967296);
}

/** A permutation of 0..n-1 (Fisher-Yates driven by the stream of `key`). */
export function permutation(key: Key, n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(key, i, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Inverse error function (Giles 2010, single-precision polynomial, refined by one Newton step). */
export function erfinv(x: number): number {
  if (x <= -1) return -Infinity;
  if (x >= 1) return Infinity;
  let w = -log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    for (const c of [
      3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
      1.50140941,
    ])
      p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [
      0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406,
      2.83297682,
    ])
      p = c + p * w;
  }
  let y = p * x;
  // One Newton step on erf(y) = x brings the float32 polynomial to near double precision.
  const err = erf(y) - x;
  y -= err / ((2 / Math.sqrt(Math.PI)) * exp(-y * y));
  return y;
}

/** erf with ~1e-13 accuracy (series for small |x|, continued fraction complement otherwise). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series: converges quickly for |x| < 2.5.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Lentz continued fraction for erfc.
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** The i-th standard normal of the stream, truncated to [-2, 2] like Keras's truncated_normal. */
export function truncatedNormal(key: Key, i: number): number {
  // Inverse-CDF sampling keeps one uniform per value, so the value depends only on (key, i).
  const lo = erf(-2 / Math.SQRT2);
  const hi = erf(2 / Math.SQRT2);
  const u = lo + (hi - lo) * ((bits(key, i) + 0.5) / 4294967296);
  return Math.SQRT2 * erfinv(u);
}

/** The i-th standard normal (inverse CDF of a 32-bit uniform). */
export function normal(key: Key, i: number): number {
  const u = 2 * ((bits(key, i) + 0.5) / 4294967296) - 1;
  return Math.SQRT2 * erfinv(u);
}
