/**
 * BatchNormalization's per-shard partial statistics and their fixed-order combination, in float64 on the host.
 *
 * Values are read where tfjs keeps them, as [outer, channels, inner] blocks (the channel axis between them):
 * element e belongs to channel floor(e / inner) % channels.
 *
 * Forward, a shard sends (count, mean, M2) per channel, M2 being the sum of squared deviations from its own
 * mean (two passes over its values), and shards are merged with Chan, Golub and LeVeque's pairwise update.
 * The one-pass E[x^2] - E[x]^2 form (Keras's) loses about log10(mean^2 / variance) digits to cancellation;
 * this form loses none, and costs one more read of a shard's values.
 */

/** Floats a forward slot holds for `channels`: the count, then the means, then the M2s. */
export const momentSlotWidth = (channels: number) => 1 + 2 * channels;
/** Floats a backward slot holds: sum(dy) per channel, then sum(dy * (x - mean)). */
export const gradientSlotWidth = (channels: number) => 2 * channels;

/** A shard's (count, means, M2s) over v[from, from + count) into `out` (momentSlotWidth floats). */
export function shardMoments(v: Float32Array, from: number, count: number, channels: number, inner: number, out: Float64Array): void {
  out.fill(0);
  const n = count / channels;
  out[0] = n;
  if (n === 0) return;
  const end = from + count;
  // Plain loops, no callbacks: this runs over every activation of the layer, twice.
  for (let e = from; e < end; ) {
    for (let c = 0; c < channels; c++) {
      let s = 0;
      for (let i = 0; i < inner; i++) s += v[e++];
      out[1 + c] += s;
    }
  }
  for (let c = 0; c < channels; c++) out[1 + c] /= n;
  for (let e = from; e < end; ) {
    for (let c = 0; c < channels; c++) {
      const m = out[1 + c];
      let s = 0;
      for (let i = 0; i < inner; i++) {
        const d = v[e++] - m;
        s += d * d;
      }
      out[1 + channels + c] += s;
    }
  }
}

export interface Moments {
  count: number;
  mean: Float64Array;
  /** Biased (divided by the count), as Keras's ops.moments. */
  variance: Float64Array;
}

/** The whole batch's moments from the shards' slots, merged in slot order (the same bits on any worker count). */
export function combineMoments(slots: readonly Float64Array[], channels: number): Moments {
  let n = 0;
  const mean = new Float64Array(channels);
  const m2 = new Float64Array(channels);
  for (const s of slots) {
    const nb = s[0];
    if (nb === 0) continue;
    const total = n + nb;
    for (let c = 0; c < channels; c++) {
      const d = s[1 + c] - mean[c];
      mean[c] += (d * nb) / total;
      m2[c] += s[1 + channels + c] + (d * d * n * nb) / total;
    }
    n = total;
  }
  return { count: n, mean, variance: m2.map((v) => v / n) };
}

/** A shard's sum(dy) and sum(dy * xc) per channel over [from, from + count) into `out` (gradientSlotWidth floats). */
export function shardGradientSums(dy: Float32Array, xc: Float32Array, from: number, count: number, channels: number, inner: number, out: Float64Array): void {
  out.fill(0);
  const end = from + count;
  let e = from;
  while (e < end) {
    for (let c = 0; c < channels; c++) {
      let sdy = 0;
      let sdyx = 0;
      for (let i = 0; i < inner; i++, e++) {
        sdy += dy[e];
        sdyx += dy[e] * xc[e];
      }
      out[c] += sdy;
      out[channels + c] += sdyx;
    }
  }
}

/** Slots summed in slot order. */
export function sumSlots(slots: readonly Float64Array[], width: number): Float64Array {
  const out = new Float64Array(width);
  for (const s of slots) for (let i = 0; i < width; i++) out[i] += s[i];
  return out;
}
