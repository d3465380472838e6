/**
 * Loading models in the TensorFlow.js layers format (model.json + weights.bin); saving is io/save-model.ts.
 *
 * The optimizer state rides along as tfjs does it (weights in group 'optimizer': the step counter, then each
 * state array split per weight), and `trainingConfig.lockstep` keeps lockstep's own compile arguments, so
 * `loadModel` resumes training bit for bit. tfjs-layers reads the same files with `loadLayersModel`.
 */
import { Sequential } from './sequential.js';
import { Model } from './model.js';
import { InputLayer, layerFromConfig, type Layer } from './layers/index.js';
import type { SymbolicTensor as AnyTensor } from './layers/symbolic-tensor.js';

type SymbolicTensor = AnyTensor<Layer>;
import { fromFunctionalTopology, isFunctionalTopology } from './io/functional-topology.js';
import { fromModelTopology, loadArtifacts, MODEL_JSON } from './io/index.js';
import { recordInput } from './layers/index.js';
import type { LockstepTraining } from './io/save-model.js';
import { isObject } from './io/json.js';
import { checkTopologyWeights } from './io/weight-check.js';
import type { NamedWeight } from './callbacks/callback.js';
import { formatValue } from './errors.js';
import { join } from 'node:path';
import type { LayerConfig } from './layers/layer.js';

/** trainingConfig.lockstep as lockstep writes it, checked field by field (undefined: the file has none). */
function checkTraining(t: unknown, file: string): LockstepTraining | undefined {
  if (t === undefined) return undefined;
  const bad = (field: string, rule: string, value: unknown) =>
    new Error(`${file}: trainingConfig.lockstep.${field} must be ${rule}. Received: ${field}=${formatValue(value)}`);
  if (!isObject(t)) throw new Error(`${file}: trainingConfig.lockstep must be an object. Received: ${formatValue(t)}`);
  if (typeof t.loss !== 'string') throw bad('loss', 'a loss name', t.loss);
  if (
    !Array.isArray(t.metrics) ||
    !t.metrics.every(
      (m) => typeof m === 'string' || (isObject(m) && typeof m.className === 'string' && isObject(m.config)),
    )
  )
    throw bad('metrics', 'an array of metric names or { className, config }', t.metrics);
  if (!isObject(t.optimizer) || typeof t.optimizer.className !== 'string')
    throw bad('optimizer', 'an optimizer config { className, learningRate, ... }', t.optimizer);
  if (typeof t.iterations !== 'number' || !Number.isSafeInteger(t.iterations) || t.iterations < 0)
    throw bad('iterations', 'a non-negative integer', t.iterations);
  return t as unknown as LockstepTraining;
}

/**
 * Reads a model written by `model.save` or by tfjs-layers; compiled (optimizer state included) when the file says
 * how.
 */
export async function loadModel(dir: string): Promise<Sequential | Model> {
  const artifacts = await loadArtifacts(dir);
  // Build and check everything on a new model: a bad file throws before anything is returned. Weight sizes are
  // checked first: building the model draws every initial weight, which a bad topology makes huge.
  const model = modelFromTopology(artifacts.modelTopology, { weights: artifacts.weights, where: `loadModel(${dir})` });
  const byName = new Map(artifacts.weights.map((w) => [w.name, w]));
  const expected = model.getWeights();
  const weights = expected.map((w) => {
    const found = byName.get(w.name);
    if (!found)
      throw new Error(
        `loadModel(${dir}): weight '${w.name}' is missing from weights.bin (found: ${[...byName.keys()].join(', ')})`,
      );
    if (found.shape.join(',') !== w.shape.join(','))
      throw new Error(`loadModel(${dir}): weight '${w.name}' has shape [${found.shape}] but layer needs [${w.shape}]`);
    return found.data;
  });
  for (const w of [...artifacts.weights, ...artifacts.optimizerWeights]) {
    const i = w.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0)
      throw new Error(
        `loadModel(${dir}): weight '${w.name}' holds a non-finite value (${w.data[i]}) at index ${i} of shape [${w.shape}]`,
      );
  }
  model.setWeights(weights);
  const training = checkTraining(
    (artifacts.trainingConfig as { lockstep?: unknown } | undefined)?.lockstep,
    join(dir, MODEL_JSON),
  );
  if (training) {
    const heads = training.heads;
    if (heads)
      model.compile({
        loss: heads.map((h) => h.loss),
        metrics: heads.map((h) => h.metrics),
        lossWeights: heads.map((h) => h.weight),
        optimizer: training.optimizer,
      });
    else model.compile({ loss: training.loss, metrics: training.metrics, optimizer: training.optimizer });
    const stateNames = model.optimizer!.stateNames;
    const opt = new Map(artifacts.optimizerWeights.map((w) => [w.name, w]));
    const state = stateNames.map((stateName) => {
      const flat = new Float32Array(model.countParams());
      let offset = 0;
      for (const w of expected) {
        const s = opt.get(`${w.name}/${stateName}`);
        if (!s || s.data.length !== w.data.length)
          throw new Error(
            `loadModel(${dir}): optimizer state '${w.name}/${stateName}' is missing or has the wrong size`,
          );
        flat.set(s.data, offset);
        offset += w.data.length;
      }
      return flat;
    });
    model.setOptimizerState(state, training.iterations);
  }
  return model;
}

/** A model from a `modelTopology` (or a whole model.json): Sequential or functional, with fresh weights. */
export function modelFromTopology(
  json: unknown,
  options: { name?: string; seed?: number; weights?: NamedWeight[]; where?: string } = {},
): Sequential | Model {
  let topology = isObject(json) && isObject(json.modelTopology) ? json.modelTopology : json;
  if (isObject(topology) && isObject(topology.model_config)) topology = topology.model_config;
  if (!isFunctionalTopology(topology)) {
    const { modelName, layers } = fromModelTopology(topology);
    if (options.weights)
      checkTopologyWeights(layers as unknown as LayerConfig[], options.weights, options.where ?? 'loadModel');
    return Sequential.fromConfigs(layers as unknown as LayerConfig[], options.name ?? modelName, options.seed);
  }
  const f = fromFunctionalTopology(topology as never);
  const layers = new Map<string, Layer>(f.layers.map((l) => [l.config.name, layerFromConfig(l.config as never)]));
  const made = new Map<string, SymbolicTensor>();
  const key = (name: string, call: number) => `${name}:${call}`;
  for (const l of f.layers) {
    const layer = layers.get(l.config.name)!;
    if (layer instanceof InputLayer) made.set(key(layer.name, 0), recordInput(layer));
  }
  // Calls in an order where every input exists: a layer's calls in their order, layers as soon as they can.
  const next = new Map(f.layers.map((l) => [l.config.name, 0]));
  for (let progress = true; progress;) {
    progress = false;
    for (const l of f.layers) {
      const name = l.config.name;
      for (let k = next.get(name)!; k < l.calls.length; k++) {
        const inputs = l.calls[k].map(([n, c]) => made.get(key(n, c)));
        if (inputs.some((t) => t === undefined)) break;
        const layer = layers.get(name)!;
        const out = layer.apply(inputs.length === 1 ? inputs[0]! : (inputs as SymbolicTensor[]));
        made.set(key(name, k), out);
        next.set(name, k + 1);
        progress = true;
      }
    }
  }
  const stuck = f.layers.find((l) => next.get(l.config.name)! < l.calls.length);
  if (stuck)
    throw new Error(
      `modelTopology: layer '${stuck.config.name}' reads a tensor that no layer makes (or the calls form a cycle)`,
    );
  if (options.weights) checkLayerWeights([...layers.values()], options.weights, options.where ?? 'loadModel');
  const tensor = ([n, c]: [string, number, number], what: string) => {
    const t = made.get(key(n, c));
    if (!t) throw new Error(`modelTopology.config.${what} refers to call ${c} of layer '${n}', which does not exist`);
    return t;
  };
  return new Model({
    name: options.name ?? f.modelName,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    inputs: f.inputs.map((r) => tensor(r, 'input_layers')),
    outputs: f.outputs.map((r) => tensor(r, 'output_layers')),
  });
}

/** Built layers' weights (shapes only: nothing drawn yet) against a file's, naming the first that differs. */
function checkLayerWeights(layers: Layer[], weights: NamedWeight[], where: string): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  for (const layer of layers) {
    for (const p of layer.params()) {
      const name = `${layer.name}/${p.name}`;
      const found = byName.get(name);
      if (!found)
        throw new Error(
          `${where}: weight '${name}' is missing from weights.bin (found: ${[...byName.keys()].join(', ')})`,
        );
      if (found.shape.join(',') !== p.shape.join(','))
        throw new Error(`${where}: weight '${name}' has shape [${found.shape}] but layer needs [${p.shape}]`);
    }
  }
}
