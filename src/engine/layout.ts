/**
 * The shared-memory layout of a training session: named indices into the control block and the buffers
 * that workers read and write. Every large array lives in a SharedArrayBuffer; messages carry only handles.
 */

import { growTo, PAGE } from '../kernels/memory.js';

/** Int32 fields of the control block. */
export const Ctrl = {
  /** Workers arrived at the current barrier. */
  BarrierCount: 0,
  /** Bumped each time a barrier opens; waiters sleep on it. */
  BarrierGeneration: 1,
  /** Set by the main thread when a worker failed or the user aborted: everyone leaves at the next check. */
  Abort: 2,
  /** Set by the main thread (a callback asked to stop): honoured at the next step boundary. */
  StopRequested: 3,
  /** The barrier's last arriver copies StopRequested here, so all workers take the same decision. */
  StopDecided: 4,
  /** Steps of the current epoch whose update is complete. */
  StepsDone: 5,
  /** Optimizer updates applied so far: params[UPDATES % 2] holds the current weights. */
  Updates: 6,
  /**
   * Steps of the current epoch that workers may start. The fast path opens every step at once; the gated
   * path (batch callbacks, an AbortSignal) opens step t + 1 only after the callbacks of step t returned.
   */
  Gate: 7,
  /** The batch-statistics exchange's own barrier (engine/shard-exchange.ts), inside a step's compute phase. */
  SyncCount: 8,
  SyncGeneration: 9,
  Length: 10,
} as const;

/**
 * Per-worker timing counters (float64, milliseconds), for the benchmark's compute/reduce/sync split; Exchange
 * is the time spent waiting at the batch-statistics exchange (not counted in Compute), Gathers its calls.
 */
export const Timing = { Compute: 0, Reduce: 1, Sync: 2, Exchange: 3, Gathers: 4, Length: 5 } as const;

/** Float32 arrays in SharedArrayBuffers, as structured clone sends them (shared, not copied). */
export function sharedF32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, length) * 4), 0, length);
}

export function sharedF64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(Math.max(1, length) * 8), 0, length);
}

export function sharedI32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4), 0, length);
}

/**
 * Weights and optimizer state, double-buffered: an update reads set t % 2 and writes set (t + 1) % 2. They
 * live in one shared WebAssembly.Memory (its buffer is a SharedArrayBuffer) together with the gradient
 * slots (`scratchF32`), so the SIMD update kernels can address all of them; workers receive the memory with
 * the views.
 */
export interface ModelBuffers {
  memory: WebAssembly.Memory;
  params: [Float32Array, Float32Array];
  /** state[set][k]: the k-th optimizer state array (momentum, velocity...). */
  state: [Float32Array[], Float32Array[]];
  /** Byte offset where scratch space (gradient slots) begins. */
  scratchAt: number;
}

/** Arrays start on 64-byte lines: SIMD loads stay aligned and no two arrays share a cache line. */
const LINE_FLOATS = 16;
export const lineAligned = (floats: number) => Math.ceil(floats / LINE_FLOATS) * LINE_FLOATS;

export function allocModelBuffers(paramCount: number, stateArrays: number): ModelBuffers {
  const stride = lineAligned(Math.max(1, paramCount)) * 4;
  const scratchAt = stride * 2 * (1 + stateArrays);
  // The maximum is wasm32's 4 GiB: reserved address space, not memory; pages are committed as they are used.
  const memory = new WebAssembly.Memory({ initial: Math.ceil(scratchAt / PAGE), maximum: 65536, shared: true });
  let at = 0;
  const next = () => {
    const view = new Float32Array(memory.buffer, at, paramCount);
    at += stride;
    return view;
  };
  const params: [Float32Array, Float32Array] = [next(), next()];
  const set = () => Array.from({ length: stateArrays }, next);
  return { memory, params, state: [set(), set()], scratchAt };
}

/** Grows `memory` until it holds at least `bytes` bytes. */
/**
 * `floats` float32s of scratch in the model's memory, after its weights and state, zeroed. The memory grows
 * when needed; views of a shared memory stay valid when it grows, so earlier views are unaffected.
 */
export function scratchF32(buffers: ModelBuffers, floats: number): Float32Array {
  growTo(buffers.memory, buffers.scratchAt + Math.max(1, floats) * 4);
  return new Float32Array(buffers.memory.buffer, buffers.scratchAt, floats).fill(0);
}

/** Rows of a dataset in shared memory. */
export interface SharedData {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  xCols: number;
  yCols: number;
}

/** Parameter range [start, end) that worker `w` of `workers` reduces and updates; cut at 16-float lines. */
export function paramRange(paramCount: number, w: number, workers: number): [number, number] {
  const per = Math.ceil(paramCount / workers / 16) * 16;
  return [Math.min(paramCount, w * per), Math.min(paramCount, (w + 1) * per)];
}

/**
 * How a batch of `batchRows` rows is cut into micro-shards: a function of the batch size alone, never of the
 * worker count. Each shard pays tfjs's fixed per-op costs (about 30 ops), so shards have at least 64 rows
 * (measured: 4 shards of 32 cost ~25% more than 2 of 64 at batch 128); at most 16 shards per batch let up to
 * 16 workers share large batches. Pass microBatchSize to trade per-shard overhead for parallelism.
 */
export function shardRowsFor(batchSize: number, microBatchSize?: number): number {
  return microBatchSize ?? Math.max(64, Math.ceil(batchSize / 16));
}
