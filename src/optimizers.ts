/**
 * Optimizers with Keras 3's update rules and defaults, from simplest to most complex.
 *
 * Each is a small class whose `update` reads parameters and state from one set of buffers and writes the
 * new values to another (the engine ping-pongs them, so a failed step never leaves half-updated weights).
 * It touches only [start, end), so workers can update disjoint ranges in parallel; every element's update
 * depends on that element alone, which keeps the result independent of how the range is split.
 * Arithmetic is float64, rounded to float32 on store.
 */
import { badOption, checkPositiveNumber, unknownName } from './errors.js';

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
}

export interface OptimizerConfig {
  className: string;
  learningRate: number;
  [option: string]: unknown;
}

export abstract class Optimizer {
  abstract readonly className: string;
  learningRate: number;
  /** Per-parameter state arrays (momentum, velocity...), with Keras's names. */
  abstract readonly stateNames: string[];

  constructor(learningRate: number, owner: string) {
    this.learningRate = checkPositiveNumber(owner, 'learningRate', learningRate);
  }

  /** Initial value of each state array. */
  initialState(_slot: number): number {
    return 0;
  }

  abstract update(a: UpdateArgs): void;
  abstract getConfig(): OptimizerConfig;
}

const fraction = (owner: string, option: string, v: number) => {
  if (!(v >= 0 && v < 1)) throw badOption(owner, option, 'in [0, 1)', v);
  return v;
};

export interface SGDOptions {
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly className = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor({ learningRate = 0.01, momentum = 0, nesterov = false }: SGDOptions = {}) {
    super(learningRate, 'SGD');
    this.momentum = fraction('SGD', 'momentum', momentum);
    this.nesterov = nesterov;
  }

  get stateNames(): string[] {
    return this.momentum > 0 ? ['momentum'] : [];
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, learningRate: lr }: UpdateArgs): void {
    const mu = this.momentum;
    if (mu === 0) {
      for (let i = start; i < end; i++) paramsOut[i] = params[i] - lr * grads[i];
      return;
    }
    const [m] = state;
    const [mOut] = stateOut;
    for (let i = start; i < end; i++) {
      const v = mu * m[i] - lr * grads[i];
      mOut[i] = v;
      paramsOut[i] = this.nesterov ? params[i] + mu * v - lr * grads[i] : params[i] + v;
    }
  }

  getConfig(): OptimizerConfig {
    return { className: this.className, learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }
}

export interface AdagradOptions {
  learningRate?: number;
  initialAccumulatorValue?: number;
  epsilon?: number;
}

export class Adagrad extends Optimizer {
  readonly className = 'Adagrad';
  readonly stateNames = ['accumulator'];
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;

  constructor({ learningRate = 0.001, initialAccumulatorValue = 0.1, epsilon = 1e-7 }: AdagradOptions = {}) {
    super(learningRate, 'Adagrad');
    if (!(initialAccumulatorValue >= 0)) throw badOption('Adagrad', 'initialAccumulatorValue', 'non-negative', initialAccumulatorValue);
    this.initialAccumulatorValue = initialAccumulatorValue;
    this.epsilon = checkPositiveNumber('Adagrad', 'epsilon', epsilon);
  }

  initialState(): number {
    return this.initialAccumulatorValue;
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, learningRate: lr }: UpdateArgs): void {
    const [acc] = state;
    const [accOut] = stateOut;
    for (let i = start; i < end; i++) {
      const g = grads[i];
      const a = acc[i] + g * g;
      accOut[i] = a;
      paramsOut[i] = params[i] - (lr * g) / Math.sqrt(Math.fround(a) + this.epsilon);
    }
  }

  getConfig(): OptimizerConfig {
    return { className: this.className, learningRate: this.learningRate, initialAccumulatorValue: this.initialAccumulatorValue, epsilon: this.epsilon };
  }
}

export interface RMSpropOptions {
  learningRate?: number;
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

  constructor({ learningRate = 0.001, rho = 0.9, momentum = 0, epsilon = 1e-7, centered = false }: RMSpropOptions = {}) {
    super(learningRate, 'RMSprop');
    this.rho = fraction('RMSprop', 'rho', rho);
    this.momentum = fraction('RMSprop', 'momentum', momentum);
    this.epsilon = checkPositiveNumber('RMSprop', 'epsilon', epsilon);
    this.centered = centered;
  }

  get stateNames(): string[] {
    return ['velocity', ...(this.momentum > 0 ? ['momentum'] : []), ...(this.centered ? ['average_gradient'] : [])];
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, learningRate: lr }: UpdateArgs): void {
    const { rho, epsilon } = this;
    const [vel] = state;
    const [velOut] = stateOut;
    if (this.momentum === 0 && !this.centered) {
      // The common case, kept branch-free: it runs over every parameter at every step.
      for (let i = start; i < end; i++) {
        const g = grads[i];
        const v = Math.fround(rho * vel[i] + (1 - rho) * g * g);
        velOut[i] = v;
        // Keras 3 puts epsilon inside the square root.
        paramsOut[i] = params[i] - (lr * g) / Math.sqrt(v + epsilon);
      }
      return;
    }
    const mom = this.momentum > 0;
    const m = mom ? state[1] : undefined;
    const mOut = mom ? stateOut[1] : undefined;
    const avg = this.centered ? state[mom ? 2 : 1] : undefined;
    const avgOut = this.centered ? stateOut[mom ? 2 : 1] : undefined;
    for (let i = start; i < end; i++) {
      const g = grads[i];
      const v = Math.fround(rho * vel[i] + (1 - rho) * g * g);
      velOut[i] = v;
      let denom = v + epsilon;
      if (avg && avgOut) {
        const ag = Math.fround(rho * avg[i] + (1 - rho) * g);
        avgOut[i] = ag;
        denom = v - ag * ag + epsilon;
      }
      const inc = (lr * g) / Math.sqrt(denom);
      if (m && mOut) {
        const mv = Math.fround(this.momentum * m[i] + inc);
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

export interface AdamOptions {
  learningRate?: number;
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

  constructor({ learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7 }: AdamOptions = {}, owner = 'Adam') {
    super(learningRate, owner);
    this.beta1 = fraction(owner, 'beta1', beta1);
    this.beta2 = fraction(owner, 'beta2', beta2);
    this.epsilon = checkPositiveNumber(owner, 'epsilon', epsilon);
  }

  /** Weight decay applied before the Adam step (AdamW); plain Adam has none. */
  protected decay(_lr: number): number {
    return 0;
  }

  update({ params, grads, state, paramsOut, stateOut, start, end, step, learningRate: lr }: UpdateArgs): void {
    const { beta1, beta2, epsilon } = this;
    const alpha = (lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step);
    const wd = this.decay(lr);
    const [m, v] = state;
    const [mOut, vOut] = stateOut;
    for (let i = start; i < end; i++) {
      const g = grads[i];
      const p = wd === 0 ? params[i] : Math.fround(params[i] - params[i] * wd);
      const mi = Math.fround(m[i] + (g - m[i]) * (1 - beta1));
      const vi = Math.fround(v[i] + (g * g - v[i]) * (1 - beta2));
      mOut[i] = mi;
      vOut[i] = vi;
      paramsOut[i] = p - (alpha * mi) / (Math.sqrt(vi) + epsilon);
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

  constructor({ weightDecay = 0.004, ...adam }: AdamWOptions = {}) {
    super(adam, 'AdamW');
    if (!(weightDecay >= 0)) throw badOption('AdamW', 'weightDecay', 'non-negative', weightDecay);
    this.weightDecay = weightDecay;
  }

  protected decay(lr: number): number {
    return lr * this.weightDecay;
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

/** An optimizer from a Keras name ('rmsprop'), a config ({ className: 'Adam', learningRate }) or an instance. */
export function getOptimizer(spec: string | Optimizer | OptimizerConfig): Optimizer {
  if (spec instanceof Optimizer) return spec;
  const name = typeof spec === 'string' ? spec : spec?.className;
  const make = typeof name === 'string' ? BY_NAME[name.toLowerCase()] : undefined;
  if (!make) throw unknownName('optimizer', name ?? spec, OPTIMIZER_NAMES);
  if (typeof spec === 'string') return make({});
  const { className: _c, ...options } = spec;
  return make(options);
}
