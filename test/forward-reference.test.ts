/**
 * Forward values against the float64 reference (test/reference.ts): each activation through Dense, whole
 * models at inference, Dropout with its mask, every loss and every metric.
 *
 * Tolerances:
 * - float32 forward (tfjs on wasm): |lockstep - reference| <= 1e-5 S, with S the error scale of
 *   helpers/float32.ts (a bound on every term and partial sum that went into the value). Each float32
 *   operation errs by 2^-24 of such magnitudes, and one layer chains ~10 of them (a dot product of <= 8
 *   terms, the bias, the activation), three layers ~30: 1e-5 ~ 170 ulps leaves a factor of 5 or more.
 * - Losses and metrics are computed on the host in float64 by both sides from the same float32 outputs, so
 *   they must agree to float64 rounding: 1e-12 relative (losses), exactly (metric counts).
 * - The loss of a whole model, from float32 outputs: the output error above times |dL/d output|.
 */
import { beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { Network } from '../src/engine/network.js';
import { Dropout } from '../src/layers/dropout.js';
import { getLoss } from '../src/losses.js';
import { getMetric } from '../src/metrics.js';
import { fillDropoutMask, foldIn, seedKey } from '../src/rng.js';
import {
  ACTIVATIONS,
  LOSSES,
  erf,
  forwardModel,
  lossValue,
  metricValue,
  outputCols,
  perSampleLoss,
  type ActivationName,
  type LossName,
  type MetricName,
  type ModelSpec,
} from './reference.js';
import {
  FC_SEED,
  caseArb,
  describe as describeCase,
  dropoutMasks,
  gridUnit,
  gridValue,
  lockstepGradients,
  modelSpecArb,
  toPlan,
  type Case,
} from './helpers/models.js';
import { forwardScales, lossScale } from './helpers/float32.js';

const FORWARD_TOL = 1e-5;
const HOST_TOL = 1e-12;

beforeAll(async () => {
  await initBackend();
});

/** lockstep's inference output (probabilities/values, never logits) for a case. */
function lockstepForward(c: Case): Float32Array {
  const net = new Network(toPlan(c.spec));
  net.loadWeights(Float32Array.from(c.params));
  try {
    return net.forward(Float32Array.from(c.x), c.rows);
  } finally {
    net.releaseWeights();
  }
}

/** Reference inference output: the activated output even when the loss would take logits. */
function referenceForward(c: Case) {
  const inference: ModelSpec = { ...c.spec, loss: 'mean_squared_error' };
  const ref = forwardModel(inference, c.params, c.x, c.rows);
  return { out: ref.out, scales: forwardScales(inference, ref, c.rows).output.at(-1)! };
}

function forwardAgrees(c: Case): void {
  const got = lockstepForward(c);
  const { out, scales } = referenceForward(c);
  for (let i = 0; i < out.length; i++) {
    const tol = FORWARD_TOL * scales[i];
    if (!(Math.abs(got[i] - out[i]) <= tol))
      throw new Error(
        `${describeCase(c)}: output ${i} is ${got[i]} in lockstep, ${out[i]} in float64 (tolerance ${tol})`,
      );
  }
}

const width = fc.integer({ min: 1, max: 8 });

it.each(ACTIVATIONS)('Dense(%s) forward matches the reference', (activation: ActivationName) => {
  const specs = fc
    .record({ inputCols: width, units: width, useBias: fc.boolean() })
    .map(({ inputCols, units, useBias }): ModelSpec => ({
      inputCols,
      layers: [{ kind: 'dense', units, activation, useBias }],
      loss: 'mean_squared_error',
    }));
  fc.assert(fc.property(caseArb(specs), forwardAgrees), { seed: FC_SEED, numRuns: 60 });
});

it('whole random models at inference (Dropout is the identity) match the reference', () => {
  fc.assert(fc.property(caseArb(modelSpecArb()), forwardAgrees), { seed: FC_SEED, numRuns: 150 });
});

it('Dropout while training is x * mask with the mask of (key, sample index), and the identity at inference', () => {
  const arb = fc.record({
    rows: fc.integer({ min: 1, max: 6 }),
    cols: fc.integer({ min: 1, max: 40 }),
    rate: fc.integer({ min: 1, max: 9 }).map((i) => i / 10),
    seed: fc.nat({ max: 10_000 }),
    first: fc.nat({ max: 1_000_000 }),
  });
  fc.assert(
    fc.property(arb, ({ rows, cols, rate, seed, first }) => {
      const x = Float32Array.from({ length: rows * cols }, (_, i) => ((i * 7919) % 13) / 4 - 1.5);
      const sampleIndices = Int32Array.from({ length: rows }, (_, r) => first + 3 * r);
      const key = seedKey(seed);
      const layer = new Dropout({ rate });
      layer.build([cols]);
      const noWeights = {
        values: [],
        transposed: () => {
          throw new Error('Dropout has no weights');
        },
      };
      tf.tidy(() => {
        const xt = tf.tensor2d(x, [rows, cols]);
        const train = layer.forward(xt, noWeights, { training: true, dropoutKey: key, sampleIndices }).y.dataSync();
        const infer = layer.forward(xt, noWeights, { training: false }).y.dataSync();
        const keep = Math.fround(1 / (1 - rate));
        for (let r = 0; r < rows; r++) {
          const mask = new Float32Array(cols);
          fillDropoutMask(foldIn(key, sampleIndices[r]), mask, 0, cols, rate);
          for (let c = 0; c < cols; c++) {
            const i = r * cols + c;
            // Inverted dropout: 0 or 1 / (1 - rate); a single product, so float32 rounds it exactly as fround does.
            expect([0, keep]).toContain(mask[c]);
            expect(train[i]).toBe(Math.fround(x[i] * mask[c]));
            expect(infer[i]).toBe(x[i]);
          }
        }
      });
    }),
    { seed: FC_SEED, numRuns: 60 },
  );
});

it('Dropout keeps a fraction 1 - rate of the values', () => {
  const n = 200_000;
  for (const rate of [0.1, 0.5, 0.8]) {
    const mask = new Float32Array(n);
    fillDropoutMask(foldIn(seedKey(7), 1), mask, 0, n, rate);
    const kept = mask.reduce((k, v) => k + (v > 0 ? 1 : 0), 0) / n;
    // Binomial standard deviation sqrt(rate (1 - rate) / n) <= 0.0012: 5 of them.
    expect(Math.abs(kept - (1 - rate))).toBeLessThan(0.006);
  }
});

it("the reference's own erf matches published values (A&S table 7.1) to float64 precision", () => {
  const table: [number, number][] = [
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [4, 0.9999999845827421],
  ];
  for (const [x, want] of table) {
    expect(Math.abs(erf(x) - want)).toBeLessThan(4e-16);
    expect(erf(-x)).toBe(-erf(x));
  }
});

// ---------------------------------------------------------------------------------------------------------
// Losses on identical float32 outputs: both sides compute in float64.

/** Outputs for a loss: probabilities (with exact 0 and 1 and values near the clipping limits), logits, or values. */
function outputsArb(loss: LossName, fromLogits: boolean, n: number): fc.Arbitrary<number[]> {
  const probability = fc.oneof(
    gridUnit(),
    fc.constantFrom(0, 1, 1e-8, 1e-7, 2e-7, 1 - 1e-7, Math.fround(1 - 1e-7), 0.5),
  );
  const value =
    loss === 'binary_crossentropy' || loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy'
      ? fromLogits
        ? gridValue(8)
        : probability
      : gridValue(4);
  return fc.array(value.map(Math.fround), { minLength: n, maxLength: n });
}

const lossCaseArb = (loss: LossName) =>
  fc
    .record({
      rows: fc.integer({ min: 1, max: 6 }),
      cols: fc.integer({ min: 1, max: 6 }),
      fused: loss.endsWith('crossentropy') ? fc.boolean() : fc.constant(false),
    })
    .chain(({ rows, cols, fused }) =>
      fc.record({
        rows: fc.constant(rows),
        cols: fc.constant(cols),
        fused: fc.constant(fused),
        out: outputsArb(loss, fused, rows * cols),
        y:
          loss === 'sparse_categorical_crossentropy'
            ? fc.array(fc.integer({ min: 0, max: cols - 1 }), { minLength: rows, maxLength: rows })
            : fc.array((loss.endsWith('crossentropy') ? gridUnit() : gridValue(4)).map(Math.fround), {
                minLength: rows * cols,
                maxLength: rows * cols,
              }),
      }),
    );

it.each(LOSSES)(
  '%s: the value equals Keras 3 (clipping at 1e-7 without logits, log-softmax/log-sigmoid with)',
  (loss: LossName) => {
    fc.assert(
      fc.property(lossCaseArb(loss), ({ rows, cols, fused, out, y }) => {
        const ref = perSampleLoss(loss, out, y, rows, cols, fused).reduce((a, b) => a + b, 0);
        const got = getLoss(loss).compute(Float32Array.from(out), Float32Array.from(y), rows, cols, null, 1, fused);
        // A row that sums to 0 has no normalised probabilities: Keras gives NaN, and so must lockstep.
        if (Number.isNaN(ref)) expect(got).toBeNaN();
        else expect(Math.abs(got - ref)).toBeLessThanOrEqual(HOST_TOL * Math.max(1, Math.abs(ref)));
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  },
);

it('losses reproduce known Keras values', () => {
  const value = (loss: LossName, out: number[], y: number[], rows: number, fused = false) =>
    getLoss(loss).compute(Float32Array.from(out), Float32Array.from(y), rows, out.length / rows, null, 1, fused) / rows;
  // keras.losses.*(y_true, y_pred) in Keras 3, float32 inputs; expected values computed in float64.
  expect(value('mean_squared_error', [1, 1, 0, 0], [0, 1, 0, 0], 2)).toBeCloseTo(0.25, 12);
  expect(value('mean_absolute_error', [0.5, 0, 1, 2], [0, 0, 0, 0], 2)).toBeCloseTo(0.875, 7);
  expect(value('huber', [0.5, 3], [0, 0], 1)).toBeCloseTo((0.125 + 2.5) / 2, 12);
  // Clipping: log(1e-7) for a zero probability on the true class.
  expect(value('sparse_categorical_crossentropy', [0, 1], [0], 1)).toBeCloseTo(-Math.log(1e-7), 9);
  expect(value('binary_crossentropy', [1], [0], 1)).toBeCloseTo(-Math.log(1e-7), 6);
  // Logits: the fused path uses log-softmax, no clipping at all (a huge loss stays exact).
  expect(value('categorical_crossentropy', [0, 40], [1, 0], 1, true)).toBeCloseTo(40, 9);
});

// ---------------------------------------------------------------------------------------------------------
// Metrics on identical float32 outputs.

const METRICS_BY_LOSS: [string, MetricName, LossName][] = [
  ['mae', 'mean_absolute_error', 'mean_squared_error'],
  ['mse', 'mean_squared_error', 'mean_squared_error'],
  ['rmse', 'root_mean_squared_error', 'mean_squared_error'],
  ['accuracy', 'sparse_categorical_accuracy', 'sparse_categorical_crossentropy'],
  ['accuracy', 'categorical_accuracy', 'categorical_crossentropy'],
  ['accuracy', 'binary_accuracy', 'binary_crossentropy'],
  ['binary_accuracy', 'binary_accuracy', 'mean_squared_error'],
];

it.each(METRICS_BY_LOSS)("'%s' resolves to %s with %s and its value equals Keras's", (name, metric, loss) => {
  // Outputs on a coarse grid make argmax ties and outputs of exactly 0.5 (binary: not > 0.5) common.
  const coarse = fc.integer({ min: 0, max: 4 }).map((i) => i / 4);
  const arb = fc
    .record({ rows: fc.integer({ min: 1, max: 8 }), cols: fc.integer({ min: 1, max: 5 }) })
    .chain(({ rows, cols }) =>
      fc.record({
        rows: fc.constant(rows),
        cols: fc.constant(cols),
        out: fc.array(metric.includes('accuracy') ? coarse : gridValue(2), {
          minLength: rows * cols,
          maxLength: rows * cols,
        }),
        y:
          metric === 'sparse_categorical_accuracy'
            ? fc.array(fc.integer({ min: 0, max: cols - 1 }), { minLength: rows, maxLength: rows })
            : fc.array(metric.includes('accuracy') ? fc.integer({ min: 0, max: 1 }) : gridValue(2), {
                minLength: rows * cols,
                maxLength: rows * cols,
              }),
      }),
    );
  fc.assert(
    fc.property(arb, ({ rows, cols, out, y }) => {
      // 'accuracy' with categorical cross-entropy on one output column is binary accuracy, as in Keras.
      const resolved =
        name === 'accuracy' && loss === 'categorical_crossentropy' && cols === 1 ? 'binary_accuracy' : metric;
      const m = getMetric(name, getLoss(loss), cols);
      const acc = new Float64Array(m.width);
      m.update(Float32Array.from(out), Float32Array.from(y), rows, cols, acc, null);
      const got = m.result(acc) as number;
      const want = metricValue(resolved, Float32Array.from(out), Float32Array.from(y), rows, cols);
      expect(Math.abs(got - want)).toBeLessThanOrEqual(HOST_TOL * Math.max(1, Math.abs(want)));
    }),
    { seed: FC_SEED, numRuns: 150 },
  );
});

// ---------------------------------------------------------------------------------------------------------
// End to end: the loss lockstep reports for a training batch (dropout on) against the reference.

it("a training batch's loss (dropout masks on, fused or not) matches the reference", () => {
  fc.assert(
    fc.property(caseArb(modelSpecArb()), (c) => {
      const masks = dropoutMasks(c.spec, c);
      const ref = forwardModel(c.spec, c.params, c.x, c.rows, masks);
      const want = lossValue(c.spec.loss, ref.out, c.y, c.rows, outputCols(c.spec), ref.fused) * c.rows;
      const { lossSum } = lockstepGradients(c);
      if (!Number.isFinite(want)) return expect(Number.isNaN(lossSum) || lossSum === want).toBe(true);
      const tol =
        FORWARD_TOL * lossScale(c.spec, ref, forwardScales(c.spec, ref, c.rows), c.y, c.rows) * c.rows +
        HOST_TOL * Math.abs(want);
      if (!(Math.abs(lossSum - want) <= tol))
        throw new Error(`${describeCase(c)}: loss sum ${lossSum} in lockstep, ${want} in float64 (tolerance ${tol})`);
    }),
    { seed: FC_SEED, numRuns: 150 },
  );
});
