/**
 * An ensemble of trained models: the average of their predicted probabilities (classifiers) or values
 * (regression), the chapter's "training the model several times and averaging the results".
 *
 * Every member and the ensemble are scored the same way, from predictions on the host (float64 sums), so
 * their losses compare like for like. Keras computes a softmax model's loss from its logits; from the
 * probabilities it differs only in the last digits.
 *
 * @example
 * const members = await Promise.all(dirs.map((d) => loadModel(d)));
 * const ensemble = new Ensemble(members);
 * const { members: each, ensemble: averaged } = await ensemble.evaluate(xTest, yTest);
 */
import type { Logs } from '../callbacks/callback.js';
import type { InferenceOptions } from '../engine/inference.js';
import { checkOptionKeys } from '../errors.js';
import { getLoss } from '../losses.js';
import { getMetrics, metricLogs, type MetricSpec } from '../metrics.js';
import { Matrix, toMatrix, type MatrixLike } from '../matrix.js';
import { Model, onlyOutput } from '../model.js';

export interface EnsembleScores {
  /** Each member's loss and metrics, in member order. */
  members: Logs[];
  /** The loss and metrics of the averaged predictions. */
  ensemble: Logs;
  /** The members' losses and metrics averaged (what one model gives on average). */
  meanOfMembers: Logs;
}

export class Ensemble {
  readonly members: readonly Model[];

  /** `models`: one or more models with the same output width; for `evaluate`, compiled with the same loss. */
  constructor(models: readonly Model[]) {
    if (!Array.isArray(models) || models.length === 0)
      throw new TypeError(
        `Ensemble: models must be a non-empty array of models. Received: ${Array.isArray(models) ? '[]' : typeof models}`,
      );
    models.forEach((m, i) => {
      if (!(m instanceof Model)) throw new TypeError(`Ensemble: models[${i}] is not a Sequential model or a Model`);
    });
    this.members = [...models];
  }

  /** The members' predictions, each as `predict` returns it. */
  async predictEach(x: MatrixLike, options: InferenceOptions = {}): Promise<Matrix[]> {
    checkOptionKeys('Ensemble.predict', options, ['batchSize', 'workers']);
    const out: Matrix[] = [];
    for (const [i, m] of this.members.entries()) {
      const p = onlyOutput(await m.predict(x, options), `Ensemble: models[${i}]`);
      if (out.length > 0 && p.cols !== out[0].cols)
        throw new Error(
          `Ensemble: models[${i}] predicts ${p.cols} values per row but models[0] predicts ${out[0].cols}`,
        );
      out.push(p);
    }
    return out;
  }

  /** The average of the members' predictions (probabilities for a softmax, values for regression). */
  async predict(x: MatrixLike, options: InferenceOptions = {}): Promise<Matrix> {
    return average(await this.predictEach(x, options));
  }

  /** Loss and metrics of each member, of the average prediction, and the members' mean. */
  async evaluate(x: MatrixLike, y: MatrixLike | Int32Array, options: InferenceOptions = {}): Promise<EnsembleScores> {
    const compiled = this.members.map((m, i) => {
      const args = m.compiledArgs();
      if (!args)
        throw new Error(`Ensemble.evaluate: models[${i}] is not compiled (no loss to score with); predict works`);
      return args;
    });
    const { lossName, metrics } = compiled[0];
    compiled.forEach((c, i) => {
      if (c.canonicalLoss !== compiled[0].canonicalLoss)
        throw new Error(
          `Ensemble.evaluate: models[${i}] was compiled with loss ${c.lossName} but models[0] with ${lossName}`,
        );
    });
    const each = await this.predictEach(x, options);
    const score = scorer(lossName, metrics, y, each[0]);
    const members = each.map(score);
    const ensemble = score(average(each));
    const meanOfMembers = Object.fromEntries(
      Object.keys(ensemble).map((k) => [k, members.reduce((s, l) => s + l[k], 0) / members.length]),
    );
    return { members, ensemble, meanOfMembers };
  }

  /** Disposes every member (their worker pools). */
  async dispose(): Promise<void> {
    for (const m of this.members) await m.dispose();
  }
}

/** The element-wise mean, summed in float64 in member order (so the same members give the same bits). */
export function average(predictions: readonly Matrix[]): Matrix {
  const [first] = predictions;
  const sum = new Float64Array(first.data.length);
  for (const p of predictions) for (let i = 0; i < sum.length; i++) sum[i] += p.data[i];
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] / predictions.length;
  return new Matrix(out, first.rows, first.cols);
}

/** A function giving Keras-named logs for a prediction matrix against `y`. */
function scorer(
  lossName: string,
  metricNames: readonly MetricSpec[],
  yIn: MatrixLike | Int32Array,
  shape: Matrix,
): (p: Matrix) => Logs {
  const loss = getLoss(lossName);
  const y =
    yIn instanceof Int32Array
      ? new Matrix(Float32Array.from(yIn), yIn.length, 1)
      : toMatrix(yIn, 'Ensemble.evaluate: y');
  if (y.rows !== shape.rows) throw new Error(`Ensemble.evaluate: x has ${shape.rows} rows but y has ${y.rows}`);
  const wantCols = loss.target === 'sparse' ? 1 : shape.cols;
  if (y.cols !== wantCols)
    throw new Error(
      `Ensemble.evaluate: y has ${y.cols} column${y.cols === 1 ? '' : 's'} but ${loss.name} on ${shape.cols} outputs needs ${wantCols}`,
    );
  const metrics = getMetrics(metricNames, loss, shape.cols);
  return (p) => {
    const logs: Logs = { loss: loss.compute(p.data, y.data, p.rows, p.cols, null, 1, false) / p.rows };
    const acc = metrics.map((m) => new Float64Array(m.width));
    metrics.forEach((m, k) => m.update(p.data, y.data, p.rows, p.cols, acc[k], null));
    metrics.forEach((m, k) => metricLogs([m], acc[k], logs));
    return logs;
  };
}
