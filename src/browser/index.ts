/**
 * lockstep for browsers: the library as an ES module that a page imports as served, training on Web Workers
 * (one per core by default) with the same bits as Node for the same seed and data.
 *
 * The page must be cross-origin isolated for workers (headers `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`); without them, pass `workers: 0` to train on the page's thread.
 *
 * @example
 * import { Sequential, layers, datasets, weightsHash } from './node_modules/lockstep/dist/browser/lockstep.js';
 *
 * const { train } = await datasets.mnist({ url: '/data/mnist/' });
 * const model = new Sequential({ seed: 1 });
 * model.add(layers.Input({ shape: [784] }));
 * model.add(layers.Dense({ units: 128, activation: 'relu' }));
 * model.add(layers.Dropout({ rate: 0.2 }));
 * model.add(layers.Dense({ units: 10, activation: 'softmax' }));
 * model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
 * await model.fit(train.images, train.labels, { epochs: 2, batchSize: 128, verbose: 0 });
 * await model.save('indexeddb://mnist-mlp');
 * console.log(await weightsHash(model));
 *
 * @module lockstep/browser
 */
export { Sequential, type CompileOptions, type SequentialOptions } from '../sequential.js';
export { Model, type ModelOptions } from '../model.js';
export { SymbolicTensor } from '../layers/symbolic-tensor.js';
export * as layers from '../layers/index.js';
export * as callbacks from './callbacks.js';
export { Callback, type Logs, type NamedWeight } from '../callbacks/callback.js';
export * as optimizers from '../optimizers.js';
export * as datasets from './datasets.js';
export {
  getDummies,
  oneHot,
  dropNA,
  frameToMatrix,
  DataFrame,
  StandardScaler,
  trainTestSplit,
  toCategorical,
} from '../preprocessing.js';
export { Matrix, type MatrixLike } from '../matrix.js';
export { History, type EpochTiming } from '../history.js';
export { setRandomSeed } from '../seed.js';
export { loadModel } from '../model-io.js';
export { backendInfo, initBackend } from '../backend.js';
export { WorkerFailure } from '../engine/executor.js';
export type { FitOptions } from '../engine/trainer.js';
export type { InferenceOptions } from '../engine/inference.js';
export { defaultWorkers, isolationProblem } from './executors.js';
export { weightsHash, sha256Hex } from './hash.js';
export * as metrics from '../metrics.js';
export * as regularizers from '../regularizers.js';
export * as schedules from '../schedules.js';
