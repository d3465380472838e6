/**
 * What every lockstep figure shares: matplotlib's plain style, an `el` helper that writes escaped SVG, and the
 * one way to write a figure (SVG as is, PNG rendered by @resvg/resvg-js, no browser).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';

export const INK = '#262626';
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** The opening tag of a figure (white background included), in the fonts the PNG renderer is given. */
export function svgOpen(width: number, height: number): string {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${r(width)}" height="${r(height)}" viewBox="0 0 ${r(width)} ${r(height)}" ` +
      `font-family="${FONT}" font-size="11" fill="${INK}">`,
    el('rect', { width, height, fill: '#ffffff' }),
  ].join('\n');
}

/** Throws unless `file` ends in .svg or .png; returns which. `owner` names the calling function. */
export function figureFormat(owner: string, file: unknown): 'svg' | 'png' {
  const ext = typeof file === 'string' ? extname(file).toLowerCase() : '';
  if (ext !== '.svg' && ext !== '.png')
    throw new Error(`${owner}: file must end in .svg or .png. Received: ${JSON.stringify(file)}`);
  return ext === '.svg' ? 'svg' : 'png';
}

/**
 * Writes `svg` to `file` (checked by figureFormat), as PNG at `scale` pixels per unit for .png. Creates the directory.
 */
export async function writeFigure(owner: string, file: string, svg: string, scale: number): Promise<void> {
  const format = figureFormat(owner, file);
  const bytes = format === 'svg' ? svg : await renderPng(owner, svg, scale);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

/** The SVG rendered by resvg, with the same fonts as every other figure. */
async function renderPng(owner: string, svg: string, scale: number): Promise<Uint8Array> {
  let resvg: typeof import('@resvg/resvg-js');
  try {
    resvg = await import('@resvg/resvg-js');
  } catch (err) {
    const cause = (err as Error).message;
    throw new Error(
      `${owner}: PNG output needs @resvg/resvg-js (npm install @resvg/resvg-js); or write an .svg file. Cause: ${cause}`,
      {
        cause: err,
      },
    );
  }
  const font = { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' };
  return new resvg.Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font }).render().asPng();
}

/** `<tag a="1">text</tag>` (or `<tag a="1"/>`), numbers rounded to 0.01, strings escaped. */
export function el(tag: string, attrs: Record<string, string | number>, text?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? r(v) : esc(v)}"`)
    .join('');
  return text === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${esc(text)}</${tag}>`;
}

export const r = (v: number) => Math.round(v * 100) / 100;
export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Width of `text` in DejaVu Sans at `size` px, roughly (its glyphs average about 0.56 em in mixed text), for laying out
 * titles.
 */
export function textWidth(text: string, size: number): number {
  return text.length * 0.56 * size;
}
