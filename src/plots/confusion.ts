/**
 * The confusion matrix as numbers (`confusionMatrix`, as `tf.math.confusion_matrix`: rows are the true labels,
 * columns the predictions) and as a figure (`plotConfusionMatrix`): the count in each cell on a colour scale
 * (matplotlib's Blues, with its colour bar), each class's accuracy on the right, the overall one in the title.
 *
 * @example
 * const probabilities = await model.predict(test.images);
 * await plotConfusionMatrix('confusion.png', test.labels, probabilities); // argmax of each row
 */
import { badOption, checkOptionKeys, checkPositiveInt, checkPositiveNumber } from '../errors.js';
import { checkSameLength, type Classes, type ClassesLike, toClasses } from './classes.js';
import { el, figureFormat, INK, svgOpen, textWidth, writeFigure } from './svg.js';

export interface ConfusionMatrixOptions {
  /**
   * The number of classes. Default: classNames.length, else the class count of a matrix input, else the largest
   * index + 1.
   */
  numClasses?: number;
}

export interface PlotConfusionMatrixOptions extends ConfusionMatrixOptions {
  /** A name per class, in index order (e.g. `['T-shirt', 'Trouser', ...]`). Default: the indices. */
  classNames?: readonly string[];
  /** Default: "Confusion matrix (accuracy 97.89%, 10000 samples)". */
  title?: string;
  /** PNG pixels per SVG unit. Default 2. */
  scale?: number;
}

const KNOWN = ['classNames', 'numClasses', 'title', 'scale'] as const;
// matplotlib's Blues (ColorBrewer), light to dark.
const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];

/**
 * Counts of (true label, prediction) pairs: `matrix[i][j]` samples of class i were predicted as class j.
 * `labels` and `predictions` are class indices, or matrices whose rows are reduced by argmax (probabilities,
 * one-hot rows).
 */
export function confusionMatrix(
  labels: ClassesLike,
  predictions: ClassesLike,
  options: ConfusionMatrixOptions = {},
): number[][] {
  checkOptionKeys('confusionMatrix', options, ['numClasses']);
  return count('confusionMatrix', labels, predictions, options).matrix;
}

/** The figure as an SVG document. See PlotConfusionMatrixOptions. */
export function confusionMatrixToSvg(
  labels: ClassesLike,
  predictions: ClassesLike,
  options: PlotConfusionMatrixOptions = {},
): string {
  return figure('confusionMatrixToSvg', labels, predictions, options);
}

/** Writes the figure to `file`: SVG for `.svg`, PNG for `.png`. Creates the parent directory. */
export async function plotConfusionMatrix(
  file: string,
  labels: ClassesLike,
  predictions: ClassesLike,
  options: PlotConfusionMatrixOptions = {},
): Promise<void> {
  figureFormat('plotConfusionMatrix', file);
  await writeFigure(
    'plotConfusionMatrix',
    file,
    figure('plotConfusionMatrix', labels, predictions, options),
    options.scale ?? 2,
  );
}

function count(
  owner: string,
  labelsIn: unknown,
  predictionsIn: unknown,
  o: PlotConfusionMatrixOptions,
): { matrix: number[][]; names: string[] } {
  const labels = toClasses(owner, 'labels', labelsIn);
  const predictions = toClasses(owner, 'predictions', predictionsIn);
  checkSameLength(owner, labels, predictions);
  const names = o.classNames;
  if (
    names !== undefined &&
    (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string'))
  ) {
    throw new TypeError(
      `${owner}: classNames must be a non-empty array of strings, one per class. Received: ${JSON.stringify(names)?.slice(0, 80)}`,
    );
  }
  if (o.numClasses !== undefined) checkPositiveInt(owner, 'numClasses', o.numClasses);
  if (names && o.numClasses !== undefined && names.length !== o.numClasses) {
    throw badOption(owner, 'numClasses', `equal to the length of classNames (${names.length})`, o.numClasses);
  }
  const k =
    names?.length ??
    o.numClasses ??
    Math.max(labels.columns ?? 0, predictions.columns ?? 0, max(labels) + 1, max(predictions) + 1);
  for (const [what, c] of [
    ['labels', labels],
    ['predictions', predictions],
  ] as const) {
    const bad = c.indices.findIndex((v) => v >= k);
    const classes = names
      ? `the ${k} classNames (${names[0]} ... ${names[k - 1]})`
      : `the ${k} classes (0 to ${k - 1})`;
    if (bad >= 0) throw new RangeError(`${owner}: ${what}[${bad}] = ${c.indices[bad]} is outside ${classes}`);
    if (c.columns !== undefined && c.columns !== k)
      throw new RangeError(`${owner}: ${what} has ${c.columns} columns (classes) but there are ${k} classes`);
  }
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < labels.indices.length; i++) matrix[labels.indices[i]][predictions.indices[i]]++;
  return { matrix, names: names ? [...names] : Array.from({ length: k }, (_, i) => String(i)) };
}

const max = (c: Classes) => c.indices.reduce((a, b) => Math.max(a, b), -1);

function figure(owner: string, labels: unknown, predictions: unknown, o: PlotConfusionMatrixOptions): string {
  checkOptionKeys(owner, o, KNOWN);
  if (o.title !== undefined && typeof o.title !== 'string')
    throw new TypeError(`${owner}: title must be a string. Received: ${JSON.stringify(o.title)}`);
  if (o.scale !== undefined) checkPositiveNumber(owner, 'scale', o.scale);
  const { matrix, names } = count(owner, labels, predictions, o);
  const k = names.length;
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((a, row, i) => a + row[i], 0);
  const title = o.title ?? `Confusion matrix (accuracy ${((100 * correct) / total).toFixed(2)}%, ${total} samples)`;
  const peak = Math.max(1, ...matrix.flat());

  const cell = Math.max(18, Math.min(44, 600 / k));
  const font = Math.min(11, cell * 0.3);
  const nameW = Math.max(...names.map((n) => textWidth(n, 11)));
  const rotate = nameW > cell - 4; // long class names go at 45 degrees below the matrix
  const left = 30 + nameW + 8;
  const top = 50;
  const size = k * cell;
  const bottom = top + size + (rotate ? nameW * 0.72 + 10 : 20);
  const accX = left + size + 16;
  const barX = accX + 78;
  const width = Math.max(barX + 14 + 8 + 7 * String(peak).length + 12, textWidth(title, 13.5) + 24);
  const height = bottom + 26;
  const y = (i: number) => top + i * cell;
  const x = (j: number) => left + j * cell;

  const cells = matrix.flatMap((row, i) =>
    row.map((n, j) => {
      const t = n / peak;
      const ink = n === 0 ? '#bbbbbb' : t > 0.5 ? '#ffffff' : INK;
      return [
        el('rect', {
          class: 'cell',
          'data-row': i,
          'data-col': j,
          x: x(j),
          y: y(i),
          width: cell,
          height: cell,
          fill: blues(t),
        }),
        el(
          'text',
          {
            class: 'count',
            x: x(j) + cell / 2,
            y: y(i) + cell / 2 + font * 0.36,
            'text-anchor': 'middle',
            'font-size': font,
            fill: ink,
          },
          String(n),
        ),
      ].join('');
    }),
  );
  const xNames = names.map((n, j) =>
    rotate
      ? el(
          'text',
          {
            class: 'x-tick',
            transform: `translate(${x(j) + cell / 2 + 3},${top + size + 8}) rotate(-45)`,
            'text-anchor': 'end',
          },
          n,
        )
      : el('text', { class: 'x-tick', x: x(j) + cell / 2, y: top + size + 15, 'text-anchor': 'middle' }, n),
  );
  const yNames = names.map((n, i) =>
    el('text', { class: 'y-tick', x: left - 6, y: y(i) + cell / 2 + 4, 'text-anchor': 'end' }, n),
  );
  const accuracy = matrix.map((row, i) => {
    const support = row.reduce((a, b) => a + b, 0);
    const a = support ? row[i] / support : NaN;
    const [bx, by, bw, bh] = [accX, y(i) + cell * 0.18, 64, cell * 0.64];
    return [
      el('rect', { x: bx, y: by, width: bw, height: bh, fill: '#eeeeee' }),
      support ? el('rect', { x: bx, y: by, width: bw * a, height: bh, fill: BLUES[3] }) : '',
      el(
        'text',
        { class: 'accuracy', 'data-row': i, x: bx + bw / 2, y: y(i) + cell / 2 + 4, 'text-anchor': 'middle' },
        support ? percent(a) : 'no samples',
      ),
    ].join('');
  });
  return [
    svgOpen(width, height),
    el('text', { class: 'title', x: width / 2, y: 22, 'text-anchor': 'middle', 'font-size': 13.5 }, title),
    ...cells,
    el('rect', { x: left, y: top, width: size, height: size, fill: 'none', stroke: INK, 'stroke-width': 0.9 }),
    ...xNames,
    ...yNames,
    el(
      'text',
      { class: 'x-label', x: left + size / 2, y: bottom + 14, 'text-anchor': 'middle', 'font-size': 12 },
      'Predicted label',
    ),
    el(
      'text',
      {
        class: 'y-label',
        transform: `translate(16,${top + size / 2}) rotate(-90)`,
        'text-anchor': 'middle',
        'font-size': 12,
      },
      'True label',
    ),
    el('text', { x: accX + 32, y: top - 8, 'text-anchor': 'middle' }, 'Accuracy'),
    ...accuracy,
    colourBar(barX, top, size, peak),
    '</svg>',
    '',
  ].join('\n');
}

/** A vertical gradient from 0 (bottom) to `peak` (top) with round-number ticks on its right. */
function colourBar(bx: number, top: number, h: number, peak: number): string {
  // The gradient runs bottom (offset 0, light) to top (offset 1, dark).
  const stops = BLUES.map((c, i) => `<stop offset="${(i / (BLUES.length - 1)).toFixed(3)}" stop-color="${c}"/>`);
  const ticks = niceTicks(peak).flatMap((t) => {
    const ty = top + h - (t / peak) * h;
    return [
      el('line', { x1: bx + 14, x2: bx + 18, y1: ty, y2: ty, stroke: INK, 'stroke-width': 0.9 }),
      el('text', { class: 'bar-tick', x: bx + 21, y: ty + 3.8 }, String(t)),
    ];
  });
  return [
    `<defs><linearGradient id="blues" x1="0" y1="1" x2="0" y2="0">${stops.join('')}</linearGradient></defs>`,
    el('rect', {
      class: 'colour-bar',
      x: bx,
      y: top,
      width: 14,
      height: h,
      fill: 'url(#blues)',
      stroke: INK,
      'stroke-width': 0.6,
    }),
    ...ticks,
  ].join('\n');
}

/** 0 and multiples of the smallest 1, 2 or 5 x 10^k step that gives at most 6 ticks up to `peak`. */
function niceTicks(peak: number): number[] {
  const mag = 10 ** Math.floor(Math.log10(peak / 5));
  const step = [1, 2, 5, 10].map((m) => Math.max(1, m * mag)).find((s) => Math.floor(peak / s) <= 5) ?? 10 * mag;
  return Array.from({ length: Math.floor(peak / step) + 1 }, (_, i) => i * step);
}

/** Blues at t in [0, 1], interpolated between its nine colours. */
function blues(t: number): string {
  const p = Math.min(1, Math.max(0, t)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(p));
  const [a, b] = [BLUES[i], BLUES[i + 1]].map((c) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)));
  return `#${a
    .map((v, c) =>
      Math.round(v + (b[c] - v) * (p - i))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

const percent = (v: number) => `${(100 * v).toFixed(v === 1 ? 0 : 1)}%`;
