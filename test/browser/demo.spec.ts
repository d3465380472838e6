/**
 * The demo page (demo/index.html) in headless Chromium: trains a slice of MNIST on 2 workers through its own
 * buttons, "Verify" retrains on 1 worker, and both hashes equal Node's for the same run. Leaves a screenshot
 * in dist/demo-screenshot.png.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { ROOT, launch, openPage, serve, type Server } from './chromium.js';
// @ts-expect-error a plain ES module without types
import { demoRun } from '../../demo/models.js';

const node = await import('../../dist/src/index.js' as string);

let browser: Browser;
let server: Server;

beforeAll(async () => {
  [browser, server] = await Promise.all([launch(), serve(true)]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('trains the MNIST MLP on 2 workers, verifies on 1, and shows the hash Node computes for the same run', async () => {
  const settings = { kind: 'mlp', rows: 2048, epochs: 2, workers: 2, seed: 5 };
  const page = await openPage(browser, `${server.url}demo/`);
  await page.setViewport({ width: 1280, height: 900 });
  await page.waitForFunction('window.demoReady === true', { timeout: 60_000 });
  await page.select('#model', settings.kind);
  for (const id of ['rows', 'epochs', 'workers', 'seed'] as const) {
    await page.$eval(`#${id}`, (el, v) => ((el as HTMLInputElement).value = String(v)), settings[id]);
  }
  await page.click('#train');
  await page.waitForFunction(() => document.querySelectorAll('#runs tr').length === 1, { timeout: 120_000 });
  await page.click('#verify');
  await page.waitForFunction(() => document.querySelector('#verdict p') !== null, { timeout: 120_000 });
  const shown = await page.evaluate(() => ({
    rows: [...document.querySelectorAll('#runs tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent),
    ),
    verdict: document.querySelector('#verdict')!.textContent,
    wrong: document.querySelectorAll('#wrong canvas').length,
    status: document.querySelector('#status')!.textContent,
  }));
  await mkdir(`${ROOT}/dist`, { recursive: true });
  await page.screenshot({ path: `${ROOT}/dist/demo-screenshot.png`, fullPage: true });
  await page.close();

  const mnist = await node.datasets.mnist();
  const { model, x, y, options } = demoRun(node, mnist, { ...settings, workers: 0 });
  await model.fit(x, y, options);
  const h = createHash('sha256');
  for (const w of model.getWeights()) h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  const expected = h.digest('hex');
  await model.dispose();

  expect(shown.rows.map((r) => [r[1], r[2]])).toEqual([
    ['2', expected],
    ['1', expected],
  ]);
  expect(shown.verdict).toMatch(/^Same bits: 2 and 1 workers/);
  expect(shown.wrong).toBeGreaterThan(0);
});
