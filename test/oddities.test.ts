/**
 * Small silent oddities that are errors now: non-numbers inside number[][], evaluate on no rows, a
 * validationSplit that leaves no validation rows, and messages that print NaN as NaN.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, setRandomSeed } from '../src/index.js';
import { badOption, formatValue } from '../src/errors.js';

function model(): Sequential {
  setRandomSeed(3);
  const m = new Sequential();
  m.add(layers.Input({ shape: [3] }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: 'sgd' });
  return m;
}
const rows = () => [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
  [1, 0, 1],
];
const y = [1, 2, 3, 4];

describe('non-numbers inside number[][] and number[]', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'x: row 2, column 1 holds null, not a number'],
    ['a numeric string', '3', 'x: row 2, column 1 holds "3", not a number'],
    ['undefined', undefined, 'x: row 2, column 1 holds undefined, not a number'],
    ['a boolean', true, 'x: row 2, column 1 holds true, not a number'],
  ])('%s in x is an error naming row and column, and changes nothing', async (_what, value, message) => {
    const m = model();
    const before = m.getWeights();
    const x = rows();
    (x[2] as unknown[])[1] = value;
    await expect(m.fit(x, y, { workers: 0, verbose: 0 })).rejects.toThrow(message);
    await expect(m.predict(x, { workers: 0 })).rejects.toThrow(message);
    expect(m.getWeights()).toEqual(before);
  });

  it('a null in a flat y names its row', async () => {
    await expect(model().fit(rows(), [1, 2, null as never, 4], { workers: 0, verbose: 0 })).rejects.toThrow(
      'y: row 2, column 0 holds null, not a number',
    );
  });
});

describe('empty sets', () => {
  it('evaluate on 0 rows is an error', async () => {
    const m = model();
    const empty = { data: new Float32Array(0), shape: [0, 3] as [number, number] };
    await expect(m.evaluate(empty, { data: new Float32Array(0), shape: [0, 1] }, { workers: 0 })).rejects.toThrow(
      'evaluate: x has no rows',
    );
  });

  it('a validationSplit that leaves no validation rows is an error, not val_loss 0', async () => {
    const m = model();
    await expect(m.fit(rows(), y, { validationSplit: 1e-17, workers: 0, verbose: 0 })).rejects.toThrow(
      'fit: validationSplit=1e-17 of 4 rows leaves no validation rows',
    );
    expect(m.iterations).toBe(0);
  });

  it('empty validationData is an error', async () => {
    const m = model();
    await expect(
      m.fit(rows(), y, {
        validationData: [
          { data: new Float32Array(0), shape: [0, 3] },
          { data: new Float32Array(0), shape: [0, 1] },
        ],
        workers: 0,
        verbose: 0,
      }),
    ).rejects.toThrow('fit: validationData has no rows');
  });
});

describe('received values print as written', () => {
  it('epochs: NaN says Received: epochs=NaN', async () => {
    await expect(model().fit(rows(), y, { epochs: NaN, workers: 0, verbose: 0 })).rejects.toThrow(
      'fit: epochs must be a positive integer. Received: epochs=NaN',
    );
    await expect(model().fit(rows(), y, { batchSize: Infinity, workers: 0, verbose: 0 })).rejects.toThrow(
      'Received: batchSize=Infinity',
    );
  });

  it('formatValue keeps NaN, Infinity, undefined and strings apart', () => {
    expect(
      [NaN, -Infinity, undefined, '3', [1, NaN], { a: Infinity }, 2n, null, new Float32Array(4)].map((v) =>
        formatValue(v),
      ),
    ).toEqual(['NaN', '-Infinity', 'undefined', '"3"', '[1,NaN]', '{"a":Infinity}', '2', 'null', 'Float32Array(4)']);
    expect(badOption('x', 'rate', 'in [0, 1)', NaN).message).toBe('x: rate must be in [0, 1). Received: rate=NaN');
  });
});
