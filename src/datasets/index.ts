/**
 * Ready-made datasets: `datasets.mnist()` for the digits, `datasets.hitters()` for the baseball salaries.
 */
export { mnist, parseIdxImages, parseIdxLabels, type Mnist, type MnistOptions, type MnistSplit } from './mnist.js';
export { hitters, hittersXY, parseCsv, type HittersOptions } from './hitters.js';
