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
import { quote } from './json.js';
import {
  MODEL_JSON,
  WEIGHTS_BIN,
  decodeModelFiles,
  encodeModelFiles,
  parseModelJson,
  type LoadedArtifacts,
  type SaveArtifactsInput,
} from './model-json.js';

export {
  MODEL_JSON,
  WEIGHTS_BIN,
  type TrainingConfig,
  type SaveArtifactsInput,
  type LoadedArtifacts,
} from './model-json.js';

/** Writes `dir/model.json` and `dir/weights.bin` (creating `dir`), replacing any previous model there. */
export async function saveArtifacts(dir: string, input: SaveArtifactsInput): Promise<void> {
  if (typeof dir !== 'string' || dir === '')
    throw new Error(`saveArtifacts: dir must be a non-empty path. Received: ${quote(dir)}`);
  const { modelJson, weightsBin } = encodeModelFiles(input, 'saveArtifacts');
  await mkdir(dir, { recursive: true });
  await writeAtomically(dir, [
    [WEIGHTS_BIN, weightsBin],
    [MODEL_JSON, [modelJson]],
  ]);
}

/** Reads a model directory written by lockstep, tfjs-layers (`save` / `includeOptimizer`) or the tfjs converter. */
export async function loadArtifacts(dir: string): Promise<LoadedArtifacts> {
  const jsonPath = join(dir, MODEL_JSON);
  const json = parseModelJson(await readOrExplain(jsonPath, `No ${MODEL_JSON} in '${dir}'`), jsonPath);
  return decodeModelFiles(json, jsonPath, async (p) => {
    const file = await shardPath(dir, p, jsonPath);
    return { name: file, bytes: await readOrExplain(file, `Missing weights file '${file}' (listed in ${jsonPath})`) };
  });
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
