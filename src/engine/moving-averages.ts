/**
 * The update of non-trainable moving averages (BatchNormalization's moving mean and variance), run by each
 * worker over its parameter range right after the optimizer's update of that range.
 *
 * The optimizer's kernels update the whole range, these weights included (splitting the range around them
 * would cost more than it saves); this then overwrites them, and puts their optimizer state back as it was,
 * so no optimizer rule (AdamW's decay, a momentum) ever acts on them and their state stays at its initial
 * value. Their "gradient" slot holds the batch's statistic (see ParamSpec.movingAverage), so:
 *
 *   moving = moving * momentum + batch * (1 - momentum)
 *
 * in float32, each operation rounded, as Keras 3's BatchNormalization writes it (momentum and 1 - momentum are
 * Python floats cast to float32).
 */
import type { ParamSlot } from './network.js';

const f = Math.fround;

export interface MovingAverageArgs {
  params: Float32Array;
  /** The reduced slots: the batch statistic for these weights. */
  grads: Float32Array;
  paramsOut: Float32Array;
  state: Float32Array[];
  stateOut: Float32Array[];
  start: number;
  end: number;
}

export function updateMovingAverages(slots: readonly ParamSlot[], a: MovingAverageArgs): void {
  for (const s of slots) {
    const lo = Math.max(a.start, s.offset);
    const hi = Math.min(a.end, s.offset + s.size);
    if (lo >= hi) continue;
    const momentum = f(s.movingAverage!.momentum);
    const rest = f(1 - s.movingAverage!.momentum);
    for (let i = lo; i < hi; i++) a.paramsOut[i] = f(f(a.params[i] * momentum) + f(a.grads[i] * rest));
    a.state.forEach((st, k) => a.stateOut[k].set(st.subarray(lo, hi), lo));
  }
}
