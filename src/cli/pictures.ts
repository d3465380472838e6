/**
 * The pictures `predict --misclassified` and `evaluate --confusion` draw: the rows a classifier got wrong, and
 * its confusion matrix. Each checks what it can before the data is scored, so a bad flag costs nothing.
 */
import { extname } from 'node:path';
import { Matrix, plotConfusionMatrix, plotMisclassified, type Model } from '../index.js';
import { onlyOutput } from '../model.js';
import { pyFormat } from '../callbacks/format.js';
import { MISCLASSIFIED_DEFAULT_LIMIT } from './catalog.js';
import type { Dataset } from './data.js';
import { classNamesOf } from './predictions.js';
import { UsageError } from './errors.js';

type Out = (line: string) => void;

/** Throws a UsageError unless `file` (the value of `flag`) ends in .svg or .png. */
export function checkPictureFile(flag: string, file: string | undefined): void {
  if (file !== undefined && !['.svg', '.png'].includes(extname(file).toLowerCase())) {
    throw new UsageError(`${flag} must name a .svg or .png file. Received: ${JSON.stringify(file)}`);
  }
}

/** The model's output kind: 'softmax' (a column per class), 'sigmoid' (one column, two classes) or neither. */
function classifierKind(model: Model, outputs?: number): 'softmax' | 'sigmoid' | undefined {
  const configs = model.layerConfigs();
  const activation = configs[configs.length - 1].activation;
  if (activation === 'softmax' && outputs !== 1) return 'softmax';
  if (activation === 'sigmoid' && outputs === 1) return 'sigmoid';
  return undefined;
}

function lastActivation(model: Model): string {
  const configs = model.layerConfigs();
  return String(configs[configs.length - 1].activation ?? 'none');
}

/** `evaluate --confusion`: checks that the model classifies (before any scoring). */
export function checkConfusion(model: Model): void {
  const activation = lastActivation(model);
  if (activation !== 'softmax' && activation !== 'sigmoid') {
    throw new UsageError(
      `--confusion needs a classifier (a softmax or sigmoid output); this model's last layer has activation '${activation}'`,
    );
  }
}

/** `evaluate --confusion FILE`: predicts every row and draws the confusion matrix (sigmoid outputs cut at 0.5). */
export async function drawConfusion(
  model: Model,
  data: Dataset,
  file: string,
  o: { batchSize?: number; workers?: number },
): Promise<void> {
  const y = onlyOutput(await model.predict(data.x, { batchSize: o.batchSize, workers: o.workers }), file);
  const kind = classifierKind(model, y.cols);
  if (kind === undefined)
    throw new UsageError(
      `--confusion needs a classifier; this model outputs ${y.cols} columns with activation '${lastActivation(model)}'`,
    );
  const predictions = kind === 'softmax' ? y : Array.from(y.data, (p) => (p > 0.5 ? 1 : 0));
  const classNames = classNamesOf(data, kind === 'sigmoid' ? 2 : y.cols);
  await plotConfusionMatrix(file, data.y!, predictions, {
    ...(kind === 'sigmoid' ? { numClasses: 2 } : {}),
    ...(classNames ? { classNames } : {}),
  });
}

/**
 * `predict --misclassified FILE [--limit N]`: predicts every row, lists the first N misclassified (label,
 * prediction, its probability, then every class's probability, as the chapter prints them) and draws them.
 */
export async function drawMisclassified(
  model: Model,
  data: Dataset,
  file: string,
  o: { batchSize?: number; workers?: number; limit?: number; json?: boolean; imageShape?: number[] },
  out: Out,
): Promise<void> {
  if (data.y === undefined)
    throw new UsageError(`--misclassified needs labels, and --data ${data.name} has no targets (y)`);
  checkMisclassifiedModel(model);
  const images = new Matrix(data.x.data, data.x.rows, data.x.cols, imageShapeOf(data, o.imageShape));
  const y = onlyOutput(await model.predict(data.x, { batchSize: o.batchSize, workers: o.workers }), file);
  if (classifierKind(model, y.cols) !== 'softmax') {
    throw new UsageError(
      `--misclassified needs a classifier with a softmax output over two or more classes; this model outputs ${y.cols} column(s) with activation '${lastActivation(model)}'`,
    );
  }
  const limit = o.limit ?? MISCLASSIFIED_DEFAULT_LIMIT;
  const range = inUnitRange(data.x.data) ? undefined : ('auto' as const);
  const classNames = classNamesOf(data, y.cols);
  const wrong = await plotMisclassified(file, images, data.y, y, {
    limit,
    ...(range ? { range } : {}),
    ...(classNames ? { classNames } : {}),
  });
  const shown = wrong.slice(0, limit);
  // A CSV's rows go by their file line; names for a CSV's string labels.
  const where = data.lines ? 'line' : 'row';
  const at = (i: number) => (data.lines ? data.lines[i] : i);
  const name = (c: number) => classNames?.[c] ?? String(c);
  if (o.json) {
    const names = (m: (typeof shown)[number]) =>
      classNames ? { labelName: name(m.label), predictedName: name(m.predicted) } : {};
    const rows = shown.map((m) => ({
      [where]: at(m.index),
      label: m.label,
      predicted: m.predicted,
      ...names(m),
      probability: m.probability,
      probabilities: Array.from(y.row(m.index)),
    }));
    out(JSON.stringify({ data: data.name, rows: y.rows, misclassified: wrong.length, file, drawn: rows }));
    return;
  }
  const table = [[where, 'label', 'predicted', 'probability', 'probabilities']];
  for (const m of shown) {
    table.push([
      String(at(m.index)),
      name(m.label),
      name(m.predicted),
      pyFormat(m.probability, '.4f'),
      probabilities(y, m.index),
    ]);
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  if (shown.length)
    for (const row of table)
      out(
        row
          .map((cell, c) => (c === 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
          .join('  ')
          .trimEnd(),
      );
  const drew =
    shown.length === wrong.length ? `drew ${wrong.length === 1 ? 'it' : 'them'}` : `drew the first ${shown.length}`;
  out(
    `${wrong.length} of ${y.rows} rows of ${data.name} misclassified; ${wrong.length ? drew : 'wrote a note saying so'} to ${file}`,
  );
}

/** `predict --misclassified`: the model must classify into classes (checked before any scoring). */
export function checkMisclassifiedModel(model: Model): void {
  const activation = lastActivation(model);
  if (activation !== 'softmax') {
    const what =
      activation === 'sigmoid'
        ? 'a sigmoid output (one probability)'
        : `a last layer with activation '${activation}' (a regression model)`;
    throw new UsageError(
      `--misclassified needs a classifier with a softmax output over classes, and this model has ${what}: run predict without it for the model's outputs`,
    );
  }
}

/**
 * The shape of one image of `data` for --misclassified: the samples' own [h, w] or [h, w, c] (from the file,
 * or as the model takes them), MNIST's 28 x 28, or --image-shape; anything else is tabular data, which has no
 * picture.
 */
function imageShapeOf(data: Dataset, given: number[] | undefined): number[] {
  const cols = data.x.cols;
  if (given !== undefined) {
    if (given.reduce((a, b) => a * b, 1) !== cols) {
      throw new UsageError(
        `--image-shape ${given.join('x')} holds ${given.reduce((a, b) => a * b, 1)} values, but the rows of --data ${data.name} hold ${cols}`,
      );
    }
    return given;
  }
  const stored = data.xShape?.slice(1);
  for (const shape of [data.x.sampleShape, stored]) if (shape && shape.length >= 2 && shape.length <= 3) return shape;
  if (/^mnist-/.test(data.name)) return [28, 28];
  throw new UsageError(
    `--misclassified draws the misclassified rows as images, so it needs image data: samples of shape [height, width] or [height, width, channels] (an .npy or .npz of shape [n, h, w] or [n, h, w, c], or mnist-*), or --image-shape HxW (or HxWxC) for rows that are flattened images. --data ${data.name} holds rows of ${cols} values; for tabular data, run predict without --misclassified (evaluate --confusion draws the mistakes of a classifier as a confusion matrix)`,
  );
}

/** Every class's probability, 2 decimals, e.g. `0.00 0.01 0.71 ...`. */
function probabilities(y: Matrix, row: number): string {
  return Array.from(y.row(row), (p) => p.toFixed(2)).join(' ');
}

function inUnitRange(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!(values[i] >= 0 && values[i] <= 1)) return false;
  return true;
}
