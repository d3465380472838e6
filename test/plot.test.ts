import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyToSvg, plotHistory } from '../src/plot.js';

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'lockstep-plot-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A Hitters-like run: loss from 3e5 to 1e5, MAE likewise, validation above training, a little noise. */
function fakeHistory(epochs = 200): Record<string, number[]> {
  let s = 7;
  const noise = () => ((s = (s * 16807) % 2147483647), s / 2147483647 - 0.5);
  const curve = (start: number, end: number, rate: number, jitter: number) =>
    Array.from({ length: epochs }, (_, e) => end + (start - end) * Math.exp((-rate * e) / epochs) + jitter * noise());
  return {
    loss: curve(3e5, 1e5, 6, 6e3),
    mean_absolute_error: curve(520, 220, 5, 8),
    val_loss: curve(3.2e5, 1.25e5, 5, 1.2e4),
    val_mean_absolute_error: curve(540, 250, 4.5, 14),
  };
}

/** Checks that every tag closes in order and every attribute is quoted: enough to catch broken markup. */
function expectWellFormed(svg: string): void {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  for (const [, close, name, attrs, selfClose] of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)([^>]*?)(\/?)>/g)) {
    expect(attrs.replace(/\s+[\w:-]+="[^"<]*"/g, '').trim()).toBe('');
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClose) stack.push(name);
  }
  expect(stack).toEqual([]);
  expect(body.replace(/<[^>]*>/g, '')).not.toMatch(/[<>]|&(?!amp;|lt;|gt;|quot;)/);
}

const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

describe('historyToSvg', () => {
  const svg = historyToSvg(fakeHistory());

  it('is a well-formed SVG document sized for one panel per metric', () => {
    expectWellFormed(svg);
    expect(svg).toMatch(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="920" height="340"/);
    expect([...svg.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1])).toEqual(['loss', 'mean_absolute_error']);
  });

  it('draws one path per series, training and validation in two colours, with a legend', () => {
    const paths = [...svg.matchAll(/<path class="series" data-series="([^"]+)" d="([^"]+)"[^>]*stroke="([^"]+)"/g)];
    expect(paths.map((p) => p[1])).toEqual(['loss', 'val_loss', 'mean_absolute_error', 'val_mean_absolute_error']);
    expect(new Set(paths.map((p) => p[3])).size).toBe(2);
    expect(paths.every((p) => p[2].split('L').length === 200)).toBe(true);
    expect(svg.match(/<g class="legend">/g)).toHaveLength(2);
    expect(svg).toContain('>Training and validation loss<');
    expect(svg).toContain('>Mean absolute error<');
  });

  it('puts nice ticks on both axes', () => {
    expect(texts(svg, 'x-tick')).toEqual(['0', '50', '100', '150', '200', '0', '50', '100', '150', '200']);
    const y = texts(svg, 'y-tick');
    expect(y.slice(0, 5)).toEqual(['100k', '150k', '200k', '250k', '300k']);
    expect(y.slice(5)).toEqual(['250', '300', '350', '400', '450', '500', '550']);
    expect(texts(historyToSvg({ loss: [0.9, 0.6, 0.45, 0.4, 0.38] }), 'y-tick')).toEqual([
      '0.4',
      '0.5',
      '0.6',
      '0.7',
      '0.8',
      '0.9',
    ]);
    expect(texts(historyToSvg({ loss: [2e-4, 1e-4] }), 'y-tick')[0]).toBe('1.0e-4');
    expect(texts(historyToSvg({ loss: [-3, 3] }), 'y-tick')[0]).toBe('\u22123');
  });

  it('puts loss first, breaks lines at NaN, and escapes names', () => {
    const out = historyToSvg({ 'acc<1>': [0.5, 0.6], loss: [1, NaN, 0.5, 0.4] });
    expectWellFormed(out);
    expect([...out.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1])).toEqual(['loss', 'acc&lt;1&gt;']);
    expect(out.match(/data-series="loss" d="([^"]+)"/)![1].match(/M/g)).toHaveLength(2);
  });

  it('accepts a History object and rejects what it cannot plot', () => {
    expect(historyToSvg({ history: { loss: [1, 2] } })).toBe(historyToSvg({ loss: [1, 2] }));
    expect(() => historyToSvg({})).toThrow('plotHistory: history must be an object of metric arrays');
    expect(() => historyToSvg({ loss: [1, '2'] } as never)).toThrow(
      'plotHistory: history.loss must be an array of numbers. Received: [1,"2"]',
    );
  });
});

describe('plotHistory', () => {
  it('writes SVG for .svg', async () => {
    const file = join(dir, 'sub', 'history.svg');
    await plotHistory(fakeHistory(), file);
    expect(await readFile(file, 'utf8')).toBe(historyToSvg(fakeHistory()));
  });

  it('writes PNG for .png, rendered at twice the SVG size', async () => {
    const file = join(dir, 'history.png');
    await plotHistory(fakeHistory(), file);
    const png = await readFile(file);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1840, 680]);
  });

  it('rejects other extensions, naming the file', async () => {
    await expect(plotHistory({ loss: [1] }, join(dir, 'history.jpg'))).rejects.toThrow(
      `plotHistory: file must end in .svg or .png. Received: "${join(dir, 'history.jpg')}"`,
    );
  });
});
