/**
 * What a CSV's preprocessing learned (column order, each column's kind and categories, the scaler), kept
 * beside a saved model as `preprocessing.json`, so `evaluate` and `predict` on another CSV apply exactly the
 * same transformation. The file is checked field by field when read: a hand-edited one fails with the field.
 *
 * ```json
 * { "format": "lockstep-csv-preprocessing", "version": 1,
 *   "features": [
 *     { "name": "Hits", "kind": "numeric" },
 *     { "name": "League", "kind": "categorical", "categories": ["A", "N"] }
 *   ],
 *   "targets": [{ "name": "Salary", "kind": "numeric" }],
 *   "columns": ["Hits", "League_N"], "scaler": { "mean": [101.3, 0.47], "scale": [45.1, 0.5] } }
 * ```
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PREPROCESSING_FILE = 'preprocessing.json';
const FORMAT = 'lockstep-csv-preprocessing';

/**
 * One CSV column: numeric, or categorical with its sorted categories. A categorical feature becomes
 * one-hot columns without the first category (pandas' `get_dummies(drop_first=True)`); a categorical target
 * becomes the category's index (a class label).
 */
export interface CsvColumn {
  name: string;
  kind: 'numeric' | 'categorical';
  categories?: string[];
}

export interface CsvPreprocessing {
  format: typeof FORMAT;
  version: 1;
  features: CsvColumn[];
  targets: CsvColumn[];
  /** The model's input columns, in order: the numeric ones, then the `name_category` dummies. */
  columns: string[];
  /** Per input column, fitted on the training rows; null without `--standardize`. */
  scaler: { mean: number[]; scale: number[] } | null;
}

/**
 * The input columns a list of features expands to, in pandas' get_dummies order: the numeric ones, then each
 * categorical one's dummies.
 */
export function expandedColumns(features: readonly CsvColumn[]): string[] {
  return [
    ...features.filter((f) => f.kind === 'numeric').map((f) => f.name),
    ...features
      .filter((f) => f.kind === 'categorical')
      .flatMap((f) => f.categories!.slice(1).map((c) => `${f.name}_${c}`)),
  ];
}

export function makePreprocessing(
  features: CsvColumn[],
  targets: CsvColumn[],
  scaler: CsvPreprocessing['scaler'],
): CsvPreprocessing {
  return { format: FORMAT, version: 1, features, targets, columns: expandedColumns(features), scaler };
}

/** Writes `dir/preprocessing.json` (atomically: a reader never sees half a file). */
export async function savePreprocessing(dir: string, p: CsvPreprocessing): Promise<void> {
  const file = join(dir, PREPROCESSING_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(p, null, 1)}\n`);
  await rename(`${file}.tmp`, file);
}

/** Reads `dir/preprocessing.json`; undefined when the model was saved without one. */
export async function loadPreprocessing(dir: string): Promise<CsvPreprocessing | undefined> {
  const file = join(dir, PREPROCESSING_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return checkPreprocessing(json, file);
}

/**
 * The preprocessing a saved model scores a CSV with: an error when `dir` has none, since learning a new one from
 * the file being scored would silently give the model other inputs.
 */
export async function requirePreprocessing(dir: string): Promise<CsvPreprocessing> {
  const p = await loadPreprocessing(dir);
  if (p) return p;
  throw new Error(
    `${join(dir, PREPROCESSING_FILE)} is missing: a model scores a CSV only with the preprocessing it was trained with (its columns, categories and scaler), which train --out saves beside the model; a model trained on other data scores .npy, .npz or .json files, or a preprocessing.json written with savePreprocessing`,
  );
}

/** Checks a parsed preprocessing object; every error names the field. */
export function checkPreprocessing(json: unknown, file: string): CsvPreprocessing {
  const fail = (field: string, rule: string): never => {
    throw new Error(`${file}: ${field} ${rule}`);
  };
  const o = json as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('the file', 'must hold a JSON object');
  if (o.format !== FORMAT) fail('format', `must be "${FORMAT}"`);
  if (o.version !== 1) fail('version', 'must be 1');
  const columns = (field: 'features' | 'targets'): CsvColumn[] => {
    const list = o[field];
    if (!Array.isArray(list)) return fail(field, 'must be an array of columns');
    return list.map((c, i) => {
      const at = `${field}[${i}]`;
      if (typeof c !== 'object' || c === null || typeof c.name !== 'string') fail(`${at}.name`, 'must be a string');
      if (c.kind !== 'numeric' && c.kind !== 'categorical') fail(`${at}.kind`, 'must be "numeric" or "categorical"');
      if (
        c.kind === 'categorical' &&
        !(
          Array.isArray(c.categories) &&
          c.categories.length > 0 &&
          c.categories.every((s: unknown) => typeof s === 'string')
        )
      ) {
        fail(`${at}.categories`, 'must be a non-empty array of strings');
      }
      return c.kind === 'numeric'
        ? { name: c.name, kind: 'numeric' }
        : { name: c.name, kind: 'categorical', categories: c.categories };
    });
  };
  const features = columns('features');
  const targets = columns('targets');
  // Whole-file rules: one input per column, each category once (a repeat would leave an input at zero).
  const seen = new Map<string, string>();
  [
    ...features.map((c, i) => [c, `features[${i}]`] as const),
    ...targets.map((c, i) => [c, `targets[${i}]`] as const),
  ].forEach(([c, at]) => {
    if (c.name === '') fail(`${at}.name`, 'must not be empty');
    const first = seen.get(c.name);
    if (first !== undefined)
      fail(
        `${at}.name`,
        `repeats column "${c.name}" (already ${first}${first.startsWith('features') && at.startsWith('targets') ? ': a target cannot also be a feature' : ''})`,
      );
    seen.set(c.name, at);
    const cats = new Set<string>();
    for (const k of c.categories ?? []) {
      if (cats.has(k)) fail(`${at}.categories`, `repeats category ${JSON.stringify(k)}`);
      cats.add(k);
    }
  });
  if (features.length === 0) fail('features', 'must list at least one column');
  const expected = expandedColumns(features);
  if (!Array.isArray(o.columns) || o.columns.join('\u0000') !== expected.join('\u0000'))
    fail('columns', `must be the features' columns: ${JSON.stringify(expected)}`);
  let scaler: CsvPreprocessing['scaler'] = null;
  if (o.scaler !== null) {
    const s = o.scaler as Record<string, unknown>;
    for (const k of ['mean', 'scale'] as const) {
      const v = s?.[k];
      if (
        !Array.isArray(v) ||
        v.length !== expected.length ||
        !v.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        fail(`scaler.${k}`, `must be ${expected.length} finite numbers`);
      }
    }
    if ((s.scale as number[]).some((x) => x <= 0)) fail('scaler.scale', 'must be positive');
    scaler = { mean: s.mean as number[], scale: s.scale as number[] };
  }
  return makePreprocessing(features, targets, scaler);
}
