/**
 * Peer: the same model trained with tfjs-layers' `model.fit`, on the wasm backend (what lockstep computes
 * with) or the pure-JavaScript cpu backend. Runs inside a case child process (see case.ts).
 *
 * tfjs-layers' fit is slow (about 22 s/epoch for the MNIST MLP on wasm), so by default the timed part is
 * bounded: it stops after `maxSteps` batches or `maxSeconds`, whichever comes first, and the seconds per epoch
 * are extrapolated from the time per step (`extrapolated: true`, marked in the report). With maxSteps and
 * maxSeconds 0 it trains whole epochs. Either way the accuracy reflects only the steps this case trained.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { Matrix } from '../src/index.js';
import { peakRssMiB, type CaseResult, type CaseSpec } from './case.js';
import { MODELS, headRows, loadData, type LayerSpec, type ModelSpec } from './models.js';

const TFJS_LOSS = {
  sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
  mse: 'meanSquaredError',
} as const;
const TFJS_METRIC = { accuracy: 'accuracy', mae: 'mae' } as const;

type Of<K extends LayerSpec['kind']> = Extract<LayerSpec, { kind: K }>;
const TFJS_LAYER: { [K in LayerSpec['kind']]: (l: Of<K>, input: { inputShape?: number[] }) => tfl.layers.Layer } = {
  dense: (l, input) => tfl.layers.dense({ units: l.units, activation: l.activation, ...input }),
  dropout: (l, input) => tfl.layers.dropout({ rate: l.rate, ...input }),
  conv2d: (l, input) =>
    tfl.layers.conv2d({ filters: l.filters, kernelSize: l.kernelSize, activation: l.activation, ...input }),
  maxpool2d: (l, input) => tfl.layers.maxPooling2d({ poolSize: l.poolSize, ...input }),
  flatten: (_, input) => tfl.layers.flatten(input),
};

/** Keras's defaults of each optimizer, as tfjs-core spells them. */
const TFJS_OPTIMIZER = {
  rmsprop: () => tf.train.rmsprop(0.001, 0.9, 0, 1e-7),
  adam: () => tf.train.adam(0.001, 0.9, 0.999, 1e-7),
};

/**
 * The tfjs-layers twin of buildLockstep: same layers, tfjs's (= Keras's) Glorot-uniform kernels and optimizer defaults.
 */
export function buildTfjs(spec: ModelSpec): tfl.Sequential {
  const model = tfl.sequential();
  spec.layers.forEach((l, i) =>
    model.add(TFJS_LAYER[l.kind](l as never, i === 0 ? { inputShape: spec.inputShape } : {})),
  );
  model.compile({
    optimizer: TFJS_OPTIMIZER[spec.optimizer](),
    loss: TFJS_LOSS[spec.loss],
    metrics: [TFJS_METRIC[spec.metric]],
  });
  return model;
}

function toTensors(x: Matrix, y: Int32Array | Matrix): [tf.Tensor, tf.Tensor2D] {
  const ys =
    y instanceof Matrix ? tf.tensor2d(y.data, [y.rows, y.cols]) : tf.tensor2d(Float32Array.from(y), [y.length, 1]);
  return [tf.tensor(x.data, x.shape), ys];
}

/**
 * tfjs-backend-wasm has no kernel for some gradients (Conv2DBackpropFilter): fit throws "Kernel '...' not
 * registered for backend 'wasm'". That is a finding, not a failure of the bench: the case reports it.
 */
const UNSUPPORTED = /Kernel '\w+' not registered for backend '\w+'/;

export async function runTfjsCase(spec: CaseSpec): Promise<CaseResult> {
  const started = performance.now();
  const backend = spec.runner === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  await tf.ready();
  const modelSpec = MODELS[spec.model];
  const data = await loadData(modelSpec, { rows: spec.rows, testRows: spec.testRows });
  const [xTrain, yTrain] = toTensors(data.xTrain, data.yTrain);
  const [xTest, yTest] = toTensors(data.xTest, data.yTest);
  const model = buildTfjs(modelSpec);
  const fitArgs = { batchSize: spec.batch, verbose: 0, shuffle: true, yieldEvery: 'never' as const };

  // Warm-up: a partial epoch on the first rows (kernels compiled, JIT warm).
  const warm = headRows({ x: data.xTrain, y: data.yTrain }, spec.warmupSteps * spec.batch);
  const [xWarm, yWarm] = toTensors(warm.x, warm.y);
  const stepsPerEpoch = Math.ceil(data.xTrain.rows / spec.batch);
  try {
    await model.fit(xWarm, yWarm, { ...fitArgs, epochs: 1 });
  } catch (e) {
    const missing = UNSUPPORTED.exec((e as Error).message)?.[0];
    if (!missing) throw e;
    tf.dispose([xWarm, yWarm, xTrain, yTrain, xTest, yTest]);
    model.dispose();
    return {
      ...emptyResult(spec, stepsPerEpoch, data.xTrain.rows, started),
      unsupported: `tfjs-layers cannot train this model on its ${backend} backend: ${missing}`,
      backend: { backend: tf.getBackend(), tfjsVersion: tf.version_core, tfjsLayers: tfl.version_layers },
    };
  }
  tf.dispose([xWarm, yWarm]);
  let trainedSteps = Math.ceil(warm.x.rows / spec.batch);

  const epochSeconds: number[] = [];
  let stepsTimed = 0;
  let finalLoss = NaN;
  // Bounded: each timed epoch stops after maxSteps, and the whole timed part after maxSeconds (later epochs are
  // then skipped). Unbounded: `epochs` whole epochs.
  const timedStart = performance.now();
  const outOfTime = (now: number) => spec.maxSeconds > 0 && now - timedStart >= spec.maxSeconds * 1000;
  for (let e = 0; e < spec.epochs && !(e > 0 && outOfTime(performance.now())); e++) {
    let steps = 0;
    let firstBatch = 0;
    let lastBatchEnd = 0;
    const t0 = performance.now();
    const history = await model.fit(xTrain, yTrain, {
      ...fitArgs,
      epochs: 1,
      callbacks: {
        onBatchBegin: async () => {
          if (steps === 0) firstBatch = performance.now();
        },
        onBatchEnd: async () => {
          steps++;
          lastBatchEnd = performance.now();
          if ((spec.maxSteps > 0 && steps >= spec.maxSteps) || outOfTime(lastBatchEnd)) model.stopTraining = true;
        },
      },
    });
    const t1 = performance.now();
    // s/epoch = fit's fixed cost (before the first batch and after the last) + time per step * steps per epoch;
    // exact when the whole epoch ran, an extrapolation when it was cut short.
    const fixed = firstBatch - t0 + (t1 - lastBatchEnd);
    epochSeconds.push((fixed + ((lastBatchEnd - firstBatch) / steps) * stepsPerEpoch) / 1000);
    stepsTimed += steps;
    trainedSteps += steps;
    finalLoss = Number(history.history.loss.at(-1));
  }
  // Scoring the test set is slow on the cpu backend (about a minute for the wide MLP), so repeats may skip it.
  const [testLoss, testMetric] = spec.evaluate
    ? (model.evaluate(xTest, yTest, { batchSize: 1024 }) as tf.Scalar[]).map((s) => s.dataSync()[0])
    : [NaN, NaN];
  const peak = peakRssMiB();
  tf.dispose([xTrain, yTrain, xTest, yTest]);
  model.dispose();
  return {
    spec,
    epochSeconds,
    stepsPerEpoch,
    stepsTimed,
    extrapolated: stepsTimed < epochSeconds.length * stepsPerEpoch,
    trainRows: data.xTrain.rows,
    finalLoss,
    testLoss,
    testMetric,
    trainedSteps,
    peakRssMiB: peak,
    wallSeconds: (performance.now() - started) / 1000,
    backend: {
      backend: tf.getBackend(),
      simd: backend === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : false,
      tfjsVersion: tf.version_core,
      tfjsLayers: tfl.version_layers,
    },
  };
}

/** A result with nothing timed or scored. */
function emptyResult(spec: CaseSpec, stepsPerEpoch: number, trainRows: number, started: number): CaseResult {
  const nothing = { finalLoss: NaN, testLoss: NaN, testMetric: NaN, trainedSteps: 0 };
  return {
    spec,
    epochSeconds: [],
    stepsPerEpoch,
    stepsTimed: 0,
    extrapolated: false,
    trainRows,
    ...nothing,
    peakRssMiB: peakRssMiB(),
    wallSeconds: (performance.now() - started) / 1000,
  };
}
