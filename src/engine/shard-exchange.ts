/**
 * The batch-statistics exchange: how a layer gets sums over the whole batch while the batch's micro-shards are
 * computed on several workers (BatchNormalization's mean and variance in forward, its sum(dy) and
 * sum(dy * (x - mean)) in backward). PyTorch's SyncBatchNorm does the same over processes; here it is shared
 * memory and one barrier:
 *
 *   1. each part (micro-shard) writes its float64 partial values into its shard's slot of `cells`;
 *   2. the workers that hold a shard of this step meet at the exchange's own barrier (Ctrl.SyncCount);
 *   3. every one of them reads all the slots, and the layer combines them in shard order 0, 1, 2...
 *
 * A shard's partial values depend on its rows alone and the combination order on the batch alone, so every
 * worker computes the same bits, for any worker count. A worker with no shard this step (the last batch may
 * have fewer shards than workers) never calls `gather` and goes straight to the step barrier, which has fields
 * of its own. Calls alternate between two halves of `cells`: a worker can only write call k + 2 after every
 * worker has arrived at call k + 1, that is after each has finished reading call k.
 */
import type { BatchSync, ShardPart } from '../layers/layer.js';
import { barrier, SYNC_BARRIER } from './barrier.js';
import { sharedF64 } from './layout.js';

export interface ExchangeArea {
  /** 2 halves x maxShards slots x width float64s (see `exchangeFloats`). */
  cells: Float64Array;
  /** Float64s per slot: the largest `batchSyncWidth()` of the network's layers. */
  width: number;
  maxShards: number;
}

/** The float64s an exchange area needs for `maxShards` shards of `width` values (0 when no layer exchanges). */
export const exchangeFloats = (width: number, maxShards: number) => (width > 0 ? 2 * maxShards * width : 0);

export class ShardExchange implements BatchSync {
  private calls = 0;
  /** Milliseconds spent waiting at the exchange's barrier, and the calls made, since `takeTiming`. */
  private waited = 0;
  private gathers = 0;

  /**
   * `parties`: the workers holding a shard of this step, all of which call `gather` equally often; 1 when this
   * thread holds every shard (in process, or a gradient check), and then no barrier is needed.
   */
  constructor(
    private readonly area: ExchangeArea,
    readonly parts: readonly ShardPart[],
    readonly shards: number,
    private readonly control: Int32Array | null,
    private readonly parties: number,
  ) {
    if (shards > area.maxShards)
      throw new Error(`lockstep internal: ${shards} shards exceed the exchange's ${area.maxShards} slots`);
  }

  /** An exchange in this thread over `parts`, which are the whole batch (part k is shard k). */
  static local(parts: readonly { start: number; rows: number }[], width: number): ShardExchange {
    const area = {
      cells: width > 0 ? new Float64Array(2 * parts.length * width) : new Float64Array(0),
      width,
      maxShards: parts.length,
    };
    return new ShardExchange(
      area,
      parts.map((p, k) => ({ start: p.start, rows: p.rows, shard: k })),
      parts.length,
      null,
      1,
    );
  }

  gather(width: number, fill: (part: number, out: Float64Array) => void): Float64Array[] {
    const { cells, width: stride, maxShards } = this.area;
    if (width > stride)
      throw new Error(
        `lockstep internal: an exchange of ${width} values per shard exceeds the ${stride} the plan allocated`,
      );
    const half = (this.calls++ % 2) * maxShards * stride;
    const slot = (j: number) => cells.subarray(half + j * stride, half + j * stride + width);
    this.parts.forEach((p, k) => fill(k, slot(p.shard)));
    if (this.parties > 1) {
      const t0 = performance.now();
      barrier(this.control!, this.parties, undefined, undefined, SYNC_BARRIER);
      this.waited += performance.now() - t0;
    }
    this.gathers++;
    return Array.from({ length: this.shards }, (_, j) => slot(j));
  }

  /** The wait time (ms) and calls since the last call, for the step's timing counters. */
  takeTiming(): { waitedMs: number; gathers: number } {
    const r = { waitedMs: this.waited, gathers: this.gathers };
    this.waited = 0;
    this.gathers = 0;
    return r;
  }
}

/** A shared exchange area for a fit: `width` float64s per shard, both halves (null when no layer exchanges). */
export function allocExchangeArea(width: number, maxShards: number): ExchangeArea | null {
  return width > 0 ? { cells: sharedF64(exchangeFloats(width, maxShards)), width, maxShards } : null;
}
