/**
 * What the CLI offers, by name: the examples, the built-in datasets and the config file format. This module
 * imports nothing heavy (no tfjs), so `--help` and usage errors answer without loading the engine.
 */

/** The built-in data families; each has a `-train` and a `-test` split. */
export const FAMILIES = ['mnist', 'hitters'] as const;
export type Family = (typeof FAMILIES)[number];

export const DATASET_NAMES = FAMILIES.flatMap((f) => [`${f}-train`, `${f}-test`]);

/** How many misclassified rows `predict --misclassified` lists and draws without `--limit`. */
export const MISCLASSIFIED_DEFAULT_LIMIT = 20;

/** Features per row in each family, known without reading the data (summary needs no data). */
export const FEATURES: Record<Family, number> = { mnist: 784, hitters: 19 };

/** The examples `train` and `summary` know by name (built in examples.ts), with one line each. */
export const EXAMPLE_DESCRIPTIONS: Record<string, string> = {
  'mnist-mlp': 'MNIST multilayer network: 784-128 relu, dropout 0.3, 64 tanh, dropout 0.2, 10 softmax; RMSprop',
  'mnist-logreg': 'MNIST multinomial logistic regression: one Dense layer of 10 softmax units; RMSprop',
  'mnist-convnet':
    "Keras's simple MNIST convnet: Conv2D 32 3x3 relu, max-pool 2, Conv2D 64 3x3 relu, max-pool 2, flatten, dropout 0.5, 10 softmax; Adam",
  hitters: 'Hitters salary regression: 19-50 relu, dropout 0.4, 1 linear; RMSprop, mse, MAE; validated on hitters-test',
};
export const EXAMPLE_NAMES = Object.keys(EXAMPLE_DESCRIPTIONS);

export const DATA_HELP = `Data (--data): ${DATASET_NAMES.join(', ')}, or a file:
  .csv   a header row; --target names the label column(s) (default "y"), --features the inputs (default: the
         others). Non-numeric columns are one-hot encoded without their first category (pandas' get_dummies
         with drop_first), a non-numeric target becomes class indices; train drops rows with a missing value
         (empty, NA, NaN...). train --out saves this preprocessing (and the --standardize scaler) as
         preprocessing.json beside the model; evaluate and predict apply it to new CSVs and keep every row
         (a missing feature is an error naming its line, unless --skip-missing). --delimiter, --encoding.
  .npy   x; its targets in a second .npy file given with --y (float32/64, bool and integer dtypes; any shape)
  .npz   arrays "x" and "y", or Keras's "x_train"/"y_train" (train) and "x_test"/"y_test" (evaluate, predict)
  .json  { "x": [[...], ...], "y": [...] }  (y optional for predict)
  hitters-train / hitters-test are the examples' standardised 2:1 split (seed 13, whatever --seed trained the model).`;

/** The model config format, as `lockstep train --help` prints it (config.ts checks it). */
export const CONFIG_HELP = `Model config file (lockstep train my-model.json):
  {
    "name": "mnist_small",                 optional; default: the file name
    "data": "mnist",                       "mnist" or "hitters"; leave out to train on --data FILE only
    "inputShape": [784],                   optional; any shape of the data's values per row:
                                           mnist [784], [28, 28] or [28, 28, 1]; hitters [19];
                                           without "data", the --data file's sample shape (images
                                           [h, w, c]) if the layers take it, else its rows flattened
    "layers": [                            required, in order; an Input layer is added from inputShape
      { "className": "Dense", "units": 64, "activation": "relu" },
      { "className": "Dropout", "rate": 0.2 },
      { "className": "Dense", "units": 10, "activation": "softmax" }
    ],
    "compile": { "loss": "sparse_categorical_crossentropy",
                 "optimizer": "adam",      or { "className": "Adam", "learningRate": 0.001 }; default "rmsprop"
                 "metrics": ["accuracy"] },   also "AUC", "precision", "recall", "f1_score", or
                                           { "className": "AUC", "config": { "curve": "PR" } }
    "fit": { "epochs": 5, "batchSize": 128, "validationSplit": 0.2,   optional defaults for the flags
             "callbacks": ["TerminateOnNaN", { "className": "EarlyStopping", "patience": 3 }] }
                                           EarlyStopping, ReduceLROnPlateau, CSVLogger ("filename"),
                                           ModelCheckpoint ("filepath"), TensorBoard, TerminateOnNaN
  }
  Layers and their fields (all take "name"; Keras's names and defaults; images are [height, width, channels]):
    Dense: units, activation, useBias, kernelInitializer, biasInitializer, kernelRegularizer, biasRegularizer,
      activityRegularizer ("l2", or { "className": "L2", "config": { "l2": 0.01 } }).   Dropout: rate.
    Conv2D: filters, kernelSize (3 or [3, 3]), strides (1), padding ("valid" or "same"), dilationRate (1),
      activation, useBias, kernelInitializer, biasInitializer, dataFormat (only "channels_last").
    MaxPooling2D, AveragePooling2D: poolSize (2), strides (poolSize), padding ("valid"), dataFormat.
    GlobalAveragePooling2D, GlobalMaxPooling2D: keepdims (false), dataFormat.
    Flatten: dataFormat.   Reshape: targetShape (one dimension may be -1).
    BatchNormalization: axis (-1), momentum (0.99), epsilon (0.001), center, scale, betaInitializer,
      gammaInitializer, movingMeanInitializer, movingVarianceInitializer (statistics of the whole batch).
    LayerNormalization: axis (-1, or a list), epsilon (0.001), center, scale, betaInitializer, gammaInitializer.
  A small convnet: "inputShape": [28, 28, 1], "layers": [{ "className": "Conv2D", "filters": 8, "kernelSize": 3,
    "activation": "relu" }, { "className": "MaxPooling2D" }, { "className": "Flatten" },
    { "className": "Dense", "units": 10, "activation": "softmax" }]
  fit defaults: epochs 1, batchSize 32; validation as the examples (mnist: 0.2 split, hitters: hitters-test).
  mnist labels are class indices (use sparse_categorical_crossentropy and 10 softmax units);
  hitters targets are salaries (one linear unit, e.g. "mse").`;
