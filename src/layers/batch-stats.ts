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

/** Adds v[from, from + count)'s channel sums (or, with `centre`, sums of squared deviations from it) into `acc`. */
function channelPass(
  v: Float32Array,
  from: number,
  count: number,
  channels: number,
  inner: number,
  acc: Float64Array,
  centre?: Float64Array,
): void {
  const end = from + count;
  if (inner === 1) {
    // Channels last (Dense, Conv2D's default): one value per channel, channel by channel.
    for (let e = from; e < end; e += channels) {
      if (centre) {
        for (let c = 0; c < channels; c++) {
          const d = v[e + c] - centre[c];
          acc[c] += d * d;
        }
      } else for (let c = 0; c < channels; c++) acc[c] += v[e + c];
    }
    return;
  }
  for (let e = from; e < end;) {
    for (let c = 0; c < channels; c++) {
      const m = centre ? centre[c] : 0;
      let s = 0;
      for (let i = 0; i < inner; i++, e++) s += centre ? (v[e] - m) * (v[e] - m) : v[e];
      acc[c] += s;
    }
  }
}

/** A shard's (count, means, M2s) over v[from, from + count) into `out` (momentSlotWidth floats). */
export function shardMoments(
  v: Float32Array,
  from: number,
  count: number,
  channels: number,
  inner: number,
  out: Float64Array,
): void {
  const n = count / channels;
  // Local accumulators: `out` is shared memory, written once at the end.
  const mean = new Float64Array(channels);
  const m2 = new Float64Array(channels);
  if (n > 0) {
    channelPass(v, from, count, channels, inner, mean);
    for (let c = 0; c < channels; c++) mean[c] /= n;
    channelPass(v, from, count, channels, inner, m2, mean);
  }
  out[0] = n;
  out.set(mean, 1);
  out.set(m2, 1 + channels);
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
export function shardGradientSums(
  dy: Float32Array,
  xc: Float32Array,
  from: number,
  count: number,
  channels: number,
  inner: number,
  out: Float64Array,
): void {
  const sdy = new Float64Array(channels);
  const sdyx = new Float64Array(channels);
  const end = from + count;
  if (inner === 1) {
    for (let e = from; e < end; e += channels) {
      for (let c = 0; c < channels; c++) {
        const d = dy[e + c];
        sdy[c] += d;
        sdyx[c] += d * xc[e + c];
      }
    }
  } else {
    for (let e = from; e < end;) {
      for (let c = 0; c < channels; c++) {
        let a = 0;
        let b = 0;
        for (let i = 0; i < inner; i++, e++) {
          a += dy[e];
          b += dy[e] * xc[e];
        }
        sdy[c] += a;
        sdyx[c] += b;
      }
    }
  }
  out.set(sdy, 0);
  out.set(sdyx, channels);
}

/** Slots summed in slot order. */
export function sumSlots(slots: readonly Float64Array[], width: number): Float64Array {
  const out = new Float64Array(width);
  for (const s of slots) for (let i = 0; i < width; i++) out[i] += s[i];
  return out;
}
