/**
 * Training-history figures: one panel per metric (loss first), training and validation curves together,
 * drawn as hand-written SVG in matplotlib's plain style. PNG output renders that SVG with @resvg/resvg-js.
 *
 * @example
 * const history = await model.fit(x, y, { epochs: 200, validationSplit: 0.2 });
 * await plotHistory(history.history, 'hitters.png');
 */
import { el, esc, figureFormat, INK, r, svgOpen, writeFigure } from './plots/svg.js';
import { checkOptionKeys, checkPositiveInt, checkPositiveNumber, own } from './errors.js';

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
const MARGIN = { right: 18, top: 34, bottom: 46 };
const DIGIT_WIDTH = 7; // DejaVu Sans digits at 11px
const ABBREVIATIONS = new Set(['mae', 'mse', 'mape', 'rmse', 'msle', 'auc']);
const NAMES: Record<string, string> = { lr: 'learning rate', acc: 'accuracy' };
const GRID = { stroke: '#e8e8e8', 'stroke-width': 0.8 };
const LINE = { stroke: INK, 'stroke-width': 0.9 };
const LABEL = { 'text-anchor': 'middle', 'font-size': 12 };

/** The figure as an SVG document. Accepts a Keras-style `{ loss: [...], val_loss: [...], ... }`. */
export function historyToSvg(history: History | { history: History }, options: PlotOptions = {}): string {
  checkPlotOptions(options);
  const h = checkHistory(history);
  const { panelWidth: W = 460, panelHeight: H = 340 } = options;
  const metrics = panelNames(h);
  const cols = options.columns ?? Math.min(metrics.length, 3);
  const [width, height] = [cols * W, Math.ceil(metrics.length / cols) * H];
  return [
    svgOpen(width, height),
    ...metrics.map((m, i) => panel(h, m, (i % cols) * W, Math.floor(i / cols) * H, W, H)),
    `</svg>`,
    '',
  ].join('\n');
}

/** Writes the figure to `file`: SVG for `.svg`, PNG for `.png`. Creates the parent directory. */
function checkPlotOptions(options: PlotOptions): void {
  checkOptionKeys('plotHistory', options, ['panelWidth', 'panelHeight', 'columns', 'scale']);
  for (const k of ['panelWidth', 'panelHeight', 'scale'] as const)
    if (options[k] !== undefined) checkPositiveNumber('plotHistory', k, options[k]);
  if (options.columns !== undefined) checkPositiveInt('plotHistory', 'columns', options.columns);
}

export async function plotHistory(
  history: History | { history: History },
  file: string,
  options: PlotOptions = {},
): Promise<void> {
  figureFormat('plotHistory', file);
  await writeFigure('plotHistory', file, historyToSvg(history, options), options.scale ?? 2);
}

function checkHistory(history: unknown): History {
  const h = isRecord(history) && isRecord(history.history) ? history.history : history;
  if (!isRecord(h) || Object.keys(h).length === 0) {
    throw new Error(
      `plotHistory: history must be an object of metric arrays, e.g. { loss: [...] }. Received: ${JSON.stringify(h)}`,
    );
  }
  for (const [k, v] of Object.entries(h)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' || x === null)) {
      throw new Error(
        `plotHistory: history.${k} must be an array of numbers. Received: ${JSON.stringify(v)?.slice(0, 80)}`,
      );
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

type Point = [number, number];
type Series = { key: string; label: string; color: string; points: Point[] };

function panel(h: History, metric: string, x0: number, y0: number, W: number, H: number): string {
  const series: Series[] = [
    { key: metric, label: 'Training', color: TRAIN_COLOR, points: [] },
    { key: `val_${metric}`, label: 'Validation', color: VAL_COLOR, points: [] },
  ].filter((s) => h[s.key] !== undefined);
  // null (NaN through JSON) counts as NaN: a gap in the line.
  for (const s of series) s.points = h[s.key].map((v, i): Point => [i + 1, v ?? NaN]);
  const finite = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const epochs = Math.max(1, ...series.map((s) => s.points.length));
  const xs = axis(1, epochs, true, 7);
  const ys = finite.length
    ? axis(Math.min(...finite.map((p) => p[1])), Math.max(...finite.map((p) => p[1])), false, 8)
    : axis(0, 1, false, 8);

  // Room for the longest y tick label, then the rotated y label.
  const labelWidth = Math.max(...ys.ticks.map((t) => ys.format(t).length)) * DIGIT_WIDTH;
  const box = { left: Math.round(labelWidth + 34), top: MARGIN.top, w: 0, h: H - MARGIN.top - MARGIN.bottom };
  box.w = W - box.left - MARGIN.right;
  const px = (x: number) => box.left + ((x - xs.lo) / (xs.hi - xs.lo)) * box.w;
  const py = (y: number) => box.top + box.h - ((y - ys.lo) / (ys.hi - ys.lo)) * box.h;

  const what = pretty(metric);
  const only = series.length === 1 ? series[0].label : '';
  const title =
    only === 'Training'
      ? capitalize(what)
      : only === 'Validation'
        ? `Validation ${what}`
        : `Training and validation ${what}`;
  const [center, mid] = [box.left + box.w / 2, box.top + box.h / 2];
  return [
    `<g class="panel" data-metric="${esc(metric)}" transform="translate(${x0},${y0})">`,
    el('text', { class: 'title', x: center, y: box.top - 12, 'text-anchor': 'middle', 'font-size': 13.5 }, title),
    ...ys.ticks.map((t) =>
      el('line', { class: 'grid', x1: box.left, x2: box.left + box.w, y1: py(t), y2: py(t), ...GRID }),
    ),
    ...xs.ticks.map((t) =>
      el('line', { class: 'grid', x1: px(t), x2: px(t), y1: box.top, y2: box.top + box.h, ...GRID }),
    ),
    ...series.map((s) => curve(s, px, py, epochs <= 30)),
    el('rect', { class: 'frame', x: box.left, y: box.top, width: box.w, height: box.h, fill: 'none', ...LINE }),
    ...ticks(xs, ys, box, px, py),
    el('text', { class: 'x-label', x: center, y: box.top + box.h + 35, ...LABEL }, 'Epoch'),
    el(
      'text',
      { class: 'y-label', transform: `translate(${r(box.left - labelWidth - 20)},${r(mid)}) rotate(-90)`, ...LABEL },
      capitalize(what),
    ),
    legend(
      series,
      finite.map(([x, y]) => [px(x), py(y)]),
      box,
    ),
    '</g>',
  ].join('\n');
}

type Box = { left: number; top: number; w: number; h: number };

/** The x ticks (below the frame) and y ticks (left of it) with their labels. */
function ticks(xs: Axis, ys: Axis, box: Box, px: (x: number) => number, py: (y: number) => number): string[] {
  const bottom = box.top + box.h;
  return [
    ...xs.ticks.flatMap((t) => [
      el('line', { class: 'tick', x1: px(t), x2: px(t), y1: bottom, y2: bottom + 4, ...LINE }),
      el('text', { class: 'x-tick', x: px(t), y: bottom + 16, 'text-anchor': 'middle' }, xs.format(t)),
    ]),
    ...ys.ticks.flatMap((t) => [
      el('line', { class: 'tick', x1: box.left - 4, x2: box.left, y1: py(t), y2: py(t), ...LINE }),
      el('text', { class: 'y-tick', x: box.left - 7, y: py(t) + 3.8, 'text-anchor': 'end' }, ys.format(t)),
    ]),
  ];
}

/** One series as a polyline; a NaN or Infinity ends a segment, as in matplotlib. Few epochs also get dots. */
function curve(s: Series, px: (x: number) => number, py: (y: number) => number, dots: boolean): string {
  let d = '';
  let pen = false;
  for (const [x, y] of s.points) {
    if (Number.isFinite(y)) d += `${pen ? 'L' : 'M'}${r(px(x))},${r(py(y))}`;
    pen = Number.isFinite(y);
  }
  const style = {
    fill: 'none',
    stroke: s.color,
    'stroke-width': 1.6,
    'stroke-linejoin': 'round',
    'stroke-linecap': 'round',
  };
  const path = el('path', { class: 'series', 'data-series': s.key, d, ...style });
  if (!dots) return path;
  // A line alone hides a single point, so with few epochs each one is marked.
  const marks = s.points
    .filter(([, y]) => Number.isFinite(y))
    .map(([x, y]) => el('circle', { cx: px(x), cy: py(y), r: 2.6, fill: s.color }));
  return [path, ...marks].join('\n');
}

/** Legend in the corner that covers the fewest data points (matplotlib's loc='best'), upper right first. */
function legend(series: Series[], pts: Point[], box: Box): string {
  const [bw, bh, pad] = [96, 8 + 17 * series.length, 8];
  const [left, right, top, bottom] = [
    box.left + pad,
    box.left + box.w - bw - pad,
    box.top + pad,
    box.top + box.h - bh - pad,
  ];
  const corners: Point[] = [
    [right, top],
    [left, top],
    [left, bottom],
    [right, bottom],
  ];
  const covered = ([x, y]: Point) =>
    pts.filter(([a, b]) => a >= x - 4 && a <= x + bw + 4 && b >= y - 4 && b <= y + bh + 4).length;
  const [x, y] = corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
  const frame = { rx: 3, fill: '#ffffff', 'fill-opacity': 0.85, stroke: '#cccccc', 'stroke-width': 0.8 };
  const rows = series.flatMap((s, i) => {
    const cy = y + 12.5 + 17 * i;
    const sample = el('line', { x1: x + 8, x2: x + 30, y1: cy, y2: cy, stroke: s.color, 'stroke-width': 1.8 });
    return [sample, el('text', { x: x + 37, y: cy + 3.8 }, s.label)];
  });
  return `<g class="legend">${el('rect', { x, y, width: bw, height: bh, ...frame })}${rows.join('')}</g>`;
}

export interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  format: (v: number) => string;
}

/**
 * Limits with matplotlib's 5% margins; ticks at the finest step of 1, 2, 2.5 or 5 x 10^k that gives at most `maxTicks`.
 */
export function axis(min: number, max: number, integer: boolean, maxTicks: number): Axis {
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
  const exponent = Math.floor(Math.log10(s) + 1e-9);
  const decimals = Math.max(0, -exponent + (Math.abs(s / 10 ** exponent - 2.5) < 1e-9 ? 1 : 0));
  // Typographic minus, as matplotlib draws it; '-0.0' is shown as '0.0'.
  return (v) => `${(v / div).toFixed(decimals).replace(/^-(0\.?0*)$/, '$1')}${suffix}`.replace('-', '\u2212');
}

/** 'mean_absolute_error' → 'mean absolute error', 'mae' → 'MAE'. */
function pretty(metric: string): string {
  return ABBREVIATIONS.has(metric) ? metric.toUpperCase() : (own(NAMES, metric) ?? metric.replace(/_/g, ' '));
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
