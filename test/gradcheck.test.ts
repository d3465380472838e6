/**
 * Gradient checks: lockstep's hand-written backward passes (float32, tfjs on wasm, in this thread) against
 * central differences of the independent float64 reference in test/reference.ts, for every activation, every
 * loss (fused and unfused), Dropout, and random whole Sequential models.
 *
 * Tolerance, PyTorch-gradcheck style: |analytic - numeric| <= RTOL |numeric| + ATOL S_i + FLOOR.
 * - numeric: central differences in float64 with h = 1e-5, the textbook optimum (3 eps / |f'''|)^(1/3) for
 *   float64: truncation h^2 |f'''| / 6 and roundoff eps |L| / h are both ~1e-11, far below float32's error.
 * - analytic: float32 throughout (u = 2^-24 ~ 6e-8). S_i (helpers/float32.ts) bounds the magnitude of every
 *   term that goes into weight i's gradient, with derivatives that float32 knows only to absolute precision
 *   (1 - y^2 of a saturated tanh, selu's e^z - 1) taken at their bounds, so the float32 result is within
 *   c u S_i of the exact one, c ~ tens of operations (3 layers of <= 8 units, <= 6 rows). ATOL = 1e-4 ~ 1700 u
 *   leaves a factor of 30 or more over that; RTOL = 1e-3 adds room for well-conditioned entries (S_i ~ |g_i|)
 *   without hiding a wrong derivative, which is off by O(1) relative. FLOOR = 1e-9 (1 + |L|) covers the
 *   numeric side's ~1e-11 noise on entries that are exactly zero.
 *   Measured over 9000 random models: the worst entry used 1% of its allowance, the 99th percentile 0.25%.
 * Kinks are not hidden by tolerance: a case is discarded (fc.pre, ~3% of cases) when a relu/selu/elu
 * pre-activation, an mae/huber error or a clipped probability lies too close to its kink for float32 to be
 * on the same side as float64, or changes side within +-h for some parameter, or an unfused log-loss sits
 * near its pole, where float32's rounding of p is itself the error (helpers/models.ts).
 *
 * Runs with a fixed seed (LOCKSTEP_SEED, default 42); LOCKSTEP_GRADCHECK_RUNS=2000 runs every property
 * longer. A failure prints fast-check's seed and path, which replay it.
 */
import { beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { initBackend } from '../src/backend.js';
import { NO_HOOKS, type TaskHooks } from '../src/testing.js';
import { ACTIVATIONS, LOSSES, paramCount, type ActivationName, type LossName, type ModelSpec } from './reference.js';
import {
  FC_SEED,
  activationArb,
  caseArb,
  describe as describeCase,
  dropoutMasks,
  layoutMatches,
  lockstepGradients,
  modelSpecArb,
  numericGradient,
  rateArb,
  runs,
  type Case,
} from './helpers/models.js';

/** The test hooks the gradient computations below run with: a planted bug while a test sets one. */
let hooks: TaskHooks = NO_HOOKS;

const RTOL = 1e-3;
const ATOL = 1e-4;

beforeAll(async () => {
  await initBackend();
});

/** Throws (naming the weight and both values) unless lockstep's gradient matches the reference's. */
function gradientsAgree(c: Case): void {
  const masks = dropoutMasks(c.spec, c);
  const numeric = numericGradient(c, masks);
  fc.pre(numeric.blocked === undefined);
  const { grad, net } = lockstepGradients(c, hooks);
  if (!layoutMatches(net, c.spec))
    throw new Error(`lockstep's weight layout differs from Keras's: ${JSON.stringify(net.slots)}`);
  const floor = 1e-9 * (1 + Math.abs(numeric.loss));
  for (let i = 0; i < grad.length; i++) {
    const n = numeric.grad[i];
    const tol = RTOL * Math.abs(n) + ATOL * numeric.scales[i] + floor;
    if (!(Math.abs(grad[i] - n) <= tol)) {
      const slot = net.slots.find((s) => i >= s.offset && i < s.offset + s.size)!;
      throw new Error(
        `${describeCase(c)}: d loss / d ${slot.name}[${i - slot.offset}] is ${grad[i]} in lockstep, ${n} by central differences ` +
          `(difference ${Math.abs(grad[i] - n)}, tolerance ${tol})`,
      );
    }
  }
}

const property = (specs: fc.Arbitrary<ModelSpec>) => fc.property(caseArb(specs), gradientsAgree);
const params = (numRuns: number): fc.Parameters<[Case]> => ({ seed: FC_SEED, numRuns: runs(numRuns) });
/** Enough time for LOCKSTEP_GRADCHECK_RUNS (a model takes a few ms). */
const timeout = (numRuns: number) => Math.max(120_000, runs(numRuns) * 50);

const dense = (units: fc.Arbitrary<number>, activation: fc.Arbitrary<ActivationName>) =>
  fc.record({ kind: fc.constant('dense' as const), units, activation, useBias: fc.boolean() });
const width = fc.integer({ min: 1, max: 8 });

it.each(ACTIVATIONS)(
  'Dense(%s) backward matches the reference (then a linear Dense, mse)',
  (activation) => {
    const specs = fc
      .record({
        inputCols: width,
        hidden: dense(width, fc.constant(activation)),
        head: dense(fc.integer({ min: 1, max: 3 }), fc.constant('linear')),
      })
      .map(({ inputCols, hidden, head }): ModelSpec => ({
        inputCols,
        layers: [hidden, head],
        loss: 'mean_squared_error',
      }));
    fc.assert(property(specs), params(40));
  },
  timeout(40),
);

it.each(LOSSES)(
  '%s gradient matches the reference (fused and unfused outputs)',
  (loss: LossName) => {
    fc.assert(property(modelSpecArb({ loss, depth: { min: 1, max: 1 }, inputDropout: false })), params(60));
  },
  timeout(60),
);

it(
  'Dropout backward matches the reference with the masks lockstep drew',
  () => {
    const specs = fc
      .record({
        inputCols: width,
        inputRate: fc.option(rateArb, { nil: undefined }),
        hidden: dense(width, activationArb),
        rate: rateArb,
        head: dense(fc.integer({ min: 1, max: 3 }), activationArb),
      })
      .map(({ inputCols, inputRate, hidden, rate, head }): ModelSpec => ({
        inputCols,
        layers: [
          ...(inputRate === undefined ? [] : [{ kind: 'dropout' as const, rate: inputRate }]),
          hidden,
          { kind: 'dropout', rate },
          head,
        ],
        loss: 'mean_squared_error',
      }));
    fc.assert(property(specs), params(80));
  },
  timeout(80),
);

it(
  'whole random Sequential models (depth 1-3, widths 1-8, any activation, loss and dropout, 1-6 rows)',
  () => {
    fc.assert(property(modelSpecArb()), params(250));
  },
  timeout(250),
);

it('softplus before a log-loss keeps its precision where softplus(z) ~ e^z', () => {
  // Regression: lockstep's softplus derivative was 1 - e^{-y}, which cancels in float32 for z << 0; with
  // binary cross-entropy on the output (which divides by y) the gradient was 5% off at z = -14.5.
  const c: Case = {
    spec: {
      inputCols: 1,
      layers: [{ kind: 'dense', units: 1, activation: 'softplus', useBias: true }],
      loss: 'binary_crossentropy',
    },
    rows: 1,
    params: [0.5, -15],
    x: [1],
    y: [1],
    sampleIndices: [0],
    dropoutSeed: 0,
    transposedInput: false,
  };
  gradientsAgree(c);
});

it('a wrong derivative (the planted tanh bug) is caught, and shrinks to a small model', () => {
  hooks = { plant: 'tanh' };
  try {
    const result = fc.check(property(modelSpecArb()), { seed: FC_SEED, numRuns: 200 });
    expect(result.failed).toBe(true);
    const [c] = result.counterexample!;
    console.log(
      `planted tanh bug: seed ${result.seed}, path ${result.counterexamplePath}, ${result.numShrinks} shrinks -> ${describeCase(c)}`,
    );
    const denses = c.spec.layers.filter((l) => l.kind === 'dense');
    // The minimal failing model: tanh somewhere, few layers, few weights, one or two rows.
    expect(denses.some((l) => l.activation === 'tanh')).toBe(true);
    expect(result.numShrinks).toBeGreaterThan(0);
    expect(denses.length).toBeLessThanOrEqual(2);
    expect(paramCount(c.spec)).toBeLessThanOrEqual(8);
    expect(c.rows).toBeLessThanOrEqual(2);
  } finally {
    hooks = NO_HOOKS;
  }
});
