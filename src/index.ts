/**
 * lockstep: Keras-style neural networks trained on every CPU core, bit-for-bit reproducible.
 * @module lockstep
 */
export { Sequential, type CompileOptions, type SequentialOptions } from './sequential.js';
export { Model, type ModelOptions } from './model.js';
export { SymbolicTensor } from './layers/symbolic-tensor.js';
export * as layers from './layers/index.js';
export * as callbacks from './callbacks/index.js';
export { Callback, type Logs, type NamedWeight } from './callbacks/callback.js';
export * as optimizers from './optimizers.js';
export * as datasets from './datasets/index.js';
export {
  getDummies,
  oneHot,
  dropNA,
  frameToMatrix,
  DataFrame,
  StandardScaler,
  trainTestSplit,
  toCategorical,
} from './preprocessing.js';
export { Matrix, type MatrixLike } from './matrix.js';
export { History, type EpochTiming } from './history.js';
export { setRandomSeed } from './seed.js';
export { loadModel, modelFromTopology } from './model-io.js';
export { plotHistory, historyToSvg } from './plot.js';
export * from './plots/index.js';
export { backendInfo, initBackend } from './backend.js';
export { WorkerFailure } from './engine/executor.js';
export type { FitOptions } from './engine/trainer.js';
export type { InferenceOptions } from './engine/inference.js';
export {
  loadDataFile,
  loadCsv,
  loadNpy,
  loadNpz,
  npzKeys,
  loadPreprocessing,
  savePreprocessing,
  DataFileError,
  type DataFile,
  type DataFileOptions,
  type CsvOptions,
  type CsvData,
  type CsvPreprocessing,
  type Tensor,
} from './data/index.js';
export { verifyDeterminism, compareDigests, type VerifyOptions, type VerifyReport } from './verify/verify.js';
export {
  fingerprint,
  compareFingerprints,
  canonicalJson,
  sha256,
  type Fingerprint,
  type FingerprintInput,
} from './verify/fingerprint.js';
export { digestRun, firstDifference, type RunDigest, type Difference } from './verify/digest.js';
export { Ensemble, average as averagePredictions, type EnsembleScores } from './sweep/ensemble.js';
export * as metrics from './metrics.js';
export * as regularizers from './regularizers.js';
export * as schedules from './schedules.js';
