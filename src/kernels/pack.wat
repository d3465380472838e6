;; XNNPACK's packed layout of a Dense kernel, written inside tfjs-wasm's own memory (see
;; engine/packed-kernel.ts, whose packKernel is the JavaScript reference for this kernel).
;;
;; For each block of 8 output columns: the block's 8 bias values (0 without a bias or past the last column),
;; then for each input row k the block's 8 kernel values (0 past the last column). The kernel is [fanIn,
;; units], row-major. Values are moved as bits (v128 and i32 loads and stores), never as floats, so NaN
;; payloads survive. A full block moves each row's 32 bytes with two 16-byte loads and stores, where the
;; JavaScript loop moves 8 floats one at a time; this runs once per step for every Dense layer.
;;
;; Build: npm run build:wasm (wabt) regenerates src/kernels/pack-wasm.ts from this file.
(module
  (import "env" "memory" (memory 1))

  ;; 8 values from $src to $out: the first $n as they are, the rest 0.
  (func $partial (param $src i32) (param $n i32) (param $out i32)
    (local $c i32)
    (loop $cl
      (i32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
        (select (i32.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2)))) (i32.const 0)
          (i32.lt_s (local.get $c) (local.get $n))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $cl (i32.lt_s (local.get $c) (i32.const 8)))))

  ;; $bias = 0: no bias (the bias block is zeros).
  (func (export "pack") (param $kernel i32) (param $bias i32) (param $fanIn i32) (param $units i32) (param $out i32)
    (local $c0 i32) (local $n i32) (local $k i32) (local $src i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $units) (i32.const 2)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $c0) (local.get $units)))
        (local.set $n (i32.sub (local.get $units) (local.get $c0)))
        (if (i32.gt_s (local.get $n) (i32.const 8)) (then (local.set $n (i32.const 8))))
        ;; The bias block.
        (if (i32.eqz (local.get $bias))
          (then
            (v128.store (local.get $out) (v128.const i32x4 0 0 0 0))
            (v128.store offset=16 (local.get $out) (v128.const i32x4 0 0 0 0)))
          (else
            (call $partial (i32.add (local.get $bias) (i32.shl (local.get $c0) (i32.const 2))) (local.get $n) (local.get $out))))
        (local.set $out (i32.add (local.get $out) (i32.const 32)))
        ;; The kernel rows of the block.
        (local.set $src (i32.add (local.get $kernel) (i32.shl (local.get $c0) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $rows
          (loop $row
            (br_if $rows (i32.ge_s (local.get $k) (local.get $fanIn)))
            (if (i32.eq (local.get $n) (i32.const 8))
              (then
                (v128.store (local.get $out) (v128.load (local.get $src)))
                (v128.store offset=16 (local.get $out) (v128.load offset=16 (local.get $src))))
              (else
                (call $partial (local.get $src) (local.get $n) (local.get $out))))
            (local.set $out (i32.add (local.get $out) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $row)))
        (local.set $c0 (i32.add (local.get $c0) (i32.const 8)))
        (br $blocks))))
)
