/** Stream epoch results to a CSV file (Keras 3 `CSVLogger`). */
import { type FileHandle, open, stat } from 'node:fs/promises';
import type { Logs } from './callback.js';
import { Callback } from './callback.js';
import { pyRepr } from './format.js';
import { checkBoolean, checkKnownOptions, checkString, withDefaults } from './monitor.js';

export interface CSVLoggerOptions {
  /** Field separator. Default `','`. */
  separator?: string;
  /** Append to an existing file (no second header) instead of overwriting it. Default `false`. */
  append?: boolean;
}

const DEFAULTS = Object.freeze({ separator: ',', append: false });

/**
 * Writes one row per epoch: `epoch` (0-based, as Keras writes it) then the log keys in sorted order, the
 * header coming with the first epoch. Numbers are written as Python writes floats (`0.5`, `1e-05`), a key
 * missing from an epoch's logs as `NA`. As in Keras, when the first epoch has no `val_` keys, a `val_`
 * column is added for every key (so validation that starts later still has a column).
 *
 * The file is opened (and, unless `append`, truncated) in `onTrainBegin`; rows are written in order with
 * `fs/promises`, and `onTrainEnd` waits for them and closes the file. Lines end with `\n`.
 *
 * @example
 * new CSVLogger('training.csv', { append: true })
 */
export class CSVLogger extends Callback {
  readonly filename: string;
  readonly separator: string;
  readonly append: boolean;

  keys: string[] | undefined;
  #file: FileHandle | undefined;
  #appendHeader = true;
  /** Every write chains onto this, so rows land in epoch order even if a hook is not awaited. */
  #pending: Promise<void> = Promise.resolve();

  constructor(filename: string, options: CSVLoggerOptions = {}) {
    super();
    this.filename = checkString('CSVLogger', 'filename', filename);
    checkKnownOptions('CSVLogger', options, Object.keys(DEFAULTS));
    const o = withDefaults(DEFAULTS, options);
    this.separator = checkString('CSVLogger', 'separator', o.separator);
    this.append = checkBoolean('CSVLogger', 'append', o.append);
  }

  override onTrainBegin(): Promise<void> {
    this.keys = undefined;
    return this.#enqueue(async () => {
      await this.#close();
      this.#appendHeader = true;
      if (this.append) {
        const size = await stat(this.filename).then(
          (s) => s.size,
          (e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT') return 0;
            throw e;
          },
        );
        // Keras: a file that is not empty already has its header.
        this.#appendHeader = size === 0;
      }
      this.#file = await open(this.filename, this.append ? 'a' : 'w');
    });
  }

  override onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const epochLogs = logs ?? {};
    let header: string | undefined;
    if (this.keys === undefined) {
      const keys = Object.keys(epochLogs).sort();
      if (keys.length > 0 && !keys.some((k) => k.startsWith('val_'))) keys.push(...keys.map((k) => `val_${k}`));
      this.keys = keys;
      if (this.#appendHeader) header = this.#line(['epoch', ...keys]);
    }
    const values = this.keys.map((k) => (k in epochLogs ? pyRepr(epochLogs[k]) : 'NA'));
    const text = (header ?? '') + this.#line([String(epoch), ...values]);
    return this.#enqueue(async () => {
      if (this.#file === undefined)
        throw new Error(`CSVLogger: ${this.filename} is not open (onTrainBegin was not called)`);
      await this.#file.write(text);
    });
  }

  override onTrainEnd(): Promise<void> {
    return this.#enqueue(() => this.#close());
  }

  async #close(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) await file.close();
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.#pending.then(task);
    // A failed write is reported to whoever awaits it; the queue itself carries on.
    this.#pending = next.catch(() => undefined);
    return next;
  }

  /** One CSV line, quoting like Python's `csv` module (QUOTE_MINIMAL, doubled quotes). */
  #line(fields: string[]): string {
    const quoted = fields.map((f) =>
      f.includes(this.separator) || f.includes('"') || f.includes('\n') || f.includes('\r')
        ? `"${f.replace(/"/g, '""')}"`
        : f,
    );
    return `${quoted.join(this.separator)}\n`;
  }
}
