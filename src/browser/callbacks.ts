/**
 * The callbacks a page can use: Keras's, less those that write files (CSVLogger, ModelCheckpoint to a path).
 * ProgbarLogger's lines go to the console.
 */
export { Callback } from '../callbacks/callback.js';
export type { CallbackModel, Logs, NamedWeight, TrainParams } from '../callbacks/callback.js';
export { MonitorCallback, autoMode } from '../callbacks/monitor.js';
export type { Mode } from '../callbacks/monitor.js';
export { EarlyStopping } from '../callbacks/early-stopping.js';
export type { EarlyStoppingOptions } from '../callbacks/early-stopping.js';
export { TerminateOnNaN } from '../callbacks/terminate-on-nan.js';
export type { TerminateOnNaNOptions } from '../callbacks/terminate-on-nan.js';
export { ReduceLROnPlateau } from '../callbacks/reduce-lr-on-plateau.js';
export type { ReduceLROnPlateauOptions } from '../callbacks/reduce-lr-on-plateau.js';
export { ProgbarLogger } from '../callbacks/progress.js';
export type { ProgbarLoggerOptions } from '../callbacks/progress.js';
