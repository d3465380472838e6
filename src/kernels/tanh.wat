;; tanh of float32 values, four at a time, with the bits of tfjs-wasm's Tanh: that kernel calls musl's tanhf
;; (Emscripten's libm) one value at a time, about 14 ns a value here (the MNIST MLP's 64-unit tanh layer:
;; 8,192 values, ~120 µs of a 128-row step). This is the same algorithm, every float32 operation in musl's
;; order (wasm never fuses a multiply and an add), with each branch computed for all four lanes and picked by
;; a mask. Checked against tf.tanh on every input class and on millions of bit patterns (test/tanh.test.ts).
;;
;; musl's tanhf(x), t for |x|, then the sign of x:
;;   |x| > 10:               t = 1                          (1 + 0/|x|)
;;   0.5493 < |x| <= 10:     t = 1 - 2 / (expm1f(2|x|) + 2)
;;   0.2554 < |x| <= 0.5493: t = e / (e + 2),  e = expm1f(2|x|)
;;   |x| normal, <= 0.2554:  t = -e / (e + 2), e = expm1f(-2|x|)
;;   |x| subnormal or 0:     t = |x|
;; and expm1f only ever sees arguments in [-0.511, 20]: |arg| < 2^-25 returns arg; |arg| <= ln2/2 takes
;; k = 0; else the argument is reduced by k * ln2, k = +-1 near ln2/2..1.5 ln2 and round(arg / ln2) above
;; (2..29 here), then a degree-2 rational correction and the scale by 2^k. Lanes with NaN return x.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/tanh-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  ;; out[i] = tanh(x[i]) for n values; byte offsets. Four values a step; the last n % 4 one a step (lane 0).
  ;; One function with the loop around the body: V8 does not inline wasm calls (a call a vector cost ~15%).
  (func (export "tanh") (param $xp i32) (param $out i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $x v128) (local $y v128)
    (local $w v128) (local $arg v128) (local $ha v128) (local $neg v128) (local $k v128) (local $kf v128)
    (local $reduced v128) (local $hi v128) (local $xr v128) (local $c v128) (local $hfx v128) (local $hxs v128)
    (local $r1 v128) (local $t v128) (local $e v128) (local $e2 v128) (local $em v128) (local $d v128)
    (local $ratio v128)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.lt_u (local.get $i) (local.get $n4))
          (then (local.set $x (v128.load (i32.add (local.get $xp) (local.get $i)))))
          (else (local.set $x (f32x4.splat (f32.load (i32.add (local.get $xp) (local.get $i)))))))
    ;; w: |x| (its bits double as the magnitude compared below)
    (local.set $w (v128.and (local.get $x) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
    ;; expm1f's argument: 2|x| above 0.2554, else -2|x|
    (local.set $arg
      (f32x4.mul (local.get $w)
        (v128.bitselect (v128.const f32x4 2 2 2 2) (v128.const f32x4 -2 -2 -2 -2)
          (i32x4.gt_s (local.get $w) (v128.const i32x4 0x3e82c578 0x3e82c578 0x3e82c578 0x3e82c578)))))
    (local.set $ha (v128.and (local.get $arg) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
    (local.set $neg (i32x4.lt_s (local.get $arg) (v128.const i32x4 0 0 0 0)))
    ;; k: 0 up to ln2/2; +-1 up to 1.5 ln2; else trunc(arg / ln2 +- 0.5)
    (local.set $reduced (i32x4.gt_s (local.get $ha) (v128.const i32x4 0x3eb17218 0x3eb17218 0x3eb17218 0x3eb17218)))
    (local.set $k
      (v128.bitselect
        (i32x4.trunc_sat_f32x4_s
          (f32x4.add
            (f32x4.mul (v128.const f32x4 1.4426950216e+00 1.4426950216e+00 1.4426950216e+00 1.4426950216e+00) (local.get $arg))
            (v128.bitselect (v128.const f32x4 -0.5 -0.5 -0.5 -0.5) (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $neg))))
        (v128.and (local.get $reduced)
          (v128.bitselect (v128.const i32x4 -1 -1 -1 -1) (v128.const i32x4 1 1 1 1) (local.get $neg)))
        (i32x4.ge_s (local.get $ha) (v128.const i32x4 0x3f851592 0x3f851592 0x3f851592 0x3f851592))))
    ;; hi = arg - k ln2_hi, lo = k ln2_lo (for k = +-1 these are musl's arg -+ ln2_hi and +-ln2_lo, exactly)
    (local.set $kf (f32x4.convert_i32x4_s (local.get $k)))
    (local.set $hi
      (f32x4.sub (local.get $arg)
        (f32x4.mul (local.get $kf) (v128.const f32x4 6.9313812256e-01 6.9313812256e-01 6.9313812256e-01 6.9313812256e-01))))
    (local.set $t (f32x4.mul (local.get $kf) (v128.const f32x4 9.0580006145e-06 9.0580006145e-06 9.0580006145e-06 9.0580006145e-06)))
    (local.set $xr (v128.bitselect (f32x4.sub (local.get $hi) (local.get $t)) (local.get $arg) (local.get $reduced)))
    (local.set $c
      (v128.and (local.get $reduced)
        (f32x4.sub (f32x4.sub (local.get $hi) (local.get $xr)) (local.get $t))))
    ;; hfx = xr/2, hxs = xr hfx, r1 = 1 + hxs (Q1 + hxs Q2), t = 3 - r1 hfx, e = hxs ((r1 - t) / (6 - xr t))
    (local.set $hfx (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $xr)))
    (local.set $hxs (f32x4.mul (local.get $xr) (local.get $hfx)))
    (local.set $r1
      (f32x4.add (v128.const f32x4 1 1 1 1)
        (f32x4.mul (local.get $hxs)
          (f32x4.add (v128.const f32x4 -3.3333212137e-2 -3.3333212137e-2 -3.3333212137e-2 -3.3333212137e-2)
            (f32x4.mul (local.get $hxs) (v128.const f32x4 1.5807170421e-3 1.5807170421e-3 1.5807170421e-3 1.5807170421e-3))))))
    (local.set $t (f32x4.sub (v128.const f32x4 3 3 3 3) (f32x4.mul (local.get $r1) (local.get $hfx))))
    (local.set $e
      (f32x4.mul (local.get $hxs)
        (f32x4.div (f32x4.sub (local.get $r1) (local.get $t))
          (f32x4.sub (v128.const f32x4 6 6 6 6) (f32x4.mul (local.get $xr) (local.get $t))))))
    ;; e2 = (xr (e - c) - c) - hxs, for k != 0
    (local.set $e2
      (f32x4.sub
        (f32x4.sub (f32x4.mul (local.get $xr) (f32x4.sub (local.get $e) (local.get $c))) (local.get $c))
        (local.get $hxs)))
    ;; em = expm1f(arg), by k: 2..29: k < 23 ? ((xr - e2) + (1 - 2^-k)) 2^k : ((xr - (e2 + 2^-k)) + 1) 2^k
    (local.set $em
      (v128.bitselect
        (f32x4.mul
          (f32x4.add (f32x4.sub (local.get $xr) (local.get $e2))
            (f32x4.sub (v128.const f32x4 1 1 1 1)
              (i32x4.shl (i32x4.sub (v128.const i32x4 0x7f 0x7f 0x7f 0x7f) (local.get $k)) (i32.const 23))))
          (i32x4.shl (i32x4.add (v128.const i32x4 0x7f 0x7f 0x7f 0x7f) (local.get $k)) (i32.const 23)))
        (f32x4.mul
          (f32x4.add
            (f32x4.sub (local.get $xr)
              (f32x4.add (local.get $e2)
                (i32x4.shl (i32x4.sub (v128.const i32x4 0x7f 0x7f 0x7f 0x7f) (local.get $k)) (i32.const 23))))
            (v128.const f32x4 1 1 1 1))
          (i32x4.shl (i32x4.add (v128.const i32x4 0x7f 0x7f 0x7f 0x7f) (local.get $k)) (i32.const 23)))
        (i32x4.lt_s (local.get $k) (v128.const i32x4 23 23 23 23))))
    ;; k = 1: xr < -0.25 ? -2 (e2 - (xr + 0.5)) : 1 + 2 (xr - e2)
    (local.set $em
      (v128.bitselect
        (v128.bitselect
          (f32x4.mul (v128.const f32x4 -2 -2 -2 -2) (f32x4.sub (local.get $e2) (f32x4.add (local.get $xr) (v128.const f32x4 0.5 0.5 0.5 0.5))))
          (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (v128.const f32x4 2 2 2 2) (f32x4.sub (local.get $xr) (local.get $e2))))
          (f32x4.lt (local.get $xr) (v128.const f32x4 -0.25 -0.25 -0.25 -0.25)))
        (local.get $em)
        (i32x4.eq (local.get $k) (v128.const i32x4 1 1 1 1))))
    ;; k = -1: (xr - e2) / 2 - 1/2
    (local.set $em
      (v128.bitselect
        (f32x4.sub (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.sub (local.get $xr) (local.get $e2))) (v128.const f32x4 0.5 0.5 0.5 0.5))
        (local.get $em)
        (i32x4.eq (local.get $k) (v128.const i32x4 -1 -1 -1 -1))))
    ;; k = 0: xr - (xr e - hxs)
    (local.set $em
      (v128.bitselect
        (f32x4.sub (local.get $xr) (f32x4.sub (f32x4.mul (local.get $xr) (local.get $e)) (local.get $hxs)))
        (local.get $em)
        (i32x4.eq (local.get $k) (v128.const i32x4 0 0 0 0))))
    ;; |arg| < 2^-25: arg itself
    (local.set $em
      (v128.bitselect (local.get $arg) (local.get $em)
        (i32x4.lt_s (local.get $ha) (v128.const i32x4 0x33000000 0x33000000 0x33000000 0x33000000))))
    ;; t for |x|, by range, largest last
    (local.set $d (f32x4.add (local.get $em) (v128.const f32x4 2 2 2 2)))
    (local.set $ratio (f32x4.div (local.get $em) (local.get $d)))
    ;; subnormal or 0: |x|; normal up to 0.2554: -e / (e + 2) (= -(e / (e + 2)), exactly)
    (local.set $t
      (v128.bitselect (f32x4.neg (local.get $ratio)) (local.get $w)
        (i32x4.ge_s (local.get $w) (v128.const i32x4 0x00800000 0x00800000 0x00800000 0x00800000))))
    (local.set $t
      (v128.bitselect (local.get $ratio) (local.get $t)
        (i32x4.gt_s (local.get $w) (v128.const i32x4 0x3e82c578 0x3e82c578 0x3e82c578 0x3e82c578))))
    (local.set $t
      (v128.bitselect
        (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.div (v128.const f32x4 2 2 2 2) (local.get $d)))
        (local.get $t)
        (i32x4.gt_s (local.get $w) (v128.const i32x4 0x3f0c9f54 0x3f0c9f54 0x3f0c9f54 0x3f0c9f54))))
    (local.set $t
      (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $t)
        (i32x4.gt_s (local.get $w) (v128.const i32x4 0x41200000 0x41200000 0x41200000 0x41200000))))
    ;; the sign of x; NaN lanes return x
    (local.set $y (v128.bitselect
      (local.get $x)
      (v128.or (local.get $t) (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
      (i32x4.gt_s (local.get $w) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
        (if (i32.lt_u (local.get $i) (local.get $n4))
          (then
            (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $y))
            (local.set $i (i32.add (local.get $i) (i32.const 16))))
          (else
            (f32.store (i32.add (local.get $out) (local.get $i)) (f32x4.extract_lane 0 (local.get $y)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))))
        (br $next)))))
