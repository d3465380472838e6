;; The gradient of max pooling, straight over tfjs-wasm's memory: each output's gradient goes to the first
;; position of its window (row-major) that holds the window's maximum, as TensorFlow's MaxPoolGrad does, and
;; overlapping windows add up in output order. engine/conv-grads.ts's maxPoolGradient is the JavaScript
;; reference; the bits are the same for finite values (lanes that are not a window's maximum add +0).
;;
;; maxPoolGrad(x, y, dy, out, n, h, w, c, oh, ow, kh, kw, sh, sw, top, left): x and out [n, h, w, c], y and dy
;; [n, oh, ow, c], byte offsets; `out` must hold zeros. Four channels at a time (a lane mask remembers which
;; channels found their maximum), then one.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/max-pool-grad-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  (func (export "maxPoolGrad")
    (param $x i32) (param $y i32) (param $dy i32) (param $out i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $b i32) (local $i i32) (local $j i32) (local $ki i32) (local $kj i32) (local $ch i32)
    (local $c4 i32) (local $o i32) (local $r i32) (local $col i32) (local $at i32) (local $found i32)
    (local $m v128) (local $d v128) (local $taken v128) (local $hit v128)
    (local $ms f32)
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_s (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_s (local.get $i) (local.get $oh)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_s (local.get $j) (local.get $ow)))
          ;; $o: the output pixel's first channel, as a float index.
          (local.set $o (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $i)) (local.get $ow)) (local.get $j)) (local.get $c)))
          ;; Four channels at a time.
          (local.set $ch (i32.const 0))
          (block $vdone (loop $vloop
            (br_if $vdone (i32.ge_s (local.get $ch) (local.get $c4)))
            (local.set $m (v128.load (i32.add (local.get $y) (i32.shl (i32.add (local.get $o) (local.get $ch)) (i32.const 2)))))
            (local.set $d (v128.load (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $ch)) (i32.const 2)))))
            (local.set $taken (v128.const i32x4 0 0 0 0))
            (local.set $ki (i32.const 0))
            (block $kidone (loop $kiloop
              (br_if $kidone (i32.ge_s (local.get $ki) (local.get $kh)))
              (local.set $r (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh)) (local.get $ki)) (local.get $top)))
              (if (i32.and (i32.ge_s (local.get $r) (i32.const 0)) (i32.lt_s (local.get $r) (local.get $h)))
                (then
                  (local.set $kj (i32.const 0))
                  (block $kjdone (loop $kjloop
                    (br_if $kjdone (i32.ge_s (local.get $kj) (local.get $kw)))
                    (local.set $col (i32.sub (i32.add (i32.mul (local.get $j) (local.get $sw)) (local.get $kj)) (local.get $left)))
                    (if (i32.and (i32.ge_s (local.get $col) (i32.const 0)) (i32.lt_s (local.get $col) (local.get $w)))
                      (then
                        (local.set $at (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $r)) (local.get $w)) (local.get $col)) (local.get $c)) (local.get $ch)) (i32.const 2)))
                        (local.set $hit (v128.andnot (f32x4.eq (v128.load (i32.add (local.get $x) (local.get $at))) (local.get $m)) (local.get $taken)))
                        (local.set $taken (v128.or (local.get $taken) (local.get $hit)))
                        (v128.store (i32.add (local.get $out) (local.get $at))
                          (f32x4.add (v128.load (i32.add (local.get $out) (local.get $at))) (v128.and (local.get $d) (local.get $hit))))))
                    (local.set $kj (i32.add (local.get $kj) (i32.const 1)))
                    (br $kjloop)))))
              (local.set $ki (i32.add (local.get $ki) (i32.const 1)))
              (br $kiloop)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $vloop)))
          ;; The channels past the last group of four, one at a time.
          (block $sdone (loop $sloop
            (br_if $sdone (i32.ge_s (local.get $ch) (local.get $c)))
            (local.set $ms (f32.load (i32.add (local.get $y) (i32.shl (i32.add (local.get $o) (local.get $ch)) (i32.const 2)))))
            (local.set $found (i32.const 0))
            (local.set $ki (i32.const 0))
            (block $skidone (loop $skiloop
              (br_if $skidone (i32.or (local.get $found) (i32.ge_s (local.get $ki) (local.get $kh))))
              (local.set $r (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh)) (local.get $ki)) (local.get $top)))
              (if (i32.and (i32.ge_s (local.get $r) (i32.const 0)) (i32.lt_s (local.get $r) (local.get $h)))
                (then
                  (local.set $kj (i32.const 0))
                  (block $skjdone (loop $skjloop
                    (br_if $skjdone (i32.or (local.get $found) (i32.ge_s (local.get $kj) (local.get $kw))))
                    (local.set $col (i32.sub (i32.add (i32.mul (local.get $j) (local.get $sw)) (local.get $kj)) (local.get $left)))
                    (if (i32.and (i32.ge_s (local.get $col) (i32.const 0)) (i32.lt_s (local.get $col) (local.get $w)))
                      (then
                        (local.set $at (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $r)) (local.get $w)) (local.get $col)) (local.get $c)) (local.get $ch)) (i32.const 2)))
                        (if (f32.eq (f32.load (i32.add (local.get $x) (local.get $at))) (local.get $ms))
                          (then
                            (local.set $found (i32.const 1))
                            (f32.store (i32.add (local.get $out) (local.get $at))
                              (f32.add (f32.load (i32.add (local.get $out) (local.get $at)))
                                (f32.load (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $ch)) (i32.const 2))))))))))
                    (local.set $kj (i32.add (local.get $kj) (i32.const 1)))
                    (br $skjloop)))))
              (local.set $ki (i32.add (local.get $ki) (i32.const 1)))
              (br $skiloop)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $sloop)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))))
