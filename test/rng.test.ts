import { describe, expect, it } from 'vitest';
import {
  fillDropoutMask,
  threefry2x32,
  seedKey,
  foldIn,
  foldInto,
  uniform,
  permutation,
  fillUniform,
  erfinv,
  erf,
  truncatedNormal,
  keyFor,
} from '../src/rng.js';

const hex = (p: [number, number]) => p.map((v) => v.toString(16).padStart(8, '0'));

describe('Threefry-2x32-20', () => {
  // Known-answer vectors from Random123 (also in JAX's random_test.py).
  it('matches the published test vectors', () => {
    expect(hex(threefry2x32(0, 0, 0, 0))).toEqual(['6b200159', '99ba4efe']);
    expect(hex(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff))).toEqual(['1cb996fc', 'bb002be7']);
    expect(hex(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3))).toEqual(['c4923a9c', '483df7a0']);
  });

  it('derives different keys per folded value and the same key for the same path', () => {
    const k = seedKey(13);
    expect(foldIn(k, 1)).not.toEqual(foldIn(k, 2));
    expect(keyFor(k, 1, 2)).toEqual(foldIn(foldIn(k, 1), 2));
  });

  it('foldInto writes the words of foldIn where it is told, into Int32 or Uint32 arrays', () => {
    const u = new Uint32Array(6);
    const i = new Int32Array(6);
    for (const [seed, data] of [
      [0, 0],
      [13, 7],
      [2 ** 40 + 5, 0xffffffff],
      [99, 123456],
    ]) {
      const want = foldIn(seedKey(seed), data);
      foldInto(seedKey(seed), data, u, 3);
      foldInto(seedKey(seed), data, i, 1);
      expect([u[3], u[4]]).toEqual(want);
      expect([i[1] >>> 0, i[2] >>> 0]).toEqual(want);
    }
    expect(u[5]).toBe(0);
    expect(i[0]).toBe(0);
  });

  it('uniforms lie in [0,1), have mean near 1/2, and fillUniform agrees with uniform', () => {
    const k = seedKey(7);
    const out = new Float64Array(10001);
    fillUniform(k, out);
    let mean = 0;
    for (let i = 0; i < out.length; i++) {
      expect(out[i]).toBe(uniform(k, i));
      expect(out[i] >= 0 && out[i] < 1).toBe(true);
      mean += out[i] / out.length;
    }
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });

  it('permutation holds every index once and depends on the key', () => {
    const p = permutation(seedKey(1), 1000);
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect(permutation(seedKey(2), 1000)).not.toEqual(p);
    expect(permutation(seedKey(1), 1000)).toEqual(p);
  });

  it('erfinv inverts erf and truncated normals stay within 2 standard deviations', () => {
    for (const x of [-0.999, -0.5, -1e-3, 0, 0.3, 0.9, 0.99999]) expect(erf(erfinv(x))).toBeCloseTo(x, 12);
    let s2 = 0;
    for (let i = 0; i < 5000; i++) {
      const v = truncatedNormal(seedKey(3), i);
      expect(Math.abs(v)).toBeLessThanOrEqual(2);
      s2 += (v * v) / 5000;
    }
    // Variance of a standard normal truncated to [-2, 2] is about 0.774.
    expect(s2).toBeGreaterThan(0.72);
    expect(s2).toBeLessThan(0.83);
  });
});

describe('fillDropoutMask', () => {
  it('equals the reference stream: keep where uniform >= rate, scaled by 1/(1-rate)', () => {
    const k = foldIn(seedKey(99), 5);
    const out = new Float32Array(37);
    fillDropoutMask(k, out, 0, 37, 0.3);
    for (let j = 0; j < 37; j++) expect(out[j]).toBe(uniform(k, j) >= 0.3 ? Math.fround(1 / 0.7) : 0);
  });
});
