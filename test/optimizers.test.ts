/**
 * Optimizers against Keras 3's update rules, written out below from keras/src/optimizers/{sgd,rmsprop,adam,
 * adamw,adagrad}.py and the base optimizer's decoupled weight decay, in Keras's own arithmetic: float32
 * variables and hyperparameters, every operation rounded to float32 (`f`), in the order Keras writes them.
 * lockstep must give the same bits. Two deviations are documented in optimizers.ts: Adam's bias-corrected
 * step size `alpha` is a scalar computed in float64 and rounded once (Keras: float32 scalar ops), and state
 * below float32's smallest normal is stored as 0 (`ftz`, TensorFlow's flush-to-zero on CPU).
 *
 * Gradients span 1e-45..10 so that epsilon's place (inside or outside the square root), the bias
 * correction, the decay order and float32 underflow of g * g all show in the result.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Adagrad, Adam, AdamW, Optimizer, RMSprop, SGD } from '../src/optimizers.js';
import { FC_SEED } from './helpers/models.js';

const f = Math.fround;
/** TensorFlow's flush-to-zero on CPU, which lockstep applies to stored optimizer state (see optimizers.ts). */
const ftz = (x: number) => (Math.abs(x) < 2 ** -126 ? 0 : x);

/** One element's Keras 3 update: new weight and state values (in lockstep's stateNames order). */
type KerasRule = (p: number, g: number, s: number[], step: number, lr: number) => { p: number; s: number[] };

interface Config {
  name: string;
  make: () => Optimizer;
  /** Keras's variable names for the state, in order. */
  stateNames: string[];
  /** Keras's initial value of each state variable. */
  initial: number[];
  rule: KerasRule;
}

function sgd(momentum: number, nesterov: boolean): KerasRule {
  return (p, g, [m], _step, lr32) => {
    const lr = f(lr32);
    const mu = f(momentum);
    if (momentum === 0) return { p: f(p - f(g * lr)), s: [] };
    // m = m * momentum - g * lr; then variable += m, or for Nesterov += m * momentum - g * lr.
    const m1 = ftz(f(f(m * mu) - f(g * lr)));
    return { p: nesterov ? f(p + f(f(m1 * mu) - f(g * lr))) : f(p + m1), s: [m1] };
  };
}

function rmsprop(rho64: number, momentum: number, epsilon: number, centered: boolean): KerasRule {
  return (p, g, s, _step, lr32) => {
    const [lr, rho, c, eps, mu] = [f(lr32), f(rho64), f(1 - rho64), f(epsilon), f(momentum)];
    let k = 0;
    const velocity = ftz(f(f(rho * s[k++]) + f(c * f(g * g))));
    const out = [velocity];
    let mom: number | undefined;
    if (momentum > 0) mom = s[k++];
    let denominator = f(velocity + eps);
    let avg: number | undefined;
    if (centered) {
      avg = ftz(f(f(rho * s[k]) + f(c * g)));
      denominator = f(f(velocity - f(avg * avg)) + eps);
    }
    const increment = f(f(lr * g) / f(Math.sqrt(denominator)));
    if (mom !== undefined) {
      const m1 = ftz(f(f(mu * mom) + increment));
      out.push(m1);
      p = f(p - m1);
    } else p = f(p - increment);
    if (avg !== undefined) out.push(avg);
    return { p, s: out };
  };
}

function adam(beta1: number, beta2: number, epsilon: number, weightDecay = 0): KerasRule {
  return (p, g, [m, v], step, lr32) => {
    const lr = f(lr32);
    // Decoupled weight decay (AdamW): variable -= variable * weight_decay * lr, before the Adam step.
    if (weightDecay) p = f(p - f(f(p * f(weightDecay)) * lr));
    const alpha = f((lr * Math.sqrt(1 - beta2 ** step)) / (1 - beta1 ** step));
    const m1 = ftz(f(m + f(f(g - m) * f(1 - beta1))));
    const v1 = ftz(f(v + f(f(f(g * g) - v) * f(1 - beta2))));
    return { p: f(p - f(f(m1 * alpha) / f(f(Math.sqrt(v1)) + f(epsilon)))), s: [m1, v1] };
  };
}

function adagrad(epsilon: number): KerasRule {
  return (p, g, [acc], _step, lr32) => {
    const lr = f(lr32);
    const a = ftz(f(acc + f(g * g)));
    return { p: f(p - f(f(lr * g) / f(Math.sqrt(f(a + f(epsilon)))))), s: [a] };
  };
}

const CONFIGS: Config[] = [
  { name: 'SGD', make: () => new SGD(), stateNames: [], initial: [], rule: sgd(0, false) },
  {
    name: 'SGD momentum 0.9',
    make: () => new SGD({ momentum: 0.9 }),
    stateNames: ['momentum'],
    initial: [0],
    rule: sgd(0.9, false),
  },
  {
    name: 'SGD momentum 0.8 nesterov',
    make: () => new SGD({ momentum: 0.8, nesterov: true }),
    stateNames: ['momentum'],
    initial: [0],
    rule: sgd(0.8, true),
  },
  {
    name: 'RMSprop',
    make: () => new RMSprop(),
    stateNames: ['velocity'],
    initial: [0],
    rule: rmsprop(0.9, 0, 1e-7, false),
  },
  {
    name: 'RMSprop momentum 0.5',
    make: () => new RMSprop({ momentum: 0.5 }),
    stateNames: ['velocity', 'momentum'],
    initial: [0, 0],
    rule: rmsprop(0.9, 0.5, 1e-7, false),
  },
  {
    name: 'RMSprop centered',
    make: () => new RMSprop({ centered: true }),
    stateNames: ['velocity', 'average_gradient'],
    initial: [0, 0],
    rule: rmsprop(0.9, 0, 1e-7, true),
  },
  {
    name: 'RMSprop rho 0.8, momentum 0.3, epsilon 1e-5, centered',
    make: () => new RMSprop({ rho: 0.8, momentum: 0.3, epsilon: 1e-5, centered: true }),
    stateNames: ['velocity', 'momentum', 'average_gradient'],
    initial: [0, 0, 0],
    rule: rmsprop(0.8, 0.3, 1e-5, true),
  },
  {
    name: 'Adam',
    make: () => new Adam(),
    stateNames: ['momentum', 'velocity'],
    initial: [0, 0],
    rule: adam(0.9, 0.999, 1e-7),
  },
  {
    name: 'Adam beta1 0.8, beta2 0.99, epsilon 1e-4',
    make: () => new Adam({ beta1: 0.8, beta2: 0.99, epsilon: 1e-4 }),
    stateNames: ['momentum', 'velocity'],
    initial: [0, 0],
    rule: adam(0.8, 0.99, 1e-4),
  },
  {
    name: 'AdamW',
    make: () => new AdamW(),
    stateNames: ['momentum', 'velocity'],
    initial: [0, 0],
    rule: adam(0.9, 0.999, 1e-7, 0.004),
  },
  {
    name: 'AdamW weight decay 0.1',
    make: () => new AdamW({ weightDecay: 0.1 }),
    stateNames: ['momentum', 'velocity'],
    initial: [0, 0],
    rule: adam(0.9, 0.999, 1e-7, 0.1),
  },
  { name: 'Adagrad', make: () => new Adagrad(), stateNames: ['accumulator'], initial: [0.1], rule: adagrad(1e-7) },
  {
    name: 'Adagrad initial 0.5, epsilon 1e-4',
    make: () => new Adagrad({ initialAccumulatorValue: 0.5, epsilon: 1e-4 }),
    stateNames: ['accumulator'],
    initial: [0.5],
    rule: adagrad(1e-4),
  },
];

// Weights and gradients: float32 values over many magnitudes (fast-check's float spreads over exponents).
const weight = fc.oneof(fc.constant(0), fc.float({ min: -2, max: 2, noNaN: true }));
const gradient = fc.float({ min: -10, max: 10, noNaN: true });
const learningRate = fc.constantFrom(1e-3, 0.01, 0.1, 0.5);

interface Run {
  lr: number;
  p0: number[];
  grads: number[][];
}
const runArb = fc.integer({ min: 1, max: 16 }).chain((n) =>
  fc.record({
    lr: learningRate,
    p0: fc.array(weight, { minLength: n, maxLength: n }),
    grads: fc.array(fc.array(gradient, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 5 }),
  }),
);

/** Allocates params/state like the engine (initial state from `initialState`), ping-pong buffers. */
function buffers(opt: Optimizer, p0: number[]) {
  const n = p0.length;
  const k = opt.stateNames.length;
  const params = [Float32Array.from(p0), new Float32Array(n)];
  const state = [
    Array.from({ length: k }, (_, j) => new Float32Array(n).fill(opt.initialState(j))),
    Array.from({ length: k }, () => new Float32Array(n)),
  ];
  return { params, state };
}

describe.each(CONFIGS)('$name', (config) => {
  it("has Keras's state variables and initial values", () => {
    const opt = config.make();
    expect(opt.stateNames).toEqual(config.stateNames);
    expect(config.stateNames.map((_, j) => opt.initialState(j))).toEqual(config.initial);
  });

  it("one to five steps each give the bits of Keras 3's float32 arithmetic", () => {
    fc.assert(
      fc.property(runArb, ({ lr, p0, grads }: Run) => {
        const opt = config.make();
        const { params, state } = buffers(opt, p0);
        grads.forEach((g, t) => {
          const cur = t % 2;
          const next = 1 - cur;
          opt.update({
            params: params[cur],
            grads: Float32Array.from(g),
            state: state[cur],
            paramsOut: params[next],
            stateOut: state[next],
            start: 0,
            end: p0.length,
            step: t + 1,
            learningRate: lr,
          });
          for (let i = 0; i < p0.length; i++) {
            const want = config.rule(
              params[cur][i],
              f(g[i]),
              state[cur].map((s) => s[i]),
              t + 1,
              lr,
            );
            const close = (got: number, ref: number, before: number, what: string) => {
              if (!Object.is(got, ref)) {
                throw new Error(
                  `step ${t + 1}, element ${i}: ${what} is ${got}, Keras's formula gives ${ref} (before: ${before}, gradient ${g[i]}, lr ${lr})`,
                );
              }
            };
            close(params[next][i], want.p, params[cur][i], 'the weight');
            want.s.forEach((s, j) => close(state[next][j][i], s, state[cur][j][i], config.stateNames[j]));
          }
        });
      }),
      { seed: FC_SEED, numRuns: 150 },
    );
  });

  it('updating [0, n) in one call gives the same bits as [0, k) then [k, n)', () => {
    const arb = fc.integer({ min: 1, max: 48 }).chain((n) =>
      fc.record({
        k: fc.integer({ min: 0, max: n }),
        lr: learningRate,
        step: fc.integer({ min: 1, max: 1000 }),
        p: fc.array(weight, { minLength: n, maxLength: n }),
        g: fc.array(gradient, { minLength: n, maxLength: n }),
        // Non-negative state keeps velocities and accumulators meaningful; momenta may be either sign anyway.
        s: fc.array(fc.array(fc.float({ min: 0, max: 4, noNaN: true }), { minLength: n, maxLength: n }), {
          minLength: 3,
          maxLength: 3,
        }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ k, lr, step, p, g, s }) => {
        const opt = config.make();
        const n = p.length;
        const params = Float32Array.from(p);
        const grads = Float32Array.from(g);
        const state = opt.stateNames.map((_, j) => Float32Array.from(s[j]));
        const whole = { p: new Float32Array(n), s: state.map(() => new Float32Array(n)) };
        const split = { p: new Float32Array(n), s: state.map(() => new Float32Array(n)) };
        opt.update({
          params,
          grads,
          state,
          paramsOut: whole.p,
          stateOut: whole.s,
          start: 0,
          end: n,
          step,
          learningRate: lr,
        });
        opt.update({
          params,
          grads,
          state,
          paramsOut: split.p,
          stateOut: split.s,
          start: 0,
          end: k,
          step,
          learningRate: lr,
        });
        opt.update({
          params,
          grads,
          state,
          paramsOut: split.p,
          stateOut: split.s,
          start: k,
          end: n,
          step,
          learningRate: lr,
        });
        const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer));
        expect(bits(split.p)).toEqual(bits(whole.p));
        split.s.forEach((a, j) => expect(bits(a)).toEqual(bits(whole.s[j])));
      }),
      { seed: FC_SEED, numRuns: 100 },
    );
  });
});
