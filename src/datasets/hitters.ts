/**
 * The Hitters data: 322 Major League Baseball players of the 1986 and 1987 seasons (StatLib, via the
 * ISLR/ISLP textbooks), with `Salary` missing for 59 of them.
 *
 * ```ts
 * const frame = (await hitters()).dropNA(); // 263 rows
 * const x = getDummies(frame.drop(['Names', 'Salary']), { dropFirst: true }).toMatrix(); // 263 x 19
 * const y = frame.toMatrix(['Salary']);
 * ```
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFrame, getDummies, type Cell } from '../preprocessing.js';
import type { Matrix } from '../matrix.js';
import { badOption, checkOptionKeys } from '../errors.js';

export interface HittersOptions {
  /** CSV file to read. Default: `data/hitters.csv` in the lockstep package. */
  path?: string;
}

/** Reads the Hitters CSV into a DataFrame: 21 columns, the first (`Names`) being the player's name. */
export async function hitters(options: HittersOptions = {}): Promise<DataFrame> {
  checkOptionKeys('hitters', options, ['path']);
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === ''))
    throw badOption('hitters', 'path', 'a file path', options.path);
  const path = options.path ?? join(packageRoot(), 'data', 'hitters.csv');
  return parseCsv(await readFile(path, 'utf8'), path);
}

/**
 * The chapter's design matrix, unscaled: the 263 players with a salary, x = every column but Names and Salary
 * with factors one-hot encoded as pandas' get_dummies(drop_first=True) (19 columns), y = Salary.
 */
export async function hittersXY(
  options: HittersOptions = {},
): Promise<{ x: Matrix; y: Matrix; columns: readonly string[] }> {
  const frame = (await hitters(options)).dropNA();
  const features = getDummies(frame.drop(['Names', 'Salary']), { dropFirst: true });
  return { x: features.toMatrix(), y: frame.toMatrix(['Salary']), columns: features.columns };
}

/**
 * Parses CSV text (RFC 4180: quoted fields may hold commas, newlines and doubled quotes) with a header row.
 *
 * An unquoted `NA` or empty field is missing (`null`); an unquoted field that reads as a finite number becomes
 * that number; everything else, and every quoted field, stays a string. `source` names the text in errors.
 */
export function parseCsv(text: string, source = 'CSV'): DataFrame {
  const records = splitRecords(text, source);
  if (records.length === 0) throw new Error(`${source}: no header row`);
  const columns = records[0].map((f) => f.text);
  const rows = records.slice(1).map((fields, i) => {
    if (fields.length !== columns.length) {
      throw new Error(`${source}: row ${i} has ${fields.length} fields but the header has ${columns.length}`);
    }
    return Object.fromEntries(fields.map((f, c) => [columns[c], cellOf(f)]));
  });
  return new DataFrame(columns, rows);
}

interface Field {
  text: string;
  quoted: boolean;
}

function cellOf({ text, quoted }: Field): Cell {
  if (quoted) return text;
  if (text === '' || text === 'NA') return null;
  const n = Number(text);
  // Number(' ') is 0 and Number('Infinity') is not data, so only accept finite values from non-blank text.
  return Number.isFinite(n) && text.trim() !== '' ? n : text;
}

/** Splits text into records of fields, one character at a time so quoted newlines stay inside their field. */
function splitRecords(text: string, source: string): Field[][] {
  const records: Field[][] = [];
  let fields: Field[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // skip a byte-order mark
  while (i < text.length) {
    if (fields.length === 0 && (text[i] === '\n' || text[i] === '\r')) {
      i++; // skip blank lines, as pandas does
      continue;
    }
    let field: Field;
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const close = text.indexOf('"', j);
        if (close < 0) throw new Error(`${source}: unterminated quoted field starting at line ${lineOf(text, i)}`);
        value += text.slice(j, close);
        if (text[close + 1] !== '"') {
          j = close + 1;
          break;
        }
        value += '"';
        j = close + 2;
      }
      field = { text: value, quoted: true };
      i = j;
      if (i < text.length && !',\r\n'.includes(text[i])) {
        throw new Error(
          `${source}: unexpected character ${JSON.stringify(text[i])} after a quoted field at line ${lineOf(text, i)}`,
        );
      }
    } else {
      let j = i;
      while (j < text.length && !',\r\n'.includes(text[j])) j++;
      field = { text: text.slice(i, j), quoted: false };
      i = j;
    }
    fields.push(field);
    if (text[i] === ',') {
      i++;
      if (i === text.length) fields.push({ text: '', quoted: false }); // "a,b," ends with an empty field
    } else {
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      records.push(fields);
      fields = [];
    }
  }
  return records;
}

const lineOf = (text: string, i: number) => text.slice(0, i).split('\n').length;

/** The nearest directory above this file holding a package.json: `src/` under vitest, `dist/src/` when built. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`hitters: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}
