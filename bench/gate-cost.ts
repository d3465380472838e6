/**
 * What fit's step-exact path costs per step: the MNIST MLP trained with and without a (no-op) batch callback,
 * epochs alternating so both see the same machine, after a warm-up. Not part of `npm run bench`, which reports
 * the same difference per case ("Step-exact path"); this one interleaves, for a noisy machine.
 *
 *   node dist/bench/gate-cost.js [workers=2] [rows=12000] [pairs=4]
 */
import { Callback, setRandomSeed } from '../src/index.js';
import { MODELS, buildLockstep, loadData } from './models.js';

class BatchHook extends Callback {
  override onBatchEnd(): void {}
}

const [workers = 2, rows = 12_000, pairs = 4] = process.argv.slice(2).map(Number);
const spec = MODELS.mlp;
const data = await loadData(spec, { rows, testRows: 1, shared: true });
setRandomSeed(13);
const model = buildLockstep(spec);
const fit = (gated: boolean) =>
  model.fit(data.xTrain, data.yTrain, {
    batchSize: 128,
    workers,
    verbose: 0,
    callbacks: gated ? [new BatchHook()] : [],
  });
// Warm-up: the JIT compiles the per-step code for a few thousand steps (see bench/case.ts).
const steps = Math.ceil(data.xTrain.rows / 128);
for (let s = 0; s < 2500; s += steps * 2) await fit((s / steps) % 4 === 0);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
const extra: number[] = [];
for (let p = 0; p < pairs; p++) {
  const order = p % 2 === 0 ? [false, true] : [true, false];
  const ms: Record<string, number> = {};
  for (const gated of order) ms[String(gated)] = ((await fit(gated)).timing[0].seconds * 1000) / steps;
  extra.push(ms.true - ms.false);
  console.log(
    `pair ${p + 1}: fast ${ms.false.toFixed(3)} ms/step, gated ${ms.true.toFixed(3)} ms/step, ${signed(ms.true - ms.false)}`,
  );
}
extra.sort((a, b) => a - b);
console.log(
  `gated path, ${workers} workers, batch 128: median ${signed(extra[Math.floor(extra.length / 2)])} ms per step over ${pairs} pairs`,
);
await model.dispose();
