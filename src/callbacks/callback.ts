/**
 * The callback interface: hooks around training, with Keras's names and order.
 *
 * fit calls, in order: onTrainBegin, then per epoch onEpochBegin, onBatchBegin/onBatchEnd for each step,
 * onEpochEnd (its logs hold every metric, `val_` ones included), and finally onTrainEnd. A hook may be
 * async; fit awaits it. Set `this.model.stopTraining = true` to stop after the current epoch (or, from a
 * batch hook, right after that batch: fit then runs the batch hooks at
 * every step boundary while the workers wait, so the step is exact and the same for any worker count).
 */
export type Logs = Record<string, number>;

/** One weight array as `getWeights` returns it (a copy) and `setWeights` takes it. */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What a callback may read and change on the model it is attached to. */
export interface CallbackModel {
  stopTraining: boolean;
  getWeights(): NamedWeight[];
  setWeights(weights: NamedWeight[] | Float32Array[]): void;
  /** The optimizer's current learning rate; setting it takes effect from the next step. */
  learningRate: number;
  /** Writes the model (TensorFlow.js layers format) to a directory. */
  save(dir: string): Promise<void>;
}

export interface TrainParams {
  epochs: number;
  steps: number;
  verbose: number;
}

/**
 * The base of fit's callbacks, with Keras's hooks. Defining onBatchBegin or onBatchEnd makes fit run them at
 * the exact step boundary (the workers wait); epoch hooks cost nothing.
 *
 * @example
 * class PrintLoss extends Callback {
 *   onEpochEnd(epoch: number, logs?: Logs) {
 *     console.log(`epoch ${epoch + 1}: loss ${logs?.loss.toFixed(4)}`);
 *   }
 * }
 * await model.fit(x, y, { epochs: 5, callbacks: [new PrintLoss()] });
 */
export abstract class Callback {
  model!: CallbackModel;
  params: TrainParams = { epochs: 0, steps: 0, verbose: 0 };

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  setParams(params: TrainParams): void {
    this.params = params;
  }

  /**
   * Whether fit must run this callback's batch hooks at every step boundary, with the workers waiting (the
   * step-exact path): true when the class defines onBatchBegin or onBatchEnd.
   */
  get needsStepBoundary(): boolean {
    const base = Callback.prototype;
    return this.onBatchBegin !== base.onBatchBegin || this.onBatchEnd !== base.onBatchEnd;
  }

  onTrainBegin(_logs?: Logs): void | Promise<void> {}
  onTrainEnd(_logs?: Logs): void | Promise<void> {}
  onEpochBegin(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onBatchBegin(_batch: number, _logs?: Logs): void | Promise<void> {}
  onBatchEnd(_batch: number, _logs?: Logs): void | Promise<void> {}
}
