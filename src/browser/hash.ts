/**
 * SHA-256 of a model's weights in a browser (WebCrypto), the digest lockstep's determinism checks compare:
 * the float32 bytes of every weight, in Keras order, concatenated.
 */
import type { NamedWeight } from '../callbacks/callback.js';

export async function sha256Hex(arrays: ArrayBufferView[]): Promise<string> {
  const total = arrays.reduce((n, a) => n + a.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const a of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The hex SHA-256 of `model.getWeights()`'s data, in order: the same value Node's
 * `createHash('sha256')` gives over the same bytes.
 *
 * @example
 * const hash = await weightsHash(model); // '41d0…', equal for any worker count
 */
export async function weightsHash(model: { getWeights(): NamedWeight[] }): Promise<string> {
  return sha256Hex(model.getWeights().map((w) => w.data));
}
