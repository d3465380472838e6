/**
 * What the engine needs from a model, and nothing more. The engine never calls back into a model: the model
 * checks and packs its data (every input's columns side by side in x, every output's targets side by side in
 * y) before it calls fit or inference, and hands over its compiled network, its buffers and its flags.
 */
import type { CallbackModel } from '../callbacks/callback.js';
import type { Optimizer } from '../optimizers.js';
import type { ModelBuffers } from './layout.js';
import type { Network, Plan } from './network.js';

/** A compiled model's network (built from `plan`), optimizer and shared weights. */
export interface CompiledModel {
  plan: Plan;
  net: Network;
  optimizer: Optimizer;
  buffers: ModelBuffers;
}

/** The model as fit sees it: what callbacks get, plus the flags fit shares with them and with `dispose`. */
export interface TrainingModel extends CallbackModel {
  /** The control block: step counters, barriers, the Updates field that says which weight set is live. */
  readonly control: Int32Array;
  /** Above 0 while fit awaits callbacks: the workers are parked, so the model may be changed then. */
  callbackDepth: number;
  /** Set by `dispose` during a fit: fit rejects with it at its next check. */
  readonly fitInterrupted: Error | undefined;
  /** The live weight set. */
  currentParams(): Float32Array;
}
