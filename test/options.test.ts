/**
 * Keras's strictness about options and names: every options object of the public API rejects an unknown key
 * (suggesting the close name) and a value of the wrong type, and names inherited from Object.prototype are
 * unknown names like any other.
 */
import { describe, expect, it } from 'vitest';
import {
  Sequential,
  layers,
  callbacks,
  optimizers,
  datasets,
  Matrix,
  setRandomSeed,
  getDummies,
  trainTestSplit,
  DataFrame,
  historyToSvg,
} from '../src/index.js';
import { getOptimizer } from '../src/optimizers.js';

function model(): Sequential {
  setRandomSeed(3);
  const m = new Sequential();
  m.add(layers.Input({ shape: [2] }));
  m.add(layers.Dense({ units: 3, activation: 'relu' }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: 'sgd' });
  return m;
}
const x = new Matrix(
  Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)),
  20,
  2,
);
const y = new Matrix(
  Float32Array.from({ length: 20 }, (_, i) => Math.cos(i)),
  20,
  1,
);

describe('unknown options are errors, with a did-you-mean', () => {
  it.each<[string, () => unknown, string]>([
    [
      'Dense',
      () => layers.Dense({ units: 3, activaton: 'relu' } as never),
      "Unrecognized option 'activaton' for Dense; did you mean 'activation'?",
    ],
    [
      'Dropout',
      () => layers.Dropout({ rate: 0.2, nmae: 'd' } as never),
      "Unrecognized option 'nmae' for Dropout; did you mean 'name'?",
    ],
    ['Input', () => layers.Input({ shape: [2], batchSize: 3 } as never), "Unrecognized option 'batchSize' for Input"],
    [
      'Sequential',
      () => new Sequential({ nam: 'm' } as never),
      "Unrecognized option 'nam' for Sequential; did you mean 'name'?",
    ],
    [
      'an optimizer config',
      () => getOptimizer({ className: 'Adam', learning_rate: 0.5 } as never),
      "Unrecognized option 'learning_rate' for Adam; did you mean 'learningRate'?",
    ],
    [
      'SGD',
      () => new optimizers.SGD({ momentun: 0.9 } as never),
      "Unrecognized option 'momentun' for SGD; did you mean 'momentum'?",
    ],
    ['RMSprop', () => new optimizers.RMSprop({ decay: 0.9 } as never), "Unrecognized option 'decay' for RMSprop"],
    [
      'AdamW',
      () => new optimizers.AdamW({ weight_decay: 0.1 } as never),
      "Unrecognized option 'weight_decay' for AdamW; did you mean 'weightDecay'?",
    ],
    ['Adagrad', () => new optimizers.Adagrad({ eps: 1e-3 } as never), "Unrecognized option 'eps' for Adagrad"],
    [
      'EarlyStopping',
      () => new callbacks.EarlyStopping({ patiance: 3 } as never),
      "Unrecognized option 'patiance' for EarlyStopping; did you mean 'patience'?",
    ],
    [
      'ReduceLROnPlateau',
      () => new callbacks.ReduceLROnPlateau({ factr: 0.5 } as never),
      "Unrecognized option 'factr' for ReduceLROnPlateau; did you mean 'factor'?",
    ],
    [
      'CSVLogger',
      () => new callbacks.CSVLogger('log.csv', { appnd: true } as never),
      "Unrecognized option 'appnd' for CSVLogger; did you mean 'append'?",
    ],
    [
      'TerminateOnNaN',
      () => new callbacks.TerminateOnNaN({ raise: true } as never),
      "Unrecognized option 'raise' for TerminateOnNaN",
    ],
    [
      'compile',
      () => model().compile({ loss: 'mse', metric: ['mae'] } as never),
      "Unrecognized option 'metric' for compile; did you mean 'metrics'?",
    ],
    [
      'trainTestSplit',
      () => trainTestSplit(x, y, { test_size: 0.5 } as never),
      "Unrecognized option 'test_size' for trainTestSplit; did you mean 'testSize'?",
    ],
    [
      'getDummies',
      () => getDummies(new DataFrame(['a'], [{ a: 'x' }]), { drop_first: true } as never),
      "Unrecognized option 'drop_first' for getDummies; did you mean 'dropFirst'?",
    ],
  ])('%s', (_what, make, message) => {
    expect(make).toThrow(message);
  });

  it('fit, evaluate and predict reject unknown options and change nothing', async () => {
    const m = model();
    const before = m.getWeights();
    await expect(m.fit(x, y, { batch_size: 1000, verbose: 0 } as never)).rejects.toThrow(
      "Unrecognized option 'batch_size' for fit; did you mean 'batchSize'?",
    );
    await expect(m.evaluate(x, y, { batch_size: 4 } as never)).rejects.toThrow(
      "Unrecognized option 'batch_size' for evaluate; did you mean 'batchSize'?",
    );
    await expect(m.predict(x, { worker: 0 } as never)).rejects.toThrow(
      "Unrecognized option 'worker' for predict; did you mean 'workers'?",
    );
    expect(m.getWeights()).toEqual(before);
    expect(m.iterations).toBe(0);
  });

  it("the unknown-option message lists public options only and reads as a sentence ('?' or '.', never '?.')", async () => {
    const m = model();
    const err = await m.fit(x, y, { batch_size: 1000, verbose: 0 } as never).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^Unrecognized option 'batch_size' for fit; did you mean 'batchSize'\? Valid options: epochs, batchSize, /,
    );
    expect((err as Error).message).not.toMatch(/__|\?\./);
    // An internal name is never suggested, however close.
    const near = await m.fit(x, y, { _fault: 1, verbose: 0 } as never).catch((e: Error) => e);
    expect((near as Error).message).toMatch(/^Unrecognized option '_fault' for fit\. Valid options: /);
    expect((near as Error).message).not.toContain('__');
  });

  it('save and the plots reject unknown options', async () => {
    const m = model();
    await expect(m.save('/nonexistent/never-written', { overwrite: true } as never)).rejects.toThrow(
      "Unrecognized option 'overwrite' for save. save takes no options",
    );
    expect(() => historyToSvg({ loss: [1, 0.5] }, { panelWidht: 300 } as never)).toThrow(
      "Unrecognized option 'panelWidht' for plotHistory; did you mean 'panelWidth'?",
    );
    expect(() => historyToSvg({ loss: [1, 0.5] }, { scale: '2' } as never)).toThrow(
      'plotHistory: scale must be a positive finite number. Received: scale="2"',
    );
  });

  it('the datasets reject unknown options', async () => {
    await expect(datasets.mnist({ shraed: true } as never)).rejects.toThrow(
      "Unrecognized option 'shraed' for mnist; did you mean 'shared'?",
    );
    await expect(datasets.hitters({ file: 'x.csv' } as never)).rejects.toThrow(
      "Unrecognized option 'file' for hitters",
    );
  });
});

describe('option values are type-checked', () => {
  it.each<[string, () => unknown, string]>([
    [
      'SGD nesterov',
      () => new optimizers.SGD({ nesterov: 'yes' } as never),
      'SGD: nesterov must be true or false. Received: nesterov="yes"',
    ],
    [
      'RMSprop centered',
      () => new optimizers.RMSprop({ centered: 1 } as never),
      'RMSprop: centered must be true or false. Received: centered=1',
    ],
    [
      'Adam beta1 as a string',
      () => new optimizers.Adam({ beta1: '0.9' } as never),
      'Adam: beta1 must be in [0, 1). Received: beta1="0.9"',
    ],
    [
      'SGD momentum as a string',
      () => new optimizers.SGD({ momentum: '0.5' } as never),
      'SGD: momentum must be in [0, 1)',
    ],
    ['AdamW weightDecay', () => new optimizers.AdamW({ weightDecay: '0.1' } as never), 'AdamW: weightDecay'],
    [
      'Dense activation',
      () => layers.Dense({ units: 2, activation: 3 } as never),
      'Dense: activation must be a name such as "relu"',
    ],
    [
      'Dense inputShape',
      () => layers.Dense({ units: 2, inputShape: 4 } as never),
      'Dense: inputShape must be a non-empty array of positive integers',
    ],
    ['Dense name', () => layers.Dense({ units: 2, name: 7 } as never), 'Dense: name must be a non-empty string'],
    ['Sequential seed', () => new Sequential({ seed: 1.5 }), 'Sequential: seed must be a non-negative safe integer'],
    [
      'trainTestSplit testSize',
      () => trainTestSplit(x, y, { testSize: '0.5' } as never),
      'trainTestSplit: testSize must be a number',
    ],
  ])('%s', (_what, make, message) => {
    expect(make).toThrow(message);
  });

  it('fit checks the type of workers, seed and signal', async () => {
    const m = model();
    await expect(m.fit(x, y, { workers: '2', verbose: 0 } as never)).rejects.toThrow(
      'fit: workers must be a non-negative integer. Received: workers="2"',
    );
    await expect(m.fit(x, y, { signal: {}, verbose: 0 } as never)).rejects.toThrow(
      'fit: signal must be an AbortSignal',
    );
    await expect(m.fit(x, y, { validationSplit: '0.2', verbose: 0 } as never)).rejects.toThrow(
      'fit: validationSplit must be in [0, 1)',
    );
  });
});

describe('names are looked up safely', () => {
  const inherited = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
  for (const name of inherited) {
    it(`'${name}' is an unknown activation, initializer, loss, metric and optimizer`, () => {
      expect(() => layers.Dense({ units: 2, activation: name })).toThrow(
        /Unknown activation: .*Valid activations: linear/,
      );
      expect(() => layers.Dense({ units: 2, kernelInitializer: name })).toThrow(
        /Unknown initializer: .*Valid initializers/,
      );
      expect(() => layers.Dense({ units: 2, biasInitializer: { className: name } })).toThrow(/Unknown initializer/);
      const m = model();
      expect(() => m.compile({ loss: name })).toThrow(/Unknown loss: .*Valid losses/);
      expect(() => m.compile({ loss: 'mse', metrics: [name] })).toThrow(/Unknown metric: .*Valid metrics/);
      expect(() => m.compile({ loss: 'mse', optimizer: name })).toThrow(/Unknown optimizer: .*Valid optimizers/);
      expect(() => m.compile({ loss: 'mse', optimizer: { className: name, learningRate: 0.1 } })).toThrow(
        /Unknown optimizer/,
      );
    });
  }
});
