/** The Keras-style API, in process (workers: 0): shapes, summary, training, weights, seeds and bad input. */
import { describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Sequential, layers, setRandomSeed, Callback, Matrix, callbacks } from '../src/index.js';
import { layerFromConfig } from '../src/layers/index.js';

function hittersNet(): Sequential {
  const m = new Sequential();
  m.add(layers.Input({ shape: [19] }));
  m.add(layers.Dense({ units: 50, activation: 'relu' }));
  m.add(layers.Dropout({ rate: 0.4 }));
  m.add(layers.Dense({ units: 1, name: 'Output' }));
  return m;
}

function mnistMlp(): Sequential {
  const m = new Sequential();
  m.add(layers.Input({ shape: [784] }));
  m.add(layers.Dense({ units: 128, activation: 'relu' }));
  m.add(layers.Dropout({ rate: 0.3 }));
  m.add(layers.Dense({ units: 64, activation: 'tanh' }));
  m.add(layers.Dropout({ rate: 0.2 }));
  m.add(layers.Dense({ units: 10, activation: 'softmax' }));
  return m;
}

/** A small separable classification problem: class = which of 3 coordinates is largest. */
function blobs(n: number, seed = 1): { x: Matrix; y: Int32Array } {
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 4; c++) x[i * 4 + c] = rnd() * 2 - 1;
    let best = 0;
    for (let c = 1; c < 3; c++) if (x[i * 4 + c] > x[i * 4 + best]) best = c;
    y[i] = best;
  }
  return { x: new Matrix(x, n, 4), y };
}

function classifier(): Sequential {
  const m = new Sequential();
  m.add(layers.Input({ shape: [4] }));
  m.add(layers.Dense({ units: 16, activation: 'relu' }));
  m.add(layers.Dropout({ rate: 0.1 }));
  m.add(layers.Dense({ units: 3, activation: 'softmax' }));
  m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return m;
}

const flat = (m: Sequential) =>
  Buffer.concat(m.getWeights().map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));

describe('summary and parameter counts', () => {
  it('matches Keras for the chapter models', () => {
    expect(hittersNet().countParams()).toBe(1051);
    expect(mnistMlp().countParams()).toBe(109386);
    const logreg = new Sequential();
    logreg.add(layers.Input({ shape: [784] }));
    logreg.add(layers.Dense({ units: 10, activation: 'softmax' }));
    expect(logreg.countParams()).toBe(7850);
  });

  it('prints a Keras-style table with shapes, counts and totals', () => {
    const text = hittersNet().summary();
    expect(text).toContain('Model: "sequential"');
    expect(text).toMatch(/│ dense \(Dense\)\s+│ \(None, 50\)\s+│\s+1,000 │/);
    expect(text).toMatch(/│ dropout \(Dropout\)\s+│ \(None, 50\)\s+│\s+0 │/);
    expect(text).toMatch(/│ Output \(Dense\)\s+│ \(None, 1\)\s+│\s+51 │/);
    expect(text).toContain('Total params: 1,051 (4.11 KB)');
    expect(text).toContain('Trainable params: 1,051 (4.11 KB)');
    expect(text).toContain('Non-trainable params: 0 (0.00 B)');
    const printed: string[] = [];
    hittersNet().summary((t) => printed.push(t));
    expect(printed).toHaveLength(1);
  });

  it('summary() with no argument prints to the console, as Keras does, and still returns the table', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const text = hittersNet().summary();
      expect(log).toHaveBeenCalledTimes(1);
      expect(log).toHaveBeenCalledWith(text);
      expect(text).toContain('Total params: 1,051');
    } finally {
      log.mockRestore();
    }
  });

  it('names layers per model, never with a global counter', () => {
    const a = mnistMlp();
    const b = mnistMlp();
    expect(a.layers.map((l) => l.name)).toEqual(['input_layer', 'dense', 'dropout', 'dense_1', 'dropout_1', 'dense_2']);
    expect(b.layers.map((l) => l.name)).toEqual(a.layers.map((l) => l.name));
  });

  it('rebuilds each layer from its config', () => {
    for (const layer of mnistMlp().layers)
      expect(layerFromConfig(layer.getConfig()).getConfig()).toEqual(layer.getConfig());
  });
});

describe('seeds', () => {
  it('setRandomSeed makes init, shuffling and dropout reproducible; another seed changes them', async () => {
    const run = async (seed: number) => {
      setRandomSeed(seed);
      const m = classifier();
      const init = flat(m);
      const { x, y } = blobs(100);
      await m.fit(x, y, { epochs: 2, batchSize: 16, workers: 0, verbose: 0 });
      return { init, trained: flat(m) };
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(b.init.equals(a.init)).toBe(true);
    expect(b.trained.equals(a.trained)).toBe(true);
    expect(c.init.equals(a.init)).toBe(false);
  });

  it('glorot_uniform draws within its limit and biases start at zero', () => {
    setRandomSeed(1);
    const [kernel, bias] = hittersNet().getWeights();
    const limit = Math.sqrt(6 / (19 + 50));
    expect(Math.max(...kernel.data.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...kernel.data.map(Math.abs))).toBeGreaterThan(limit * 0.9);
    expect([...bias.data].every((v) => v === 0)).toBe(true);
  });
});

describe('fit, evaluate, predict', () => {
  it('learns, reports Keras history keys, and continues from the current weights', async () => {
    setRandomSeed(2);
    const m = classifier();
    const { x, y } = blobs(400);
    const h = await m.fit(x, y, { epochs: 15, batchSize: 32, validationSplit: 0.25, workers: 0, verbose: 0 });
    expect(Object.keys(h.history).sort()).toEqual(['accuracy', 'loss', 'val_accuracy', 'val_loss']);
    expect(h.history.loss).toHaveLength(15);
    expect(h.history.loss[14]).toBeLessThan(h.history.loss[0]);
    expect(h.history.val_accuracy[14]).toBeGreaterThan(0.85);
    const before = flat(m);
    const again = await m.fit(x, y, { epochs: 2, batchSize: 32, workers: 0, verbose: 0 });
    expect(flat(m).equals(before)).toBe(false);
    expect(again.history.loss[0]).toBeLessThan(h.history.loss[0]);
    const logs = await m.evaluate(x, y, { workers: 0 });
    expect(Object.keys(logs)).toEqual(['loss', 'accuracy']);
    const p = await m.predict(x, { workers: 0 });
    expect(p.shape).toEqual([400, 3]);
    // Softmax rows sum to one; the argmax agrees with the accuracy evaluate reports.
    for (let r = 0; r < 5; r++) expect(p.row(r).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const hits = [...p.argMax()].filter((c, i) => c === y[i]).length;
    expect(hits / 400).toBeCloseTo(logs.accuracy, 10);
  });

  it('predict is deterministic (dropout is off at inference) and accepts number[][]', async () => {
    const m = classifier();
    const rows = [
      [0.1, 0.2, 0.3, 0.4],
      [1, -1, 0, 0],
    ];
    const a = await m.predict(rows, { workers: 0 });
    const b = await m.predict(rows, { workers: 0 });
    expect(a.data).toEqual(b.data);
  });

  it('keeps tf.memory().numTensors flat across epochs', async () => {
    const counts: number[] = [];
    class Count extends Callback {
      onEpochEnd() {
        counts.push(tf.memory().numTensors);
      }
    }
    const m = classifier();
    const { x, y } = blobs(200);
    await m.fit(x, y, {
      epochs: 4,
      batchSize: 32,
      validationSplit: 0.2,
      workers: 0,
      verbose: 0,
      callbacks: [new Count()],
    });
    await m.evaluate(x, y, { workers: 0 });
    expect(counts).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(counts[0]);
  });

  it('stops when a callback sets stopTraining, and EarlyStopping restores the best weights', async () => {
    class StopAt2 extends Callback {
      onEpochEnd(epoch: number) {
        if (epoch === 2) this.model.stopTraining = true;
      }
    }
    const m = classifier();
    const { x, y } = blobs(100);
    const h = await m.fit(x, y, { epochs: 10, workers: 0, verbose: 0, callbacks: [new StopAt2()] });
    expect(h.epoch).toEqual([0, 1, 2]);

    // Record the weights after each epoch; EarlyStopping must leave the model with the best epoch's.
    const snapshots: Buffer[] = [];
    class Snap extends Callback {
      onEpochEnd() {
        snapshots.push(flat(m));
      }
    }
    const es = new callbacks.EarlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true });
    const h2 = await m.fit(x, y, {
      epochs: 60,
      workers: 0,
      verbose: 0,
      validationSplit: 0.5,
      callbacks: [new Snap(), es],
    });
    const losses = h2.history.val_loss;
    const best = losses.indexOf(Math.min(...losses));
    expect(es.bestEpoch).toBe(best);
    expect(flat(m).equals(snapshots[best])).toBe(true);
  });

  it('accepts optimizers as names, configs and instances, with a settable learning rate', async () => {
    const m = classifier();
    m.compile({
      loss: 'sparse_categorical_crossentropy',
      optimizer: { className: 'SGD', learningRate: 0.1, momentum: 0.9 },
    });
    expect(m.optimizer!.getConfig()).toMatchObject({ className: 'SGD', learningRate: 0.1, momentum: 0.9 });
    m.learningRate = 0.05;
    expect(m.optimizer!.learningRate).toBe(0.05);
    m.compile({ loss: 'categorical_crossentropy', optimizer: 'adamw' });
    expect(m.optimizer!.getConfig()).toMatchObject({ className: 'AdamW', learningRate: 0.001, weightDecay: 0.004 });
  });

  it('refuses a second fit while one is running, and works again after it', async () => {
    const m = classifier();
    const { x, y } = blobs(200);
    const first = m.fit(x, y, { epochs: 2, workers: 0, verbose: 0 });
    await expect(m.fit(x, y, { epochs: 1, workers: 0, verbose: 0 })).rejects.toThrow(
      /busy with fit; await it before calling fit/,
    );
    await expect(m.predict(x, { workers: 0 })).rejects.toThrow(/busy with fit/);
    await first;
    expect((await m.predict(x, { workers: 0 })).rows).toBe(200);
  });

  it('getWeights returns copies and setWeights round-trips', () => {
    const m = classifier();
    const w = m.getWeights();
    expect(w.map((x) => x.name)).toEqual(['dense/kernel', 'dense/bias', 'dense_1/kernel', 'dense_1/bias']);
    w[0].data.fill(0.5);
    expect(m.getWeights()[0].data[0]).not.toBe(0.5);
    m.setWeights(w);
    expect(m.getWeights()[0].data[0]).toBe(0.5);
  });
});

describe('bad input gets a clear error and changes nothing', () => {
  const { x, y } = blobs(20);

  async function rejectsUnchanged(m: Sequential, run: () => Promise<unknown>, message: RegExp) {
    const before = flat(m);
    await expect(run()).rejects.toThrow(message);
    expect(flat(m).equals(before)).toBe(true);
  }

  it('fit before compile', async () => {
    const m = hittersNet();
    await expect(m.fit([[1]], [1], { workers: 0 })).rejects.toThrow(/must be compiled before fit/);
  });

  it('x and y row counts differ', async () => {
    const m = classifier();
    await rejectsUnchanged(
      m,
      () => m.fit(x, y.subarray(0, 19), { workers: 0, verbose: 0 }),
      /x has 20 rows but y has 19/,
    );
  });

  it('a shape that does not match the Input names the layer and both shapes', async () => {
    const m = classifier();
    await rejectsUnchanged(
      m,
      () => m.fit([[1, 2, 3]], [0], { workers: 0, verbose: 0 }),
      /x has shape \(1, 3\) but layer 'dense' \(Dense\) expects input shape \(None, 4\)/,
    );
  });

  it('NaN or Infinity in x or y names the row and column', async () => {
    const m = classifier();
    const bad = x.data.slice();
    bad[2 * 4 + 1] = NaN;
    await rejectsUnchanged(
      m,
      () => m.fit(new Matrix(bad, 20, 4), y, { workers: 0, verbose: 0 }),
      /x has a non-finite value \(NaN\) at row 2, column 1/,
    );
    const reg = hittersNet();
    reg.compile({ loss: 'mse' });
    const yy = new Float32Array(3).fill(1);
    yy[1] = Infinity;
    await rejectsUnchanged(
      reg,
      () =>
        reg.fit(
          { data: new Float32Array(57), shape: [3, 19] },
          { data: yy, shape: [3, 1] },
          { workers: 0, verbose: 0 },
        ),
      /y has a non-finite value \(Infinity\) at row 1/,
    );
  });

  it('labels outside the class range name the row and the layer', async () => {
    const m = classifier();
    const labels = y.slice();
    labels[7] = 3;
    await rejectsUnchanged(
      m,
      () => m.fit(x, labels, { workers: 0, verbose: 0 }),
      /y row 7: label 3 is outside the class range 0\.\.2 of layer 'dense_1'/,
    );
  });

  it('unknown names list the valid ones', () => {
    const m = hittersNet();
    expect(() => m.compile({ loss: 'msee' })).toThrow(/Unknown loss: "msee". Valid losses: .*mean_squared_error/);
    expect(() => m.compile({ loss: 'mse', metrics: ['precisionn'] })).toThrow(
      /Unknown metric: "precisionn". Valid metrics: .*accuracy/,
    );
    expect(() => m.compile({ loss: 'mse', optimizer: 'adamax2' })).toThrow(
      /Unknown optimizer: "adamax2". Valid optimizers: sgd, rmsprop, adam, adamw, adagrad/,
    );
    expect(() => layers.Dense({ units: 3, activation: 'relu6' })).toThrow(
      /Unknown activation: "relu6". Valid activations: linear, relu, tanh/,
    );
  });

  it('bad options name the option and the value', async () => {
    expect(() => layers.Dense({ units: 0 })).toThrow(/units must be a positive integer. Received: units=0/);
    expect(() => layers.Dropout({ rate: 1 })).toThrow(/rate must be in \[0, 1\). Received: rate=1/);
    const m = classifier();
    await rejectsUnchanged(
      m,
      () => m.fit(x, y, { batchSize: 0, workers: 0 }),
      /fit: batchSize must be a positive integer. Received: batchSize=0/,
    );
    await rejectsUnchanged(
      m,
      () => m.fit(x, y, { validationSplit: 1, workers: 0 }),
      /validationSplit must be in \[0, 1\)/,
    );
    expect(() => m.setWeights([new Float32Array(3)])).toThrow(/expects 4 arrays/);
  });
});
