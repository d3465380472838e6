/**
 * i25's training features in the graph engine: sample weights, weight and activity penalties, metric objects
 * and gradient clipping on a model with two inputs and two outputs (a layer called twice), with the same bits
 * for 0 and 2 workers and batches of three micro-shards.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { initBackend, layers, Matrix, metrics, Model } from '../src/index.js';

beforeAll(async () => {
  await initBackend();
});

const ROWS = 48;
function data() {
  const a = new Float32Array(ROWS * 3);
  const b = new Float32Array(ROWS * 2);
  const cls = new Int32Array(ROWS);
  const val = new Float32Array(ROWS);
  const w = new Float32Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < 3; c++) a[r * 3 + c] = Math.sin(r * 1.3 + c);
    for (let c = 0; c < 2; c++) b[r * 2 + c] = Math.cos(r * 0.7 + c);
    cls[r] = r % 2;
    val[r] = a[r * 3] - b[r * 2 + 1];
    w[r] = (r % 3) + 0.5;
  }
  return { a: new Matrix(a, ROWS, 3), b: new Matrix(b, ROWS, 2), cls, val: new Matrix(val, ROWS, 1), w };
}

function build() {
  const ia = layers.Input({ shape: [3], name: 'a' });
  const ib = layers.Input({ shape: [2], name: 'b' });
  const shared = layers.Dense({
    units: 4,
    activation: 'tanh',
    name: 'shared',
    kernelRegularizer: 'l2',
    activityRegularizer: 'l1',
  });
  const pa = layers.Dense({ units: 4, name: 'pa' }).apply(ia);
  const pb = layers.Dense({ units: 4, name: 'pb' }).apply(ib);
  const h = layers.Add({}).apply([shared.apply(pa), shared.apply(pb)]);
  const cls = layers.Dense({ units: 1, activation: 'sigmoid', name: 'cls' }).apply(h);
  const reg = layers.Dense({ units: 1, name: 'reg' }).apply(h);
  const model = new Model({ inputs: [ia, ib], outputs: [cls, reg], seed: 5 });
  model.compile({
    loss: ['binary_crossentropy', 'mse'],
    metrics: [[new metrics.AUC({ numThresholds: 20 }), 'accuracy'], ['mae']],
    lossWeights: [1, 0.5],
    optimizer: { className: 'Adam', learningRate: 0.01, clipnorm: 0.5 } as never,
  });
  return model;
}

async function train(workers: number, weighted: boolean) {
  const d = data();
  const model = build();
  const h = await model.fit([d.a, d.b], [d.cls, d.val], {
    epochs: 2,
    batchSize: 24,
    microBatchSize: 8,
    workers,
    verbose: 0,
    shuffle: true,
    seed: 3,
    ...(weighted ? { sampleWeight: d.w } : {}),
  });
  const hash = createHash('sha256');
  for (const w of model.getWeights()) hash.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  const logs = await model.evaluate([d.a, d.b], [d.cls, d.val], {
    workers,
    ...(weighted ? { sampleWeight: d.w } : {}),
  });
  await model.dispose();
  return { sha: hash.digest('hex'), history: h.history, logs };
}

describe('i25 features in the graph engine', () => {
  it('sample weights, penalties, metric objects and clipping: same bits for 0 and 2 workers', async () => {
    const w0 = await train(0, true);
    const w2 = await train(2, true);
    expect(w2.sha).toBe(w0.sha);
    expect(w2.history).toEqual(w0.history);
    expect(w2.logs).toEqual(w0.logs);
    for (const k of ['loss', 'cls_loss', 'reg_loss', 'cls_auc', 'cls_accuracy', 'reg_mae'])
      expect(Number.isFinite(w0.logs[k])).toBe(true);
    // The penalties join the total loss only: it exceeds the weighted sum of the outputs' losses.
    expect(w0.logs.loss).toBeGreaterThan(w0.logs.cls_loss + 0.5 * w0.logs.reg_loss);
    const plain = await train(0, false);
    expect(plain.sha).not.toBe(w0.sha);
    expect(plain.logs.cls_loss).not.toBe(w0.logs.cls_loss);
  }, 120_000);
});
