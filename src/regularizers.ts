/**
 * Weight and activity penalties with Keras's names: `l1`, `l2`, `l1l2` (factors 0.01 by default).
 *
 * A penalty is l1 * sum(|x|) + l2 * sum(x^2) over a weight (or a layer's output for the batch), added to the
 * loss as Keras adds a layer's losses: once per batch, not divided by the batch size. Its gradient,
 * l1 * sign(x) + l2 * 2x, is added element by element in float32 to each weight's summed gradient by the
 * worker that owns the element (so its bits never depend on the worker count); the penalty's value for the
 * loss is summed in float64 over the weights in parameter order, the same on every thread.
 *
 * Saved as tfjs-layers writes every regularizer, { class_name: 'L1L2', config: { l1, l2 } } (it registers no
 * other class); read from that and from Keras's L1, L2 and L1L2.
 */
import { badOption, checkOptionKeys } from './errors.js';

const f = Math.fround;

export interface RegularizerConfig {
  className: 'L1' | 'L2' | 'L1L2';
  config: { l1?: number; l2?: number };
}

/** A regularizer as layer options take it: a config, or a Keras name ('l1', 'l2', 'l1_l2') with default factors. */
export type RegularizerSpec = RegularizerConfig | 'l1' | 'l2' | 'l1_l2' | 'l1l2';

const factor = (owner: string, option: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw badOption(owner, option, 'a finite non-negative number', v);
  return v;
};

/** L1 penalty: l1 * sum(|x|). Default l1 = 0.01. */
export function l1(options: { l1?: number } = {}): RegularizerConfig {
  checkOptionKeys('regularizers.l1', options, ['l1']);
  return { className: 'L1', config: { l1: factor('regularizers.l1', 'l1', options.l1 ?? 0.01) } };
}

/** L2 penalty: l2 * sum(x^2). Default l2 = 0.01. */
export function l2(options: { l2?: number } = {}): RegularizerConfig {
  checkOptionKeys('regularizers.l2', options, ['l2']);
  return { className: 'L2', config: { l2: factor('regularizers.l2', 'l2', options.l2 ?? 0.01) } };
}

/** Both: l1 * sum(|x|) + l2 * sum(x^2). Defaults 0.01 each (Keras's l1_l2). */
export function l1l2(options: { l1?: number; l2?: number } = {}): RegularizerConfig {
  checkOptionKeys('regularizers.l1l2', options, ['l1', 'l2']);
  return {
    className: 'L1L2',
    config: {
      l1: factor('regularizers.l1l2', 'l1', options.l1 ?? 0.01),
      l2: factor('regularizers.l1l2', 'l2', options.l2 ?? 0.01),
    },
  };
}

/** A checked regularizer config (or undefined for none); `where` names the layer and option in errors. */
export function checkRegularizer(where: string, spec: unknown): RegularizerConfig | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (spec === 'l1') return l1();
  if (spec === 'l2') return l2();
  if (spec === 'l1_l2' || spec === 'l1l2') return l1l2();
  const bad = () =>
    new Error(
      `${where} must be 'l1', 'l2', 'l1_l2' or a regularizer (regularizers.l2({ l2: 0.01 }), { className: 'L2', config: { l2: 0.01 } }). Received: ${JSON.stringify(spec)}`,
    );
  if (typeof spec !== 'object' || Array.isArray(spec)) throw bad();
  const { className, config } = spec as { className?: unknown; config?: unknown };
  if (config !== undefined && (config === null || typeof config !== 'object')) throw bad();
  const c = (config ?? {}) as Record<string, unknown>;
  if (className === 'L1') return { className, config: { l1: factor(where, 'l1', c.l1 ?? 0.01) } };
  if (className === 'L2') return { className, config: { l2: factor(where, 'l2', c.l2 ?? 0.01) } };
  // Keras's L1L2 class (and tfjs-layers') defaults both factors to 0 when built from a config.
  if (className === 'L1L2')
    return { className, config: { l1: factor(where, 'l1', c.l1 ?? 0), l2: factor(where, 'l2', c.l2 ?? 0) } };
  throw bad();
}

const factors = (r: RegularizerConfig): [number, number] => [r.config.l1 ?? 0, r.config.l2 ?? 0];

/** The penalty of values `x` (float64 sum in index order). */
export function penalty(r: RegularizerConfig, x: ArrayLike<number>, from = 0, to = x.length): number {
  const [a, b] = factors(r);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    s1 += Math.abs(x[i]);
    s2 += x[i] * x[i];
  }
  return a * s1 + b * s2;
}

/** Adds the penalty's gradient at x[i] to g[i] for i in [from, to), in float32 as the autodiff of Keras's graph. */
export function addPenaltyGradient(
  r: RegularizerConfig,
  x: Float32Array,
  g: Float32Array,
  from: number,
  to: number,
  gOffset = 0,
): void {
  const [a, b] = factors(r).map(f);
  for (let i = from; i < to; i++) {
    const v = x[i];
    let d = 0;
    if (b !== 0) d = f(f(2 * v) * b);
    if (a !== 0) d = f(d + f(Math.sign(v) * a));
    g[i - gOffset] = f(g[i - gOffset] + d);
  }
}

/** A regularized weight: where it lies in the flat parameter vector. */
export interface RegularizedSlot {
  offset: number;
  size: number;
  regularizer: RegularizerConfig;
}

/** The sum of the weight penalties, in slot order (the same bits on every thread). */
export function weightPenalty(slots: readonly RegularizedSlot[], params: Float32Array): number {
  let sum = 0;
  for (const s of slots) sum += penalty(s.regularizer, params, s.offset, s.offset + s.size);
  return sum;
}

/** Adds the weight penalties' gradients into `grad` over the parameter range [lo, hi). */
export function addWeightPenaltyGradients(
  slots: readonly RegularizedSlot[],
  params: Float32Array,
  grad: Float32Array,
  lo: number,
  hi: number,
): void {
  for (const s of slots) {
    const from = Math.max(lo, s.offset);
    const to = Math.min(hi, s.offset + s.size);
    if (from < to) addPenaltyGradient(s.regularizer, params, grad, from, to);
  }
}

/** The three regularizer options of Dense and Conv2D, by their Keras field names. */
const FIELDS = [
  ['kernelRegularizer', 'kernel_regularizer'],
  ['biasRegularizer', 'bias_regularizer'],
  ['activityRegularizer', 'activity_regularizer'],
] as const;

/** A layer config's regularizers in the saved format: { class_name: 'L2', config: { l2: 0.01 } } or null. */
export function regularizersToKeras(layer: Record<string, unknown>, where: string): Record<string, unknown> {
  return Object.fromEntries(
    FIELDS.map(([ours, keras]) => {
      const r = checkRegularizer(`${where} ${ours}`, layer[ours]);
      return [keras, r ? { class_name: 'L1L2', config: { l1: r.config.l1 ?? 0, l2: r.config.l2 ?? 0 } } : null];
    }),
  );
}

/** The regularizers of a saved layer config (tfjs-layers' and Keras's { class_name, config }), as layer options. */
export function regularizersFromKeras(c: Record<string, unknown>, where: string): Record<string, RegularizerConfig> {
  const out: Record<string, RegularizerConfig> = {};
  for (const [ours, keras] of FIELDS) {
    const v = c[keras];
    if (v == null) continue;
    const o = v as { class_name?: unknown; config?: unknown };
    if (typeof v !== 'object' || typeof o.class_name !== 'string')
      throw new Error(`${where}: ${keras} must be { class_name, config }. Received: ${JSON.stringify(v)}`);
    // Keras 3 adds registered_name/module beside them; tfjs-layers writes the class alone.
    const r = checkRegularizer(`${where} ${keras}`, { className: o.class_name, config: o.config })!;
    // What tfjs-layers writes for l1() or l2() reads back as that.
    const [a, b] = factors(r);
    out[ours] =
      r.className !== 'L1L2'
        ? r
        : b === 0 && a !== 0
          ? { className: 'L1', config: { l1: a } }
          : a === 0 && b !== 0
            ? { className: 'L2', config: { l2: b } }
            : r;
  }
  return out;
}
