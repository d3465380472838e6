/**
 * Shared pieces of the proof suites: random models and data as fast-check arbitraries, a bridge from a model
 * spec to lockstep's Network, dropout masks as lockstep draws them, and the float64 finite-difference
 * gradient of the reference (test/reference.ts).
 */
import fc from 'fast-check';
import { Network, type Plan } from '../../src/engine/network.js';
import { NO_HOOKS, type TaskHooks } from '../../src/testing.js';
import { fillDropoutMask, foldIn, keyFor, Purpose, seedKey, type Key } from '../../src/rng.js';
import {
  ACTIVATIONS,
  forwardModel,
  isFused,
  lossValue,
  modelLoss,
  outputCols,
  paramCount,
  paramLayout,
  type ActivationName,
  type DenseSpec,
  type LayerSpec,
  type LossName,
  type ModelSpec,
} from '../reference.js';
import { forwardScales, gradientScales, kinks, type Kink } from './float32.js';

/** Fast-check settings: a fixed seed in CI (LOCKSTEP_SEED overrides), more runs on demand. */
export const FC_SEED = Number(process.env.LOCKSTEP_SEED ?? 42);
export const runs = (fallback: number) => Number(process.env.LOCKSTEP_GRADCHECK_RUNS ?? fallback);

// ---------------------------------------------------------------------------------------------------------
// Arbitraries. Values sit on a grid of 2^-14 steps: exact in float32 (so lockstep and the reference see the
// same numbers), dense enough to be generic, and they shrink towards 0.

const GRID = 2 ** 14;
/** Values in [-limit, limit] on the 2^-14 grid (limit a power of two <= 2). */
export const gridValue = (limit: number) => fc.integer({ min: -limit * GRID, max: limit * GRID }).map((i) => i / GRID);
/** Values in [0, limit] on the grid. */
export const gridUnit = (limit = 1) => fc.integer({ min: 0, max: limit * GRID }).map((i) => i / GRID);

export const activationArb = fc.constantFrom(...ACTIVATIONS);
export const rateArb = fc.integer({ min: 1, max: 6 }).map((i) => i / 10);

/** Output activations per loss: any for regression; for cross-entropy, the fused one and some that stay positive. */
function outputActivations(loss: LossName): ActivationName[] {
  if (loss === 'binary_crossentropy') return ['sigmoid', 'softmax', 'softplus'];
  if (loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy')
    return ['softmax', 'sigmoid', 'softplus'];
  return [...ACTIVATIONS];
}

const denseArb = (
  activation: fc.Arbitrary<ActivationName>,
  units = fc.integer({ min: 1, max: 8 }),
): fc.Arbitrary<DenseSpec> =>
  fc.record({ kind: fc.constant('dense' as const), units, activation, useBias: fc.boolean() });

const maybeDropout = fc.option(rateArb, { nil: undefined, freq: 3 });

/** Hidden Dense layers (each optionally followed by Dropout), then an output Dense (optionally followed by Dropout). */
export function modelSpecArb(
  options: {
    loss?: LossName;
    depth?: { min: number; max: number };
    inputDropout?: boolean;
    outputDropout?: boolean;
  } = {},
): fc.Arbitrary<ModelSpec> {
  const depth = options.depth ?? { min: 1, max: 3 };
  const loss = options.loss ? fc.constant(options.loss) : fc.constantFrom(...LOSS_LIST);
  return loss.chain((l) =>
    fc
      .record({
        inputCols: fc.integer({ min: 1, max: 8 }),
        inputDropout: options.inputDropout === false ? fc.constant(undefined) : maybeDropout,
        hidden: fc.array(fc.tuple(denseArb(activationArb), maybeDropout), {
          minLength: depth.min - 1,
          maxLength: depth.max - 1,
        }),
        // Normalising one column gives 1 whatever the output: at least two classes keep the loss informative.
        output: denseArb(
          fc.constantFrom(...outputActivations(l)),
          fc.integer({ min: NORMALISING.has(l) ? 2 : 1, max: 8 }),
        ),
        // A row that dropout empties has no normalised probabilities (0 / 0); a low rate keeps that rare.
        outputDropout:
          options.outputDropout === false
            ? fc.constant(undefined)
            : NORMALISING.has(l)
              ? fc.option(fc.constant(0.1), { nil: undefined, freq: 3 })
              : maybeDropout,
      })
      .map(({ inputCols, inputDropout, hidden, output, outputDropout }) => {
        const layers: LayerSpec[] = [];
        if (inputDropout !== undefined) layers.push({ kind: 'dropout', rate: inputDropout });
        for (const [d, rate] of hidden) {
          layers.push(d);
          if (rate !== undefined) layers.push({ kind: 'dropout', rate });
        }
        layers.push(output);
        if (outputDropout !== undefined) layers.push({ kind: 'dropout', rate: outputDropout });
        return { inputCols, layers, loss: l };
      }),
  );
}

const NORMALISING = new Set<LossName>(['categorical_crossentropy', 'sparse_categorical_crossentropy']);
const LOSS_LIST: LossName[] = [
  'mean_squared_error',
  'mean_absolute_error',
  'huber',
  'binary_crossentropy',
  'categorical_crossentropy',
  'sparse_categorical_crossentropy',
];

/**
 * Targets for a loss: values for regression, [0, 1] for cross-entropy (soft labels allowed), class indices for sparse.
 */
function targetArb(loss: LossName, rows: number, cols: number): fc.Arbitrary<number[]> {
  if (loss === 'sparse_categorical_crossentropy')
    return fc.array(fc.integer({ min: 0, max: cols - 1 }), { minLength: rows, maxLength: rows });
  const v = loss === 'binary_crossentropy' || loss === 'categorical_crossentropy' ? gridUnit() : gridValue(2);
  return fc.array(v, { minLength: rows * cols, maxLength: rows * cols });
}

/** One gradient-check case: a model, its weights, a batch and the dropout seed. */
export interface Case {
  spec: ModelSpec;
  rows: number;
  params: number[];
  x: number[];
  y: number[];
  /** Dataset row index of each row (keys the dropout masks). */
  sampleIndices: number[];
  dropoutSeed: number;
  /** Hand the first layer a host-built transpose of x, as the trainer does. */
  transposedInput: boolean;
}

export function caseArb(
  specArb: fc.Arbitrary<ModelSpec>,
  rowsArb = fc.integer({ min: 1, max: 6 }),
): fc.Arbitrary<Case> {
  return fc.tuple(specArb, rowsArb).chain(([spec, rows]) =>
    fc.record({
      spec: fc.constant(spec),
      rows: fc.constant(rows),
      // Weights in [-1, 1], inputs in [-2, 2]: pre-activations stay within a few units, where float32 keeps
      // sigmoid/softmax away from saturation.
      params: fc.array(gridValue(1), { minLength: paramCount(spec), maxLength: paramCount(spec) }),
      x: fc.array(gridValue(2), { minLength: rows * spec.inputCols, maxLength: rows * spec.inputCols }),
      y: targetArb(spec.loss, rows, outputCols(spec)),
      sampleIndices: fc.array(fc.nat({ max: 100_000 }), { minLength: rows, maxLength: rows }),
      dropoutSeed: fc.nat({ max: 1000 }),
      transposedInput: fc.boolean(),
    }),
  );
}

/**
 * A compact description for failure messages: `8 -> dense(3, relu) -> dropout(0.2) -> dense(1, linear) | mse, 2 rows`.
 */
export function describe(c: Pick<Case, 'spec' | 'rows'>): string {
  const parts = c.spec.layers.map((l) =>
    l.kind === 'dense' ? `dense(${l.units}, ${l.activation}${l.useBias ? '' : ', no bias'})` : `dropout(${l.rate})`,
  );
  return `${c.spec.inputCols} -> ${parts.join(' -> ')} | ${c.spec.loss}${isFused(c.spec) ? ' (fused)' : ''}, ${c.rows} rows`;
}

// ---------------------------------------------------------------------------------------------------------
// lockstep side

export function toPlan(spec: ModelSpec, metrics: string[] = []): Plan {
  let d = 0;
  let o = 0;
  const layers = spec.layers.map((l) =>
    l.kind === 'dense'
      ? { className: 'Dense', name: `dense_${d++}`, units: l.units, activation: l.activation, useBias: l.useBias }
      : { className: 'Dropout', name: `dropout_${o++}`, rate: l.rate },
  );
  return { layers, inputShape: [spec.inputCols], loss: spec.loss, metrics };
}

/** The dropout key of each layer, as the trainer derives it for epoch 0. */
export function dropoutKeys(spec: ModelSpec, seed: number): (Key | undefined)[] {
  return spec.layers.map((l, i) => (l.kind === 'dropout' ? keyFor(seedKey(seed), Purpose.Dropout, 0, i) : undefined));
}

/**
 * The masks lockstep's Dropout layers draw for these rows: that is random-number generation, not maths, so
 * the reference takes it from src/rng.ts (row r of layer i uses foldIn(key_i, sampleIndex_r)).
 */
export function dropoutMasks(
  spec: ModelSpec,
  c: Pick<Case, 'rows' | 'sampleIndices' | 'dropoutSeed'>,
): (Float32Array | undefined)[] {
  const keys = dropoutKeys(spec, c.dropoutSeed);
  let cols = spec.inputCols;
  return spec.layers.map((l, i) => {
    if (l.kind === 'dense') {
      cols = l.units;
      return undefined;
    }
    const mask = new Float32Array(c.rows * cols);
    for (let r = 0; r < c.rows; r++)
      fillDropoutMask(foldIn(keys[i]!, c.sampleIndices[r]), mask, r * cols, cols, l.rate);
    return mask;
  });
}

export function transpose(x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

/** lockstep's gradient of the batch-mean loss (scale = 1 / rows), and its loss sum. */
export function lockstepGradients(
  c: Case,
  hooks: TaskHooks = NO_HOOKS,
): { grad: Float32Array; lossSum: number; net: Network } {
  const net = new Network(toPlan(c.spec), hooks);
  const x = Float32Array.from(c.x);
  net.loadWeights(Float32Array.from(c.params));
  try {
    const grad = new Float32Array(net.paramCount);
    const stats = net.gradients(
      {
        rows: c.rows,
        x,
        xT: c.transposedInput ? transpose(x, c.rows, c.spec.inputCols) : undefined,
        y: Float32Array.from(c.y),
        sampleIndices: Int32Array.from(c.sampleIndices),
      },
      dropoutKeys(c.spec, c.dropoutSeed),
      1 / c.rows,
      grad,
    );
    return { grad, lossSum: stats.loss, net };
  } finally {
    net.releaseWeights();
  }
}

/** Checks that lockstep's slots are the reference's layout (Keras order: kernel [in, out], then bias). */
export function layoutMatches(net: Network, spec: ModelSpec): boolean {
  const want: { offset: number; shape: number[] }[] = [];
  let cols = spec.inputCols;
  paramLayout(spec).forEach((e, i) => {
    const l = spec.layers[i];
    if (l.kind !== 'dense') return;
    want.push({ offset: e.offset, shape: [cols, l.units] });
    if (l.useBias) want.push({ offset: e.offset + e.kernel, shape: [l.units] });
    cols = l.units;
  });
  return (
    want.length === net.slots.length &&
    want.every((w, i) => w.offset === net.slots[i].offset && w.shape.join() === net.slots[i].shape.join())
  );
}

// ---------------------------------------------------------------------------------------------------------
// Reference side: kinks and central differences

/** Finite-difference step, in float64 on the reference: ~(3 eps)^(1/3), see gradcheck.test.ts. */
export const FD_STEP = 1e-5;
/**
 * How far (relative to its error scale) a kinked quantity must sit from its kink for float32 to be sure to
 * see it on the same side as float64: float32 errs by c 2^-24 of the scale with c in the tens, and 1e-4 is
 * more than 50 times that.
 */
export const KINK_MARGIN = 1e-4;
/**
 * Near a pole of log p or log(1 - p) the gradient divides by the distance, so float32's rounding of p is a
 * relative error of c 2^-24 scale / distance in it; 2e-3 keeps that below ~3e-5 c, well inside RTOL (1e-3).
 */
const POLE_MARGIN = 2e-3;

export interface Numeric {
  grad: Float64Array;
  /** Error scale of each entry of the float32 gradient (helpers/float32.ts). */
  scales: Float64Array;
  loss: number;
  /**
   * Why central differences would not be the derivative lockstep computes, if so: a kink too close to call in
   * float32, or one that changes side between theta - h and theta + h for some parameter.
   */
  blocked?: string;
}

const side = (k: Kink) => (k.d > 0 ? 1 : k.d < 0 ? -1 : 0);

/**
 * A kink is clear when it sits farther than the margin times its scale from the kink, or when its scale is
 * 0: then the quantity was computed without rounding (zeros from dropout, x / x), so float32 sees it exactly.
 */
const clearOf = (k: Kink) =>
  Math.abs(k.d) > (k.kind.startsWith('pole') ? POLE_MARGIN : KINK_MARGIN) * k.scale || k.scale === 0;

function analyse(c: Case, params: ArrayLike<number>, masks: (ArrayLike<number> | undefined)[]) {
  const ref = forwardModel(c.spec, params, c.x, c.rows, masks);
  const fs = forwardScales(c.spec, ref, c.rows);
  return { ref, fs, kinks: kinks(c.spec, ref, fs, c.y, c.rows) };
}

/** Central differences of the reference's batch-mean loss, with the kink checks that make them meaningful. */
export function numericGradient(c: Case, masks: (ArrayLike<number> | undefined)[]): Numeric {
  const base = analyse(c, c.params, masks);
  const close = base.kinks.find((k) => !clearOf(k));
  let blocked = close && `${close.kind}: distance ${close.d} at error scale ${close.scale}`;
  const sides = base.kinks.map(side);
  const theta = Float64Array.from(c.params);
  const grad = new Float64Array(theta.length);
  const checkSides = (i: number) => {
    if (blocked || !sides.length) return;
    const moved = analyse(c, theta, masks).kinks.findIndex((k, j) => side(k) !== sides[j]);
    if (moved >= 0) blocked = `${base.kinks[moved].kind} changes side when parameter ${i} moves by ${FD_STEP}`;
  };
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i];
    theta[i] = t + FD_STEP;
    const up = modelLoss(c.spec, theta, c.x, c.y, c.rows, masks);
    checkSides(i);
    theta[i] = t - FD_STEP;
    const down = modelLoss(c.spec, theta, c.x, c.y, c.rows, masks);
    checkSides(i);
    theta[i] = t;
    grad[i] = (up - down) / (2 * FD_STEP);
  }
  const loss = lossValue(c.spec.loss, base.ref.out, c.y, c.rows, outputCols(c.spec), base.ref.fused);
  return { grad, scales: gradientScales(c.spec, base.ref, base.fs, c.y, c.rows), loss, blocked };
}
