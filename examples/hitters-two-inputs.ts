/**
 * The chapter's Hitters regression with two inputs: the 16 numeric statistics (standardized) in one, and the
 * three categorical columns League, Division and NewLeague as indices into one learned Embedding (League
 * A/N -> 0/1, Division E/W -> 2/3, NewLeague A/N -> 4/5, two values each) in the other, joined with
 * Concatenate before the 50-unit relu layer. Prints the test MAE.
 *
 *   node dist/examples/hitters-two-inputs.js [--workers N] [--epochs N]
 */
import {
  Model,
  Matrix,
  layers,
  callbacks,
  datasets,
  setRandomSeed,
  dropNA,
  frameToMatrix,
  StandardScaler,
  trainTestSplit,
} from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 1500 });
setRandomSeed(args.seed);

const frame = dropNA(await datasets.hitters());
const CATEGORIES: Record<string, string[]> = { League: ['A', 'N'], Division: ['E', 'W'], NewLeague: ['A', 'N'] };
const numeric = frame.drop(['Names', 'Salary', ...Object.keys(CATEGORIES)]);
const n = frame.column('Salary').length;
// Each column's values get indices of their own in the one embedding table.
const codes = new Float32Array(n * 3);
Object.entries(CATEGORIES).forEach(([column, values], k) => {
  frame.column(column).forEach((v, r) => {
    const i = values.indexOf(String(v));
    if (i < 0) throw new Error(`Hitters row ${r}: ${column} is ${String(v)}, expected one of ${values.join(', ')}`);
    codes[r * 3 + k] = 2 * k + i;
  });
});
// Split the rows once, numbers and codes together, so both inputs hold the same players.
const numbers = frameToMatrix(numeric);
const both = new Matrix(new Float32Array(n * (numbers.cols + 3)), n, numbers.cols + 3);
for (let r = 0; r < n; r++) {
  both.data.set(numbers.data.subarray(r * numbers.cols, (r + 1) * numbers.cols), r * both.cols);
  both.data.set(codes.subarray(r * 3, r * 3 + 3), r * both.cols + numbers.cols);
}
const y = frameToMatrix(frame.select(['Salary']));
const split = trainTestSplit(both, y, { testSize: 1 / 3, seed: args.seed });
const columns = (m: Matrix, from: number, to: number) =>
  new Matrix(
    Float32Array.from(
      { length: m.rows * (to - from) },
      (_, i) => m.data[Math.floor(i / (to - from)) * m.cols + from + (i % (to - from))],
    ),
    m.rows,
    to - from,
  );
const scaler = new StandardScaler().fit(columns(split.xTrain, 0, numbers.cols));
const inputs = (m: Matrix) => ({
  numbers: scaler.transform(columns(m, 0, numbers.cols)),
  categories: columns(m, numbers.cols, numbers.cols + 3),
});
const train = inputs(split.xTrain);
const test = inputs(split.xTest);
console.log(
  `Hitters: ${n} players, ${numbers.cols} numeric inputs and 3 categorical; ${split.xTrain.rows} to train, ${split.xTest.rows} to test`,
);

const numbersIn = layers.Input({ shape: [numbers.cols], name: 'numbers' });
const categoriesIn = layers.Input({ shape: [3], name: 'categories' });
const embedded = layers.Flatten().apply(layers.Embedding({ inputDim: 6, outputDim: 2 }).apply(categoriesIn));
const joined = layers.Concatenate().apply([numbersIn, embedded]);
const hidden = layers.Dropout({ rate: 0.4 }).apply(layers.Dense({ units: 50, activation: 'relu' }).apply(joined));
const salary = layers.Dense({ units: 1, name: 'salary' }).apply(hidden);
const model = new Model({ inputs: [numbersIn, categoriesIn], outputs: salary, name: 'hitters_two_inputs' });
model.summary(console.log);
model.compile({ loss: 'mse', optimizer: 'rmsprop', metrics: ['mean_absolute_error'] });

const stopper = new callbacks.EarlyStopping({
  monitor: 'val_loss',
  patience: 10,
  minDelta: 0.1,
  restoreBestWeights: true,
});
const history = await model.fit(train, split.yTrain, {
  epochs: args.epochs,
  batchSize: 32,
  validationData: [test, split.yTest],
  callbacks: [stopper],
  workers: args.workers,
  verbose: 0,
});
const { mean_absolute_error: mae } = await model.evaluate(test, split.yTest, { workers: args.workers });
console.log(
  `EarlyStopping stopped after ${history.epoch.length} epochs (best epoch ${stopper.bestEpoch + 1}): test MAE ${mae.toFixed(1)} (one input with dummies: about 290)`,
);
await model.dispose();
