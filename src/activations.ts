/**
 * Activations: forward on tfjs-core ops and a hand-written derivative beside each.
 *
 * `backward(dy, y, z)` returns dL/dz given dL/dy, the output y = f(z) and (when `needsZ`) the input z.
 * Derivatives are written in terms of y where that is exact, so most layers need not keep z. `fused`
 * names the activation tfjs can fuse into its matmul kernel (wasm supports linear, relu, sigmoid, elu).
 * Softmax's derivative is the full Jacobian-vector product; with a cross-entropy loss the engine skips it
 * and uses the combined, numerically stable gradient instead (see losses.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { own, unknownName } from './errors.js';
import { reluGrad, sigmoidGrad, tanh, tanhGrad } from './ops/elementwise.js';

type T = tf.Tensor2D;

export interface Activation {
  name: string;
  fused?: 'linear' | 'relu' | 'sigmoid' | 'elu';
  needsZ: boolean;
  forward(z: T): T;
  backward(dy: T, y: T, z: T | undefined): T;
}

// SELU constants from Klambauer et al. (2017), as in Keras.
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

const act = (a: Activation): Activation => a;

const ACTIVATIONS: Record<string, Activation> = {
  linear: act({ name: 'linear', fused: 'linear', needsZ: false, forward: (z) => z, backward: (dy) => dy }),
  relu: act({
    name: 'relu',
    fused: 'relu',
    needsZ: false,
    forward: (z) => tf.relu(z),
    // relu'(0) = 0, as in TensorFlow: y > 0 exactly where z > 0. One fused pass where available, same bits.
    backward: reluGrad,
  }),
  tanh: act({
    name: 'tanh',
    needsZ: false,
    // tfjs's own bits, four values at a time where the direct kernels load (ops/elementwise.ts).
    forward: (z) => tanh(z),
    backward: (dy, y) => tanhGrad(dy, y),
  }),
  sigmoid: act({
    name: 'sigmoid',
    fused: 'sigmoid',
    needsZ: false,
    forward: (z) => tf.sigmoid(z),
    backward: sigmoidGrad,
  }),
  softmax: act({
    name: 'softmax',
    needsZ: false,
    forward: (z) => tf.softmax(z),
    // J^T dy = y * (dy - sum(dy * y)) row by row.
    backward: (dy, y) => tf.mul(y, tf.sub(dy, tf.sum(tf.mul(dy, y), 1, true))),
  }),
  elu: act({
    name: 'elu',
    fused: 'elu',
    needsZ: false,
    forward: (z) => tf.elu(z),
    // For z <= 0, y = e^z - 1 so f'(z) = y + 1; y > 0 exactly where z > 0.
    backward: (dy, y) => tf.mul(dy, tf.where(tf.greater(y, 0), tf.onesLike(y), tf.add(y, 1))),
  }),
  selu: act({
    name: 'selu',
    needsZ: false,
    forward: (z) => tf.selu(z),
    // For z <= 0, y = scale*alpha*(e^z - 1) so f'(z) = y + scale*alpha; for z > 0, f'(z) = scale.
    backward: (dy, y) =>
      tf.mul(dy, tf.where(tf.greater(y, 0), tf.fill(y.shape, SELU_SCALE), tf.add(y, SELU_SCALE * SELU_ALPHA))),
  }),
  softplus: act({
    name: 'softplus',
    needsZ: true,
    forward: (z) => tf.softplus(z),
    // f'(z) = sigmoid(z). Not 1 - e^{-y}: for z << 0 that cancels in float32 (y ~ e^z), and a log-loss on the
    // output (which divides by y) turns the cancellation into a gradient off by several percent.
    backward: (dy, _y, z) => tf.mul(dy, tf.sigmoid(z as T)),
  }),
  gelu: act({
    name: 'gelu',
    needsZ: true,
    // Keras's default gelu is the exact one (approximate=False): 0.5 z (1 + erf(z / sqrt 2)).
    forward: (z) => tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2)))),
    backward: (dy, _y, z) => {
      const zz = z as T;
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(zz, Math.SQRT1_2))));
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(zz), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return tf.mul(dy, tf.add(cdf, tf.mul(zz, pdf)));
    },
  }),
  swish: act({
    name: 'swish',
    needsZ: true,
    forward: (z) => tf.mul(z, tf.sigmoid(z)),
    // f'(z) = s + z s (1 - s) with s = sigmoid(z).
    backward: (dy, _y, z) => {
      const s = tf.sigmoid(z as T);
      return tf.mul(dy, tf.add(s, tf.mul(z as T, tf.mul(s, tf.sub(1, s)))));
    },
  }),
};

export const ACTIVATION_NAMES = Object.keys(ACTIVATIONS);

/** Looks an activation up by its Keras name (`silu` is Keras's alias for swish; undefined means linear). */
export function getActivation(name: string | undefined | null): Activation {
  const key = name == null ? 'linear' : name === 'silu' ? 'swish' : name;
  const a = own(ACTIVATIONS, key);
  if (!a) throw unknownName('activation', name, ACTIVATION_NAMES);
  return a;
}
