import { describe, expect, it } from 'vitest';
import { hitters } from '../src/datasets/index.js';
import { Matrix } from '../src/matrix.js';
import {
  DataFrame,
  StandardScaler,
  dropNA,
  frameToMatrix,
  getDummies,
  oneHot,
  toCategorical,
  trainTestSplit,
} from '../src/preprocessing.js';

const tiny = () =>
  new DataFrame(
    ['id', 'size', 'colour', 'grade'],
    [
      { id: 1, size: 10, colour: 'red', grade: 3 },
      { id: 2, size: null, colour: 'blue', grade: 10 },
      { id: 3, size: 30, colour: null, grade: 2 },
      { id: 4, size: 40, colour: 'red', grade: 3 },
    ],
  );

describe('DataFrame', () => {
  it('selects, drops and drops NA rows without touching the original', () => {
    const f = tiny();
    expect(f.select(['colour', 'id']).columns).toEqual(['colour', 'id']);
    expect(f.drop(['id', 'grade']).rows[0]).toEqual({ size: 10, colour: 'red' });
    expect(dropNA(f).column('id')).toEqual([1, 4]);
    expect(f.length).toBe(4);
    expect(() => f.column('weight')).toThrow('DataFrame has no column "weight". Columns: id, size, colour, grade');
  });

  it('frameToMatrix copies numbers and names the cell that is not one', () => {
    const m = frameToMatrix(dropNA(tiny()), ['grade', 'size']);
    expect(m.shape).toEqual([2, 2]);
    expect(m.toArray()).toEqual([
      [3, 10],
      [3, 40],
    ]);
    expect(() => tiny().toMatrix(['id', 'size'])).toThrow(
      'row 1, column "size" is null, not a number; drop such rows with dropNA',
    );
    expect(() => tiny().toMatrix()).toThrow(
      'row 0, column "colour" is "red", not a number; encode the column with getDummies',
    );
  });
});

describe('getDummies', () => {
  it('appends sorted 0/1 level columns after the others; NA encodes as zeros', () => {
    const d = getDummies(tiny());
    expect(d.columns).toEqual(['id', 'size', 'grade', 'colour_blue', 'colour_red']);
    expect(d.column('colour_blue')).toEqual([0, 1, 0, 0]);
    expect(d.column('colour_red')).toEqual([1, 0, 0, 1]);
  });

  it('drops the first level and sorts numeric levels by value', () => {
    const d = oneHot(tiny(), { dropFirst: true, columns: ['colour', 'grade'] });
    expect(d.columns).toEqual(['id', 'size', 'colour_red', 'grade_3', 'grade_10']);
    expect(d.column('grade_10')).toEqual([0, 1, 0, 0]);
  });

  it('builds the 19 Hitters predictors of the chapter', async () => {
    const frame = (await hitters()).dropNA();
    const x = getDummies(frame.drop(['Names', 'Salary']), { dropFirst: true });
    expect(x.columns).toEqual([
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
      'PutOuts',
      'Assists',
      'Errors',
      'League_N',
      'Division_W',
      'NewLeague_N',
    ]);
    const m = x.toMatrix();
    expect(m.shape).toEqual([263, 19]);
    const colSum = (c: number) => Array.from({ length: m.rows }, (_, r) => m.get(r, c)).reduce((a, b) => a + b);
    // Counted independently with awk over the rows that have a salary.
    expect([colSum(0), colSum(16), colSum(17), colSum(18)]).toEqual([106158, 124, 134, 122]);
    expect(Array.from(m.row(0).subarray(16))).toEqual([1, 1, 1]); // Alan Ashby: N, W, N
  });
});

describe('StandardScaler', () => {
  const x = () =>
    Matrix.fromArray([
      [1, 2],
      [3, 2],
      [5, 2],
    ]);

  it('uses the population standard deviation and scale 1 for a constant column', () => {
    const input = x();
    const scaler = new StandardScaler().fit(input);
    expect(Array.from(scaler.mean!)).toEqual([3, 2]);
    expect(scaler.scale![0]).toBeCloseTo(Math.sqrt(8 / 3), 12); // ((1-3)^2 + 0 + (5-3)^2) / 3
    expect(scaler.scale![1]).toBe(1);
    const z = scaler.transform(input);
    const a = Math.fround(Math.sqrt(3 / 2)); // 2 / sqrt(8/3)
    expect(Array.from(z.data)).toEqual([-a, 0, 0, 0, a, 0]);
    expect(Array.from(input.data)).toEqual([1, 2, 3, 2, 5, 2]);
  });

  it('inverseTransform undoes fitTransform', () => {
    const scaler = new StandardScaler();
    const back = scaler.inverseTransform(
      scaler.fitTransform(
        Matrix.fromArray([
          [10, -4],
          [20, 7.5],
          [60, 1],
        ]),
      ),
    );
    back.data.forEach((v, i) => expect(v).toBeCloseTo([10, -4, 20, 7.5, 60, 1][i], 4));
  });

  it('names both column counts when they differ, and refuses to transform before fit', () => {
    const scaler = new StandardScaler();
    expect(() => scaler.transform(x())).toThrow('StandardScaler.transform called before fit');
    scaler.fit(x());
    expect(() => scaler.transform(Matrix.zeros(2, 3))).toThrow('fitted on 2 columns but transform received 3');
    expect(() => scaler.fit(Matrix.zeros(0, 2))).toThrow('needs at least one row. Received: shape [0, 2]');
  });
});

describe('trainTestSplit', () => {
  // Row i of x holds i and 2i, and y holds i, so the test can see which rows went where.
  const n = 263;
  const x = Matrix.fromArray(Array.from({ length: n }, (_, i) => [i, 2 * i]));
  const y = Int32Array.from({ length: n }, (_, i) => i);

  it('rounds a fractional test size up and keeps x and y rows together', () => {
    const s = trainTestSplit(x, y, { testSize: 1 / 3, seed: 1 });
    expect([s.xTrain.rows, s.xTest.rows, s.yTrain.length, s.yTest.length]).toEqual([175, 88, 175, 88]);
    s.yTest.forEach((v, i) => expect([s.xTest.get(i, 0), s.xTest.get(i, 1)]).toEqual([v, 2 * v]));
    const all = [...s.yTrain, ...s.yTest].sort((a, b) => a - b);
    expect(all).toEqual(Array.from(y)); // disjoint and complete
    expect(Array.from(s.yTest)).not.toEqual(Array.from(y.subarray(0, 88))); // shuffled
  });

  it('is deterministic per seed and takes a count or a Matrix y', () => {
    const a = trainTestSplit(x, y, { testSize: 50, seed: 7 });
    const b = trainTestSplit(x, Matrix.fromArray(Array.from(y)), { testSize: 50, seed: 7 });
    const c = trainTestSplit(x, y, { testSize: 50, seed: 8 });
    expect(a.yTest.length).toBe(50);
    expect(Array.from(b.yTest.data)).toEqual(Array.from(a.yTest));
    expect(Array.from(c.yTest)).not.toEqual(Array.from(a.yTest));
  });

  it('names testSize when it leaves a set empty or is not a count', () => {
    for (const testSize of [0, -0.5, 1.5, n, 300, Number.NaN]) {
      expect(() => trainTestSplit(x, y, { testSize, seed: 1 })).toThrow(`Received: testSize=${testSize}`);
    }
    expect(() => trainTestSplit(x, y.subarray(1), { seed: 1 })).toThrow('x has 263 rows but y has 262');
  });
});

describe('toCategorical', () => {
  it('one-hot encodes, with the class count from the labels or given', () => {
    expect(toCategorical([0, 2, 1]).toArray()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    expect(toCategorical(Int32Array.of(1), 4).toArray()).toEqual([[0, 1, 0, 0]]);
  });

  it('names the row of a bad label and a bad numClasses', () => {
    expect(() => toCategorical([0, 2.5])).toThrow('label at row 1 is 2.5, expected a non-negative integer');
    expect(() => toCategorical([0, 1, -1])).toThrow('label at row 2 is -1');
    expect(() => toCategorical([3, 10], 10)).toThrow('label at row 1 is 10, expected an integer in [0, 10)');
    expect(() => toCategorical([0], 0)).toThrow('numClasses must be a positive integer. Received: numClasses=0');
  });
});
