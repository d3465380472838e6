/**
 * Where a training step's time goes, by phase ("Conv2D forward", "Conv2D filter gradient"...): off unless a
 * benchmark turns it on, so the step pays one branch per phase. tfjs-wasm's ops run synchronously, so a
 * clock around a call measures the call.
 */
let totals: Map<string, number> | null = null;

/** Starts (or restarts) collecting phase times in this thread. */
export function startProfile(): void {
  totals = new Map();
}

/** The milliseconds per phase since `startProfile`, and stops collecting. */
export function stopProfile(): Record<string, number> {
  const out = Object.fromEntries(totals ?? []);
  totals = null;
  return out;
}

/** Runs `fn`, adding its time to `phase` when profiling. */
export function timed<R>(phase: string, fn: () => R): R {
  if (!totals) return fn();
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    totals.set(phase, (totals.get(phase) ?? 0) + performance.now() - t0);
  }
}
