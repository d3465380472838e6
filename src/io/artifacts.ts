/**
 * A model directory in the TensorFlow.js layers format: `model.json` (topology + weights manifest) and
 * `weights.bin`, the layout tfjs-node's `file://` handler writes and `tf.loadLayersModel` reads.
 *
 * Saving is atomic per file: both files are written to `*.tmp-<pid>-<random>` names, flushed, then renamed
 * over the old ones, weights first and model.json last, so a crash leaves the old model.json (with a
 * weights.bin whose size no longer matches, which loading reports) or the new pair, never a torn file.
 * Loading checks everything before it returns: it gives back the whole model or throws.
 *
 * @example
 * await saveArtifacts('out/hitters', {
 *   modelTopology: toModelTopology('hitters', configs),
 *   weights: model.getWeights(),
 * });
 * const { modelTopology, weights } = await loadArtifacts('out/hitters');
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, realpath, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { NamedWeight } from '../callbacks/callback.js';
import { type JsonObject, isObject, quote } from './json.js';
import { lockstepVersion } from './version.js';
import { type WeightsManifest, checkManifest, checkWeights, decodeGroup, encodeWeights } from './weights.js';

/**
 * Keras' `training_config`, read by tfjs-layers' `loadLayersModel` to compile the model:
 * `{ loss: 'mean_squared_error', metrics: ['mae'],
 * optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001, ... } } }`.
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

/** Writes `dir/model.json` and `dir/weights.bin` (creating `dir`), replacing any previous model there. */
export async function saveArtifacts(dir: string, input: SaveArtifactsInput): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new Error(`saveArtifacts: dir must be a non-empty path. Received: ${quote(dir)}`);
  if (!isObject(input) || !isObject(input.modelTopology)) {
    throw new Error(`saveArtifacts: modelTopology must be an object. Received: ${quote(input?.modelTopology)}`);
  }
  const names = new Set<string>();
  checkWeights(input.weights, 'saveArtifacts: weights', names);
  checkWeights(input.optimizerWeights ?? [], 'saveArtifacts: optimizerWeights', names);
  if (input.trainingConfig !== undefined && !isObject(input.trainingConfig)) {
    throw new Error(`saveArtifacts: trainingConfig must be an object. Received: ${quote(input.trainingConfig)}`);
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
  await mkdir(dir, { recursive: true });
  await writeAtomically(dir, [
    [WEIGHTS_BIN, [model.bytes, optimizer.bytes]],
    [MODEL_JSON, [new TextEncoder().encode(JSON.stringify(modelJson))]],
  ]);
}

/** Reads a model directory written by lockstep, tfjs-layers (`save` / `includeOptimizer`) or the tfjs converter. */
export async function loadArtifacts(dir: string): Promise<LoadedArtifacts> {
  const jsonPath = join(dir, MODEL_JSON);
  const json = parseJson(await readOrExplain(jsonPath, `No ${MODEL_JSON} in '${dir}'`), jsonPath);
  if (!isObject(json)) throw new Error(`${jsonPath} must hold a JSON object. Received: ${quote(json)}`);
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new Error(`${jsonPath} has format ${quote(json.format)}; only 'layers-model' files (Keras-style models) can be loaded`);
  }
  if (!isObject(json.modelTopology)) throw new Error(`${jsonPath} has no modelTopology object. Received: modelTopology=${quote(json.modelTopology)}`);
  if (json.trainingConfig != null && !isObject(json.trainingConfig)) {
    throw new Error(`${jsonPath}: trainingConfig must be an object. Received: ${quote(json.trainingConfig)}`);
  }
  const manifest: WeightsManifest = checkManifest(json.weightsManifest, jsonPath);

  const weights: NamedWeight[] = [];
  const optimizerWeights: NamedWeight[] = [];
  for (const group of manifest) {
    const files: string[] = [];
    for (const p of group.paths) files.push(await shardPath(dir, p, jsonPath));
    const parts = [];
    for (const file of files) parts.push(await readOrExplain(file, `Missing weights file '${file}' (listed in ${jsonPath})`));
    const decoded = decodeGroup(group.weights, concat(parts), files.join(' + '));
    decoded.forEach((w, i) => (group.weights[i].group === 'optimizer' ? optimizerWeights : weights).push(w));
  }
  return {
    modelTopology: json.modelTopology,
    weights,
    optimizerWeights,
    ...(isObject(json.trainingConfig) ? { trainingConfig: json.trainingConfig } : {}),
    ...(typeof json.generatedBy === 'string' ? { generatedBy: json.generatedBy } : {}),
  };
}

async function writeAtomically(dir: string, files: Array<[string, Uint8Array[]]>): Promise<void> {
  const suffix = `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const tmp = files.map(([name]) => join(dir, name + suffix));
  try {
    for (let i = 0; i < files.length; i++) {
      const handle = await open(tmp[i], 'w');
      try {
        for (const chunk of files[i][1]) await handle.write(chunk);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (let i = 0; i < files.length; i++) await rename(tmp[i], join(dir, files[i][0]));
  } catch (err) {
    await Promise.all(tmp.map((t) => rm(t, { force: true })));
    throw err;
  }
}

async function readOrExplain(file: string, missing: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? missing : `Cannot read '${file}': ${(err as Error).message}`, { cause: err });
  }
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Whether `path`, relative to its base, leaves it: `..` or `../x`, but not a file named `..weights.bin`. */
function leaves(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/**
 * A manifest path resolved inside `dir`; paths that would leave it are refused, and so are symlinks that
 * lead outside it (a weights file must belong to the model directory, however it is reached).
 */
async function shardPath(dir: string, path: string, jsonPath: string): Promise<string> {
  const full = resolve(dir, path);
  const outside = () => new Error(`${jsonPath}: weights path ${quote(path)} points outside the model directory`);
  if (isAbsolute(path) || leaves(relative(resolve(dir), full))) throw outside();
  let target: string;
  try {
    target = await realpath(full);
  } catch {
    return full; // missing: reading it reports that, naming the file
  }
  if (leaves(relative(await realpath(dir), target))) throw outside();
  return full;
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
