/**
 * The combinations of a sweep: seeds written as ranges (`1-30`, `1,2,5-7`) and a grid of fit settings
 * (`learningRate=1e-3,3e-4 batchSize=64,128`). Parsing checks everything and names the offending piece,
 * so a typo never reaches a worker.
 */
import { closestName } from '../errors.js';
import { UsageError } from '../cli/errors.js';

/** The settings a grid may vary, with the rule each value must follow. */
export const GRID_KEYS = {
  learningRate: { rule: 'a positive number such as 1e-3', ok: (v: number) => v > 0 && Number.isFinite(v) },
  batchSize: { rule: 'a positive integer', ok: (v: number) => Number.isSafeInteger(v) && v > 0 },
  epochs: { rule: 'a positive integer', ok: (v: number) => Number.isSafeInteger(v) && v > 0 },
} as const;
export type GridKey = keyof typeof GRID_KEYS;
export type GridPoint = Partial<Record<GridKey, number>>;

/** A sweep larger than this is almost surely a typo (`1-100000`). */
export const MAX_JOBS = 10_000;

/** `'1-3,7'` -> [1, 2, 3, 7]; integers >= 0, ascending ranges, no repeats. */
export function parseSeeds(text: string): number[] {
  const fail = (why: string) => {
    throw new UsageError(`--seeds ${JSON.stringify(text)}: ${why}; write seeds as 1-30 or 1,2,5-7`);
  };
  if (typeof text !== 'string' || text.trim() === '') fail('is empty');
  const seeds: number[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) fail(`"${part}" is not a seed (a non-negative integer) or a range a-b`);
    const [from, to] = [Number(m![1]), Number(m![2] ?? m![1])];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) fail(`"${part}" is too large`);
    if (to < from) fail(`the range "${part}" runs backwards`);
    if (to - from + 1 + seeds.length > MAX_JOBS) fail(`more than ${MAX_JOBS} seeds`);
    for (let s = from; s <= to; s++) {
      if (seeds.includes(s)) fail(`seed ${s} is listed twice`);
      seeds.push(s);
    }
  }
  return seeds;
}

/**
 * `['learningRate=1e-3,3e-4', 'batchSize=64,128']` -> the 4 points of their product, the first key varying
 * slowest. No entries gives one empty point (the model's own settings).
 */
export function parseGrid(entries: readonly string[] = []): GridPoint[] {
  const axes: [GridKey, number[]][] = [];
  for (const entry of entries) {
    const fail = (why: string): never => {
      throw new UsageError(`--grid ${JSON.stringify(entry)}: ${why}`);
    };
    const eq = entry.indexOf('=');
    if (eq <= 0)
      fail(`expected name=value,value... such as learningRate=1e-3,3e-4 (names: ${Object.keys(GRID_KEYS).join(', ')})`);
    const name = entry.slice(0, eq).trim();
    if (!Object.hasOwn(GRID_KEYS, name)) {
      const near = closestName(name, Object.keys(GRID_KEYS));
      fail(
        `unknown setting "${name}"${near ? `; did you mean "${near}"?` : ''} (a grid varies ${Object.keys(GRID_KEYS).join(', ')})`,
      );
    }
    const key = name as GridKey;
    if (axes.some(([k]) => k === key)) fail(`${key} is given twice; list all its values in one entry`);
    const texts = entry
      .slice(eq + 1)
      .split(',')
      .map((s) => s.trim());
    const values = texts.map((t) => {
      const v = t === '' ? NaN : Number(t);
      if (!GRID_KEYS[key].ok(v)) fail(`${key} value "${t}" must be ${GRID_KEYS[key].rule}`);
      return v;
    });
    const repeated = values.find((v, i) => values.indexOf(v) !== i);
    if (repeated !== undefined) fail(`${key} value ${repeated} is listed twice`);
    axes.push([key, values]);
  }
  // Counted before the product is built: three long lists would else fill the memory first.
  const count = axes.reduce((n, [, values]) => n * values.length, 1);
  if (count > MAX_JOBS)
    throw new UsageError(
      `--grid makes ${count} combinations (${axes.map(([k, v]) => `${v.length} ${k}`).join(' x ')}); the limit is ${MAX_JOBS} jobs`,
    );
  let points: GridPoint[] = [{}];
  for (const [key, values] of axes) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  return points;
}

/** Throws a usage error giving the count when seeds x grid points would make more than MAX_JOBS jobs. */
export function checkJobCount(seeds: number, points: number): void {
  const jobs = seeds * points;
  if (jobs === 0) throw new UsageError('a sweep needs at least one seed and one grid point');
  if (jobs > MAX_JOBS) {
    throw new UsageError(
      `--seeds and --grid make ${jobs} jobs (${seeds} seed${seeds === 1 ? '' : 's'} x ${points} grid point${points === 1 ? '' : 's'}); the limit is ${MAX_JOBS}: split the sweep, or give fewer seeds or values`,
    );
  }
}

/** `learningRate=0.001 batchSize=64`, or `(defaults)` for the empty point. */
export function describePoint(point: GridPoint): string {
  const parts = Object.entries(point).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(' ') : '(defaults)';
}
