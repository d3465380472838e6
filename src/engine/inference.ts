/**
 * evaluate and predict: a forward pass in fixed chunks of `batchSize` rows spread over the executor's
 * workers. Chunk boundaries never depend on the worker count, and chunk scores are summed in chunk order.
 */
import type { Sequential } from '../sequential.js';
import type { Logs } from '../callbacks/callback.js';
import { Matrix, toMatrix, type MatrixLike } from '../matrix.js';
import { checkNonNegativeInt, checkOptionKeys, checkPositiveInt } from '../errors.js';
import { testHooksOf } from '../testing.js';
import { Ctrl, sharedF32, sharedF64, type SharedData } from './layout.js';
import { statWidth } from './step.js';
import { metricLogs } from '../metrics.js';
import { appendWeights, rowWeights } from '../sample-weights.js';
import { Network, type Plan } from './network.js';

export interface InferenceOptions {
  /** Rows per chunk. Default 32. */
  batchSize?: number;
  /** Worker threads; default os.availableParallelism(); 0 = this thread. */
  workers?: number;
  /** evaluate only: one weight per row (Keras's sample_weight). */
  sampleWeight?: ArrayLike<number>;
  /** @internal fit's validation: y was checked by fit and may carry a weight column already. */
  __checkedTargets?: boolean;
}

/**
 * A shared copy of the caller's values as they are now. Copied on every call, never cached by identity: a
 * buffer refilled between calls must be read afresh (the copy costs about a tenth of a training epoch's
 * first step on MNIST; see README).
 */
function shared(m: Matrix): Float32Array {
  if (m.data.buffer instanceof SharedArrayBuffer) return m.data;
  const copy = sharedF32(m.data.length);
  copy.set(m.data);
  return copy;
}

/** x and y in SharedArrayBuffers (no copy when they already are). */
export function shareData(x: Matrix, y: Matrix): SharedData {
  return { x: shared(x), y: shared(y), rows: x.rows, xCols: x.cols, yCols: y.cols };
}

/**
 * Targets as a Matrix checked against the loss: class indices in range for sparse losses, one column per
 * output otherwise. Errors name the argument, the row and the output layer.
 */
export function targetsFor(net: Network, yIn: MatrixLike | Int32Array, what: string): Matrix {
  const y = yIn instanceof Int32Array ? new Matrix(Float32Array.from(yIn), yIn.length, 1) : toMatrix(yIn, what);
  const last = net.layers[net.layers.length - 1];
  const classes = net.outputCols;
  if (net.loss.target === 'sparse') {
    if (y.cols !== 1) throw new Error(`${what} must hold one class index per row for ${net.loss.name}. Received shape (${y.rows}, ${y.cols})`);
    for (let r = 0; r < y.rows; r++) {
      const v = y.data[r];
      if (!Number.isInteger(v) || v < 0 || v >= classes) {
        throw new RangeError(`${what} row ${r}: label ${v} is outside the class range 0..${classes - 1} of layer '${last.name}' (${classes} units)`);
      }
    }
  } else if (y.cols !== classes) {
    throw new Error(`${what} has shape (${y.rows}, ${y.cols}) but layer '${last.name}' outputs (None, ${classes}) for loss ${net.loss.name}`);
  } else if (net.loss.name === 'binary_crossentropy' || net.loss.name === 'categorical_crossentropy') {
    for (let i = 0; i < y.data.length; i++) {
      if (y.data[i] < 0 || y.data[i] > 1) {
        throw new RangeError(`${what} row ${Math.floor(i / y.cols)}: target ${y.data[i]} is outside [0, 1], which ${net.loss.name} requires`);
      }
    }
  }
  return y;
}

/** Runs the forward pass; with y, also the loss and metrics (Keras's evaluate logs). */
export async function inference(model: Sequential, xIn: MatrixLike, yIn: MatrixLike | Int32Array | undefined, options: InferenceOptions = {}): Promise<{ out: Matrix; logs?: Logs }> {
  const owner = yIn !== undefined ? 'evaluate' : 'predict';
  checkOptionKeys(owner, options, yIn !== undefined ? ['batchSize', 'workers', 'sampleWeight', '__checkedTargets'] : ['batchSize', 'workers']);
  const batchSize = options?.batchSize === undefined ? 32 : checkPositiveInt(owner, 'batchSize', options.batchSize);
  if (options?.workers !== undefined) checkNonNegativeInt(owner, 'workers', options.workers);
  let plan: Plan;
  let net: Network;
  if (yIn !== undefined) ({ plan, net } = model.requireCompiled('evaluate'));
  else {
    // predict works on an uncompiled model, as in Keras: any loss will do, outputs are never scored.
    try {
      ({ plan, net } = model.requireCompiled('predict'));
    } catch {
      plan = { layers: model.layerConfigs().filter((c) => c.className !== 'InputLayer'), inputShape: [model.layerConfigs()[0].shape as number[]].flat(), loss: 'mse', metrics: [] };
      net = new Network(plan);
    }
  }
  const x = model.toMatrixInput(xIn, 'x');
  let y = yIn !== undefined ? (options?.__checkedTargets ? (yIn as Matrix) : targetsFor(net, yIn, 'y')) : new Matrix(new Float32Array(0), x.rows, 0);
  const weights = yIn !== undefined ? rowWeights(owner, y, net.loss.target === 'sparse', options?.sampleWeight, undefined) : null;
  if (weights) y = appendWeights(y, weights);
  if (y.rows !== x.rows) throw new Error(`x has ${x.rows} rows but y has ${y.rows}: they must match`);
  if (yIn !== undefined && x.rows === 0) throw new Error('evaluate: x has no rows; a loss over 0 rows is undefined');
  const data = shareData(x, y);
  const chunks = Math.ceil(x.rows / batchSize);
  const width = statWidth(net);
  const out = sharedF32(x.rows * net.outputCols);
  const stats = sharedF64(chunks * width);
  let params = model.currentParams();
  if (!(params.buffer instanceof SharedArrayBuffer)) {
    const p = sharedF32(params.length);
    p.set(params);
    params = p;
  }
  const executor = await model.executorFor(options?.workers);
  await executor.forward({ plan, params, data, out, stats, score: yIn !== undefined, chunkRows: batchSize, control: model.control, hooks: testHooksOf(model) });
  // Workers leave a pass early only when told to (dispose during a fit): its outputs are incomplete.
  if (Atomics.load(model.control, Ctrl.Abort)) throw model.fitInterrupted ?? new Error(`lockstep: ${owner} was interrupted`);
  const result: { out: Matrix; logs?: Logs } = { out: new Matrix(out, x.rows, net.outputCols, net.outputShape) };
  if (yIn !== undefined) {
    let loss = 0;
    const sums = new Float64Array(net.metricsWidth);
    for (let c = 0; c < chunks; c++) {
      loss += stats[c * width];
      for (let k = 0; k < sums.length; k++) sums[k] += stats[c * width + 1 + k];
    }
    const logs: Logs = { loss: loss / Math.max(1, x.rows) };
    metricLogs(net.metrics, sums, logs);
    result.logs = logs;
  }
  return result;
}
