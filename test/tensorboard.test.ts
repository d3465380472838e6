/**
 * The TensorBoard callback's event files, decoded with an independent protobuf library (protobufjs) and
 * TensorBoard's own event/summary protos (test/fixtures/tensorboard/event.proto), every record's masked
 * CRC-32C checked with an independent CRC implementation.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { callbacks, layers, optimizers, schedules, Sequential, setRandomSeed } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** CRC-32C bit by bit (no table), and TFRecord's mask. */
function maskedCrc(data: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  c = ~c >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

interface Decoded {
  wallTime: number;
  step?: number;
  fileVersion?: string;
  summary?: {
    value: {
      tag: string;
      simpleValue?: number;
      histo?: { min: number; max: number; num: number; bucket: number[]; bucketLimit: number[] };
    }[];
  };
}

async function readEvents(dir: string): Promise<Decoded[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('events.out.tfevents.'));
  expect(files).toHaveLength(1);
  const buf = new Uint8Array(await readFile(join(dir, files[0])));
  const root = await protobuf.load(join(here, 'fixtures/tensorboard/event.proto'));
  const Event = root.lookupType('tensorboard.Event');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Decoded[] = [];
  for (let at = 0; at < buf.length;) {
    const len = Number(view.getBigUint64(at, true));
    expect(view.getUint32(at + 8, true)).toBe(maskedCrc(buf.subarray(at, at + 8)));
    const data = buf.subarray(at + 12, at + 12 + len);
    expect(view.getUint32(at + 12 + len, true)).toBe(maskedCrc(data));
    out.push(Event.toObject(Event.decode(data), { longs: Number, defaults: false }) as Decoded);
    at += 16 + len;
  }
  return out;
}

const scalars = (events: Decoded[]) => {
  const m: Record<string, [number, number][]> = {};
  for (const e of events)
    for (const v of e.summary?.value ?? [])
      if (v.simpleValue !== undefined) (m[v.tag] ??= []).push([e.step ?? 0, v.simpleValue]);
  return m;
};

describe('TensorBoard', () => {
  it('writes train/ and validation/ runs with epoch and batch scalars, the learning rate and histograms', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-tb-'));
    try {
      setRandomSeed(3);
      const rows = 40;
      const x = { data: Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i)), shape: [rows, 3] };
      const y = { data: Float32Array.from({ length: rows }, (_, r) => (Math.cos(r) > 0 ? 1 : 0)), shape: [rows, 1] };
      const m = new Sequential();
      m.add(layers.Input({ shape: [3] }));
      m.add(layers.Dense({ units: 4, activation: 'relu' }));
      m.add(layers.Dense({ units: 1, activation: 'sigmoid' }));
      const lr = new schedules.ExponentialDecay({ initialLearningRate: 0.01, decaySteps: 2, decayRate: 0.5 });
      m.compile({
        loss: 'binary_crossentropy',
        optimizer: new optimizers.Adam({ learningRate: lr }),
        metrics: ['AUC'],
      });
      const tb = new callbacks.TensorBoard({ logDir: dir, updateFreq: 2, histogramFreq: 2 });
      const h = await m.fit(x, y, {
        epochs: 3,
        batchSize: 8,
        validationSplit: 0.25,
        verbose: 0,
        workers: 0,
        callbacks: [tb],
      });
      const train = await readEvents(join(dir, 'train'));
      const val = await readEvents(join(dir, 'validation'));
      expect(train[0].fileVersion).toBe('brain.Event:2');
      const ts = scalars(train);
      const f = Math.fround;
      expect(ts.epoch_loss).toEqual(h.history.loss.map((v, e) => [e, f(v)]));
      expect(ts.epoch_auc).toEqual(h.history.auc.map((v, e) => [e, f(v)]));
      // 4 batches an epoch (30 training rows in 8s): updateFreq 2 writes after batches 2, 4, 6...
      expect(ts.batch_loss.map(([s]) => s)).toEqual([2, 4, 6, 8, 10, 12]);
      expect(ts.epoch_learning_rate).toEqual([0, 1, 2].map((e) => [e, lr.at(4 * (e + 1))]));
      expect(scalars(val).epoch_loss).toEqual(h.history.val_loss.map((v, e) => [e, f(v)]));
      expect(scalars(val).epoch_auc).toEqual(h.history.val_auc.map((v, e) => [e, f(v)]));
      const histos = train.flatMap((e) =>
        (e.summary?.value ?? [])
          .filter((v) => v.histo)
          .map((v) => ({ step: e.step ?? 0, tag: v.tag, histo: v.histo! })),
      );
      expect(histos.map((v) => `${v.step}:${v.tag}`)).toEqual([
        '0:dense/kernel',
        '0:dense/bias',
        '0:dense_1/kernel',
        '0:dense_1/bias',
        '2:dense/kernel',
        '2:dense/bias',
        '2:dense_1/kernel',
        '2:dense_1/bias',
      ]);
      const k = histos[4].histo;
      expect(k.num).toBe(12);
      expect(k.bucket.reduce((a, b) => a + b, 0)).toBe(12);
      const weights = m.getWeights()[0].data;
      expect(k.max).toBe(Math.max(...weights));
      await m.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options by name', () => {
    expect(() => new callbacks.TensorBoard({ updateFreq: 0 })).toThrow(/updateFreq/);
    expect(() => new callbacks.TensorBoard({ log_dir: 'x' } as never)).toThrow(/log_dir/);
  });
});
