/**
 * `lockstep train/evaluate/predict --data FILE` as users run them (the built dist/src/cli/main.js in a
 * child process; `npm test` builds first): a CSV with a categorical column and string labels, trained,
 * saved with its preprocessing and applied to new CSVs; NumPy .npy and .npz files; the errors.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, lockstep, type Run } from './helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/npy/${name}`, import.meta.url));
const HITTERS = fileURLToPath(new URL('../data/hitters.csv', import.meta.url));

let tmp: string;
const MODEL = {
  layers: [
    { className: 'Dense', units: 8, activation: 'relu' },
    { className: 'Dense', units: 2, activation: 'softmax' },
  ],
  compile: { loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] },
  fit: { epochs: 3, batchSize: 16 },
};

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-cli-data-'));
  await writeFile(join(tmp, 'model.json'), JSON.stringify(MODEL));
  // The .npy labels are 3, 1, 4 and the .npz ones 0..2: five classes.
  await writeFile(
    join(tmp, 'five.json'),
    JSON.stringify({ ...MODEL, layers: [MODEL.layers[0], { ...MODEL.layers[1], units: 5 }] }),
  );
  // 120 rows: two numbers, a colour, a yes/no label; 7 rows (i % 17 === 3) miss a value.
  const rows = ['a,b,colour,label'];
  for (let i = 0; i < 120; i++) {
    const a = ((i * 37) % 23) / 11 - 1;
    const b = ((i * 53) % 19) / 9 - 1;
    const colour = ['red', 'green', 'blue'][i % 3];
    rows.push(`${i % 17 === 3 ? '' : a},${b},${colour},${a + b > 0 ? 'yes' : 'no'}`);
  }
  await writeFile(join(tmp, 'train.csv'), `${rows.join('\n')}\n`);
  await writeFile(join(tmp, 'new.csv'), 'colour,b,a\nblue,0.5,0.25\nred,-1,-1\n');
  await writeFile(join(tmp, 'unseen.csv'), 'colour,b,a\nblue,0.5,0.25\npurple,-1,-1\n');
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

function expectOneLineError(run: Run, code: number, ...mentions: string[]): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  for (const m of mentions) expect(run.stderr).toContain(m);
}

describe('lockstep train --data FILE.csv', () => {
  it('trains on a CSV (one-hot colour, string labels, dropped rows counted), saves the preprocessing, and evaluate/predict apply it', async () => {
    const out = join(tmp, 'm');
    const t = await lockstep(
      'train',
      join(tmp, 'model.json'),
      '--data',
      join(tmp, 'train.csv'),
      '--target',
      'label',
      '--standardize',
      '--workers',
      '2',
      '--verbose',
      '2',
      '--out',
      out,
    );
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('Read 113 rows x 4 inputs');
    expect(t.stdout).toContain('dropped 7 rows with a missing value');
    expect(t.stdout).toContain('categorical: colour (3), label (2); standardized');
    expect(t.stdout).toContain('(with its preprocessing.json)');
    const saved = JSON.parse(await readFile(join(out, 'preprocessing.json'), 'utf8'));
    expect(saved.columns).toEqual(['a', 'b', 'colour_green', 'colour_red']);
    expect(saved.targets).toEqual([{ name: 'label', kind: 'categorical', categories: ['no', 'yes'] }]);

    // Scoring keeps every row: a missing value is an error naming its line, unless --skip-missing (which lists them).
    expectOneLineError(
      await lockstep('evaluate', out, '--data', join(tmp, 'train.csv')),
      1,
      'train.csv:5:1: column "a" has no value',
      '(--skip-missing)',
    );
    const e = await lockstep('evaluate', out, '--data', join(tmp, 'train.csv'), '--json', '--skip-missing');
    expect(e.code, e.stderr).toBe(0);
    const logs = JSON.parse(e.stdout);
    expect(logs).toMatchObject({ rows: 113, droppedRows: 7, skippedLines: [5, 22, 39, 56, 73, 90, 107] });
    expect(logs.accuracy).toBeGreaterThan(0.5);

    const p = await lockstep('predict', out, '--data', join(tmp, 'new.csv'), '--json');
    expect(p.code, p.stderr).toBe(0);
    const pred = JSON.parse(p.stdout);
    expect(pred.rows).toBe(2);
    expect(pred.classes).toHaveLength(2);
    // The string labels come back by name, beside their lines.
    expect(pred.lines).toEqual([2, 3]);
    expect(pred.classNames).toEqual(pred.classes.map((c: number) => ['no', 'yes'][c]));
    const table = await lockstep('predict', out, '--data', join(tmp, 'train.csv'), '--limit', '3', '--skip-missing');
    expect(table.stdout.split('\n')[0]).toMatch(/^line {2}class {2}probability {2}label$/);
    expect(table.stdout).toMatch(/\n +2 +(yes|no) +0\.\d{4} +no\n/);
    const svg = join(tmp, 'confusion.svg');
    const c = await lockstep('evaluate', out, '--data', join(tmp, 'train.csv'), '--skip-missing', '--confusion', svg);
    expect(c.code, c.stderr).toBe(0);
    expect(await readFile(svg, 'utf8')).toMatch(/>yes</);

    expectOneLineError(
      await lockstep('predict', out, '--data', join(tmp, 'unseen.csv')),
      1,
      'unseen.csv:3:1',
      '"purple", a category the model was not trained on',
    );
    expectOneLineError(await lockstep('evaluate', out, '--data', join(tmp, 'new.csv')), 1, 'no target column "label"');
  });

  it('names a missing target column and CSV flags given with other data', async () => {
    expectOneLineError(
      await lockstep('train', join(tmp, 'model.json'), '--data', join(tmp, 'train.csv'), '--target', 'price'),
      1,
      'train.csv:1',
      'no target column "price"',
    );
    expectOneLineError(
      await lockstep('train', join(tmp, 'model.json'), '--data', fixture('f4.npy'), '--target', 'y'),
      2,
      '--target applies to a .csv --data file',
    );
    expectOneLineError(await lockstep('train', join(tmp, 'model.json')), 2, 'give --data FILE');
    expectOneLineError(await lockstep('train', 'hitters', '--standardize'), 2, 'need --data FILE');
  });
});

describe('lockstep train --data FILE.npy / .npz', () => {
  it('trains on an x .npy with --y labels (images flattened to rows) and evaluates on a Keras-style .npz', async () => {
    const out = join(tmp, 'npy');
    const t = await lockstep(
      'train',
      join(tmp, 'five.json'),
      '--data',
      fixture('u1-images.npy'),
      '--y',
      fixture('i8-labels.npy'),
      '--workers',
      '0',
      '--verbose',
      '0',
      '--epochs',
      '1',
      '--validation-split',
      '0',
      '--out',
      out,
    );
    expect(t.code, t.stderr).toBe(0);
    expect(existsSync(join(out, 'preprocessing.json'))).toBe(false);
    const s = await lockstep('summary', out);
    expect(s.stdout).toMatch(/dense \(Dense\) .* 136 │/); // 16 inputs (4x4x1 pixels) x 8 units + 8 biases

    const z = await lockstep(
      'train',
      join(tmp, 'five.json'),
      '--data',
      fixture('keras-style.npz'),
      '--workers',
      '0',
      '--verbose',
      '1',
      '--epochs',
      '1',
      '--validation-split',
      '0',
      '--out',
      join(tmp, 'npz'),
    );
    expect(z.code, z.stderr).toBe(0);
    expect(z.stdout).toContain('keras-style.npz: x_train, y_train');
    const e = await lockstep('evaluate', join(tmp, 'npz'), '--data', fixture('keras-style.npz'), '--json');
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ rows: 2 });
    expect(JSON.parse(e.stdout).data).toContain('x_test, y_test');
  });

  it('reports a bad .npy with its file', async () => {
    expectOneLineError(
      await lockstep(
        'train',
        join(tmp, 'model.json'),
        '--data',
        fixture('big-endian.npy'),
        '--y',
        fixture('i8-labels.npy'),
      ),
      1,
      'big-endian.npy: big-endian data',
    );
    expectOneLineError(
      await lockstep('train', join(tmp, 'model.json'), '--data', fixture('f4.npy')),
      2,
      'give their .npy file with --y',
    );
  });
});

describe('lockstep predict / evaluate on a CSV keep every row (issue 22)', () => {
  const REGRESSION = {
    layers: [
      { className: 'Dense', units: 4, activation: 'relu' },
      { className: 'Dense', units: 1 },
    ],
    compile: { loss: 'mse', optimizer: 'adam' },
    fit: { epochs: 1, batchSize: 64 },
  };
  const SIGMOID = {
    ...MODEL,
    layers: [MODEL.layers[0], { className: 'Dense', units: 1, activation: 'sigmoid' }],
    compile: { loss: 'binary_crossentropy', optimizer: 'adam', metrics: ['accuracy'] },
  };

  it('Hitters: 322 predictions for 322 rows, each with its CSV line and --id, in the table, --json and --output', async () => {
    const out = join(tmp, 'hitters');
    await writeFile(join(tmp, 'reg.json'), JSON.stringify(REGRESSION));
    const t = await lockstep(
      'train',
      join(tmp, 'reg.json'),
      '--data',
      HITTERS,
      '--target',
      'Salary',
      '--features',
      'AtBat,Hits,Years,League',
      '--standardize',
      '--workers',
      '0',
      '--verbose',
      '0',
      '--out',
      out,
    );
    expect(t.code, t.stderr).toBe(0);
    const csv = join(tmp, 'predictions.csv');
    const j = await lockstep(
      'predict',
      out,
      '--data',
      HITTERS,
      '--id',
      'Names',
      '--json',
      '--output',
      csv,
      '--workers',
      '0',
    );
    expect(j.code, j.stderr).toBe(0);
    const pred = JSON.parse(j.stdout);
    expect(pred.rows).toBe(322);
    expect(pred.lines).toEqual(Array.from({ length: 322 }, (_, i) => i + 2));
    expect(pred.ids[0]).toBe('-Andy Allanson'); // no salary: predicted all the same
    expect(pred.predictions).toHaveLength(322);
    const written = (await readFile(csv, 'utf8')).trimEnd().split('\n');
    expect(written).toHaveLength(323);
    expect(written[0]).toBe('line,Names,prediction,target');
    expect(written[1]).toBe(`2,-Andy Allanson,${pred.predictions[0][0]},`);
    expect(written[2]).toMatch(/^3,-Alan Ashby,[-\d.e]+,475$/);

    const table = await lockstep('predict', out, '--data', HITTERS, '--id', 'Names', '--limit', '2', '--workers', '0');
    expect(table.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^line {2}Names +prediction +target$/),
      expect.stringMatching(/^ {3}2 {2}-Andy Allanson +-?\d+\.\d{4}$/),
      expect.stringMatching(/^ {3}3 {2}-Alan Ashby +-?\d+\.\d{4} +475\.0000$/),
    ]);
    expectOneLineError(
      await lockstep('predict', out, '--data', HITTERS, '--output', HITTERS),
      2,
      '--output',
      'is the --data file itself',
    );

    // Without its preprocessing.json the model cannot read a CSV: an error naming the file, not a new scaler.
    const bare = join(tmp, 'hitters-bare');
    await cp(out, bare, { recursive: true });
    await rm(join(bare, 'preprocessing.json'));
    expectOneLineError(
      await lockstep('predict', bare, '--data', HITTERS),
      1,
      `${join(bare, 'preprocessing.json')} is missing`,
    );
  });

  it('a missing feature is an error naming its line; --skip-missing skips it and says which lines', async () => {
    const rows = (await readFile(HITTERS, 'utf8')).split('\n');
    rows[4] = rows[4].replace(/^("[^"]*"),\d+,/, '$1,NA,'); // line 5: no AtBat
    const holes = join(tmp, 'hitters-holes.csv');
    await writeFile(holes, rows.join('\n'));
    const out = join(tmp, 'hitters');
    expectOneLineError(
      await lockstep('predict', out, '--data', holes),
      1,
      'hitters-holes.csv:5:2: column "AtBat" has no value',
    );
    const p = await lockstep('predict', out, '--data', holes, '--skip-missing', '--json', '--workers', '0');
    expect(p.code, p.stderr).toBe(0);
    const pred = JSON.parse(p.stdout);
    expect([pred.rows, pred.skippedLines]).toEqual([321, [5]]);
    expect(pred.lines.slice(2, 4)).toEqual([4, 6]);
    const text = await lockstep('predict', out, '--data', holes, '--skip-missing', '--limit', '4', '--workers', '0');
    expect(text.stdout).toContain('(skipped 1 row of');
    expect(text.stdout).toContain('with a missing value (--skip-missing): line 5)');
  });

  it('a sigmoid model prints its class by name next to the probability', async () => {
    await writeFile(join(tmp, 'sigmoid.json'), JSON.stringify(SIGMOID));
    const out = join(tmp, 'sigmoid');
    const t = await lockstep(
      'train',
      join(tmp, 'sigmoid.json'),
      '--data',
      join(tmp, 'train.csv'),
      '--target',
      'label',
      '--workers',
      '0',
      '--verbose',
      '0',
      '--out',
      out,
    );
    expect(t.code, t.stderr).toBe(0);
    const p = await lockstep('predict', out, '--data', join(tmp, 'new.csv'), '--workers', '0');
    expect(p.code, p.stderr).toBe(0);
    const lines = p.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^line {2}class {2}probability$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {3}2 {2}(yes|no) +0\.\d{4}$/),
      expect.stringMatching(/^ {3}3 {2}(yes|no) +0\.\d{4}$/),
    ]);
  });

  it('repeated columns in --features / --target, and a bad --delimiter, are usage errors naming them; --delimiter reads a ; file', async () => {
    expectOneLineError(
      await lockstep(
        'train',
        join(tmp, 'model.json'),
        '--data',
        join(tmp, 'train.csv'),
        '--target',
        'label',
        '--features',
        'a,a',
      ),
      2,
      '--features names column "a" twice',
    );
    expectOneLineError(
      await lockstep('train', join(tmp, 'model.json'), '--data', join(tmp, 'train.csv'), '--target', 'label,label'),
      2,
      '--target names column "label" twice',
    );
    expectOneLineError(
      await lockstep('predict', join(tmp, 'm'), '--data', join(tmp, 'new.csv'), '--delimiter', ';;'),
      2,
      '--delimiter must be one ASCII character',
    );
    await writeFile(join(tmp, 'semicolon.csv'), 'colour;b;a\nblue;0.5;0.25\n');
    const p = await lockstep(
      'predict',
      join(tmp, 'm'),
      '--data',
      join(tmp, 'semicolon.csv'),
      '--delimiter',
      ';',
      '--json',
      '--workers',
      '0',
    );
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ rows: 1, lines: [2] });
  });
});
