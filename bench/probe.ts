/**
 * How fast each vCPU is right now: a fixed arithmetic loop, run on every vCPU at once for about 0.1 s.
 *
 * On a shared VM one vCPU sometimes runs at half speed for minutes (a busy neighbour on its host core; this
 * machine reports no steal time). A case run in such a phase is slow for reasons that have nothing to do with
 * the code, and a 2-worker lockstep case suffers most, because each step waits for the slower worker. The
 * bench probes before every case and the report marks the repeats that ran in such a phase, so a reader can
 * tell the machine's noise from a regression. `node dist/bench/step-time.js cpu 2` is the long form.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** ms per chunk of 300 x 4,096 multiply-adds, `chunks` times (about 0.92 ms a chunk on this machine when quiet). */
export function chunkTimes(chunks: number): number[] {
  const a = new Float64Array(4096).fill(1.0001);
  const times: number[] = [];
  let sum = 0;
  for (let k = 0; k < chunks; k++) {
    const t = performance.now();
    for (let rep = 0; rep < 300; rep++) for (let i = 0; i < 4096; i++) sum += a[i] * 1e-9;
    times.push(performance.now() - t);
  }
  if (!(sum > 0)) throw new Error('unreachable');
  return times;
}

/** Median ms per chunk on each of `threads` threads running side by side. */
export async function probeCpus(threads: number, chunks = 100): Promise<number[]> {
  const file = fileURLToPath(import.meta.url);
  return Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(file, { workerData: { probeChunks: chunks } });
          w.once('message', (ms: number) => resolve(ms));
          w.once('error', reject);
        }),
    ),
  );
}

/** A probe counts as slow when its slowest vCPU took this much longer than the run's fastest probe. */
export const SLOW_PROBE = 1.15;

// A probe's worker: the first fifth of the chunks run before V8 has optimized the loop.
if (!isMainThread && typeof workerData?.probeChunks === 'number') {
  const chunks: number = workerData.probeChunks;
  const s = chunkTimes(chunks)
    .slice(Math.floor(chunks / 5))
    .sort((x, y) => x - y);
  parentPort!.postMessage(s[s.length >> 1]);
}
