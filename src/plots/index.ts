/** Figures beyond the training history: image grids, misclassified samples, the confusion matrix. */
export { plotImages, imagesToSvg, type ImagesOptions } from './images.js';
export { type ImagesLike } from './image-input.js';
export { type ClassesLike, type ScoresLike } from './classes.js';
export {
  confusionMatrix,
  confusionMatrixToSvg,
  plotConfusionMatrix,
  type ConfusionMatrixOptions,
  type PlotConfusionMatrixOptions,
} from './confusion.js';
export {
  findMisclassified,
  misclassifiedTitle,
  plotMisclassified,
  type Misclassified,
  type MisclassifiedOptions,
} from './misclassified.js';
