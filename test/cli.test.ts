/**
 * The `lockstep` command, run as users run it: the compiled dist/src/cli/main.js in a child process.
 * Build first (`npx tsc -p .`; `npm test` does it).
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { loadCsv, savePreprocessing } from '../src/data/index.js';
import { parseConfig } from '../src/cli/config.js';
import { CLI, lockstep, type Run } from './helpers/cli.js';

let tmp: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p .\` first`);
  tmp = await mkdtemp(join(tmpdir(), 'lockstep-cli-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A failure prints exactly one line on stderr and nothing on stdout. */
function expectOneLineError(run: Run, code: number, ...mentions: string[]): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  for (const m of mentions) expect(run.stderr).toContain(m);
}

describe('lockstep --help', () => {
  it('lists the commands, examples and exit codes', async () => {
    const run = await lockstep('--help');
    expect(run.code).toBe(0);
    for (const word of [
      'train',
      'evaluate',
      'predict',
      'summary',
      'bench',
      'mnist-mlp',
      'mnist-logreg',
      'hitters',
      'hitters-test',
      'Exit status',
    ])
      expect(run.stdout).toContain(word);
  });

  it.each([
    [
      'train',
      [
        '--epochs',
        '--batch-size',
        '--workers',
        '--seed',
        '--validation-split',
        '--out',
        '--plot',
        '--verbose',
        '"layers"',
        '"compile"',
        '"data"',
      ],
    ],
    ['evaluate', ['--data', 'mnist-test', 'hitters-test', '--json']],
    ['predict', ['--data', '--limit', '--json']],
    ['summary', ['<model>']],
    ['bench', ['dist/bench/run.js', '[args...]']],
  ])('%s --help documents its options', async (command, mentions) => {
    const run = await lockstep(command, '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: lockstep ${command}`);
    for (const m of mentions) expect(run.stdout).toContain(m);
  });

  it('a bare `lockstep` prints the usage on stderr and exits 2', async () => {
    const run = await lockstep();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: lockstep');
  });
});

describe('lockstep summary', () => {
  it('summarises an example without loading its data', async () => {
    const run = await lockstep('summary', 'mnist-mlp');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Model: "mnist_mlp"');
    expect(run.stdout).toContain('Total params: 109,386 (427.29 KB)');
  });
});

describe('train hitters, then evaluate and predict the saved model', () => {
  let model: string;
  let train: Run;
  beforeAll(async () => {
    model = join(tmp, 'hitters');
    train = await lockstep(
      'train',
      'hitters',
      '--epochs',
      '3',
      '--workers',
      '0',
      '--verbose',
      '2',
      '--out',
      model,
      '--plot',
      join(tmp, 'h.svg'),
    );
  });

  it('trains, prints one line per epoch, saves the model and writes the figure', async () => {
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toBe('');
    expect(train.stdout).toContain('Total params: 1,051');
    expect(train.stdout).toContain(
      'Training hitters on 175 rows of hitters-train, validating on hitters-test (88 rows); 3 epochs of batch 32, seed 13',
    );
    expect(train.stdout.match(/^6\/6 - .* - loss: .* - val_mean_absolute_error: /gm)).toHaveLength(3);
    expect(existsSync(join(model, 'model.json')) && existsSync(join(model, 'weights.bin'))).toBe(true);
    const svg = await readFile(join(tmp, 'h.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml[^]*<svg[^]*mean absolute error/i);
    const loaded = await loadModel(model);
    expect(loaded.iterations).toBe(3 * 6);
    expect(loaded.compiledArgs()).toMatchObject({ lossName: 'mse', metrics: ['mean_absolute_error'] });
  });

  it("evaluate on hitters-test gives the last epoch's validation numbers", async () => {
    const lastVal = [...train.stdout.matchAll(/val_loss: (\S+) - val_mean_absolute_error: (\S+)/g)].pop()!;
    const run = await lockstep('evaluate', model, '--data', 'hitters-test', '--workers', '0');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`hitters-test (88 rows): loss: ${lastVal[1]} - mean_absolute_error: ${lastVal[2]}\n`);
    const json = JSON.parse(
      (await lockstep('evaluate', model, '--data', 'hitters-test', '--workers', '0', '--json')).stdout,
    );
    expect(json).toEqual({
      data: 'hitters-test',
      rows: 88,
      loss: expect.any(Number),
      mean_absolute_error: expect.any(Number),
    });
    expect(json.loss.toFixed(2)).toBe(Number(lastVal[1]).toFixed(2));
  });

  it('predict prints a table of predictions and targets, and --json the same numbers as loadModel + predict', async () => {
    const table = await lockstep('predict', model, '--data', 'hitters-test', '--limit', '4', '--workers', '0');
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^row\s+prediction\s+target$/);
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/)[0])).toEqual(['0', '1', '2', '3']);

    const run = await lockstep('predict', model, '--data', 'hitters-test', '--workers', '0', '--json');
    const { rows, predictions } = JSON.parse(run.stdout);
    expect(rows).toBe(88);
    const loaded = await loadModel(model);
    const { xTest } = await hittersTest();
    const ours = await loaded.predict(xTest, { workers: 0 });
    expect(predictions).toEqual(ours.toArray());
  });

  it('evaluate on data of the wrong width: exit 1, one line naming the shapes', async () => {
    const run = await lockstep('evaluate', model, '--data', 'mnist-test', '--limit', '10', '--workers', '0');
    expectOneLineError(run, 1, 'lockstep evaluate:', 'x has shape (10, 784)', 'expects input shape (None, 19)');
  });

  it('--data also takes a .json { x, y } or .csv file: the same rows score the same as hitters-test', async () => {
    const { xTest, yTest } = await hittersTest();
    const json = join(tmp, 'hitters-test.json');
    await writeFile(json, JSON.stringify({ x: xTest.toArray(), y: Array.from(yTest.data) }));
    const csv = join(tmp, 'hitters-test.csv');
    const header = [...Array.from({ length: xTest.cols }, (_, c) => `f${c}`), 'y'].join(',');
    await writeFile(csv, [header, ...xTest.toArray().map((row, r) => [...row, yTest.data[r]].join(','))].join('\n'));
    const builtIn = await lockstep('evaluate', model, '--data', 'hitters-test', '--workers', '0', '--json');
    // A model scores a CSV only with its preprocessing.json: here the columns as they are (no scaler).
    const withCsv = join(tmp, 'hitters-csv-model');
    await cp(model, withCsv, { recursive: true });
    expectOneLineError(
      await lockstep('evaluate', withCsv, '--data', csv, '--workers', '0'),
      1,
      `${join(withCsv, 'preprocessing.json')} is missing`,
    );
    await savePreprocessing(withCsv, (await loadCsv(csv, { target: 'y' })).preprocessing);
    for (const file of [json, csv]) {
      const run = await lockstep(
        'evaluate',
        file === csv ? withCsv : model,
        '--data',
        file,
        '--workers',
        '0',
        '--json',
      );
      expect(run.code, run.stderr).toBe(0);
      // A CSV also reports how many rows it skipped for a missing value (none here).
      const { droppedRows, skippedLines, ...logs } = JSON.parse(run.stdout);
      expect(droppedRows).toBe(file === csv ? 0 : undefined);
      expect(skippedLines).toEqual(file === csv ? [] : undefined);
      expect({ ...logs, data: 'hitters-test' }).toEqual(JSON.parse(builtIn.stdout));
    }
    // Without targets: predict works (no target column), evaluate says what is missing.
    const xOnly = join(tmp, 'x-only.json');
    await writeFile(xOnly, JSON.stringify({ x: xTest.toArray().slice(0, 2) }));
    const predict = await lockstep('predict', model, '--data', xOnly, '--workers', '0');
    expect(
      predict.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.trim().split(/\s+/).length),
    ).toEqual([2, 2, 2]);
    expectOneLineError(await lockstep('evaluate', model, '--data', xOnly, '--workers', '0'), 2, 'has no targets (y)');
  });

  it('counts rows as the library does: row 1, column 2 for the second row, in .json, .csv and fit alike', async () => {
    const { xTest, yTest } = await hittersTest();
    const rows = xTest.toArray().slice(0, 3);
    const badJson = join(tmp, 'bad-rows.json');
    await writeFile(
      badJson,
      JSON.stringify({ x: rows.map((r, i) => (i === 1 ? r.map((v, c) => (c === 2 ? null : v)) : r)), y: [1, 2, 3] }),
    );
    expectOneLineError(
      await lockstep('evaluate', model, '--data', badJson, '--workers', '0'),
      1,
      'row 1, column 2 holds null, not a number',
    );
    const badCsv = join(tmp, 'bad-rows.csv');
    const header = [...Array.from({ length: xTest.cols }, (_, c) => `f${c}`), 'y'].join(',');
    // A CSV column is numeric when its first 1,000 values are (else categorical, as pandas makes it an object
    // column): a later non-number is named by file line and column.
    const lines = Array.from({ length: 1100 }, (_, r) =>
      [...rows[r % 3].map((v, c) => (r === 1050 && c === 2 ? 'oops' : v)), yTest.data[r % 3]].join(','),
    );
    await writeFile(badCsv, [header, ...lines].join('\n'));
    // The model scores a CSV with its preprocessing.json: the columns as they are.
    const withCsv = join(tmp, 'bad-rows-model');
    await cp(model, withCsv, { recursive: true });
    const clean = join(tmp, 'clean-rows.csv');
    await writeFile(clean, [header, lines[0]].join('\n'));
    await savePreprocessing(withCsv, (await loadCsv(clean, { target: 'y' })).preprocessing);
    expectOneLineError(
      await lockstep('evaluate', withCsv, '--data', badCsv, '--workers', '0'),
      1,
      'bad-rows.csv:1052:3: column "f2" holds "oops", which is not a number',
    );
    const loaded = await loadModel(model);
    const x = rows.map((r, i) => (i === 1 ? r.map((v, c) => (c === 2 ? (null as never) : v)) : r));
    await expect(loaded.evaluate(x, [1, 2, 3], { workers: 0 })).rejects.toThrow(
      'x: row 1, column 2 holds null, not a number',
    );
  });

  it('summary of the saved directory shows the compile arguments and updates so far', async () => {
    const run = await lockstep('summary', model);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Output (Dense)');
    expect(run.stdout).toContain(
      'Compiled: loss mse, optimizer RMSprop (learning rate 0.001), metrics [mean_absolute_error]; 18 updates so far',
    );
  });
});

/** The CLI's hitters-test rows, rebuilt here the way examples/hitters.ts prepares them. */
async function hittersTest() {
  const { datasets, StandardScaler, trainTestSplit } = await import('../src/index.js');
  const { x, y } = await datasets.hittersXY();
  return trainTestSplit(new StandardScaler().fitTransform(x), y, { testSize: 1 / 3, seed: 13 });
}

describe('reproducibility through the CLI', () => {
  it('the same seed gives the same weights.bin with 0 and 2 workers; another seed does not', async () => {
    const dirs = ['w0', 'w2', 'seed'].map((d) => join(tmp, d));
    const common = ['train', 'hitters', '--epochs', '2', '--verbose', '0'];
    const runs = [
      await lockstep(...common, '--workers', '0', '--out', dirs[0]),
      await lockstep(...common, '--workers', '2', '--out', dirs[1]),
      await lockstep(...common, '--workers', '0', '--seed', '14', '--out', dirs[2]),
    ];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(''); // --verbose 0 is silent
    }
    const [a, b, c] = await Promise.all(dirs.map((d) => readFile(join(d, 'weights.bin'))));
    expect(b.equals(a)).toBe(true);
    expect(c.equals(a)).toBe(false);
  });
});

describe('MNIST through the CLI (a 2,000-row subset, 1 epoch)', () => {
  it('trains mnist-mlp, then evaluates and predicts classes on mnist-test', async () => {
    const dir = join(tmp, 'mlp');
    const train = await lockstep(
      'train',
      'mnist-mlp',
      '--epochs',
      '1',
      '--limit',
      '2000',
      '--workers',
      '0',
      '--verbose',
      '2',
      '--out',
      dir,
    );
    expect(train.code, train.stderr).toBe(0);
    expect(train.stdout).toContain(
      'on 2000 rows of mnist-train, holding out 20% of them for validation; 1 epoch of batch 128',
    );
    expect(train.stdout).toMatch(/13\/13 - .* - loss: \S+ - accuracy: \S+ - val_loss: \S+ - val_accuracy: \S+/);

    const evaluate = await lockstep(
      'evaluate',
      dir,
      '--data',
      'mnist-test',
      '--limit',
      '500',
      '--workers',
      '0',
      '--json',
    );
    expect(evaluate.code, evaluate.stderr).toBe(0);
    const logs = JSON.parse(evaluate.stdout);
    expect(logs).toMatchObject({ data: 'mnist-test', rows: 500 });
    expect(logs.accuracy).toBeGreaterThan(0.5); // far above chance (0.1) after 13 steps

    const predict = await lockstep('predict', dir, '--data', 'mnist-test', '--limit', '3', '--workers', '0');
    expect(predict.code, predict.stderr).toBe(0);
    const lines = predict.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^row\s+class\s+probability\s+label$/);
    const cells = lines.slice(1).map((l) => l.trim().split(/\s+/));
    expect(cells.map((c) => c[3])).toEqual(['7', '2', '1']); // the first three test digits
    const json = JSON.parse(
      (await lockstep('predict', dir, '--data', 'mnist-test', '--limit', '3', '--workers', '0', '--json')).stdout,
    );
    expect(cells.map((c) => Number(c[1]))).toEqual(json.classes);
    json.predictions.forEach((p: number[], r: number) =>
      expect(Number(cells[r][2])).toBeCloseTo(p[json.classes[r]], 4),
    );
  });
});

describe('model config files', () => {
  const config = {
    name: 'tiny',
    data: 'hitters',
    layers: [
      { className: 'Dense', units: 4, activation: 'relu' },
      { className: 'Dense', units: 1 },
    ],
    compile: { loss: 'mse', optimizer: { className: 'Adam', learningRate: 0.01 }, metrics: ['mae'] },
    fit: { epochs: 2, batchSize: 16 },
  };
  const write = async (name: string, json: unknown) => {
    const file = join(tmp, name);
    await writeFile(file, typeof json === 'string' ? json : JSON.stringify(json));
    return file;
  };

  it('trains a valid config with its fit defaults, and summarises it', async () => {
    const file = await write('tiny.json', config);
    const run = await lockstep('train', file, '--workers', '0', '--verbose', '2', '--out', join(tmp, 'tiny'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'Training tiny on 175 rows of hitters-train, validating on hitters-test (88 rows); 2 epochs of batch 16',
    );
    expect((await loadModel(join(tmp, 'tiny'))).optimizer!.getConfig()).toMatchObject({
      className: 'Adam',
      learningRate: 0.01,
    });
    const summary = await lockstep('summary', file);
    expect(summary.stdout).toContain('Total params: 85');
  });

  it.each<[string, unknown, string[]]>([
    [
      'a bad units value',
      {
        ...config,
        layers: [
          { className: 'Dense', units: 4 },
          { className: 'Dense', units: -1 },
        ],
      },
      ['layers[1].units must be a positive integer', 'Received: layers[1].units=-1'],
    ],
    [
      'a misspelt field',
      { ...config, layers: [{ className: 'Dense', unit: 4 }] },
      ['layers[0].unit is not a known field'],
    ],
    [
      'an unsupported layer',
      { ...config, layers: [{ className: 'Conv3D', filters: 8 }] },
      ['layers[0].className must be one of Dense, Dropout, Conv2D', '"Conv3D"'],
    ],
    ['a missing loss', { ...config, compile: { optimizer: 'adam' } }, ['compile.loss is required']],
    [
      'an unknown metric',
      { ...config, compile: { loss: 'mse', metrics: ['f1'] } },
      ['compile.metrics[0] must be one of', '"f1"'],
    ],
    ['an unknown data set', { ...config, data: 'cifar10' }, ['data must be one of "mnist", "hitters"']],
    [
      'an input shape that does not fit the data',
      { ...config, inputShape: [784] },
      ['inputShape must hold 19 values per row for data "hitters"', 'Received: inputShape=[784]'],
    ],
    [
      'a dropout rate out of range',
      {
        ...config,
        layers: [
          { className: 'Dropout', rate: 1.5 },
          { className: 'Dense', units: 1 },
        ],
      },
      ['layers[0].rate must be a number in [0, 1)'],
    ],
    ['invalid JSON', '{ "data": "hitters", ', ['is not valid JSON']],
    [
      'an unknown optimizer option',
      { ...config, compile: { loss: 'mse', optimizer: { className: 'Adam', learning_rate: 0.5 } } },
      ['compile.optimizer', "Unrecognized option 'learning_rate' for Adam; did you mean 'learningRate'?"],
    ],
  ])('rejects %s with exit 2 and a message naming the field', async (_what, json, mentions) => {
    const file = await write('bad.json', json);
    const run = await lockstep('train', file, '--workers', '0');
    expectOneLineError(run, 2, 'lockstep train:', file, ...mentions);
  });
});

// parseConfig directly (no dist/ needed): the image layers and inputShape of any rank.
describe('model config parsing: convnets', () => {
  const cnn = {
    data: 'mnist',
    inputShape: [28, 28, 1],
    layers: [
      { className: 'Conv2D', filters: 8, kernelSize: 3, activation: 'relu', padding: 'same', name: 'features' },
      { className: 'MaxPooling2D', poolSize: [2, 2] },
      {
        className: 'Conv2D',
        filters: 4,
        kernelSize: [3, 3],
        strides: 2,
        dilationRate: 1,
        useBias: false,
        kernelInitializer: 'he_normal',
      },
      { className: 'AveragePooling2D', padding: 'same', strides: 1, dataFormat: 'channels_last' },
      { className: 'GlobalMaxPooling2D', keepdims: true },
      { className: 'Reshape', targetShape: [-1] },
      { className: 'Dense', units: 16, activation: 'relu' },
      { className: 'Reshape', targetShape: [4, 4, 1] },
      { className: 'GlobalAveragePooling2D' },
      { className: 'Flatten' },
      { className: 'Dense', units: 10, activation: 'softmax' },
    ],
    compile: { loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] },
  };

  it('accepts every image layer with its options and an image inputShape, and builds the model it describes', () => {
    const spec = parseConfig(cnn, 'cnn.json');
    expect(spec.name).toBe('cnn');
    const model = spec.build(1);
    const configs = model.layerConfigs();
    expect(configs.map((c) => c.className)).toEqual(['InputLayer', ...cnn.layers.map((l) => l.className)]);
    expect(configs[0]).toMatchObject({ shape: [28, 28, 1] });
    expect(configs[1]).toMatchObject({
      name: 'features',
      filters: 8,
      kernelSize: [3, 3],
      strides: [1, 1],
      padding: 'same',
      activation: 'relu',
    });
    expect(configs[3]).toMatchObject({ strides: [2, 2], useBias: false, kernelInitializer: 'he_normal' });
    expect(configs[4]).toMatchObject({ poolSize: [2, 2], strides: [1, 1], padding: 'same' });
    // 28x28x8 'same' → 14x14x8 → 6x6x4 → 6x6x4 → [1, 1, 4] → [4] → 16 → [4, 4, 1] → [1] → [1] → 10.
    expect(model.countParams()).toBe(8 * 9 + 8 + 4 * 8 * 9 + (4 * 16 + 16) + (1 * 10 + 10));
    expect(
      parseConfig(
        { ...cnn, inputShape: [784], layers: [{ className: 'Reshape', targetShape: [28, 28, 1] }, ...cnn.layers] },
        'flat.json',
      )
        .build(1)
        .countParams(),
    ).toBe(model.countParams());
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'an inputShape that does not hold the data',
      { inputShape: [28, 28, 3] },
      ['cnn.json: inputShape must hold 784 values per row for data "mnist"', 'Received: inputShape=[28,28,3]'],
    ],
    [
      'a bad inputShape',
      { inputShape: [28, 0, 28] },
      ['inputShape must be an array of positive integers', 'Received: inputShape=[28,0,28]'],
    ],
    [
      'a snake_case field',
      { layers: [{ className: 'Conv2D', filters: 8, kernel_size: 3 }] },
      ['layers[0].kernel_size is not a known field', 'layers[0].kernelSize'],
    ],
    [
      'a missing filters',
      { layers: [{ className: 'Conv2D', kernelSize: 3 }] },
      ['layers[0].filters is required (a positive integer)'],
    ],
    ['a missing targetShape', { layers: [{ className: 'Reshape' }] }, ['layers[0].targetShape is required']],
    [
      'a field of another layer',
      { layers: [{ className: 'Flatten', units: 3 }] },
      ['layers[0].units is not a known field; expected layers[0].className, layers[0].name, layers[0].dataFormat'],
    ],
    [
      'a bad kernelSize',
      { layers: [{ className: 'Conv2D', filters: 8, kernelSize: [3, 3, 3] }] },
      [
        'cnn.json: layers[0]: Conv2D: kernelSize must be a positive integer or a pair of positive integers',
        'Received: kernelSize=[3,3,3]',
      ],
    ],
    [
      'channels_first',
      { layers: [{ className: 'MaxPooling2D', dataFormat: 'channels_first' }] },
      ["layers[0]: MaxPooling2D: dataFormat must be 'channels_last'"],
    ],
    [
      'a Conv2D on flat rows',
      { inputShape: [784], layers: [{ className: 'Conv2D', filters: 8, kernelSize: 3 }] },
      ['layers[0]', 'expects inputs of rank 4', '(None, 784)'],
    ],
    [
      'a kernel larger than the image',
      { layers: [{ className: 'Conv2D', filters: 2, kernelSize: 29 }] },
      ['layers[0]', 'a kernel of 29x29 does not fit an input of 28x28'],
    ],
  ])('rejects %s, naming the field', (_what, change, mentions) => {
    let message = '';
    try {
      parseConfig({ ...cnn, ...change }, 'cnn.json');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const m of mentions) expect(message).toContain(m);
  });
});

describe('errors', () => {
  it.each<[string, string[], string[]]>([
    ['an unknown option', ['train', 'hitters', '--epoch', '3'], ["unknown option '--epoch'", '--epochs']],
    [
      'a bad option value',
      ['train', 'hitters', '--epochs', '0'],
      ["option '--epochs <n>' argument '0' is invalid", 'positive integer'],
    ],
    ['a bad --verbose', ['train', 'hitters', '--verbose', '3'], ['--verbose']],
    ['a bad --validation-split', ['train', 'hitters', '--validation-split', '1.5'], ['--validation-split']],
    [
      'a plot that is neither .svg nor .png',
      ['train', 'hitters', '--plot', 'h.pdf'],
      ['--plot must name a .svg or .png file'],
    ],
    [
      'an unknown example',
      ['train', 'mnist-cnn'],
      ['unknown example "mnist-cnn"', 'mnist-mlp, mnist-logreg, mnist-convnet, hitters'],
    ],
    ['an unknown command', ['fit', 'hitters'], ["unknown command 'fit'"]],
    ['a missing --data', ['evaluate', tmpdir()], ["required option '--data <name|file>' not specified"]],
    [
      'an unknown dataset',
      ['predict', tmpdir(), '--data', 'cifar-test'],
      ['--data must be one of mnist-train, mnist-test, hitters-train, hitters-test', 'cifar-test'],
    ],
    ['too many arguments', ['summary', 'hitters', 'mnist-mlp'], ['too many arguments']],
  ])('%s: exit 2, one line naming it', async (_what, args, mentions) => {
    expectOneLineError(await lockstep(...args), 2, ...mentions);
  });

  it('a model directory that does not load: exit 1, one line', async () => {
    const missing = join(tmp, 'no-such-model');
    expectOneLineError(await lockstep('evaluate', missing, '--data', 'hitters-test'), 1, 'lockstep evaluate:', missing);
    const empty = await mkdtemp(join(tmp, 'empty-'));
    expectOneLineError(await lockstep('predict', empty, '--data', 'hitters-test'), 1, `No model.json in '${empty}'`);
  });
});
