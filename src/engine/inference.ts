/**
 * evaluate and predict: a forward pass in fixed chunks of `batchSize` rows spread over the executor's
 * workers. Chunk boundaries never depend on the worker count, and chunk scores are summed in chunk order.
 */
import type { Logs } from '../callbacks/callback.js';
import { Matrix, toMatrix, type MatrixLike } from '../matrix.js';
import { checkNonNegativeInt, checkOptionKeys, checkPositiveInt } from '../errors.js';
import type { TaskHooks } from '../testing.js';
import { Ctrl, sharedF32, sharedF64, type SharedData } from './layout.js';
import { statWidth } from './step.js';
import type { Network, Plan } from './network.js';
import type { Executor } from './executor.js';
import type { Loss } from '../losses.js';

export interface InferenceOptions {
  /** Rows per chunk. Default 32. */
  batchSize?: number;
  /** Worker threads; default os.availableParallelism(); 0 = this thread. */
  workers?: number;
  /** evaluate only: one weight per row (Keras's sample_weight). */
  sampleWeight?: ArrayLike<number>;
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
 * One output's targets as a Matrix checked against its loss: class indices in range for sparse losses, one
 * column per output value otherwise. Errors name the argument, the row and the output layer.
 */
export function targetsFor(
  loss: Loss,
  classes: number,
  outputLayer: string,
  yIn: MatrixLike | Int32Array,
  what: string,
): Matrix {
  const y = yIn instanceof Int32Array ? new Matrix(Float32Array.from(yIn), yIn.length, 1) : toMatrix(yIn, what);
  if (loss.target === 'sparse') {
    if (y.cols !== 1)
      throw new Error(
        `${what} must hold one class index per row for ${loss.name}. Received shape (${y.rows}, ${y.cols})`,
      );
    for (let r = 0; r < y.rows; r++) {
      const v = y.data[r];
      if (!Number.isInteger(v) || v < 0 || v >= classes) {
        throw new RangeError(
          `${what} row ${r}: label ${v} is outside the class range 0..${classes - 1} of layer ${outputLayer} (${classes} units)`,
        );
      }
    }
  } else if (y.cols !== classes) {
    throw new Error(
      `${what} has shape (${y.rows}, ${y.cols}) but layer ${outputLayer} outputs (None, ${classes}) for loss ${loss.name}`,
    );
  } else if (loss.name === 'binary_crossentropy' || loss.name === 'categorical_crossentropy') {
    for (let i = 0; i < y.data.length; i++) {
      if (y.data[i] < 0 || y.data[i] > 1) {
        throw new RangeError(
          `${what} row ${Math.floor(i / y.cols)}: target ${y.data[i]} is outside [0, 1], which ${loss.name} requires`,
        );
      }
    }
  }
  return y;
}

/** What an inference pass needs of a model: its plan and network, weights, control block and interrupt flag. */
export interface InferenceTarget {
  plan: Plan;
  net: Network;
  params: Float32Array;
  control: Int32Array;
  /** Test hooks of the model (testing.ts); NO_HOOKS in production. */
  hooks: TaskHooks;
  fitInterrupted: () => Error | undefined;
}

/** Checks evaluate's or predict's options and fills in the defaults. */
export function checkInferenceOptions(
  owner: 'evaluate' | 'predict',
  options: InferenceOptions = {},
): { owner: 'evaluate' | 'predict'; batchSize: number; workers?: number; sampleWeight?: ArrayLike<number> } {
  checkOptionKeys(
    owner,
    options,
    owner === 'evaluate' ? ['batchSize', 'workers', 'sampleWeight'] : ['batchSize', 'workers'],
  );
  const batchSize = options?.batchSize === undefined ? 32 : checkPositiveInt(owner, 'batchSize', options.batchSize);
  if (options?.workers !== undefined) checkNonNegativeInt(owner, 'workers', options.workers);
  return { owner, batchSize, workers: options?.workers, sampleWeight: options?.sampleWeight };
}

/** Runs the forward pass on packed x; with y, also the loss and metrics (Keras's evaluate logs). */
export async function inference(
  m: InferenceTarget,
  x: Matrix,
  y: Matrix | undefined,
  s: { owner: string; batchSize: number },
  executor: Executor,
): Promise<{ out: Matrix; logs?: Logs }> {
  const { plan, net } = m;
  const { owner, batchSize } = s;
  const yy = y ?? new Matrix(new Float32Array(0), x.rows, 0);
  if (yy.rows !== x.rows) throw new Error(`x has ${x.rows} rows but y has ${yy.rows}: they must match`);
  if (y !== undefined && x.rows === 0) throw new Error('evaluate: x has no rows; a loss over 0 rows is undefined');
  const data = shareData(x, yy);
  const chunks = Math.ceil(x.rows / batchSize);
  const width = statWidth(net);
  const out = sharedF32(x.rows * net.outputCols);
  const stats = sharedF64(chunks * width);
  let params = m.params;
  if (!(params.buffer instanceof SharedArrayBuffer)) {
    const p = sharedF32(params.length);
    p.set(params);
    params = p;
  }
  await executor.forward({
    plan,
    params,
    data,
    out,
    stats,
    score: y !== undefined,
    chunkRows: batchSize,
    control: m.control,
    hooks: m.hooks,
  });
  // Workers leave a pass early only when told to (dispose during a fit): its outputs are incomplete.
  if (Atomics.load(m.control, Ctrl.Abort)) throw m.fitInterrupted() ?? new Error(`lockstep: ${owner} was interrupted`);
  const result: { out: Matrix; logs?: Logs } = {
    out: new Matrix(out, x.rows, net.outputCols, net.heads.length === 1 ? net.outputShape : [net.outputCols]),
  };
  if (y !== undefined) {
    const sums = new Float64Array(width);
    for (let c = 0; c < chunks; c++) for (let k = 0; k < width; k++) sums[k] += stats[c * width + k];
    result.logs = net.logsOf(sums, Math.max(1, x.rows));
  }
  return result;
}
