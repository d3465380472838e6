/**
 * The matmul rate a training step could reach on this machine: each matmul and convolution of a step
 * (bench/flops.ts), timed alone on tfjs-wasm's XNNPACK at a worker's shard size, on kept operands, so
 * XNNPACK's operator cache holds (no packing, no JavaScript around it). The same run's lockstep cases then
 * report their effective rate (the model's FLOPs per epoch / s per epoch, per worker) against it: the
 * "matmul efficiency", 1.0 for a step that does nothing but its matmuls at their isolated speed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { Network, type Plan } from '../src/engine/network.js';
import { inputGradient, type ConvGeometry } from '../src/ops/conv-grads.js';
import { directMatMul } from '../src/ops/wasm-matmul.js';
import { axisPlan, type Padding } from '../src/layers/conv-shapes.js';
import { trainingProducts, type Product } from './flops.js';

export interface MatmulProbe {
  /** Rows per product: one micro-shard. */
  rows: number;
  /** Each product at `rows` rows: FLOPs, ms per call (median of rounds) and GFLOPS. */
  products: (Product & { ms: number; gflops: number })[];
  /** Σ FLOPs / Σ ms over the products: the step's matmul rate. */
  gflops: number;
  /** Σ ms: a shard's matmuls back to back, nothing else. */
  shardMs: number;
}

/** ms per call of `run` (which returns a tensor to dispose): median of 5 rounds of at least `roundMs` each. */
function timeCall(run: () => tf.Tensor, roundMs = 40): number {
  for (let i = 0; i < 5; i++) run().dispose();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < roundMs) {
      run().dispose();
      calls++;
      t = performance.now();
    }
    rounds.push((t - t0) / calls);
  }
  return rounds.sort((a, b) => a - b)[2];
}

/** Times every product of `plan`'s training step at `rows` rows, on this thread. */
export async function probeMatmuls(plan: Plan, rows: number): Promise<MatmulProbe> {
  await initBackend();
  const net = new Network(plan);
  const products: MatmulProbe['products'] = [];
  for (const p of trainingProducts(plan)) {
    const layer = net.layers.find((l) => l.name === p.layer)!;
    const flops = p.flops * rows;
    const ms = tf.tidy(() => {
      const kept = probeFor(layer.className, p.kind, layer.inputShape!, layer.outputShape!, layer.getConfig(), rows);
      return timeCall(kept);
    });
    products.push({ ...p, flops, ms, gflops: flops / ms / 1e6 });
  }
  net.dispose();
  const flops = products.reduce((n, p) => n + p.flops, 0);
  const shardMs = products.reduce((n, p) => n + p.ms, 0);
  return { rows, products, gflops: flops / shardMs / 1e6, shardMs };
}

const rand = (shape: number[]) => tf.randomUniform(shape, -0.5, 0.5, 'float32', 7);

/** A call that runs one product on operands made once (kept in the caller's tidy while it is timed). */
function probeFor(
  className: string,
  kind: Product['kind'],
  input: number[],
  output: number[],
  config: Record<string, unknown>,
  rows: number,
): () => tf.Tensor {
  // tfjs-wasm's kernels called directly, as the engine calls them (the op wrappers cost 7-16 µs a call).
  const direct = directMatMul();
  const matMul = (a: tf.Tensor2D, b: tf.Tensor2D) => (direct ? direct.matMul(a, b) : tf.matMul(a, b));
  if (className === 'Dense') {
    const [fanIn, units] = [input[0], output[0]];
    if (kind === 'forward') {
      const [x, w, b] = [
        rand([rows, fanIn]) as tf.Tensor2D,
        rand([fanIn, units]) as tf.Tensor2D,
        rand([units]) as tf.Tensor1D,
      ];
      return () =>
        direct ? direct.fused(x, w, b, 'relu') : tf.fused.matMul({ a: x, b: w, bias: b, activation: 'relu' });
    }
    if (kind === 'weight gradient') {
      const [xT, dz] = [rand([fanIn, rows]) as tf.Tensor2D, rand([rows, units]) as tf.Tensor2D];
      return () => matMul(xT, dz);
    }
    const [dz, wT] = [rand([rows, units]) as tf.Tensor2D, rand([units, fanIn]) as tf.Tensor2D];
    return () => matMul(dz, wT);
  }
  const [h, w, cin] = input;
  const [oh, ow, cout] = output;
  const [kh, kw] = config.kernelSize as [number, number];
  const strides = config.strides as [number, number];
  const dilation = config.dilationRate as [number, number];
  const padding = config.padding as Padding;
  const kernel = rand([kh, kw, cin, cout]) as tf.Tensor4D;
  if (kind === 'forward') {
    const [x, b] = [rand([rows, h, w, cin]) as tf.Tensor4D, rand([cout])];
    return () =>
      tf.fused.conv2d({ x, filter: kernel, strides, pad: padding, dilations: dilation, bias: b, activation: 'relu' });
  }
  if (kind === 'weight gradient') {
    const [pT, dz] = [
      rand([kh * kw * cin, rows * oh * ow]) as tf.Tensor2D,
      rand([rows * oh * ow, cout]) as tf.Tensor2D,
    ];
    return () => matMul(pT, dz);
  }
  const plan = [
    axisPlan(h, kh, strides[0], dilation[0], padding)!,
    axisPlan(w, kw, strides[1], dilation[1], padding)!,
  ] as ConvGeometry['plan'];
  const geometry: ConvGeometry = { kernel: [kh, kw], strides, dilation, plan };
  const dz = rand([rows, oh, ow, cout]) as tf.Tensor4D;
  // tidy: the full convolution makes intermediate tensors (the turned kernel, padding).
  return () => tf.tidy(() => inputGradient(dz, kernel, [rows, h, w, cin], geometry));
}
