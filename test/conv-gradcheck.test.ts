/**
 * Gradient checks for the convolutional layers: lockstep's hand-written backward passes (float32, tfjs on
 * wasm, in this thread) against float64 central differences of the independent reference in
 * test/reference-conv.ts, for random image sizes (1-7 px, 1-3 channels), kernels (1-3), filters (1-3),
 * strides (1-2), dilations (1-2, with stride 1, as Keras requires), pool sizes (1-3), both paddings, 1-3 rows.
 *
 * Tolerance, as in gradcheck.test.ts: |analytic - numeric| <= RTOL |numeric| + ATOL S_i + FLOOR, with S_i the
 * error scale of weight i's float32 gradient (helpers/conv-numeric.ts), ATOL = 1e-4 ~ 1700 float32 ulps of
 * it, RTOL = 1e-3 for well-conditioned entries, FLOOR = 1e-9 (1 + |L|) for the numeric side's noise on zeros.
 * A wrong derivative is off by O(1) relative; the planted conv-filter bug (a 1% error) is caught too.
 * Kinks are not hidden by tolerance: a case is discarded (fc.pre) when a relu pre-activation or the margin
 * between a max pool's top two values is too close to 0 for float32 to be on float64's side, or changes side
 * within +-h for some parameter.
 *
 * Every case also checks the shapes: each layer's outputShape against the reference's Keras rules, and the
 * weight slots against Keras's layout. Runs with a fixed seed (LOCKSTEP_SEED, default 42);
 * LOCKSTEP_GRADCHECK_RUNS=N runs every property N times. A failure prints fast-check's seed and path.
 */
import { beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { Network, type Plan } from '../src/engine/network.js';
import { NO_HOOKS, type TaskHooks } from '../src/testing.js';
import {
  CONV_ACTIVATIONS,
  convParamCount,
  layerOutputShape,
  outputShapes,
  paramSlots,
  type Conv2DSpec,
  type ConvLayerSpec,
  type ConvModelSpec,
  type DenseHeadSpec,
  type GlobalPooling2DSpec,
  type Padding,
  type Pooling2DSpec,
  type ReshapeSpec,
} from './reference-conv.js';
import { convNumericGradient } from './helpers/conv-numeric.js';
import { FC_SEED, gridValue, runs } from './helpers/models.js';

/** The test hooks the gradient computations below run with: a planted bug while a test sets one. */
let hooks: TaskHooks = NO_HOOKS;

const RTOL = 1e-3;
const ATOL = 1e-4;

beforeAll(async () => {
  await initBackend();
});

// ---------------------------------------------------------------------------------------------------------
// Arbitraries: each layer is drawn for the shape it receives, so every model is valid by construction.

type Shape = number[];
const int = (min: number, max: number) => fc.integer({ min, max });
const pair = (a: fc.Arbitrary<number>, b: fc.Arbitrary<number>) => fc.tuple(a, b) as fc.Arbitrary<[number, number]>;
const paddingArb = fc.constantFrom<Padding>('valid', 'same');
const activationArb = fc.constantFrom(...CONV_ACTIVATIONS);
const imageArb: fc.Arbitrary<Shape> = fc.tuple(int(1, 7), int(1, 7), int(1, 3));

/** A kernel size and dilation along an axis of length n: with 'valid', the dilated kernel fits. */
function kernelAxis(n: number, padding: Padding, dilated: boolean): fc.Arbitrary<[number, number]> {
  const kMax = padding === 'valid' ? Math.min(3, n) : 3;
  return int(1, kMax).chain((k) => {
    const dMax = !dilated ? 1 : padding === 'same' || k === 1 ? 2 : Math.min(2, Math.floor((n - 1) / (k - 1)));
    return pair(fc.constant(k), int(1, dMax));
  });
}

/** A Conv2D for [h, w, c]: strides up to 2 without dilation, or dilations up to 2 with stride 1 (Keras's rule). */
function convArb(
  shape: Shape,
  activation: fc.Arbitrary<Conv2DSpec['activation']> = activationArb,
  filtersArb = int(1, 3),
): fc.Arbitrary<Conv2DSpec> {
  return fc.tuple(paddingArb, fc.boolean()).chain(([padding, dilated]) =>
    fc
      .record({
        filters: filtersArb,
        h: kernelAxis(shape[0], padding, dilated),
        w: kernelAxis(shape[1], padding, dilated),
        strides: dilated ? fc.constant<[number, number]>([1, 1]) : pair(int(1, 2), int(1, 2)),
        activation,
        useBias: fc.boolean(),
      })
      .map(({ filters, h, w, strides, activation, useBias }) => ({
        kind: 'conv2d' as const,
        filters,
        kernelSize: [h[0], w[0]] as [number, number],
        strides,
        padding,
        dilationRate: [h[1], w[1]] as [number, number],
        activation,
        useBias,
      })),
  );
}

function poolArb(shape: Shape, kind: Pooling2DSpec['kind']): fc.Arbitrary<Pooling2DSpec> {
  return paddingArb.chain((padding) => {
    const size = (n: number) => int(1, padding === 'valid' ? Math.min(3, n) : 3);
    return fc
      .record({
        poolSize: pair(size(shape[0]), size(shape[1])),
        strides: fc.option(pair(int(1, 2), int(1, 2)), { nil: undefined }),
      })
      .map(({ poolSize, strides }) => ({
        kind,
        poolSize,
        strides: strides ?? poolSize,
        stridesGiven: strides !== undefined,
        padding,
      }));
  });
}

const globalArb = (kind: GlobalPooling2DSpec['kind']) =>
  fc.boolean().map((keepdims): GlobalPooling2DSpec => ({ kind, keepdims }));

/** A Reshape of [h, w, c] to another [a, b, c'] with the same size, sometimes with one -1. */
function reshapeArb(shape: Shape): fc.Arbitrary<ReshapeSpec> {
  const total = shape[0] * shape[1] * shape[2];
  const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
  return fc
    .constantFrom(...divisors(total))
    .chain((a) => fc.tuple(fc.constant(a), fc.constantFrom(...divisors(total / a))))
    .chain(([a, b]) => fc.tuple(fc.constant([a, b, total / (a * b)]), fc.option(int(0, 2), { nil: undefined })))
    .map(([target, unknown]) => ({
      kind: 'reshape' as const,
      targetShape: target.map((d, i) => (i === unknown ? -1 : d)),
    }));
}

const denseArb = (activation: fc.Arbitrary<DenseHeadSpec['activation']>, units = int(1, 2)) =>
  fc.record({ kind: fc.constant('dense' as const), units, activation, useBias: fc.boolean() });

/**
 * A model grown layer by layer: each step draws the next layer(s) for the current sample shape. The last
 * step's layers must end flat; a Dense head follows.
 */
type Step = (shape: Shape) => fc.Arbitrary<ConvLayerSpec[]>;
function modelArb(
  steps: Step[],
  head: fc.Arbitrary<DenseHeadSpec> = denseArb(fc.constant('linear')),
): fc.Arbitrary<ConvModelSpec> {
  const grow = (shape: Shape, rest: Step[]): fc.Arbitrary<ConvLayerSpec[]> => {
    if (!rest.length) return head.map((d) => [d]);
    return rest[0](shape).chain((ls) => {
      const next = ls.reduce((s, l) => layerOutputShape(l, s), shape);
      return grow(next, rest.slice(1)).map((tail) => [...ls, ...tail]);
    });
  };
  return imageArb.chain((inputShape) => grow(inputShape, steps).map((layers) => ({ inputShape, layers })));
}

const one = <L extends ConvLayerSpec>(a: fc.Arbitrary<L>) => a.map((l): ConvLayerSpec[] => [l]);
const conv: Step = (s) => one(convArb(s));
const flatten: Step = () => fc.constant([{ kind: 'flatten' }]);
/** A global pooling, flattened when it keeps its spatial axes. */
const globalPool =
  (kind: GlobalPooling2DSpec['kind']): Step =>
  () =>
    globalArb(kind).map((g): ConvLayerSpec[] => (g.keepdims ? [g, { kind: 'flatten' }] : [g]));

// ---------------------------------------------------------------------------------------------------------
// Cases

interface Case {
  spec: ConvModelSpec;
  rows: number;
  params: number[];
  x: number[];
  y: number[];
}

function caseArb(specArb: fc.Arbitrary<ConvModelSpec>): fc.Arbitrary<Case> {
  return fc.tuple(specArb, int(1, 3)).chain(([spec, rows]) => {
    const n = convParamCount(spec);
    const inputs = rows * spec.inputShape.reduce((a, b) => a * b, 1);
    const outputs = rows * outputShapes(spec).at(-1)![0];
    return fc.record({
      spec: fc.constant(spec),
      rows: fc.constant(rows),
      // Weights and inputs in [-1, 1] on the 2^-14 grid: exact in float32, so both sides see the same numbers.
      params: fc.array(gridValue(1), { minLength: n, maxLength: n }),
      x: fc.array(gridValue(1), { minLength: inputs, maxLength: inputs }),
      y: fc.array(gridValue(2), { minLength: outputs, maxLength: outputs }),
    });
  });
}

/** `[5, 4, 2] -> conv2d(3, 2x1, s 1x2, d 1x1, same, relu) -> max_pool(2x2, s 2x2, valid) -> ... | 2 rows`. */
function describeCase(c: Pick<Case, 'spec' | 'rows'>): string {
  const x = (p: number[]) => p.join('x');
  const parts = c.spec.layers.map((l) => {
    switch (l.kind) {
      case 'conv2d':
        return `conv2d(${l.filters}, ${x(l.kernelSize)}, s ${x(l.strides)}, d ${x(l.dilationRate)}, ${l.padding}, ${l.activation}${l.useBias ? '' : ', no bias'})`;
      case 'maxPooling2d':
      case 'averagePooling2d':
        return `${l.kind}(${x(l.poolSize)}, s ${x(l.strides)}${l.stridesGiven ? '' : ' (default)'}, ${l.padding})`;
      case 'globalAveragePooling2d':
      case 'globalMaxPooling2d':
        return `${l.kind}(keepdims ${l.keepdims})`;
      case 'reshape':
        return `reshape([${l.targetShape}])`;
      case 'flatten':
        return 'flatten';
      case 'dense':
        return `dense(${l.units}, ${l.activation}${l.useBias ? '' : ', no bias'})`;
    }
  });
  return `[${c.spec.inputShape}] -> ${parts.join(' -> ')} | mse, ${c.rows} rows`;
}

// ---------------------------------------------------------------------------------------------------------
// lockstep side

const CLASS: Record<ConvLayerSpec['kind'], string> = {
  conv2d: 'Conv2D',
  maxPooling2d: 'MaxPooling2D',
  averagePooling2d: 'AveragePooling2D',
  globalAveragePooling2d: 'GlobalAveragePooling2D',
  globalMaxPooling2d: 'GlobalMaxPooling2D',
  flatten: 'Flatten',
  reshape: 'Reshape',
  dense: 'Dense',
};

function toPlan(spec: ConvModelSpec): Plan {
  const layers = spec.layers.map((l, i) => {
    const { kind, ...options } = l;
    const base = { className: CLASS[kind], name: `${kind}_${i}` };
    if (l.kind === 'maxPooling2d' || l.kind === 'averagePooling2d') {
      // Keras's default strides (= poolSize) when the model leaves them out.
      return { ...base, poolSize: l.poolSize, padding: l.padding, ...(l.stridesGiven ? { strides: l.strides } : {}) };
    }
    return { ...base, ...options };
  });
  return { layers, inputShape: spec.inputShape, loss: 'mean_squared_error', metrics: [] };
}

/** lockstep's gradient of the batch-mean loss (scale = 1 / rows), with its network for the shape checks. */
function lockstepGradients(c: Case): { grad: Float32Array; loss: number; net: Network } {
  const net = new Network(toPlan(c.spec), hooks);
  try {
    net.loadWeights(Float32Array.from(c.params));
    const grad = new Float32Array(net.paramCount);
    const stats = net.gradients(
      { rows: c.rows, x: Float32Array.from(c.x), y: Float32Array.from(c.y), sampleIndices: new Int32Array(c.rows) },
      c.spec.layers.map(() => undefined),
      1 / c.rows,
      grad,
    );
    // stats.loss is the sum of the rows' losses.
    return { grad, loss: stats.loss / c.rows, net };
  } finally {
    net.dispose();
  }
}

/** Throws (naming the layer, weight and both values) unless lockstep agrees with the reference. */
function gradientsAgree(c: Case, slotScales = false): void {
  let lockstep: ReturnType<typeof lockstepGradients>;
  try {
    lockstep = lockstepGradients(c);
  } catch (e) {
    throw new Error(`${describeCase(c)}: lockstep threw: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
  const { grad, loss, net } = lockstep;
  // Shapes first: they do not depend on kinks.
  const shapes = outputShapes(c.spec);
  net.layers.forEach((l, i) => {
    if (l.outputShape!.join() !== shapes[i].join())
      throw new Error(
        `${describeCase(c)}: layer ${i} (${l.className}) outputs [${l.outputShape}], Keras [${shapes[i]}]`,
      );
  });
  const want = paramSlots(c.spec);
  const slotsMatch =
    want.length === net.slots.length &&
    want.every((w, i) => w.offset === net.slots[i].offset && w.shape.join() === net.slots[i].shape.join());
  if (!slotsMatch)
    throw new Error(
      `${describeCase(c)}: lockstep's weight layout ${JSON.stringify(net.slots)} differs from Keras's ${JSON.stringify(want)}`,
    );

  const numeric = convNumericGradient(c.spec, c.params, c.x, c.y, c.rows);
  const floor = 1e-9 * (1 + Math.abs(numeric.loss));
  // The forward pass too (continuous across kinks, so before the kink check).
  if (!(Math.abs(loss - numeric.loss) <= ATOL * numeric.lossScale + floor)) {
    throw new Error(
      `${describeCase(c)}: the loss is ${loss} in lockstep, ${numeric.loss} in the reference (tolerance ${ATOL * numeric.lossScale + floor})`,
    );
  }
  tally.cases++;
  if (numeric.blocked !== undefined) tally.discarded++;
  fc.pre(numeric.blocked === undefined);
  // Winograd's rounding is relative to the magnitudes of whole tiles (its transforms mix every input and output
  // of a tile), not to each product: an entry whose direct products all vanish still gets a residue of order
  // 2^-24 times its neighbours'. There each entry is held to the largest scale of its weight (kernel or bias).
  const scales = Float64Array.from(numeric.scales);
  if (slotScales) {
    for (const slot of net.slots) {
      const top = Math.max(...scales.subarray(slot.offset, slot.offset + slot.size));
      scales.fill(top, slot.offset, slot.offset + slot.size);
    }
  }
  for (let i = 0; i < grad.length; i++) {
    const n = numeric.grad[i];
    const tol = RTOL * Math.abs(n) + ATOL * scales[i] + floor;
    usage = Math.max(usage, Math.abs(grad[i] - n) / tol);
    if (!(Math.abs(grad[i] - n) <= tol)) {
      const slot = net.slots.find((s) => i >= s.offset && i < s.offset + s.size)!;
      throw new Error(
        `${describeCase(c)}: d loss / d ${slot.name}[${i - slot.offset}] is ${grad[i]} in lockstep, ${n} by central differences ` +
          `(ratio ${(grad[i] / n).toPrecision(6)}, difference ${Math.abs(grad[i] - n)}, tolerance ${tol})`,
      );
    }
  }
}

/** The largest share of its tolerance any entry used, for the log (how much room the tolerance leaves). */
let usage = 0;
/** Cases checked, and discarded near a kink. */
const tally = { cases: 0, discarded: 0 };

const property = (specs: fc.Arbitrary<ConvModelSpec>, slotScales = false) =>
  fc.property(caseArb(specs), (c) => gradientsAgree(c, slotScales));
const params = (numRuns: number): fc.Parameters<[Case]> => ({ seed: FC_SEED, numRuns: runs(numRuns) });
const timeout = (numRuns: number) => Math.max(120_000, runs(numRuns) * 200);

function check(name: string, specs: fc.Arbitrary<ConvModelSpec>, numRuns: number, slotScales = false): void {
  it(
    name,
    () => {
      usage = 0;
      tally.cases = tally.discarded = 0;
      const tensors = tf.memory().numTensors;
      fc.assert(property(specs, slotScales), params(numRuns));
      // Building, stepping and disposing a network leaves no tensor behind.
      expect(tf.memory().numTensors).toBe(tensors);
      console.log(
        `${name}: ${tally.cases} cases, ${tally.discarded} discarded near a kink; the worst entry used ${(100 * usage).toFixed(2)}% of its tolerance`,
      );
    },
    timeout(numRuns),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Properties

const convsArb = modelArb([conv, conv, flatten]);
check('Conv2D: filter, bias and input gradients (two random convolutions, then Flatten and Dense)', convsArb, 150);

check(
  'MaxPooling2D backward matches the reference (Conv2D -> MaxPooling2D -> Flatten -> Dense)',
  modelArb([conv, (s) => one(poolArb(s, 'maxPooling2d')), flatten]),
  150,
);

check(
  'AveragePooling2D backward matches the reference (Conv2D -> AveragePooling2D -> Flatten -> Dense)',
  modelArb([conv, (s) => one(poolArb(s, 'averagePooling2d')), flatten]),
  150,
);

check(
  'GlobalAveragePooling2D backward matches the reference (keepdims or not)',
  modelArb([conv, globalPool('globalAveragePooling2d')]),
  100,
);

check(
  'GlobalMaxPooling2D backward matches the reference (keepdims or not)',
  modelArb([conv, globalPool('globalMaxPooling2d')]),
  100,
);

check(
  'Reshape and Flatten keep the row-major order (Conv2D -> Reshape -> Conv2D -> Flatten -> Dense)',
  modelArb([conv, (s) => one(reshapeArb(s)), conv, flatten]),
  100,
);

/**
 * A 3x3 convolution at stride 1 of 4 to 6 channels, 'valid' where it fits: the Winograd path (ops/winograd.ts),
 * F(2x2,3x3) on 1x1 and 2x2 outputs, F(4x4,3x3) on larger ones, tiles overhanging every output not a multiple
 * of the tile. The channels come from a random convolution before it.
 */
const winogradConv: Step = (s) =>
  one(
    fc
      .record({
        padding: s[0] >= 3 && s[1] >= 3 ? paddingArb : fc.constant<Padding>('same'),
        filters: int(1, 3),
        activation: activationArb,
        useBias: fc.boolean(),
      })
      .map((o): Conv2DSpec => ({ kind: 'conv2d', kernelSize: [3, 3], strides: [1, 1], dilationRate: [1, 1], ...o })),
  );
check(
  'Conv2D on the Winograd path: filter, bias and input gradients (Conv2D of 4-6 filters -> 3x3 Conv2D -> Flatten -> Dense)',
  modelArb([(s) => one(convArb(s, activationArb, int(4, 6))), winogradConv, flatten]),
  100,
  true,
);

/** The whole random convnet: Conv2D -> optional pooling -> Conv2D -> Flatten or GlobalAveragePooling2D -> Dense. */
const convnetArb = modelArb(
  [
    conv,
    (s) =>
      fc
        .option(
          fc.constantFrom<Pooling2DSpec['kind']>('maxPooling2d', 'averagePooling2d').chain((k) => poolArb(s, k)),
          { nil: undefined },
        )
        .map((p) => (p ? [p] : [])),
    conv,
    () =>
      fc.constantFrom<ConvLayerSpec[]>([{ kind: 'flatten' }], [{ kind: 'globalAveragePooling2d', keepdims: false }]),
  ],
  denseArb(activationArb, int(1, 3)),
);

check(
  'whole random convnets (Conv2D -> pooling? -> Conv2D -> Flatten | GlobalAveragePooling2D -> Dense)',
  convnetArb,
  300,
);

it('a wrong filter gradient (the planted conv-filter bug, 1% off) is caught, and only by a Conv2D kernel', () => {
  // Convolutions only, and the same cases pass without the bug: the failure is the planted one.
  const planted = { seed: FC_SEED, numRuns: 100 };
  expect(fc.check(property(convsArb), planted).failed).toBe(false);
  hooks = { plant: 'conv-filter' };
  try {
    const result = fc.check(property(convsArb), planted);
    expect(result.failed).toBe(true);
    const message = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
    console.log(
      `planted conv-filter bug: seed ${result.seed}, path ${result.counterexamplePath}, ${result.numShrinks} shrinks -> ${message}`,
    );
    expect(message).toMatch(/d conv2d_\d+\/kernel\[/);
    expect(result.numShrinks).toBeGreaterThan(0);
  } finally {
    hooks = NO_HOOKS;
  }
}, 120_000);
