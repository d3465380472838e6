/**
 * Saving and loading Sequential models in the TensorFlow.js layers format (model.json + weights.bin).
 *
 * The optimizer state rides along as tfjs does it (weights in group 'optimizer': the step counter, then each
 * state array split per weight), and `trainingConfig.lockstep` keeps lockstep's own compile arguments, so
 * `loadModel` resumes training bit for bit. tfjs-layers reads the same files with `loadLayersModel`.
 */
import { Sequential } from './sequential.js';
import { toModelTopology, fromModelTopology, saveArtifacts, loadArtifacts, MODEL_JSON } from './io/index.js';
import { isObject } from './io/json.js';
import { checkTopologyWeights } from './io/weight-check.js';
import { formatValue, own } from './errors.js';
import { join } from 'node:path';
import type { NamedWeight } from './callbacks/callback.js';
import type { LayerConfig } from './layers/layer.js';
import { optimizerConfig, type OptimizerConfig } from './optimizers.js';
import { isStatefulMetric, type MetricConfig } from './metrics.js';

// tfjs-layers accepts only its own spellings in trainingConfig: long loss names, short metric names.
const TFJS_METRICS: Record<string, string> = { mean_absolute_error: 'mae', mean_squared_error: 'mse', acc: 'accuracy' };
// tfjs has no AdamW: it reads one as Adam (the same moments), so a model continued in tfjs loses the weight decay.
const TFJS_OPTIMIZERS: Record<string, string> = { RMSprop: 'RMSProp', AdamW: 'Adam' };

interface LockstepTraining {
  loss: string;
  metrics: (string | MetricConfig)[];
  optimizer: OptimizerConfig;
  iterations: number;
}

function tfjsOptimizerConfig(c: OptimizerConfig): Record<string, unknown> {
  const config: Record<string, unknown> = { learning_rate: c.learningRate };
  if (c.className === 'Adam' || c.className === 'AdamW') Object.assign(config, { beta_1: c.beta1, beta_2: c.beta2, epsilon: c.epsilon });
  // tfjs's RMSProp.fromConfig reads rho under its old name, `decay`.
  if (c.className === 'RMSprop') Object.assign(config, { rho: c.rho, decay: c.rho, momentum: c.momentum, epsilon: c.epsilon, centered: c.centered });
  if (c.className === 'SGD') Object.assign(config, { momentum: c.momentum, nesterov: c.nesterov });
  return { class_name: own(TFJS_OPTIMIZERS, c.className) ?? c.className, config };
}

export async function saveModel(model: Sequential, dir: string): Promise<void> {
  // One completed step's weights, state and count, even while a fit runs.
  const snap = model.snapshot();
  const weights = model.weightsOf(snap.params);
  const modelTopology = toModelTopology(model.name, model.layerConfigs() as never) as unknown as Record<string, never>;
  const optimizer = model.optimizer;
  const compiled = model.compiledArgs();
  if (!optimizer || !compiled) {
    await saveArtifacts(dir, { modelTopology, weights });
    return;
  }
  // tfjs's layout: the step counter, then for each state array one entry per weight, in weight order.
  const state = snap.state;
  const optimizerWeights: NamedWeight[] = [{ name: 'iter', shape: [], data: Float32Array.of(snap.iterations) }];
  let offset = 0;
  const spans = weights.map((w) => {
    const span = [offset, offset + w.data.length];
    offset += w.data.length;
    return span;
  });
  // tfjs's RMSProp always has a momentum slot (ms, mom[, mg]) and splits the list by count; lockstep has none at
  // momentum 0, so zeros stand in (tfjs multiplies them by that 0) and loadModel, reading by name, skips them.
  const names = optimizer.stateNames;
  const slots = optimizer.className === 'RMSprop' && !names.includes('momentum') ? [names[0], 'momentum', ...names.slice(1)] : names;
  slots.forEach((stateName) => {
    const k = names.indexOf(stateName);
    weights.forEach((w, i) => {
      const data = k < 0 ? new Float32Array(w.data.length) : state[k].slice(spans[i][0], spans[i][1]);
      optimizerWeights.push({ name: `${w.name}/${stateName}`, shape: w.shape, data });
    });
  });
  const lockstep: LockstepTraining = { loss: compiled.lossName, metrics: compiled.metrics, optimizer: optimizerConfig(optimizer), iterations: snap.iterations };
  const trainingConfig = {
    loss: compiled.canonicalLoss,
    // tfjs-layers compiles the model with these on load and knows none of the stateful metrics (AUC...):
    // those are kept in the lockstep part only.
    metrics: compiled.metrics.filter((m): m is string => typeof m === 'string' && !isStatefulMetric(m)).map((m) => own(TFJS_METRICS, m) ?? m),
    // tfjs-layers has no schedules: it gets the rate of the next update.
    optimizer_config: tfjsOptimizerConfig({ ...optimizer.getConfig(), learningRate: optimizer.rateAt(snap.iterations) }),
    lockstep,
  };
  await saveArtifacts(dir, { modelTopology, weights, trainingConfig: trainingConfig as never, optimizerWeights });
}

/** trainingConfig.lockstep as lockstep writes it, checked field by field (undefined: the file has none). */
function checkTraining(t: unknown, file: string): LockstepTraining | undefined {
  if (t === undefined) return undefined;
  const bad = (field: string, rule: string, value: unknown) => new Error(`${file}: trainingConfig.lockstep.${field} must be ${rule}. Received: ${field}=${formatValue(value)}`);
  if (!isObject(t)) throw new Error(`${file}: trainingConfig.lockstep must be an object. Received: ${formatValue(t)}`);
  if (typeof t.loss !== 'string') throw bad('loss', 'a loss name', t.loss);
  if (!Array.isArray(t.metrics) || !t.metrics.every((m) => typeof m === 'string' || (isObject(m) && typeof m.className === 'string' && isObject(m.config)))) throw bad('metrics', 'an array of metric names or { className, config }', t.metrics);
  if (!isObject(t.optimizer) || typeof t.optimizer.className !== 'string') throw bad('optimizer', 'an optimizer config { className, learningRate, ... }', t.optimizer);
  if (typeof t.iterations !== 'number' || !Number.isSafeInteger(t.iterations) || t.iterations < 0) throw bad('iterations', 'a non-negative integer', t.iterations);
  return t as unknown as LockstepTraining;
}

/**
 * Reads a model written by `model.save` or by tfjs-layers; compiled (optimizer state included) when the file says how.
 */
export async function loadModel(dir: string): Promise<Sequential> {
  const artifacts = await loadArtifacts(dir);
  const { modelName, layers } = fromModelTopology(artifacts.modelTopology);
  // Sizes first: building the model draws every initial weight, which a bad topology makes huge.
  checkTopologyWeights(layers as unknown as LayerConfig[], artifacts.weights, `loadModel(${dir})`);
  // Build and check everything on a new model: a bad file throws before anything is returned.
  const model = Sequential.fromConfigs(layers as unknown as LayerConfig[], modelName);
  const byName = new Map(artifacts.weights.map((w) => [w.name, w]));
  const expected = model.getWeights();
  const weights = expected.map((w) => {
    const found = byName.get(w.name);
    if (!found) throw new Error(`loadModel(${dir}): weight '${w.name}' is missing from weights.bin (found: ${[...byName.keys()].join(', ')})`);
    if (found.shape.join(',') !== w.shape.join(',')) throw new Error(`loadModel(${dir}): weight '${w.name}' has shape [${found.shape}] but layer needs [${w.shape}]`);
    return found.data;
  });
  for (const w of [...artifacts.weights, ...artifacts.optimizerWeights]) {
    const i = w.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new Error(`loadModel(${dir}): weight '${w.name}' holds a non-finite value (${w.data[i]}) at index ${i} of shape [${w.shape}]`);
  }
  model.setWeights(weights);
  const training = checkTraining((artifacts.trainingConfig as { lockstep?: unknown } | undefined)?.lockstep, join(dir, MODEL_JSON));
  if (training) {
    model.compile({ loss: training.loss, metrics: training.metrics, optimizer: training.optimizer });
    const stateNames = model.optimizer!.stateNames;
    const opt = new Map(artifacts.optimizerWeights.map((w) => [w.name, w]));
    const state = stateNames.map((stateName) => {
      const flat = new Float32Array(model.countParams());
      let offset = 0;
      for (const w of expected) {
        const s = opt.get(`${w.name}/${stateName}`);
        if (!s || s.data.length !== w.data.length) throw new Error(`loadModel(${dir}): optimizer state '${w.name}/${stateName}' is missing or has the wrong size`);
        flat.set(s.data, offset);
        offset += w.data.length;
      }
      return flat;
    });
    model.setOptimizerState(state, training.iterations);
  }
  return model;
}
