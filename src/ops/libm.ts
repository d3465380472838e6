/**
 * exp, log and log1p in plain float64 arithmetic: fdlibm's algorithms (as V8's base/ieee754.cc ports them),
 * written with + - * / only, which IEEE 754 rounds the same way in every engine.
 *
 * Why not Math.exp: engines differ in their transcendental functions. Node 20 (V8 11.3) and Chromium 156
 * (V8 15.6) give different bits for Math.exp, Math.log, Math.log1p, Math.pow, Math.tanh... on a fair share of
 * inputs, which made a model's loss history differ in the last digits between Node and a browser (the
 * weights happened to agree: float64 errors rarely survive the rounding to float32). These functions give
 * Node 20's Math.exp/log/log1p bits everywhere (test/libm.test.ts compares them on a million inputs).
 */

const view = new DataView(new ArrayBuffer(8));
const hi = (x: number): number => {
  view.setFloat64(0, x);
  return view.getInt32(0);
};
const lo = (x: number): number => {
  view.setFloat64(0, x);
  return view.getUint32(4);
};
const withHi = (x: number, h: number): number => {
  view.setFloat64(0, x);
  view.setInt32(0, h);
  return view.getFloat64(0);
};

const HALF = [0.5, -0.5];
const TWOM1000 = 9.3326361850321887899e-302;
const O_THRESHOLD = 7.09782712893383973096e2;
const U_THRESHOLD = -7.4513321910194110842e2;
const LN2_HI = [6.9314718036912381649e-1, -6.9314718036912381649e-1];
const LN2_LO = [1.90821492927058770002e-10, -1.90821492927058770002e-10];
const INVLN2 = 1.442695040888963387;
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.6533902205465251539e-6;
const P5 = 4.13813679705723846039e-8;

/** e^x (fdlibm's __ieee754_exp). */
export function exp(x: number): number {
  // V8 returns Math.E for exp(1) (fdlibm is one ulp above it); Node's bits are the reference here.
  if (x === 1) return Math.E;
  let hx = hi(x);
  const xsb = (hx >>> 31) & 1;
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | lo(x)) !== 0) return x + x;
      return xsb === 0 ? x : 0;
    }
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0;
  }
  let k = 0;
  let h = 0;
  let l = 0;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      h = x - LN2_HI[xsb];
      l = LN2_LO[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = Math.trunc(INVLN2 * x + HALF[xsb]);
      const t = k;
      h = x - t * LN2_HI[0];
      l = t * LN2_LO[0];
    }
    x = h - l;
  } else if (hx < 0x3e300000) {
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - (l - (x * c) / (2.0 - c) - h);
  if (k >= -1021) return withHi(y, hi(y) + (k << 20));
  return withHi(y, hi(y) + ((k + 1000) << 20)) * TWOM1000;
}

const TWO54 = 1.8014398509481984e16;
const LG1 = 6.66666666666673513e-1;
const LG2 = 3.999999999940941908e-1;
const LG3 = 2.857142874366239149e-1;
const LG4 = 2.222219843214978396e-1;
const LG5 = 1.818357216161805012e-1;
const LG6 = 1.531383769920937332e-1;
const LG7 = 1.479819860511658591e-1;
const LN2HI = 6.9314718036912381649e-1;
const LN2LO = 1.90821492927058770002e-10;

/** The natural logarithm (fdlibm's __ieee754_log). */
export function log(x: number): number {
  let hx = hi(x);
  const lx = lo(x);
  let k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54;
    hx = hi(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  x = withHi(x, hx | (i ^ 0x3ff00000));
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {
    if (f === 0) {
      if (k === 0) return 0;
      return k * LN2HI + k * LN2LO;
    }
    const R = f * f * (0.5 - 0.3333333333333333 * f);
    if (k === 0) return f - R;
    return k * LN2HI - (R - k * LN2LO - f);
  }
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k === 0) return f - (hfsq - s * (hfsq + R));
    return dk * LN2HI - (hfsq - (s * (hfsq + R) + dk * LN2LO) - f);
  }
  if (k === 0) return f - s * (f - R);
  return dk * LN2HI - (s * (f - R) - dk * LN2LO - f);
}

const LP1 = 6.66666666666673513e-1;
const LP2 = 3.999999999940941908e-1;
const LP3 = 2.857142874366239149e-1;
const LP4 = 2.222219843214978396e-1;
const LP5 = 1.818357216161805012e-1;
const LP6 = 1.531383769920937332e-1;
const LP7 = 1.479819860511658591e-1;

/** log(1 + x), accurate near 0 (fdlibm's log1p). */
export function log1p(x: number): number {
  const hx = hi(x);
  const ax = hx & 0x7fffffff;
  let k = 1;
  let f = 0;
  let hu = 0;
  let c = 0;
  if (hx < 0x3fda827a) {
    if (ax >= 0x3ff00000) {
      if (x === -1.0) return -Infinity;
      return NaN;
    }
    if (ax < 0x3e200000) {
      if (ax < 0x3c900000) return x;
      return x - x * x * 0.5;
    }
    if (hx > 0 || hx <= (0xbfd2bec3 | 0)) {
      k = 0;
      f = x;
      hu = 1;
    }
  }
  if (hx >= 0x7ff00000) return x + x;
  if (k !== 0) {
    let u: number;
    if (hx < 0x43400000) {
      u = 1.0 + x;
      hu = hi(u);
      k = (hu >> 20) - 1023;
      c = k > 0 ? 1.0 - (u - x) : x - (u - 1.0);
      c /= u;
    } else {
      u = x;
      hu = hi(u);
      k = (hu >> 20) - 1023;
      c = 0;
    }
    hu &= 0x000fffff;
    if (hu < 0x6a09e) {
      u = withHi(u, hu | 0x3ff00000);
    } else {
      k += 1;
      u = withHi(u, hu | 0x3fe00000);
      hu = (0x00100000 - hu) >> 2;
    }
    f = u - 1.0;
  }
  const hfsq = 0.5 * f * f;
  if (hu === 0) {
    if (f === 0) {
      if (k === 0) return 0;
      c += k * LN2LO;
      return k * LN2HI + c;
    }
    const R = hfsq * (1.0 - 0.6666666666666666 * f);
    if (k === 0) return f - R;
    return k * LN2HI - (R - (k * LN2LO + c) - f);
  }
  const s = f / (2.0 + f);
  const z = s * s;
  const R = z * (LP1 + z * (LP2 + z * (LP3 + z * (LP4 + z * (LP5 + z * (LP6 + z * LP7))))));
  if (k === 0) return f - (hfsq - s * (hfsq + R));
  return k * LN2HI - (hfsq - (s * (hfsq + R) + (k * LN2LO + c)) - f);
}

/**
 * b^y for b > 0 as exp(y log b): the same bits in every engine (Math.pow's are not). Relative error about
 * (1 + |y log b|) ulp, e.g. below 1e-13 for 0.999^n up to n = 10^5 (Adam's bias correction).
 */
export function powPositive(b: number, y: number): number {
  return exp(y * log(b));
}
