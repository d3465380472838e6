/** Datasets in a browser: MNIST fetched from URLs (`datasets.mnist({ url })`). */
export {
  mnist,
  parseIdxImages,
  parseIdxLabels,
  type BrowserMnistOptions,
  type Mnist,
  type MnistSplit,
} from './mnist.js';
