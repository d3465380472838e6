;; SIMD kernels for the reduce-and-update phase of a training step, over the model's shared wasm memory.
;;
;; Every kernel works on elements [lo, hi) of float32 arrays given as byte offsets, four lanes at a time,
;; then one at a time for the tail. Each is the exact float32 counterpart of a JavaScript loop in
;; optimizers.ts / step.ts (same operations, same order, each rounded to float32), so the two give the same
;; bits; test/kernels.test.ts checks that. IEEE add, sub, mul, div and sqrt are exactly rounded in wasm,
;; both per lane and scalar, which is what makes the equality hold. Optimizer state below float32's smallest
;; normal (0x1p-126) is stored as +0, as optimizers.ts does (TensorFlow's flush-to-zero); NaN is kept.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/optimizer-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Flush to zero, four lanes (written inline where used: V8 does not inline wasm calls, and a call per
  ;; vector cost RMSprop about a fifth of its time): v128.andnot(x, |x| < 0x1p-126) is x, or +0 where |x| is
  ;; below float32's smallest normal (NaN compares false: kept). One lane at a time:
  (func $ftz (param $x f32) (result f32)
    (select (f32.const 0) (local.get $x) (f32.lt (f32.abs (local.get $x)) (f32.const 0x1p-126))))

  ;; out[i] = slot[first][i] + slot[first + 1][i] + ... (n slots, indices mod n, added left to right).
  ;; Slot s starts at slots + s * stride (bytes).
  (func (export "sumSlots")
    (param $out i32) (param $slots i32) (param $stride i32) (param $n i32) (param $first i32)
    (param $lo i32) (param $hi i32)
    (local $i i32) (local $k i32) (local $s i32) (local $off i32) (local $acc v128) (local $x f32)
    (local.set $i (local.get $lo))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
        (local.set $off (i32.shl (local.get $i) (i32.const 2)))
        (local.set $s (local.get $first))
        (local.set $acc (v128.load (i32.add (i32.add (local.get $slots) (i32.mul (local.get $s) (local.get $stride))) (local.get $off))))
        (local.set $k (i32.const 1))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_s (local.get $k) (local.get $n)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then (local.set $s (i32.const 0))))
            (local.set $acc (f32x4.add (local.get $acc)
              (v128.load (i32.add (i32.add (local.get $slots) (i32.mul (local.get $s) (local.get $stride))) (local.get $off)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kloop)))
        (v128.store (i32.add (local.get $out) (local.get $off)) (local.get $acc))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $hi)))
        (local.set $off (i32.shl (local.get $i) (i32.const 2)))
        (local.set $s (local.get $first))
        (local.set $x (f32.load (i32.add (i32.add (local.get $slots) (i32.mul (local.get $s) (local.get $stride))) (local.get $off))))
        (local.set $k (i32.const 1))
        (block $kdone2
          (loop $kloop2
            (br_if $kdone2 (i32.ge_s (local.get $k) (local.get $n)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (if (i32.eq (local.get $s) (local.get $n)) (then (local.set $s (i32.const 0))))
            (local.set $x (f32.add (local.get $x)
              (f32.load (i32.add (i32.add (local.get $slots) (i32.mul (local.get $s) (local.get $stride))) (local.get $off)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kloop2)))
        (f32.store (i32.add (local.get $out) (local.get $off)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop))))

  ;; SGD: p' = p - g * lr.
  (func (export "sgd")
    (param $p i32) (param $g i32) (param $pOut i32) (param $lo i32) (param $hi i32) (param $lr f32)
    (local $i i32) (local $o i32) (local $vlr v128)
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $i (local.get $lo))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (v128.store (i32.add (local.get $pOut) (local.get $o))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $o)))
            (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $o))) (local.get $vlr))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (f32.store (i32.add (local.get $pOut) (local.get $o))
          (f32.sub (f32.load (i32.add (local.get $p) (local.get $o)))
            (f32.mul (f32.load (i32.add (local.get $g) (local.get $o))) (local.get $lr))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop))))

  ;; RMSprop (Keras 3, no momentum, not centered):
  ;;   v' = rho * v + c * (g * g)          (c = 1 - rho, rounded to float32)
  ;;   p' = p - (lr * g) / sqrt(v' + eps)
  (func (export "rmsprop")
    (param $p i32) (param $v i32) (param $g i32) (param $pOut i32) (param $vOut i32) (param $lo i32) (param $hi i32)
    (param $lr f32) (param $rho f32) (param $c f32) (param $eps f32)
    (local $i i32) (local $o i32)
    (local $vlr v128) (local $vrho v128) (local $vc v128) (local $veps v128) (local $gv v128) (local $vv v128)
    (local $gs f32) (local $vs f32)
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vrho (f32x4.splat (local.get $rho)))
    (local.set $vc (f32x4.splat (local.get $c)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $i (local.get $lo))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $vv (f32x4.add
          (f32x4.mul (local.get $vrho) (v128.load (i32.add (local.get $v) (local.get $o))))
          (f32x4.mul (local.get $vc) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (local.set $vv (v128.andnot (local.get $vv) (f32x4.lt (f32x4.abs (local.get $vv)) (v128.const f32x4 0x1p-126 0x1p-126 0x1p-126 0x1p-126))))
        (v128.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $pOut) (local.get $o))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $o)))
            (f32x4.div (f32x4.mul (local.get $vlr) (local.get $gv))
              (f32x4.sqrt (f32x4.add (local.get $vv) (local.get $veps))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $vs (call $ftz (f32.add
          (f32.mul (local.get $rho) (f32.load (i32.add (local.get $v) (local.get $o))))
          (f32.mul (local.get $c) (f32.mul (local.get $gs) (local.get $gs))))))
        (f32.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $pOut) (local.get $o))
          (f32.sub (f32.load (i32.add (local.get $p) (local.get $o)))
            (f32.div (f32.mul (local.get $lr) (local.get $gs))
              (f32.sqrt (f32.add (local.get $vs) (local.get $eps))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop))))

  ;; Adam (Keras 3):
  ;;   m' = m + (g - m) * c1               (c1 = 1 - beta1)
  ;;   v' = v + (g * g - v) * c2           (c2 = 1 - beta2)
  ;;   p' = p - (m' * alpha) / (sqrt(v') + eps)
  (func (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32) (param $pOut i32) (param $mOut i32) (param $vOut i32)
    (param $lo i32) (param $hi i32) (param $alpha f32) (param $c1 f32) (param $c2 f32) (param $eps f32)
    (local $i i32) (local $o i32)
    (local $valpha v128) (local $vc1 v128) (local $vc2 v128) (local $veps v128)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $valpha (f32x4.splat (local.get $alpha)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $i (local.get $lo))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $mv (v128.load (i32.add (local.get $m) (local.get $o))))
        (local.set $mv (f32x4.add (local.get $mv) (f32x4.mul (f32x4.sub (local.get $gv) (local.get $mv)) (local.get $vc1))))
        (local.set $mv (v128.andnot (local.get $mv) (f32x4.lt (f32x4.abs (local.get $mv)) (v128.const f32x4 0x1p-126 0x1p-126 0x1p-126 0x1p-126))))
        (local.set $vv (v128.load (i32.add (local.get $v) (local.get $o))))
        (local.set $vv (f32x4.add (local.get $vv)
          (f32x4.mul (f32x4.sub (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $vv)) (local.get $vc2))))
        (local.set $vv (v128.andnot (local.get $vv) (f32x4.lt (f32x4.abs (local.get $vv)) (v128.const f32x4 0x1p-126 0x1p-126 0x1p-126 0x1p-126))))
        (v128.store (i32.add (local.get $mOut) (local.get $o)) (local.get $mv))
        (v128.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $pOut) (local.get $o))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $o)))
            (f32x4.div (f32x4.mul (local.get $mv) (local.get $valpha))
              (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $veps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $ms (f32.load (i32.add (local.get $m) (local.get $o))))
        (local.set $ms (call $ftz (f32.add (local.get $ms) (f32.mul (f32.sub (local.get $gs) (local.get $ms)) (local.get $c1)))))
        (local.set $vs (f32.load (i32.add (local.get $v) (local.get $o))))
        (local.set $vs (call $ftz (f32.add (local.get $vs)
          (f32.mul (f32.sub (f32.mul (local.get $gs) (local.get $gs)) (local.get $vs)) (local.get $c2)))))
        (f32.store (i32.add (local.get $mOut) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $pOut) (local.get $o))
          (f32.sub (f32.load (i32.add (local.get $p) (local.get $o)))
            (f32.div (f32.mul (local.get $ms) (local.get $alpha))
              (f32.add (f32.sqrt (local.get $vs)) (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop))))

  ;; AdamW's decoupled weight decay, before the Adam step (Keras 3): p' = p - (p * wd) * lr.
  (func (export "decay")
    (param $p i32) (param $pOut i32) (param $lo i32) (param $hi i32) (param $wd f32) (param $lr f32)
    (local $i i32) (local $o i32) (local $vwd v128) (local $vlr v128) (local $x v128) (local $xs f32)
    (local.set $vwd (f32x4.splat (local.get $wd)))
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $i (local.get $lo))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $x (v128.load (i32.add (local.get $p) (local.get $o))))
        (v128.store (i32.add (local.get $pOut) (local.get $o))
          (f32x4.sub (local.get $x) (f32x4.mul (f32x4.mul (local.get $x) (local.get $vwd)) (local.get $vlr))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $hi)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $xs (f32.load (i32.add (local.get $p) (local.get $o))))
        (f32.store (i32.add (local.get $pOut) (local.get $o))
          (f32.sub (local.get $xs) (f32.mul (f32.mul (local.get $xs) (local.get $wd)) (local.get $lr))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop)))))
