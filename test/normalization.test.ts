/**
 * BatchNormalization and LayerNormalization in a model: Keras's defaults, names and summary counts; the moving
 * statistics updated as Keras 3 does (and never by the optimizer), used by predict and evaluate; the same bits
 * on 2 workers as in process; config round trips; every bad option named with its layer. The gradients are
 * checked in normalization-gradcheck.test.ts, the worker counts in determinism.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Sequential, layers, initBackend, Matrix, Callback } from '../src/index.js';
import { layerFromConfig } from '../src/layers/index.js';
import { fromModelTopology, toModelTopology } from '../src/io/index.js';

beforeAll(async () => {
  await initBackend();
});

const f = Math.fround;

function values(count: number, seed: number, scale = 1, shift = 0): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale + shift;
  });
}

/** Float64 per-column mean and biased variance of rows x cols values. */
function columnMoments(x: Float32Array, rows: number, cols: number): { mean: number[]; variance: number[] } {
  const mean = Array.from({ length: cols }, (_, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * cols + c];
    return s / rows;
  });
  const variance = mean.map((m, c) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += (x[r * cols + c] - m) ** 2;
    return s / rows;
  });
  return { mean, variance };
}

const weight = (m: Sequential, name: string) => m.getWeights().find((w) => w.name === name)!.data;

describe('BatchNormalization in a model', () => {
  it("has Keras 3's defaults, name and weights (gamma ones, beta zeros, moving mean zeros, moving variance ones)", () => {
    const model = new Sequential({ seed: 1 });
    model.add(layers.Input({ shape: [5] }));
    model.add(layers.Dense({ units: 3 }));
    const bn = layers.BatchNormalization();
    model.add(bn);
    expect(bn.name).toBe('batch_normalization');
    expect(bn.getConfig()).toMatchObject({ axis: -1, momentum: 0.99, epsilon: 1e-3, center: true, scale: true });
    expect(
      model
        .getWeights()
        .slice(2)
        .map((w) => [w.name, Array.from(w.data)]),
    ).toEqual([
      ['batch_normalization/gamma', [1, 1, 1]],
      ['batch_normalization/beta', [0, 0, 0]],
      ['batch_normalization/moving_mean', [0, 0, 0]],
      ['batch_normalization/moving_variance', [1, 1, 1]],
    ]);
    // center and scale off: only the moving statistics.
    const bare = layers.BatchNormalization({ center: false, scale: false });
    model.add(bare);
    expect(
      model
        .getWeights()
        .slice(6)
        .map((w) => w.name),
    ).toEqual(['batch_normalization_1/moving_mean', 'batch_normalization_1/moving_variance']);
  });

  it("summary shows the moving statistics as non-trainable parameters with Keras's counts and bytes", () => {
    const model = new Sequential();
    model.add(layers.Input({ shape: [784] }));
    model.add(layers.Dense({ units: 64, activation: 'relu' }));
    model.add(layers.BatchNormalization());
    model.add(layers.Dense({ units: 10, activation: 'softmax' }));
    const text = model.summary();
    expect(text).toMatch(/batch_normalization \(BatchNormalization\)\s+│ \(None, 64\)\s+│\s+256 │/);
    expect(text).toContain('Total params: 51,146 (199.79 KB)');
    expect(text).toContain('Trainable params: 51,018 (199.29 KB)');
    expect(text).toContain('Non-trainable params: 128 (512.00 B)');

    const conv = new Sequential();
    conv.add(layers.Input({ shape: [28, 28, 1] }));
    conv.add(layers.Conv2D({ filters: 32, kernelSize: 3, activation: 'relu' }));
    conv.add(layers.BatchNormalization());
    const convText = conv.summary();
    expect(convText).toMatch(/batch_normalization \(BatchNormalization\)\s+│ \(None, 26, 26, 32\)\s+│\s+128 │/);
    expect(convText).toContain('Total params: 448 (1.75 KB)');
    expect(convText).toContain('Trainable params: 384 (1.50 KB)');
    expect(convText).toContain('Non-trainable params: 64 (256.00 B)');
  });

  it('training updates the moving statistics as Keras 3 does, in float32, and the optimizer (AdamW, decaying) never touches them', async () => {
    // BatchNormalization first, so its input is x itself and the batch statistics are known exactly.
    const rows = 12;
    const x = values(rows * 3, 5, 2, 0.5);
    const y = values(rows * 2, 6);
    const model = new Sequential({ seed: 2 });
    model.add(layers.Input({ shape: [3] }));
    model.add(layers.BatchNormalization({ momentum: 0.9 }));
    model.add(layers.Dense({ units: 2 }));
    model.compile({ loss: 'mse', optimizer: { className: 'AdamW', learningRate: 0.1, weightDecay: 0.5 } });
    const { mean, variance } = columnMoments(x, rows, 3);
    // One batch of three micro-shards, twice; the same rows each step (no shuffling).
    let expectMean = [0, 0, 0];
    let expectVar = [1, 1, 1];
    for (let step = 0; step < 2; step++) {
      await model.fit(new Matrix(x, rows, 3), new Matrix(y, rows, 2), {
        batchSize: rows,
        microBatchSize: 4,
        epochs: 1,
        shuffle: false,
        workers: 0,
        verbose: 0,
      });
      expectMean = expectMean.map((m, c) => f(f(m * f(0.9)) + f(f(mean[c]) * f(1 - 0.9))));
      expectVar = expectVar.map((v, c) => f(f(v * f(0.9)) + f(f(variance[c]) * f(1 - 0.9))));
      expect(Array.from(weight(model, 'batch_normalization/moving_mean'))).toEqual(expectMean);
      expect(Array.from(weight(model, 'batch_normalization/moving_variance'))).toEqual(expectVar);
    }
    // gamma and beta trained; the moving statistics' optimizer state is still its initial zeros.
    expect(Array.from(weight(model, 'batch_normalization/gamma'))).not.toEqual([1, 1, 1]);
    const offset = 6; // gamma, beta
    for (const state of model.currentOptimizerState())
      expect(Array.from(state.subarray(offset, offset + 6))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('predict and evaluate use the moving statistics, not the batch', async () => {
    const model = new Sequential({ seed: 3 });
    model.add(layers.Input({ shape: [2] }));
    model.add(layers.BatchNormalization({ epsilon: 0.01 }));
    model.compile({ loss: 'mse' });
    const gamma = Float32Array.of(2, -0.5);
    const beta = Float32Array.of(0.25, 1);
    const mm = Float32Array.of(3, -1);
    const mv = Float32Array.of(4, 0.25);
    model.setWeights([gamma, beta, mm, mv]);
    const x = values(10, 8, 3);
    const out = (await model.predict(new Matrix(x, 5, 2), { workers: 0 })).data;
    for (let i = 0; i < x.length; i++) {
      const c = i % 2;
      const want = gamma[c] * ((x[i] - mm[c]) / Math.sqrt(mv[c] + 0.01)) + beta[c];
      expect(Math.abs(out[i] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
    }
    // A single row: batch statistics would give 0 variance and beta exactly; moving statistics do not.
    const logs = await model.evaluate(new Matrix(x.subarray(0, 2), 1, 2), new Matrix(out.subarray(0, 2), 1, 2), {
      workers: 0,
    });
    expect(logs.loss).toBeLessThan(1e-10);
  });

  it('trains to the same bits on 2 workers as in process (micro-shards on different workers)', async () => {
    const rows = 40;
    const x = values(rows * 4, 11);
    const labels = Int32Array.from({ length: rows }, (_, r) => (x[r * 4] + x[r * 4 + 1] > 0 ? 1 : 0));
    const train = async (workers: number, callbacks: Callback[] = []) => {
      const model = new Sequential({ seed: 4 });
      model.add(layers.Input({ shape: [4] }));
      model.add(layers.Dense({ units: 6, activation: 'tanh' }));
      model.add(layers.BatchNormalization({ momentum: 0.8 }));
      model.add(layers.Dense({ units: 2, activation: 'softmax' }));
      model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam' });
      const history = await model.fit(new Matrix(x, rows, 4), labels, {
        batchSize: 16,
        microBatchSize: 4,
        epochs: 2,
        workers,
        verbose: 0,
        seed: 9,
        callbacks,
      });
      const bits = model.getWeights().map((w) => Array.from(new Uint32Array(w.data.slice().buffer)));
      await model.dispose();
      return { bits, history };
    };
    const inProcess = await train(0);
    const pooled = await train(2);
    expect(pooled.bits).toEqual(inProcess.bits);
    // The step-exact path (a batch callback: workers wait at every step boundary) exchanges the same way.
    const gated = await train(2, [
      new (class extends Callback {
        steps = 0;
        onBatchEnd(): void {
          this.steps++;
        }
      })(),
    ]);
    expect(gated.bits).toEqual(inProcess.bits);
    // The exchange was used and timed: 2 calls (forward, backward) per step on each worker.
    const t = pooled.history.timing[0];
    expect(t.exchangesPerStep).toBeGreaterThan(1.5);
    expect(t.exchangeMsPerStep).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('layerFromConfig(getConfig()) rebuilds the same layer', () => {
    const bn = layers.BatchNormalization({
      axis: 1,
      momentum: 0.5,
      epsilon: 0.1,
      center: false,
      gammaInitializer: 'random_normal',
      name: 'bn',
    });
    expect(layerFromConfig(bn.getConfig()).getConfig()).toEqual(bn.getConfig());
    const ln = layers.LayerNormalization({ axis: [1, -1], epsilon: 0.2, scale: false, name: 'ln' });
    expect(layerFromConfig(ln.getConfig()).getConfig()).toEqual(ln.getConfig());
  });
});

describe('bad options are named with their layer, and leave the model unchanged', () => {
  const dense = () => {
    const model = new Sequential();
    model.add(layers.Input({ shape: [4] }));
    model.add(layers.Dense({ units: 3 }));
    return model;
  };

  it.each([
    [
      { axis: 2 },
      /BatchNormalization 'batch_normalization': axis must name a feature axis of its input \(None, 3\).*Received: axis=2/,
    ],
    [{ axis: -3 }, /BatchNormalization 'batch_normalization': axis .*Received: axis=-3/],
    [{ axis: 0 }, /axis 0 is the batch\). Received: axis=0/],
  ])('an axis outside the input: %j', (options, message) => {
    const model = dense();
    const before = model.getWeights().length;
    expect(() => model.add(layers.BatchNormalization(options))).toThrow(message);
    expect(model.layers.length).toBe(2);
    expect(model.getWeights().length).toBe(before);
  });

  it.each([
    [{ momentum: 1.5 }, 'BatchNormalization: momentum must be in [0, 1]. Received: momentum=1.5'],
    [{ momentum: -0.1 }, 'momentum must be in [0, 1]. Received: momentum=-0.1'],
    [{ momentum: NaN, name: 'bn' }, "BatchNormalization 'bn': momentum must be in [0, 1]. Received: momentum=NaN"],
    [{ epsilon: 0 }, 'BatchNormalization: epsilon must be a positive finite number. Received: epsilon=0'],
    [{ epsilon: -1e-3 }, 'epsilon must be a positive finite number. Received: epsilon=-0.001'],
    [{ axis: 1.5 }, 'axis must be an integer. Received: axis=1.5'],
    [{ center: 'yes' }, 'center must be a boolean'],
    [{ gammaInitializer: 'one' }, 'Unknown initializer: "one"'],
    [{ momentun: 0.9 }, "Unrecognized option 'momentun' for BatchNormalization; did you mean 'momentum'?"],
  ])('BatchNormalization(%j)', (options, message) => {
    expect(() => layers.BatchNormalization(options as never)).toThrow(message);
  });

  it.each([
    [
      { axis: [1, -1] },
      [4],
      /LayerNormalization 'layer_normalization': axis must name distinct feature axes .*Received: axis=\[1,-1\]/,
    ],
    [{ axis: 0 }, [4], /axis 0 is the batch/],
    [{ axis: 4 }, [2, 2, 1], /Received: axis=4/],
  ])('LayerNormalization(%j) on (None, %j)', (options, shape, message) => {
    const model = new Sequential();
    model.add(layers.Input({ shape }));
    expect(() => model.add(layers.LayerNormalization(options))).toThrow(message);
    expect(model.layers.length).toBe(1);
  });

  it.each([
    [{ epsilon: 0 }, 'LayerNormalization: epsilon must be a positive finite number. Received: epsilon=0'],
    [{ axis: [] }, 'axis must be an integer or a non-empty array of integers. Received: axis=[]'],
    [{ axes: -1 }, "Unrecognized option 'axes' for LayerNormalization; did you mean 'axis'?"],
  ])('LayerNormalization(%j)', (options, message) => {
    expect(() => layers.LayerNormalization(options as never)).toThrow(message);
  });
});

describe('LayerNormalization in a model', () => {
  it("has Keras 3's defaults and weights, and normalizes each row by itself", async () => {
    const model = new Sequential({ seed: 1 });
    model.add(layers.Input({ shape: [4] }));
    const ln = layers.LayerNormalization();
    model.add(ln);
    expect(ln.name).toBe('layer_normalization');
    expect(ln.getConfig()).toMatchObject({ axis: -1, epsilon: 1e-3, center: true, scale: true });
    expect(model.getWeights().map((w) => [w.name, Array.from(w.data)])).toEqual([
      ['layer_normalization/gamma', [1, 1, 1, 1]],
      ['layer_normalization/beta', [0, 0, 0, 0]],
    ]);
    expect(model.summary()).toContain('Non-trainable params: 0 (0.00 B)');
    const x = values(12, 3, 2);
    const out = (await model.predict(new Matrix(x, 3, 4), { workers: 0 })).data;
    for (let r = 0; r < 3; r++) {
      const row = Array.from(x.subarray(r * 4, r * 4 + 4));
      const mean = row.reduce((a, b) => a + b, 0) / 4;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
      row.forEach((v, c) =>
        expect(Math.abs(out[r * 4 + c] - (v - mean) / Math.sqrt(variance + 1e-3))).toBeLessThan(1e-5),
      );
    }
  });
});

describe('the saved format (Keras / TensorFlow.js layers JSON)', () => {
  const seq = (...layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 's', layers } });
  const input = { class_name: 'InputLayer', config: { batch_input_shape: [null, 4], name: 'in' } };

  it("reads Keras 3's BatchNormalization and LayerNormalization configs, and writes what it reads", () => {
    const keras3 = seq(
      input,
      {
        class_name: 'BatchNormalization',
        config: {
          name: 'bn',
          trainable: true,
          axis: -1,
          momentum: 0.9,
          epsilon: 0.001,
          center: true,
          scale: false,
          beta_initializer: { class_name: 'Zeros', config: {} },
          gamma_initializer: { class_name: 'Ones', config: {} },
          moving_mean_initializer: { class_name: 'Zeros', config: {} },
          moving_variance_initializer: { class_name: 'Ones', config: {} },
          beta_regularizer: null,
          gamma_regularizer: null,
          beta_constraint: null,
          gamma_constraint: null,
          synchronized: false,
        },
      },
      {
        class_name: 'LayerNormalization',
        config: {
          name: 'ln',
          axis: [-1],
          epsilon: 0.01,
          center: false,
          scale: true,
          rms_scaling: false,
          beta_initializer: { class_name: 'Zeros', config: {} },
          gamma_initializer: { class_name: 'Ones', config: {} },
        },
      },
    );
    const { layers: configs } = fromModelTopology(keras3);
    expect(configs[1]).toEqual({
      className: 'BatchNormalization',
      name: 'bn',
      axis: -1,
      momentum: 0.9,
      epsilon: 0.001,
      center: true,
      scale: false,
      betaInitializer: 'zeros',
      gammaInitializer: 'ones',
      movingMeanInitializer: 'zeros',
      movingVarianceInitializer: 'ones',
    });
    expect(configs[2]).toMatchObject({
      className: 'LayerNormalization',
      name: 'ln',
      axis: [-1],
      epsilon: 0.01,
      center: false,
      scale: true,
    });
    expect(fromModelTopology(toModelTopology('s', configs as never)).layers).toEqual(configs);
  });

  it.each([
    [
      'a regularizer',
      {
        class_name: 'BatchNormalization',
        config: { name: 'bn', gamma_regularizer: { class_name: 'L2', config: { l2: 0.1 } } },
      },
      `layer 1 (BatchNormalization 'bn'): gamma_regularizer is not supported`,
    ],
    [
      'a momentum outside [0, 1]',
      { class_name: 'BatchNormalization', config: { name: 'bn', momentum: 2 } },
      `layer 1 (BatchNormalization 'bn'): momentum must be in [0, 1]. Received: momentum=2`,
    ],
    [
      'a zero epsilon',
      { class_name: 'BatchNormalization', config: { name: 'bn', epsilon: 0 } },
      `layer 1 (BatchNormalization 'bn'): epsilon must be a positive number. Received: epsilon=0`,
    ],
    [
      'an unknown field',
      { class_name: 'BatchNormalization', config: { name: 'bn', renorm: true } },
      `layer 1 (BatchNormalization 'bn'): unknown field 'renorm'`,
    ],
    [
      'rms_scaling',
      { class_name: 'LayerNormalization', config: { name: 'ln', rms_scaling: true } },
      `layer 1 (LayerNormalization 'ln'): rms_scaling is not supported. Received: rms_scaling=true`,
    ],
  ])('rejects %s, naming the layer and the field', (_what, layer, message) => {
    expect(() => fromModelTopology(seq(input, layer))).toThrow(message);
  });
});
