/**
 * Optimizers with Keras 3's update rules and defaults, from simplest to most complex.
 *
 * Each is a small class whose `update` reads parameters and state from one set of buffers and writes the
 * new values to another (the engine ping-pongs them, so a failed step never leaves half-updated weights).
 * It touches only [start, end), so workers can update disjoint ranges in parallel; every element's update
 * depends on that element alone, which keeps the result independent of how the range is split.
 *
 * Arithmetic is Keras's: float32, every operation rounded (`f` below), in the order Keras writes it, with
 * the hyperparameters cast to float32. (A float64 op on two float32 values, rounded to float32, is exactly
 * the float32 op, so these loops are exact references.) The training engine passes `kernels`, and the
 * common rules run as SIMD kernels over shared memory instead (kernels/optimizer.wat): same operations,
 * same order, same bits, four lanes at a time. One departure from IEEE, as in TensorFlow on CPU: optimizer
 * state below float32's smallest normal value is stored as zero (`ftz`).
 */
import { badOption, checkOptionKeys, checkPositiveNumber, own, unknownName } from './errors.js';
import type { SimdKernels } from './kernels/index.js';
// b ** step from engine-independent exp and log: Math.pow's bits differ between engines (Node and browsers).
import { powPositive } from './ops/libm.js';
import { CLIP_OPTIONS, checkClipping, type ClipOptions } from './clipping.js';
import { getSchedule, type LearningRateSchedule, type ScheduleConfig } from './schedules.js';

const f = Math.fround;

/** float32's smallest normal value. */
const FLT_MIN = 2 ** -126;
/**
 * Optimizer state that falls below FLT_MIN is stored as 0, as TensorFlow's CPU kernels do (flush-to-zero).
 * Without it, the state of a weight whose gradient is 0 (a border pixel of MNIST) decays through the
 * subnormal range for about 150 steps, where x86 float arithmetic is 16-26x slower (measured on the
 * RMSprop kernel). NaN is kept.
 */
const ftz = (x: number) => (Math.abs(x) < FLT_MIN ? 0 : x);

export interface UpdateArgs {
  params: Float32Array;
  grads: Float32Array;
  state: Float32Array[];
  paramsOut: Float32Array;
  stateOut: Float32Array[];
  start: number;
  end: number;
  /** 1-based count of this update (Keras's iterations + 1). */
  step: number;
  learningRate: number;
  /** SIMD kernels over the memory all the arrays above live in; absent: the JavaScript loops run. */
  kernels?: SimdKernels;
}

export interface OptimizerConfig {
  className: string;
  /** A rate, or a schedule's config (see schedules.ts). */
  learningRate: number | ScheduleConfig;
  [option: string]: unknown;
}

/** What an optimizer's `learningRate` option takes: a rate, a schedule, or a schedule's config. */
export type LearningRate = number | LearningRateSchedule | ScheduleConfig;

export abstract class Optimizer {
  abstract readonly className: string;
  /** Per-parameter state arrays (momentum, velocity...), with Keras's names. */
  abstract readonly stateNames: string[];
  /** The schedule the rate follows, when `learningRate` was given one: the rate is then schedule.at(iterations). */
  readonly schedule?: LearningRateSchedule;
  private rate: number;

  /** Gradient clipping (clipnorm, clipvalue or globalClipnorm; see clipping.ts). */
  readonly clipping: ClipOptions;

  constructor(learningRate: LearningRate, owner: string, options?: ClipOptions) {
    this.clipping = checkClipping(owner, options);
    if (typeof learningRate === 'object' && learningRate !== null) {
      this.schedule = getSchedule(learningRate, `${owner} learningRate`);
      this.rate = this.schedule.at(0);
    } else this.rate = checkPositiveNumber(owner, 'learningRate', learningRate);
  }

  /** The rate (with a schedule: its value at step 0; see `rateAt`). Keras refuses to set a scheduled rate. */
  get learningRate(): number {
    return this.rate;
  }

  set learningRate(lr: number) {
    if (this.schedule)
      throw new TypeError(
        `${this.className}: the learning rate follows a ${this.schedule.className} schedule, so it cannot be set (as in Keras); use a fixed rate to set it from a callback`,
      );
    this.rate = lr;
  }

  /** The rate of the update after `iterations` updates. */
  rateAt(iterations: number): number {
    return this.schedule ? this.schedule.at(iterations) : this.rate;
  }

  /** Initial value of each state array. */
  initialState(_slot: number): number {
    return 0;
  }

  abstract update(a: UpdateArgs): void;
  abstract getConfig(): OptimizerConfig;
}

const fraction = (owner: string, option: string, v: unknown) => {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw badOption(owner, option, 'in [0, 1)', v);
  return v;
};

const boolean = (owner: string, option: string, v: unknown) => {
  if (typeof v !== 'boolean') throw badOption(owner, option, 'true or false', v);
  return v;
};

/** Checks an options object's keys (Keras rejects unknown ones: a typo must not train with a default). */
function checked<T extends object>(owner: string, options: T | undefined, keys: readonly string[]): T {
  checkOptionKeys(owner, options, [...keys, ...CLIP_OPTIONS]);
  return options ?? ({} as T);
}

export interface SGDOptions extends ClipOptions {
  learningRate?: LearningRate;
  momentum?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly className = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(options?: SGDOptions) {
    const {
      learningRate = 0.01,
      momentum = 0,
      nesterov = false,
    } = checked('SGD', options, ['learningRate', 'momentum', 'nesterov']);
    super(learningRate, 'SGD', options);
    this.momentum = fraction('SGD', 'momentum', momentum);
    this.nesterov = boolean('SGD', 'nesterov', nesterov);
  }

  get stateNames(): string[] {
    return this.momentum > 0 ? ['momentum'] : [];
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, learningRate, kernels }: UpdateArgs): void {
    const lr = f(learningRate);
    const mu = f(this.momentum);
    if (mu === 0) {
      if (kernels) return kernels.sgd(params, grads, paramsOut, start, end, lr);
      for (let i = start; i < end; i++) paramsOut[i] = params[i] - f(grads[i] * lr);
      return;
    }
    const [m] = state;
    const [mOut] = stateOut;
    for (let i = start; i < end; i++) {
      const step = f(grads[i] * lr);
      const v = ftz(f(f(m[i] * mu) - step));
      mOut[i] = v;
      paramsOut[i] = this.nesterov ? params[i] + f(f(v * mu) - step) : params[i] + v;
    }
  }

  getConfig(): OptimizerConfig {
    return {
      className: this.className,
      learningRate: this.learningRate,
      momentum: this.momentum,
      nesterov: this.nesterov,
    };
  }
}

export interface AdagradOptions extends ClipOptions {
  learningRate?: LearningRate;
  initialAccumulatorValue?: number;
  epsilon?: number;
}

export class Adagrad extends Optimizer {
  readonly className = 'Adagrad';
  readonly stateNames = ['accumulator'];
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;

  constructor(options?: AdagradOptions) {
    const {
      learningRate = 0.001,
      initialAccumulatorValue = 0.1,
      epsilon = 1e-7,
    } = checked('Adagrad', options, ['learningRate', 'initialAccumulatorValue', 'epsilon']);
    super(learningRate, 'Adagrad', options);
    if (
      typeof initialAccumulatorValue !== 'number' ||
      !(initialAccumulatorValue >= 0) ||
      !Number.isFinite(initialAccumulatorValue)
    )
      throw badOption('Adagrad', 'initialAccumulatorValue', 'non-negative', initialAccumulatorValue);
    this.initialAccumulatorValue = initialAccumulatorValue;
    this.epsilon = checkPositiveNumber('Adagrad', 'epsilon', epsilon);
  }

  initialState(): number {
    return this.initialAccumulatorValue;
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, learningRate }: UpdateArgs): void {
    const lr = f(learningRate);
    const eps = f(this.epsilon);
    const [acc] = state;
    const [accOut] = stateOut;
    for (let i = start; i < end; i++) {
      const g = grads[i];
      const a = ftz(f(acc[i] + f(g * g)));
      accOut[i] = a;
      paramsOut[i] = params[i] - f(f(lr * g) / f(Math.sqrt(f(a + eps))));
    }
  }

  getConfig(): OptimizerConfig {
    return {
      className: this.className,
      learningRate: this.learningRate,
      initialAccumulatorValue: this.initialAccumulatorValue,
      epsilon: this.epsilon,
    };
  }
}

export interface RMSpropOptions extends ClipOptions {
  learningRate?: LearningRate;
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}

export class RMSprop extends Optimizer {
  readonly className = 'RMSprop';
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(options?: RMSpropOptions) {
    const {
      learningRate = 0.001,
      rho = 0.9,
      momentum = 0,
      epsilon = 1e-7,
      centered = false,
    } = checked('RMSprop', options, ['learningRate', 'rho', 'momentum', 'epsilon', 'centered']);
    super(learningRate, 'RMSprop', options);
    this.rho = fraction('RMSprop', 'rho', rho);
    this.momentum = fraction('RMSprop', 'momentum', momentum);
    this.epsilon = checkPositiveNumber('RMSprop', 'epsilon', epsilon);
    this.centered = boolean('RMSprop', 'centered', centered);
  }

  get stateNames(): string[] {
    return ['velocity', ...(this.momentum > 0 ? ['momentum'] : []), ...(this.centered ? ['average_gradient'] : [])];
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, learningRate, kernels }: UpdateArgs): void {
    const lr = f(learningRate);
    const rho = f(this.rho);
    const c = f(1 - this.rho);
    const eps = f(this.epsilon);
    const [vel] = state;
    const [velOut] = stateOut;
    if (this.momentum === 0 && !this.centered) {
      // The common case: it runs over every parameter at every step.
      if (kernels) return kernels.rmsprop(params, vel, grads, paramsOut, velOut, start, end, lr, rho, c, eps);
      for (let i = start; i < end; i++) {
        const g = grads[i];
        const v = ftz(f(f(rho * vel[i]) + f(c * f(g * g))));
        velOut[i] = v;
        // Keras 3 puts epsilon inside the square root.
        paramsOut[i] = params[i] - f(f(lr * g) / f(Math.sqrt(f(v + eps))));
      }
      return;
    }
    const mu = f(this.momentum);
    const m = mu > 0 ? state[1] : undefined;
    const mOut = mu > 0 ? stateOut[1] : undefined;
    const avg = this.centered ? state[mu > 0 ? 2 : 1] : undefined;
    const avgOut = this.centered ? stateOut[mu > 0 ? 2 : 1] : undefined;
    for (let i = start; i < end; i++) {
      const g = grads[i];
      const v = ftz(f(f(rho * vel[i]) + f(c * f(g * g))));
      velOut[i] = v;
      let denom = f(v + eps);
      if (avg && avgOut) {
        const ag = ftz(f(f(rho * avg[i]) + f(c * g)));
        avgOut[i] = ag;
        denom = f(f(v - f(ag * ag)) + eps);
      }
      const inc = f(f(lr * g) / f(Math.sqrt(denom)));
      if (m && mOut) {
        const mv = ftz(f(f(mu * m[i]) + inc));
        mOut[i] = mv;
        paramsOut[i] = params[i] - mv;
      } else paramsOut[i] = params[i] - inc;
    }
  }

  getConfig(): OptimizerConfig {
    const { className, learningRate, rho, momentum, epsilon, centered } = this;
    return { className, learningRate, rho, momentum, epsilon, centered };
  }
}

export interface AdamOptions extends ClipOptions {
  learningRate?: LearningRate;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class Adam extends Optimizer {
  readonly className: string = 'Adam';
  readonly stateNames = ['momentum', 'velocity'];
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(options?: AdamOptions, owner = 'Adam') {
    const keys = ['learningRate', 'beta1', 'beta2', 'epsilon'];
    const {
      learningRate = 0.001,
      beta1 = 0.9,
      beta2 = 0.999,
      epsilon = 1e-7,
    } = checked(owner, options, owner === 'AdamW' ? [...keys, 'weightDecay'] : keys);
    super(learningRate, owner, options);
    this.beta1 = fraction(owner, 'beta1', beta1);
    this.beta2 = fraction(owner, 'beta2', beta2);
    this.epsilon = checkPositiveNumber(owner, 'epsilon', epsilon);
  }

  /** Weight decay per unit learning rate, applied before the Adam step (AdamW); plain Adam has none. */
  protected decay(): number {
    return 0;
  }

  update(a: UpdateArgs): void {
    const { grads, state, paramsOut, stateOut, start, end, step, kernels } = a;
    const lr = f(a.learningRate);
    // Keras computes the bias correction in float32 scalar ops; here it is float64, rounded once.
    const alpha = f((lr * Math.sqrt(1 - powPositive(this.beta2, step))) / (1 - powPositive(this.beta1, step)));
    const c1 = f(1 - this.beta1);
    const c2 = f(1 - this.beta2);
    const eps = f(this.epsilon);
    const wd = f(this.decay());
    let params = a.params;
    if (wd !== 0) {
      // Keras 3 (AdamW): variable -= variable * weight_decay * lr, before the step; the step then reads it.
      if (kernels) kernels.decay(params, paramsOut, start, end, wd, lr);
      else for (let i = start; i < end; i++) paramsOut[i] = params[i] - f(f(params[i] * wd) * lr);
      params = paramsOut;
    }
    const [m, v] = state;
    const [mOut, vOut] = stateOut;
    if (kernels) return kernels.adam(params, m, v, grads, paramsOut, mOut, vOut, start, end, alpha, c1, c2, eps);
    for (let i = start; i < end; i++) {
      const g = grads[i];
      const mi = ftz(f(m[i] + f(f(g - m[i]) * c1)));
      const vi = ftz(f(v[i] + f(f(f(g * g) - v[i]) * c2)));
      mOut[i] = mi;
      vOut[i] = vi;
      paramsOut[i] = params[i] - f(f(mi * alpha) / f(f(Math.sqrt(vi)) + eps));
    }
  }

  getConfig(): OptimizerConfig {
    const { className, learningRate, beta1, beta2, epsilon } = this;
    return { className, learningRate, beta1, beta2, epsilon };
  }
}

export interface AdamWOptions extends AdamOptions {
  weightDecay?: number;
}

/** Adam with decoupled weight decay: Keras shrinks each weight by lr * weightDecay before the Adam step. */
export class AdamW extends Adam {
  readonly className = 'AdamW';
  readonly weightDecay: number;

  constructor(options?: AdamWOptions) {
    checkOptionKeys('AdamW', options, ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', ...CLIP_OPTIONS]);
    const { weightDecay = 0.004, ...adam } = options ?? {};
    super(adam, 'AdamW');
    if (typeof weightDecay !== 'number' || !(weightDecay >= 0) || !Number.isFinite(weightDecay))
      throw badOption('AdamW', 'weightDecay', 'non-negative', weightDecay);
    this.weightDecay = weightDecay;
  }

  protected decay(): number {
    return this.weightDecay;
  }

  getConfig(): OptimizerConfig {
    return { ...super.getConfig(), weightDecay: this.weightDecay };
  }
}

const BY_NAME: Record<string, (o: Record<string, unknown>) => Optimizer> = {
  sgd: (o) => new SGD(o),
  rmsprop: (o) => new RMSprop(o),
  adam: (o) => new Adam(o),
  adamw: (o) => new AdamW(o),
  adagrad: (o) => new Adagrad(o),
};

export const OPTIMIZER_NAMES = Object.keys(BY_NAME);

/**
 * An optimizer's config with its schedule's config as `learningRate` and its clipping (what workers rebuild it from
 * and saves keep).
 */
export function optimizerConfig(opt: Optimizer): OptimizerConfig {
  return {
    ...opt.getConfig(),
    learningRate: opt.schedule ? opt.schedule.toConfig() : opt.learningRate,
    ...opt.clipping,
  };
}

/** An optimizer from a Keras name ('rmsprop'), a config ({ className: 'Adam', learningRate }) or an instance. */
export function getOptimizer(spec: string | Optimizer | OptimizerConfig): Optimizer {
  if (spec instanceof Optimizer) return spec;
  const name = typeof spec === 'string' ? spec : spec?.className;
  const make = typeof name === 'string' ? own(BY_NAME, name.toLowerCase()) : undefined;
  if (!make) throw unknownName('optimizer', name ?? spec, OPTIMIZER_NAMES);
  if (typeof spec === 'string') return make({});
  const { className: _c, ...options } = spec;
  return make(options);
}
