/**
 * Writes src/kernels/winograd.wat: the tile transforms of Winograd's F(2x2,3x3) and F(4x4,3x3) as straight-line
 * SIMD code, generated from the transform matrices (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015; points 0, ±1, ±2 and ∞ for F(4x4,3x3)), so that no coefficient is typed twice by hand.
 * `npm run build:wasm` then compiles the .wat like every other kernel. Run: node scripts/winograd-wat.mjs
 */
import { writeFileSync } from 'node:fs';

export const VARIANTS = {
  2: {
    G: [
      [1, 0, 0],
      [1 / 2, 1 / 2, 1 / 2],
      [1 / 2, -1 / 2, 1 / 2],
      [0, 0, 1],
    ],
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};

/** The instructions of one lane type: four channels in a v128, or one (the channels left over) in an f32. */
const TYPES = {
  v: {
    t: 'v128',
    add: 'f32x4.add',
    sub: 'f32x4.sub',
    mul: 'f32x4.mul',
    neg: 'f32x4.neg',
    max: 'f32x4.max',
    load: 'v128.load',
    store: 'v128.store',
    k: (x) => `(v128.const f32x4 ${x} ${x} ${x} ${x})`,
    bytes: 16,
  },
  s: {
    t: 'f32',
    add: 'f32.add',
    sub: 'f32.sub',
    mul: 'f32.mul',
    neg: 'f32.neg',
    max: 'f32.max',
    load: 'f32.load',
    store: 'f32.store',
    k: (x) => `(f32.const ${x})`,
    bytes: 4,
  },
};

const num = (k) => String(Math.fround(k));

/** sum of coef * expr over the terms, in order, skipping zero coefficients. */
function combine(T, terms) {
  let acc;
  for (const [k, e] of terms) {
    if (k === 0) continue;
    if (acc === undefined) acc = k === 1 ? e : k === -1 ? `(${T.neg} ${e})` : `(${T.mul} ${e} ${T.k(num(k))})`;
    else if (k === 1) acc = `(${T.add} ${acc} ${e})`;
    else if (k === -1) acc = `(${T.sub} ${acc} ${e})`;
    else if (k > 0) acc = `(${T.add} ${acc} (${T.mul} ${e} ${T.k(num(k))}))`;
    else acc = `(${T.sub} ${acc} (${T.mul} ${e} ${T.k(num(-k))}))`;
  }
  return acc ?? T.k('0');
}

/**
 * out = L X R^T for X [rows, cols] in locals x{i}_{j}: L [p, rows], R [q, cols]. Emits the tmp = L X sets, then
 * calls `use(p, q, expr)` for each output value. Locals named with the lane type's letter.
 */
function transform2d(T, L, R, x, tmp, use) {
  const lines = [];
  const cols = R[0].length;
  for (let p = 0; p < L.length; p++)
    for (let j = 0; j < cols; j++)
      lines.push(
        `(local.set $${tmp(p, j)} ${combine(
          T,
          L[p].map((k, i) => [k, `(local.get $${x(i, j)})`]),
        )})`,
      );
  for (let p = 0; p < L.length; p++)
    for (let q = 0; q < R.length; q++)
      lines.push(
        use(
          p,
          q,
          combine(
            T,
            R[q].map((k, j) => [k, `(local.get $${tmp(p, j)})`]),
          ),
        ),
      );
  return lines;
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const transpose = (M) => M[0].map((_, j) => M.map((row) => row[j]));
const locals = (names, type) => names.map((n) => `(local $${n} ${type})`).join(' ');

/** A counted loop over `v` from its current value while v < limit, step `step`. */
function loop(name, v, limit, step, body) {
  return [
    `(block $${name}_done (loop $${name}`,
    `  (br_if $${name}_done (i32.ge_s (local.get $${v}) ${limit}))`,
    ...body.map((l) => '  ' + l),
    `  (local.set $${v} (i32.add (local.get $${v}) (i32.const ${step})))`,
    `  (br $${name})))`,
  ];
}

/**
 * input_m{m}(src, dsts, n, h, w, c, top, left, th, tw): the input tiles' transform B^T d B. Tile t = (b, ti, tj)
 * reads rows ti*m - top .. + alpha - 1 and columns tj*m - left .. of sample b of src ([n, h, w, c]), zeros
 * outside; value xi of its transform goes to matrix xi ([tiles, c], at the byte offset dsts[xi]), row t.
 */
function inputKernel(m) {
  const { BT } = VARIANTS[m];
  const a = BT.length;
  const xi = range(a * a);
  const body = [];
  const lane = (T, letter, ok) => {
    const x = (i, j) => `${letter}x${i}_${j}`;
    const out = [];
    for (const i of range(a))
      for (const j of range(a)) {
        const at = `(i32.add (local.get $rp${i}) (local.get $co${j}))`;
        out.push(
          ok
            ? `(local.set $${x(i, j)} (if (result ${T.t}) (i32.and (local.get $okr${i}) (local.get $okc${j})) (then (${T.load} ${at})) (else ${T.k('0')})))`
            : `(local.set $${x(i, j)} (${T.load} ${at}))`,
        );
      }
    return out;
  };
  const compute = (T, letter) =>
    transform2d(
      T,
      BT,
      BT,
      (i, j) => `${letter}x${i}_${j}`,
      (p, j) => `${letter}t${p}_${j}`,
      (p, q, e) => `(${T.store} (i32.add (local.get $d${p * a + q}) (local.get $o)) ${e})`,
    );
  const step = (T, letter) => [
    `(if (local.get $inside) (then`,
    ...lane(T, letter, false),
    `) (else`,
    ...lane(T, letter, true),
    `))`,
    ...compute(T, letter),
    `(local.set $o (i32.add (local.get $o) (i32.const ${T.bytes})))`,
    ...range(a).map((i) => `(local.set $rp${i} (i32.add (local.get $rp${i}) (i32.const ${T.bytes})))`),
  ];
  body.push(...xi.map((k) => `(local.set $d${k} (i32.load (i32.add (local.get $dsts) (i32.const ${k * 4}))))`));
  body.push(`(local.set $c4 (i32.and (local.get $c) (i32.const -4)))`);
  body.push(`(local.set $cs (i32.shl (local.get $c) (i32.const 2)))`);
  body.push(`(local.set $rs (i32.mul (local.get $w) (local.get $cs)))`);
  body.push(...range(a).map((j) => `(local.set $co${j} (i32.mul (local.get $cs) (i32.const ${j})))`));
  body.push(`(local.set $o (i32.const 0))`);
  const tileBody = [
    `(local.set $c0 (i32.sub (i32.mul (local.get $tj) (i32.const ${m})) (local.get $left)))`,
    `(local.set $inside (i32.and (i32.and (i32.ge_s (local.get $r0) (i32.const 0)) (i32.le_s (i32.add (local.get $r0) (i32.const ${a})) (local.get $h))) (i32.and (i32.ge_s (local.get $c0) (i32.const 0)) (i32.le_s (i32.add (local.get $c0) (i32.const ${a})) (local.get $w)))))`,
    ...range(a).map(
      (i) =>
        `(local.set $okr${i} (i32.and (i32.ge_s (i32.add (local.get $r0) (i32.const ${i})) (i32.const 0)) (i32.lt_s (i32.add (local.get $r0) (i32.const ${i})) (local.get $h))))`,
    ),
    ...range(a).map(
      (j) =>
        `(local.set $okc${j} (i32.and (i32.ge_s (i32.add (local.get $c0) (i32.const ${j})) (i32.const 0)) (i32.lt_s (i32.add (local.get $c0) (i32.const ${j})) (local.get $w))))`,
    ),
    // rp_i: row r0 + i, column c0 of sample b (wraps below zero for tiles over the padding; only read where ok).
    `(local.set $p (i32.add (local.get $src) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $r0)) (local.get $w)) (local.get $c0)) (local.get $cs))))`,
    ...range(a).map((i) => `(local.set $rp${i} (i32.add (local.get $p) (i32.mul (local.get $rs) (i32.const ${i}))))`),
    `(local.set $ch (i32.const 0))`,
    ...loop('cv', 'ch', '(local.get $c4)', 4, step(TYPES.v, 'v')),
    ...loop('cs', 'ch', '(local.get $c)', 1, step(TYPES.s, 's')),
  ];
  const tiles = [
    `(local.set $b (i32.const 0))`,
    ...loop('b', 'b', '(local.get $n)', 1, [
      `(local.set $ti (i32.const 0))`,
      ...loop('ti', 'ti', '(local.get $th)', 1, [
        `(local.set $r0 (i32.sub (i32.mul (local.get $ti) (i32.const ${m})) (local.get $top)))`,
        `(local.set $tj (i32.const 0))`,
        ...loop('tj', 'tj', '(local.get $tw)', 1, tileBody),
      ]),
    ]),
  ];
  const decl = [
    locals(['b', 'ti', 'tj', 'ch', 'c4', 'cs', 'rs', 'o', 'r0', 'c0', 'inside', 'p'], 'i32'),
    locals(
      xi.map((k) => `d${k}`),
      'i32',
    ),
    locals(
      range(a).flatMap((i) => [`rp${i}`, `co${i}`, `okr${i}`, `okc${i}`]),
      'i32',
    ),
    locals(
      range(a).flatMap((i) => range(a).flatMap((j) => [`vx${i}_${j}`, `vt${i}_${j}`])),
      'v128',
    ),
    locals(
      range(a).flatMap((i) => range(a).flatMap((j) => [`sx${i}_${j}`, `st${i}_${j}`])),
      'f32',
    ),
  ];
  return [
    `(func (export "input${m}") (param $src i32) (param $dsts i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $top i32) (param $left i32) (param $th i32) (param $tw i32)`,
    ...decl,
    ...body,
    ...tiles,
    ')',
  ];
}

/**
 * output_m{m}(srcs, dst, n, oh, ow, f, th, tw, bias, relu): the output tiles' transform A^T M A, plus the bias
 * (f values at byte offset `bias`; 0 = none) and, when relu != 0, max(., 0). Matrix xi ([tiles, f], at byte
 * offset srcs[xi]) holds value xi of each tile's product; tile t = (b, ti, tj) writes rows ti*m .. and columns
 * tj*m .. of sample b of dst ([n, oh, ow, f]), those inside.
 */
function outputKernel(m) {
  const { AT } = VARIANTS[m];
  const a = AT[0].length;
  const xi = range(a * a);
  const step = (T, letter) => {
    const out = [];
    for (const p of range(a))
      for (const q of range(a))
        out.push(`(local.set $${letter}x${p}_${q} (${T.load} (i32.add (local.get $s${p * a + q}) (local.get $o))))`);
    out.push(
      `(local.set $${letter}bias (if (result ${T.t}) (local.get $bias) (then (${T.load} (i32.add (local.get $bias) (local.get $bo)))) (else ${T.k('0')})))`,
    );
    out.push(
      `(local.set $${letter}floor (if (result ${T.t}) (local.get $relu) (then ${T.k('0')}) (else ${T.k('-inf')})))`,
    );
    out.push(
      ...transform2d(
        T,
        AT,
        AT,
        (i, j) => `${letter}x${i}_${j}`,
        (p, j) => `${letter}t${p}_${j}`,
        (p, q, e) => {
          const value = `(${T.max} (${T.add} ${e} (local.get $${letter}bias)) (local.get $${letter}floor))`;
          const store = `(${T.store} (i32.add (local.get $wp${p}) (local.get $oc${q})) ${value})`;
          return `(if (i32.and (local.get $okr${p}) (local.get $okc${q})) (then ${store}))`;
        },
      ),
    );
    out.push(`(local.set $o (i32.add (local.get $o) (i32.const ${T.bytes})))`);
    out.push(`(local.set $bo (i32.add (local.get $bo) (i32.const ${T.bytes})))`);
    out.push(...range(m).map((p) => `(local.set $wp${p} (i32.add (local.get $wp${p}) (i32.const ${T.bytes})))`));
    return out;
  };
  const tileBody = [
    `(local.set $c0 (i32.mul (local.get $tj) (i32.const ${m})))`,
    ...range(m).map(
      (q) => `(local.set $okc${q} (i32.lt_s (i32.add (local.get $c0) (i32.const ${q})) (local.get $ow)))`,
    ),
    `(local.set $p (i32.add (local.get $dst) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $r0)) (local.get $ow)) (local.get $c0)) (local.get $cs))))`,
    ...range(m).map((p) => `(local.set $wp${p} (i32.add (local.get $p) (i32.mul (local.get $rs) (i32.const ${p}))))`),
    `(local.set $bo (i32.const 0))`,
    `(local.set $ch (i32.const 0))`,
    ...loop('cv', 'ch', '(local.get $c4)', 4, step(TYPES.v, 'v')),
    ...loop('cs', 'ch', '(local.get $f)', 1, step(TYPES.s, 's')),
  ];
  const tiles = [
    `(local.set $b (i32.const 0))`,
    ...loop('b', 'b', '(local.get $n)', 1, [
      `(local.set $ti (i32.const 0))`,
      ...loop('ti', 'ti', '(local.get $th)', 1, [
        `(local.set $r0 (i32.mul (local.get $ti) (i32.const ${m})))`,
        ...range(m).map(
          (p) => `(local.set $okr${p} (i32.lt_s (i32.add (local.get $r0) (i32.const ${p})) (local.get $oh)))`,
        ),
        `(local.set $tj (i32.const 0))`,
        ...loop('tj', 'tj', '(local.get $tw)', 1, tileBody),
      ]),
    ]),
  ];
  const body = [
    ...xi.map((k) => `(local.set $s${k} (i32.load (i32.add (local.get $srcs) (i32.const ${k * 4}))))`),
    `(local.set $c4 (i32.and (local.get $f) (i32.const -4)))`,
    `(local.set $cs (i32.shl (local.get $f) (i32.const 2)))`,
    `(local.set $rs (i32.mul (local.get $ow) (local.get $cs)))`,
    ...range(m).map((q) => `(local.set $oc${q} (i32.mul (local.get $cs) (i32.const ${q})))`),
    `(local.set $o (i32.const 0))`,
  ];
  const decl = [
    locals(['b', 'ti', 'tj', 'ch', 'c4', 'cs', 'rs', 'o', 'bo', 'r0', 'c0', 'p'], 'i32'),
    locals(
      xi.map((k) => `s${k}`),
      'i32',
    ),
    locals(
      range(m).flatMap((i) => [`wp${i}`, `oc${i}`, `okr${i}`, `okc${i}`]),
      'i32',
    ),
    locals(
      ['vbias', 'vfloor', ...range(a).flatMap((i) => range(a).flatMap((j) => [`vx${i}_${j}`, `vt${i}_${j}`]))],
      'v128',
    ),
    locals(
      ['sbias', 'sfloor', ...range(a).flatMap((i) => range(a).flatMap((j) => [`sx${i}_${j}`, `st${i}_${j}`]))],
      'f32',
    ),
  ];
  return [
    `(func (export "output${m}") (param $srcs i32) (param $dst i32) (param $n i32) (param $oh i32) (param $ow i32) (param $f i32) (param $th i32) (param $tw i32) (param $bias i32) (param $relu i32)`,
    ...decl,
    ...body,
    ...tiles,
    ')',
  ];
}

/**
 * grad_m{m}(src, dsts, n, oh, ow, f, th, tw, tiles): the output gradient's tiles as the filter gradient needs
 * them, A dY A^T (the transpose of the output transform). Tile t = (b, ti, tj) reads rows ti*m .. and columns
 * tj*m .. of sample b of src ([n, oh, ow, f]), zeros outside; value xi goes to matrix xi ([f, tiles], at byte
 * offset dsts[xi]), column t.
 */
function gradKernel(m) {
  const { AT } = VARIANTS[m];
  const a = AT[0].length;
  const A = transpose(AT);
  const xi = range(a * a);
  const step = (T, letter) => {
    const out = [];
    for (const i of range(m))
      for (const j of range(m)) {
        const at = `(i32.add (local.get $rp${i}) (local.get $co${j}))`;
        out.push(
          `(local.set $${letter}x${i}_${j} (if (result ${T.t}) (i32.and (local.get $okr${i}) (local.get $okc${j})) (then (${T.load} ${at})) (else ${T.k('0')})))`,
        );
      }
    out.push(
      ...transform2d(
        T,
        A,
        A,
        (i, j) => `${letter}x${i}_${j}`,
        (p, j) => `${letter}t${p}_${j}`,
        (p, q, e) => {
          const at = `(i32.add (local.get $d${p * a + q}) (local.get $o))`;
          if (letter === 's') return `(f32.store ${at} ${e})`;
          return [
            `(local.set $v ${e})`,
            `(local.set $at ${at})`,
            `(f32.store (local.get $at) (f32x4.extract_lane 0 (local.get $v)))`,
            `(f32.store (i32.add (local.get $at) (local.get $t4)) (f32x4.extract_lane 1 (local.get $v)))`,
            `(f32.store (i32.add (local.get $at) (local.get $t8)) (f32x4.extract_lane 2 (local.get $v)))`,
            `(f32.store (i32.add (local.get $at) (local.get $t12)) (f32x4.extract_lane 3 (local.get $v)))`,
          ].join(' ');
        },
      ),
    );
    out.push(`(local.set $o (i32.add (local.get $o) (i32.mul (local.get $t4) (i32.const ${T.bytes / 4}))))`);
    out.push(...range(m).map((i) => `(local.set $rp${i} (i32.add (local.get $rp${i}) (i32.const ${T.bytes})))`));
    return out;
  };
  const tileBody = [
    `(local.set $c0 (i32.mul (local.get $tj) (i32.const ${m})))`,
    ...range(m).map(
      (j) => `(local.set $okc${j} (i32.lt_s (i32.add (local.get $c0) (i32.const ${j})) (local.get $ow)))`,
    ),
    `(local.set $p (i32.add (local.get $src) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $r0)) (local.get $ow)) (local.get $c0)) (local.get $cs))))`,
    ...range(m).map((i) => `(local.set $rp${i} (i32.add (local.get $p) (i32.mul (local.get $rs) (i32.const ${i}))))`),
    `(local.set $o (i32.shl (local.get $t) (i32.const 2)))`,
    `(local.set $ch (i32.const 0))`,
    ...loop('cv', 'ch', '(local.get $c4)', 4, step(TYPES.v, 'v')),
    ...loop('cs', 'ch', '(local.get $f)', 1, step(TYPES.s, 's')),
    `(local.set $t (i32.add (local.get $t) (i32.const 1)))`,
  ];
  const tiles = [
    `(local.set $b (i32.const 0))`,
    `(local.set $t (i32.const 0))`,
    ...loop('b', 'b', '(local.get $n)', 1, [
      `(local.set $ti (i32.const 0))`,
      ...loop('ti', 'ti', '(local.get $th)', 1, [
        `(local.set $r0 (i32.mul (local.get $ti) (i32.const ${m})))`,
        ...range(m).map(
          (i) => `(local.set $okr${i} (i32.lt_s (i32.add (local.get $r0) (i32.const ${i})) (local.get $oh)))`,
        ),
        `(local.set $tj (i32.const 0))`,
        ...loop('tj', 'tj', '(local.get $tw)', 1, tileBody),
      ]),
    ]),
  ];
  const body = [
    ...xi.map((k) => `(local.set $d${k} (i32.load (i32.add (local.get $dsts) (i32.const ${k * 4}))))`),
    `(local.set $c4 (i32.and (local.get $f) (i32.const -4)))`,
    `(local.set $cs (i32.shl (local.get $f) (i32.const 2)))`,
    `(local.set $rs (i32.mul (local.get $ow) (local.get $cs)))`,
    ...range(m).map((j) => `(local.set $co${j} (i32.mul (local.get $cs) (i32.const ${j})))`),
    `(local.set $t4 (i32.shl (local.get $tiles) (i32.const 2)))`,
    `(local.set $t8 (i32.shl (local.get $tiles) (i32.const 3)))`,
    `(local.set $t12 (i32.mul (local.get $tiles) (i32.const 12)))`,
  ];
  const decl = [
    locals(['b', 'ti', 'tj', 't', 'ch', 'c4', 'cs', 'rs', 'o', 'r0', 'c0', 'p', 'at', 't4', 't8', 't12'], 'i32'),
    locals(
      xi.map((k) => `d${k}`),
      'i32',
    ),
    locals(
      range(m).flatMap((i) => [`rp${i}`, `co${i}`, `okr${i}`, `okc${i}`]),
      'i32',
    ),
    locals(['v', ...range(a).flatMap((i) => range(a).flatMap((j) => [`vx${i}_${j}`, `vt${i}_${j}`]))], 'v128'),
    locals(
      range(a).flatMap((i) => range(a).flatMap((j) => [`sx${i}_${j}`, `st${i}_${j}`])),
      'f32',
    ),
  ];
  return [
    `(func (export "grad${m}") (param $src i32) (param $dsts i32) (param $n i32) (param $oh i32) (param $ow i32) (param $f i32) (param $th i32) (param $tw i32) (param $tiles i32)`,
    ...decl,
    ...body,
    ...tiles,
    ')',
  ];
}

/** Four lanes of v stored as floats at `at`, at + stride, at + 2 stride, at + 3 stride (locals $at, $z1..$z3). */
const scatter = (v) =>
  [
    `(local.set $v ${v})`,
    `(f32.store (local.get $at) (f32x4.extract_lane 0 (local.get $v)))`,
    `(f32.store (i32.add (local.get $at) (local.get $z1)) (f32x4.extract_lane 1 (local.get $v)))`,
    `(f32.store (i32.add (local.get $at) (local.get $z2)) (f32x4.extract_lane 2 (local.get $v)))`,
    `(f32.store (i32.add (local.get $at) (local.get $z3)) (f32x4.extract_lane 3 (local.get $v)))`,
  ].join(' ');

/**
 * kernel_m{m}(src, dsts, cin, cout, turned): the kernel's transform G g G^T. src is the kernel [3, 3, cin, cout];
 * matrix xi (at byte offset dsts[xi]) gets [cin, cout], or when `turned` the transform of the kernel turned 180°
 * as [cout, cin] (the input gradient's).
 */
function kernelKernel(m) {
  const { G } = VARIANTS[m];
  const a = G.length;
  const xi = range(a * a);
  const step = (T, letter, turned) => {
    const out = [];
    for (const i of range(3))
      for (const j of range(3)) {
        const [si, sj] = turned ? [2 - i, 2 - j] : [i, j];
        out.push(`(local.set $${letter}x${i}_${j} (${T.load} (i32.add (local.get $q) (local.get $k${si * 3 + sj}))))`);
      }
    out.push(
      ...transform2d(
        T,
        G,
        G,
        (i, j) => `${letter}x${i}_${j}`,
        (p, j) => `${letter}t${p}_${j}`,
        (p, q, e) => {
          if (!turned) return `(${T.store} (i32.add (local.get $d${p * a + q}) (local.get $o)) ${e})`;
          const at = `(local.set $at (i32.add (local.get $d${p * a + q}) (local.get $o)))`;
          return letter === 's'
            ? `(f32.store (i32.add (local.get $d${p * a + q}) (local.get $o)) ${e})`
            : `${at} ${scatter(e)}`;
        },
      ),
    );
    out.push(`(local.set $q (i32.add (local.get $q) (i32.const ${T.bytes})))`);
    out.push(
      turned
        ? `(local.set $o (i32.add (local.get $o) (i32.mul (local.get $z1) (i32.const ${T.bytes / 4}))))`
        : `(local.set $o (i32.add (local.get $o) (i32.const ${T.bytes})))`,
    );
    return out;
  };
  const perChannel = (turned) => [
    `(local.set $f (i32.const 0))`,
    // q: kernel[0][0][c][f]; o: the output's [c][f] (or [f][c]).
    `(local.set $q (i32.add (local.get $src) (i32.mul (local.get $c) (local.get $rb))))`,
    turned
      ? `(local.set $o (i32.shl (local.get $c) (i32.const 2)))`
      : `(local.set $o (i32.mul (local.get $c) (local.get $rb)))`,
    ...loop(`fv${turned ? 't' : ''}`, 'f', '(local.get $f4)', 4, step(TYPES.v, 'v', turned)),
    ...loop(`fs${turned ? 't' : ''}`, 'f', '(local.get $cout)', 1, step(TYPES.s, 's', turned)),
  ];
  const body = [
    ...xi.map((k) => `(local.set $d${k} (i32.load (i32.add (local.get $dsts) (i32.const ${k * 4}))))`),
    `(local.set $f4 (i32.and (local.get $cout) (i32.const -4)))`,
    `(local.set $rb (i32.shl (local.get $cout) (i32.const 2)))`,
    ...range(9).map((k) => `(local.set $k${k} (i32.mul (i32.mul (local.get $cin) (local.get $rb)) (i32.const ${k})))`),
    // Turned: output rows are f (stride cin floats); the four lanes are four rows.
    `(local.set $z1 (i32.shl (local.get $cin) (i32.const 2)))`,
    `(local.set $z2 (i32.shl (local.get $cin) (i32.const 3)))`,
    `(local.set $z3 (i32.mul (local.get $cin) (i32.const 12)))`,
    `(local.set $c (i32.const 0))`,
    `(if (local.get $turned) (then`,
    ...loop('ct', 'c', '(local.get $cin)', 1, perChannel(true)),
    `) (else`,
    ...loop('c', 'c', '(local.get $cin)', 1, perChannel(false)),
    `))`,
  ];
  const decl = [
    locals(['c', 'f', 'f4', 'rb', 'q', 'o', 'at', 'z1', 'z2', 'z3'], 'i32'),
    locals([...xi.map((k) => `d${k}`), ...range(9).map((k) => `k${k}`)], 'i32'),
    locals(
      [
        'v',
        ...range(3).flatMap((i) => range(3).map((j) => `vx${i}_${j}`)),
        ...range(a).flatMap((p) => range(3).map((j) => `vt${p}_${j}`)),
      ],
      'v128',
    ),
    locals(
      [
        ...range(3).flatMap((i) => range(3).map((j) => `sx${i}_${j}`)),
        ...range(a).flatMap((p) => range(3).map((j) => `st${p}_${j}`)),
      ],
      'f32',
    ),
  ];
  return [
    `(func (export "kernel${m}") (param $src i32) (param $dsts i32) (param $cin i32) (param $cout i32) (param $turned i32)`,
    ...decl,
    ...body,
    ')',
  ];
}

/**
 * filter_m{m}(srcs, dst, cin, cout): the filter gradient's untransform G^T dU G. Matrix xi (at byte offset
 * srcs[xi]) is [cout, cin], value xi of dU for each (f, c); dst is the kernel's gradient [3, 3, cin, cout].
 */
function filterKernel(m) {
  const { G } = VARIANTS[m];
  const a = G.length;
  const GT = transpose(G);
  const xi = range(a * a);
  const step = (T, letter) => {
    const out = [];
    for (const p of range(a))
      for (const q of range(a))
        out.push(`(local.set $${letter}x${p}_${q} (${T.load} (i32.add (local.get $s${p * a + q}) (local.get $o))))`);
    out.push(
      ...transform2d(
        T,
        GT,
        GT,
        (i, j) => `${letter}x${i}_${j}`,
        (p, j) => `${letter}t${p}_${j}`,
        (i, j, e) => {
          const at = `(local.set $at (i32.add (local.get $q) (local.get $k${i * 3 + j})))`;
          return letter === 's'
            ? `(f32.store (i32.add (local.get $q) (local.get $k${i * 3 + j})) ${e})`
            : `${at} ${scatter(e)}`;
        },
      ),
    );
    out.push(`(local.set $o (i32.add (local.get $o) (i32.const ${T.bytes})))`);
    out.push(`(local.set $q (i32.add (local.get $q) (i32.mul (local.get $z1) (i32.const ${T.bytes / 4}))))`);
    return out;
  };
  const body = [
    ...xi.map((k) => `(local.set $s${k} (i32.load (i32.add (local.get $srcs) (i32.const ${k * 4}))))`),
    `(local.set $c4 (i32.and (local.get $cin) (i32.const -4)))`,
    `(local.set $z1 (i32.shl (local.get $cout) (i32.const 2)))`,
    `(local.set $z2 (i32.shl (local.get $cout) (i32.const 3)))`,
    `(local.set $z3 (i32.mul (local.get $cout) (i32.const 12)))`,
    ...range(9).map((k) => `(local.set $k${k} (i32.mul (i32.mul (local.get $cin) (local.get $z1)) (i32.const ${k})))`),
    `(local.set $o (i32.const 0))`,
    `(local.set $f (i32.const 0))`,
    ...loop('f', 'f', '(local.get $cout)', 1, [
      // q: dst[0][0][c][f], c from 0; o: row f of each matrix.
      `(local.set $q (i32.add (local.get $dst) (i32.shl (local.get $f) (i32.const 2))))`,
      `(local.set $c (i32.const 0))`,
      ...loop('cv', 'c', '(local.get $c4)', 4, step(TYPES.v, 'v')),
      ...loop('cs', 'c', '(local.get $cin)', 1, step(TYPES.s, 's')),
    ]),
  ];
  const decl = [
    locals(['c', 'f', 'c4', 'q', 'o', 'at', 'z1', 'z2', 'z3'], 'i32'),
    locals([...xi.map((k) => `s${k}`), ...range(9).map((k) => `k${k}`)], 'i32'),
    locals(
      [
        'v',
        ...range(a).flatMap((p) => range(a).map((q) => `vx${p}_${q}`)),
        ...range(3).flatMap((i) => range(a).map((q) => `vt${i}_${q}`)),
      ],
      'v128',
    ),
    locals(
      [
        ...range(a).flatMap((p) => range(a).map((q) => `sx${p}_${q}`)),
        ...range(3).flatMap((i) => range(a).map((q) => `st${i}_${q}`)),
      ],
      'f32',
    ),
  ];
  return [
    `(func (export "filter${m}") (param $srcs i32) (param $dst i32) (param $cin i32) (param $cout i32)`,
    ...decl,
    ...body,
    ')',
  ];
}

const header = `;; Winograd convolution's tile transforms, F(2x2,3x3) and F(4x4,3x3) (ops/winograd.ts runs the convolution:
;; these transforms, then one XNNPACK matmul per tile position). GENERATED by scripts/winograd-wat.mjs from the
;; transform matrices: edit that script, not this file, then run npm run build:wasm.
;;
;; Channels are the innermost axis everywhere (channels last), so each transform runs four channels at a time
;; in a v128 and the channels left over one at a time, with the same operations in the same order.
(module
  (import "env" "memory" (memory 1))
`;

const text =
  header +
  [2, 4]
    .flatMap((m) => [...inputKernel(m), ...outputKernel(m), ...gradKernel(m), ...kernelKernel(m), ...filterKernel(m)])
    .map((l) => '  ' + l)
    .join('\n') +
  '\n)\n';
writeFileSync(new URL('../src/kernels/winograd.wat', import.meta.url), text);
console.log(`wrote src/kernels/winograd.wat (${text.length} characters)`);
