/**
 * Training-history figures: one panel per metric (loss first), training and validation curves together,
 * drawn as hand-written SVG in matplotlib's plain style. PNG output renders that SVG with @resvg/resvg-js.
 *
 * @example
 * const history = await model.fit(x, y, { epochs: 200, validationSplit: 0.2 });
 * await plotHistory(history.history, 'hitters.png');
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';

export type History = Record<string, Array<number | null>>;

export interface PlotOptions {
  /** Size of one panel in pixels (SVG units). Default 460 x 340. */
  panelWidth?: number;
  panelHeight?: number;
  /** Panels per row. Default: all in one row, up to 3. */
  columns?: number;
  /** PNG only: pixels per SVG unit. Default 2. */
  scale?: number;
}

const TRAIN_COLOR = '#1f77b4'; // matplotlib tab:blue
const VAL_COLOR = '#ff7f0e'; // matplotlib tab:orange
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
const MARGIN = { right: 18, top: 34, bottom: 46 };
const DIGIT_WIDTH = 7; // DejaVu Sans digits at 11px
const ABBREVIATIONS = new Set(['mae', 'mse', 'mape', 'rmse', 'msle', 'auc']);
const NAMES: Record<string, string> = { lr: 'learning rate', acc: 'accuracy' };

/** The figure as an SVG document. Accepts a Keras-style `{ loss: [...], val_loss: [...], ... }`. */
export function historyToSvg(history: History | { history: History }, options: PlotOptions = {}): string {
  const h = checkHistory(history);
  const { panelWidth: W = 460, panelHeight: H = 340 } = options;
  const metrics = panelNames(h);
  const cols = options.columns ?? Math.min(metrics.length, 3);
  const rows = Math.ceil(metrics.length / cols);
  const panels = metrics.map((m, i) => panel(h, m, (i % cols) * W, Math.floor(i / cols) * H, W, H));
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${rows * H}" viewBox="0 0 ${cols * W} ${rows * H}" font-family="${FONT}" font-size="11" fill="#262626">`,
    `<rect width="${cols * W}" height="${rows * H}" fill="#ffffff"/>`,
    ...panels,
    `</svg>`,
    '',
  ].join('\n');
}

/** Writes the figure to `file`: SVG for `.svg`, PNG for `.png`. Creates the parent directory. */
export async function plotHistory(history: History | { history: History }, file: string, options: PlotOptions = {}): Promise<void> {
  const ext = typeof file === 'string' ? extname(file).toLowerCase() : '';
  if (ext !== '.svg' && ext !== '.png') throw new Error(`plotHistory: file must end in .svg or .png. Received: ${JSON.stringify(file)}`);
  const svg = historyToSvg(history, options);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, ext === '.svg' ? svg : await renderPng(svg, options.scale ?? 2));
}

async function renderPng(svg: string, scale: number): Promise<Uint8Array> {
  let resvg: typeof import('@resvg/resvg-js');
  try {
    resvg = await import('@resvg/resvg-js');
  } catch (err) {
    throw new Error(`plotHistory: PNG output needs the @resvg/resvg-js package (npm install @resvg/resvg-js), or write an .svg file instead. Cause: ${(err as Error).message}`);
  }
  const r = new resvg.Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}

function checkHistory(history: unknown): History {
  const h = isRecord(history) && isRecord(history.history) ? history.history : history;
  if (!isRecord(h) || Object.keys(h).length === 0) throw new Error(`plotHistory: history must be an object of metric arrays, e.g. { loss: [...] }. Received: ${JSON.stringify(h)}`);
  for (const [k, v] of Object.entries(h)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' || x === null)) {
      throw new Error(`plotHistory: history.${k} must be an array of numbers. Received: ${JSON.stringify(v)?.slice(0, 80)}`);
    }
  }
  return h as History;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Metric names without `val_`, loss first, then in the order fit logged them. */
function panelNames(h: History): string[] {
  const names = [...new Set(Object.keys(h).map((k) => k.replace(/^val_/, '')))];
  return names.includes('loss') ? ['loss', ...names.filter((n) => n !== 'loss')] : names;
}

function panel(h: History, metric: string, x0: number, y0: number, W: number, H: number): string {
  const series = [
    { key: metric, label: 'Training', color: TRAIN_COLOR },
    { key: `val_${metric}`, label: 'Validation', color: VAL_COLOR },
  ].filter((s) => h[s.key] !== undefined);
  const points = series.map((s) => h[s.key].map((v, i) => [i + 1, v] as [number, number | null]));
  const finite = points.flat().filter((p): p is [number, number] => p[1] !== null && Number.isFinite(p[1]));
  const epochs = Math.max(1, ...points.map((p) => p.length));
  const xs = axis(1, epochs, true, 7);
  const ys = finite.length ? axis(Math.min(...finite.map((p) => p[1])), Math.max(...finite.map((p) => p[1])), false, 8) : axis(0, 1, false, 8);

  // Room for the longest y tick label, then the rotated y label.
  const labelWidth = Math.max(...ys.ticks.map((t) => ys.format(t).length)) * DIGIT_WIDTH;
  const left = Math.round(labelWidth + 34);
  const top = MARGIN.top;
  const w = W - left - MARGIN.right;
  const ht = H - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => left + ((x - xs.lo) / (xs.hi - xs.lo)) * w;
  const py = (y: number) => top + ht - ((y - ys.lo) / (ys.hi - ys.lo)) * ht;

  const out: string[] = [`<g class="panel" data-metric="${esc(metric)}" transform="translate(${x0},${y0})">`];
  const what = pretty(metric);
  const title = series.length === 2 ? `Training and validation ${what}` : series[0].label === 'Training' ? capitalize(what) : `Validation ${what}`;
  out.push(`<text class="title" x="${r(left + w / 2)}" y="${r(top - 12)}" text-anchor="middle" font-size="13.5">${esc(title)}</text>`);
  for (const t of ys.ticks) out.push(`<line class="grid" x1="${left}" x2="${left + w}" y1="${r(py(t))}" y2="${r(py(t))}" stroke="#e8e8e8" stroke-width="0.8"/>`);
  for (const t of xs.ticks) out.push(`<line class="grid" x1="${r(px(t))}" x2="${r(px(t))}" y1="${top}" y2="${top + ht}" stroke="#e8e8e8" stroke-width="0.8"/>`);
  series.forEach((s, i) => {
    out.push(`<path class="series" data-series="${esc(s.key)}" d="${pathData(points[i], px, py)}" fill="none" stroke="${s.color}" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"/>`);
    // With few epochs a line alone hides single points, so mark each epoch.
    if (epochs <= 30) for (const [x, y] of points[i]) if (y !== null && Number.isFinite(y)) out.push(`<circle cx="${r(px(x))}" cy="${r(py(y))}" r="2.6" fill="${s.color}"/>`);
  });
  out.push(`<rect class="frame" x="${left}" y="${top}" width="${w}" height="${ht}" fill="none" stroke="#262626" stroke-width="0.9"/>`);
  for (const t of xs.ticks) {
    out.push(`<line class="tick" x1="${r(px(t))}" x2="${r(px(t))}" y1="${top + ht}" y2="${top + ht + 4}" stroke="#262626" stroke-width="0.9"/>`);
    out.push(`<text class="x-tick" x="${r(px(t))}" y="${top + ht + 16}" text-anchor="middle">${xs.format(t)}</text>`);
  }
  for (const t of ys.ticks) {
    out.push(`<line class="tick" x1="${left - 4}" x2="${left}" y1="${r(py(t))}" y2="${r(py(t))}" stroke="#262626" stroke-width="0.9"/>`);
    out.push(`<text class="y-tick" x="${left - 7}" y="${r(py(t) + 3.8)}" text-anchor="end">${ys.format(t)}</text>`);
  }
  out.push(`<text class="x-label" x="${r(left + w / 2)}" y="${top + ht + 35}" text-anchor="middle" font-size="12">Epoch</text>`);
  out.push(`<text class="y-label" transform="translate(${r(left - labelWidth - 20)},${r(top + ht / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${esc(capitalize(what))}</text>`);
  out.push(legend(series, finite.map(([x, y]) => [px(x), py(y)]), left, top, w, ht));
  out.push('</g>');
  return out.join('\n');
}

/** Polyline through finite points; a NaN, Infinity or null ends the segment (as matplotlib does). */
function pathData(points: Array<[number, number | null]>, px: (x: number) => number, py: (y: number) => number): string {
  let d = '';
  let pen = false;
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${r(px(x))},${r(py(y))}`;
    pen = true;
  }
  return d;
}

/** Legend in the corner that covers the fewest data points (matplotlib's loc='best'), upper right first. */
function legend(series: Array<{ label: string; color: string }>, pts: number[][], left: number, top: number, w: number, ht: number): string {
  const bw = 96;
  const bh = 8 + 17 * series.length;
  const pad = 8;
  const corners = [
    [left + w - bw - pad, top + pad],
    [left + pad, top + pad],
    [left + pad, top + ht - bh - pad],
    [left + w - bw - pad, top + ht - bh - pad],
  ];
  const covered = ([x, y]: number[]) => pts.filter(([a, b]) => a >= x - 4 && a <= x + bw + 4 && b >= y - 4 && b <= y + bh + 4).length;
  const [x, y] = corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
  const rows = series.map((s, i) => {
    const cy = y + 12.5 + 17 * i;
    return `<line x1="${r(x + 8)}" x2="${r(x + 30)}" y1="${r(cy)}" y2="${r(cy)}" stroke="${s.color}" stroke-width="1.8"/><text x="${r(x + 37)}" y="${r(cy + 3.8)}">${s.label}</text>`;
  });
  return `<g class="legend"><rect x="${r(x)}" y="${r(y)}" width="${bw}" height="${bh}" rx="3" fill="#ffffff" fill-opacity="0.85" stroke="#cccccc" stroke-width="0.8"/>${rows.join('')}</g>`;
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  format: (v: number) => string;
}

/** Limits with matplotlib's 5% margins; ticks at the finest step of 1, 2, 2.5 or 5 x 10^k that gives at most `maxTicks`. */
function axis(min: number, max: number, integer: boolean, maxTicks: number): Axis {
  if (max === min) {
    const d = integer ? 1 : Math.abs(min) * 0.1 || 1;
    [min, max] = [min - d, max + d];
  }
  const lo = min - 0.05 * (max - min);
  const hi = max + 0.05 * (max - min);
  const count = (s: number) => Math.floor(hi / s + 1e-9) - Math.ceil(lo / s - 1e-9) + 1;
  const mag = 10 ** Math.floor(Math.log10((hi - lo) / maxTicks));
  const nice = [1, 2, 2.5, 5, 10, 20, 25, 50, 100].map((m) => m * mag);
  const steps = integer ? nice.filter((s) => s >= 1 && Math.abs(s - Math.round(s)) < 1e-9).map(Math.round) : nice;
  const step = steps.find((s) => count(s) <= maxTicks) ?? Math.max(1, 100 * mag);
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(i === 0 ? 0 : i * step);
  return { lo, hi, ticks, format: formatter(ticks, step) };
}

/** Tick labels: as many decimals as the step needs; k/M/G for large values; exponents for tiny ones. */
function formatter(ticks: number[], step: number): (v: number) => string {
  const big = Math.max(...ticks.map(Math.abs));
  if (big > 0 && big < 1e-3) return (v) => (v === 0 ? '0' : v.toExponential(1));
  const [div, suffix] = big >= 1e9 ? [1e9, 'G'] : big >= 1e6 ? [1e6, 'M'] : big >= 1e4 ? [1e3, 'k'] : [1, ''];
  const s = step / div;
  const decimals = Math.max(0, -Math.floor(Math.log10(s) + 1e-9) + (Math.abs(s / 10 ** Math.floor(Math.log10(s) + 1e-9) - 2.5) < 1e-9 ? 1 : 0));
  return (v) => `${(v / div).toFixed(decimals).replace(/^-(0\.?0*)$/, '$1')}${suffix}`.replace('-', '\u2212');
}

/** 'mean_absolute_error' → 'mean absolute error', 'mae' → 'MAE'. */
function pretty(metric: string): string {
  return ABBREVIATIONS.has(metric) ? metric.toUpperCase() : (NAMES[metric] ?? metric.replace(/_/g, ' '));
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const r = (v: number) => Math.round(v * 100) / 100;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
