/**
 * Ensemble: the average of the members' predictions, scored like each member. Checked against sums written
 * out here, against each member's own evaluate, and against Jensen's inequality (cross-entropy and squared
 * error are convex in the prediction, so the average never scores worse than the members' mean); then
 * `lockstep ensemble` on a folder of saved models.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ensemble, layers, Matrix, Sequential } from '../src/index.js';
import { loadData } from '../src/cli/data.js';
import { lockstep } from './helpers/cli.js';
import { loadCsv, savePreprocessing } from '../src/data/index.js';

const ROWS = 40;

/** Deterministic inputs in [-2, 2) (a small LCG, so the test needs no seed of its own). */
function inputs(rows: number, cols: number, seed: number): Matrix {
  let s = seed >>> 0;
  const data = new Float32Array(rows * cols).map(() => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
  return new Matrix(data, rows, cols);
}

function classifier(seed: number, classes = 3): Sequential {
  const m = new Sequential({ seed });
  m.add(layers.Input({ shape: [4] }));
  m.add(layers.Dense({ units: 6, activation: 'tanh' }));
  m.add(layers.Dense({ units: classes, activation: 'softmax' }));
  m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return m;
}

function regressor(seed: number, inputsPerRow = 4): Sequential {
  const m = new Sequential({ seed });
  m.add(layers.Input({ shape: [inputsPerRow] }));
  m.add(layers.Dense({ units: 5, activation: 'relu' }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: 'rmsprop', metrics: ['mae'] });
  return m;
}

const x = inputs(ROWS, 4, 7);
const labels = Int32Array.from({ length: ROWS }, (_, r) => (r * 7) % 3);
const models: Sequential[] = [];
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-ensemble-'));
});
afterAll(async () => {
  for (const m of models) await m.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('Ensemble', () => {
  it('averages the probabilities and scores the average as written out by hand', async () => {
    const members = [1, 2, 3].map((s) => classifier(s));
    models.push(...members);
    const ensemble = new Ensemble(members);
    const each = await Promise.all(members.map((m) => m.predict(x, { workers: 0 })));
    const avg = await ensemble.predict(x, { workers: 0 });
    expect([avg.rows, avg.cols]).toEqual([ROWS, 3]);
    for (let i = 0; i < avg.data.length; i++)
      expect(avg.data[i]).toBe(Math.fround((each[0].data[i] + each[1].data[i] + each[2].data[i]) / 3));

    const scores = await ensemble.evaluate(x, labels, { workers: 0 });
    let loss = 0;
    let hits = 0;
    for (let r = 0; r < ROWS; r++) {
      const row = Array.from(avg.row(r));
      const sum = row.reduce((a, b) => a + b, 0);
      loss -= Math.log(Math.min(Math.max(row[labels[r]] / sum, 1e-7), 1 - 1e-7));
      if (row.indexOf(Math.max(...row)) === labels[r]) hits++;
    }
    expect(scores.ensemble.loss).toBeCloseTo(loss / ROWS, 12);
    expect(scores.ensemble.accuracy).toBe(hits / ROWS);

    // Each member scores as its own evaluate does (which works from logits: the last digits may differ).
    for (const [i, m] of members.entries()) {
      const own = await m.evaluate(x, labels, { workers: 0 });
      expect(scores.members[i].loss).toBeCloseTo(own.loss, 5);
      expect(scores.members[i].accuracy).toBe(own.accuracy);
    }
    expect(scores.meanOfMembers.loss).toBeCloseTo(scores.members.reduce((a, l) => a + l.loss, 0) / 3, 12);
    // Cross-entropy is convex in the probabilities: the average never loses to the members' mean.
    expect(scores.ensemble.loss).toBeLessThanOrEqual(scores.meanOfMembers.loss);
    expect(new Set(scores.members.map((l) => l.loss)).size).toBe(3);
  });

  it("averages values for regression; its squared error is at most the members' mean", async () => {
    const members = [4, 5].map((s) => regressor(s));
    models.push(...members);
    const y = new Matrix(
      Float32Array.from({ length: ROWS }, (_, r) => Math.sin(r)),
      ROWS,
      1,
    );
    const scores = await new Ensemble(members).evaluate(x, y, { workers: 0 });
    const [p, q] = await Promise.all(members.map((m) => m.predict(x, { workers: 0 })));
    let se = 0;
    let ae = 0;
    for (let r = 0; r < ROWS; r++) {
      const e = Math.fround((p.data[r] + q.data[r]) / 2) - y.data[r];
      se += e * e;
      ae += Math.abs(e);
    }
    expect(scores.ensemble.loss).toBeCloseTo(se / ROWS, 12);
    expect(scores.ensemble.mae).toBeCloseTo(ae / ROWS, 12);
    expect(scores.ensemble.loss).toBeLessThanOrEqual(scores.meanOfMembers.loss);
    // y as nested arrays or { data, shape } scores the same.
    const nested = Array.from({ length: ROWS }, (_, r) => [y.data[r]]);
    expect((await new Ensemble(members).evaluate(x, nested, { workers: 0 })).ensemble).toEqual(scores.ensemble);
    expect(
      (await new Ensemble(members).evaluate(x, { data: y.data, shape: [ROWS, 1] }, { workers: 0 })).ensemble,
    ).toEqual(scores.ensemble);
    await expect(new Ensemble(members).evaluate(x, [[1, 2]], { workers: 0 })).rejects.toThrow(
      'Ensemble.evaluate: x has 40 rows but y has 1',
    );
  });

  it('names what is wrong with its members', async () => {
    expect(() => new Ensemble([])).toThrow('Ensemble: models must be a non-empty array');
    expect(() => new Ensemble([classifier(1), {} as Sequential])).toThrow(
      'Ensemble: models[1] is not a Sequential model or a Model',
    );
    const wide = [classifier(1), classifier(2, 4)];
    models.push(...wide);
    await expect(new Ensemble(wide).predict(x, { workers: 0 })).rejects.toThrow(
      'Ensemble: models[1] predicts 4 values per row but models[0] predicts 3',
    );
    const mixed = [classifier(1), regressor(1)];
    models.push(...mixed);
    await expect(new Ensemble(mixed).evaluate(x, labels, { workers: 0 })).rejects.toThrow(
      'models[1] was compiled with loss mse but models[0] with sparse_categorical_crossentropy',
    );
    await expect(new Ensemble([classifier(1)]).predict(x, { workers: 0, batch: 3 } as never)).rejects.toThrow(
      "Unrecognized option 'batch'",
    );
  });
});

describe('lockstep ensemble', () => {
  it('scores every model of a folder and their average, as Ensemble does', async () => {
    const members = [7, 8, 9].map((s) => regressor(s, 19));
    models.push(...members);
    for (const [i, m] of members.entries()) await m.save(join(root, 'sweep', `job${i}`));
    const run = await lockstep('ensemble', join(root, 'sweep'), '--data', 'hitters-test', '--json', '--workers', '0');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    const test = await loadData('hitters-test');
    const scores = await new Ensemble(members).evaluate(test.x, test.y!, { workers: 0 });
    expect(json.rows).toBe(88);
    expect(json.members.map((m: { dir: string }) => m.dir)).toEqual(
      [0, 1, 2].map((i) => join(root, 'sweep', `job${i}`)),
    );
    expect(json.ensemble).toEqual(scores.ensemble);
    expect(json.members.map(({ dir: _d, ...logs }: { dir: string }) => logs)).toEqual(scores.members);

    const table = await lockstep('ensemble', join(root, 'sweep'), '--data', 'hitters-test', '--workers', '0');
    expect(table.stdout).toContain('3 models on hitters-test (88 rows), each alone and their predictions averaged:');
    expect(table.stdout).toMatch(/ensemble \(average of 3\)\s+[\d.]+\s+[\d.]+/);
    const missing = await lockstep('ensemble', join(root, 'nothing'), '--data', 'hitters-test');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('is not a directory');
  });

  it("scores a CSV only with the members' own preprocessing.json, the same for all", async () => {
    const members = [3, 4].map((s) => regressor(s, 4));
    models.push(...members);
    const dirs = [0, 1].map((i) => join(root, 'csv', `job${i}`));
    for (const [i, m] of members.entries()) await m.save(dirs[i]);
    const rows = Array.from({ length: 6 }, (_, r) => [r, r * 2, 1 - r, r % 3, r / 2].join(','));
    const csv = join(root, 'rows.csv');
    await writeFile(csv, ['a,b,c,d,y', ...rows].join('\n'));
    const swapped = join(root, 'swapped.csv');
    await writeFile(swapped, ['b,a,c,d,y', ...rows].join('\n'));
    const score = () => lockstep('ensemble', join(root, 'csv'), '--data', csv, '--workers', '0');

    // Without one, the models would read the CSV through a preprocessing learned from the file being scored.
    await savePreprocessing(dirs[0], (await loadCsv(csv, { target: 'y' })).preprocessing);
    const missing = await score();
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`${join(dirs[1], 'preprocessing.json')} is missing`);

    await savePreprocessing(dirs[1], (await loadCsv(swapped, { target: 'y' })).preprocessing);
    const differs = await score();
    expect(differs.code).not.toBe(0);
    expect(differs.stderr).toContain(
      `${join(dirs[1], 'preprocessing.json')} differs from ${join(dirs[0], 'preprocessing.json')}`,
    );

    await savePreprocessing(dirs[1], (await loadCsv(csv, { target: 'y' })).preprocessing);
    const ok = await score();
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('2 models on');
  });
});
