/**
 * Gradient checks for BatchNormalization and LayerNormalization: lockstep's backward passes (float32, tfjs on
 * wasm, in this thread) against float64 central differences of the independent reference in
 * test/reference-norm.ts, which normalizes with the statistics of the WHOLE batch.
 *
 * Each case cuts its rows into 1-4 micro-shards (parts) and runs `Network.gradientsOfParts` with them, as a
 * training step does, summing the parts' gradients. A BatchNormalization that used each shard's own statistics
 * would differ from the reference by O(1); the planted bug `batchnorm-per-shard` (PyTorch's DataParallel
 * default) is shown to be caught. The moving statistics' slots must carry the batch's mean and biased variance
 * from shard 0's part alone (zeros from the others): that is how they reach the worker that updates them.
 *
 * Tolerance: |lockstep - numeric| <= RTOL |numeric| + ATOL (1 + max |numeric|), RTOL = 1e-3, ATOL = 1e-5 (the worst
 * correct entry used at most 25% of it in 1,000 runs of each property, seeds 42 and 7). The
 * models are smooth (linear and tanh activations, epsilon > 0), so no case is discarded. Seed: LOCKSTEP_SEED
 * (default 42); LOCKSTEP_GRADCHECK_RUNS=N runs every property N times. A failure prints fast-check's seed.
 */
import { beforeAll, afterEach, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { Network, type Plan } from '../src/engine/network.js';
import { NO_HOOKS, type TaskHooks } from '../src/testing.js';
import {
  forward,
  numericGradient,
  shapesOf,
  weightsOf,
  type BatchNormL,
  type LayerNormL,
  type NormLayer,
  type NormModel,
} from './reference-norm.js';
import type { Conv2DSpec } from './reference-conv.js';
import { FC_SEED, gridValue, runs } from './helpers/models.js';

/** The test hooks the gradient computations below run with: a planted bug while a test sets one. */
let hooks: TaskHooks = NO_HOOKS;

const RTOL = 1e-3;
const ATOL = 1e-5;

beforeAll(async () => {
  await initBackend();
});
afterEach(() => (hooks = NO_HOOKS));

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

const int = (min: number, max: number) => fc.integer({ min, max });
const actArb = fc.constantFrom<'linear' | 'tanh'>('linear', 'tanh');
const epsilonArb = fc.constantFrom(1e-3, 0.01, 0.5);
const denseArb = (units = int(1, 4)): fc.Arbitrary<NormLayer> =>
  fc.record({ kind: fc.constant('dense' as const), units, activation: actArb, useBias: fc.boolean() });
const bnArb = (rank: number): fc.Arbitrary<BatchNormL> =>
  fc.record({
    kind: fc.constant('batchNorm' as const),
    // Any feature axis, counted from the front or the back.
    axis: int(1, rank - 1).chain((a) => fc.constantFrom(a, a - rank)),
    epsilon: epsilonArb,
    center: fc.boolean(),
    scale: fc.boolean(),
  });
const lnArb = (rank: number): fc.Arbitrary<LayerNormL> =>
  fc.record({
    kind: fc.constant('layerNorm' as const),
    // Any non-empty set of feature axes, in any order (gamma and beta take the order given).
    axis: fc
      .shuffledSubarray(
        Array.from({ length: rank - 1 }, (_, i) => i + 1),
        { minLength: 1 },
      )
      .chain((axes) => fc.constant(axes.map((a) => (a % 2 ? a - rank : a)))),
    epsilon: epsilonArb,
    center: fc.boolean(),
    scale: fc.boolean(),
  });

/** Dense -> normalization -> Dense, on rows of 1-4 features. */
function denseModelArb(norm: (rank: number) => fc.Arbitrary<NormLayer>): fc.Arbitrary<NormModel> {
  return fc.record({
    inputShape: int(1, 4).map((f) => [f]),
    layers: fc.tuple(denseArb(), norm(2), denseArb(int(1, 3))).map((l) => [...l]),
  });
}

/** Conv2D -> normalization (any feature axis of the image) -> Flatten -> Dense, on 1-4 px images of 1-2 channels. */
function convModelArb(norm: (rank: number) => fc.Arbitrary<NormLayer>): fc.Arbitrary<NormModel> {
  return fc.tuple(int(1, 4), int(1, 4), int(1, 2)).chain((inputShape) => {
    const conv: fc.Arbitrary<Conv2DSpec> = fc
      .record({
        filters: int(1, 3),
        kh: int(1, Math.min(2, inputShape[0])),
        kw: int(1, Math.min(2, inputShape[1])),
        padding: fc.constantFrom<'valid' | 'same'>('valid', 'same'),
        activation: actArb,
        useBias: fc.boolean(),
      })
      .map(({ filters, kh, kw, padding, activation, useBias }): Conv2DSpec => ({
        kind: 'conv2d',
        filters,
        kernelSize: [kh, kw],
        strides: [1, 1],
        padding,
        dilationRate: [1, 1],
        activation,
        useBias,
      }));
    return fc.record({
      inputShape: fc.constant(inputShape),
      layers: fc
        .tuple(conv, norm(4), denseArb(int(1, 2)))
        .map(([c, n, d]): NormLayer[] => [{ kind: 'conv2d', conv: c }, n, { kind: 'flatten' }, d]),
    });
  });
}

interface Case {
  model: NormModel;
  rows: number;
  /** Rows per part, in order; they add up to `rows`. */
  parts: number[];
  params: number[];
  x: number[];
  y: number[];
}

/** 3-10 rows cut into `minParts`-4 micro-shards of any sizes. */
function caseArb(models: fc.Arbitrary<NormModel>, minParts = 1): fc.Arbitrary<Case> {
  return fc.tuple(models, int(Math.max(3, minParts), 10)).chain(([model, rows]) => {
    const n = weightsOf(model).reduce((s, w) => s + w.size, 0);
    const shapes = shapesOf(model);
    const inputs = rows * shapes[0].reduce((a, b) => a * b, 1);
    const outputs = rows * shapes.at(-1)![0];
    const cuts = fc
      .uniqueArray(int(1, rows - 1), { minLength: minParts - 1, maxLength: Math.min(3, rows - 1) })
      .map((c) => {
        const at = [0, ...[...c].sort((a, b) => a - b), rows];
        return at.slice(1).map((v, i) => v - at[i]);
      });
    return fc.record({
      model: fc.constant(model),
      rows: fc.constant(rows),
      parts: cuts,
      // On the 2^-14 grid: exact in float32, so both sides see the same numbers.
      params: fc.array(gridValue(1), { minLength: n, maxLength: n }),
      x: fc.array(gridValue(1), { minLength: inputs, maxLength: inputs }),
      y: fc.array(gridValue(1), { minLength: outputs, maxLength: outputs }),
    });
  });
}

function describeCase(c: Case): string {
  const parts = c.model.layers.map((l) => {
    switch (l.kind) {
      case 'dense':
        return `dense(${l.units}, ${l.activation}${l.useBias ? '' : ', no bias'})`;
      case 'conv2d':
        return `conv2d(${l.conv.filters}, ${l.conv.kernelSize.join('x')}, ${l.conv.padding}, ${l.conv.activation})`;
      case 'flatten':
        return 'flatten';
      case 'batchNorm':
      case 'layerNorm':
        return `${l.kind}(axis ${JSON.stringify(l.axis)}, eps ${l.epsilon}${l.center ? '' : ', no center'}${l.scale ? '' : ', no scale'})`;
    }
  });
  return `[${c.model.inputShape}] -> ${parts.join(' -> ')} | ${c.rows} rows in parts ${c.parts.join('+')}`;
}

// ---------------------------------------------------------------------------------------------------------
// lockstep side

function toPlan(m: NormModel): Plan {
  const layers = m.layers.map((l, i) => {
    const name = `${l.kind}_${i}`;
    switch (l.kind) {
      case 'dense':
        return { className: 'Dense', name, units: l.units, activation: l.activation, useBias: l.useBias };
      case 'conv2d': {
        const { kind: _k, ...conv } = l.conv;
        return { className: 'Conv2D', name, ...conv };
      }
      case 'flatten':
        return { className: 'Flatten', name };
      case 'batchNorm':
        return {
          className: 'BatchNormalization',
          name,
          axis: l.axis,
          epsilon: l.epsilon,
          center: l.center,
          scale: l.scale,
        };
      case 'layerNorm':
        return {
          className: 'LayerNormalization',
          name,
          axis: l.axis,
          epsilon: l.epsilon,
          center: l.center,
          scale: l.scale,
        };
    }
  });
  return { layers, inputShape: m.inputShape, loss: 'mean_squared_error', metrics: [] };
}

/** lockstep's gradient of the batch-mean loss, one slot per part, as a training step computes them. */
function lockstepGradients(c: Case): { perPart: Float32Array[]; net: Network } {
  const net = new Network(toPlan(c.model), hooks);
  try {
    net.loadWeights(Float32Array.from(c.params));
    let start = 0;
    const parts = c.parts.map((rows) => {
      const p = { start, rows, gradOut: new Float32Array(net.paramCount) };
      start += rows;
      return p;
    });
    net.gradientsOfParts(
      { rows: c.rows, x: Float32Array.from(c.x), y: Float32Array.from(c.y), sampleIndices: new Int32Array(c.rows) },
      parts,
      c.model.layers.map(() => undefined),
      1 / c.rows,
    );
    return { perPart: parts.map((p) => p.gradOut), net };
  } finally {
    net.dispose();
  }
}

let usage = 0;

/** Throws (naming the weight and both values) unless lockstep agrees with the reference. */
function gradientsAgree(c: Case): void {
  const { perPart, net } = lockstepGradients(c);
  const weights = weightsOf(c.model);
  const layout = net.slots.map((s) => [s.offset, s.shape.join('x')].join(':'));
  if (layout.join() !== weights.map((w) => [w.offset, w.shape.join('x')].join(':')).join()) {
    throw new Error(`${describeCase(c)}: lockstep's weight layout ${layout} differs from Keras's`);
  }
  const numeric = numericGradient(c.model, c.params, c.x, c.y, c.rows);
  const { stats } = forward(c.model, c.params, c.x, c.rows);
  const scale = 1 + numeric.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (const w of weights) {
    const moving = w.name === 'moving_mean' || w.name === 'moving_variance';
    for (let k = 0; k < w.size; k++) {
      const i = w.offset + k;
      if (moving) {
        // The batch's statistic, carried by shard 0's part alone.
        const s = stats.get(w.layer)!;
        const want = (w.name === 'moving_mean' ? s.mean : s.variance)[k];
        const got = perPart[0][i];
        if (!(Math.abs(got - want) <= 1e-5 * (1 + Math.abs(want))))
          throw new Error(
            `${describeCase(c)}: the batch statistic for ${w.name}[${k}] is ${got} in lockstep, ${want} in the reference`,
          );
        if (perPart.slice(1).some((g) => g[i] !== 0))
          throw new Error(`${describeCase(c)}: ${w.name}[${k}] is carried by a part other than shard 0's`);
        continue;
      }
      const got = perPart.reduce((sum, g) => sum + g[i], 0);
      const n = numeric[i];
      const tol = RTOL * Math.abs(n) + ATOL * scale;
      usage = Math.max(usage, Math.abs(got - n) / tol);
      if (!(Math.abs(got - n) <= tol)) {
        throw new Error(
          `${describeCase(c)}: d loss / d ${net.slots.find((s) => s.offset === w.offset)!.name}[${k}] is ${got} in lockstep, ${n} by central differences (tolerance ${tol})`,
        );
      }
    }
  }
}

const params = (numRuns: number): fc.Parameters<[Case]> => ({ seed: FC_SEED, numRuns: runs(numRuns) });

function check(name: string, cases: fc.Arbitrary<Case>, numRuns: number): void {
  it(
    name,
    () => {
      usage = 0;
      const tensors = tf.memory().numTensors;
      fc.assert(fc.property(cases, gradientsAgree), params(numRuns));
      expect(tf.memory().numTensors).toBe(tensors);
      console.log(`${name}: the worst entry used ${(100 * usage).toFixed(2)}% of its tolerance`);
    },
    300_000,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Properties

check(
  "BatchNormalization after Dense: gradients through the whole batch's statistics, 1-4 micro-shards",
  caseArb(denseModelArb(bnArb)),
  150,
);

check(
  'BatchNormalization after Conv2D (any feature axis: statistics over rows and the other axes), 1-4 micro-shards',
  caseArb(convModelArb(bnArb)),
  100,
);

check('LayerNormalization after Dense: per-row statistics, 1-4 micro-shards', caseArb(denseModelArb(lnArb)), 100);

check(
  'LayerNormalization after Conv2D over any set of feature axes, 1-4 micro-shards',
  caseArb(convModelArb(lnArb)),
  100,
);

it('a BatchNormalization with per-shard statistics (planted batchnorm-per-shard) is caught, after Dense and after Conv2D', () => {
  const planted = { seed: FC_SEED, numRuns: 100 };
  for (const models of [denseModelArb(bnArb), convModelArb(bnArb)]) {
    // At least two micro-shards; the same cases pass without the bug, so the failure is the planted one.
    const cases = caseArb(models, 2);
    expect(fc.check(fc.property(cases, gradientsAgree), planted).failed).toBe(false);
    hooks = { plant: 'batchnorm-per-shard' };
    try {
      const result = fc.check(fc.property(cases, gradientsAgree), planted);
      expect(result.failed).toBe(true);
      const message =
        result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      console.log(
        `planted batchnorm-per-shard: seed ${result.seed}, path ${result.counterexamplePath}, ${result.numShrinks} shrinks -> ${message}`,
      );
      expect(message).toMatch(
        /d loss \/ d \w+\/\w+\[\d+\] is .* in lockstep|the batch statistic for moving_\w+\[\d+\] is .* in lockstep/,
      );
    } finally {
      hooks = NO_HOOKS;
    }
  }
}, 120_000);

it('with a single micro-shard the planted per-shard bug changes nothing (so the property above fails for the right reason)', () => {
  hooks = { plant: 'batchnorm-per-shard' };
  fc.assert(
    fc.property(
      caseArb(denseModelArb(bnArb)).map((c) => ({ ...c, parts: [c.rows] })),
      gradientsAgree,
    ),
    params(30),
  );
});
