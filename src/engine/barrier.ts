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

/**
 * Waits until `parties` threads have arrived. The last arriver runs `lastArrival` before opening the barrier,
 * so whatever it writes is visible to every thread that leaves. Every other arriver first runs `whileWaiting`
 * (work that needs nothing from the others), then waits. Throws AbortedError if Abort is set.
 */
export function barrier(ctrl: Int32Array, parties: number, lastArrival?: () => void, whileWaiting?: () => void): void {
  const gen = Atomics.load(ctrl, Ctrl.BarrierGeneration);
  if (Atomics.add(ctrl, Ctrl.BarrierCount, 1) === parties - 1) {
    Atomics.store(ctrl, Ctrl.BarrierCount, 0);
    lastArrival?.();
    Atomics.add(ctrl, Ctrl.BarrierGeneration, 1);
    Atomics.notify(ctrl, Ctrl.BarrierGeneration);
    return;
  }
  whileWaiting?.();
  const spinUntil = performance.now() + SPIN_MS;
  do {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, Ctrl.BarrierGeneration) !== gen) return;
  } while (performance.now() < spinUntil);
  while (Atomics.load(ctrl, Ctrl.BarrierGeneration) === gen) {
    if (Atomics.load(ctrl, Ctrl.Abort)) throw new AbortedError();
    Atomics.wait(ctrl, Ctrl.BarrierGeneration, gen, SLEEP_MS);
  }
}
