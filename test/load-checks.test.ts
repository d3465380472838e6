/**
 * Loaded files are checked whole: lockstep's training fields, weights files reached through symlinks, and
 * non-finite weights, each reported with the file and the field or weight it concerns.
 */
import { mkdtemp, readFile, rename, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sequential, layers, loadModel, setRandomSeed } from '../src/index.js';
import type { ModelJson } from './helpers/model-json.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-load-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A saved, compiled 2-3-1 model in a fresh directory. */
async function saved(): Promise<string> {
  setRandomSeed(5);
  const m = new Sequential();
  m.add(layers.Input({ shape: [2] }));
  m.add(layers.Dense({ units: 3, activation: 'relu' }));
  m.add(layers.Dense({ units: 1 }));
  m.compile({ loss: 'mse', optimizer: 'adam' });
  const dir = join(root, `m${n++}`);
  await m.save(dir);
  return dir;
}

async function editJson(dir: string, edit: (j: ModelJson) => void): Promise<void> {
  const file = join(dir, 'model.json');
  const j = JSON.parse(await readFile(file, 'utf8'));
  edit(j);
  await writeFile(file, JSON.stringify(j));
}

describe('trainingConfig.lockstep', () => {
  it.each<[string, unknown]>([
    ['-5', -5],
    ['1.5', 1.5],
    ['"3"', '3'],
    ['null', null],
  ])('iterations %s is an error naming the file and the field', async (_what, value) => {
    const dir = await saved();
    await editJson(dir, (j) => (j.trainingConfig.lockstep.iterations = value));
    await expect(loadModel(dir)).rejects.toThrow(
      `${join(dir, 'model.json')}: trainingConfig.lockstep.iterations must be a non-negative integer. Received: iterations=${JSON.stringify(value)}`,
    );
  });

  it('a missing loss or a metrics that is not an array is named too', async () => {
    const dir = await saved();
    await editJson(dir, (j) => (j.trainingConfig.lockstep.metrics = 'mae'));
    await expect(loadModel(dir)).rejects.toThrow('trainingConfig.lockstep.metrics must be an array of metric names');
    await editJson(dir, (j) => delete j.trainingConfig.lockstep.loss);
    await expect(loadModel(dir)).rejects.toThrow('trainingConfig.lockstep.loss must be a loss name');
  });
});

describe('weights files', () => {
  it('a weights.bin that is a symlink leading outside the model directory is refused', async () => {
    const dir = await saved();
    const outside = join(root, `outside-${n++}.bin`);
    await rename(join(dir, 'weights.bin'), outside);
    await symlink(outside, join(dir, 'weights.bin'));
    await expect(loadModel(dir)).rejects.toThrow('weights path "weights.bin" points outside the model directory');
  });

  it('a symlink inside the directory, and a file named ..weights.bin, are accepted', async () => {
    const dir = await saved();
    await mkdir(join(dir, 'shards'));
    await rename(join(dir, 'weights.bin'), join(dir, 'shards', 'w.bin'));
    await symlink(join(dir, 'shards', 'w.bin'), join(dir, 'weights.bin'));
    expect((await loadModel(dir)).countParams()).toBe(13);

    const other = await saved();
    await rename(join(other, 'weights.bin'), join(other, '..weights.bin'));
    await editJson(other, (j) => (j.weightsManifest[0].paths = ['..weights.bin']));
    expect((await loadModel(other)).countParams()).toBe(13);
  });

  it('non-finite weights are reported with the weight name', async () => {
    const dir = await saved();
    const file = join(dir, 'weights.bin');
    const bytes = await readFile(file);
    // dense/kernel is 2x3 floats at offset 0, dense/bias the next 3: poison the bias's second value.
    bytes.writeFloatLE(NaN, (6 + 1) * 4);
    await writeFile(file, bytes);
    await expect(loadModel(dir)).rejects.toThrow(/weight 'dense\/bias' holds a non-finite value \(NaN\) at index 1/);
  });

  it('non-finite optimizer state is reported with its name', async () => {
    const dir = await saved();
    const file = join(dir, 'weights.bin');
    const bytes = await readFile(file);
    // After the 13 weights: iter, then dense/kernel/momentum (Adam's first moment)...
    bytes.writeFloatLE(Infinity, (13 + 1) * 4);
    await writeFile(file, bytes);
    await expect(loadModel(dir)).rejects.toThrow(
      /weight 'dense\/kernel\/momentum' holds a non-finite value \(Infinity\) at index 0/,
    );
  });
});

describe('topology against weights, before any layer is built', () => {
  // Building first drew 10^10 initial weights for this Dense (a RangeError, or 76 s and 3.1 GB at 20000 x 20000)
  // before the shapes were compared.
  it('a huge Dense with a small weights.bin fails at once, naming the weight', async () => {
    const dir = await saved();
    await editJson(dir, (j) => {
      const layers = j.modelTopology.config.layers;
      layers[0].config.batch_input_shape = [null, 100000];
      layers[1].config.units = 100000;
    });
    await expect(loadModel(dir)).rejects.toThrow(
      `loadModel(${dir}): weight 'dense/kernel' has shape [2,3] but layer needs [100000,100000]`,
    );
  });

  it('a weight the topology needs and the manifest lacks is named', async () => {
    const dir = await saved();
    await editJson(dir, (j) => (j.weightsManifest[0].weights[1].name = 'dense/bias_renamed'));
    await expect(loadModel(dir)).rejects.toThrow(/weight 'dense\/bias' is missing from weights.bin/);
  });
});
