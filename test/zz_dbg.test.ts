import { it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { erf } from './reference.js';
it('dbg', async () => {
  await initBackend();
  const z = tf.tensor2d([-30, -20, -15, -9, -3, -1e-3, -1e-6, 0, 1e-6, 3, 9, 20], [1, 12]);
  const show = (name: string, t: tf.Tensor, ref: (z: number) => number) => {
    const d = t.dataSync(); const zz = z.dataSync();
    console.log(name, Array.from(d).map((v, i) => `${zz[i]}: ${v.toExponential(6)} rel ${((v - ref(zz[i])) / Math.abs(ref(zz[i]) || 1)).toExponential(2)}`).join(' | '));
  };
  show('softplus', tf.softplus(z), (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
  show('sigmoid', tf.sigmoid(z), (x) => 1 / (1 + Math.exp(-x)));
  show('elu', tf.elu(z), (x) => (x > 0 ? x : Math.expm1(x)));
  show('tanh', tf.tanh(z), Math.tanh);
  show('erf', tf.erf(z), erf);
  show('selu', tf.selu(z), (x) => (x > 0 ? 1.0507009873554805 * x : 1.0507009873554805 * 1.6732632423543772 * Math.expm1(x)));
  show('softmax', tf.softmax(tf.tensor2d([0, -20, -10, 5], [1, 4])), (x) => x);
});
