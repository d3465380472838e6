/**
 * Learning-rate schedules with Keras 3's names, options and float32 arithmetic: each is a function of the
 * optimizer's update count (Keras's `iterations`, 0 at the first update), evaluated before every update. Each
 * operation is rounded to float32 (`f`) in the order Keras's graph runs it, so a schedule gives the same rate
 * at the same step in any process, and a resumed fit (which restores the count) continues exactly.
 *
 * ```ts
 * const lr = new schedules.CosineDecay({
 *   initialLearningRate: 0.01, decaySteps: 1000, warmupTarget: 0.1, warmupSteps: 100,
 * });
 * model.compile({ loss: 'binary_crossentropy', optimizer: new optimizers.Adam({ learningRate: lr }) });
 * ```
 */
import { badOption, checkOptionKeys, own, unknownName } from './errors.js';

const f = Math.fround;
const PI = f(Math.PI);

export interface ScheduleConfig {
  className: string;
  config: Record<string, unknown>;
}

export abstract class LearningRateSchedule {
  abstract readonly className: string;
  /** The rate for the update after `step` updates. */
  abstract at(step: number): number;
  abstract getConfig(): Record<string, unknown>;
  toConfig(): ScheduleConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

const positive = (owner: string, k: string, v: unknown): number => {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw badOption(owner, k, 'a positive finite number', v);
  return v;
};
const nonNegative = (owner: string, k: string, v: unknown): number => {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw badOption(owner, k, 'a finite number >= 0', v);
  return v;
};
const bool = (owner: string, k: string, v: unknown): boolean => {
  if (typeof v !== 'boolean') throw badOption(owner, k, 'true or false', v);
  return v;
};

export interface ExponentialDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
}

/** initialLearningRate * decayRate ^ (step / decaySteps), the exponent floored when `staircase`. */
export class ExponentialDecay extends LearningRateSchedule {
  readonly className = 'ExponentialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;
  constructor(o: ExponentialDecayOptions) {
    super();
    checkOptionKeys('ExponentialDecay', o, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase']);
    this.initialLearningRate = positive('ExponentialDecay', 'initialLearningRate', o?.initialLearningRate);
    this.decaySteps = positive('ExponentialDecay', 'decaySteps', o.decaySteps);
    this.decayRate = positive('ExponentialDecay', 'decayRate', o.decayRate);
    this.staircase = bool('ExponentialDecay', 'staircase', o.staircase ?? false);
  }
  at(step: number): number {
    let p = f(f(step) / f(this.decaySteps));
    if (this.staircase) p = Math.floor(p);
    return f(f(this.initialLearningRate) * f(Math.pow(f(this.decayRate), p)));
  }
  getConfig() {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      decayRate: this.decayRate,
      staircase: this.staircase,
    };
  }
}

export interface PiecewiseConstantDecayOptions {
  /** Increasing step counts. */
  boundaries: number[];
  /** One more value than boundaries: values[0] up to and including boundaries[0], and so on. */
  values: number[];
}

/**
 * values[0] while step <= boundaries[0], values[i + 1] while boundaries[i] < step <= boundaries[i + 1], then the
 * last.
 */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  readonly className = 'PiecewiseConstantDecay';
  readonly boundaries: number[];
  readonly values: number[];
  constructor(o: PiecewiseConstantDecayOptions) {
    super();
    checkOptionKeys('PiecewiseConstantDecay', o, ['boundaries', 'values']);
    const { boundaries, values } = o ?? ({} as PiecewiseConstantDecayOptions);
    if (
      !Array.isArray(boundaries) ||
      boundaries.length === 0 ||
      boundaries.some((b, i) => typeof b !== 'number' || !Number.isFinite(b) || (i > 0 && b <= boundaries[i - 1]))
    )
      throw badOption('PiecewiseConstantDecay', 'boundaries', 'a non-empty increasing array of numbers', boundaries);
    if (!Array.isArray(values) || values.length !== boundaries.length + 1)
      throw new Error(
        `PiecewiseConstantDecay: values must have one more element than boundaries (${boundaries.length + 1}). Received: ${JSON.stringify(values)}`,
      );
    values.forEach((v, i) => positive('PiecewiseConstantDecay', `values[${i}]`, v));
    this.boundaries = [...boundaries];
    this.values = [...values];
  }
  at(step: number): number {
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && step > b[i]) i++;
    return f(this.values[i]);
  }
  getConfig() {
    return { boundaries: this.boundaries, values: this.values };
  }
}

export interface InverseTimeDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
}

/** initialLearningRate / (1 + decayRate * step / decaySteps), the quotient floored when `staircase`. */
export class InverseTimeDecay extends LearningRateSchedule {
  readonly className = 'InverseTimeDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;
  constructor(o: InverseTimeDecayOptions) {
    super();
    checkOptionKeys('InverseTimeDecay', o, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase']);
    this.initialLearningRate = positive('InverseTimeDecay', 'initialLearningRate', o?.initialLearningRate);
    this.decaySteps = positive('InverseTimeDecay', 'decaySteps', o.decaySteps);
    this.decayRate = nonNegative('InverseTimeDecay', 'decayRate', o.decayRate);
    this.staircase = bool('InverseTimeDecay', 'staircase', o.staircase ?? false);
  }
  at(step: number): number {
    let p = f(f(step) / f(this.decaySteps));
    if (this.staircase) p = Math.floor(p);
    return f(f(this.initialLearningRate) / f(1 + f(f(this.decayRate) * p)));
  }
  getConfig() {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      decayRate: this.decayRate,
      staircase: this.staircase,
    };
  }
}

export interface PolynomialDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  /** Default 0.0001. */
  endLearningRate?: number;
  /** Default 1. */
  power?: number;
  /** Restart past decaySteps (with decaySteps scaled up), default false. */
  cycle?: boolean;
}

/** (initial - end) * (1 - step / decaySteps) ^ power + end, with step capped at decaySteps unless `cycle`. */
export class PolynomialDecay extends LearningRateSchedule {
  readonly className = 'PolynomialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly endLearningRate: number;
  readonly power: number;
  readonly cycle: boolean;
  constructor(o: PolynomialDecayOptions) {
    super();
    checkOptionKeys('PolynomialDecay', o, ['initialLearningRate', 'decaySteps', 'endLearningRate', 'power', 'cycle']);
    this.initialLearningRate = positive('PolynomialDecay', 'initialLearningRate', o?.initialLearningRate);
    this.decaySteps = positive('PolynomialDecay', 'decaySteps', o.decaySteps);
    this.endLearningRate = nonNegative('PolynomialDecay', 'endLearningRate', o.endLearningRate ?? 0.0001);
    this.power = nonNegative('PolynomialDecay', 'power', o.power ?? 1);
    this.cycle = bool('PolynomialDecay', 'cycle', o.cycle ?? false);
  }
  at(step: number): number {
    let s = f(step);
    let ds = f(this.decaySteps);
    if (this.cycle) ds = f(ds * (s === 0 ? 1 : Math.ceil(f(s / f(this.decaySteps)))));
    else s = Math.min(s, ds);
    const p = f(s / ds);
    const init = f(this.initialLearningRate);
    const end = f(this.endLearningRate);
    return f(f(f(init - end) * f(Math.pow(f(1 - p), f(this.power)))) + end);
  }
  getConfig() {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      endLearningRate: this.endLearningRate,
      power: this.power,
      cycle: this.cycle,
    };
  }
}

/** Keras's cosine decay of `from` over `steps`, at `step` (all float32). */
function cosineDecay(step: number, steps: number, from: number, alpha: number): number {
  const completed = f(step / steps);
  const cos = f(0.5 * f(1 + f(Math.cos(f(PI * completed)))));
  const decayed = f(f(f(1 - alpha) * cos) + f(alpha));
  return f(from * decayed);
}

export interface CosineDecayOptions {
  initialLearningRate: number;
  decaySteps: number;
  /** The floor, as a fraction of the rate decayed from. Default 0. */
  alpha?: number;
  /** With warmupSteps: the rate rises linearly from initialLearningRate to this, then decays from it. */
  warmupTarget?: number | null;
  warmupSteps?: number;
}

/** Cosine decay from initialLearningRate (or, after a linear warm-up, from warmupTarget) over decaySteps. */
export class CosineDecay extends LearningRateSchedule {
  readonly className = 'CosineDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;
  constructor(o: CosineDecayOptions) {
    super();
    checkOptionKeys('CosineDecay', o, ['initialLearningRate', 'decaySteps', 'alpha', 'warmupTarget', 'warmupSteps']);
    this.initialLearningRate = nonNegative('CosineDecay', 'initialLearningRate', o?.initialLearningRate);
    this.decaySteps = positive('CosineDecay', 'decaySteps', o.decaySteps);
    this.alpha = nonNegative('CosineDecay', 'alpha', o.alpha ?? 0);
    this.warmupTarget =
      o.warmupTarget === undefined || o.warmupTarget === null
        ? null
        : positive('CosineDecay', 'warmupTarget', o.warmupTarget);
    this.warmupSteps = nonNegative('CosineDecay', 'warmupSteps', o.warmupSteps ?? 0);
  }
  at(step: number): number {
    const init = f(this.initialLearningRate);
    const ds = f(this.decaySteps);
    let s = f(step);
    if (this.warmupTarget === null) return cosineDecay(Math.min(s, ds), ds, init, this.alpha);
    const target = f(this.warmupTarget);
    const ws = f(this.warmupSteps);
    s = Math.min(s, f(ds + ws));
    if (s < ws) return f(f(f(target - init) * f(s / ws)) + init);
    return cosineDecay(f(s - ws), ds, target, this.alpha);
  }
  getConfig() {
    return {
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      alpha: this.alpha,
      warmupTarget: this.warmupTarget,
      warmupSteps: this.warmupSteps,
    };
  }
}

export interface CosineDecayRestartsOptions {
  initialLearningRate: number;
  firstDecaySteps: number;
  /** Each period is tMul times the one before. Default 2. */
  tMul?: number;
  /** Each restart starts from mMul times the rate of the one before. Default 1. */
  mMul?: number;
  alpha?: number;
}

/** SGDR: cosine decay over periods of firstDecaySteps * tMul^i, each restarting at initialLearningRate * mMul^i. */
export class CosineDecayRestarts extends LearningRateSchedule {
  readonly className = 'CosineDecayRestarts';
  readonly initialLearningRate: number;
  readonly firstDecaySteps: number;
  readonly tMul: number;
  readonly mMul: number;
  readonly alpha: number;
  constructor(o: CosineDecayRestartsOptions) {
    super();
    checkOptionKeys('CosineDecayRestarts', o, ['initialLearningRate', 'firstDecaySteps', 'tMul', 'mMul', 'alpha']);
    this.initialLearningRate = nonNegative('CosineDecayRestarts', 'initialLearningRate', o?.initialLearningRate);
    this.firstDecaySteps = positive('CosineDecayRestarts', 'firstDecaySteps', o.firstDecaySteps);
    this.tMul = positive('CosineDecayRestarts', 'tMul', o.tMul ?? 2);
    this.mMul = nonNegative('CosineDecayRestarts', 'mMul', o.mMul ?? 1);
    this.alpha = nonNegative('CosineDecayRestarts', 'alpha', o.alpha ?? 0);
  }
  at(step: number): number {
    const init = f(this.initialLearningRate);
    const alpha = f(this.alpha);
    const tMul = f(this.tMul);
    const mMul = f(this.mMul);
    let completed = f(f(step) / f(this.firstDecaySteps));
    let iRestart: number;
    if (tMul === 1) {
      iRestart = Math.floor(completed);
      completed = f(completed - iRestart);
    } else {
      iRestart = Math.floor(f(f(Math.log(f(1 - f(completed * f(1 - tMul))))) / f(Math.log(tMul))));
      const sumR = f(f(1 - f(Math.pow(tMul, iRestart))) / f(1 - tMul));
      completed = f(f(completed - sumR) / f(Math.pow(tMul, iRestart)));
    }
    const mFac = f(Math.pow(mMul, iRestart));
    const cos = f(f(0.5 * mFac) * f(1 + f(Math.cos(f(PI * completed)))));
    const decayed = f(f(f(1 - alpha) * cos) + alpha);
    return f(init * decayed);
  }
  getConfig() {
    return {
      initialLearningRate: this.initialLearningRate,
      firstDecaySteps: this.firstDecaySteps,
      tMul: this.tMul,
      mMul: this.mMul,
      alpha: this.alpha,
    };
  }
}

const CLASSES: Record<string, (o: never) => LearningRateSchedule> = {
  ExponentialDecay: (o) => new ExponentialDecay(o),
  PiecewiseConstantDecay: (o) => new PiecewiseConstantDecay(o),
  InverseTimeDecay: (o) => new InverseTimeDecay(o),
  PolynomialDecay: (o) => new PolynomialDecay(o),
  CosineDecay: (o) => new CosineDecay(o),
  CosineDecayRestarts: (o) => new CosineDecayRestarts(o),
};

/** A schedule from an instance or its config ({ className: 'CosineDecay', config: {...} }). */
export function getSchedule(spec: LearningRateSchedule | ScheduleConfig, owner = 'learningRate'): LearningRateSchedule {
  if (spec instanceof LearningRateSchedule) return spec;
  const make = typeof spec?.className === 'string' ? own(CLASSES, spec.className) : undefined;
  if (!make) throw unknownName(`${owner} schedule`, spec?.className, Object.keys(CLASSES));
  if (spec.config === null || typeof spec.config !== 'object')
    throw badOption(spec.className, 'config', 'an object', spec.config);
  return make(spec.config as never);
}
