/**
 * Learning-rate schedules: Keras 3's float32 formulas written out here, the rate each update uses in fit (the
 * same bits as setting that rate by hand before each step), exact resume through save/load, and the
 * LearningRateScheduler callback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Callback,
  callbacks,
  layers,
  loadModel,
  optimizers,
  schedules,
  Sequential,
  setRandomSeed,
} from '../src/index.js';

const f = Math.fround;
const STEPS = [0, 1, 2, 3, 7, 10, 49, 50, 51, 99, 100, 101, 250, 1000];

describe("schedules follow Keras's float32 formulas", () => {
  it('ExponentialDecay and InverseTimeDecay, smooth and staircase', () => {
    for (const staircase of [false, true]) {
      const e = new schedules.ExponentialDecay({
        initialLearningRate: 0.1,
        decaySteps: 30,
        decayRate: 0.96,
        staircase,
      });
      const t = new schedules.InverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 30, decayRate: 0.5, staircase });
      for (const s of STEPS) {
        const p = staircase ? Math.floor(f(s / 30)) : f(s / 30);
        expect(e.at(s)).toBe(f(f(0.1) * f(f(0.96) ** p)));
        expect(t.at(s)).toBe(f(f(0.1) / f(1 + f(0.5 * p))));
      }
    }
  });

  it('PiecewiseConstantDecay: values[0] up to boundaries[0] inclusive', () => {
    const pc = new schedules.PiecewiseConstantDecay({ boundaries: [10, 50], values: [1, 0.5, 0.1] });
    expect([0, 10, 11, 50, 51, 1000].map((s) => pc.at(s))).toEqual([1, 1, 0.5, 0.5, f(0.1), f(0.1)]);
  });

  it('PolynomialDecay, with and without cycle', () => {
    const p = new schedules.PolynomialDecay({ initialLearningRate: 0.1, decaySteps: 100, power: 0.5 });
    const c = new schedules.PolynomialDecay({
      initialLearningRate: 0.1,
      decaySteps: 100,
      power: 2,
      cycle: true,
      endLearningRate: 0.01,
    });
    for (const s of STEPS) {
      const q = f(Math.min(s, 100) / 100);
      expect(p.at(s)).toBe(f(f(f(f(0.1) - f(0.0001)) * f(f(1 - q) ** 0.5)) + f(0.0001)));
      const ds = f(100 * (s === 0 ? 1 : Math.ceil(s / 100)));
      expect(c.at(s)).toBe(f(f(f(f(0.1) - f(0.01)) * f(f(1 - f(s / ds)) ** 2)) + f(0.01)));
    }
  });

  it('CosineDecay with alpha and with warm-up', () => {
    const pi = f(Math.PI);
    const cd = (s: number, ds: number, from: number, alpha: number) =>
      f(from * f(f(f(1 - alpha) * f(0.5 * f(1 + f(Math.cos(f(pi * f(s / ds))))))) + f(alpha)));
    const plain = new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 100, alpha: 0.1 });
    const warm = new schedules.CosineDecay({
      initialLearningRate: 0,
      decaySteps: 100,
      warmupTarget: 0.2,
      warmupSteps: 50,
    });
    for (const s of STEPS) {
      expect(plain.at(s)).toBe(cd(Math.min(s, 100), 100, f(0.1), 0.1));
      const sw = Math.min(s, 150);
      expect(warm.at(s)).toBe(sw < 50 ? f(f(f(0.2) * f(sw / 50)) + 0) : cd(sw - 50, 100, f(0.2), 0));
    }
    expect(plain.at(100)).toBe(f(f(0.1) * f(0.1)));
    expect(warm.at(25)).toBe(f(0.1));
  });

  it('CosineDecayRestarts: geometric periods and restart factors', () => {
    const r = new schedules.CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 2, mMul: 0.5 });
    // Periods [0, 10), [10, 30), [30, 70): each restarts at 0.1 * 0.5^i.
    expect(r.at(0)).toBe(f(0.1));
    expect(r.at(10)).toBe(f(f(0.1) * f(f(0.5 * 0.5) * 2)));
    expect(r.at(30)).toBe(f(f(0.1) * f(f(0.5 * 0.25) * 2)));
    expect(r.at(20)).toBeCloseTo(0.1 * 0.5 * 0.5, 7);
    const flat = new schedules.CosineDecayRestarts({ initialLearningRate: 0.1, firstDecaySteps: 10, tMul: 1 });
    expect(flat.at(15)).toBe(flat.at(5));
  });

  it('rejects bad options by name', () => {
    expect(() => new schedules.ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.9 })).toThrow(
      /decaySteps/,
    );
    expect(() => new schedules.PiecewiseConstantDecay({ boundaries: [5, 2], values: [1, 2, 3] })).toThrow(/boundaries/);
    expect(() => new schedules.CosineDecay({ initialLearningRate: 0.1, decaySteps: 10, warmup: 3 } as never)).toThrow(
      /warmup/,
    );
  });
});

const rows = 60;
const x = { data: Float32Array.from({ length: rows * 4 }, (_, i) => Math.sin(i)), shape: [rows, 4] };
const y = { data: Float32Array.from({ length: rows }, (_, r) => Math.cos(r)), shape: [rows, 1] };
const fitOptions = { batchSize: 16, microBatchSize: 8, verbose: 0 as const, workers: 0 };

function net(learningRate: number | schedules.LearningRateSchedule): Sequential {
  setRandomSeed(4);
  const m = new Sequential();
  m.add(layers.Input({ shape: [4] }));
  m.add(layers.Dense({ units: 6, activation: 'tanh' }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: new optimizers.Adam({ learningRate }) });
  return m;
}

const cosine = () =>
  new schedules.CosineDecay({
    initialLearningRate: 0.002,
    decaySteps: 6,
    alpha: 0.1,
    warmupTarget: 0.05,
    warmupSteps: 3,
  });

describe('schedules in fit', () => {
  it('each update uses schedule.at(iterations): the same bits as setting that rate before each step', async () => {
    const scheduled = net(cosine());
    await scheduled.fit(x, y, { ...fitOptions, epochs: 3 });
    const byHand = net(0.01);
    const s = cosine();
    class SetRate extends Callback {
      override onBatchBegin(): void {
        this.model.learningRate = s.at((byHand as Sequential).iterations);
      }
    }
    await byHand.fit(x, y, { ...fitOptions, epochs: 3, callbacks: [new SetRate()] });
    expect(scheduled.getWeights()).toEqual(byHand.getWeights());
    expect(scheduled.learningRate).toBe(s.at(12));
    expect(() => (scheduled.learningRate = 0.1)).toThrow(/schedule/);
    await scheduled.dispose();
    await byHand.dispose();
  });

  it('saves with the optimizer and resumes exactly', async () => {
    const whole = net(cosine());
    await whole.fit(x, y, { ...fitOptions, epochs: 3 });
    const first = net(cosine());
    await first.fit(x, y, { ...fitOptions, epochs: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-sched-'));
    try {
      await first.save(dir);
      const resumed = await loadModel(dir);
      expect(resumed.optimizer!.schedule!.toConfig()).toEqual(cosine().toConfig());
      await resumed.fit(x, y, { ...fitOptions, epochs: 3, initialEpoch: 1 });
      expect(resumed.getWeights()).toEqual(whole.getWeights());
      await resumed.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      await whole.dispose();
      await first.dispose();
    }
  });

  it('LearningRateScheduler sets the rate per epoch and logs learning_rate as float32', async () => {
    const m = net(0.01);
    const h = await m.fit(x, y, {
      ...fitOptions,
      epochs: 3,
      callbacks: [new callbacks.LearningRateScheduler((epoch, lr) => (epoch === 0 ? lr : lr * 0.5))],
    });
    expect(h.history.learning_rate).toEqual([f(0.01), f(f(0.01) * 0.5), f(f(f(0.01) * 0.5) * 0.5)]);
    await m.dispose();
    expect(() => new callbacks.LearningRateScheduler(3 as never)).toThrow(/schedule/);
  });
});
