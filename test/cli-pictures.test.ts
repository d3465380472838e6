/**
 * `lockstep predict --misclassified` and `lockstep evaluate --confusion`, run as users run them: the compiled
 * dist/src/cli/main.js in a child process (build first; `npm test` does). The pictures are checked against the
 * library computing the same thing from the saved model.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confusionMatrix, datasets, findMisclassified, loadModel, misclassifiedTitle } from '../src/index.js';
import { CLI, lockstep } from './helpers/cli.js';

const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

let tmp: string;
let mnist: string;
let hitters: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p .\` first`);
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-cli-pictures-'));
  [mnist, hitters] = [join(tmp, 'mnist'), join(tmp, 'hitters')];
  const runs = await Promise.all([
    lockstep(
      'train',
      'mnist-mlp',
      '--epochs',
      '1',
      '--limit',
      '2000',
      '--workers',
      '0',
      '--verbose',
      '0',
      '--out',
      mnist,
    ),
    lockstep('train', 'hitters', '--epochs', '1', '--workers', '0', '--verbose', '0', '--out', hitters),
  ]);
  for (const run of runs) expect(run.code, run.stderr).toBe(0);
}, 120_000);
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('--help', () => {
  it('documents --misclassified and --confusion', async () => {
    const predict = (await lockstep('predict', '--help')).stdout.replace(/\s+/g, ' ');
    expect(predict).toContain('--misclassified <file>');
    expect(predict).toContain('list and draw the first n misclassified rows (default 20)');
    expect((await lockstep('evaluate', '--help')).stdout).toContain('--confusion <file>');
  });
});

describe('predict --misclassified', () => {
  it('lists and draws the first --limit misclassified rows of the whole set, as loadModel + findMisclassified finds them', async () => {
    const file = join(tmp, 'wrong.svg');
    const run = await lockstep(
      'predict',
      mnist,
      '--data',
      'mnist-test',
      '--misclassified',
      file,
      '--limit',
      '5',
      '--workers',
      '0',
    );
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^row\s+label\s+predicted\s+probability\s+probabilities$/);
    const rows = lines.slice(1, 6).map((l) => l.trim().split(/\s+/));

    const model = await loadModel(mnist);
    const { test } = await datasets.mnist();
    const wrong = findMisclassified(test.labels, await model.predict(test.images, { workers: 0 }));
    await model.dispose();
    expect(lines[6]).toBe(`${wrong.length} of 10000 rows of mnist-test misclassified; drew the first 5 to ${file}`);
    expect(lines).toHaveLength(7);
    expect(rows.map((r) => Number(r[0]))).toEqual(wrong.slice(0, 5).map((m) => m.index));
    for (const [i, r] of rows.entries()) {
      expect(r[1]).not.toBe(r[2]); // label and prediction differ
      expect(r.slice(4)).toHaveLength(10); // every class's probability
      expect(Number(r[3])).toBeCloseTo(Number(r[4 + Number(r[2])]), 1);
      expect(Number(r[3])).toBeCloseTo(wrong[i].probability, 4);
    }
    const svg = await readFile(file, 'utf8');
    expect(texts(svg, 'title')).toEqual(wrong.slice(0, 5).map((m) => misclassifiedTitle(m)));
    expect(texts(svg, 'title')[0]).toMatch(/^label \d, predicted \d \(0\.\d\d\)$/);
    expect(svg.match(/<image /g)).toHaveLength(5);
  });

  it('writes PNG, draws 20 without --limit, and --json gives the rows', async () => {
    const file = join(tmp, 'wrong.png');
    const run = await lockstep(
      'predict',
      mnist,
      '--data',
      'mnist-test',
      '--misclassified',
      file,
      '--workers',
      '0',
      '--json',
    );
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(json).toMatchObject({ data: 'mnist-test', rows: 10000, file });
    expect(json.misclassified).toBeGreaterThan(20); // 13 training steps leave hundreds of mistakes
    expect(json.drawn).toHaveLength(20);
    expect(json.drawn[0].probabilities).toHaveLength(10);
    expect(json.drawn[0].label).not.toBe(json.drawn[0].predicted);
    expect([...(await readFile(file)).subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  });
});

describe('evaluate --confusion', () => {
  it("draws the confusion matrix of the evaluated rows: its counts are loadModel + confusionMatrix's, its accuracy evaluate's", async () => {
    const file = join(tmp, 'confusion.svg');
    const run = await lockstep(
      'evaluate',
      mnist,
      '--data',
      'mnist-test',
      '--limit',
      '600',
      '--confusion',
      file,
      '--workers',
      '0',
    );
    expect(run.code, run.stderr).toBe(0);
    const [scores, wrote] = run.stdout.trimEnd().split('\n');
    expect(wrote).toBe(`Wrote the confusion matrix to ${file}`);
    const svg = await readFile(file, 'utf8');

    const model = await loadModel(mnist);
    const { test } = await datasets.mnist();
    const first = test.images.sliceRows(0, 600);
    const expected = confusionMatrix(test.labels.subarray(0, 600), await model.predict(first, { workers: 0 }));
    await model.dispose();
    expect(texts(svg, 'count').map(Number)).toEqual(expected.flat());
    const accuracy = Number(scores.match(/accuracy: (\S+)/)![1]);
    const diagonal = expected.reduce((a, row, i) => a + row[i], 0);
    expect(accuracy).toBeCloseTo(diagonal / 600, 4);
    expect(texts(svg, 'title')[0]).toBe(
      `Confusion matrix (accuracy ${((100 * diagonal) / 600).toFixed(2)}%, 600 samples)`,
    );
  });
});

describe('picture flags: bad input', () => {
  /** Exit 2 (usage), one line on stderr naming the problem, nothing on stdout, no file. */
  async function expectUsage(args: string[], file: string, ...mentions: string[]) {
    const run = await lockstep(...args);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    for (const m of mentions) expect(run.stderr).toContain(m);
    expect(existsSync(file)).toBe(false);
  }

  it('a file that is neither .svg nor .png', async () => {
    await expectUsage(
      ['predict', mnist, '--data', 'mnist-test', '--misclassified', join(tmp, 'w.pdf')],
      join(tmp, 'w.pdf'),
      'lockstep predict: --misclassified must name a .svg or .png file',
    );
    await expectUsage(
      ['evaluate', mnist, '--data', 'mnist-test', '--confusion', join(tmp, 'c.jpg')],
      join(tmp, 'c.jpg'),
      'lockstep evaluate: --confusion must name a .svg or .png file',
    );
  });

  it('a regression model or data that are not images', async () => {
    await expectUsage(
      ['evaluate', hitters, '--data', 'hitters-test', '--confusion', join(tmp, 'c.svg'), '--workers', '0'],
      join(tmp, 'c.svg'),
      "--confusion needs a classifier (a softmax or sigmoid output); this model's last layer has activation 'linear'",
    );
    await expectUsage(
      ['predict', hitters, '--data', 'hitters-test', '--misclassified', join(tmp, 'w.svg'), '--workers', '0'],
      join(tmp, 'w.svg'),
      '--misclassified needs a classifier with a softmax output',
      "activation 'linear' (a regression model)",
    );
  });

  it('a classifier of tabular rows: says it needs images (or --image-shape), draws no 2x2 "image"', async () => {
    // Iris-like rows: 4 measurements, 3 named classes.
    const csv = join(tmp, 'flowers.csv');
    const rows = Array.from(
      { length: 30 },
      (_, r) =>
        [r % 7, (r * 3) % 5, (r * 2) % 9, r % 4].map((v) => v / 10).join(',') +
        `,${['setosa', 'versicolor', 'virginica'][r % 3]}`,
    );
    await writeFile(csv, ['a,b,c,d,species', ...rows].join('\n'));
    const config = join(tmp, 'flowers.json');
    await writeFile(
      config,
      JSON.stringify({
        layers: [{ className: 'Dense', units: 3, activation: 'softmax' }],
        compile: { loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] },
      }),
    );
    const model = join(tmp, 'flowers');
    const train = await lockstep(
      'train',
      config,
      '--data',
      csv,
      '--target',
      'species',
      '--epochs',
      '1',
      '--workers',
      '0',
      '--verbose',
      '0',
      '--out',
      model,
    );
    expect(train.code, train.stderr).toBe(0);
    const file = join(tmp, 'flowers.svg');
    await expectUsage(
      ['predict', model, '--data', csv, '--misclassified', file, '--workers', '0'],
      file,
      '--misclassified draws the misclassified rows as images',
      '[height, width] or [height, width, channels]',
      '--image-shape HxW',
      'holds rows of 4 values',
      'run predict without --misclassified',
    );
    await expectUsage(
      ['predict', model, '--data', csv, '--misclassified', file, '--image-shape', '3x3', '--workers', '0'],
      file,
      '--image-shape 3x3 holds 9 values, but the rows of --data',
      'hold 4',
    );
    await expectUsage(
      ['predict', model, '--data', csv, '--image-shape', '2x2', '--workers', '0'],
      file,
      '--image-shape applies to --misclassified FILE',
    );
    // Asked for in so many words, rows of 4 are drawn as 2x2 pictures.
    const drawn = await lockstep(
      'predict',
      model,
      '--data',
      csv,
      '--misclassified',
      file,
      '--image-shape',
      '2x2',
      '--workers',
      '0',
    );
    expect(drawn.code, drawn.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
  });
});
