/**
 * The image grid, the confusion matrix and the misclassified-images figure. Pixels are checked by rendering the
 * SVG with resvg (the PNG path) and reading the rendered bitmap back, so orientation and grey levels are tested
 * end to end, not just the markup.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confusionMatrix,
  confusionMatrixToSvg,
  datasets,
  findMisclassified,
  imagesToSvg,
  Matrix,
  misclassifiedTitle,
  plotConfusionMatrix,
  plotImages,
  plotMisclassified,
} from '../src/index.js';

const SEED = Number(process.env.LOCKSTEP_SEED ?? 42);

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'lockstep-plots-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The SVG rendered at `zoom`, with a reader of RGB at SVG coordinates. */
function render(svg: string, zoom = 2) {
  const img = new Resvg(svg, { fitTo: { mode: 'zoom', value: zoom } }).render();
  const px = img.pixels;
  return {
    width: img.width,
    height: img.height,
    rgb: (x: number, y: number) => {
      const i = (Math.floor(y * zoom) * img.width + Math.floor(x * zoom)) * 4;
      return [px[i], px[i + 1], px[i + 2]];
    },
  };
}

/** The boxes of the embedded images, in document order. */
function imageBoxes(svg: string): Array<{ x: number; y: number; width: number; height: number }> {
  return [...svg.matchAll(/<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    width: Number(m[3]),
    height: Number(m[4]),
  }));
}

/** Rendered value of pixel (row, col) of the image in `box` (an image of h x w pixels), sampled at its centre. */
function pixel(
  r: ReturnType<typeof render>,
  box: { x: number; y: number; width: number; height: number },
  h: number,
  w: number,
  row: number,
  col: number,
) {
  return r.rgb(box.x + ((col + 0.5) * box.width) / w, box.y + ((row + 0.5) * box.height) / h);
}

const texts = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

describe('imagesToSvg: pixels', () => {
  it('puts a lit top-left pixel at the top left (not mirrored, not transposed)', () => {
    // 3 rows x 4 columns: one lit pixel at (0, 0) and one at (2, 3); a transposed or flipped image moves them.
    const data = new Float32Array(12);
    data[0] = 1;
    data[2 * 4 + 3] = 0.5;
    const svg = imagesToSvg({ data, shape: [1, 12] }, { height: 3, width: 4 });
    const [box] = imageBoxes(svg);
    expect(box.width / box.height).toBeCloseTo(4 / 3);
    const r = render(svg);
    for (let row = 0; row < 3; row++) {
      for (let col = 0; col < 4; col++) {
        const want = row === 0 && col === 0 ? 255 : row === 2 && col === 3 ? 128 : 0;
        expect(pixel(r, box, 3, 4, row, col), `pixel (${row}, ${col})`).toEqual([want, want, want]);
      }
    }
  });

  it('draws every pixel of any gray or colour image at its own grey level, as [0, 1] -> 0..255 (property)', () => {
    const image = fc
      .record({
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        c: fc.constantFrom(1, 3),
        n: fc.integer({ min: 1, max: 3 }),
      })
      .chain(({ h, w, c, n }) =>
        fc.record({
          h: fc.constant(h),
          w: fc.constant(w),
          c: fc.constant(c),
          values: fc.array(fc.float({ min: 0, max: 1, noNaN: true }), {
            minLength: n * h * w * c,
            maxLength: n * h * w * c,
          }),
        }),
      );
    fc.assert(
      fc.property(image, ({ h, w, c, values }) => {
        const n = values.length / (h * w * c);
        const svg = imagesToSvg({ data: Float32Array.from(values), shape: [n, h, w, c] }, { cols: 2 });
        const boxes = imageBoxes(svg);
        expect(boxes).toHaveLength(n);
        const r = render(svg);
        for (let i = 0; i < n; i++) {
          for (let row = 0; row < h; row++) {
            for (let col = 0; col < w; col++) {
              const got = pixel(r, boxes[i], h, w, row, col);
              const at = ((i * h + row) * w + col) * c;
              const want = [0, 1, 2].map((k) => Math.round(255 * Math.fround(values[at + (c === 3 ? k : 0)])));
              expect(got, `image ${i} pixel (${row}, ${col})`).toEqual(want);
            }
          }
        }
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  it('MNIST test image 0 is drawn as its own pixels, top row first (it is a 7)', async () => {
    const { test } = await datasets.mnist();
    expect(test.labels[0]).toBe(7);
    const svg = imagesToSvg(test.images.sliceRows(0, 1));
    const [box] = imageBoxes(svg);
    expect([box.width, box.height]).toEqual([112, 112]); // 4 units per pixel by default
    const r = render(svg);
    for (let row = 0; row < 28; row++) {
      for (let col = 0; col < 28; col++)
        expect(pixel(r, box, 28, 28, row, col)[0]).toBe(Math.round(255 * test.images.get(0, row * 28 + col)));
    }
    // The 7's bar is in the upper half, its stem reaches the lower half: ink in rows 7-9 spans far more columns than in
    // rows 20-22.
    const ink = (rows: number[]) =>
      new Set(rows.flatMap((row) => [...Array(28).keys()].filter((col) => test.images.get(0, row * 28 + col) > 0.5)))
        .size;
    expect(ink([7, 8, 9])).toBeGreaterThan(3 * ink([20, 21, 22]));
  });

  it("range, 'auto' and gray_r map values to grey levels; values outside the range are clipped", () => {
    const one = (values: number[], options: object) => {
      const svg = imagesToSvg({ data: Float32Array.from(values), shape: [1, 1, values.length] }, options);
      const r = render(svg);
      return values.map((_, col) => pixel(r, imageBoxes(svg)[0], 1, values.length, 0, col)[0]);
    };
    expect(one([-1, 0, 0.5, 1, 2], {})).toEqual([0, 0, 128, 255, 255]);
    expect(one([0, 127.5, 255], { range: [0, 255] })).toEqual([0, 128, 255]);
    expect(one([10, 15, 20], { range: 'auto' })).toEqual([0, 128, 255]);
    expect(one([0, 1], { cmap: 'gray_r' })).toEqual([255, 0]);
  });
});

describe('imagesToSvg: layout and inputs', () => {
  const rows = Array.from({ length: 7 }, (_, i) => Array.from({ length: 16 }, (_, j) => (i + j) / 22));

  it('lays the images out in rows of `cols`, titled, and accepts rows as number[][], a Matrix or { data, shape }', () => {
    const titles = rows.map((_, i) => `image <${i}>`);
    const svg = imagesToSvg(rows, { titles, cols: 3 });
    expect(svg).toMatch(/^<\?xml[^]*<svg /);
    const boxes = imageBoxes(svg);
    expect(boxes).toHaveLength(7);
    expect(new Set(boxes.map((b) => b.y)).size).toBe(3); // 3 + 3 + 1
    expect(boxes.slice(0, 3).every((b) => b.y === boxes[0].y)).toBe(true);
    expect(boxes[3].x).toBe(boxes[0].x);
    expect(texts(svg, 'title')).toEqual(titles.map((t) => t.replace('<', '&lt;').replace('>', '&gt;')));
    const m = Matrix.fromArray(rows);
    expect(imagesToSvg(m, { titles, cols: 3 })).toBe(svg);
    expect(imagesToSvg({ data: m.data, shape: [7, 4, 4, 1] }, { titles, cols: 3 })).toBe(svg);
    expect(imagesToSvg({ data: m.data, shape: [7, 4, 4] }, { titles, cols: 3, height: 4, width: 4 })).toBe(svg);
  });

  it('splits titles on \\n, and by default fits the grid in about 1000 units', () => {
    const svg = imagesToSvg(rows, { titles: rows.map(() => 'label 7\npredicted 4') });
    expect(texts(svg, 'title').slice(0, 2)).toEqual(['label 7', 'predicted 4']);
    const width = Number(svg.match(/<svg [^>]*width="([\d.]+)"/)![1]);
    expect(width).toBeLessThanOrEqual(1012);
    expect(imageBoxes(imagesToSvg(rows.slice(0, 2))).map((b) => b.y)).toEqual([12, 12]);
  });

  it('keeps files small: 100 MNIST digits in under 150 KB of SVG (about 105 KB; a rect per pixel would be megabytes)', async () => {
    const { test } = await datasets.mnist();
    expect(imagesToSvg(test.images.sliceRows(0, 100)).length).toBeLessThan(150_000);
  });

  it.each<[string, unknown, object, string]>([
    [
      'rows that are not height x width',
      { data: new Float32Array(2 * 780), shape: [2, 780] },
      { height: 28, width: 28 },
      'imagesToSvg: each image row has 780 values but height x width is 28 x 28 = 784',
    ],
    [
      'rows that are not square, without a size',
      { data: new Float32Array(19), shape: [1, 19] },
      {},
      'images are rows of 19 values, which is not a square; give height and width',
    ],
    [
      'only one of height and width',
      { data: new Float32Array(16), shape: [1, 16] },
      { height: 4 },
      'give both height and width',
    ],
    [
      'a size that contradicts the tensor',
      { data: new Float32Array(16), shape: [1, 4, 4, 1] },
      { width: 8 },
      "width=8 does not match the images' shape [1, 4, 4, 1] (width 4)",
    ],
    ['an empty list', [], {}, 'imagesToSvg: images is an empty list: there is nothing to draw'],
    ['no images', { data: new Float32Array(0), shape: [0, 784] }, {}, 'images is empty (shape [0, 784])'],
    [
      'two channels',
      { data: new Float32Array(8), shape: [1, 2, 2, 2] },
      {},
      'images must have 1 (gray) or 3 (RGB) channels. Received: shape [1, 2, 2, 2] with 2 channels',
    ],
    [
      'data of the wrong length',
      { data: new Float32Array(5), shape: [1, 2, 2] },
      {},
      'images data has 5 values but shape [1, 2, 2] needs 4',
    ],
    [
      'a NaN pixel',
      { data: Float32Array.of(0, 0, 0, 0, 0, 0, NaN, 0), shape: [2, 2, 2] },
      {},
      'image 1 has a non-finite value (NaN) at row 1, column 0',
    ],
    [
      'not images',
      { pixels: [] },
      {},
      'images must be number[][], a Matrix, or { data: Float32Array, shape: [n, h, w, c] }',
    ],
    [
      'titles of the wrong count',
      { data: new Float32Array(8), shape: [2, 4] },
      { titles: ['a'] },
      'imagesToSvg: titles has 1 entries but there are 2 images',
    ],
    [
      'titles that are not strings',
      { data: new Float32Array(4), shape: [1, 4] },
      { titles: [7] },
      'titles must be an array of strings',
    ],
    [
      'a bad cols',
      { data: new Float32Array(4), shape: [1, 4] },
      { cols: 0 },
      'imagesToSvg: cols must be a positive integer. Received: cols=0',
    ],
    [
      'a bad range',
      { data: new Float32Array(4), shape: [1, 4] },
      { range: [1, 0] },
      "range must be 'auto' or [low, high] with finite low < high",
    ],
    [
      'an unknown cmap',
      { data: new Float32Array(4), shape: [1, 4] },
      { cmap: 'viridis' },
      'cmap must be one of gray, gray_r',
    ],
    [
      'a misspelt option',
      { data: new Float32Array(4), shape: [1, 4] },
      { title: ['a'] },
      "Unrecognized option 'title' for imagesToSvg; did you mean 'titles'?",
    ],
  ])('rejects %s, naming it', (_what, images, options, message) => {
    expect(() => imagesToSvg(images as never, options as never)).toThrow(message);
  });
});

describe('plotImages', () => {
  it('writes PNG (at twice the SVG size) and SVG files', async () => {
    const images = { data: new Float32Array(2 * 8 * 8), shape: [2, 8, 8, 1] as const };
    await plotImages(join(dir, 'grid.png'), images, { titles: ['a', 'b'] });
    const png = await readFile(join(dir, 'grid.png'));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const svg = imagesToSvg(images, { titles: ['a', 'b'] });
    const [w, h] = [...svg.matchAll(/<svg [^>]*width="([\d.]+)" height="([\d.]+)"/g)][0].slice(1).map(Number);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([2 * w, 2 * h]);
    await plotImages(join(dir, 'sub', 'grid.svg'), images, { titles: ['a', 'b'] });
    expect(await readFile(join(dir, 'sub', 'grid.svg'), 'utf8')).toBe(svg);
  });

  it('rejects other extensions before drawing anything', async () => {
    await expect(plotImages(join(dir, 'grid.jpg'), [])).rejects.toThrow(
      `plotImages: file must end in .svg or .png. Received: "${join(dir, 'grid.jpg')}"`,
    );
  });
});

describe('confusionMatrix', () => {
  it('counts (label, prediction) pairs: rows are labels, columns predictions', () => {
    expect(confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
    expect(confusionMatrix(Int32Array.of(1), Int32Array.of(1), { numClasses: 3 })).toEqual([
      [0, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
    ]);
  });

  it('reduces matrices of scores (probabilities, one-hot rows) by argmax', () => {
    const probs = Matrix.fromArray([
      [0.1, 0.7, 0.2],
      [0.8, 0.1, 0.1],
      [0.2, 0.2, 0.6],
    ]);
    const oneHot = { data: Float32Array.of(0, 1, 0, 0, 1, 0, 0, 0, 1), shape: [3, 3] as const };
    expect(confusionMatrix(oneHot, probs)).toEqual([
      [0, 0, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
  });

  it("has row sums equal to each class's label count and the diagonal equal to the hits (property)", () => {
    const pairs = fc.integer({ min: 1, max: 12 }).chain((k) =>
      fc
        .array(fc.tuple(fc.integer({ min: 0, max: k - 1 }), fc.integer({ min: 0, max: k - 1 })), {
          minLength: 1,
          maxLength: 200,
        })
        .map((p) => ({ k, p })),
    );
    fc.assert(
      fc.property(pairs, ({ k, p }) => {
        const m = confusionMatrix(
          p.map((x) => x[0]),
          p.map((x) => x[1]),
          { numClasses: k },
        );
        for (let c = 0; c < k; c++) {
          expect(m[c].reduce((a, b) => a + b, 0)).toBe(p.filter((x) => x[0] === c).length);
          expect(m.reduce((a, row) => a + row[c], 0)).toBe(p.filter((x) => x[1] === c).length);
          expect(m[c][c]).toBe(p.filter((x) => x[0] === c && x[1] === c).length);
        }
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it.each<[string, unknown, unknown, object, string]>([
    [
      'labels and predictions of different lengths',
      [0, 1, 2],
      [0, 1],
      {},
      'confusionMatrix: labels has 3 entries but predictions has 2; they must match one to one',
    ],
    ['empty labels and predictions', [], [], {}, 'labels and predictions are empty'],
    ['a negative label', [0, -1], [0, 1], {}, 'labels[1] = -1 is not a class index (a non-negative integer)'],
    ['a fractional prediction', [0, 1], [0, 0.5], {}, 'predictions[1] = 0.5 is not a class index'],
    ['a label beyond numClasses', [0, 3], [0, 1], { numClasses: 3 }, 'labels[1] = 3 is outside the 3 classes (0 to 2)'],
    ['a bad numClasses', [0], [0], { numClasses: 0 }, 'numClasses must be a positive integer'],
    [
      'probabilities of another class count',
      [0, 4],
      { data: new Float32Array(6), shape: [2, 3] },
      {},
      'predictions has 3 columns (classes) but there are 5 classes',
    ],
    [
      'a NaN score',
      [0],
      { data: Float32Array.of(NaN, 1), shape: [1, 2] },
      {},
      'confusionMatrix: predictions has a non-finite value (NaN) at row 0, column 0',
    ],
    ['an unknown option', [0], [0], { classes: 2 }, "Unrecognized option 'classes' for confusionMatrix"],
  ])('rejects %s, naming it', (_what, labels, predictions, options, message) => {
    expect(() => confusionMatrix(labels as never, predictions as never, options)).toThrow(message);
  });
});

describe('confusionMatrixToSvg', () => {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
  const predictions = [0, 0, 1, 1, 1, 2, 2, 2, 0, 0];

  it("writes each count in its cell, row by row, and each class's accuracy on the side", () => {
    const svg = confusionMatrixToSvg(labels, predictions, { classNames: ['cat', 'dog', 'bird'] });
    expect(texts(svg, 'count')).toEqual(['2', '1', '0', '0', '2', '0', '2', '0', '3']);
    expect(texts(svg, 'accuracy')).toEqual(['66.7%', '100%', '60.0%']);
    expect(texts(svg, 'y-tick')).toEqual(['cat', 'dog', 'bird']);
    expect(texts(svg, 'x-tick')).toEqual(['cat', 'dog', 'bird']);
    expect(texts(svg, 'title')).toEqual(['Confusion matrix (accuracy 70.00%, 10 samples)']);
    expect(svg).toContain('>True label<');
    expect(svg).toContain('>Predicted label<');
  });

  it('colours cells by count on one scale, darkest at the largest count, with a colour bar from 0 to it', () => {
    const svg = confusionMatrixToSvg(labels, predictions);
    const fills = [...svg.matchAll(/<rect class="cell" data-row="(\d)" data-col="(\d)"[^>]* fill="(#[0-9a-f]{6})"/g)];
    expect(fills).toHaveLength(9);
    const lightness = (hex: string) =>
      parseInt(hex.slice(1, 3), 16) + parseInt(hex.slice(3, 5), 16) + parseInt(hex.slice(5, 7), 16);
    const byCount = new Map(fills.map((f, i) => [Number(texts(svg, 'count')[i]), lightness(f[3])]));
    expect(byCount.get(3)!).toBeLessThan(byCount.get(2)!);
    expect(byCount.get(2)!).toBeLessThan(byCount.get(1)!);
    expect(byCount.get(1)!).toBeLessThan(byCount.get(0)!);
    expect(svg).toContain('class="colour-bar"');
    expect(texts(svg, 'bar-tick')).toEqual(['0', '1', '2', '3']);
    expect(texts(confusionMatrixToSvg([0, 1], [0, 1], { title: 'Mine' }), 'title')).toEqual(['Mine']);
  });

  it('says "no samples" for a class without labels, and is readable for 10 classes', () => {
    expect(texts(confusionMatrixToSvg([0, 2], [0, 2]), 'accuracy')).toEqual(['100%', 'no samples', '100%']);
    const ten = Array.from({ length: 1000 }, (_, i) => i % 10);
    const svg = confusionMatrixToSvg(
      ten,
      ten.map((v, i) => (i % 7 === 0 ? (v + 1) % 10 : v)),
    );
    const size = Number(svg.match(/<rect class="cell"[^>]* width="([\d.]+)"/)![1]);
    expect(size).toBeGreaterThanOrEqual(40); // room for 4-digit counts at 11 px
    expect(svg).toMatch(/class="count"[^>]*font-size="11"/);
  });

  it.each<[string, unknown, unknown, object, string]>([
    [
      'a label outside classNames',
      [0, 3],
      [0, 1],
      { classNames: ['a', 'b', 'c'] },
      'confusionMatrixToSvg: labels[1] = 3 is outside the 3 classNames (a ... c)',
    ],
    [
      'a prediction outside classNames',
      [0, 1],
      [0, 9],
      { classNames: ['a', 'b'] },
      'predictions[1] = 9 is outside the 2 classNames',
    ],
    [
      'classNames that are not strings',
      [0],
      [0],
      { classNames: [0] },
      'classNames must be a non-empty array of strings',
    ],
    [
      'classNames and numClasses that disagree',
      [0],
      [0],
      { classNames: ['a'], numClasses: 2 },
      'numClasses must be equal to the length of classNames (1)',
    ],
    ['labels and predictions of different lengths', [0], [0, 1], {}, 'labels has 1 entries but predictions has 2'],
    ['a bad scale', [0], [0], { scale: -1 }, 'scale must be a positive finite number'],
  ])('rejects %s, naming it', (_what, labels, predictions, options, message) => {
    expect(() => confusionMatrixToSvg(labels as never, predictions as never, options)).toThrow(message);
  });

  it('plotConfusionMatrix writes PNG or SVG', async () => {
    await plotConfusionMatrix(join(dir, 'cm.svg'), labels, predictions);
    expect(await readFile(join(dir, 'cm.svg'), 'utf8')).toBe(confusionMatrixToSvg(labels, predictions));
    await plotConfusionMatrix(join(dir, 'cm.png'), labels, predictions);
    expect([...(await readFile(join(dir, 'cm.png'))).subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    await expect(plotConfusionMatrix(join(dir, 'cm.pdf'), labels, predictions)).rejects.toThrow(
      'plotConfusionMatrix: file must end in .svg or .png',
    );
  });
});

describe('misclassified images', () => {
  // 4 images of 2 x 2; labels 0, 1, 1, 0; the model gets rows 1 and 3 wrong.
  const images = { data: Float32Array.from({ length: 16 }, (_, i) => i / 15), shape: [4, 4] as const };
  const labels = Int32Array.of(0, 1, 1, 0);
  const probs = Matrix.fromArray([
    [0.9, 0.1],
    [0.71, 0.29],
    [0.2, 0.8],
    [0.4, 0.6],
  ]);

  it('findMisclassified lists the wrong rows with the probability of the wrong answer', () => {
    const wrong = findMisclassified(labels, probs);
    expect(wrong.map((m) => [m.index, m.label, m.predicted, m.probability.toFixed(2)])).toEqual([
      [1, 1, 0, '0.71'],
      [3, 0, 1, '0.60'],
    ]);
    expect(misclassifiedTitle(wrong[0])).toBe('label 1, predicted 0 (0.71)');
    expect(misclassifiedTitle(wrong[0], ['cat', 'dog'])).toBe('label dog, predicted cat (0.71)');
  });

  it('plotMisclassified draws the first `limit` of them, titled, and returns them all', async () => {
    const file = join(dir, 'wrong.svg');
    const wrong = await plotMisclassified(file, images, labels, probs, { limit: 1 });
    expect(wrong.map((m) => m.index)).toEqual([1, 3]);
    const svg = await readFile(file, 'utf8');
    expect(texts(svg, 'title')).toEqual(['label 1, predicted 0 (0.71)']);
    // The image drawn is row 1: values 4/15 .. 7/15.
    const r = render(svg);
    expect(pixel(r, imageBoxes(svg)[0], 2, 2, 0, 0)[0]).toBe(Math.round(255 * Math.fround(4 / 15)));
    await plotMisclassified(file, images, labels, probs);
    expect(texts(await readFile(file, 'utf8'), 'title')).toHaveLength(2);
  });

  it('says so when nothing is misclassified', async () => {
    const file = join(dir, 'none.svg');
    expect(await plotMisclassified(file, images, Int32Array.of(0, 0, 1, 1), probs)).toEqual([]);
    expect(await readFile(file, 'utf8')).toContain('No misclassified images among 4');
  });

  it.each<[string, unknown, unknown, unknown, object, string]>([
    [
      'images and labels of different counts',
      { data: new Float32Array(12), shape: [3, 4] },
      labels,
      probs,
      {},
      'plotMisclassified: there are 3 images but 4 labels',
    ],
    [
      'labels and probabilities of different lengths',
      images,
      labels.subarray(0, 3),
      probs,
      {},
      'labels has 3 entries but probabilities has 4 rows',
    ],
    [
      'one column of probabilities',
      images,
      labels,
      [0, 1, 1, 0],
      {},
      'probabilities must have a row of class scores per sample',
    ],
    [
      'a label outside the classes',
      images,
      Int32Array.of(0, 1, 2, 0),
      probs,
      {},
      'labels[2] = 2 is outside the 2 classes of probabilities (0 to 1)',
    ],
    ['a bad limit', images, labels, probs, { limit: 0 }, 'plotMisclassified: limit must be a positive integer'],
    [
      'titles (it makes its own)',
      images,
      labels,
      probs,
      { titles: [] },
      "Unrecognized option 'titles' for plotMisclassified",
    ],
  ])('rejects %s, naming it', async (_what, imgs, l, p, options, message) => {
    await expect(
      plotMisclassified(join(dir, 'x.svg'), imgs as never, l as never, p as never, options as never),
    ).rejects.toThrow(message);
  });
});
