/**
 * The data loader (src/data/): CSV files against the chapter's pandas steps and a reference parser, the
 * saved preprocessing, NumPy's own .npy / .npz files (test/fixtures/npy/, written by make.py there), and
 * every bad-file error with its file, line and column. Property tests run with LOCKSTEP_SEED (default 42)
 * and print fast-check's seed and path on failure.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasets, Matrix, StandardScaler } from '../src/index.js';
import {
  DataFileError,
  loadCsv,
  loadDataFile,
  loadNpy,
  loadNpz,
  loadPreprocessing,
  npzKeys,
  savePreprocessing,
} from '../src/data/index.js';
import { parseNumber } from '../src/data/parse-number.js';

const FC_SEED = Number(process.env.LOCKSTEP_SEED ?? 42);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/npy/${name}`, import.meta.url));
const HITTERS = fileURLToPath(new URL('../data/hitters.csv', import.meta.url));
const HITTERS_FEATURES = [
  'AtBat',
  'Hits',
  'HmRun',
  'Runs',
  'RBI',
  'Walks',
  'Years',
  'CAtBat',
  'CHits',
  'CHmRun',
  'CRuns',
  'CRBI',
  'CWalks',
  'League',
  'Division',
  'PutOuts',
  'Assists',
  'Errors',
  'NewLeague',
];

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-data-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

let n = 0;
async function csvFile(text: string): Promise<string> {
  const file = join(tmp, `t${n++}.csv`);
  await writeFile(file, text);
  return file;
}

/** The DataFileError `f` throws (fails the test when it throws nothing or something else). */
async function fileError(f: () => Promise<unknown>): Promise<DataFileError> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(DataFileError);
    return err as DataFileError;
  }
  throw new Error('expected a DataFileError');
}

describe('parseNumber', () => {
  it('gives the double Number() gives, for any way a float is written', () => {
    const forms = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => String(v)),
      fc
        .tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 12 }))
        .map(([v, d]) => v.toFixed(d)),
      fc
        .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 16 }))
        .map(([v, d]) => v.toExponential(d)),
      fc.stringMatching(/^[+-]?\d{0,20}(\.\d{0,20})?([eE][+-]?\d{1,3})?$/),
    );
    fc.assert(
      fc.property(forms, (s) => {
        const b = Buffer.from(`#${s}#`);
        const expected = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s) ? Number(s) : NaN;
        expect(Object.is(parseNumber(b, 1, b.length - 1), expected)).toBe(true);
      }),
      { seed: FC_SEED, numRuns: 3000 },
    );
  });

  it('refuses what pandas would not read as a number', () => {
    for (const s of ['0x10', 'Infinit', '1_000', '1e', '.', '-', '1.2.3', 'abc', '', 'nan']) {
      const b = Buffer.from(s);
      expect(parseNumber(b, 0, b.length), s).toBeNaN();
    }
  });

  it('reads inf and Infinity as pandas does (infinite: the CSV reader then names the cell)', () => {
    for (const [s, v] of [
      ['inf', Infinity],
      ['-Infinity', -Infinity],
      ['+INF', Infinity],
      ['1e400', Infinity],
    ] as const) {
      const b = Buffer.from(s);
      expect(parseNumber(b, 0, b.length), s).toBe(v);
    }
  });
});

describe('loadCsv', () => {
  it("reproduces the chapter's Hitters design matrix (dropna, get_dummies drop_first), bit for bit, whatever the read size", async () => {
    const ref = await datasets.hittersXY();
    for (const chunkBytes of [1 << 22, 257, 31]) {
      const d = await loadCsv(HITTERS, { target: 'Salary', features: HITTERS_FEATURES, chunkBytes });
      expect(d.droppedRows).toBe(59);
      expect(d.preprocessing.columns).toEqual(ref.columns);
      expect(d.x.shape).toEqual([263, 19]);
      expect(
        Buffer.from(d.x.data.buffer).equals(
          Buffer.from(ref.x.data.buffer, ref.x.data.byteOffset, ref.x.data.byteLength),
        ),
      ).toBe(true);
      expect(Array.from(d.y!.data)).toEqual(Array.from(ref.y.data));
      expect(d.x.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  it('reads quoted fields, CRLF, blank lines and a BOM as a reference parser does, cut at any byte', async () => {
    const cell = fc.oneof(
      fc
        .double({ min: -1e9, max: 1e9, noNaN: true })
        .map((v) => ({ num: Math.fround(v), text: String(Math.fround(v)) })),
      fc.integer({ min: -999, max: 999 }).map((v) => ({ num: v, text: String(v) })),
    );
    const table = fc
      .record({
        cols: fc.integer({ min: 1, max: 4 }),
        rows: fc.integer({ min: 1, max: 12 }),
        crlf: fc.boolean(),
        bom: fc.boolean(),
        chunk: fc.integer({ min: 1, max: 64 }),
        quoteMask: fc.integer({ min: 0, max: 255 }),
        blankAfter: fc.integer({ min: 0, max: 12 }),
      })
      .chain((t) =>
        fc.record({
          t: fc.constant(t),
          cells: fc.array(cell, { minLength: t.cols * t.rows, maxLength: t.cols * t.rows }),
          cats: fc.array(fc.constantFrom('a', 'b,c', 'say "hi"', 'x\ny', '5" pipe', '"q"'), {
            minLength: t.rows,
            maxLength: t.rows,
          }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(table, async ({ t, cells, cats }) => {
        const nl = t.crlf ? '\r\n' : '\n';
        // Quoted when the mask says so or it must be: a quote inside an unquoted field is an ordinary character.
        const q = (s: string, i: number) =>
          (t.quoteMask >> (i % 8)) & 1 || /^"|[,\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
        const header = [...Array.from({ length: t.cols }, (_, c) => `c${c}`), 'cat'].map(q).join(',');
        const lines = [header];
        for (let r = 0; r < t.rows; r++) {
          lines.push(
            [...cells.slice(r * t.cols, (r + 1) * t.cols).map((c, i) => q(c.text, i + r)), q(cats[r], r)].join(','),
          );
          if (r === t.blankAfter) lines.push('');
        }
        const file = await csvFile(`${t.bom ? '\ufeff' : ''}${lines.join(nl)}${nl}`);
        const d = await loadCsv(file, { target: 'cat', chunkBytes: t.chunk });
        const sorted = [...new Set(cats)].sort();
        expect(d.x.shape).toEqual([t.rows, t.cols]);
        expect(Array.from(d.x.data)).toEqual(cells.map((c) => Math.fround(Number(c.text))));
        expect(Array.from(d.y!.data)).toEqual(cats.map((c) => sorted.indexOf(c)));
        expect(d.preprocessing.targets[0].categories).toEqual(sorted);
      }),
      { seed: FC_SEED, numRuns: 150 },
    );
  });

  it('drops rows with a missing value (pandas markers) in a used column only, and counts them', async () => {
    const file = await csvFile('a,b,unused,y\n1,2,NA,0\n,3,x,1\n4,NaN,x,0\n5,6,x,null\n7,8,,1\n');
    const d = await loadCsv(file, { features: ['a', 'b'] });
    expect(d.droppedRows).toBe(3);
    expect(Array.from(d.x.data)).toEqual([1, 2, 7, 8]);
    expect(Array.from(d.y!.data)).toEqual([0, 1]);
  });

  it('one-hot encodes a non-numeric feature without its first (sorted) category, after the numeric ones', async () => {
    const file = await csvFile('colour,size,y\nred,1,0\nblue,2,1\ngreen,3,0\nred,4,1\n');
    const d = await loadCsv(file);
    expect(d.preprocessing.columns).toEqual(['size', 'colour_green', 'colour_red']);
    expect(Array.from(d.x.data)).toEqual([1, 0, 1, 2, 0, 0, 3, 1, 0, 4, 0, 1]);
  });

  it('takes several targets for a multi-output model, and reads only `limit` rows', async () => {
    const file = await csvFile('a,t1,t2\n1,10,100\n2,20,200\n3,30,300\n');
    const d = await loadCsv(file, { target: ['t2', 't1'], limit: 2 });
    expect(d.y!.shape).toEqual([2, 2]);
    expect(Array.from(d.y!.data)).toEqual([100, 10, 200, 20]);
    expect(Array.from(d.x.data)).toEqual([1, 2]);
    // Below, at and past the 1,000 rows read before the column kinds are decided.
    const long = await csvFile(`a,y\n${Array.from({ length: 1500 }, (_, i) => `${i},${i % 2}`).join('\n')}\n`);
    for (const limit of [10, 1000, 1001, 1200, 5000]) {
      const l = await loadCsv(long, { limit });
      expect(l.x.shape, `limit ${limit}`).toEqual([Math.min(limit, 1500), 1]);
      expect(l.x.data.at(-1)).toBe(Math.min(limit, 1500) - 1);
    }
  });

  it('fits the scaler on the training rows only (Keras holds out the last validationSplit rows)', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => `${i * i},${i % 3},${i}`);
    const file = await csvFile(`a,b,y\n${rows.join('\n')}\n`);
    const d = await loadCsv(file, { standardize: true, validationSplit: 0.3 });
    const raw = Matrix.fromArray(Array.from({ length: 10 }, (_, i) => [i * i, i % 3]));
    const scaler = new StandardScaler().fit(raw.sliceRows(0, 7));
    expect(d.preprocessing.scaler!.mean).toEqual(Array.from(scaler.mean!));
    expect(d.preprocessing.scaler!.scale).toEqual(Array.from(scaler.scale!));
    expect(Array.from(d.x.data)).toEqual(Array.from(scaler.transform(raw).data));
    // The held-out rows do not take part: a scaler fitted on all rows gives other values.
    expect(d.preprocessing.scaler!.mean).not.toEqual(Array.from(new StandardScaler().fit(raw).mean!));
  });

  it('applies a saved preprocessing to a new CSV exactly (columns in another order, targets absent for predict)', async () => {
    const train = await csvFile('size,colour,price\n1,red,10\n2,blue,20\n3,green,30\n4,red,40\n');
    const fitted = await loadCsv(train, { target: 'price', standardize: true });
    const dir = join(tmp, 'model');
    await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
    await savePreprocessing(dir, fitted.preprocessing);
    const saved = (await loadPreprocessing(dir))!;
    expect(saved).toEqual(fitted.preprocessing);
    const again = await loadCsv(train, { preprocessing: saved });
    expect(Array.from(again.x.data)).toEqual(Array.from(fitted.x.data));
    const fresh = await csvFile('colour,extra,size\nred,x,1\ngreen,y,3\n');
    const p = await loadCsv(fresh, { preprocessing: saved, requireTargets: false });
    expect(p.y).toBeUndefined();
    const cols = fitted.x.shape[1];
    expect(Array.from(p.x.data)).toEqual([
      ...fitted.x.data.subarray(0, cols),
      ...fitted.x.data.subarray(2 * cols, 3 * cols),
    ]);
    expect(await loadPreprocessing(join(tmp, 'no-such-model'))).toBeUndefined();
  });

  it('rejects an unseen category and a missing column of a saved preprocessing, naming them', async () => {
    const train = await csvFile('size,colour,price\n1,red,10\n2,blue,20\n');
    const { preprocessing } = await loadCsv(train, { target: 'price' });
    const unseen = await fileError(async () =>
      loadCsv(await csvFile('size,colour,price\n1,red,1\n2,purple,2\n'), { preprocessing }),
    );
    expect([unseen.line, unseen.column]).toEqual([3, 2]);
    expect(unseen.message).toMatch(
      /"colour" holds "purple", a category the model was not trained on \(known: "blue", "red"\)/,
    );
    const noColumn = await fileError(async () => loadCsv(await csvFile('size,price\n1,1\n'), { preprocessing }));
    expect(noColumn.message).toMatch(/no input column "colour"/);
    const noTarget = await fileError(async () => loadCsv(await csvFile('size,colour\n1,red\n'), { preprocessing }));
    expect(noTarget.message).toMatch(/no target column "price"/);
  });

  it('checks a hand-edited preprocessing.json field by field', async () => {
    const dir = await mkdtemp(join(tmp, 'pp-'));
    await writeFile(
      join(dir, 'preprocessing.json'),
      JSON.stringify({
        format: 'lockstep-csv-preprocessing',
        version: 1,
        features: [{ name: 'a', kind: 'numeric' }],
        targets: [],
        columns: ['a'],
        scaler: { mean: [0], scale: [0] },
      }),
    );
    await expect(loadPreprocessing(dir)).rejects.toThrow(/scaler.scale must be positive/);
  });

  describe('bad files: the error names the file, line and column', () => {
    it.each([
      [
        'a ragged row',
        'a,b,y\n1,2,3\n4,5\n',
        3,
        3,
        /ragged row: 2 fields but the header has 3 \(missing column 3 \("y"\)\)/,
      ],
      [
        'a row with an extra field',
        'a,b,y\n1,2,3,4\n',
        2,
        4,
        /ragged row: 4 fields but the header has 3 \(an extra field\)/,
      ],
      [
        'a non-number in a numeric column',
        `a,y\n${'1,2\n'.repeat(1200)}1x,2\n`,
        1202,
        1,
        /column "a" holds "1x", which is not a number \(its first 1000 rows hold numbers\)/,
      ],
      ['a value too large for float32', 'a,y\n1e39,2\n', 2, 1, /"a" holds "1e39", which does not fit in float32/],
      ['an unclosed quote', 'a,y\n"1,2\n', 2, undefined, /quoted field is never closed/],
      ['a duplicate column', 'a,a,y\n1,2,3\n', 1, 2, /names column "a" twice/],
    ])('%s', async (_what, text, line, column, message) => {
      const file = await csvFile(text);
      const err = await fileError(() => loadCsv(file));
      expect(err.file).toBe(file);
      expect([err.line, err.column]).toEqual([line, column]);
      expect(err.message).toMatch(message);
      expect(err.message.startsWith(`${file}:${line}`)).toBe(true);
    });

    it('an empty file, a header alone, rows all missing, a missing target column, no file', async () => {
      expect((await fileError(async () => loadCsv(await csvFile('')))).message).toMatch(/empty file: no header row/);
      expect((await fileError(async () => loadCsv(await csvFile('a,y\n')))).message).toMatch(
        /no data rows after the header/,
      );
      expect((await fileError(async () => loadCsv(await csvFile('a,y\nNA,1\n1,\n')))).message).toMatch(
        /all 2 data rows have a missing value/,
      );
      const noTarget = await fileError(async () => loadCsv(await csvFile('a,b\n1,2\n'), { target: 'price' }));
      expect(noTarget.message).toMatch(/no target column "price" in the header \(columns: a, b\)/);
      expect(noTarget.line).toBe(1);
      expect((await fileError(() => loadCsv(join(tmp, 'nope.csv')))).message).toMatch(/no such file/);
      await expect(loadCsv(HITTERS, { targets: 'Salary' } as never)).rejects.toThrow(/did you mean 'target'/);
    });
  });
});

describe('.npy and .npz files written by NumPy', () => {
  const base = Array.from({ length: 12 }, (_, i) => i * 1.5 - 4);

  it('reads float32, float64, uint8 images, int32, int64 labels and bool, any shape', async () => {
    expect(await loadNpy(fixture('f4.npy'))).toEqual({ data: Float32Array.from(base), shape: [2, 3, 2] });
    const f8 = await loadNpy(fixture('f8.npy'));
    expect(Array.from(f8.data)).toEqual(base.map((v) => Math.fround(v / 3)));
    const images = await loadNpy(fixture('u1-images.npy'));
    expect(images.shape).toEqual([3, 4, 4, 1]);
    expect(Array.from(images.data)).toEqual(Array.from({ length: 48 }, (_, i) => i));
    expect(Array.from((await loadNpy(fixture('i4.npy'))).data)).toEqual([0, -7, Math.fround(2 ** 31 - 1)]);
    expect(await loadNpy(fixture('i8-labels.npy'))).toEqual({ data: Float32Array.of(3, 1, 4), shape: [3] });
    expect(await loadNpy(fixture('bool.npy'))).toEqual({ data: Float32Array.of(1, 0, 0, 1), shape: [2, 2] });
    expect(f8.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('rejects big-endian, object, float16 and Fortran-order arrays with the NumPy fix', async () => {
    await expect(loadNpy(fixture('big-endian.npy'))).rejects.toThrow(
      /big-endian data \(dtype >f4\) is not supported: save a.astype\('<f4'\)/,
    );
    await expect(loadNpy(fixture('object.npy'))).rejects.toThrow(/object arrays \(dtype \|O\) cannot be read/);
    await expect(loadNpy(fixture('f2.npy'))).rejects.toThrow(/dtype <f2 is not supported/);
    await expect(loadNpy(fixture('fortran.npy'))).rejects.toThrow(
      /Fortran-order arrays are not supported: save np.ascontiguousarray/,
    );
  });

  it('rejects a truncated file, at any length, and trailing bytes', async () => {
    const whole = await readFile(fixture('f8.npy'));
    for (const cut of [0, 5, 9, 40, whole.length - 1]) {
      const file = join(tmp, `cut${cut}.npy`);
      await writeFile(file, whole.subarray(0, cut));
      const err = await fileError(() => loadNpy(file));
      expect(err.message).toMatch(cut === 0 ? /empty file/ : /truncated/);
      expect(err.file).toBe(file);
    }
    const longer = join(tmp, 'longer.npy');
    await writeFile(longer, Buffer.concat([whole, Buffer.alloc(3)]));
    await expect(loadNpy(longer)).rejects.toThrow(/3 bytes after the data/);
    const notNpy = await csvFile('a,b\n1,2\n');
    await expect(loadNpy(notNpy)).rejects.toThrow(/not an .npy file/);
  });

  it("reads np.savez (Keras's x_train / y_train names) and np.savez_compressed archives", async () => {
    const keras = fixture('keras-style.npz');
    expect((await npzKeys(keras)).sort()).toEqual(['x_test', 'x_train', 'y_test', 'y_train']);
    const train = await loadDataFile(keras);
    expect(train.x.shape).toEqual([3, 2, 2]);
    expect(Array.from(train.y!.data)).toEqual([0, 1, 2]);
    expect(train.source).toMatch(/x_train, y_train/);
    const test = await loadDataFile(keras, { split: 'test' });
    expect(Array.from(test.x.data)).toEqual([12 % 7, 13 % 7, 14 % 7, 15 % 7, 16 % 7, 17 % 7, 18 % 7, 19 % 7]);
    const xy = await loadDataFile(fixture('xy-compressed.npz'));
    expect(xy.x).toEqual({ data: Float32Array.from(base), shape: [2, 3, 2] });
    expect(Array.from(xy.y!.data)).toEqual([1, 2]);
    await expect(loadNpz(keras, ['images'])).rejects.toThrow(
      /no array "images" in the archive \(it holds: x_train, y_train, x_test, y_test\)/,
    );
    await expect(loadNpz(fixture('f4.npy'), ['x'])).rejects.toThrow(/not a readable .npz \(zip\) archive/);
  });

  it('loadDataFile pairs an x .npy with its y .npy and checks their rows', async () => {
    const d = await loadDataFile(fixture('u1-images.npy'), { y: fixture('i8-labels.npy'), limit: 2 });
    expect(d.x.shape).toEqual([2, 4, 4, 1]);
    expect(Array.from(d.y!.data)).toEqual([3, 1]);
    await expect(loadDataFile(fixture('f4.npy'), { y: fixture('i8-labels.npy') })).rejects.toThrow(
      /has 3 rows but .*f4.npy has 2/,
    );
    await expect(loadDataFile(fixture('f4.npy'), { target: 'y' })).rejects.toThrow(
      /option target applies to CSV files only/,
    );
    await expect(loadDataFile(join(tmp, 'data.parquet'))).rejects.toThrow(/unknown data file type ".parquet"/);
  });
});

describe('loader options', () => {
  it('are checked, each error naming the option and the value received', async () => {
    await expect(loadCsv(HITTERS, { target: 7 } as never)).rejects.toThrow(
      /loadCsv: target must be a column name or a non-empty array of them. Received: target=7/,
    );
    await expect(loadCsv(HITTERS, { features: [] })).rejects.toThrow(
      /features must be a non-empty array of column names/,
    );
    await expect(loadCsv(HITTERS, { standardize: 'yes' } as never)).rejects.toThrow(
      /standardize must be true or false/,
    );
    await expect(loadCsv(HITTERS, { validationSplit: 1 })).rejects.toThrow(/validationSplit must be in \[0, 1\)/);
    await expect(loadCsv(HITTERS, { limit: 0 })).rejects.toThrow(/limit must be a positive integer/);
    const { preprocessing } = await loadCsv(HITTERS, { target: 'Salary', features: ['Hits'] });
    await expect(loadCsv(HITTERS, { preprocessing, standardize: true })).rejects.toThrow(
      /standardize must be left out with a saved preprocessing/,
    );
    await expect(loadCsv(HITTERS, { preprocessing: { ...preprocessing, columns: ['x'] } })).rejects.toThrow(
      /loadCsv: preprocessing: columns must be/,
    );
    await expect(loadDataFile(fixture('keras-style.npz'), { split: 'validation' } as never)).rejects.toThrow(
      /split must be 'train' or 'test'/,
    );
  });
});
