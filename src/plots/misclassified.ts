/**
 * The chapter's look at its mistakes: which samples a classifier got wrong, and a grid of those images titled
 * "label 7, predicted 4 (0.71)" (the probability the model gave its wrong answer).
 *
 * @example
 * const first = test.images.sliceRows(0, 500);
 * const wrong = await plotMisclassified('wrong.png', first, test.labels.subarray(0, 500), await model.predict(first));
 * for (const m of wrong) console.log(`image ${m.index}: ${misclassifiedTitle(m)}`);
 */
import { checkOptionKeys, checkPositiveInt } from '../errors.js';
import { toClasses, type ClassesLike, type ScoresLike } from './classes.js';
import { toImageStack, selectImages, type ImagesLike } from './image-input.js';
import { gridSvg, IMAGES_OPTIONS, type ImagesOptions } from './images.js';
import { el, figureFormat, svgOpen, writeFigure } from './svg.js';

export interface Misclassified {
  /** The sample's row. */
  index: number;
  label: number;
  predicted: number;
  /** The probability (score) the model gave `predicted`. */
  probability: number;
}

export interface MisclassifiedOptions extends Omit<ImagesOptions, 'titles'> {
  /** Draw the first `limit` misclassified images only. Default: all of them. */
  limit?: number;
  /** Class names for the titles (`label Trouser, predicted Dress (0.71)`). Default: the indices. */
  classNames?: readonly string[];
}

const KNOWN = [...IMAGES_OPTIONS.filter((k) => k !== 'titles'), 'limit', 'classNames'];

/**
 * The samples whose argmax of `probabilities` (a row of class scores per sample) differs from `labels` (class
 * indices or one-hot rows), in row order.
 */
export function findMisclassified(labels: ClassesLike, probabilities: ScoresLike): Misclassified[] {
  return find('findMisclassified', labels, probabilities).wrong;
}

/** `label 7, predicted 4 (0.71)`, with class names if given. */
export function misclassifiedTitle(m: Misclassified, classNames?: readonly string[]): string {
  const name = (c: number) => classNames?.[c] ?? String(c);
  return `label ${name(m.label)}, predicted ${name(m.predicted)} (${m.probability.toFixed(2)})`;
}

/**
 * Draws the misclassified images (rows of `images`, matched one to one with `labels` and `probabilities`) to
 * `file` (.svg or .png) and returns them, all of them even when `limit` draws fewer. With no mistakes the file
 * says so.
 */
export async function plotMisclassified(
  file: string,
  images: ImagesLike,
  labels: ClassesLike,
  probabilities: ScoresLike,
  options: MisclassifiedOptions = {},
): Promise<Misclassified[]> {
  const owner = 'plotMisclassified';
  figureFormat(owner, file);
  checkOptionKeys(owner, options, KNOWN);
  const { limit, classNames, ...imageOptions } = options;
  if (limit !== undefined) checkPositiveInt(owner, 'limit', limit);
  if (classNames !== undefined && (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string'))) {
    throw new TypeError(
      `${owner}: classNames must be an array of strings, one per class. Received: ${JSON.stringify(classNames)?.slice(0, 80)}`,
    );
  }
  const stack = toImageStack(owner, images, imageOptions);
  const { wrong, count } = find(owner, labels, probabilities);
  if (stack.count !== count)
    throw new RangeError(`${owner}: there are ${stack.count} images but ${count} labels; they must match one to one`);
  const shown = wrong.slice(0, limit);
  const svg = shown.length
    ? gridSvg(
        owner,
        selectImages(
          stack,
          shown.map((m) => m.index),
        ),
        { ...imageOptions, titles: shown.map((m) => misclassifiedTitle(m, classNames)) },
      )
    : [
        svgOpen(420, 48),
        el(
          'text',
          { x: 210, y: 29, 'text-anchor': 'middle', 'font-size': 13 },
          `No misclassified images among ${stack.count}`,
        ),
        '</svg>',
        '',
      ].join('\n');
  await writeFigure(owner, file, svg, imageOptions.scale ?? 2);
  return wrong;
}

function find(owner: string, labelsIn: unknown, probabilitiesIn: unknown): { wrong: Misclassified[]; count: number } {
  const labels = toClasses(owner, 'labels', labelsIn).indices;
  const { indices: predicted, scores } = toClasses(owner, 'probabilities', probabilitiesIn);
  if (scores === undefined) {
    throw new RangeError(
      `${owner}: probabilities must have a row of class scores per sample (two or more columns), e.g. the output of a softmax model's predict`,
    );
  }
  if (labels.length !== scores.rows) {
    throw new RangeError(
      `${owner}: labels has ${labels.length} entries but probabilities has ${scores.rows} rows; they must match one to one`,
    );
  }
  const wrong: Misclassified[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= scores.cols)
      throw new RangeError(
        `${owner}: labels[${i}] = ${labels[i]} is outside the ${scores.cols} classes of probabilities (0 to ${scores.cols - 1})`,
      );
    if (predicted[i] !== labels[i])
      wrong.push({ index: i, label: labels[i], predicted: predicted[i], probability: scores.get(i, predicted[i]) });
  }
  return { wrong, count: labels.length };
}
