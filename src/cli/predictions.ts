/**
 * What `predict` prints or writes for each row: where the row came from (a CSV's file line, else its index),
 * the `--id` column, the prediction (for a classifier: its class, by name when the model was trained on a
 * CSV's string labels, and that class's probability) and the row's target when the file has one. The
 * table, `--json` and `--output FILE.csv` hold the same rows.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Matrix, type Model } from '../index.js';
import { pyFormat } from '../callbacks/format.js';
import type { Dataset } from './data.js';
import { UsageError } from './errors.js';

type Out = (line: string) => void;

/** A classifier's output: 'softmax' (a column per class), 'sigmoid' (one column, two classes) or neither. */
export function outputKind(model: Model, outputs: number): 'softmax' | 'sigmoid' | undefined {
  const configs = model.layerConfigs();
  const activation = configs[configs.length - 1].activation;
  if (activation === 'softmax' && outputs > 1) return 'softmax';
  if (activation === 'sigmoid' && outputs === 1) return 'sigmoid';
  return undefined;
}

/** A CSV's string target's classes (sorted, as preprocessing.json keeps them), when they match `classes` outputs. */
export function classNamesOf(data: Dataset, classes: number): string[] | undefined {
  const targets = data.preprocessing?.targets;
  const names = targets?.length === 1 ? targets[0].categories : undefined;
  return names && names.length === classes ? names : undefined;
}

/** Throws a UsageError unless `file` can take the predictions (a .csv that is not the data being read). */
export function checkOutputFile(file: string | undefined, data: string): void {
  if (file === undefined) return;
  if (!file.toLowerCase().endsWith('.csv'))
    throw new UsageError(`--output must name a .csv file. Received: ${JSON.stringify(file)}`);
  if (resolve(file) === resolve(data))
    throw new UsageError(`--output ${file} is the --data file itself; name another file`);
}

/** One line naming the rows --skip-missing left out (up to 20 of their lines), or nothing. */
export function skippedNote(data: Dataset): string | undefined {
  const lines = data.droppedLines ?? [];
  if (lines.length === 0) return undefined;
  const shown = lines.slice(0, 20).join(', ') + (lines.length > 20 ? `, ... (${lines.length - 20} more)` : '');
  return `skipped ${lines.length} row${lines.length === 1 ? '' : 's'} of ${data.name} with a missing value (--skip-missing): line${lines.length === 1 ? '' : 's'} ${shown}`;
}

export interface PredictionRows {
  header: string[];
  /** Per row: the cells as printed in the table. */
  cells: string[][];
  /** Per row: the cells written to --output (full precision). */
  csv: string[][];
  /** For --json. */
  json: Record<string, unknown>;
}

/** The rows of `predict` for the predictions `y` of `data`. */
export function predictionRows(model: Model, data: Dataset, y: Matrix, id: string | undefined): PredictionRows {
  const kind = outputKind(model, y.cols);
  const names = kind ? classNamesOf(data, kind === 'sigmoid' ? 2 : y.cols) : undefined;
  const name = (c: number) => (Number.isNaN(c) ? '' : (names?.[c] ?? String(c)));
  const classes =
    kind === 'softmax'
      ? Array.from(y.argMax())
      : kind === 'sigmoid'
        ? Array.from(y.data, (p) => (p > 0.5 ? 1 : 0))
        : undefined;
  const where = data.lines ? 'line' : 'row';
  const outputs =
    y.cols === 1
      ? ['prediction']
      : Array.from({ length: y.cols }, (_, c) => (kind === 'softmax' ? `p_${name(c)}` : `output_${c}`));
  const hasTarget = data.y !== undefined;
  const target = (r: number): number[] => (data.y instanceof Matrix ? Array.from(data.y.row(r)) : [data.y![r]]);
  const header = [
    where,
    ...(id ? [id] : []),
    ...(classes ? ['class', 'probability'] : outputs),
    ...(hasTarget ? [classes ? 'label' : 'target'] : []),
  ];
  const csvHeader = [
    where,
    ...(id ? [id] : []),
    ...(classes ? ['class'] : []),
    ...outputs,
    ...(hasTarget ? [classes ? 'label' : 'target'] : []),
  ];
  const cells: string[][] = [];
  const csv: string[][] = [csvHeader];
  for (let r = 0; r < y.rows; r++) {
    const at = String(data.lines ? data.lines[r] : r);
    const ids = id ? [data.ids![r]] : [];
    const t = hasTarget ? target(r) : [];
    const shownTarget = hasTarget ? [t.map((v) => (Number.isNaN(v) ? '' : classes ? name(v) : num(v))).join(' ')] : [];
    if (classes) {
      const c = classes[r];
      const p = kind === 'softmax' ? y.get(r, c) : c === 1 ? y.data[r] : 1 - y.data[r];
      cells.push([at, ...ids, name(c), num(p), ...shownTarget]);
    } else cells.push([at, ...ids, ...Array.from(y.row(r), num), ...shownTarget]);
    const rawTarget = hasTarget ? [t.map((v) => (Number.isNaN(v) ? '' : classes ? name(v) : String(v))).join(' ')] : [];
    csv.push([at, ...ids, ...(classes ? [name(classes[r])] : []), ...Array.from(y.row(r), String), ...rawTarget]);
  }
  const json: Record<string, unknown> = {
    rows: y.rows,
    ...(data.droppedRows === undefined ? {} : { droppedRows: data.droppedRows, skippedLines: data.droppedLines ?? [] }),
    ...(data.lines ? { lines: Array.from(data.lines) } : {}),
    ...(id ? { id, ids: data.ids } : {}),
    predictions: Array.from({ length: y.rows }, (_, r) => Array.from(y.row(r))),
    ...(classes ? { classes } : {}),
    ...(classes && names ? { classNames: classes.map(name) } : {}),
  };
  return { header, cells, csv, json };
}

/** The rows as an aligned table, one line each. */
export function printTable(header: string[], cells: string[][], out: Out): void {
  const table = [header, ...cells];
  const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table)
    out(
      row
        .map((cell, c) => (c === 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    );
}

/** Writes rows as RFC 4180 CSV (fields with a comma, quote or newline quoted). */
export async function writeCsv(file: string, rows: string[][]): Promise<void> {
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  await writeFile(file, `${rows.map((r) => r.map(field).join(',')).join('\n')}\n`);
}

/** 4 decimals, or scientific below 1e-3, as Keras's progress bar. */
export function num(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? pyFormat(v, '.4e') : pyFormat(v, '.4f');
}
