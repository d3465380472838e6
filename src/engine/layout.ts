/**
 * The shared-memory layout of a training session: named indices into the control block and the buffers
 * that workers read and write. Every large array lives in a SharedArrayBuffer; messages carry only handles.
 */

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
  Length: 8,
} as const;

/** Per-worker timing counters (float64, milliseconds), for the benchmark's compute/reduce/sync split. */
export const Timing = { Compute: 0, Reduce: 1, Sync: 2, Length: 3 } as const;

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

/** Weights and optimizer state, double-buffered: an update reads set t % 2 and writes set (t + 1) % 2. */
export interface ModelBuffers {
  params: [Float32Array, Float32Array];
  /** state[set][k]: the k-th optimizer state array (momentum, velocity...). */
  state: [Float32Array[], Float32Array[]];
}

export function allocModelBuffers(paramCount: number, stateArrays: number): ModelBuffers {
  const set = () => Array.from({ length: stateArrays }, () => sharedF32(paramCount));
  return { params: [sharedF32(paramCount), sharedF32(paramCount)], state: [set(), set()] };
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
