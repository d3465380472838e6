;; A float32 matrix transpose inside tfjs-wasm's own memory: the first Dense layer's kernel gradient is
;; x^T @ dz, and XNNPACK's fast path wants x^T as a plain row-major matrix, so each step transposes the
;; worker's gathered rows (64 x 784 on MNIST). engine/step.ts's transposeRows is the JavaScript reference.
;;
;; transpose(src, rows, cols, dst): dst[c * rows + r] = src[r * cols + c] (byte offsets, no overlap), and
;; transposeStrided(src, rows, cols, dst, stride): dst[c * stride + r] = src[r * cols + c], the same into rows
;; of a wider matrix (Conv2D's transposed patches, engine/conv-grads.ts). Full
;; 4 x 4 blocks go through four v128 loads, eight shuffles and four stores; the edges move one value at a
;; time. Values are moved as bits (i32 and v128), never as floats, so NaN payloads survive.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/transpose-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  ;; dst[c * stride + r] = src[r * cols + c] for r in [r0, r1), c in [c0, c1), one value at a time.
  (func $scalar (param $src i32) (param $stride i32) (param $cols i32) (param $dst i32)
    (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32)
    (local $r i32) (local $c i32)
    (local.set $r (local.get $r0))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $r1)))
        (local.set $c (local.get $c0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_s (local.get $c) (local.get $c1)))
            (i32.store
              (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $stride)) (local.get $r)) (i32.const 2)))
              (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop))))

  (func (export "transpose") (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32)
    (call $strided (local.get $src) (local.get $rows) (local.get $cols) (local.get $dst) (local.get $rows)))

  (func $strided (export "transposeStrided") (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32) (param $stride i32)
    (local $rows4 i32) (local $cols4 i32) (local $r i32) (local $c i32)
    (local $rowBytes i32) (local $colBytes i32) (local $in i32) (local $out i32)
    (local $a v128) (local $b v128) (local $x v128) (local $y v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $stride) (i32.const 2)))
    ;; Column blocks outside, row blocks inside: each block's stores continue the previous block's, so the
    ;; output is written a cache line at a time, and the 4 input rows' lines stay in L1 for the next block.
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_s (local.get $c) (local.get $cols4)))
        (local.set $r (i32.const 0))
        ;; $in: src row r, column c; $out: dst row c, column r.
        (local.set $in (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $c) (local.get $colBytes))))
        (block $rdone
          (loop $rloop
            (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows4)))
            (local.set $a (v128.load (local.get $in)))
            (local.set $b (v128.load (i32.add (local.get $in) (local.get $rowBytes))))
            (local.set $x (v128.load (i32.add (local.get $in) (i32.shl (local.get $rowBytes) (i32.const 1)))))
            (local.set $y (v128.load (i32.add (local.get $in) (i32.mul (local.get $rowBytes) (i32.const 3)))))
            ;; t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = x0 y0 x1 y1, t3 = x2 y2 x3 y3
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x) (local.get $y)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x) (local.get $y)))
            ;; column c + i of the block: a_i b_i x_i y_i
            (v128.store (local.get $out)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $out) (local.get $colBytes))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $out) (i32.shl (local.get $colBytes) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $out) (i32.mul (local.get $colBytes) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $in (i32.add (local.get $in) (i32.shl (local.get $rowBytes) (i32.const 2))))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $rloop)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cloop)))
    ;; The columns past the last full block of four, then the rows past the last full block of four.
    (call $scalar (local.get $src) (local.get $stride) (local.get $cols) (local.get $dst)
      (i32.const 0) (local.get $rows4) (local.get $cols4) (local.get $cols))
    (call $scalar (local.get $src) (local.get $stride) (local.get $cols) (local.get $dst)
      (local.get $rows4) (local.get $rows) (i32.const 0) (local.get $cols)))
)
