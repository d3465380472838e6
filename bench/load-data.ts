/**
 * Load speed of the CSV reader: writes a CSV of random numbers (default 200 MB: 20 float columns, a
 * 5-level categorical column and a target), then times `loadCsv` on it and reports MB/s and the process's
 * peak resident memory against the float32 size of the result.
 *
 *   node dist/bench/load-data.js [--mb 200] [--file /tmp/lockstep-load.csv]
 */
import { existsSync, statSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadCsv } from '../src/data/index.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const mb = Number(arg('mb', '200'));
const file = arg('file', `/tmp/lockstep-load-${mb}mb.csv`);

async function generate(): Promise<void> {
  const out = createWriteStream(file);
  const cols = Array.from({ length: 20 }, (_, i) => `f${i}`);
  out.write(`${cols.join(',')},color,target\n`);
  let s = 1;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  const colors = ['red', 'green', 'blue', 'cyan', 'grey'];
  let written = 0;
  while (written < mb * 1e6) {
    let lines = '';
    for (let k = 0; k < 1000; k++) {
      const row = cols.map(() => (rnd() * 200 - 100).toFixed(4));
      lines += `${row.join(',')},${colors[Math.floor(rnd() * 5)]},${(rnd() * 10).toFixed(3)}\n`;
    }
    written += lines.length;
    if (!out.write(lines)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

if (!existsSync(file)) await generate();
const bytes = statSync(file).size;
const before = process.memoryUsage().rss;
const t0 = performance.now();
const d = await loadCsv(file, { target: 'target', standardize: true, validationSplit: 0.2 });
const seconds = (performance.now() - t0) / 1000;
const floatBytes = (d.x.data.length + (d.y?.data.length ?? 0)) * 4;
const peak = process.resourceUsage().maxRSS * 1024;
console.log(
  `${file}: ${(bytes / 1e6).toFixed(0)} MB, ${d.x.shape[0]} rows x ${d.x.shape[1]} inputs in ${seconds.toFixed(2)} s = ${(bytes / 1e6 / seconds).toFixed(0)} MB/s; ` +
    `float32 result ${(floatBytes / 1e6).toFixed(0)} MB, peak RSS ${(peak / 1e6).toFixed(0)} MB, ${((peak - before) / 1e6).toFixed(0)} MB above the ${(before / 1e6).toFixed(0)} MB before loading (${((peak - before) / floatBytes).toFixed(2)}x the result)`,
);
