;; Conv2D's transposed patches (im2col, transposed) from a channel-major copy of the input: for each kernel
;; position (ki, kj), channel c, sample b and output row i, the ow values of one input row go to one run of
;; the output, so each run is a contiguous copy (with unit strides) of v128 blocks. engine/conv-grads.ts's
;; patchesTransposed is the JavaScript reference; values are moved, never computed, so the bits are the same.
;;
;; patchesT(xc, out, rows, cin, h, w, kh, kw, sh, sw, dh, dw, oh, ow, top, left): xc [rows, cin, h, w],
;; out [kh*kw*cin, rows*oh*ow]; out[(ki*kw + kj)*cin + c][(b*oh + i)*ow + j] = xc[b][c][i*sh + ki*dh - top]
;; [j*sw + kj*dw - left], 0 in the padding. Byte offsets for xc and out.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/im2col-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  (func (export "patchesT")
    (param $xc i32) (param $out i32) (param $rows i32) (param $cin i32) (param $h i32) (param $w i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $oh i32) (param $ow i32) (param $top i32) (param $left i32)
    (local $ki i32) (local $kj i32) (local $c i32) (local $b i32) (local $i i32) (local $j i32)
    (local $cols i32) (local $jlo i32) (local $jhi i32) (local $r i32) (local $shift i32)
    (local $dst i32) (local $src i32) (local $end i32) (local $run i32)
    (local.set $cols (i32.mul (local.get $rows) (i32.mul (local.get $oh) (local.get $ow))))
    (block $kidone (loop $kiloop
      (br_if $kidone (i32.ge_s (local.get $ki) (local.get $kh)))
      (local.set $kj (i32.const 0))
      (block $kjdone (loop $kjloop
        (br_if $kjdone (i32.ge_s (local.get $kj) (local.get $kw)))
        ;; Output columns j in [jlo, jhi) read inside the input row: column j * sw + shift in [0, w).
        (local.set $shift (i32.sub (i32.mul (local.get $kj) (local.get $dw)) (local.get $left)))
        (local.set $jlo (i32.const 0))
        (block $lodone (loop $loloop
          (br_if $lodone (i32.ge_s (local.get $jlo) (local.get $ow)))
          (br_if $lodone (i32.ge_s (i32.add (i32.mul (local.get $jlo) (local.get $sw)) (local.get $shift)) (i32.const 0)))
          (local.set $jlo (i32.add (local.get $jlo) (i32.const 1)))
          (br $loloop)))
        (local.set $jhi (local.get $ow))
        (block $hidone (loop $hiloop
          (br_if $hidone (i32.le_s (local.get $jhi) (local.get $jlo)))
          (br_if $hidone (i32.lt_s (i32.add (i32.mul (i32.sub (local.get $jhi) (i32.const 1)) (local.get $sw)) (local.get $shift)) (local.get $w)))
          (local.set $jhi (i32.sub (local.get $jhi) (i32.const 1)))
          (br $hiloop)))
        (local.set $c (i32.const 0))
        (block $cdone (loop $cloop
          (br_if $cdone (i32.ge_s (local.get $c) (local.get $cin)))
          ;; $dst: the output row (ki, kj, c), column 0.
          (local.set $dst (i32.add (local.get $out)
            (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $ki) (local.get $kw)) (local.get $kj)) (local.get $cin)) (local.get $c)) (local.get $cols)) (i32.const 2))))
          (local.set $b (i32.const 0))
          (block $bdone (loop $bloop
            (br_if $bdone (i32.ge_s (local.get $b) (local.get $rows)))
            (local.set $i (i32.const 0))
            (block $idone (loop $iloop
              (br_if $idone (i32.ge_s (local.get $i) (local.get $oh)))
              (local.set $r (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh)) (i32.mul (local.get $ki) (local.get $dh))) (local.get $top)))
              (if (i32.or (i32.lt_s (local.get $r) (i32.const 0)) (i32.ge_s (local.get $r) (local.get $h)))
                (then
                  ;; A row of the padding: ow zeros.
                  (local.set $j (i32.const 0))
                  (block $zdone (loop $zloop
                    (br_if $zdone (i32.ge_s (local.get $j) (local.get $ow)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $zloop))))
                (else
                  ;; Zeros left of the input, the values, zeros right of it.
                  (local.set $j (i32.const 0))
                  (block $zldone (loop $zlloop
                    (br_if $zldone (i32.ge_s (local.get $j) (local.get $jlo)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $zlloop)))
                  ;; $src: xc[b][c][r][jlo * sw + shift].
                  (local.set $src (i32.add (local.get $xc) (i32.shl
                    (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $cin)) (local.get $c)) (local.get $h)) (local.get $r)) (local.get $w))
                      (i32.add (i32.mul (local.get $jlo) (local.get $sw)) (local.get $shift)))
                    (i32.const 2))))
                  (if (i32.eq (local.get $sw) (i32.const 1))
                    (then
                      ;; A contiguous run: four values at a time, then one.
                      (local.set $run (i32.sub (local.get $jhi) (local.get $jlo)))
                      (local.set $end (i32.add (local.get $jlo) (i32.and (local.get $run) (i32.const -4))))
                      (block $vdone (loop $vloop
                        (br_if $vdone (i32.ge_s (local.get $j) (local.get $end)))
                        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (v128.load (local.get $src)))
                        (local.set $src (i32.add (local.get $src) (i32.const 16)))
                        (local.set $j (i32.add (local.get $j) (i32.const 4)))
                        (br $vloop)))
                      (block $tdone (loop $tloop
                        (br_if $tdone (i32.ge_s (local.get $j) (local.get $jhi)))
                        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (i32.load (local.get $src)))
                        (local.set $src (i32.add (local.get $src) (i32.const 4)))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $tloop))))
                    (else
                      (block $sdone (loop $sloop
                        (br_if $sdone (i32.ge_s (local.get $j) (local.get $jhi)))
                        (i32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (i32.load (local.get $src)))
                        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $sw) (i32.const 2))))
                        (local.set $j (i32.add (local.get $j) (i32.const 1)))
                        (br $sloop)))))
                  (block $zrdone (loop $zrloop
                    (br_if $zrdone (i32.ge_s (local.get $j) (local.get $ow)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $zrloop)))))
              (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $ow) (i32.const 2))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $iloop)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bloop)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $cloop)))
        (local.set $kj (i32.add (local.get $kj) (i32.const 1)))
        (br $kjloop)))
      (local.set $ki (i32.add (local.get $ki) (i32.const 1)))
      (br $kiloop)))))
