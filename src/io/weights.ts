/**
 * The weights manifest of a TensorFlow.js `model.json` and the little-endian bytes it describes.
 *
 * Layout (tfjs-core's `io.encodeWeights`): each manifest group lists weight specs and the files (`paths`)
 * whose concatenation holds the group's weights back to back, in spec order. Files split a group at any
 * byte (tfjs' `group1-shard1of2.bin`), so only a group's total size is checked. Optimizer state carries
 * `group: 'optimizer'` on its specs, as tfjs-layers' `save(..., { includeOptimizer: true })` writes it.
 */
import type { NamedWeight } from '../callbacks/callback.js';
import { isObject, isShape, quote } from './json.js';

/** One entry of a manifest group's `weights`. */
export type WeightSpec = { name: string; shape: number[]; dtype: 'float32' | 'int32'; group?: string };
export type WeightsManifest = Array<{ paths: string[]; weights: WeightSpec[] }>;

// tfjs writes its optimizers' step counter ('iter') as int32; it is read back as float32, exact below 2^24.
const DTYPES = ['float32', 'int32'];
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Checks a weight list before anything is written; `what` names the list in errors. */
export function checkWeights(weights: NamedWeight[], what: string, seen: Set<string>): void {
  if (!Array.isArray(weights))
    throw new Error(`${what} must be an array of { name, shape, data }. Received: ${quote(weights)}`);
  for (const w of weights) {
    if (!isObject(w) || typeof w.name !== 'string' || w.name === '') {
      throw new Error(
        `${what}: every weight needs a non-empty string name. Received: name=${quote(isObject(w) ? w.name : w)}`,
      );
    }
    const weight = `${what}: weight '${w.name}'`;
    if (!isShape(w.shape)) throw new Error(`${weight} has an invalid shape. Received: shape=${quote(w.shape)}`);
    if (!(w.data instanceof Float32Array)) {
      throw new Error(`${weight} must hold a Float32Array. Received: ${Object.prototype.toString.call(w.data)}`);
    }
    if (w.data.length !== size(w.shape))
      throw new Error(`${weight} has ${w.data.length} values but shape [${w.shape}] needs ${size(w.shape)}`);
    // tfjs-core decodes all groups into one name → tensor map, so a repeated name would lose a weight.
    if (seen.has(w.name)) throw new Error(`${what}: weight name '${w.name}' is used more than once`);
    seen.add(w.name);
  }
}

/** Specs and little-endian float32 bytes for a checked weight list. */
export function encodeWeights(weights: NamedWeight[], group?: string): { specs: WeightSpec[]; bytes: Uint8Array } {
  const specs = weights.map((w): WeightSpec => ({
    name: w.name,
    shape: [...w.shape],
    dtype: 'float32',
    ...(group ? { group } : {}),
  }));
  const bytes = new Uint8Array(4 * weights.reduce((n, w) => n + w.data.length, 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const { data } of weights) {
    if (LITTLE_ENDIAN) bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    else data.forEach((v, i) => view.setFloat32(offset + 4 * i, v, true));
    offset += data.byteLength;
  }
  return { specs, bytes };
}

/** Validates `weightsManifest` from a parsed model.json; `file` names it in errors. */
export function checkManifest(manifest: unknown, file: string): WeightsManifest {
  if (manifest === undefined || manifest === null) return [];
  if (!Array.isArray(manifest))
    throw new Error(`${file}: weightsManifest must be an array. Received: ${quote(manifest)}`);
  const seen = new Set<string>();
  return manifest.map((group, g) => {
    const where = `${file}: weightsManifest[${g}]`;
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new Error(`${where} must be { paths: [...], weights: [...] }. Received: ${quote(group)}`);
    }
    if (!group.paths.every((p) => typeof p === 'string' && p !== '')) {
      throw new Error(`${where}.paths must be file names. Received: ${quote(group.paths)}`);
    }
    if (group.paths.length === 0 && group.weights.length > 0)
      throw new Error(`${where} lists weights but no files (paths is empty)`);
    const weights = group.weights.map((spec): WeightSpec => {
      if (!isObject(spec) || typeof spec.name !== 'string')
        throw new Error(`${where}: a weight spec needs a name. Received: ${quote(spec)}`);
      const what = `${where}: weight '${spec.name}'`;
      if (!isShape(spec.shape)) throw new Error(`${what} has an invalid shape. Received: shape=${quote(spec.shape)}`);
      if (spec.quantization != null) {
        throw new Error(`${what} is quantized (${quote(spec.quantization)}); quantized weights are not supported`);
      }
      if (!DTYPES.includes(spec.dtype as string)) {
        throw new Error(`${what} has dtype ${quote(spec.dtype)}; supported dtypes: ${DTYPES.join(', ')}`);
      }
      if (seen.has(spec.name)) throw new Error(`${what} is listed more than once`);
      seen.add(spec.name);
      const dtype = spec.dtype as WeightSpec['dtype'];
      return {
        name: spec.name,
        shape: spec.shape,
        dtype,
        ...(typeof spec.group === 'string' ? { group: spec.group } : {}),
      };
    });
    return { paths: group.paths as string[], weights };
  });
}

/** Splits one group's concatenated file bytes into weights; `files` names the files in errors. */
export function decodeGroup(specs: WeightSpec[], bytes: Uint8Array, files: string): NamedWeight[] {
  const expected = 4 * specs.reduce((n, s) => n + size(s.shape), 0);
  if (bytes.length !== expected) {
    throw new Error(
      `${files}: expected ${expected} bytes for ${specs.length} weights (from model.json's weightsManifest), got ${bytes.length} bytes. ` +
        'The file is truncated or belongs to another model.json',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  return specs.map((spec) => {
    const n = size(spec.shape);
    const data = new Float32Array(n);
    // A copy, never a view: `bytes` may be a Buffer over a larger (or unaligned) pool.
    if (spec.dtype === 'float32' && LITTLE_ENDIAN)
      new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + 4 * n));
    else if (spec.dtype === 'int32') for (let i = 0; i < n; i++) data[i] = view.getInt32(offset + 4 * i, true);
    else for (let i = 0; i < n; i++) data[i] = view.getFloat32(offset + 4 * i, true);
    offset += data.byteLength;
    return { name: spec.name, shape: [...spec.shape], data };
  });
}
