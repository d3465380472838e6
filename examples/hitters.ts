/**
 * The chapter's regression: predict a baseball player's 1987 salary from 19 statistics of 1986, with a
 * 50-unit relu layer and 40% dropout. Trains 200 epochs, then 100 more from where it stopped, then a fresh
 * model with EarlyStopping (patience 10, minDelta 0.1, best weights restored). Prints the test MAE each time.
 *
 *   node dist/examples/hitters.js [--workers N]
 */
import {
  Sequential,
  layers,
  callbacks,
  datasets,
  setRandomSeed,
  dropNA,
  getDummies,
  frameToMatrix,
  StandardScaler,
  trainTestSplit,
} from '../src/index.js';
import { exampleArgs } from './args.js';

const args = exampleArgs({ epochs: 200 });
setRandomSeed(args.seed);

// pandas: Hitters.dropna(); X = get_dummies(drop_first=True) without Salary and Names; y = Salary.
const frame = dropNA(await datasets.hitters());
const features = getDummies(frame.drop(['Names', 'Salary']), { dropFirst: true });
const x = new StandardScaler().fitTransform(frameToMatrix(features));
const y = frameToMatrix(frame.select(['Salary']));
const { xTrain, xTest, yTrain, yTest } = trainTestSplit(x, y, { testSize: 1 / 3, seed: args.seed });
console.log(`Hitters: ${x.rows} players, ${x.cols} inputs; ${xTrain.rows} to train, ${xTest.rows} to test`);

function build(): Sequential {
  const model = new Sequential({ name: 'hitters' });
  model.add(layers.Input({ shape: [x.cols] }));
  model.add(layers.Dense({ units: 50, activation: 'relu' }));
  model.add(layers.Dropout({ rate: 0.4 }));
  model.add(layers.Dense({ units: 1, name: 'Output' }));
  model.compile({ loss: 'mse', optimizer: 'rmsprop', metrics: ['mean_absolute_error'] });
  return model;
}

const fitOptions = {
  batchSize: 32,
  validationData: [xTest, yTest] as [typeof xTest, typeof yTest],
  workers: args.workers,
  verbose: 0 as const,
};
const mae = async (m: Sequential) => (await m.evaluate(xTest, yTest, { workers: args.workers })).mean_absolute_error;

const model = build();
model.summary(console.log);
await model.fit(xTrain, yTrain, { ...fitOptions, epochs: args.epochs });
console.log(`after ${args.epochs} epochs: test MAE ${(await mae(model)).toFixed(1)}`);
await model.fit(xTrain, yTrain, { ...fitOptions, epochs: 100 });
console.log(`after 100 more: test MAE ${(await mae(model)).toFixed(1)}`);
await model.dispose();

const early = build();
const stopper = new callbacks.EarlyStopping({
  monitor: 'val_loss',
  patience: 10,
  minDelta: 0.1,
  restoreBestWeights: true,
});
const history = await early.fit(xTrain, yTrain, { ...fitOptions, epochs: 1500, callbacks: [stopper] });
console.log(
  `EarlyStopping stopped after ${history.epoch.length} epochs (best epoch ${stopper.bestEpoch + 1}): test MAE ${(await mae(early)).toFixed(1)} (the chapter: 290)`,
);
await early.dispose();
