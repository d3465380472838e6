;; Column sums of a float32 matrix, accumulated in float64 in row order and rounded to float32 once: the
;; bias gradient of a Dense layer, read straight from the dz tensor in tfjs-wasm's memory. layers/dense.ts's
;; columnSums is the JavaScript reference. Each column's sum adds its rows in the same order as the reference
;; (SIMD runs across columns, never across rows), so the bits are the same.
;;
;; columnSums(src, start, rows, cols, out): out[c] = float32(sum over r in [start, start + rows) of
;; float64(src[r * cols + c])); byte offsets. Four columns at a time (two f64x2 accumulators), then one.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/column-sums-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  (func (export "columnSums") (param $src i32) (param $start i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $c i32) (local $r i32) (local $p i32) (local $rowBytes i32) (local $cols4 i32)
    (local $lo v128) (local $hi v128) (local $v v128) (local $acc f64)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $src (i32.add (local.get $src) (i32.mul (local.get $start) (local.get $rowBytes))))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_s (local.get $c) (local.get $cols4)))
        (local.set $lo (v128.const f64x2 0 0))
        (local.set $hi (v128.const f64x2 0 0))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $rloop
            (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
            (local.set $v (v128.load (local.get $p)))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
            (local.set $hi (f64x2.add (local.get $hi)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rloop)))
        ;; f32x4.demote_f64x2_zero rounds to nearest, as Float32Array stores do.
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cloop)))
    ;; The columns past the last block of four.
    (block $tdone
      (loop $tloop
        (br_if $tdone (i32.ge_s (local.get $c) (local.get $cols)))
        (local.set $acc (f64.const 0))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rdone2
          (loop $rloop2
            (br_if $rdone2 (i32.ge_s (local.get $r) (local.get $rows)))
            (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rloop2)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $tloop))))
)
