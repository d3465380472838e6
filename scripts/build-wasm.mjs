/**
 * Compiles src/kernels/*.wat into src/kernels/*-wasm.ts (the binary as base64), so the kernels load the same
 * way from src/ under vitest and from dist/ in the pool, with no file lookup at run time.
 * `--check` fails instead of writing when a generated file is out of date (CI runs it before the tests).
 */
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import initWabt from 'wabt';

const dir = new URL('../src/kernels/', import.meta.url).pathname;
const check = process.argv.includes('--check');
const wabt = await initWabt();
let stale = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.wat'))) {
  const name = file.replace(/\.wat$/, '');
  const module = wabt.parseWat(file, readFileSync(join(dir, file), 'utf8'), { simd: true, threads: true });
  const { buffer } = module.toBinary({});
  // wabt's validator ignores the threads feature given to the parser; V8 checks the real thing.
  if (!WebAssembly.validate(buffer)) throw new Error(`${file}: the compiled module does not validate`);
  module.destroy();
  const out = join(dir, `${name}-wasm.ts`);
  const text = `// Generated from ${file} by scripts/build-wasm.mjs (npm run build:wasm). Do not edit.\nexport const wasmBase64 =\n  '${Buffer.from(buffer).toString('base64')}';\n`;
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {
    // Not generated yet: written below.
  }
  if (current === text) continue;
  if (check) {
    console.error(`${out} is out of date with ${file}: run npm run build:wasm`);
    stale++;
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${out} (${buffer.length} bytes of wasm)`);
  }
}
process.exit(stale ? 1 : 0);
