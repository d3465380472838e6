/**
 * The bytes of a TensorFlow.js layers model, apart from where they are stored: `model.json` (topology and
 * weights manifest) and the weights' binary. A directory on disk (artifacts.ts) and a browser's IndexedDB,
 * downloads or URLs (browser/artifacts.ts) share these checks, so a file is validated whole the same way
 * wherever it comes from.
 */
import type { NamedWeight } from '../callbacks/callback.js';
import { type JsonObject, isObject, quote } from './json.js';
import { lockstepVersion } from './version.js';
import { type WeightsManifest, checkManifest, checkWeights, decodeGroup, encodeWeights } from './weights.js';

/**
 * Keras' `training_config`, read by tfjs-layers' `loadLayersModel` to compile the model:
 * `{ loss: 'mean_squared_error', metrics: ['mae'],
 *   optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001, ... } } }`.
 * tfjs-layers 4.22 compiles it on load, so it must use names tfjs knows: the long loss name but the short metric
 * names ('mae', 'mse', 'accuracy'), and an optimizer tfjs has (Adam, SGD, RMSProp, Adagrad, Adadelta, Adamax,
 * Momentum).
 */
export type TrainingConfig = JsonObject;

export interface SaveArtifactsInput {
  /** `toModelTopology(...)`'s result, or any Keras topology object. */
  modelTopology: JsonObject;
  weights: NamedWeight[];
  trainingConfig?: TrainingConfig;
  /** Optimizer state, stored after the weights with `group: 'optimizer'` so a resumed fit is exact. */
  optimizerWeights?: NamedWeight[];
}

export interface LoadedArtifacts {
  modelTopology: JsonObject;
  weights: NamedWeight[];
  /** Empty when the file has none. */
  optimizerWeights: NamedWeight[];
  trainingConfig?: TrainingConfig;
  /** Who wrote the file, e.g. 'lockstep 0.1.0' or 'TensorFlow.js tfjs-layers v4.22.0'. */
  generatedBy?: string;
}

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Checks `input` whole, then encodes it: model.json's bytes and weights.bin's (as parts, in order). */
export function encodeModelFiles(
  input: SaveArtifactsInput,
  what: string,
): { modelJson: Uint8Array; weightsBin: Uint8Array[] } {
  if (!isObject(input) || !isObject(input.modelTopology)) {
    throw new Error(`${what}: modelTopology must be an object. Received: ${quote(input?.modelTopology)}`);
  }
  const names = new Set<string>();
  checkWeights(input.weights, `${what}: weights`, names);
  checkWeights(input.optimizerWeights ?? [], `${what}: optimizerWeights`, names);
  if (input.trainingConfig !== undefined && !isObject(input.trainingConfig)) {
    throw new Error(`${what}: trainingConfig must be an object. Received: ${quote(input.trainingConfig)}`);
  }
  const model = encodeWeights(input.weights);
  const optimizer = encodeWeights(input.optimizerWeights ?? [], 'optimizer');
  const modelJson = {
    modelTopology: input.modelTopology,
    format: 'layers-model',
    generatedBy: `lockstep ${lockstepVersion()}`,
    convertedBy: null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: [...model.specs, ...optimizer.specs] }],
    ...(input.trainingConfig ? { trainingConfig: input.trainingConfig } : {}),
  };
  return { modelJson: new TextEncoder().encode(JSON.stringify(modelJson)), weightsBin: [model.bytes, optimizer.bytes] };
}

/** model.json's bytes parsed and checked as a layers-model object; `file` names it in errors. */
export function parseModelJson(bytes: Uint8Array, file: string): JsonObject {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(json)) throw new Error(`${file} must hold a JSON object. Received: ${quote(json)}`);
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new Error(
      `${file} has format ${quote(json.format)}; only 'layers-model' files (Keras-style models) can be loaded`,
    );
  }
  if (!isObject(json.modelTopology))
    throw new Error(`${file} has no modelTopology object. Received: modelTopology=${quote(json.modelTopology)}`);
  if (json.trainingConfig != null && !isObject(json.trainingConfig)) {
    throw new Error(`${file}: trainingConfig must be an object. Received: ${quote(json.trainingConfig)}`);
  }
  return json;
}

/** A weights file named in the manifest: its bytes, and a name for errors (a path or a URL). */
export type ShardReader = (manifestPath: string) => Promise<{ name: string; bytes: Uint8Array }>;

/** The artifacts of a parsed model.json (parseModelJson), reading each weights file through `read`. */
export async function decodeModelFiles(json: JsonObject, file: string, read: ShardReader): Promise<LoadedArtifacts> {
  const manifest: WeightsManifest = checkManifest(json.weightsManifest, file);
  const weights: NamedWeight[] = [];
  const optimizerWeights: NamedWeight[] = [];
  for (const group of manifest) {
    const parts = [];
    for (const p of group.paths) parts.push(await read(p));
    const decoded = decodeGroup(group.weights, concat(parts.map((p) => p.bytes)), parts.map((p) => p.name).join(' + '));
    decoded.forEach((w, i) => (group.weights[i].group === 'optimizer' ? optimizerWeights : weights).push(w));
  }
  return {
    modelTopology: json.modelTopology as JsonObject,
    weights,
    optimizerWeights,
    ...(isObject(json.trainingConfig) ? { trainingConfig: json.trainingConfig } : {}),
    ...(typeof json.generatedBy === 'string' ? { generatedBy: json.generatedBy } : {}),
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
