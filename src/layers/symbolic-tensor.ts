/**
 * Symbolic tensors: what `layers.Input` and `layer.apply` return. They hold no values, only the shape of one
 * sample and the call (node) that made them, so `new Model({ inputs, outputs })` can walk back from the
 * outputs and list the calls in topological order (as Keras's functional models and tfjs-layers do).
 *
 * The layer type is a parameter (layers/layer.ts fills in `Layer`), so this module imports no layer.
 */

/** What a call needs to know of its layer here. */
export interface CallLayer {
  name: string;
  readonly className: string;
}

/** One call of a layer: the tensors it read and the one it made. */
export interface CallNode<L extends CallLayer = CallLayer> {
  layer: L;
  inputs: SymbolicTensor<L>[];
  output: SymbolicTensor<L>;
  /** The call's index among the layer's calls (tfjs-layers' node index in `inbound_nodes`). */
  index: number;
}

export class SymbolicTensor<L extends CallLayer = CallLayer> {
  /** The call that made this tensor; an Input's tensor is made by its InputLayer's only call. */
  node!: CallNode<L>;

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
export function recordCall<L extends CallLayer>(
  layer: L,
  inputs: SymbolicTensor<L>[],
  outputShape: number[],
  calls: CallNode<L>[],
): SymbolicTensor<L> {
  const output = new SymbolicTensor<L>([...outputShape]);
  output.node = { layer, inputs, output, index: calls.length };
  calls.push(output.node);
  return output;
}
