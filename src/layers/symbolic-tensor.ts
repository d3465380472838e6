/**
 * Symbolic tensors: what `layers.Input` and `layer.apply` return. They hold no values, only the shape of one
 * sample and the call (node) that made them, so `new Model({ inputs, outputs })` can walk back from the
 * outputs and list the calls in topological order (as Keras's functional models and tfjs-layers do).
 */
import type { Layer } from './layer.js';

/** One call of a layer: the tensors it read and the one it made. */
export interface CallNode {
  layer: Layer;
  inputs: SymbolicTensor[];
  output: SymbolicTensor;
  /** The call's index among the layer's calls (tfjs-layers' node index in `inbound_nodes`). */
  index: number;
}

let made = 0;

export class SymbolicTensor {
  /** The call that made this tensor; an Input's tensor is made by its InputLayer's only call. */
  node!: CallNode;
  /** A number in order of creation: ties in the topological order break on it. */
  readonly id = made++;

  constructor(
    /** The shape of one sample, without the batch dimension. */
    readonly shape: number[],
  ) {}

  get name(): string {
    return this.node.layer.name;
  }

  toString(): string {
    return `SymbolicTensor(${this.node?.layer.name || this.node?.layer.className}, shape=(None, ${this.shape.join(', ')}))`;
  }
}

/** Records a call of `layer` on `inputs` (after the layer checked and built for their shapes). */
export function recordCall(layer: Layer, inputs: SymbolicTensor[], outputShape: number[], calls: CallNode[]): SymbolicTensor {
  const output = new SymbolicTensor([...outputShape]);
  output.node = { layer, inputs, output, index: calls.length };
  calls.push(output.node);
  return output;
}
