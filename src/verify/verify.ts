/**
 * `verifyDeterminism`: trains your model once per worker count and checks that the weights, the optimizer
 * state and the history come out bit for bit the same, for your own test suite.
 *
 * Runs happen one after another in this process, each on a fresh model from `buildModel` (which must seed
 * it: `new Sequential({ seed })` or `setRandomSeed`). `lockstep verify` does the same from the command
 * line with each worker count in its own process.
 *
 * @example
 * // determinism.test.ts (vitest or jest)
 * import { Sequential, layers, verifyDeterminism } from 'lockstep';
 *
 * function buildModel() {
 *   const model = new Sequential({ seed: 7 });
 *   model.add(layers.Input({ shape: [8] }));
 *   model.add(layers.Dense({ units: 16, activation: 'relu' }));
 *   model.add(layers.Dropout({ rate: 0.2 }));
 *   model.add(layers.Dense({ units: 1 }));
 *   model.compile({ loss: 'mse', optimizer: 'adam' });
 *   return model;
 * }
 *
 * it('trains to the same bits on 0, 1, 2 and 4 workers', async () => {
 *   const report = await verifyDeterminism(buildModel, x, y, { workers: [0, 1, 2, 4], epochs: 2 });
 *   expect(report.ok, report.message).toBe(true);
 * }, 60_000);
 */
import { checkNonNegativeInt, checkOptionKeys, checkPositiveInt, badOption } from '../errors.js';
import type { FitOptions } from '../engine/trainer.js';
import type { MatrixLike } from '../matrix.js';
import type { Sequential } from '../sequential.js';
import { describeDifference, digestRun, firstDifference, type Difference, type RunDigest } from './digest.js';
import { fingerprint, type Fingerprint } from './fingerprint.js';

export interface VerifyOptions {
  /** Worker counts to compare. Default [0, 1, 2, 4]. */
  workers?: number[];
  /** Default 2. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /**
   * Anything else `fit` takes (seed, microBatchSize, validationSplit, callbacks...); not epochs, batchSize, workers or
   * verbose.
   */
  fit?: Omit<FitOptions, 'epochs' | 'batchSize' | 'workers' | 'verbose'>;
}
const OPTION_KEYS = ['workers', 'epochs', 'batchSize', 'fit'];

export interface VerifyReport {
  /** True when every worker count gave the same weights, optimizer state and history. */
  ok: boolean;
  /** One line: what agreed, or the first differing tensor and element. */
  message: string;
  /** One row per worker count: its hashes. */
  runs: { workers: number; weights: string; optimizerState: string; history: string }[];
  /** The first difference from the first run, and the worker count it showed up with. */
  difference?: Difference & { workers: number };
  /** The first run's fingerprint. */
  fingerprint: Fingerprint;
}

/**
 * Trains `buildModel()` with each worker count and compares the results bit for bit; see the module comment.
 *
 * @example
 * const report = await verifyDeterminism(buildModel, x, y, { workers: [0, 1, 2, 4], epochs: 2 });
 * if (!report.ok) throw new Error(report.message);
 */
export async function verifyDeterminism(
  buildModel: () => Sequential,
  x: MatrixLike,
  y: MatrixLike | Int32Array,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  checkOptionKeys('verifyDeterminism', options, OPTION_KEYS);
  const workers = options.workers ?? [0, 1, 2, 4];
  if (!Array.isArray(workers) || workers.length < 2)
    throw badOption('verifyDeterminism', 'workers', 'an array of at least two worker counts', workers);
  workers.forEach((w, i) => checkNonNegativeInt('verifyDeterminism', `workers[${i}]`, w));
  const epochs = checkPositiveInt('verifyDeterminism', 'epochs', options.epochs ?? 2);
  const batchSize = checkPositiveInt('verifyDeterminism', 'batchSize', options.batchSize ?? 32);
  const fit = options.fit ?? {};
  for (const k of ['epochs', 'batchSize', 'workers', 'verbose']) {
    if (k in fit)
      throw badOption(
        'verifyDeterminism',
        `fit.${k}`,
        `left out (set ${k} ${k === 'verbose' ? 'nowhere: runs are silent' : 'at the top level'})`,
        (fit as Record<string, unknown>)[k],
      );
  }
  const digests: RunDigest[] = [];
  let config: unknown;
  for (const w of workers) {
    const model = buildModel();
    try {
      const history = await model.fit(x, y, { ...fit, epochs, batchSize, workers: w, verbose: 0 });
      digests.push(digestRun(model, history, w));
      config ??= {
        layers: model.layerConfigs(),
        compile: model.compiledArgs(),
        optimizer: model.optimizer?.getConfig(),
        fit: { ...fit, callbacks: undefined, epochs, batchSize },
      };
    } finally {
      await model.dispose();
    }
  }
  return compareDigests(digests, fingerprint({ config, weights: digests[0].weights }));
}

/** Compares runs against the first one; the report `verifyDeterminism` and `lockstep verify` give. */
export function compareDigests(digests: RunDigest[], fp: Fingerprint): VerifyReport {
  const runs = digests.map((d) => ({
    workers: d.workers,
    weights: d.weightsHash,
    optimizerState: d.optimizerHash,
    history: d.historyHash,
  }));
  for (const d of digests.slice(1)) {
    const diff = firstDifference(digests[0], d);
    if (diff) {
      return {
        ok: false,
        message: `runs differ: first at ${describeDifference(diff, digests[0].workers, d.workers)}`,
        runs,
        difference: { ...diff, workers: d.workers },
        fingerprint: fp,
      };
    }
  }
  const counts = digests.map((d) => d.workers).join(', ');
  return {
    ok: true,
    message: `the same weights, optimizer state and history, bit for bit, with ${counts} workers`,
    runs,
    fingerprint: fp,
  };
}
