/**
 * The sweep's figure, in the style of the history plots: on the left every job's validation metric by epoch
 * (one line per job, one colour per grid point), on the right each grid point's final values, one dot per
 * seed, with their mean (a bar) and range (a vertical line): the seeds' spread.
 */
import { axis, type Axis } from '../plot.js';
import { el, INK, r, svgOpen, writeFigure } from '../plots/svg.js';
import { describePoint, type GridPoint } from './grid.js';

export interface PlottedJob {
  point: GridPoint;
  seed: number;
  /** The monitored metric, one value per epoch. */
  values: number[];
}

// matplotlib's tab10
const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const [W, H] = [520, 360];
const BOX = { left: 70, top: 34, right: 18, bottom: 70 };

export function sweepSvg(jobs: readonly PlottedJob[], monitor: string): string {
  const points = [...new Set(jobs.map((j) => describePoint(j.point)))];
  const color = (j: PlottedJob) => COLORS[points.indexOf(describePoint(j.point)) % COLORS.length];
  const all = jobs.flatMap((j) => j.values).filter(Number.isFinite);
  const ys = all.length > 0 ? axis(Math.min(...all), Math.max(...all), false, 8) : axis(0, 1, false, 8);
  const epochs = Math.max(1, ...jobs.map((j) => j.values.length));
  const left = frame(0, `${monitor} by epoch, each job`, axis(1, epochs, true, 7), ys, 'Epoch', (px, py) =>
    jobs.map((j) => {
      const d = j.values
        .map((v, i) => (Number.isFinite(v) ? `${i === 0 ? 'M' : 'L'}${r(px(i + 1))},${r(py(v))}` : ''))
        .join('');
      return el('path', {
        class: 'job',
        'data-seed': j.seed,
        d,
        fill: 'none',
        stroke: color(j),
        'stroke-width': 1.2,
        'stroke-opacity': 0.8,
      });
    }),
  );
  const xs: Axis = {
    lo: -0.5,
    hi: points.length - 0.5,
    ticks: points.map((_, i) => i),
    format: (i) => shorten(points[i] ?? ''),
  };
  // Its own scale: the final values' spread is far narrower than the first epochs' range.
  const finalValues = jobs.map((j) => j.values[j.values.length - 1]).filter(Number.isFinite);
  const fs = finalValues.length > 0 ? axis(Math.min(...finalValues), Math.max(...finalValues), false, 8) : ys;
  const right = frame(W, `final ${monitor}: the seeds' spread`, xs, fs, 'Grid point', (px, py) =>
    points.flatMap((p, i) => {
      const finals = jobs
        .filter((j) => describePoint(j.point) === p)
        .map((j) => j.values[j.values.length - 1])
        .filter(Number.isFinite);
      if (finals.length === 0) return [];
      const mean = finals.reduce((a, b) => a + b, 0) / finals.length;
      const c = COLORS[i % COLORS.length];
      return [
        el('line', {
          class: 'range',
          x1: px(i),
          x2: px(i),
          y1: py(Math.min(...finals)),
          y2: py(Math.max(...finals)),
          stroke: c,
          'stroke-width': 1.2,
        }),
        el('line', {
          class: 'mean',
          x1: px(i) - 14,
          x2: px(i) + 14,
          y1: py(mean),
          y2: py(mean),
          stroke: INK,
          'stroke-width': 1.6,
        }),
        // Seeds spread sideways a little, in seed order, so equal values stay visible.
        ...finals.map((v, k) =>
          el('circle', {
            class: 'seed',
            cx: px(i) + (finals.length > 1 ? (k / (finals.length - 1) - 0.5) * 16 : 0),
            cy: py(v),
            r: 2.8,
            fill: c,
            'fill-opacity': 0.8,
          }),
        ),
      ];
    }),
  );
  return [svgOpen(2 * W, H), left, right, '</svg>', ''].join('\n');
}

export async function plotSweep(jobs: readonly PlottedJob[], monitor: string, file: string): Promise<void> {
  await writeFigure('lockstep sweep --plot', file, sweepSvg(jobs, monitor), 2);
}

function shorten(s: string): string {
  return s.length > 26 ? `${s.slice(0, 25)}…` : s;
}

type Draw = (px: (x: number) => number, py: (y: number) => number) => string[];

function frame(x0: number, title: string, xs: Axis, ys: Axis, xLabel: string, draw: Draw): string {
  const w = W - BOX.left - BOX.right;
  const h = H - BOX.top - BOX.bottom;
  const px = (x: number) => BOX.left + ((x - xs.lo) / (xs.hi - xs.lo)) * w;
  const py = (y: number) => BOX.top + h - ((y - ys.lo) / (ys.hi - ys.lo)) * h;
  const line = { stroke: INK, 'stroke-width': 0.9 };
  return [
    `<g class="panel" transform="translate(${x0},0)">`,
    el('text', { x: BOX.left + w / 2, y: BOX.top - 12, 'text-anchor': 'middle', 'font-size': 13.5 }, title),
    ...ys.ticks.map((t) =>
      el('line', { x1: BOX.left, x2: BOX.left + w, y1: py(t), y2: py(t), stroke: '#e8e8e8', 'stroke-width': 0.8 }),
    ),
    ...draw(px, py),
    el('rect', { x: BOX.left, y: BOX.top, width: w, height: h, fill: 'none', ...line }),
    ...ys.ticks.map((t) => el('text', { x: BOX.left - 7, y: py(t) + 3.8, 'text-anchor': 'end' }, ys.format(t))),
    ...xs.ticks.map((t) => el('text', { x: px(t), y: BOX.top + h + 16, 'text-anchor': 'middle' }, xs.format(t))),
    el('text', { x: BOX.left + w / 2, y: H - 22, 'text-anchor': 'middle', 'font-size': 12 }, xLabel),
    '</g>',
  ].join('\n');
}
