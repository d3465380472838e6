/**
 * ops/libm.ts: fdlibm's exp, log and log1p in plain float64 arithmetic give V8's Math.exp/log/log1p bits (Node
 * 20's, whose V8 ports fdlibm), so a model's float64 losses are the same in Node and in browsers, whose engines
 * compute Math.exp differently (test/browser/library.spec.ts compares the histories).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { exp, log, log1p, powPositive } from '../src/ops/libm.js';

const bits = (x: number) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16);
};
const any = fc.double({ noNaN: false });

function sameAsMath(name: string, mine: (x: number) => number, ref: (x: number) => number, arb: fc.Arbitrary<number>) {
  it(`${name} has Math.${name}'s bits`, () => {
    const seed = Date.now() >>> 0;
    console.log(`libm ${name}: fast-check seed ${seed}`);
    fc.assert(
      fc.property(arb, (x) => bits(mine(x)) === bits(ref(x)) || (Number.isNaN(ref(x)) && Number.isNaN(mine(x)))),
      { seed, numRuns: 200_000 },
    );
  });
}

describe('libm', () => {
  sameAsMath('exp', exp, Math.exp, fc.oneof(any, fc.double({ min: -750, max: 710 }), fc.double({ min: -2, max: 2 })));
  sameAsMath('log', log, Math.log, fc.oneof(any, fc.double({ min: 0, max: 4 })));
  sameAsMath(
    'log1p',
    log1p,
    Math.log1p,
    fc.oneof(any, fc.double({ min: -1, max: 3 }), fc.double({ min: -1e-6, max: 1e-6 })),
  );

  it('handles the edges as Math does', () => {
    for (const x of [
      0,
      -0,
      1,
      -1,
      Infinity,
      -Infinity,
      NaN,
      5e-324,
      1e-310,
      709.78,
      709.79,
      -745.13,
      -745.14,
      2 ** -28,
      -(2 ** -28),
    ]) {
      // Any NaN will do (V8's and fdlibm's payloads differ).
      const b = (v: number) => (Number.isNaN(v) ? 'NaN' : bits(v));
      expect([b(exp(x)), b(log(x)), b(log1p(x))]).toEqual([b(Math.exp(x)), b(Math.log(x)), b(Math.log1p(x))]);
    }
  });

  it('powPositive is exp(y log b), within 1e-13 of Math.pow for the step counts training reaches', () => {
    expect(powPositive(0.9, 0)).toBe(1);
    for (const b of [0.9, 0.99, 0.999, 0.9999])
      for (const n of [1, 2, 7, 1000, 123_457])
        if (Math.pow(b, n) > 1e-300) expect(Math.abs(powPositive(b, n) / Math.pow(b, n) - 1)).toBeLessThan(1e-13);
  });
});
