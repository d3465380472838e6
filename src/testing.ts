/**
 * Test hooks: switches that break lockstep on purpose (planted bugs) or make a worker fail, so the proof
 * suites can show that they notice. They travel with each task (TrainTask, ForwardTask) as one `TaskHooks`
 * object, reach the layers through their ForwardContext, and are never module globals nor public options.
 *
 * A test sets them on a model with `setTestHooks(model, { plant: 'tanh' })`, or on a Network it builds
 * itself (`new Network(plan, hooks)`); a test that runs lockstep in another process (the CLI, a script) sets
 * the LOCKSTEP_PLANT environment variable, read when a task is made for a model without hooks of its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from './activations.js';

/**
 * tanh: the tanh derivative squared. unordered-reduction: the gradient sum starts at a worker-dependent
 * slot. conv-filter: Conv2D filter gradients 1% off. batchnorm-per-shard: BatchNormalization normalizes
 * each micro-shard by its own statistics (PyTorch DDP's default).
 */
export const PLANTED_BUGS = ['tanh', 'unordered-reduction', 'conv-filter', 'batchnorm-per-shard'] as const;
export type PlantedBug = (typeof PLANTED_BUGS)[number];

/**
 * Make worker `worker` fail at step `step` (of epoch `epoch`, default fit's first), by throwing or by ending its
 * thread.
 */
export interface Fault {
  worker: number;
  step: number;
  kind: 'throw' | 'exit';
  epoch?: number;
}

export interface TaskHooks {
  readonly plant?: PlantedBug;
  readonly fault?: Fault;
}

/** The hooks of every task in production. */
export const NO_HOOKS: TaskHooks = Object.freeze({});

// A symbol: no option list, config or error message of a model can show it.
const HOOKS = Symbol('lockstep.testHooks');

/** Sets (or, with undefined, clears) the test hooks of `model`'s coming fits and predictions. */
export function setTestHooks(model: object, hooks: TaskHooks | undefined): void {
  (model as { [HOOKS]?: TaskHooks })[HOOKS] = hooks === undefined ? undefined : Object.freeze({ ...hooks });
}

/** The hooks a task for `model` carries: the model's own, else a planted bug named by LOCKSTEP_PLANT. */
export function testHooksOf(model: object): TaskHooks {
  const own = (model as { [HOOKS]?: TaskHooks })[HOOKS];
  if (own) return own;
  const plant = process.env.LOCKSTEP_PLANT;
  if (!plant) return NO_HOOKS;
  if (!(PLANTED_BUGS as readonly string[]).includes(plant))
    throw new Error(`LOCKSTEP_PLANT must be one of ${PLANTED_BUGS.join(', ')}. Received: ${JSON.stringify(plant)}`);
  return { plant: plant as PlantedBug };
}

/** `act`, or under the planted 'tanh' bug a tanh whose derivative factor is squared. */
export function hookedActivation(act: Activation, hooks: TaskHooks | undefined): Activation {
  if (hooks?.plant !== 'tanh' || act.name !== 'tanh') return act;
  return {
    ...act,
    backward: (dy, y) => {
      const d = tf.sub(1, tf.square(y));
      return tf.mul(dy, tf.mul(d, d));
    },
  };
}
