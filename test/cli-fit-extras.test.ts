/**
 * The command line's issue-25 additions: `train` writes history.json and history.svg next to the saved
 * model, --learning-rate, --tensorboard DIR, a config's fit.callbacks by name with options, and the
 * stateful metrics in compile.metrics.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockstep } from './helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lockstep-cli25-'));
  const rows = [
    'a,b,y',
    ...Array.from(
      { length: 60 },
      (_, r) =>
        `${Math.sin(r).toFixed(3)},${Math.cos(r * 1.3).toFixed(3)},${Math.sin(r) + Math.cos(r * 1.3) > 0.3 ? 1 : 0}`,
    ),
  ];
  await writeFile(join(dir, 'data.csv'), `${rows.join('\n')}\n`);
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      layers: [
        { className: 'Dense', units: 4, activation: 'relu', kernelRegularizer: 'l2' },
        { className: 'Dense', units: 1, activation: 'sigmoid' },
      ],
      compile: {
        loss: 'binary_crossentropy',
        optimizer: 'adam',
        metrics: ['AUC', { className: 'Precision', config: { thresholds: 0.4 } }],
      },
      fit: {
        epochs: 3,
        batchSize: 16,
        callbacks: [
          'TerminateOnNaN',
          { className: 'CSVLogger', filename: join(dir, 'log.csv') },
          { className: 'ReduceLROnPlateau', monitor: 'loss', patience: 1 },
        ],
      },
    }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('train with issue 25 flags', () => {
  it('writes history.json, history.svg, the CSV log and TensorBoard files; --learning-rate applies', async () => {
    const out = join(dir, 'out');
    const r = await lockstep(
      'train',
      join(dir, 'model.json'),
      '--data',
      join(dir, 'data.csv'),
      '--out',
      out,
      '--tensorboard',
      join(dir, 'tb'),
      '--learning-rate',
      '0.02',
      '--workers',
      '0',
      '--verbose',
      '0',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const h = JSON.parse(await readFile(join(out, 'history.json'), 'utf8'));
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(Object.keys(h.history)).toEqual(
      expect.arrayContaining(['loss', 'auc', 'precision', 'val_auc', 'learning_rate']),
    );
    expect(h.history.learning_rate[0]).toBe(0.02);
    expect(await readFile(join(out, 'history.svg'), 'utf8')).toContain('<svg');
    expect((await readFile(join(dir, 'log.csv'), 'utf8')).split('\n')[0]).toContain('auc');
    expect((await readdir(join(dir, 'tb', 'train')))[0]).toMatch(/^events\.out\.tfevents\./);
    expect((await readdir(join(dir, 'tb', 'validation')))[0]).toMatch(/^events\.out\.tfevents\./);
  });

  it('names a bad callback in fit.callbacks', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({
        layers: [{ className: 'Dense', units: 1 }],
        compile: { loss: 'mse' },
        fit: { callbacks: [{ className: 'EarlyStoping' }] },
      }),
    );
    const r = await lockstep('train', bad, '--data', join(dir, 'data.csv'), '--workers', '0');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('fit.callbacks[0]');
    expect(r.stderr).toContain('did you mean "EarlyStopping"');
  });
});
