/**
 * The stateful metrics (AUC, Precision, Recall, F1Score/FBetaScore, top-k accuracy): against scikit-learn on
 * fixed predictions (Debian's python3-sklearn, run through /usr/bin/python3), against Keras's own formulas
 * written out here, and in fit/evaluate, where they accumulate over the whole epoch with the same bits for any
 * worker count.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { layers, metrics, Sequential, setRandomSeed } from '../src/index.js';
import type { Metric } from '../src/metrics.js';
import { getMetrics } from '../src/metrics.js';
import { getLoss } from '../src/losses.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A small deterministic generator (mulberry32) for the fixed predictions. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const N = 1000;
const C = 4;
const rand = rng(25);
/** Binary labels (about a quarter positive) and float32 scores that lean towards them. */
const y = Float32Array.from({ length: N }, () => (rand() < 0.25 ? 1 : 0));
const p = Float32Array.from(y, (t) => Math.min(1, Math.max(0, (t ? 0.62 : 0.38) + (rand() - 0.5) * 0.9)));
const w = Float32Array.from({ length: N }, () => Math.round(rand() * 4) / 2);
/** Multi-class: labels, one-hot targets and softmax-like rows. */
const yMulti = Int32Array.from({ length: N }, () => Math.floor(rand() * C));
const pMulti = new Float32Array(N * C);
for (let r = 0; r < N; r++) {
  let s = 0;
  for (let c = 0; c < C; c++) s += pMulti[r * C + c] = rand() + (c === yMulti[r] ? 0.6 : 0);
  for (let c = 0; c < C; c++) pMulti[r * C + c] /= s;
}
const oneHot = new Float32Array(N * C);
yMulti.forEach((c, r) => (oneHot[r * C + c] = 1));

const sk = JSON.parse(
  execFileSync('/usr/bin/python3', [join(here, 'fixtures/python/sklearn_metrics.py')], {
    input: JSON.stringify({
      y: [...y],
      p: [...p],
      w: [...w],
      yMulti: [...yMulti],
      pMulti: [...pMulti].reduce<number[][]>(
        (rows, v, i) => (i % C ? rows[rows.length - 1].push(v) : rows.push([v]), rows),
        [],
      ),
    }),
  }).toString(),
);

/** Runs a metric over the rows in chunks of `chunk` (as batches would) and returns its result. */
function score(
  m: Metric,
  out: Float32Array,
  t: Float32Array,
  cols: number,
  tCols: number,
  weights: Float32Array | null = null,
  chunk = 97,
): number | number[] {
  const acc = new Float64Array(m.width);
  for (let r = 0; r < N; r += chunk) {
    const n = Math.min(chunk, N - r);
    const part = new Float64Array(m.width);
    m.update(
      out.subarray(r * cols, (r + n) * cols),
      t.subarray(r * tCols, (r + n) * tCols),
      n,
      cols,
      part,
      weights && weights.subarray(r, r + n),
    );
    for (let k = 0; k < m.width; k++) acc[k] += part[k];
  }
  return m.result(acc);
}

const bce = getLoss('binary_crossentropy');
const cce = getLoss('categorical_crossentropy');
const one = (spec: Parameters<typeof getMetrics>[0][number], loss = bce, cols = 1) => getMetrics([spec], loss, cols)[0];

/** Keras's AUC written out: counts at thresholds [-eps, i / (T - 1)..., 1 + eps] with p > t, then the Riemann sums. */
function kerasAuc(curve: 'ROC' | 'PR', T: number, weights: Float32Array | null = null): number {
  const ts = [-1e-7, ...Array.from({ length: T - 2 }, (_, i) => (i + 1) / (T - 1)), 1 + 1e-7].map(Math.fround);
  const tp = ts.map(() => 0),
    fp = ts.map(() => 0),
    fn = ts.map(() => 0),
    tn = ts.map(() => 0);
  for (let r = 0; r < N; r++) {
    const wr = weights ? weights[r] : 1;
    ts.forEach((t, i) => {
      if (p[r] > t) (y[r] ? tp : fp)[i] += wr;
      else (y[r] ? fn : tn)[i] += wr;
    });
  }
  const dnn = (a: number, b: number) => (b === 0 ? 0 : a / b);
  let sum = 0;
  for (let i = 0; i < T - 1; i++) {
    if (curve === 'ROC') {
      const x0 = dnn(fp[i], fp[i] + tn[i]),
        x1 = dnn(fp[i + 1], fp[i + 1] + tn[i + 1]);
      sum += (x0 - x1) * ((dnn(tp[i], tp[i] + fn[i]) + dnn(tp[i + 1], tp[i + 1] + fn[i + 1])) / 2);
    } else {
      const dtp = tp[i] - tp[i + 1],
        pA = tp[i] + fp[i],
        pB = tp[i + 1] + fp[i + 1];
      const slope = dnn(dtp, Math.max(pA - pB, 0));
      const intercept = tp[i + 1] - slope * pB;
      const ratio = pA > 0 && pB > 0 ? dnn(pA, Math.max(pB, 0)) : 1;
      sum += dnn(slope * (dtp + intercept * Math.log(ratio)), Math.max(tp[i + 1] + fn[i + 1], 0));
    }
  }
  return sum;
}

describe('stateful metrics against scikit-learn and Keras formulas', () => {
  it("AUC (ROC) is Keras's thresholded estimate and within 0.002 of roc_auc_score with 200 thresholds", () => {
    const auc = score(one('AUC'), p, y, 1, 1) as number;
    expect(auc).toBe(kerasAuc('ROC', 200));
    expect(Math.abs(auc - sk.roc_auc)).toBeLessThan(2e-3);
    const weighted = score(one('AUC'), p, y, 1, 1, w) as number;
    expect(weighted).toBe(kerasAuc('ROC', 200, w));
    expect(Math.abs(weighted - sk.roc_auc_weighted)).toBeLessThan(2e-3);
    // Fewer thresholds, coarser estimate: still Keras's formula.
    expect(score(one(new metrics.AUC({ numThresholds: 7 })), p, y, 1, 1)).toBe(kerasAuc('ROC', 7));
    expect(
      Math.abs((score(one(new metrics.AUC({ numThresholds: 2000 })), p, y, 1, 1) as number) - sk.roc_auc),
    ).toBeLessThan(2e-4);
  });

  it("AUC (PR) is Keras's interpolation and within 0.01 of average_precision_score", () => {
    const pr = score(one(new metrics.AUC({ curve: 'PR' })), p, y, 1, 1) as number;
    expect(pr).toBe(kerasAuc('PR', 200));
    expect(Math.abs(pr - sk.average_precision)).toBeLessThan(1e-2);
  });

  it("Keras's docstring example: AUC(numThresholds: 3) on [0, 0, 1, 1] / [0, 0.5, 0.3, 0.9] is 0.75", () => {
    const m = one(new metrics.AUC({ numThresholds: 3 }));
    const acc = new Float64Array(m.width);
    m.update(Float32Array.of(0, 0.5, 0.3, 0.9), Float32Array.of(0, 0, 1, 1), 4, 1, acc, null);
    expect(m.result(acc)).toBe(0.75);
    const acc2 = new Float64Array(m.width);
    m.update(Float32Array.of(0, 0.5, 0.3, 0.9), Float32Array.of(0, 0, 1, 1), 4, 1, acc2, Float32Array.of(1, 0, 0, 1));
    expect(m.result(acc2)).toBe(1);
  });

  it('Precision and Recall at 0.5 equal precision_score and recall_score, weighted too', () => {
    expect(score(one('Precision'), p, y, 1, 1)).toBe(sk.precision);
    expect(score(one('recall'), p, y, 1, 1)).toBe(sk.recall);
    expect(score(one('precision'), p, y, 1, 1, w)).toBeCloseTo(sk.precision_weighted, 12);
    expect(score(one('Recall'), p, y, 1, 1, w)).toBeCloseTo(sk.recall_weighted, 12);
  });

  it('Precision with thresholds, classId and topK follows Keras', () => {
    const multi = one(new metrics.Precision({ thresholds: [0.3, 0.5] }));
    const v = score(multi, p, y, 1, 1) as number[];
    const at = (t: number) => {
      let tp = 0,
        fp = 0;
      p.forEach((q, r) => (q > Math.fround(t) ? (y[r] ? tp++ : fp++) : 0));
      return tp / (tp + fp);
    };
    expect(v).toEqual([at(0.3), at(0.5)]);
    // classId 2 with topK 1: class 2 is predicted when it is the row's top score (and above 0.5 here).
    const m = one(new metrics.Recall({ classId: 2, topK: 1, thresholds: 0.3 }), cce, C);
    let tp = 0,
      fn = 0;
    for (let r = 0; r < N; r++) {
      const row = pMulti.subarray(r * C, r * C + C);
      const top = row.indexOf(Math.max(...row));
      if (yMulti[r] === 2) {
        if (top === 2 && row[2] > Math.fround(0.3)) tp++;
        else fn++;
      }
    }
    expect(score(m, pMulti, oneHot, C, C)).toBe(tp / (tp + fn));
  });

  it('F1Score and FBetaScore match f1_score / fbeta_score for none, micro, macro and weighted', () => {
    const f = (spec: ConstructorParameters<typeof metrics.FBetaScore>[0]) =>
      score(one(new metrics.FBetaScore(spec), cce, C), pMulti, oneHot, C, C);
    (f({}) as number[]).forEach((v, c) => expect(v).toBeCloseTo(sk.f1_none[c], 6));
    expect(f({ average: 'micro' })).toBeCloseTo(sk.f1_micro, 6);
    expect(f({ average: 'macro' })).toBeCloseTo(sk.f1_macro, 6);
    expect(f({ average: 'weighted' })).toBeCloseTo(sk.f1_weighted, 6);
    expect(f({ average: 'macro', beta: 2 })).toBeCloseTo(sk.fbeta2_macro, 6);
    expect(score(one(new metrics.F1Score({ threshold: 0.5 })), p, y, 1, 1)).toBeCloseTo(sk.f1_binary, 6);
  });

  it('top-k accuracy equals top_k_accuracy_score, dense and sparse, weighted', () => {
    expect(score(one(new metrics.TopKCategoricalAccuracy({ k: 2 }), cce, C), pMulti, oneHot, C, C)).toBe(sk.top2);
    const sparse = getMetrics(
      [new metrics.SparseTopKCategoricalAccuracy({ k: 3 })],
      getLoss('sparse_categorical_crossentropy'),
      C,
    )[0];
    expect(score(sparse, pMulti, Float32Array.from(yMulti), C, 1, w)).toBeCloseTo(sk.top3_weighted, 12);
  });

  it('rejects bad options by name', () => {
    expect(() => new metrics.AUC({ numThresholds: 1 })).toThrow(/numThresholds/);
    expect(() => new metrics.AUC({ curve: 'XY' as never })).toThrow(/curve/);
    expect(() => new metrics.Precision({ thresholds: 1.5 })).toThrow(/thresholds/);
    expect(() => new metrics.F1Score({ average: 'mean' as never })).toThrow(/average/);
    expect(() => new metrics.AUC({ numThreshold: 3 } as never)).toThrow(/numThreshold/);
  });
});

describe('stateful metrics in fit and evaluate', () => {
  const rows = 300;
  const r2 = rng(7);
  const x = Float32Array.from({ length: rows * 5 }, () => r2() * 2 - 1);
  const yb = Float32Array.from({ length: rows }, (_, r) =>
    x[r * 5] + 0.5 * x[r * 5 + 1] + 0.3 * (r2() - 0.5) > 0.4 ? 1 : 0,
  );
  const X = { data: x, shape: [rows, 5] };
  const Y = { data: yb, shape: [rows, 1] };
  const all = () => [
    'AUC',
    new metrics.AUC({ curve: 'PR' }),
    'precision',
    new metrics.Recall({ thresholds: [0.3, 0.7] }),
    new metrics.F1Score({ threshold: 0.5 }),
    'accuracy',
  ];
  const build = () => {
    setRandomSeed(3);
    const m = new Sequential();
    m.add(layers.Input({ shape: [5] }));
    m.add(layers.Dense({ units: 8, activation: 'relu' }));
    m.add(layers.Dense({ units: 1, activation: 'sigmoid' }));
    m.compile({ loss: 'binary_crossentropy', optimizer: 'adam', metrics: all() });
    return m;
  };

  it('evaluate accumulates over every batch: the same as the metric over all rows at once', async () => {
    const m = build();
    const logs = await m.evaluate(X, Y, { batchSize: 16, workers: 0 });
    const out = (await m.predict(X, { workers: 0 })).data;
    const specs = getMetrics(all(), bce, 1);
    for (const s of specs) {
      const acc = new Float64Array(s.width);
      s.update(out, yb, rows, 1, acc, null);
      const v = s.result(acc);
      if (typeof v === 'number') expect(logs[s.name]).toBe(v);
      else if (v.length === 1) expect(logs[s.name]).toBe(v[0]);
      else v.forEach((u, i) => expect(logs[`${s.name}_${i}`]).toBe(u));
    }
    expect(Object.keys(logs)).toEqual([
      'loss',
      'auc',
      'auc_1',
      'precision',
      'recall_0',
      'recall_1',
      'f1_score',
      'accuracy',
    ]);
    await m.dispose();
  });

  it('history holds the same bits for 0 and 2 workers with three micro-shards a batch', async () => {
    const runs = [];
    for (const workers of [0, 2]) {
      const m = build();
      const h = await m.fit(X, Y, {
        epochs: 2,
        batchSize: 48,
        microBatchSize: 16,
        verbose: 0,
        workers,
        validationSplit: 0.2,
      });
      runs.push(h.history);
      await m.dispose();
    }
    expect(Object.keys(runs[0])).toContain('val_auc');
    expect(JSON.stringify(runs[1])).toBe(JSON.stringify(runs[0]));
  });
});
