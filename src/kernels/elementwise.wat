;; The elementwise ops of a training step, run inside tfjs-wasm's own memory on tensors it allocated (see
;; engine/elementwise.ts): Dropout's x * mask, and the activations' derivatives, each fused into one pass.
;; Every value goes through the float32 operations tfjs's ops would apply, in the same order (wasm never
;; fuses a multiply and an add), so the results are tfjs's bits; elementwise.ts checks that at start-up.
;;
;; All take byte offsets (a or dy, b or y, out) and a count n; four values at a time, then one at a time.
;;   mul:         out = a * b
;;   reluGrad:    out = dy * step(y)             step(y) = y if y is NaN, else y > 0 ? 1 : 0 (tf.step on wasm)
;;   tanhGrad:    out = dy * (1 - y * y)
;;   sigmoidGrad: out = dy * (y * (1 - y))
;;
;; NaN payloads: when both factors of the last multiply are NaN, tfjs's scalar multiply returns the first
;; one's (x86 mulss: the first operand's NaN, made quiet), but V8 may swap the operands of a SIMD multiply.
;; So each op returns the first factor, quieted, wherever it is NaN, as x86 does. Everything is inline: V8
;; does not inline wasm calls, and a call per four values doubles the time.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/elementwise-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  (func (export "mul") (param $a i32) (param $b i32) (param $out i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $a4 v128) (local $b4 v128) (local $a1 f32) (local $b1 f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $a4 (v128.load (i32.add (local.get $a) (local.get $i))))
        (local.set $b4 (v128.load (i32.add (local.get $b) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.bitselect
            (v128.or (local.get $a4) (v128.const i32x4 0x400000 0x400000 0x400000 0x400000))
            (f32x4.mul (local.get $a4)
              (local.get $b4))
            (f32x4.ne (local.get $a4) (local.get $a4))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a1 (f32.load (i32.add (local.get $a) (local.get $i))))
        (local.set $b1 (f32.load (i32.add (local.get $b) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (select
            (f32.reinterpret_i32 (i32.or (i32.reinterpret_f32 (local.get $a1)) (i32.const 0x400000)))
            (f32.mul (local.get $a1)
              (local.get $b1))
            (f32.ne (local.get $a1) (local.get $a1))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l))))

  (func (export "reluGrad") (param $dy i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $a4 v128) (local $b4 v128) (local $a1 f32) (local $b1 f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $a4 (v128.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $b4 (v128.load (i32.add (local.get $y) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.bitselect
            (v128.or (local.get $a4) (v128.const i32x4 0x400000 0x400000 0x400000 0x400000))
            (f32x4.mul (local.get $a4)
              (v128.bitselect
              (local.get $b4)
              (v128.and (f32x4.gt (local.get $b4) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))
              (f32x4.ne (local.get $b4) (local.get $b4))))
            (f32x4.ne (local.get $a4) (local.get $a4))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a1 (f32.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $b1 (f32.load (i32.add (local.get $y) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (select
            (f32.reinterpret_i32 (i32.or (i32.reinterpret_f32 (local.get $a1)) (i32.const 0x400000)))
            (f32.mul (local.get $a1)
              (select
              (local.get $b1)
              (select (f32.const 1) (f32.const 0) (f32.gt (local.get $b1) (f32.const 0)))
              (f32.ne (local.get $b1) (local.get $b1))))
            (f32.ne (local.get $a1) (local.get $a1))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l))))

  (func (export "tanhGrad") (param $dy i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $a4 v128) (local $b4 v128) (local $a1 f32) (local $b1 f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $a4 (v128.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $b4 (v128.load (i32.add (local.get $y) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.bitselect
            (v128.or (local.get $a4) (v128.const i32x4 0x400000 0x400000 0x400000 0x400000))
            (f32x4.mul (local.get $a4)
              (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $b4) (local.get $b4))))
            (f32x4.ne (local.get $a4) (local.get $a4))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a1 (f32.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $b1 (f32.load (i32.add (local.get $y) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (select
            (f32.reinterpret_i32 (i32.or (i32.reinterpret_f32 (local.get $a1)) (i32.const 0x400000)))
            (f32.mul (local.get $a1)
              (f32.sub (f32.const 1) (f32.mul (local.get $b1) (local.get $b1))))
            (f32.ne (local.get $a1) (local.get $a1))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l))))

  (func (export "sigmoidGrad") (param $dy i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $n4 i32) (local $a4 v128) (local $b4 v128) (local $a1 f32) (local $b1 f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $l4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $a4 (v128.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $b4 (v128.load (i32.add (local.get $y) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.bitselect
            (v128.or (local.get $a4) (v128.const i32x4 0x400000 0x400000 0x400000 0x400000))
            (f32x4.mul (local.get $a4)
              (f32x4.mul (local.get $b4) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $b4))))
            (f32x4.ne (local.get $a4) (local.get $a4))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a1 (f32.load (i32.add (local.get $dy) (local.get $i))))
        (local.set $b1 (f32.load (i32.add (local.get $y) (local.get $i))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (select
            (f32.reinterpret_i32 (i32.or (i32.reinterpret_f32 (local.get $a1)) (i32.const 0x400000)))
            (f32.mul (local.get $a1)
              (f32.mul (local.get $b1) (f32.sub (f32.const 1) (local.get $b1))))
            (f32.ne (local.get $a1) (local.get $a1))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $l))))
)
