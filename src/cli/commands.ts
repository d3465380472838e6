/**
 * What each CLI command does, once main.ts has parsed and checked its options. Output goes through `out`
 * (one string per line) so the commands read like the scripts in examples/.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callbacks, loadModel, Matrix, type History, type Logs, type Model } from '../index.js';
import { onlyOutput } from '../model.js';
import { buildCallbacks } from './fit-callbacks.js';
import { pyFormat } from '../callbacks/format.js';
import { checkDataName, checkFileOptions, loadData, shapedFor, type Dataset, type FileOptions } from './data.js';
import { requirePreprocessing, savePreprocessing } from '../data/index.js';
import { checkOutputFile, num, predictionRows, printTable, skippedNote, writeCsv } from './predictions.js';
import { EXAMPLE_NAMES } from './catalog.js';
import { exampleSpec, type ModelSpec } from './examples.js';
import { readConfig } from './config.js';
import { UsageError } from './errors.js';
import { EXIT_INTERRUPTED, TrainInterrupt } from './interrupt.js';
import { checkConfusion, checkPictureFile, drawConfusion, drawMisclassified } from './pictures.js';

type Out = (line: string) => void;

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  /** Undefined: all cores. */
  workers?: number;
  seed: number;
  validationSplit?: number;
  limit?: number;
  out?: string;
  plot?: string;
  verbose: 0 | 1 | 2;
  /** A data file to train on instead of the example's built-in data. */
  data?: string;
  /** CSV: the target column(s), comma-separated. */
  target?: string;
  /** CSV: the input columns, comma-separated. */
  features?: string;
  /** CSV: standardize the inputs with a scaler fitted on the training rows. */
  standardize?: boolean;
  /** .npy: the file of the targets. */
  y?: string;
  /** CSV: the field separator (`;`, `tab`...). */
  delimiter?: string;
  /** CSV: the text encoding (utf8, latin1). */
  encoding?: string;
  /** Replaces the compiled optimizer's learning rate. */
  learningRate?: number;
  /** Write TensorBoard event files there. */
  tensorboard?: string;
}

/** The file options of a command's flags (`--target a,b` becomes ['a', 'b']). */
function fileOptions(o: {
  target?: string;
  features?: string;
  standardize?: boolean;
  y?: string;
  delimiter?: string;
  encoding?: string;
}): FileOptions {
  const list = (flag: string, v: string | undefined) => {
    const names = v
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const twice = names?.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new UsageError(`${flag} names column "${twice}" twice. Received: ${flag} ${v}`);
    return names;
  };
  return {
    target: list('--target', o.target),
    features: list('--features', o.features),
    standardize: o.standardize || undefined,
    y: o.y,
    ...textOptions(o),
  };
}

/**
 * --delimiter and --encoding as loadCsv takes them (`tab` or `\t` for a tab; `utf-8`, `latin-1` spelled either way).
 */
function textOptions(o: { delimiter?: string; encoding?: string }): Pick<FileOptions, 'delimiter' | 'encoding'> {
  const d =
    o.delimiter === undefined ? undefined : ['tab', '\\t'].includes(o.delimiter.toLowerCase()) ? '\t' : o.delimiter;
  if (d !== undefined && !(/^[\x01-\x7f]$/.test(d) && !'"\r\n'.includes(d))) {
    throw new UsageError(
      `--delimiter must be one ASCII character such as ';' or '|', or 'tab'. Received: --delimiter ${JSON.stringify(o.delimiter)}`,
    );
  }
  const e = o.encoding?.toLowerCase().replace('-', '');
  const encoding =
    e === undefined ? undefined : e === 'utf8' ? 'utf8' : e === 'latin1' || e === 'iso88591' ? 'latin1' : undefined;
  if (o.encoding !== undefined && encoding === undefined)
    throw new UsageError(`--encoding must be utf8 or latin1. Received: --encoding ${JSON.stringify(o.encoding)}`);
  return { ...(d === undefined ? {} : { delimiter: d }), ...(encoding === undefined ? {} : { encoding }) };
}

/** One line about a data file: rows, dropped rows, categorical columns. */
function describeData(d: Dataset): string {
  const parts = [`${d.x.rows} rows x ${d.x.cols} inputs from ${d.name}`];
  if (d.droppedRows !== undefined)
    parts.push(`dropped ${d.droppedRows} row${d.droppedRows === 1 ? '' : 's'} with a missing value`);
  const p = d.preprocessing;
  if (p) {
    const cats = [...p.features, ...p.targets].filter((c) => c.kind === 'categorical');
    if (cats.length > 0)
      parts.push(`categorical: ${cats.map((c) => `${c.name} (${c.categories!.length})`).join(', ')}`);
    if (p.scaler) parts.push('standardized');
  }
  return parts.join('; ');
}

/** An example name or a model config file. */
export async function resolveSpec(target: string): Promise<ModelSpec> {
  const example = exampleSpec(target);
  if (example) return example;
  if (extname(target).toLowerCase() === '.json' || existsSync(target)) return readConfig(target);
  throw new UsageError(
    `unknown example "${target}": give an example (${EXAMPLE_NAMES.join(', ')}) or a model config file ending in .json`,
  );
}

/** The data flags train and verify share. */
export type DataFlags = Pick<
  TrainOptions,
  'data' | 'target' | 'features' | 'standardize' | 'y' | 'limit' | 'validationSplit' | 'delimiter' | 'encoding'
>;

/**
 * The training rows for `spec`: its built-in data, or the `--data` file (checked against the flags first),
 * and the validation to use: `'test'` (the family's test split) or a validationSplit fraction.
 */
export async function trainingData(
  spec: ModelSpec,
  o: DataFlags,
  validation: 'test' | number,
): Promise<{ data: Dataset; split: 'test' | number }> {
  const fileOpts = fileOptions(o);
  if (o.data === undefined) {
    if (!spec.data) throw new UsageError(`${spec.name} names no built-in data: give --data FILE`);
    if (Object.values(fileOpts).some((v) => v !== undefined))
      throw new UsageError('--target, --features, --standardize and --y need --data FILE');
  } else {
    checkDataName(o.data);
    checkFileOptions(o.data, fileOpts);
  }
  // A data file has no test split: validate on the held-out last rows (Keras's validationSplit).
  const split = o.data === undefined ? validation : (o.validationSplit ?? (validation === 'test' ? 0 : validation));
  const data =
    o.data === undefined
      ? await loadData(`${spec.data}-train`, o.limit)
      : await loadData(o.data, o.limit, { ...fileOpts, validationSplit: split as number });
  if (data.y === undefined)
    throw new UsageError(
      `--data ${o.data} has no targets: ${o.data?.endsWith('.npy') ? 'give their .npy file with --y' : 'name the label column(s) with --target'}`,
    );
  return { data, split };
}

/**
 * The model of `spec` for data `x` (a --data file's rows): its input is the file's sample shape (images
 * [h, w, c]) when the layers take it, else the rows flattened (an MLP config on image files).
 */
export function buildFor(spec: ModelSpec, seed: number, x: Matrix | undefined): Model {
  if (!x || x.sampleShape.length === 1) return spec.build(seed, x && [x.cols]);
  try {
    return spec.build(seed, x.sampleShape);
  } catch (err) {
    try {
      return spec.build(seed, [x.cols]);
    } catch {
      throw err; // neither fits: the error about the file's own sample shape says more
    }
  }
}

export async function train(target: string, o: TrainOptions, out: Out): Promise<void> {
  if (o.plot !== undefined && !['.svg', '.png'].includes(extname(o.plot).toLowerCase())) {
    throw new UsageError(`--plot must name a .svg or .png file. Received: ${JSON.stringify(o.plot)}`);
  }
  const spec = await resolveSpec(target);
  const epochs = o.epochs ?? spec.fit.epochs;
  const batchSize = o.batchSize ?? spec.fit.batchSize;
  const validation = o.validationSplit ?? spec.fit.validation;

  const interrupt = new TrainInterrupt((line) => console.error(`lockstep train: ${line}`));
  try {
    const { data: read, split } = await trainingData(spec, o, validation);
    if (o.data !== undefined && o.verbose > 0) out(`Read ${describeData(read)}`);
    for (const w of read.warnings ?? []) console.error(`lockstep train: warning: ${w}`);
    const model = buildFor(spec, o.seed, o.data === undefined ? undefined : read.x);
    const data = shapedFor(read, model.inputSampleShape());
    try {
      const validationData =
        split === 'test' ? shapedFor(await loadData(`${spec.data}-test`), model.inputSampleShape()) : undefined;
      if (o.verbose > 0) {
        model.summary(out);
        const held = validationData
          ? `validating on ${validationData.name} (${validationData.x.rows} rows)`
          : split
            ? `holding out ${pyFormat(100 * (split as number), 'g')}% of them for validation`
            : 'without validation';
        const plural = epochs === 1 ? 'epoch' : 'epochs';
        out(
          `Training ${spec.name} on ${data.x.rows} rows of ${data.name}, ${held}; ${epochs} ${plural} of batch ${batchSize}, seed ${o.seed}, ${workersText(o.workers)}`,
        );
      }
      if (o.learningRate !== undefined) {
        try {
          model.learningRate = o.learningRate;
        } catch (err) {
          throw new UsageError(`--learning-rate: ${(err as Error).message}`);
        }
      }
      const fitCallbacks = buildCallbacks(spec.fit.callbacks ?? [], 'fit.callbacks');
      if (o.tensorboard !== undefined) fitCallbacks.push(new callbacks.TensorBoard({ logDir: o.tensorboard }));
      interrupt.training(model);
      const history = await model.fit(data.x, data.y!, {
        epochs,
        batchSize,
        callbacks: [...fitCallbacks, interrupt.callback()],
        workers: o.workers,
        seed: o.seed,
        verbose: o.verbose,
        ...(validationData
          ? { validationData: [validationData.x, validationData.y!] as [Matrix, Matrix] }
          : { validationSplit: split as number }),
      });
      // Without --out the model still goes where a user finds it, and the path is printed whatever --verbose says.
      const dir = o.out ?? (await newRunDir(spec.name, o.seed));
      interrupt.saving(dir);
      await saveRun(dir, model, history, data.preprocessing);
      const also = data.preprocessing ? ' (with its preprocessing.json)' : '';
      if (interrupt.interrupted) {
        console.error(
          `lockstep train: interrupted: ${stoppedAt(history, model.iterations, epochs)}; saved the model after that step to ${dir}${also}, with history.json and history.svg`,
        );
        process.exitCode = EXIT_INTERRUPTED;
        return;
      }
      if (o.verbose > 0 || o.out === undefined)
        out(`Saved the model to ${dir}${also}, with history.json and history.svg`);
      if (o.plot !== undefined) {
        await history.plot(o.plot);
        if (o.verbose > 0) out(`Wrote the training history to ${o.plot}`);
      }
    } finally {
      await model.dispose();
    }
  } finally {
    interrupt.dispose();
  }
}

/** Where a run without --out goes: ./lockstep-runs/<model>-seed<seed>-<local time>, a new folder each time. */
async function newRunDir(name: string, seed: number): Promise<string> {
  const t = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${t.getFullYear()}${two(t.getMonth() + 1)}${two(t.getDate())}-${two(t.getHours())}${two(t.getMinutes())}${two(t.getSeconds())}`;
  const base = join('lockstep-runs', `${name}-seed${seed}-${stamp}`);
  await mkdir('lockstep-runs', { recursive: true });
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      await mkdir(dir); // never into a folder that exists: two runs in one second get -2, -3...
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The model (TF.js layers format), its history (history.json and history.svg) and a CSV's preprocessing. */
async function saveRun(
  dir: string,
  model: Model,
  history: History,
  preprocessing: Dataset['preprocessing'],
): Promise<void> {
  await model.save(dir);
  // The history beside the model, as Keras users keep history.history: the numbers and the figure.
  await writeFile(
    join(dir, 'history.json'),
    `${JSON.stringify({ epoch: history.epoch, history: history.history }, null, 1)}\n`,
  );
  await history.plot(join(dir, 'history.svg'));
  // evaluate and predict read it to transform new CSVs exactly as the training rows were.
  if (preprocessing) await savePreprocessing(dir, preprocessing);
}

/** Where an interrupted fit stopped: `stopped during epoch 3 of 10, after step 57 of 375 (update 807)`. */
function stoppedAt(history: History, iterations: number, epochs: number): string {
  const steps = history.params.steps;
  const recorded = history.epoch.length;
  if (recorded === 0) return `stopped before the first epoch ended (update ${iterations})`;
  const inLast = iterations - (recorded - 1) * steps;
  const epoch = history.epoch[recorded - 1] + 1;
  return inLast < steps
    ? `stopped during epoch ${epoch} of ${epochs}, after step ${inLast} of ${steps} (update ${iterations}; that epoch's logs cover its first ${inLast} steps)`
    : `stopped after epoch ${epoch} of ${epochs} (update ${iterations})`;
}

export interface ScoreOptions {
  data: string;
  batchSize?: number;
  workers?: number;
  limit?: number;
  json?: boolean;
  /** evaluate: draw the confusion matrix there. */
  confusion?: string;
  /** predict: list and draw the first `limit` misclassified rows there (every row is scored). */
  misclassified?: string;
  /** predict --misclassified: the image shape of a row ([h, w] or [h, w, c]) when the data does not say it. */
  imageShape?: number[];
  /** .npy: the file of the targets. */
  y?: string;
  /** CSV: a column to print beside each prediction (an ID or a name). */
  id?: string;
  /** CSV: skip rows with a missing value (and say which) instead of failing on the first. */
  skipMissing?: boolean;
  /** predict: also write the predictions to this .csv file. */
  output?: string;
  delimiter?: string;
  encoding?: string;
}

/** The CSV options of evaluate's and predict's flags, checked against the kind of --data. */
function scoreFileOptions(o: ScoreOptions): FileOptions {
  const file: FileOptions = {
    y: o.y,
    ...(o.id === undefined ? {} : { id: o.id }),
    ...(o.skipMissing ? { missing: 'drop' as const } : {}),
    ...textOptions(o),
  };
  checkFileOptions(o.data, file);
  return file;
}

/**
 * Loads `--data` for a saved model. A CSV needs the model's preprocessing.json (its columns, categories and
 * scaler): learning a new one from the file being scored would silently give other inputs.
 */
async function scoreData(dir: string, o: ScoreOptions, requireTargets: boolean): Promise<Dataset> {
  const file = scoreFileOptions(o);
  if (!o.data.toLowerCase().endsWith('.csv'))
    return loadData(o.data, o.limit, { ...file, requireTargets, split: 'test' });
  const preprocessing = await requirePreprocessing(dir);
  return loadData(o.data, o.limit, {
    ...file,
    preprocessing,
    requireTargets,
    missing: o.skipMissing ? 'drop' : 'error',
  });
}

export async function evaluate(dir: string, o: ScoreOptions, out: Out): Promise<void> {
  checkDataName(o.data);
  checkPictureFile('--confusion', o.confusion);
  scoreFileOptions(o);
  const model = await loadModelDir(dir);
  try {
    if (!model.compiledArgs()) {
      throw new Error(
        `the model in ${dir} was saved without lockstep's training config (loss and metrics), so it cannot be evaluated; predict works`,
      );
    }
    if (o.confusion !== undefined) checkConfusion(model);
    const data = shapedFor(await scoreData(dir, o, true), model.inputSampleShape());
    if (data.y === undefined) throw new UsageError(`--data ${o.data} has no targets (y), which evaluate needs`);
    const logs = await model.evaluate(data.x, data.y, { batchSize: o.batchSize, workers: o.workers });
    if (o.confusion !== undefined) await drawConfusion(model, data, o.confusion, o);
    const dropped =
      data.droppedRows === undefined ? {} : { droppedRows: data.droppedRows, skippedLines: data.droppedLines ?? [] };
    if (o.json)
      out(
        JSON.stringify({
          data: data.name,
          rows: data.x.rows,
          ...dropped,
          ...logs,
          ...(o.confusion !== undefined ? { confusion: o.confusion } : {}),
        }),
      );
    else {
      const skipped = skippedNote(data);
      out(`${data.name} (${data.x.rows} rows): ${formatLogs(logs)}`);
      if (skipped) out(`(${skipped})`);
    }
    if (o.confusion !== undefined && !o.json) out(`Wrote the confusion matrix to ${o.confusion}`);
  } finally {
    await model.dispose();
  }
}

export async function predict(dir: string, o: ScoreOptions, out: Out): Promise<void> {
  checkDataName(o.data);
  checkPictureFile('--misclassified', o.misclassified);
  if (o.imageShape !== undefined && o.misclassified === undefined)
    throw new UsageError('--image-shape applies to --misclassified FILE');
  checkOutputFile(o.output, o.data);
  if (o.output !== undefined && o.misclassified !== undefined)
    throw new UsageError('--output writes every prediction; it does not go with --misclassified');
  const fileFlags = scoreFileOptions(o);
  if (fileFlags.id !== undefined && o.misclassified !== undefined)
    throw new UsageError('--id goes with the prediction table; --misclassified lists rows by their line');
  const model = await loadModelDir(dir);
  try {
    // --limit then counts misclassified rows, so every row is scored.
    if (o.misclassified !== undefined)
      return await drawMisclassified(
        model,
        shapedFor(await scoreData(dir, { ...o, limit: undefined }, true), model.inputSampleShape()),
        o.misclassified,
        o,
        out,
      );
    const data = shapedFor(await scoreData(dir, o, false), model.inputSampleShape());
    const skipped = skippedNote(data);
    if (skipped && !o.json) out(`(${skipped})`);
    const y = onlyOutput(await model.predict(data.x, { batchSize: o.batchSize, workers: o.workers }), 'predict');
    const rows = predictionRows(model, data, y, o.id);
    if (o.output !== undefined) await writeCsv(o.output, rows.csv);
    if (o.json)
      out(JSON.stringify({ data: data.name, ...rows.json, ...(o.output !== undefined ? { output: o.output } : {}) }));
    else if (o.output !== undefined)
      out(`Wrote ${y.rows} prediction${y.rows === 1 ? '' : 's'} of ${data.name} to ${o.output}`);
    else printTable(rows.header, rows.cells, out);
  } finally {
    await model.dispose();
  }
}

/** Summary of an example, a model config file or a saved model directory. */
export async function summary(target: string, out: Out): Promise<void> {
  if (!exampleSpec(target) && isDirectory(target)) {
    const model = await loadModelDir(target);
    model.summary(out);
    const args = model.compiledArgs();
    if (args) {
      const opt = model.optimizer!.getConfig();
      out(
        ` Compiled: loss ${args.lossName}, optimizer ${opt.className} (learning rate ${pyFormat(model.learningRate, 'g')}${model.optimizer!.schedule ? `, ${model.optimizer!.schedule.className}` : ''}), metrics [${args.metrics.map((m) => (typeof m === 'string' ? m : m.className)).join(', ')}]; ${model.iterations} updates so far`,
      );
    } else {
      out(' Not compiled (saved without a training config): predict only');
    }
    return;
  }
  // A TF.js model.json named directly stands for its directory.
  if (!exampleSpec(target) && basename(target) === 'model.json' && (await isModelJson(target)))
    return summary(dirname(target), out);
  const spec = await resolveSpec(target);
  let model: Model;
  try {
    model = spec.build(13);
  } catch (err) {
    // A config without inputShape or data is built on its --data file's sample shape (a convnet's images).
    if (spec.data) throw err;
    throw new UsageError(
      `${target} gives no "inputShape", so its shapes and parameter counts follow the --data file it trains on; add "inputShape" (e.g. [28, 28, 1]) to summarise it (${(err as Error).message})`,
    );
  }
  model.summary(out);
  out(` ${spec.description}; trains on ${spec.data ? `${spec.data}-train` : 'a --data file'}`);
  // Without built-in data the real input size is the data file's: the parameter counts above may change.
  if (!spec.data) out(" Input size: the --data file's number of columns (shown with the config's inputShape, else 1)");
}

/** Runs dist/bench/run.js with `args`, passing its output through; resolves to its exit code. */
export function bench(args: string[]): Promise<number> {
  const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
  // The npm package leaves the benchmarks out (they need the dev dependencies): they run from a clone.
  if (!existsSync(runner))
    throw new Error(
      `the bench runner ${runner} is missing: the benchmarks run from a clone of the lockstep repository (npm install && npm run build)`,
    );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, ...args], { stdio: 'inherit' });
    child.on('error', reject);
    // A runner killed by a signal gets the shell's convention, 128 + the signal number.
    child.on('exit', (code, signal) =>
      resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 9)),
    );
  });
}

async function loadModelDir(dir: string): Promise<Model> {
  if (!existsSync(dir)) throw new Error(`no model directory ${dir}`);
  if (!isDirectory(dir)) throw new Error(`${dir} is not a model directory (one holding model.json and weights.bin)`);
  return loadModel(dir);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function isModelJson(file: string): Promise<boolean> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof json === 'object' && json !== null && 'modelTopology' in json;
  } catch {
    return false;
  }
}

function workersText(workers: number | undefined): string {
  if (workers === 0) return 'in this thread';
  return workers === undefined ? 'on all cores' : `on ${workers} worker${workers === 1 ? '' : 's'}`;
}

/** Keras's log format: `loss: 0.2874 - accuracy: 0.9185`. */
export function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => `${k}: ${num(v)}`)
    .join(' - ');
}
