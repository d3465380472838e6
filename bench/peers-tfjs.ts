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
import { MODELS, headRows, loadData, type ModelSpec } from './models.js';

const TFJS_LOSS = { sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy', mse: 'meanSquaredError' } as const;
const TFJS_METRIC = { accuracy: 'accuracy', mae: 'mae' } as const;

/** The tfjs-layers twin of buildLockstep: same layers, Glorot-uniform kernels, RMSprop with Keras's defaults. */
export function buildTfjs(spec: ModelSpec): tfl.Sequential {
  const model = tfl.sequential();
  spec.layers.forEach((l, i) => {
    const input = i === 0 ? { inputShape: [spec.inputDim] } : {};
    model.add(l.kind === 'dense' ? tfl.layers.dense({ units: l.units, activation: l.activation, ...input }) : tfl.layers.dropout({ rate: l.rate, ...input }));
  });
  model.compile({ optimizer: tf.train.rmsprop(0.001, 0.9, 0, 1e-7), loss: TFJS_LOSS[spec.loss], metrics: [TFJS_METRIC[spec.metric]] });
  return model;
}

function toTensors(x: Matrix, y: Int32Array | Matrix): [tf.Tensor2D, tf.Tensor2D] {
  const ys = y instanceof Matrix ? tf.tensor2d(y.data, [y.rows, y.cols]) : tf.tensor2d(Float32Array.from(y), [y.length, 1]);
  return [tf.tensor2d(x.data, [x.rows, x.cols]), ys];
}

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
  await model.fit(xWarm, yWarm, { ...fitArgs, epochs: 1 });
  tf.dispose([xWarm, yWarm]);
  let trainedSteps = Math.ceil(warm.x.rows / spec.batch);

  const stepsPerEpoch = Math.ceil(data.xTrain.rows / spec.batch);
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
  const [testLoss, testMetric] = spec.evaluate ? (model.evaluate(xTest, yTest, { batchSize: 1024 }) as tf.Scalar[]).map((s) => s.dataSync()[0]) : [NaN, NaN];
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
    backend: { backend: tf.getBackend(), simd: backend === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : false, tfjsVersion: tf.version_core, tfjsLayers: tfl.version_layers },
  };
}
