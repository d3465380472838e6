/**
 * The sweep's summary: a table of the done jobs sorted by the validation metric (best first), the failed
 * jobs with their errors, and, where a grid point ran several seeds, the seeds' spread.
 */
import { autoMode } from '../callbacks/monitor.js';
import { pyFormat } from '../callbacks/format.js';
import { describePoint, type GridPoint } from './grid.js';
import type { StoredFailure, StoredResult } from './store.js';

/** The log key the table sorts by: the first validation metric, else val_loss, else loss. */
export function monitorOf(results: readonly StoredResult[]): string {
  const keys = results.length > 0 ? Object.keys(results[0].metrics) : [];
  return (
    keys.find((k) => k.startsWith('val_') && k !== 'val_loss') ??
    (keys.includes('val_loss') ? 'val_loss' : keys.includes('loss') ? 'loss' : (keys[0] ?? 'loss'))
  );
}

/** The done jobs, best first by `monitor` (Keras's 'auto' direction); ties keep the id order. */
export function rank(results: readonly StoredResult[], monitor: string): StoredResult[] {
  const sign = autoMode(monitor) === 'max' ? -1 : 1;
  // A job without a finite value sorts last either way.
  const value = (r: StoredResult) => (Number.isFinite(r.metrics[monitor]) ? r.metrics[monitor] : sign * Infinity);
  return [...results].sort((a, b) => sign * (value(a) - value(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const num = (v: number | undefined) =>
  v === undefined ? '-' : Math.abs(v) < 1e-3 && v !== 0 ? pyFormat(v, '.3e') : pyFormat(v, '.4f');

/** What the notes column says: a continued run, a re-run that matched or not. */
function notes(r: StoredResult): string {
  const parts: string[] = [];
  if (r.resumedFromEpoch !== undefined) parts.push(`continued from epoch ${r.resumedFromEpoch}`);
  if (r.recheck)
    parts.push(
      r.recheck.same
        ? 're-run: same bits'
        : `RE-RUN DIFFERS (weights ${r.recheck.weightsHash.slice(0, 12)} on ${r.recheck.host})`,
    );
  return parts.join('; ');
}

/** The summary as text lines. */
export function summaryLines(results: readonly StoredResult[], failures: readonly StoredFailure[]): string[] {
  const lines: string[] = [];
  const monitor = monitorOf(results);
  const keys = gridKeys(results.map((r) => r.point));
  if (results.length > 0) {
    const extra = ['val_loss', 'loss'].filter((k) => k !== monitor && k in results[0].metrics);
    const header = ['#', 'seed', ...keys, monitor, ...extra, 'weights', 'notes'];
    const rows = rank(results, monitor).map((r, i) => [
      String(i + 1),
      String(r.seed),
      ...keys.map((k) => (r.point[k] === undefined ? '-' : String(r.point[k]))),
      num(r.metrics[monitor]),
      ...extra.map((k) => num(r.metrics[k])),
      r.weightsHash.slice(0, 12),
      notes(r),
    ]);
    lines.push(
      `${results.length} job${results.length === 1 ? '' : 's'} done, best ${autoMode(monitor) === 'max' ? 'highest' : 'lowest'} ${monitor} first:`,
    );
    lines.push(...table([header, ...rows]));
  }
  if (failures.length > 0) {
    lines.push(`${failures.length} job${failures.length === 1 ? '' : 's'} failed:`);
    for (const f of failures) lines.push(`  seed ${f.seed} ${describePoint(f.point)} (${f.id}): ${f.error}`);
  }
  lines.push(...spreadLines(results, monitor));
  // lockstep's bits are the same on any worker count, not across CPU architectures or library versions.
  const platforms = new Map<string, number>();
  for (const r of results) {
    const f = r.fingerprint;
    const key = `lockstep ${f.lockstep}, tfjs ${f.tfjs}, Node ${f.node}, ${f.arch}`;
    platforms.set(key, (platforms.get(key) ?? 0) + 1);
  }
  if (platforms.size > 1) {
    lines.push(
      `Note: the jobs ran on ${platforms.size} different platforms (${[...platforms].map(([k, n]) => `${n} on ${k}`).join('; ')}); a job re-run on another one may give other bits`,
    );
  }
  const differ = results.filter((r) => r.recheck && !r.recheck.same);
  if (differ.length > 0)
    lines.push(
      `WARNING: ${differ.length} job${differ.length === 1 ? '' : 's'} gave other weights when run again: see "RE-RUN DIFFERS" above`,
    );
  return lines;
}

export interface Spread {
  point: GridPoint;
  seeds: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** Per grid point with 2 or more seeds: the mean, standard deviation (n - 1), min and max of `monitor`. */
export function seedSpread(results: readonly StoredResult[], monitor: string): Spread[] {
  const groups = new Map<string, StoredResult[]>();
  for (const r of results) {
    const key = describePoint(r.point);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: Spread[] = [];
  for (const group of groups.values()) {
    const v = group.map((r) => r.metrics[monitor]).filter(Number.isFinite);
    if (v.length < 2) continue;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
    out.push({ point: group[0].point, seeds: v.length, mean, std, min: Math.min(...v), max: Math.max(...v) });
  }
  return out;
}

function spreadLines(results: readonly StoredResult[], monitor: string): string[] {
  return seedSpread(results, monitor).map(
    (s) =>
      `Seeds' spread of ${monitor} at ${describePoint(s.point)}: mean ${num(s.mean)}, std ${num(s.std)}, min ${num(s.min)}, max ${num(s.max)} over ${s.seeds} seeds`,
  );
}

/** The grid keys present in any point, in a fixed order. */
export function gridKeys(points: readonly GridPoint[]): (keyof GridPoint)[] {
  const keys = new Set<keyof GridPoint>();
  for (const p of points) for (const k of Object.keys(p)) keys.add(k as keyof GridPoint);
  return [...keys];
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map(
    (row) =>
      `  ${row
        .map((cell, c) => (c === 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd()}`,
  );
}
