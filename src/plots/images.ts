/**
 * A grid of images, each with its title, as SVG or PNG (the same rendering path as the history plot: no
 * browser). Each image is embedded as a small PNG, so a file of 100 MNIST digits stays around 100 KB.
 *
 * @example
 * const { test } = await datasets.mnist();
 * await plotImages('digits.png', test.images.sliceRows(0, 10), { titles: [...test.labels.slice(0, 10)].map(String) });
 */
import { checkOptionKeys, checkPositiveInt, checkPositiveNumber } from '../errors.js';
import { type ImagesLike, type ImageStack, toImageStack } from './image-input.js';
import { encodePng } from './png.js';
import { el, figureFormat, svgOpen, textWidth, writeFigure } from './svg.js';

export interface ImagesOptions {
  /** Rows only: the size of one image (784 values with height 28, width 28). Default: square rows. */
  height?: number;
  width?: number;
  /** One title per image; `\n` starts a new line. Default: none. */
  titles?: readonly string[];
  /** Images per row of the grid. Default: as many as fit in about 1000 units, at most the number of images. */
  cols?: number;
  /**
   * The values drawn black and white: `[0, 1]` by default (MNIST in lockstep is scaled to [0, 1]; multiply
   * 0-255 pixels by 1/255 or pass `[0, 255]`); values outside are clipped. `'auto'`: each image's own minimum
   * and maximum, as matplotlib's `imshow` does.
   */
  range?: readonly [number, number] | 'auto';
  /** Gray images: `'gray'` (low values black, matplotlib's name) or `'gray_r'` (low values white). Default 'gray'. */
  cmap?: 'gray' | 'gray_r';
  /** SVG units per image pixel. Default: about 100 units for the longer side (4 for 28 x 28). */
  pixelSize?: number;
  /** PNG pixels per SVG unit; the embedded images are drawn at that resolution too. Default 2. */
  scale?: number;
}

const KNOWN = ['height', 'width', 'titles', 'cols', 'range', 'cmap', 'pixelSize', 'scale'] as const;
const CMAPS = ['gray', 'gray_r'];
const TITLE_SIZE = 11;
const LINE_HEIGHT = 13;
const GAP = 12;
const MAX_WIDTH = 1000;

/** The grid as an SVG document. See ImagesOptions. */
export function imagesToSvg(images: ImagesLike, options: ImagesOptions = {}): string {
  checkOptionKeys('imagesToSvg', options, KNOWN);
  return gridSvg('imagesToSvg', toImageStack('imagesToSvg', images, options), options);
}

/** Writes the grid to `file`: SVG for `.svg`, PNG for `.png`. Creates the parent directory. */
export async function plotImages(file: string, images: ImagesLike, options: ImagesOptions = {}): Promise<void> {
  figureFormat('plotImages', file);
  checkOptionKeys('plotImages', options, KNOWN);
  const svg = gridSvg('plotImages', toImageStack('plotImages', images, options), options);
  await writeFigure('plotImages', file, svg, options.scale ?? 2);
}

/** The names of ImagesOptions, for checkOptionKeys. */
export const IMAGES_OPTIONS: readonly string[] = KNOWN;

/** The grid of a checked stack; `owner` prefixes every error message. */
export function gridSvg(owner: string, stack: ImageStack, options: ImagesOptions): string {
  const o = checkOptions(owner, options, stack);
  const titles = (o.titles ?? []).map((t) => t.split('\n'));
  const [imgW, imgH] = [stack.width * o.pixelSize, stack.height * o.pixelSize];
  const lines = Math.max(0, ...titles.map((t) => t.length));
  const titleH = lines ? lines * LINE_HEIGHT + 3 : 0;
  const cellW = Math.ceil(Math.max(imgW, ...titles.flat().map((t) => textWidth(t, TITLE_SIZE)))) + GAP;
  const cellH = titleH + imgH + GAP;
  const cols = o.cols ?? Math.min(stack.count, Math.max(1, Math.floor(MAX_WIDTH / cellW)));
  const [width, height] = [cols * cellW + GAP, Math.ceil(stack.count / cols) * cellH + GAP];
  // Small images are embedded at the PNG's resolution (up to 256 pixels a side), so even a renderer that
  // smooths scaled images shows crisp pixels; larger ones as they are, where smoothing does little harm.
  const zoom = Math.max(
    1,
    Math.min(Math.ceil(o.pixelSize * (options.scale ?? 2)), Math.floor(256 / Math.max(stack.height, stack.width))),
  );

  const cells: string[] = [];
  for (let i = 0; i < stack.count; i++) {
    const [x, y] = [GAP + (i % cols) * cellW, GAP + Math.floor(i / cols) * cellH];
    const cx = x + (cellW - GAP) / 2;
    const text = (titles[i] ?? []).map((line, k) =>
      el(
        'text',
        { class: 'title', x: cx, y: y + (k + 1) * LINE_HEIGHT - 3, 'text-anchor': 'middle', 'font-size': TITLE_SIZE },
        line,
      ),
    );
    const [ix, iy] = [cx - imgW / 2, y + titleH];
    const href = `data:image/png;base64,${encodePng(toBytes(stack, i, o), stack.width, stack.height, stack.channels, zoom).toString('base64')}`;
    cells.push(
      [
        `<g class="image" data-index="${i}">`,
        ...text,
        // optimizeSpeed is SVG's nearest-neighbour scaling, which resvg honours (it ignores CSS 'pixelated').
        el('image', {
          x: ix,
          y: iy,
          width: imgW,
          height: imgH,
          preserveAspectRatio: 'none',
          'image-rendering': 'optimizeSpeed',
          href,
        }),
        el('rect', { x: ix, y: iy, width: imgW, height: imgH, fill: 'none', stroke: '#bbbbbb', 'stroke-width': 0.6 }),
        '</g>',
      ].join(''),
    );
  }
  return [svgOpen(width, height), ...cells, '</svg>', ''].join('\n');
}

interface Checked {
  titles?: readonly string[];
  cols?: number;
  range: readonly [number, number] | 'auto';
  cmap: 'gray' | 'gray_r';
  pixelSize: number;
}

function checkOptions(owner: string, o: ImagesOptions, stack: ImageStack): Checked {
  if (o.titles !== undefined) {
    if (!Array.isArray(o.titles) || !o.titles.every((t) => typeof t === 'string')) {
      throw new TypeError(
        `${owner}: titles must be an array of strings, one per image. Received: ${JSON.stringify(o.titles)?.slice(0, 80)}`,
      );
    }
    if (o.titles.length !== stack.count)
      throw new RangeError(`${owner}: titles has ${o.titles.length} entries but there are ${stack.count} images`);
  }
  if (o.cols !== undefined) checkPositiveInt(owner, 'cols', o.cols);
  const range = o.range ?? [0, 1];
  if (
    range !== 'auto' &&
    !(Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] < range[1])
  ) {
    throw new RangeError(
      `${owner}: range must be 'auto' or [low, high] with finite low < high. Received: range=${JSON.stringify(range)}`,
    );
  }
  const cmap = o.cmap ?? 'gray';
  if (!CMAPS.includes(cmap))
    throw new RangeError(`${owner}: cmap must be one of ${CMAPS.join(', ')}. Received: cmap=${JSON.stringify(cmap)}`);
  const pixelSize =
    o.pixelSize === undefined
      ? Math.max(1, Math.round(100 / Math.max(stack.height, stack.width)))
      : checkPositiveNumber(owner, 'pixelSize', o.pixelSize);
  if (o.scale !== undefined) checkPositiveNumber(owner, 'scale', o.scale);
  return { titles: o.titles, cols: o.cols, range, cmap, pixelSize };
}

/** Image `i` as bytes 0-255: `range` maps linearly onto black..white, then gray_r flips gray images. */
function toBytes(s: ImageStack, i: number, o: Checked): Uint8Array {
  const size = s.height * s.width * s.channels;
  const start = i * size;
  let [lo, hi] = o.range === 'auto' ? [Infinity, -Infinity] : o.range;
  if (o.range === 'auto') {
    for (let j = start; j < start + size; j++) [lo, hi] = [Math.min(lo, s.data[j]), Math.max(hi, s.data[j])];
    if (lo === hi) lo -= 1; // a flat image draws white, not as NaN
  }
  const flip = o.cmap === 'gray_r' && s.channels === 1;
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j++) {
    const v = Math.round((255 * (s.data[start + j] - lo)) / (hi - lo));
    const b = Math.min(255, Math.max(0, v));
    out[j] = flip ? 255 - b : b;
  }
  return out;
}
