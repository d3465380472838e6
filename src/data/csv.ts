/**
 * CSV files with a header row as x and y, in the chapter's pandas steps: pick the target column(s) and the
 * features, drop rows with a missing value, one-hot encode the non-numeric columns without their first
 * category, and optionally standardize with a scaler fitted on the training rows only.
 *
 * The file is streamed: each field is parsed from the read buffer into a growing float32 buffer of the
 * used columns (a resizable ArrayBuffer, so growing never copies), then x and y are written once into
 * SharedArrayBuffers the worker pool reads without a copy. Peak memory is about twice the float32 size of
 * the used columns. Categorical values are kept as category codes meanwhile.
 *
 * Which columns are categorical is decided from the first 1,000 data rows: a column is numeric if every
 * value there is a number or missing. A later non-number in a numeric column is an error naming its line
 * and column. With a saved `preprocessing` (from a trained model), kinds, categories and the scaler are
 * fixed, and an unseen category is an error.
 *
 * ```ts
 * const { x, y, preprocessing, droppedRows } = await loadCsv('hitters.csv', {
 *   target: 'Salary',
 *   features: [...],
 *   standardize: true,
 * });
 * ```
 */
import { stat } from 'node:fs/promises';
import { badOption, checkFraction, checkOptionKeys, checkPositiveInt } from '../errors.js';
import { scanCsv, type FieldSink } from './csv-scan.js';
import { DataFileError, type Tensor } from './errors.js';
import { applyScaler, expandFeatures, fitScaler, pickTargets } from './columns.js';
import { parseNumber } from './parse-number.js';
import { checkPreprocessing, makePreprocessing, type CsvColumn, type CsvPreprocessing } from './preprocessing-file.js';

/** Rows read before deciding which columns are categorical. */
const SNIFF_ROWS = 1000;
/** pandas' default missing-value markers (`read_csv`'s na_values). */
const MISSING = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);
/** The largest raw buffer a resizable ArrayBuffer can reserve in Node 20. */
const MAX_RAW_BYTES = 2 ** 32;

export interface CsvOptions {
  /** The label column, or several for a multi-output model. Default: the column `y` if there is one, else none. */
  target?: string | string[];
  /** The input columns, in this order. Default: every column that is not a target. */
  features?: string[];
  /** Standardize every input column to mean 0, variance 1 (scikit-learn's StandardScaler). Default false. */
  standardize?: boolean;
  /**
   * The fraction of rows `fit` will hold out (Keras's validationSplit takes the last ones): the scaler is fitted on the
   * others. Default 0.
   */
  validationSplit?: number;
  /** A saved preprocessing to apply (its columns, categories and scaler), instead of learning one. */
  preprocessing?: CsvPreprocessing;
  /**
   * With `preprocessing`: whether the target columns must be present (evaluate) or may be absent (predict). Default
   * true.
   */
  requireTargets?: boolean;
  /** Read only the first `limit` rows that have no missing value. */
  limit?: number;
  /** Bytes per read (tests use small ones to cut records across reads). Default 4 MiB. */
  chunkBytes?: number;
}
const OPTION_KEYS = ['target', 'features', 'standardize', 'validationSplit', 'preprocessing', 'requireTargets', 'limit', 'chunkBytes'];

export interface CsvData {
  x: Tensor;
  /** Absent when the file has no target column (predict). */
  y?: Tensor;
  /** What was learned (or applied): save it beside the model. */
  preprocessing: CsvPreprocessing;
  /** Rows dropped because a used column was missing. */
  droppedRows: number;
  /** Bytes read. */
  bytes: number;
}

/** Reads a CSV with a header into x and y; see the module comment. */
export async function loadCsv(file: string, options: CsvOptions = {}): Promise<CsvData> {
  checkOptionKeys('loadCsv', options, OPTION_KEYS);
  checkCsvOptions(options);
  const size = await fileSize(file);
  const reader = new CsvReader(file, size, options);
  const { bytes, lines } = await scanCsv(file, reader, options.chunkBytes);
  return reader.finish(bytes, lines);
}

function checkCsvOptions(o: CsvOptions): void {
  const names = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === 'string' && n !== '');
  if (o.target !== undefined && !(typeof o.target === 'string' && o.target !== '') && !names(o.target)) throw badOption('loadCsv', 'target', 'a column name or a non-empty array of them', o.target);
  if (o.features !== undefined && !names(o.features)) throw badOption('loadCsv', 'features', 'a non-empty array of column names', o.features);
  if (o.standardize !== undefined && typeof o.standardize !== 'boolean') throw badOption('loadCsv', 'standardize', 'true or false', o.standardize);
  if (o.requireTargets !== undefined && typeof o.requireTargets !== 'boolean') throw badOption('loadCsv', 'requireTargets', 'true or false', o.requireTargets);
  if (o.validationSplit !== undefined) checkFraction('loadCsv', 'validationSplit', o.validationSplit);
  if (o.limit !== undefined) checkPositiveInt('loadCsv', 'limit', o.limit);
  if (o.chunkBytes !== undefined) checkPositiveInt('loadCsv', 'chunkBytes', o.chunkBytes);
  if (o.preprocessing !== undefined) {
    checkPreprocessing(o.preprocessing, 'loadCsv: preprocessing');
    for (const k of ['target', 'features', 'standardize'] as const) {
      if (o[k] !== undefined) throw badOption('loadCsv', k, 'left out with a saved preprocessing (it fixes the columns and the scaler)', o[k]);
    }
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw new DataFileError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
}

/** Per used column, where its values go in the raw row, and how to read them. */
interface Slot {
  column: CsvColumn;
  /** Category -> code while reading (codes in order of first appearance unless fixed by a saved preprocessing). */
  codes?: Map<string, number>;
}

class CsvReader implements FieldSink {
  private header: string[] | null = null;
  /** For each file column, its slot in the raw row, or -1 when unused. */
  private slotOf: Int32Array = new Int32Array(0);
  private slots: Slot[] = [];
  private featureSlots = 0;
  private targetsPresent = false;
  /** The first rows' fields as text, until the column kinds are decided. */
  private sniffed: { fields: (string | null)[]; line: number }[] | null = null;
  private sniffRow: (string | null)[] = [];
  private raw: Float32Array = new Float32Array(0);
  private rawBuffer: ArrayBuffer | null = null;
  private rows = 0;
  private dropped = 0;
  private rowMissing = false;
  private readonly limit: number;

  constructor(
    private readonly file: string,
    private readonly size: number,
    private readonly o: CsvOptions,
  ) {
    this.limit = o.limit ?? Infinity;
  }

  field(buf: Buffer, start: number, end: number, quoted: boolean, col: number, line: number): void {
    if (this.header === null) {
      this.sniffRow.push(text(buf, start, end, quoted));
      return;
    }
    const s = col < this.slotOf.length ? this.slotOf[col] : -1;
    if (s < 0) return;
    if (this.sniffed !== null) {
      const t = text(buf, start, end, quoted);
      this.sniffRow[s] = MISSING.has(t.trim()) ? null : t;
      return;
    }
    const at = this.rows * this.slots.length + s;
    const slot = this.slots[s];
    if (slot.codes === undefined) {
      const v = parseNumber(buf, start, end);
      if (v === v) {
        this.raw[at] = this.checkRange(v, line, col);
        return;
      }
      const t = text(buf, start, end, quoted);
      if (MISSING.has(t.trim())) this.rowMissing = true;
      else this.notANumber(t, line, col);
    } else {
      this.raw[at] = this.code(slot, text(buf, start, end, quoted), line, col);
    }
  }

  endRecord(fields: number, line: number): boolean {
    if (this.header === null) {
      this.setHeader(this.sniffRow, line);
      this.sniffRow = [];
      return true;
    }
    if (fields !== this.header.length) {
      const col = Math.min(fields, this.header.length) + 1;
      const which = fields < this.header.length ? `missing column ${col} ("${this.header[col - 1]}")` : 'an extra field';
      throw new DataFileError(this.file, `ragged row: ${fields} fields but the header has ${this.header.length} (${which})`, line, col);
    }
    if (this.sniffed !== null) {
      this.sniffed.push({ fields: this.sniffRow, line });
      this.sniffRow = new Array(this.slots.length).fill(null);
      if (this.sniffed.length < SNIFF_ROWS) return true;
      this.decideKinds();
      return this.rows < this.limit;
    }
    return this.commitRow();
  }

  /** Counts the row just read, or drops it when a value was missing; false once `limit` rows are in. */
  private commitRow(): boolean {
    if (this.rowMissing) {
      this.dropped++;
      this.rowMissing = false;
    } else {
      this.rows++;
      this.reserve(this.rows + 1);
    }
    return this.rows < this.limit;
  }

  private setHeader(names: (string | null)[], line: number): void {
    const header = names.map((n) => n ?? '');
    const dup = header.find((c, i) => header.indexOf(c) !== i);
    if (dup !== undefined) throw new DataFileError(this.file, `the header names column "${dup}" twice`, line, header.lastIndexOf(dup) + 1);
    this.header = header;
    const saved = this.o.preprocessing;
    const missing = (name: string, what: string) =>
      new DataFileError(this.file, `no ${what} column "${name}" in the header (columns: ${header.join(', ')})`, line);
    let targets: CsvColumn[];
    let features: CsvColumn[];
    if (saved) {
      for (const f of saved.features) if (!header.includes(f.name)) throw missing(f.name, 'input');
      const present = saved.targets.filter((t) => header.includes(t.name));
      if (present.length < saved.targets.length && ((this.o.requireTargets ?? true) || present.length > 0)) {
        throw missing(saved.targets.find((t) => !header.includes(t.name))!.name, 'target');
      }
      targets = present.map((t) => ({ ...t }));
      features = saved.features.map((f) => ({ ...f }));
    } else {
      const names = this.o.target === undefined ? (header.includes('y') ? ['y'] : []) : [this.o.target].flat();
      for (const t of names) if (!header.includes(t)) throw missing(t, 'target');
      const featureNames = this.o.features ?? header.filter((c) => !names.includes(c));
      for (const f of featureNames) {
        if (!header.includes(f)) throw missing(f, 'feature');
        if (names.includes(f)) throw new DataFileError(this.file, `column "${f}" is both a feature and a target`, line);
      }
      if (featureNames.length === 0) throw new DataFileError(this.file, 'no feature columns (every column is a target)', line);
      targets = names.map((name) => ({ name, kind: 'numeric' }));
      features = featureNames.map((name) => ({ name, kind: 'numeric' }));
    }
    this.targetsPresent = targets.length > 0;
    this.featureSlots = features.length;
    this.slots = [...features, ...targets].map((column) => ({
      column,
      codes: column.kind === 'categorical' ? new Map(column.categories!.map((c, i) => [c, i])) : undefined,
    }));
    this.slotOf = new Int32Array(header.length).fill(-1);
    this.slots.forEach((s, i) => (this.slotOf[header.indexOf(s.column.name)] = i));
    if (saved) this.startRaw();
    else {
      this.sniffed = [];
      this.sniffRow = new Array(this.slots.length).fill(null);
    }
  }

  /** Column kinds from the first rows (numbers or missing only: numeric), then those rows into the raw buffer. */
  private decideKinds(): void {
    const rows = this.sniffed!;
    this.sniffed = null;
    this.slots.forEach((slot, s) => {
      const numeric = rows.every((r) => r.fields[s] === null || Number.isFinite(parseText(r.fields[s]!)));
      if (!numeric) {
        slot.column.kind = 'categorical';
        slot.codes = new Map();
      }
    });
    this.startRaw();
    for (const r of rows) {
      this.rowMissing = r.fields.some((f) => f === null);
      if (!this.rowMissing) {
        r.fields.forEach((t, s) => {
          const at = this.rows * this.slots.length + s;
          const slot = this.slots[s];
          this.raw[at] = slot.codes ? this.code(slot, t!, r.line, this.header!.indexOf(slot.column.name)) : this.checkRange(parseText(t!), r.line, this.header!.indexOf(slot.column.name));
        });
      }
      if (!this.commitRow()) break;
    }
  }

  private startRaw(): void {
    // A record is at least one byte per column (its commas and newline), which bounds the rows.
    const maxRows = Math.min(this.limit + 1, Math.floor(this.size / this.header!.length) + 2);
    const maxBytes = Math.max(4, maxRows * this.slots.length * 4);
    this.rawBuffer = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(0, { maxByteLength: Math.min(maxBytes, MAX_RAW_BYTES) });
    this.raw = new Float32Array(this.rawBuffer);
    this.reserve(1);
  }

  /** Makes room for `rows` rows, growing the resizable buffer in place (no copy) by at least half. */
  private reserve(rows: number): void {
    const need = rows * this.slots.length;
    if (need <= this.raw.length) return;
    const buf = this.rawBuffer as ArrayBuffer & { resize(n: number): void; maxByteLength: number };
    if (need * 4 > buf.maxByteLength) {
      throw new DataFileError(this.file, `too large: its ${this.slots.length} used columns need more than 4 GiB of float32 values; use limit (--limit) or fewer columns`);
    }
    buf.resize(Math.min(buf.maxByteLength, Math.max(need, Math.ceil(this.raw.length * 1.5), 1 << 16) * 4));
  }

  private code(slot: Slot, t: string, line: number, col: number): number {
    if (MISSING.has(t.trim())) {
      this.rowMissing = true;
      return 0;
    }
    let c = slot.codes!.get(t);
    if (c === undefined) {
      if (this.o.preprocessing) {
        const known = slot.column.categories!;
        throw new DataFileError(this.file, `column "${slot.column.name}" holds ${JSON.stringify(t)}, a category the model was not trained on (known: ${known.map((k) => JSON.stringify(k)).join(', ')})`, line, col + 1);
      }
      c = slot.codes!.size;
      slot.codes!.set(t, c);
    }
    return c;
  }

  private checkRange(v: number, line: number, col: number): number {
    if (Math.abs(v) > 3.4028234663852886e38) {
      throw new DataFileError(this.file, `column "${this.header![col]}" holds ${v}, which does not fit in float32`, line, col + 1);
    }
    return v;
  }

  private notANumber(t: string, line: number, col: number): never {
    const how = this.o.preprocessing ? 'the model was trained on it as a number column' : `its first ${SNIFF_ROWS} rows hold numbers`;
    throw new DataFileError(this.file, `column "${this.header![col]}" holds ${JSON.stringify(t)}, which is not a number (${how})`, line, col + 1);
  }

  finish(bytes: number, lines: number): CsvData {
    if (this.header === null) throw new DataFileError(this.file, 'empty file: no header row');
    if (this.sniffed !== null) this.decideKinds();
    if (this.rows === 0) {
      throw new DataFileError(this.file, this.dropped > 0 ? `no usable rows: all ${this.dropped} data rows have a missing value` : 'no data rows after the header', lines);
    }
    const w = this.slots.length;
    const raw = this.raw.subarray(0, this.rows * w);
    // Categories in sorted order, as pandas lists them; re-map the codes given in order of appearance.
    for (const slot of this.slots) {
      if (!slot.codes || this.o.preprocessing) continue;
      const byCode = [...slot.codes.keys()];
      const sorted = [...byCode].sort();
      const remap = Float32Array.from(byCode, (c) => sorted.indexOf(c));
      slot.column.categories = sorted;
      const s = this.slots.indexOf(slot);
      for (let i = s; i < raw.length; i += w) raw[i] = remap[raw[i]];
    }
    const features = this.slots.slice(0, this.featureSlots).map((s) => s.column);
    const targets = this.slots.slice(this.featureSlots).map((s) => s.column);
    const x = expandFeatures(raw, this.rows, w, features);
    const y = this.targetsPresent ? pickTargets(raw, this.rows, w, this.featureSlots, targets.length) : undefined;
    let scaler = this.o.preprocessing?.scaler ?? null;
    if (!this.o.preprocessing && this.o.standardize) {
      const fitRows = Math.floor(this.rows * (1 - (this.o.validationSplit ?? 0)));
      if (fitRows === 0) throw new DataFileError(this.file, `standardize: no training rows to fit the scaler on (${this.rows} rows, validationSplit ${this.o.validationSplit})`);
      scaler = fitScaler(x, fitRows);
    }
    if (scaler) applyScaler(x, scaler);
    const saved = this.o.preprocessing;
    const preprocessing = saved ?? makePreprocessing(features, targets, scaler);
    this.raw = new Float32Array(0);
    this.rawBuffer = null;
    return { x, y, preprocessing, droppedRows: this.dropped, bytes };
  }
}

/** The field's text (quoted: with doubled quotes undone). */
function text(buf: Buffer, start: number, end: number, quoted: boolean): string {
  const t = buf.toString('utf8', start, end);
  return quoted ? t.replaceAll('""', '"') : t;
}

function parseText(t: string): number {
  const b = Buffer.from(t, 'latin1');
  return parseNumber(b, 0, b.length);
}
