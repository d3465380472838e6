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
  Atomics.notify(ctrl, Ctrl.Gate);
  Atomics.notify(ctrl, Ctrl.StepsDone);
}
