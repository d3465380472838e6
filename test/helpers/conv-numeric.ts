/**
 * The reference side of the convolutional gradient checks: float64 central differences of
 * test/reference-conv.ts, the error scale of each float32 gradient entry, and the kinks (relu at 0, max
 * pooling's choice) near which float32 and float64 may not differentiate the same function.
 *
 * Error scales (the convention of helpers/float32.ts): S_i bounds the magnitude of every term that goes into
 * weight i's gradient, with each derivative at its bound plus its curvature times the error scale of its
 * argument, and each input by its own error scale; float32 is then within c 2^-24 S_i of the exact value.
 * Every layer here is linear in its input and weights apart from the activations and max pooling's choice,
 * so S_i comes from a "magnitude network": |x|, |weights|, each activation replaced by a fixed gain D (its
 * derivative bound plus curvature times scale(z), 0 for a relu that is off), each max pool by the value it
 * took, and the output weighted by the error scale of d loss / d output. That network is affine in each
 * weight, so S_i is one exact difference: F(|theta| + e_i) - F(|theta|).
 */
import {
  conv2dForward,
  convForward,
  meanOver,
  mse,
  paramSlots,
  poolWindows,
  globalWindows,
  type ConvActivation,
  type ConvForward,
  type ConvModelSpec,
} from '../reference-conv.js';
import { denseForward } from '../reference.js';
import { FD_STEP, KINK_MARGIN } from './models.js';

/** Bounds on |f''| (helpers/float32.ts): how much an error in z moves the derivative. */
const CURVATURE: Record<ConvActivation, number> = { linear: 0, relu: 0, tanh: 0.77, sigmoid: 0.1 };

/** Magnitudes of every layer's output in the magnitude network, with the gains it used. */
interface Magnitudes {
  /** Per layer: the magnitude (error scale) of its input, pre-activation and output. */
  input: Float64Array[];
  z: (Float64Array | undefined)[];
  out: Float64Array;
}

/**
 * The magnitude network at |params|: `gains` per activation layer (computed on the way when absent, from
 * the base pass), max pools routed through `ref`'s picks.
 */
function magnitudes(
  spec: ConvModelSpec,
  absParams: ArrayLike<number>,
  ref: ConvForward,
  rows: number,
  gains: (Float64Array | undefined)[],
): Magnitudes {
  const slots = paramSlots(spec);
  const m: Magnitudes = { input: [], z: [], out: new Float64Array() };
  let a: Float64Array = ref.layers[0].input.map(Math.abs);
  spec.layers.forEach((l, i) => {
    const t = ref.layers[i];
    m.input.push(a);
    const w = slots
      .filter((s) => s.layer === i)
      .map((s) => Float64Array.from({ length: s.size }, (_, k) => absParams[s.offset + k]));
    let z: Float64Array | undefined;
    switch (l.kind) {
      case 'conv2d':
        z = conv2dForward(a, rows, t.inShape, w[0], w[1], l);
        break;
      case 'dense':
        z = denseForward(a, rows, t.inShape[0], w[0], w[1], l.units);
        break;
      case 'maxPooling2d':
      case 'globalMaxPooling2d':
        a = Float64Array.from(t.picks!, (p) => a[p]);
        break;
      case 'averagePooling2d':
        a = meanOver(a, poolWindows(rows, t.inShape, l));
        break;
      case 'globalAveragePooling2d':
        a = meanOver(a, globalWindows(rows, t.inShape));
        break;
    }
    m.z.push(z);
    if (z && (l.kind === 'conv2d' || l.kind === 'dense')) {
      const act = l.activation;
      const g = (gains[i] ??= z.map((s, k) => (act === 'relu' ? (t.z![k] > 0 ? 1 : 0) : 1 + CURVATURE[act] * s)));
      // The output's error scale: gain times z's, plus its own rounding (|y|); a relu that is off gives exact 0s.
      a = z.map((s, k) => g[k] * s + Math.abs(t.output[k]));
    }
  });
  m.out = a;
  return m;
}

export interface Kink {
  kind: string;
  /** Signed distance from the kink. */
  d: number;
  /** Error scale of that distance. */
  scale: number;
}

/** The kinks of a pass: relu pre-activations, and each max pool's margin between its top two values. */
function kinks(spec: ConvModelSpec, ref: ConvForward, mag: Magnitudes): Kink[] {
  const k: Kink[] = [];
  spec.layers.forEach((l, i) => {
    const t = ref.layers[i];
    if ((l.kind === 'conv2d' || l.kind === 'dense') && l.activation === 'relu') {
      t.z!.forEach((z, j) => k.push({ kind: `relu at 0 (layer ${i})`, d: z, scale: mag.z[i]![j] }));
    }
    if (t.windows) {
      const a = mag.input[i];
      t.windows.forEach((at, o) => {
        const top = t.picks![o];
        let second = -1;
        for (const p of at) if (p !== top && (second < 0 || t.input[p] > t.input[second])) second = p;
        if (second >= 0)
          k.push({
            kind: `max pool's top two (layer ${i})`,
            d: t.input[top] - t.input[second],
            scale: Math.max(a[top], a[second]),
          });
      });
    }
  });
  return k;
}

/** Which branch each kinked quantity is on: relu signs and max pools' picks. */
function branches(spec: ConvModelSpec, ref: ConvForward): string {
  return ref.layers
    .map((t, i) => {
      const l = spec.layers[i];
      if ((l.kind === 'conv2d' || l.kind === 'dense') && l.activation === 'relu')
        return Array.from(t.z!, Math.sign).join();
      return t.picks ? t.picks.join() : '';
    })
    .join('|');
}

/**
 * A kink is clear when farther than the margin times its scale from its kink, or when its scale is 0 (then
 * the quantity is exact in float32 as well: zeros from relus that are off).
 */
const clear = (k: Kink) => Math.abs(k.d) > KINK_MARGIN * k.scale || k.scale === 0;

export interface ConvNumeric {
  grad: Float64Array;
  /** Error scale of each entry of a float32 gradient. */
  scales: Float64Array;
  loss: number;
  /** Error scale of the loss computed from float32 outputs. */
  lossScale: number;
  /** Why central differences would not be the derivative lockstep computes, if so. */
  blocked?: string;
}

/** Central differences (h = FD_STEP) of the reference's batch-mean loss, with error scales and kink checks. */
export function convNumericGradient(
  spec: ConvModelSpec,
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows: number,
): ConvNumeric {
  const ref = convForward(spec, params, x, rows);
  const gains: (Float64Array | undefined)[] = [];
  const absParams = Float64Array.from(params, Math.abs);
  const base = magnitudes(spec, absParams, ref, rows, gains);
  const close = kinks(spec, ref, base).find((k) => !clear(k));
  let blocked = close && `${close.kind}: distance ${close.d} at error scale ${close.scale}`;
  const sides = branches(spec, ref);

  // d loss / d out = 2 (out - y) / (cols rows); float32 knows it to c 2^-24 (scale(out) + |y|) of that weight.
  const cols = ref.out.length / rows;
  const lossWeights = base.out.map((a, k) => (2 * (a + Math.abs(y[k]))) / (cols * rows));
  const weighted = (m: Magnitudes) => m.out.reduce((s, a, k) => s + lossWeights[k] * a, 0);
  const f0 = weighted(base);

  const theta = Float64Array.from(params);
  const grad = new Float64Array(theta.length);
  const scales = new Float64Array(theta.length);
  const lossAt = (i: number) => {
    const f = convForward(spec, theta, x, rows);
    if (!blocked && branches(spec, f) !== sides)
      blocked = `a kink changes side when parameter ${i} moves by ${FD_STEP}`;
    return mse(f.out, y, rows);
  };
  for (let i = 0; i < theta.length; i++) {
    const t = theta[i];
    theta[i] = t + FD_STEP;
    const up = lossAt(i);
    theta[i] = t - FD_STEP;
    const down = lossAt(i);
    theta[i] = t;
    grad[i] = (up - down) / (2 * FD_STEP);
    absParams[i] += 1;
    scales[i] = weighted(magnitudes(spec, absParams, ref, rows, gains)) - f0;
    absParams[i] -= 1;
  }
  const loss = mse(ref.out, y, rows);
  return { grad, scales, loss, lossScale: f0 + loss, blocked };
}
