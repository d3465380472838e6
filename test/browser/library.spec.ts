/**
 * lockstep in headless Chromium, as a page imports it (dist/browser/lockstep.js): the same bits as Node for
 * 1, 2 and 4 workers, the missing-isolation error, a failing worker, an abort, saving to IndexedDB.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { ROOT, launch, openPage, serve, type Server } from './chromium.js';
// @ts-expect-error a plain ES module without types
import { startServer } from '../../scripts/static-server.mjs';
// @ts-expect-error plain ES modules without types
import { runScenario, abortScenario, faultScenario, SCENARIOS } from './scenarios.mjs';

type Lib = typeof import('../../src/index.js');
const node: Lib = await import('../../dist/src/index.js' as string);
const { setTestHooks } = await import('../../dist/src/testing.js' as string);

async function sha256(arrays: ArrayBufferView[]): Promise<string> {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

let browser: Browser;
let server: Server;
let page: Page;

beforeAll(async () => {
  [browser, server] = await Promise.all([launch(), serve(true)]);
  page = await openPage(browser, `${server.url}test/browser/page.html`);
  await page.waitForFunction('window.ready === true');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Values crossing page.evaluate's boundary (window.lib, results): typed by the tests' expectations. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PageValue = any;

/** Runs one of scenarios.mjs's functions in the page (on the browser build). */
function inPage(fn: 'runScenario' | 'abortScenario' | 'faultScenario', ...args: unknown[]): Promise<PageValue> {
  return page.evaluate((fn, args) => (window as PageValue)[fn](...args), fn, args);
}

describe('the same bits in Chromium as in Node', () => {
  for (const scenario of SCENARIOS as string[]) {
    it(`${scenario}: weights, optimizer state, predictions and history on 1, 2 and 4 Web Workers equal Node's`, async () => {
      const expected = await runScenario(node, sha256, scenario, 0);
      for (const workers of [1, 2, 4]) {
        const got = await inPage('runScenario', scenario, workers);
        expect({ workers, ...got }).toEqual({ workers, ...expected });
      }
    });
  }
});

describe('the browser executor', () => {
  it('stops at the step an AbortSignal asks for, keeping the same steps and weights as Node', async () => {
    const expected = await abortScenario(node, sha256, 2);
    expect(expected.name).toBe('AbortError');
    const got = await inPage('abortScenario', 2);
    expect(got).toEqual(expected);
  });

  it('reports a worker that throws as a WorkerFailure naming it, keeps the last step, and trains again on new workers', async () => {
    const expected = await faultScenario(node, sha256, 2, setTestHooks);
    const got = await inPage('faultScenario', 2);
    expect(got.isWorkerFailure).toBe(true);
    expect(got.message).toMatch(/worker 1 failed at epoch 1, step 4: injected fault/);
    expect(got).toEqual(expected);
  });

  it('runs info tasks on every worker with the SIMD build and no tfjs threads', async () => {
    const info = await page.evaluate(async () => {
      const { Sequential, layers } = (window as PageValue).lib;
      const m = new Sequential();
      m.add(layers.Input({ shape: [2] }));
      m.add(layers.Dense({ units: 1 }));
      const result = await m.workerInfo(2);
      await m.dispose();
      return result;
    });
    expect(info.map((i: PageValue) => [i.backend, i.simd, i.threads, i.threadId])).toEqual([
      ['wasm', true, false, 0],
      ['wasm', true, false, 1],
    ]);
  });

  it('saves to IndexedDB and loads back the same weights, optimizer state and predictions', async () => {
    const r = await page.evaluate(async () => {
      const { lib } = window as PageValue;
      const { Sequential, layers, loadModel, weightsHash, sha256Hex } = lib;
      const m = new Sequential({ seed: 3 });
      m.add(layers.Input({ shape: [4] }));
      m.add(layers.Dense({ units: 3, activation: 'softmax' }));
      m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
      const x = { data: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)), shape: [10, 4] };
      const y = Int32Array.from({ length: 10 }, (_, i) => i % 3);
      await m.fit(x, y, { epochs: 2, batchSize: 4, workers: 2, verbose: 0, seed: 1 });
      await m.save('indexeddb://spec-model');
      const back = await loadModel('indexeddb://spec-model');
      const missing = await loadModel('indexeddb://no-such-model').then(
        () => 'loaded',
        (e: Error) => e.message,
      );
      const out = {
        saved: await weightsHash(m),
        loaded: await weightsHash(back),
        state: [await sha256Hex(m.currentOptimizerState()), await sha256Hex(back.currentOptimizerState())],
        iterations: [m.iterations, back.iterations],
        predictions: [
          await sha256Hex([(await m.predict(x, { workers: 0 })).data]),
          await sha256Hex([(await back.predict(x, { workers: 0 })).data]),
        ],
        missing,
      };
      await m.dispose();
      await back.dispose();
      return out;
    });
    expect(r.loaded).toBe(r.saved);
    expect(r.state[1]).toBe(r.state[0]);
    expect(r.iterations).toEqual([6, 6]);
    expect(r.predictions[1]).toBe(r.predictions[0]);
    expect(r.missing).toMatch(/no model saved as "indexeddb:\/\/no-such-model"/);
  });

  it("saves to downloads:// two files that Node's loadModel reads back to the same weights and optimizer state", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-downloads-'));
    const p = await openPage(browser, `${server.url}test/browser/page.html`);
    try {
      const cdp = await p.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
      await p.waitForFunction('window.ready === true');
      const r = await p.evaluate(async () => {
        const { lib } = window as PageValue;
        const { Sequential, layers, weightsHash, sha256Hex } = lib;
        const m = new Sequential({ seed: 5 });
        m.add(layers.Input({ shape: [4] }));
        m.add(layers.Dense({ units: 3, activation: 'softmax' }));
        m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam' });
        const x = { data: Float32Array.from({ length: 40 }, (_, i) => Math.cos(i)), shape: [10, 4] };
        await m.fit(
          x,
          Int32Array.from({ length: 10 }, (_, i) => i % 3),
          { epochs: 2, batchSize: 4, verbose: 0 },
        );
        await m.save('downloads://spec-download');
        const out = { weights: await weightsHash(m), state: await sha256Hex(m.currentOptimizerState()) };
        await m.dispose();
        return out;
      });
      const files = ['spec-download.json', 'spec-download.weights.bin'];
      const arrived = async () => (await readdir(dir)).sort().join(',') === files.join(',');
      for (let i = 0; i < 200 && !(await arrived()); i++) await new Promise((ok) => setTimeout(ok, 50));
      expect((await readdir(dir)).sort()).toEqual(files);
      // As a user would: the .json as model.json, the weights file beside it under the name its manifest gives.
      await mkdir(join(dir, 'model'));
      await cp(join(dir, files[0]), join(dir, 'model', 'model.json'));
      await cp(join(dir, files[1]), join(dir, 'model', files[1]));
      const back = await node.loadModel(join(dir, 'model'));
      expect(await sha256(back.getWeights().map((w) => w.data))).toBe(r.weights);
      expect(await sha256(back.currentOptimizerState())).toBe(r.state);
      expect(back.iterations).toBe(6);
      await back.dispose();
    } finally {
      await p.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('models saved by Node', () => {
  it('load in the page from a URL with the same weights, optimizer state and predictions; a manifest leaving the directory is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-model-'));
    const { model, x, y } = (await import('./scenarios.mjs' as string)).setup(node, 'mlp-dropout');
    await model.fit(x, y, { epochs: 1, batchSize: 64, workers: 0, seed: 1, verbose: 0 });
    await model.save(join(dir, 'mlp'));
    const expected = {
      weights: await sha256(model.getWeights().map((w) => w.data)),
      state: await sha256(model.currentOptimizerState()),
      iterations: model.iterations,
      predictions: await sha256([(await model.predict(x, { workers: 0 })).data]),
    };
    await model.dispose();
    const json = JSON.parse(await readFile(join(dir, 'mlp', 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../mlp/weights.bin'];
    await mkdir(join(dir, 'evil'));
    await writeFile(join(dir, 'evil', 'model.json'), JSON.stringify(json));
    const models = await startServer({ mounts: { '/': ROOT, '/models/': dir } });
    try {
      const p = await openPage(browser, `${models.url}test/browser/page.html`);
      await p.waitForFunction('window.ready === true');
      const got = await p.evaluate(
        async (xData: number[]) => {
          const { lib } = window as PageValue;
          const m = await lib.loadModel('/models/mlp/');
          const x = { data: Float32Array.from(xData), shape: [xData.length / 32, 32] };
          const out = {
            weights: await lib.weightsHash(m),
            state: await lib.sha256Hex(m.currentOptimizerState()),
            iterations: m.iterations,
            predictions: await lib.sha256Hex([(await m.predict(x, { workers: 2 })).data]),
          };
          await m.dispose();
          const refused = await lib.loadModel('/models/evil/model.json').then(
            () => 'loaded',
            (e: Error) => e.message,
          );
          return { out, refused };
        },
        Array.from(x.data as Float32Array),
      );
      await p.close();
      expect(got.out).toEqual(expected);
      expect(got.refused).toMatch(/weights path "..\/mlp\/weights.bin" points outside the model directory/);
    } finally {
      await models.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a worker whose script does not load', () => {
  it('fails the fit with a WorkerFailure instead of hanging, and the model keeps its weights', async () => {
    // The browser build without its worker entry: every Web Worker fails to load.
    const dir = await mkdtemp(join(tmpdir(), 'lockstep-browser-'));
    await cp(join(ROOT, 'dist', 'browser'), dir, { recursive: true });
    await rm(join(dir, 'browser-worker.js'));
    const broken = await startServer({ mounts: { '/': ROOT, '/dist/browser/': dir } });
    try {
      const p = await openPage(browser, `${broken.url}test/browser/page.html`);
      await p.waitForFunction('window.ready === true');
      const r = await p.evaluate(async () => {
        const { lib } = window as PageValue;
        const m = new lib.Sequential({ seed: 2 });
        m.add(lib.layers.Input({ shape: [4] }));
        m.add(lib.layers.Dense({ units: 2, activation: 'softmax' }));
        m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'sgd' });
        const before = await lib.weightsHash(m);
        const x = { data: new Float32Array(64).fill(0.5), shape: [16, 4] };
        const y = new Int32Array(16);
        const error = await m.fit(x, y, { epochs: 1, batchSize: 8, workers: 2, verbose: 0 }).then(
          () => null,
          (e: Error) => ({ name: e.name, message: e.message, isWorkerFailure: e instanceof lib.WorkerFailure }),
        );
        const after = await lib.weightsHash(m);
        await m.dispose();
        return { error, same: before === after, iterations: m.iterations };
      });
      await p.close();
      expect(r.error?.isWorkerFailure).toBe(true);
      expect(r.error?.message).toMatch(/worker \d+ (crashed|failed).*(failed to load|browser console|crashed)/);
      expect(r.same).toBe(true);
      expect(r.iterations).toBe(0);
    } finally {
      await broken.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a page without cross-origin isolation', () => {
  it('gets an error naming the two headers from a fit on workers, and trains on 0 workers to the same bits', async () => {
    const plain = await serve(false);
    try {
      const p = await openPage(browser, `${plain.url}test/browser/page.html`);
      await p.waitForFunction('window.ready === true');
      const r = await p.evaluate(async () => {
        const w = window as PageValue;
        const error = await w.runScenario('mlp-dropout', undefined).then(
          () => null,
          (e: Error) => e.message,
        );
        return { isolated: self.crossOriginIsolated, error, onPage: await w.runScenario('mlp-dropout', 0) };
      });
      await p.close();
      expect(r.isolated).toBe(false);
      expect(r.error).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
      expect(r.error).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
      expect(r.error).toMatch(/workers: 0/);
      expect(r.onPage).toEqual(await runScenario(node, sha256, 'mlp-dropout', 0));
    } finally {
      await plain.close();
    }
  });
});
