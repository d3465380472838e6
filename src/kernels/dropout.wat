;; Dropout masks, four Threefry-2x32-20 blocks at a time: the SIMD form of rng.ts's fillDropoutMask, same
;; bits (integer arithmetic, so equality is exact by construction; test/kernels.test.ts checks it anyway).
;;
;; masks(out, keys, rows, cols, threshold, scale): row r's mask uses the key (keys[2r], keys[2r + 1]) and
;; stream counters [TAG, i / 2] for its values i = 0, 1, ...; value i keeps (scale) when the top 24 bits of
;; its word are >= threshold, else drops (0). Each block writes 8 values, so a row's last block may run past
;; the row: rows are written in order, the next row overwrites the excess, and `out` needs 8 floats of slack.
;;
;; Build: npm run build:wasm regenerates src/kernels/dropout-wasm.ts from this file.
(module
  (memory (export "memory") 1)

  (func (export "masks")
    (param $out i32) (param $keys i32) (param $rows i32) (param $cols i32) (param $threshold i32) (param $scale i32)
    (local $r i32) (local $i i32) (local $k0 i32) (local $k1 i32) (local $k2 i32) (local $p i32)
    (local $a v128) (local $b v128) (local $vthr v128) (local $vscale v128) (local $x v128)
    (local.set $vthr (i32x4.splat (local.get $threshold)))
    (local.set $vscale (i32x4.splat (local.get $scale)))
    (local.set $p (local.get $out))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $k0 (i32.load (i32.add (local.get $keys) (i32.shl (local.get $r) (i32.const 3)))))
        (local.set $k1 (i32.load (i32.add (local.get $keys) (i32.add (i32.shl (local.get $r) (i32.const 3)) (i32.const 4)))))
        (local.set $k2 (i32.xor (i32.xor (local.get $k0) (local.get $k1)) (i32.const 0x1bd11bda)))
        (local.set $i (i32.const 0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_u (local.get $i) (local.get $cols)))
        ;; counters [TAG, i/2 + lane]: TAG = 0x52414e44 ("RAND"), as in rng.ts
        (local.set $a (i32x4.splat (i32.add (i32.const 0x52414e44) (local.get $k0))))
        (local.set $b (i32x4.add
          (i32x4.add (i32x4.splat (i32.shr_u (local.get $i) (i32.const 1))) (v128.const i32x4 0 1 2 3))
          (i32x4.splat (local.get $k1))))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 13)) (i32x4.shr_u (local.get $b) (i32.const 19))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 15)) (i32x4.shr_u (local.get $b) (i32.const 17))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 26)) (i32x4.shr_u (local.get $b) (i32.const 6))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 6)) (i32x4.shr_u (local.get $b) (i32.const 26))) (local.get $a)))
        ;; key injection 1
        (local.set $a (i32x4.add (local.get $a) (i32x4.splat (local.get $k1))))
        (local.set $b (i32x4.add (local.get $b) (i32x4.splat (i32.add (local.get $k2) (i32.const 1)))))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 17)) (i32x4.shr_u (local.get $b) (i32.const 15))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 29)) (i32x4.shr_u (local.get $b) (i32.const 3))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 16)) (i32x4.shr_u (local.get $b) (i32.const 16))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 24)) (i32x4.shr_u (local.get $b) (i32.const 8))) (local.get $a)))
        ;; key injection 2
        (local.set $a (i32x4.add (local.get $a) (i32x4.splat (local.get $k2))))
        (local.set $b (i32x4.add (local.get $b) (i32x4.splat (i32.add (local.get $k0) (i32.const 2)))))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 13)) (i32x4.shr_u (local.get $b) (i32.const 19))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 15)) (i32x4.shr_u (local.get $b) (i32.const 17))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 26)) (i32x4.shr_u (local.get $b) (i32.const 6))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 6)) (i32x4.shr_u (local.get $b) (i32.const 26))) (local.get $a)))
        ;; key injection 3
        (local.set $a (i32x4.add (local.get $a) (i32x4.splat (local.get $k0))))
        (local.set $b (i32x4.add (local.get $b) (i32x4.splat (i32.add (local.get $k1) (i32.const 3)))))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 17)) (i32x4.shr_u (local.get $b) (i32.const 15))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 29)) (i32x4.shr_u (local.get $b) (i32.const 3))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 16)) (i32x4.shr_u (local.get $b) (i32.const 16))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 24)) (i32x4.shr_u (local.get $b) (i32.const 8))) (local.get $a)))
        ;; key injection 4
        (local.set $a (i32x4.add (local.get $a) (i32x4.splat (local.get $k1))))
        (local.set $b (i32x4.add (local.get $b) (i32x4.splat (i32.add (local.get $k2) (i32.const 4)))))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 13)) (i32x4.shr_u (local.get $b) (i32.const 19))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 15)) (i32x4.shr_u (local.get $b) (i32.const 17))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 26)) (i32x4.shr_u (local.get $b) (i32.const 6))) (local.get $a)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (local.set $b (v128.xor (v128.or (i32x4.shl (local.get $b) (i32.const 6)) (i32x4.shr_u (local.get $b) (i32.const 26))) (local.get $a)))
        ;; key injection 5
        (local.set $a (i32x4.add (local.get $a) (i32x4.splat (local.get $k2))))
        (local.set $b (i32x4.add (local.get $b) (i32x4.splat (i32.add (local.get $k0) (i32.const 5)))))
            ;; words a0 b0 a1 b1 | a2 b2 a3 b3 are values i .. i + 7
            (local.set $x (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (v128.store (local.get $p)
              (v128.and (i32x4.ge_u (i32x4.shr_u (local.get $x) (i32.const 8)) (local.get $vthr)) (local.get $vscale)))
            (local.set $x (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (v128.store offset=16 (local.get $p)
              (v128.and (i32x4.ge_u (i32x4.shr_u (local.get $x) (i32.const 8)) (local.get $vthr)) (local.get $vscale)))
            (local.set $p (i32.add (local.get $p) (i32.const 32)))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br $iloop)))
        ;; the next row starts right after this row's `cols` values (the excess gets overwritten)
        (local.set $p (i32.add (local.get $out) (i32.shl (i32.mul (i32.add (local.get $r) (i32.const 1)) (local.get $cols)) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop)))))
