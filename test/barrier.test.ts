/**
 * The barrier's split arrival: the last arriver runs `lastArrival` and never `whileWaiting` (it must not
 * lengthen the step's critical path); every earlier arriver runs `whileWaiting` once, before it waits.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError, barrier } from '../src/engine/barrier.js';
import { Ctrl, sharedI32 } from '../src/engine/layout.js';

describe('barrier', () => {
  it('the last arriver opens it and runs lastArrival, not whileWaiting', () => {
    const ctrl = sharedI32(Ctrl.Length);
    const calls: string[] = [];
    barrier(
      ctrl,
      1,
      () => calls.push('last'),
      () => calls.push('waiting'),
    );
    expect(calls).toEqual(['last']);
    expect(Atomics.load(ctrl, Ctrl.BarrierGeneration)).toBe(1);
    expect(Atomics.load(ctrl, Ctrl.BarrierCount)).toBe(0);
  });

  it('an earlier arriver runs whileWaiting once, then waits (here until an abort)', () => {
    const ctrl = sharedI32(Ctrl.Length);
    // Abort is already set, so after its spin the waiter throws instead of sleeping for the second party.
    Atomics.store(ctrl, Ctrl.Abort, 1);
    const calls: string[] = [];
    expect(() =>
      barrier(
        ctrl,
        2,
        () => calls.push('last'),
        () => calls.push('waiting'),
      ),
    ).toThrow(AbortedError);
    expect(calls).toEqual(['waiting']);
    expect(Atomics.load(ctrl, Ctrl.BarrierCount)).toBe(1);
  });
});
