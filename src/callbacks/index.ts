/**
 * Keras's callbacks: `new callbacks.EarlyStopping({ patience: 3 })` and so on, passed to `fit`.
 */
export { Callback } from './callback.js';
export type { CallbackModel, Logs, NamedWeight, TrainParams } from './callback.js';
export { MonitorCallback, autoMode } from './monitor.js';
export type { Mode } from './monitor.js';
export { EarlyStopping } from './early-stopping.js';
export type { EarlyStoppingOptions } from './early-stopping.js';
export { TerminateOnNaN } from './terminate-on-nan.js';
export type { TerminateOnNaNOptions } from './terminate-on-nan.js';
export { ReduceLROnPlateau } from './reduce-lr-on-plateau.js';
export type { ReduceLROnPlateauOptions } from './reduce-lr-on-plateau.js';
export { CSVLogger } from './csv-logger.js';
export type { CSVLoggerOptions } from './csv-logger.js';
export { ModelCheckpoint } from './model-checkpoint.js';
export type { ModelCheckpointOptions } from './model-checkpoint.js';
export { ProgbarLogger } from './progress.js';
export type { ProgbarLoggerOptions } from './progress.js';
export { LearningRateScheduler } from './learning-rate-scheduler.js';
export type { LearningRateSchedulerOptions } from './learning-rate-scheduler.js';
export { TensorBoard } from './tensorboard.js';
export type { TensorBoardOptions } from './tensorboard.js';
