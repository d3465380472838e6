/**
 * A reusable barrier over shared memory (generation counting), with a short spin before sleeping because
 * a step's phases last about a millisecond and a futex wake-up costs a sizeable part of that.
 */
import { Ctrl } from './layout.js';

export class AbortedError extends Error {
  constructor() {
    super('lockstep: training aborted');
  }
}

// Spin up to this long before sleeping: the other workers usually arrive within a fraction of a millisecond.
const SPIN_MS = 0.3;
const SLEEP_MS = 50;
// At a gate the main thread runs JavaScript callbacks: spin only briefly, it may need this core.
const GATE_SPIN_MS = 0.05;

/** The control-block fields of one barrier: its arrival count and its generation. */
export interface BarrierFields {
  count: number;
  generation: number;
}

/** The step's barriers (between compute and reduce, and at the step's end). */
export const STEP_BARRIER: BarrierFields = { count: Ctrl.BarrierCount, generation: Ctrl.BarrierGeneration };
/**
 * The batch-statistics exchange's barrier: its own fields, because only the workers holding a shard of the
 * step take part, while a worker without one goes on to the step barrier.
 */
export const SYNC_BARRIER: BarrierFields = { count: Ctrl.SyncCount, generation: Ctrl.SyncGeneration };

/**
 * Waits until `parties` threads have arrived. The last arriver runs `lastArrival` before opening the barrier,
 * so whatever it writes is visible to every thread that leaves. Every other arriver first runs `whileWaiting`
 * (work that needs nothing from the others), then waits. Throws AbortedError if Abort is set.
 */
export function barrier(
  ctrl: Int32Array,
  parties: number,
  lastArrival?: () => void,
  whileWaiting?: () => void,
  fields: BarrierFields = STEP_BARRIER,
): void {
  const { count, generation } = fields;
  const gen = Atomics.load(ctrl, generation);
  if (Atomics.add(ctrl, count, 1) === parties - 1) {
    Atomics.store(ctrl, count, 0);
    lastArrival?.();
    Atomics.add(ctrl, generation, 1);
    Atomics.notify(ctrl, generation);
    return;
  }
  whileWaiting?.();
  const spinUntil = performance.now() + SPIN_MS;
  do {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, generation) !== gen) return;
  } while (performance.now() < spinUntil);
  while (Atomics.load(ctrl, generation) === gen) {
    if (Atomics.load(ctrl, Ctrl.Abort)) throw new AbortedError();
    Atomics.wait(ctrl, generation, gen, SLEEP_MS);
  }
}

/**
 * Waits until the main thread opens step `step` (Ctrl.Gate > step). Only the gated path ever waits here: the
 * fast path opens every step of the epoch before it starts. Throws AbortedError if Abort is set.
 */
export function awaitGate(ctrl: Int32Array, step: number): void {
  const spinUntil = performance.now() + GATE_SPIN_MS;
  while (Atomics.load(ctrl, Ctrl.Gate) <= step) {
    if (Atomics.load(ctrl, Ctrl.Abort)) throw new AbortedError();
    // A short spin covers callbacks that return at once; then sleep, leaving the core to the main thread.
    if (performance.now() < spinUntil) continue;
    Atomics.wait(ctrl, Ctrl.Gate, Atomics.load(ctrl, Ctrl.Gate), SLEEP_MS);
  }
}

/** Makes every worker leave at its next check: sets Abort and wakes those asleep at a barrier or gate. */
export function abortWorkers(ctrl: Int32Array): void {
  Atomics.store(ctrl, Ctrl.Abort, 1);
  Atomics.notify(ctrl, Ctrl.BarrierGeneration);
  Atomics.notify(ctrl, Ctrl.SyncGeneration);
  Atomics.notify(ctrl, Ctrl.Gate);
  Atomics.notify(ctrl, Ctrl.StepsDone);
}
