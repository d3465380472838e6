/**
 * A training run's fingerprint: the versions and CPU architecture that decide its bits, and SHA-256 hashes
 * of its configuration and of its final weights. Two runs with equal fingerprints trained the same model to
 * the same bits; comparing a fingerprint saved on another machine tells whether lockstep reproduces there.
 *
 * ```ts
 * const fp = fingerprint({
 *   config: { layers: model.layerConfigs(), fit: { epochs: 2, seed: 13 } },
 *   weights: model.getWeights(),
 * });
 * // { lockstep: '0.1.0', tfjs: '4.22.0', node: 'v20.20.2', arch: 'x64',
 * //   configHash: '9f2c…', weightsHash: '41d0…', tensors: {...} }
 * ```
 */
import { createHash } from 'node:crypto';
import { version_core as tfjsVersion } from '@tensorflow/tfjs-core';
import { lockstepVersion } from '../io/version.js';

export interface Fingerprint {
  lockstep: string;
  tfjs: string;
  node: string;
  /** `process.arch`: x64, arm64... (float results may differ between architectures). */
  arch: string;
  platform: string;
  /** SHA-256 of the configuration's canonical JSON (keys sorted). */
  configHash: string;
  /** SHA-256 of the data, when given. */
  dataHash?: string;
  /** SHA-256 of every weight's float32 bytes, in order. */
  weightsHash: string;
  /** SHA-256 of each weight, by name: says which tensor differs. */
  tensors: Record<string, string>;
}

export interface FingerprintInput {
  /** Anything JSON can hold that defines the run: the model's layers, compile and fit options, seed... */
  config: unknown;
  weights: readonly { name: string; data: Float32Array }[];
  /** Arrays whose bytes define the data (x, y), hashed into `dataHash`. */
  data?: readonly ArrayBufferView[];
}

/** The fingerprint of a run; see the module comment. */
export function fingerprint({ config, weights, data }: FingerprintInput): Fingerprint {
  return {
    lockstep: lockstepVersion(),
    tfjs: tfjsVersion,
    node: process.version,
    arch: process.arch,
    platform: process.platform,
    configHash: sha256(canonicalJson(config)),
    ...(data ? { dataHash: sha256(...data) } : {}),
    weightsHash: sha256(...weights.map((w) => w.data)),
    tensors: Object.fromEntries(weights.map((w) => [w.name, sha256(w.data)])),
  };
}

/** SHA-256 (hex) of strings and the bytes of typed arrays, in order. */
export function sha256(...parts: (string | ArrayBufferView)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

/** JSON with object keys sorted at every level, so equal configs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : ArrayBuffer.isView(v)
        ? Array.from(v as unknown as ArrayLike<number>)
        : v,
  );
}

/**
 * What differs between two fingerprints, in the order that explains it best (versions first), or [] when
 * they agree on everything that decides the bits.
 */
export function compareFingerprints(a: Fingerprint, b: Fingerprint): string[] {
  const out: string[] = [];
  for (const k of ['lockstep', 'tfjs', 'node', 'arch', 'configHash', 'dataHash'] as const) {
    if (a[k] !== b[k]) out.push(`${k}: ${a[k] ?? '(none)'} here, ${b[k] ?? '(none)'} there`);
  }
  if (a.weightsHash !== b.weightsHash) {
    const names = Object.keys(a.tensors);
    const first = names.find((n) => a.tensors[n] !== b.tensors?.[n]);
    out.push(
      `weightsHash: ${a.weightsHash} here, ${b.weightsHash} there${first ? ` (first differing tensor: ${first})` : ''}`,
    );
  }
  return out;
}
