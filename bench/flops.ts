/**
 * A model's arithmetic per training sample, counted from its plan: the multiply-adds (2 FLOPs each) of every
 * matmul and convolution in a training step, which is where XNNPACK spends the step. Per weighted layer:
 * the forward product, the weight gradient and, past the first weighted layer, the input gradient (the first
 * needs none); Dense: 2 · in · out each, Conv2D: 2 · kh · kw · cin · cout · oh · ow each. Elementwise ops,
 * pooling, the loss and the optimizer are not counted: the report's "matmul efficiency" asks how close the
 * whole step comes to the rate of its matmuls alone.
 */
import { Network, type Plan } from '../src/engine/network.js';

/** One product of a training step at one sample: what it is, and its FLOPs. */
export interface Product {
  layer: string;
  kind: 'forward' | 'weight gradient' | 'input gradient';
  flops: number;
}

/** The products of one training sample, in step order (forward layer by layer, then backward). */
export function trainingProducts(plan: Plan): Product[] {
  const net = new Network(plan);
  const forward: Product[] = [];
  const backward: Product[] = [];
  let firstWeighted = true;
  for (const layer of net.layers) {
    const perProduct = productFlops(layer.className, layer.inputShape!, layer.outputShape!, layer.getConfig());
    if (perProduct === 0) continue;
    forward.push({ layer: layer.name, kind: 'forward', flops: perProduct });
    backward.unshift({ layer: layer.name, kind: 'weight gradient', flops: perProduct });
    if (!firstWeighted) backward.unshift({ layer: layer.name, kind: 'input gradient', flops: perProduct });
    firstWeighted = false;
  }
  return [...forward, ...backward];
}

/** FLOPs of a training step per sample (see trainingProducts). */
export const trainingFlopsPerSample = (plan: Plan): number => trainingProducts(plan).reduce((n, p) => n + p.flops, 0);

function productFlops(className: string, input: number[], output: number[], config: Record<string, unknown>): number {
  if (className === 'Dense') return 2 * input[0] * output[0];
  if (className === 'Conv2D') {
    const [kh, kw] = config.kernelSize as [number, number];
    const [oh, ow, cout] = output;
    return 2 * kh * kw * input[2] * cout * oh * ow;
  }
  return 0;
}
