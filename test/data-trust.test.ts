/**
 * Issue 22's data-file defects through the library: every row kept and placed by its file line, numbers read
 * the same wherever they are, bytes that are not UTF-8, separators, repeated options, ID-like columns, a
 * preprocessing.json checked whole, and loaders that check sizes before they allocate (.npy, .npz, a CSV
 * header of 300,000 columns).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFileError, loadCsv, loadDataFile, loadNpy, loadNpz, loadPreprocessing } from '../src/data/index.js';

const HITTERS = fileURLToPath(new URL('../data/hitters.csv', import.meta.url));

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-trust-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

let n = 0;
async function file(content: string | Buffer, ext = 'csv'): Promise<string> {
  const f = join(tmp, `f${n++}.${ext}`);
  await writeFile(f, content);
  return f;
}

async function fileError(f: () => Promise<unknown>): Promise<DataFileError> {
  try {
    await f();
  } catch (err) {
    expect(err).toBeInstanceOf(DataFileError);
    return err as DataFileError;
  }
  throw new Error('expected a DataFileError');
}

describe('a saved preprocessing keeps every row', () => {
  it('Hitters: all 322 rows predicted, missing Salary as NaN, each with its file line and its name', async () => {
    const features = ['AtBat', 'Hits', 'League'];
    const { preprocessing } = await loadCsv(HITTERS, { target: 'Salary', features });
    const d = await loadCsv(HITTERS, { preprocessing, requireTargets: false, id: 'Names' });
    expect(d.x.shape[0]).toBe(322);
    expect(Array.from(d.lines)).toEqual(Array.from({ length: 322 }, (_, i) => i + 2));
    expect(d.ids![0]).toBe('-Andy Allanson');
    expect(Array.from(d.y!.data).filter(Number.isNaN)).toHaveLength(59);
    expect(d.y!.data[0]).toBeNaN(); // line 2: Andy Allanson has no salary
  });

  it('a missing feature is an error naming its line and column, unless rows are dropped (and then listed)', async () => {
    const train = await file('a,b,y\n1,2,3\n4,5,6\n7,8,9\n');
    const { preprocessing } = await loadCsv(train, { target: 'y' });
    const holes = await file('a,b,y\n1,2,3\n4,,6\n7,8,\n');
    const err = await fileError(() => loadCsv(holes, { preprocessing }));
    expect([err.line, err.column]).toEqual([3, 2]);
    expect(err.message).toMatch(/column "b" has no value .*\(--skip-missing\) skips such rows/);
    const skipped = await loadCsv(holes, { preprocessing, missing: 'drop' });
    expect(skipped.droppedLines).toEqual([3, 4]);
    expect(Array.from(skipped.lines)).toEqual([2]);
    // Training drops rows as pandas' dropna does, and says which lines.
    expect((await loadCsv(holes, { target: 'y' })).droppedLines).toEqual([3, 4]);
  });

  it('categories come from the kept rows only (pandas drops the rows, then one-hot encodes), after row 1,000 too', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => (i === 1100 ? 'blue,' : `${i % 2 ? 'red' : 'green'},${i}`));
    const d = await loadCsv(await file(`c,y\n${rows.join('\n')}\n`), { target: 'y' });
    expect(d.preprocessing.features[0].categories).toEqual(['green', 'red']);
    expect(d.droppedLines).toEqual([1102]);
  });
});

describe('a number is a number everywhere in the file', () => {
  for (const cell of ['1e400', 'inf', '-Infinity', `${'9'.repeat(400)}`]) {
    it(`${cell.slice(0, 12)} is the same error in row 2 as in row 1,500, naming file:line:column`, async () => {
      for (const at of [2, 1500]) {
        const rows = Array.from({ length: 2000 }, (_, i) => (i + 2 === at ? `x,${cell},1` : `x,${i % 7},1`));
        const f = await file(`name,a,y\n${rows.join('\n')}\n`);
        const err = await fileError(() => loadCsv(f, { features: ['a'] }));
        expect([err.line, err.column]).toEqual([at, 2]);
        expect(err.message).toMatch(new RegExp(`^${f}:${at}:2: column "a" holds ".*", which is not a finite number`));
      }
    });
  }
});

describe('text', () => {
  it('bytes that are not UTF-8 are an error naming the cell, or read with encoding latin1', async () => {
    const f = await file(
      Buffer.concat([Buffer.from('city,y\nParis,1\n'), Buffer.from('Caf\xe9,2\nCaf\xea,3\n', 'latin1')]),
    );
    const err = await fileError(() => loadCsv(f));
    expect([err.line, err.column]).toEqual([3, 1]);
    expect(err.message).toMatch(
      /column "city" holds bytes that are not UTF-8 \("Café" read as latin1\).*\(--encoding latin1\)/,
    );
    const d = await loadCsv(f, { encoding: 'latin1' });
    expect(d.preprocessing.features[0].categories).toEqual(['Café', 'Cafê', 'Paris']);
  });

  it('a semicolon file reads with delimiter, and without it the error suggests one', async () => {
    const f = await file('a;b;y\n1;2;3\n4;5;6\n');
    const err = await fileError(() => loadCsv(f, { target: 'y' }));
    expect(err.message).toMatch(
      /the header is one column holding ";": give that separator with delimiter \(--delimiter\)/,
    );
    const d = await loadCsv(f, { target: 'y', delimiter: ';' });
    expect(d.x).toEqual({ data: Float32Array.of(1, 2, 4, 5), shape: [2, 2] });
    const tabs = await loadCsv(await file('a\t"b"\ty\n1\t2\t3\n'), { delimiter: '\t' });
    expect(tabs.preprocessing.columns).toEqual(['a', 'b']);
  });

  it('features and target that name a column twice are refused, naming the option and the column', async () => {
    await expect(loadCsv(HITTERS, { target: 'Salary', features: ['Hits', 'Hits'] })).rejects.toThrow(
      /loadCsv: features names column "Hits" twice/,
    );
    await expect(loadCsv(HITTERS, { target: ['Salary', 'Salary'] })).rejects.toThrow(
      /loadCsv: target names column "Salary" twice/,
    );
  });

  it('an ID-like column (every value distinct) is one-hot encoded only with a warning that suggests features', async () => {
    const d = await loadCsv(HITTERS, { target: 'Salary' });
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings[0]).toMatch(
      /column "Names" has a different value in each of its 263 rows.*leave it out with features \(--features\)/,
    );
    expect((await loadCsv(HITTERS, { target: 'Salary', features: ['Hits', 'League'] })).warnings).toEqual([]);
  });
});

describe('preprocessing.json is checked whole', () => {
  const base = { format: 'lockstep-csv-preprocessing', version: 1, scaler: null };
  it.each<[string, object, RegExp]>([
    [
      'a repeated feature',
      {
        features: [
          { name: 'a', kind: 'numeric' },
          { name: 'a', kind: 'numeric' },
        ],
        targets: [],
        columns: ['a', 'a'],
      },
      /features\[1\]\.name repeats column "a" \(already features\[0\]\)/,
    ],
    [
      'a repeated category',
      {
        features: [{ name: 'c', kind: 'categorical', categories: ['x', 'y', 'x'] }],
        targets: [],
        columns: ['c_y', 'c_x'],
      },
      /features\[0\]\.categories repeats category "x"/,
    ],
    [
      'the target as a feature',
      { features: [{ name: 'a', kind: 'numeric' }], targets: [{ name: 'a', kind: 'numeric' }], columns: ['a'] },
      /targets\[0\]\.name repeats column "a" .*a target cannot also be a feature/,
    ],
    ['no features', { features: [], targets: [], columns: [] }, /features must list at least one column/],
  ])('%s', async (_what, fields, message) => {
    const dir = await mkdtemp(join(tmp, 'pp-'));
    await writeFile(join(dir, 'preprocessing.json'), JSON.stringify({ ...base, ...fields }));
    await expect(loadPreprocessing(dir)).rejects.toThrow(message);
  });
});

/** An .npy file's bytes: version 1 (or 2 with `v2`) header for `header`, then `data`. */
function npy(header: string, data: Buffer, v2 = false): Buffer {
  const lenBytes = v2 ? 4 : 2;
  const pad = (64 - ((8 + lenBytes + header.length + 1) % 64)) % 64;
  const text = Buffer.from(`${header}${' '.repeat(pad)}\n`, 'latin1');
  const len = Buffer.alloc(lenBytes);
  if (v2) len.writeUInt32LE(text.length);
  else len.writeUInt16LE(text.length);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, v2 ? 2 : 1, 0]), len, text, data]);
}

/** A zip of `entries` (stored or deflated); `declared` overrides an entry's uncompressed size in the directory. */
function zip(entries: { name: string; data: Buffer; deflate?: boolean; declared?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const size = e.declared ?? e.data.length;
    const head = (sig: number, extra: number) => {
      const b = Buffer.alloc(extra);
      b.writeUInt32LE(sig, 0);
      return b;
    };
    const local = head(0x04034b50, 30);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = head(0x02014b50, 46);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(e.deflate ? 8 : 0, 10);
    dir.writeUInt32LE(crc32(e.data), 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(size, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    central.push(dir, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('loaders check sizes before they allocate', () => {
  it('an .npy whose header claims more than the file holds is refused, naming the file', async () => {
    for (const shape of ['1000000000', '8000000000']) {
      const f = await file(
        npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (${shape},), }`, Buffer.alloc(16)),
        'npy',
      );
      const err = await fileError(() => loadNpy(f));
      expect(err.file).toBe(f);
      expect(err.message).toMatch(
        new RegExp(
          `truncated: shape \\(${shape}\\) of f4 needs ${Number(shape) * 4} bytes of data but the file has 16`,
        ),
      );
    }
  });

  it('an .npz member that declares a 4 GiB header is refused at once', async () => {
    const member = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0xff]),
      Buffer.alloc(8000, 0x20),
    ]);
    const f = await file(zip([{ name: 'x.npy', data: member }]), 'npz');
    await expect(loadNpz(f, ['x'])).rejects.toThrow(
      /x\.npy: the header claims 4294967295 bytes; an \.npy header is at most 10000/,
    );
  });

  it('an .npz compares the headers and the declared sizes before inflating anything', async () => {
    // x declares 500,000,000 float32 (2 GB) but holds a few bytes; y has 4 rows. Nothing of x is inflated.
    const xHead = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (500000000,), }", Buffer.alloc(64));
    const y = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", Buffer.alloc(16));
    const big = await file(
      zip([
        { name: 'x.npy', data: xHead, deflate: true, declared: xHead.length - 64 + 2e9 },
        { name: 'y.npy', data: y },
      ]),
      'npz',
    );
    await expect(loadDataFile(big)).rejects.toThrow(/y has 4 rows but x has 500000000/);
    // A declared size that is not what the header describes is refused before inflating.
    const lie = await file(
      zip([
        { name: 'x.npy', data: xHead, deflate: true, declared: 1 << 20 },
        { name: 'y.npy', data: y },
      ]),
      'npz',
    );
    await expect(loadDataFile(lie)).rejects.toThrow(
      /x\.npy: truncated: shape \(500000000\) of f4 needs 2000000000 bytes of data but the file has/,
    );
  });

  // Quadratic in the columns, this took minutes (80,000 columns took 23 s): past vitest's 120 s timeout.
  it('a CSV header of 300,000 columns reads in linear time', async () => {
    const cols = 300_000;
    const header = Array.from({ length: cols }, (_, i) => `c${i}`);
    const f = await file(`${header.join(',')},y\n${'1,'.repeat(cols)}2\n`);
    const d = await loadCsv(f, { features: header.slice(-3) });
    expect(d.x.shape).toEqual([1, 3]);
  });
});
