/**
 * The WebAssembly SIMD ceiling of this machine: a 4x8 register-blocked multiply-add loop (the inner loop of a
 * matmul microkernel, as XNNPACK's wasmsimd GEMMs run it: per k, two v128 loads of B, four splats of A, eight
 * f32x4.mul and eight f32x4.add into eight accumulators), over operands that stay in L1, with no FMA (lockstep
 * sets no V8 flags, and relaxed SIMD's FMA depends on the CPU). No matmul in wasm on this core can beat it, so
 * the report sets the step's rates against it. Bench-only: compiled here with wabt (a dev dependency).
 */
import initWabt from 'wabt';

const K = 256;

const WAT = `(module
  (memory 1)
  (func (export "run") (param $reps i32) (result f32)
    (local $k i32) (local $a i32) (local $b i32) (local $b0 v128) (local $b1 v128) (local $x v128)
    ${Array.from({ length: 8 }, (_, i) => `(local $c${i} v128)`).join(' ')}
    (block $done (loop $rep
      (br_if $done (i32.eqz (local.get $reps)))
      (local.set $a (i32.const 0))
      (local.set $b (i32.const ${K * 16}))
      (local.set $k (i32.const ${K}))
      (loop $inner
        (local.set $b0 (v128.load (local.get $b)))
        (local.set $b1 (v128.load offset=16 (local.get $b)))
        ${[0, 1, 2, 3]
          .map(
            (i) => `(local.set $x (v128.load32_splat offset=${i * 4} (local.get $a)))
        (local.set $c${2 * i} (f32x4.add (local.get $c${2 * i}) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c${2 * i + 1} (f32x4.add (local.get $c${2 * i + 1}) (f32x4.mul (local.get $x) (local.get $b1))))`,
          )
          .join('\n        ')}
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 32)))
        (br_if $inner (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (local.set $reps (i32.sub (local.get $reps) (i32.const 1)))
      (br $rep)))
    (local.set $x ${Array.from({ length: 7 }, (_, i) => `(f32x4.add (local.get $c${i + 1})`).join(' ')} (local.get $c0)${')'.repeat(7)})
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 1 (local.get $x))) (f32.add (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 3 (local.get $x))))))`;

export interface SimdCeiling {
  /** GFLOPS of the loop on one thread: the best of `rounds` timed rounds, and their median. */
  best: number;
  median: number;
}

/** Times the loop in this thread: `rounds` rounds of about `roundMs` each, after a warm-up. */
export async function probeSimdCeiling(rounds = 15, roundMs = 20): Promise<SimdCeiling> {
  const wabt = await initWabt();
  const parsed = wabt.parseWat('simd-ceiling.wat', WAT, { simd: true });
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(buffer)));
  const run = exports.run as (reps: number) => number;
  const flopsPerRep = K * 64;
  run(2000);
  let reps = 100;
  for (;;) {
    const t = performance.now();
    run(reps);
    const ms = performance.now() - t;
    if (ms >= roundMs / 2) break;
    reps *= 2;
  }
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    run(reps);
    rates.push((reps * flopsPerRep) / ((performance.now() - t) * 1e6));
  }
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1], median: rates[rates.length >> 1] };
}

// `node dist/bench/simd-ceiling.js`: the probe alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const c = await probeSimdCeiling();
  console.log(
    `WebAssembly SIMD ceiling (4x8 multiply-add, no FMA): best ${c.best.toFixed(1)} GFLOPS, median ${c.median.toFixed(1)} per thread`,
  );
}
