/**
 * Saving models in the TensorFlow.js layers format (model.json + weights.bin); loading is model-io.ts.
 *
 * The optimizer state rides along as tfjs does it (weights in group 'optimizer': the step counter, then each
 * state array split per weight), and `trainingConfig.lockstep` keeps lockstep's own compile arguments, so
 * `loadModel` resumes training bit for bit. tfjs-layers reads the same files with `loadLayersModel`.
 */
import { saveArtifacts } from './artifacts.js';
import { own } from '../errors.js';
import type { NamedWeight } from '../callbacks/callback.js';
import { optimizerConfig, type Optimizer, type OptimizerConfig } from '../optimizers.js';
import { isStatefulMetric, type MetricConfig } from '../metrics.js';
import type { HeadPlan } from '../engine/network.js';

/** What saving needs of a model. */
export interface SavableModel {
  readonly name: string;
  readonly optimizer: Optimizer | undefined;
  snapshot(): { params: Float32Array; state: Float32Array[]; iterations: number };
  weightsOf(params: Float32Array): NamedWeight[];
  compiledArgs():
    { lossName: string; canonicalLoss: string; metrics: (string | MetricConfig)[]; heads?: HeadPlan[] } | undefined;
  /** model.json's `modelTopology`. */
  modelTopology(): Record<string, unknown>;
}

export interface LockstepTraining {
  loss: string;
  metrics: (string | MetricConfig)[];
  optimizer: OptimizerConfig;
  iterations: number;
  /** Several outputs: each one's loss, metrics and weight (then `loss` and `metrics` are unused). */
  heads?: HeadPlan[];
}

// tfjs-layers accepts only its own spellings in trainingConfig: long loss names, short metric names.
const TFJS_METRICS: Record<string, string> = { mean_absolute_error: 'mae', mean_squared_error: 'mse', acc: 'accuracy' };
// tfjs has no AdamW: it reads one as Adam (the same moments), so a model continued in tfjs loses the weight decay.
const TFJS_OPTIMIZERS: Record<string, string> = { RMSprop: 'RMSProp', AdamW: 'Adam' };

const tfjsMetrics = (metrics: (string | MetricConfig)[]): string[] =>
  metrics
    .filter((m): m is string => typeof m === 'string' && !isStatefulMetric(m))
    .map((m) => own(TFJS_METRICS, m) ?? m);

function tfjsOptimizerConfig(c: OptimizerConfig): Record<string, unknown> {
  const config: Record<string, unknown> = { learning_rate: c.learningRate };
  if (c.className === 'Adam' || c.className === 'AdamW')
    Object.assign(config, { beta_1: c.beta1, beta_2: c.beta2, epsilon: c.epsilon });
  // tfjs's RMSProp.fromConfig reads rho under its old name, `decay`.
  if (c.className === 'RMSprop')
    Object.assign(config, { rho: c.rho, decay: c.rho, momentum: c.momentum, epsilon: c.epsilon, centered: c.centered });
  if (c.className === 'SGD') Object.assign(config, { momentum: c.momentum, nesterov: c.nesterov });
  return { class_name: own(TFJS_OPTIMIZERS, c.className) ?? c.className, config };
}

export async function saveModel(model: SavableModel, dir: string): Promise<void> {
  // One completed step's weights, state and count, even while a fit runs.
  const snap = model.snapshot();
  const weights = model.weightsOf(snap.params);
  const modelTopology = model.modelTopology() as Record<string, never>;
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
  const slots =
    optimizer.className === 'RMSprop' && !names.includes('momentum')
      ? [names[0], 'momentum', ...names.slice(1)]
      : names;
  slots.forEach((stateName) => {
    const k = names.indexOf(stateName);
    weights.forEach((w, i) => {
      const data = k < 0 ? new Float32Array(w.data.length) : state[k].slice(spans[i][0], spans[i][1]);
      optimizerWeights.push({ name: `${w.name}/${stateName}`, shape: w.shape, data });
    });
  });
  const lockstep: LockstepTraining = {
    loss: compiled.lossName,
    metrics: compiled.metrics,
    optimizer: optimizerConfig(optimizer),
    iterations: snap.iterations,
    ...(compiled.heads ? { heads: compiled.heads } : {}),
  };
  // tfjs-layers 4.22 refuses loss_weights ("not supported yet"): they ride in trainingConfig.lockstep only.
  const heads = compiled.heads;
  const trainingConfig = {
    loss: heads ? Object.fromEntries(heads.map((h) => [h.name, h.loss])) : compiled.canonicalLoss,
    // tfjs-layers compiles the model with these on load and knows none of the stateful metrics (AUC...):
    // those are kept in the lockstep part only.
    metrics: heads
      ? Object.fromEntries(heads.map((h) => [h.name, tfjsMetrics(h.metrics)]))
      : tfjsMetrics(compiled.metrics),
    // tfjs-layers has no schedules: it gets the rate of the next update.
    optimizer_config: tfjsOptimizerConfig({
      ...optimizer.getConfig(),
      learningRate: optimizer.rateAt(snap.iterations),
    }),
    lockstep,
  };
  await saveArtifacts(dir, { modelTopology, weights, trainingConfig: trainingConfig as never, optimizerWeights });
}
