import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './dist/src/backend.js';
import { directMatMul, matMul, transpose } from './dist/src/engine/wasm-matmul.js';
import { patches, inputGradient } from './dist/src/engine/conv-grads.js';
import { heapTensor, heapView, wasmBackend } from './dist/src/engine/heap.js';
await initBackend();
const be = wasmBackend();
const dm = directMatMul();
const results = {};
function run(name, f) { const t0 = performance.now(); tf.tidy(() => { f(); }); (results[name] ??= []).push(performance.now() - t0); }
const n = 64;
const cases = [[28, 1, 32], [13, 32, 64]];
const data = cases.map(([h, cin, cout]) => {
  const oh = h - 2, M = n * oh * oh, K = 9 * cin;
  const x = tf.randomNormal([n, h, h, cin]); const w = tf.randomNormal([3, 3, cin, cout]); const b = tf.randomNormal([cout]);
  const dz = tf.randomNormal([n, oh, oh, cout]);
  const g = { kernel: [3, 3], strides: [1, 1], dilation: [1, 1], plan: [{ out: oh, before: 0, after: 0 }, { out: oh, before: 0, after: 0 }] };
  return { h, cin, cout, oh, M, K, x, w, b, dz, g };
});
function col2im(dP, d, out) {
  const { h, cin, oh, K } = d;
  out.fill(0);
  let o = 0;
  for (let bb = 0; bb < n; bb++) for (let i = 0; i < oh; i++) for (let j = 0; j < oh; j++, o += K)
    for (let ki = 0; ki < 3; ki++) { const base = ((bb * h + i + ki) * h + j) * cin; const src = o + ki * 3 * cin; for (let t = 0; t < 3 * cin; t++) out[base + t] += dP[src + t]; }
}
for (let rep = 0; rep < 30; rep++) {
  for (const d of data) {
    const tag = `c${d.cin}`;
    run(`${tag} fwd xnn conv`, () => tf.fused.conv2d({ x: d.x, filter: d.w, strides: 1, pad: 'valid', bias: d.b, activation: 'relu' }));
    run(`${tag} fwd im2col+fused matmul`, () => {
      const P = heapTensor(be, d.M, d.K); patches(heapView(d.x), d.x.shape, 0, n, d.g, heapView(P));
      return dm.fused(P, tf.reshape(d.w, [d.K, d.cout]), d.b, 'relu');
    });
    run(`${tag} patches only`, () => { const P = heapTensor(be, d.M, d.K); patches(heapView(d.x), d.x.shape, 0, n, d.g, heapView(P)); });
    if (d.cin > 1) {
      run(`${tag} dx full conv`, () => inputGradient(d.dz, d.w, d.x.shape, d.g));
      run(`${tag} dx matmul+col2im`, () => {
        const dP = matMul(tf.reshape(d.dz, [d.M, d.cout]), transpose(tf.reshape(d.w, [d.K, d.cout])));
        const out = heapTensor(be, n * d.h * d.h, d.cin);
        col2im(heapView(dP), d, heapView(out));
      });
    }
  }
}
for (const [k, v] of Object.entries(results)) { v.sort((a, b) => a - b); console.log(k.padEnd(34), 'p10', v[3].toFixed(2), 'p50', v[15].toFixed(2)); }
