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
import { badOption, checkFraction, checkOptionKeys, checkPositiveInt, formatValue } from '../errors.js';
import { scanCsv, type FieldSink } from './csv-scan.js';
import { DataFileError, type Tensor } from './errors.js';
import { applyScaler, expandFeatures, fitScaler, pickTargets } from './columns.js';
import { parseNumber } from './parse-number.js';
import { checkPreprocessing, makePreprocessing, type CsvColumn, type CsvPreprocessing } from './preprocessing-file.js';

/** Rows read before deciding which columns are categorical. */
const SNIFF_ROWS = 1000;
/** pandas' default missing-value markers (`read_csv`'s na_values). */
const MISSING = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);
const FLOAT32_MAX = 3.4028234663852886e38;
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
  /**
   * A row with a missing value in a used column: 'drop' it (pandas' dropna; listed in `droppedLines`) or
   * make it an 'error' naming its line and column. Default: 'drop' when learning a preprocessing (training),
   * 'error' with a saved one (evaluate and predict keep every row unless told otherwise). With
   * `requireTargets: false` a missing target never counts: the row is kept, its y is NaN.
   */
  missing?: 'drop' | 'error';
  /** A column passed through as text (an ID or a name), one per kept row in `ids`; it may also be a feature. */
  id?: string;
  /** The field separator, one ASCII character. Default ','. */
  delimiter?: string;
  /**
   * How text fields and the header are decoded: 'utf8' (bytes that are not UTF-8 are an error naming the cell) or
   * 'latin1'. Default 'utf8'.
   */
  encoding?: 'utf8' | 'latin1';
}
const OPTION_KEYS = [
  'target',
  'features',
  'standardize',
  'validationSplit',
  'preprocessing',
  'requireTargets',
  'limit',
  'chunkBytes',
  'missing',
  'id',
  'delimiter',
  'encoding',
];
/** The options loadDataFile passes on to loadCsv. */
export const CSV_OPTION_KEYS = OPTION_KEYS;

export interface CsvData {
  x: Tensor;
  /** Absent when the file has no target column (predict). */
  y?: Tensor;
  /** What was learned (or applied): save it beside the model. */
  preprocessing: CsvPreprocessing;
  /** Rows dropped because a used column was missing. */
  droppedRows: number;
  /** The file line of each dropped row (1-based, the header is line 1). */
  droppedLines: number[];
  /** The file line of each row of x (1-based, the header is line 1). */
  lines: Int32Array;
  /** With `id`: that column's text, one per row of x. */
  ids?: string[];
  /** Things the user should know (a column that looks like an ID, one-hot encoded). */
  warnings: string[];
  /** Bytes read. */
  bytes: number;
}

/** Reads a CSV with a header into x and y; see the module comment. */
export async function loadCsv(file: string, options: CsvOptions = {}): Promise<CsvData> {
  checkOptionKeys('loadCsv', options, OPTION_KEYS);
  checkCsvOptions(options);
  const size = await fileSize(file);
  const reader = new CsvReader(file, size, options);
  const { bytes, lines } = await scanCsv(file, reader, options.chunkBytes, (options.delimiter ?? ',').charCodeAt(0));
  return reader.finish(bytes, lines);
}

function checkCsvOptions(o: CsvOptions): void {
  const names = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === 'string' && n !== '');
  if (o.target !== undefined && !(typeof o.target === 'string' && o.target !== '') && !names(o.target))
    throw badOption('loadCsv', 'target', 'a column name or a non-empty array of them', o.target);
  if (o.features !== undefined && !names(o.features))
    throw badOption('loadCsv', 'features', 'a non-empty array of column names', o.features);
  for (const k of ['target', 'features'] as const) {
    const seen = new Set<string>();
    const twice = [o[k] ?? []].flat().find((name) => seen.size === seen.add(name).size);
    if (twice !== undefined)
      throw new RangeError(`loadCsv: ${k} names column "${twice}" twice. Received: ${k}=${formatValue(o[k])}`);
  }
  if (o.missing !== undefined && o.missing !== 'drop' && o.missing !== 'error')
    throw badOption('loadCsv', 'missing', "'drop' or 'error'", o.missing);
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id === ''))
    throw badOption('loadCsv', 'id', 'a column name', o.id);
  if (
    o.delimiter !== undefined &&
    !(typeof o.delimiter === 'string' && /^[\x01-\x7f]$/.test(o.delimiter) && !'"\r\n'.includes(o.delimiter))
  ) {
    throw badOption(
      'loadCsv',
      'delimiter',
      'one ASCII character other than a quote or a newline, such as "," ";" or "\\t"',
      o.delimiter,
    );
  }
  if (o.encoding !== undefined && o.encoding !== 'utf8' && o.encoding !== 'latin1')
    throw badOption('loadCsv', 'encoding', "'utf8' or 'latin1'", o.encoding);
  if (o.standardize !== undefined && typeof o.standardize !== 'boolean')
    throw badOption('loadCsv', 'standardize', 'true or false', o.standardize);
  if (o.requireTargets !== undefined && typeof o.requireTargets !== 'boolean')
    throw badOption('loadCsv', 'requireTargets', 'true or false', o.requireTargets);
  if (o.validationSplit !== undefined) checkFraction('loadCsv', 'validationSplit', o.validationSplit);
  if (o.limit !== undefined) checkPositiveInt('loadCsv', 'limit', o.limit);
  if (o.chunkBytes !== undefined) checkPositiveInt('loadCsv', 'chunkBytes', o.chunkBytes);
  if (o.preprocessing !== undefined) {
    checkPreprocessing(o.preprocessing, 'loadCsv: preprocessing');
    for (const k of ['target', 'features', 'standardize'] as const) {
      if (o[k] !== undefined)
        throw badOption(
          'loadCsv',
          k,
          'left out with a saved preprocessing (it fixes the columns and the scaler)',
          o[k],
        );
    }
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw new DataFileError(
      file,
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message,
    );
  }
}

/** Per used column, where its values go in the raw row, and how to read them. */
interface Slot {
  column: CsvColumn;
  /** Its index in the file's header. */
  col: number;
  /** Category -> code while reading (codes in order of first appearance unless fixed by a saved preprocessing). */
  codes?: Map<string, number>;
}

/** Columns with every value distinct, from this many rows on, look like IDs (a warning says so). */
const ID_LIKE_ROWS = 10;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

class CsvReader implements FieldSink {
  private header: string[] | null = null;
  /** For each file column, its slot in the raw row, or -1 when unused. */
  private slotOf: Int32Array = new Int32Array(0);
  private slots: Slot[] = [];
  private featureSlots = 0;
  private targetsPresent = false;
  /** A saved preprocessing that lets targets be absent (predict): a missing target is NaN, not a missing row. */
  private readonly targetsOptional: boolean;
  private readonly missing: 'drop' | 'error';
  /** The id column's index in the header, or -1. */
  private idCol = -1;
  private rowId = '';
  private readonly ids: string[] = [];
  /** The first rows' fields as text, until the column kinds are decided. */
  private sniffed: { fields: (string | null)[]; line: number; id: string }[] | null = null;
  private sniffRow: (string | null)[] = [];
  private raw: Float32Array = new Float32Array(0);
  private rawBuffer: ArrayBuffer | null = null;
  private lines: Int32Array = new Int32Array(1024);
  private rows = 0;
  private readonly droppedLines: number[] = [];
  /** The header index of the row's first missing used column, or -1. */
  private missingCol = -1;
  private readonly limit: number;

  constructor(
    private readonly file: string,
    private readonly size: number,
    private readonly o: CsvOptions,
  ) {
    this.limit = o.limit ?? Infinity;
    this.targetsOptional = o.preprocessing !== undefined && o.requireTargets === false;
    this.missing = o.missing ?? (o.preprocessing ? 'error' : 'drop');
  }

  field(buf: Buffer, start: number, end: number, quoted: boolean, col: number, line: number): void {
    if (this.header === null) {
      this.sniffRow.push(this.text(buf, start, end, quoted, line, col));
      return;
    }
    if (col === this.idCol) this.rowId = this.text(buf, start, end, quoted, line, col);
    const s = col < this.slotOf.length ? this.slotOf[col] : -1;
    if (s < 0) return;
    if (this.sniffed !== null) {
      const t = this.text(buf, start, end, quoted, line, col);
      this.sniffRow[s] = MISSING.has(t.trim()) ? null : t;
      return;
    }
    const at = this.rows * this.slots.length + s;
    const slot = this.slots[s];
    if (slot.codes === undefined) {
      const v = parseNumber(buf, start, end);
      if (v === v) {
        if (Math.abs(v) > FLOAT32_MAX) this.notFloat32(this.text(buf, start, end, quoted, line, col), v, line, col);
        this.raw[at] = v;
        return;
      }
      const t = this.text(buf, start, end, quoted, line, col);
      if (MISSING.has(t.trim())) this.raw[at] = this.noValue(s, col);
      else this.notANumber(t, line, col);
    } else {
      const t = this.text(buf, start, end, quoted, line, col);
      this.raw[at] = MISSING.has(t.trim()) ? this.noValue(s, col) : this.code(slot, t, line, col);
    }
  }

  /** A missing value in slot `s`: NaN for an optional target, else the row is marked. */
  private noValue(s: number, col: number): number {
    if (!(this.targetsOptional && s >= this.featureSlots) && this.missingCol < 0) this.missingCol = col;
    return NaN;
  }

  endRecord(fields: number, line: number): boolean {
    if (this.header === null) {
      this.setHeader(this.sniffRow, line);
      this.sniffRow = [];
      return true;
    }
    if (fields !== this.header.length) {
      const col = Math.min(fields, this.header.length) + 1;
      const which =
        fields < this.header.length ? `missing column ${col} ("${this.header[col - 1]}")` : 'an extra field';
      throw new DataFileError(
        this.file,
        `ragged row: ${fields} fields but the header has ${this.header.length} (${which})`,
        line,
        col,
      );
    }
    if (this.sniffed !== null) {
      this.sniffed.push({ fields: this.sniffRow, line, id: this.rowId });
      this.sniffRow = new Array(this.slots.length).fill(null);
      if (this.sniffed.length < SNIFF_ROWS) return true;
      this.decideKinds();
      return this.rows < this.limit;
    }
    return this.commitRow(line);
  }

  /** Counts the row just read, or drops it (or fails) when a value was missing; false once `limit` rows are in. */
  private commitRow(line: number): boolean {
    if (this.missingCol >= 0) {
      const col = this.missingCol;
      this.missingCol = -1;
      if (this.missing === 'error') {
        const fix = "missing: 'drop' (--skip-missing) skips such rows";
        throw new DataFileError(
          this.file,
          `column "${this.header![col]}" has no value (empty or a missing-value marker) in this row; ${fix}`,
          line,
          col + 1,
        );
      }
      this.droppedLines.push(line);
    } else {
      if (this.rows === this.lines.length) {
        const grown = new Int32Array(this.lines.length * 2);
        grown.set(this.lines);
        this.lines = grown;
      }
      this.lines[this.rows] = line;
      if (this.idCol >= 0) this.ids.push(this.rowId);
      this.rows++;
      this.reserve(this.rows + 1);
    }
    return this.rows < this.limit;
  }

  private setHeader(names: (string | null)[], line: number): void {
    const header = names.map((n) => n ?? '');
    // By name, so a header of tens of thousands of columns is read in linear time.
    const index = new Map<string, number>();
    header.forEach((c, i) => {
      if (index.has(c)) throw new DataFileError(this.file, `the header names column "${c}" twice`, line, i + 1);
      index.set(c, i);
    });
    this.header = header;
    const saved = this.o.preprocessing;
    const missing = (name: string, what: string) => {
      const shown =
        header.length > 50 ? `${header.slice(0, 50).join(', ')}, ... (${header.length} in all)` : header.join(', ');
      const other = [';', '\t', '|'].find((d) => header.length === 1 && header[0].includes(d));
      const hint = other
        ? `; the header is one column holding ${JSON.stringify(other)}: give that separator with delimiter (--delimiter)`
        : '';
      return new DataFileError(this.file, `no ${what} column "${name}" in the header (columns: ${shown})${hint}`, line);
    };
    let targets: CsvColumn[];
    let features: CsvColumn[];
    if (saved) {
      for (const f of saved.features) if (!index.has(f.name)) throw missing(f.name, 'input');
      const present = saved.targets.filter((t) => index.has(t.name));
      if (present.length < saved.targets.length && ((this.o.requireTargets ?? true) || present.length > 0)) {
        throw missing(saved.targets.find((t) => !index.has(t.name))!.name, 'target');
      }
      targets = present.map((t) => ({ ...t }));
      features = saved.features.map((f) => ({ ...f }));
    } else {
      const names = this.o.target === undefined ? (index.has('y') ? ['y'] : []) : [this.o.target].flat();
      for (const t of names) if (!index.has(t)) throw missing(t, 'target');
      const featureNames = this.o.features ?? header.filter((c) => !names.includes(c));
      for (const f of featureNames) {
        if (!index.has(f)) throw missing(f, 'feature');
        if (names.includes(f)) throw new DataFileError(this.file, `column "${f}" is both a feature and a target`, line);
      }
      if (featureNames.length === 0)
        throw new DataFileError(this.file, 'no feature columns (every column is a target)', line);
      targets = names.map((name) => ({ name, kind: 'numeric' }));
      features = featureNames.map((name) => ({ name, kind: 'numeric' }));
    }
    if (this.o.id !== undefined) {
      if (!index.has(this.o.id)) throw missing(this.o.id, 'id');
      this.idCol = index.get(this.o.id)!;
    }
    this.targetsPresent = targets.length > 0;
    this.featureSlots = features.length;
    this.slots = [...features, ...targets].map((column) => ({
      column,
      col: index.get(column.name)!,
      codes: column.kind === 'categorical' ? new Map(column.categories!.map((c, i) => [c, i])) : undefined,
    }));
    this.slotOf = new Int32Array(header.length).fill(-1);
    this.slots.forEach((s, i) => (this.slotOf[s.col] = i));
    if (saved) this.startRaw();
    else {
      this.sniffed = [];
      this.sniffRow = new Array(this.slots.length).fill(null);
    }
  }

  /**
   * Column kinds from the first rows, then those rows into the raw buffer. A column is numeric when each of
   * those values is missing or written as a number, whatever its size: `1e400` or `inf` in a number column is
   * then the same error (naming its cell) in row 5 as in row 5,000, never a reason to one-hot the column.
   */
  private decideKinds(): void {
    const rows = this.sniffed!;
    this.sniffed = null;
    this.slots.forEach((slot, s) => {
      const numeric = rows.every((r) => r.fields[s] === null || !Number.isNaN(parseText(r.fields[s]!)));
      if (!numeric) {
        slot.column.kind = 'categorical';
        slot.codes = new Map();
      }
    });
    this.startRaw();
    for (const r of rows) {
      const at = this.rows * this.slots.length;
      r.fields.forEach((t, s) => {
        const slot = this.slots[s];
        if (t === null) this.raw[at + s] = this.noValue(s, slot.col);
        else if (slot.codes) this.raw[at + s] = this.code(slot, t, r.line, slot.col);
        else {
          const v = parseText(t);
          if (Math.abs(v) > FLOAT32_MAX) this.notFloat32(t, v, r.line, slot.col);
          this.raw[at + s] = v;
        }
      });
      this.rowId = r.id;
      if (!this.commitRow(r.line)) break;
    }
  }

  private startRaw(): void {
    // A record is at least one byte per column (its commas and newline), which bounds the rows.
    const maxRows = Math.min(this.limit + 1, Math.floor(this.size / this.header!.length) + 2);
    const maxBytes = Math.max(4, maxRows * this.slots.length * 4);
    this.rawBuffer = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(0, {
      maxByteLength: Math.min(maxBytes, MAX_RAW_BYTES),
    });
    this.raw = new Float32Array(this.rawBuffer);
    this.reserve(1);
  }

  /** Makes room for `rows` rows, growing the resizable buffer in place (no copy) by at least half. */
  private reserve(rows: number): void {
    const need = rows * this.slots.length;
    if (need <= this.raw.length) return;
    const buf = this.rawBuffer as ArrayBuffer & { resize(n: number): void; maxByteLength: number };
    if (need * 4 > buf.maxByteLength) {
      throw new DataFileError(
        this.file,
        `too large: its ${this.slots.length} used columns need more than 4 GiB of float32 values; use limit (--limit) or fewer columns`,
      );
    }
    buf.resize(Math.min(buf.maxByteLength, Math.max(need, Math.ceil(this.raw.length * 1.5), 1 << 16) * 4));
  }

  private code(slot: Slot, t: string, line: number, col: number): number {
    let c = slot.codes!.get(t);
    if (c === undefined) {
      if (this.o.preprocessing) {
        const known = slot.column.categories!;
        throw new DataFileError(
          this.file,
          `column "${slot.column.name}" holds ${JSON.stringify(t)}, a category the model was not trained on (known: ${known.map((k) => JSON.stringify(k)).join(', ')})`,
          line,
          col + 1,
        );
      }
      c = slot.codes!.size;
      slot.codes!.set(t, c);
    }
    return c;
  }

  private notFloat32(text: string, v: number, line: number, col: number): never {
    const why = Number.isFinite(v) ? 'which does not fit in float32' : 'which is not a finite number';
    throw new DataFileError(
      this.file,
      `column "${this.header![col]}" holds ${JSON.stringify(text.trim())}, ${why}`,
      line,
      col + 1,
    );
  }

  private notANumber(t: string, line: number, col: number): never {
    const how = this.o.preprocessing
      ? 'the model was trained on it as a number column'
      : `its first ${SNIFF_ROWS} rows hold numbers`;
    throw new DataFileError(
      this.file,
      `column "${this.header![col]}" holds ${JSON.stringify(t)}, which is not a number (${how})`,
      line,
      col + 1,
    );
  }

  /** The field's text (quoted: with doubled quotes undone); bytes that are not UTF-8 are an error naming the cell. */
  private text(buf: Buffer, start: number, end: number, quoted: boolean, line: number, col: number): string {
    let t: string;
    if (this.o.encoding === 'latin1') t = buf.toString('latin1', start, end);
    else {
      t = buf.toString('utf8', start, end);
      // U+FFFD is also a character a file may really hold: only then is the strict decoder asked.
      if (t.includes('\uFFFD')) {
        try {
          UTF8.decode(buf.subarray(start, end));
        } catch {
          const where = this.header ? `column "${this.header[col]}"` : 'the header';
          throw new DataFileError(
            this.file,
            `${where} holds bytes that are not UTF-8 (${JSON.stringify(buf.toString('latin1', start, end))} read as latin1); give the file's encoding with encoding (--encoding latin1)`,
            line,
            col + 1,
          );
        }
      }
    }
    return quoted ? t.replaceAll('""', '"') : t;
  }

  finish(bytes: number, lines: number): CsvData {
    if (this.header === null) throw new DataFileError(this.file, 'empty file: no header row');
    if (this.sniffed !== null) this.decideKinds();
    const dropped = this.droppedLines.length;
    if (this.rows === 0) {
      throw new DataFileError(
        this.file,
        dropped > 0 ? `no usable rows: all ${dropped} data rows have a missing value` : 'no data rows after the header',
        lines,
      );
    }
    const w = this.slots.length;
    const raw = this.raw.subarray(0, this.rows * w);
    const warnings: string[] = [];
    // Categories in sorted order, as pandas lists them, and only those of kept rows (pandas drops the rows
    // first); re-map the codes given in order of appearance.
    this.slots.forEach((slot, s) => {
      if (!slot.codes || this.o.preprocessing) return;
      const byCode = [...slot.codes.keys()];
      const used = new Uint8Array(byCode.length);
      for (let i = s; i < raw.length; i += w) used[raw[i]] = 1;
      const sorted = byCode.filter((_, c) => used[c] === 1).sort();
      const rank = new Map(sorted.map((c, i) => [c, i]));
      const remap = Float32Array.from(byCode, (c) => rank.get(c) ?? -1);
      slot.column.categories = sorted;
      for (let i = s; i < raw.length; i += w) raw[i] = remap[raw[i]];
      if (s < this.featureSlots && sorted.length === this.rows && this.rows >= ID_LIKE_ROWS) {
        warnings.push(
          `${this.file}: column "${slot.column.name}" has a different value in each of its ${this.rows} rows, so it looks like an ID or a name, yet it becomes ${sorted.length - 1} one-hot input columns; leave it out with features (--features)`,
        );
      }
    });
    const features = this.slots.slice(0, this.featureSlots).map((s) => s.column);
    const targets = this.slots.slice(this.featureSlots).map((s) => s.column);
    const x = expandFeatures(raw, this.rows, w, features);
    const y = this.targetsPresent ? pickTargets(raw, this.rows, w, this.featureSlots, targets.length) : undefined;
    let scaler = this.o.preprocessing?.scaler ?? null;
    if (!this.o.preprocessing && this.o.standardize) {
      const fitRows = Math.floor(this.rows * (1 - (this.o.validationSplit ?? 0)));
      if (fitRows === 0)
        throw new DataFileError(
          this.file,
          `standardize: no training rows to fit the scaler on (${this.rows} rows, validationSplit ${this.o.validationSplit})`,
        );
      scaler = fitScaler(x, fitRows);
    }
    if (scaler) applyScaler(x, scaler);
    const saved = this.o.preprocessing;
    const preprocessing = saved ?? makePreprocessing(features, targets, scaler);
    this.raw = new Float32Array(0);
    this.rawBuffer = null;
    return {
      x,
      y,
      preprocessing,
      droppedRows: dropped,
      droppedLines: this.droppedLines,
      lines: this.lines.slice(0, this.rows),
      ...(this.idCol >= 0 ? { ids: this.ids } : {}),
      warnings,
      bytes,
    };
  }
}

/** A sniffed field's number (its text is ASCII when it is one); NaN when it is not written as a number. */
function parseText(t: string): number {
  const b = Buffer.from(t, 'latin1');
  return parseNumber(b, 0, b.length);
}
