/**
 * A queue job, checked whole the way the CLI checks `lockstep sweep`'s arguments, before a worker reads a
 * file or builds a model: anyone who can write to the queue's Redis can put any job there. Every field must
 * have its type and range (epochs and batch size positive integers, the grid's settings by their rules,
 * only the data flags `train` knows), a config must pass the config-file check, and the model must fit the
 * worker's parameter limit. A job that fails names the field, as a usage error that is never retried.
 */
import { DATASET_NAMES, EXAMPLE_NAMES } from '../cli/catalog.js';
import { configParamCount, parseConfig } from '../cli/config.js';
import { checkDataName, checkFileOptions } from '../cli/data.js';
import { exampleSpec, type ModelSpec } from '../cli/examples.js';
import { UsageError } from '../cli/errors.js';
import type { Matrix } from '../matrix.js';
import { InputLayer } from '../layers/index.js';
import { GRID_KEYS } from './grid.js';
import type { JobSpec } from './job.js';
import { printable } from './printable.js';

/** A worker's default `--max-params`: 10 million weights (40 MB, several times that with gradients and state). */
export const DEFAULT_MAX_PARAMS = 10_000_000;

const FIELDS = ['model', 'config', 'seed', 'point', 'epochs', 'batchSize', 'validation', 'data', 'dataFileHash'];
const DATA_FIELDS = ['data', 'target', 'features', 'standardize', 'y', 'limit', 'validationSplit'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
const fraction = (v: unknown) => typeof v === 'number' && v >= 0 && v < 1;
const shortText = (v: unknown) => typeof v === 'string' && v !== '' && v.length <= 4096 && !/[\u0000-\u001f]/.test(v);

/** Returns `value` as a job spec with its model, or throws a UsageError naming the bad field. */
export function checkJob(value: unknown, maxParams = DEFAULT_MAX_PARAMS): { spec: JobSpec; model: ModelSpec } {
  const fail = (field: string, rule: string, v?: unknown): never => {
    throw new UsageError(`bad job: ${field} ${rule}${v === undefined ? '' : `. Received: ${printable(v)}`}`);
  };
  if (!isObject(value)) return fail('the job', 'must be an object', value);
  for (const k of Object.keys(value)) if (!FIELDS.includes(k)) fail(printable(k), 'is not a field of a job');
  const j = value;
  if (!shortText(j.model)) fail('model', 'must be an example name or a config file name', j.model);
  if (!Number.isSafeInteger(j.seed) || (j.seed as number) < 0) fail('seed', 'must be a non-negative integer', j.seed);
  if (!positiveInt(j.epochs)) fail('epochs', 'must be a positive integer', j.epochs);
  if (!positiveInt(j.batchSize)) fail('batchSize', 'must be a positive integer', j.batchSize);
  if (j.validation !== 'test' && !fraction(j.validation))
    fail('validation', "must be 'test' or a number in [0, 1)", j.validation);
  if (!isObject(j.point)) return fail('point', 'must be an object of grid settings', j.point);
  for (const [k, v] of Object.entries(j.point)) {
    if (!Object.hasOwn(GRID_KEYS, k))
      fail(`point.${printable(k)}`, `is not a grid setting (${Object.keys(GRID_KEYS).join(', ')})`);
    const rule = GRID_KEYS[k as keyof typeof GRID_KEYS];
    if (typeof v !== 'number' || !rule.ok(v)) fail(`point.${k}`, `must be ${rule.rule}`, v);
  }
  if (j.point.epochs !== undefined && j.point.epochs !== j.epochs)
    fail('epochs', `must be point.epochs (${j.point.epochs})`, j.epochs);
  if (j.point.batchSize !== undefined && j.point.batchSize !== j.batchSize)
    fail('batchSize', `must be point.batchSize (${j.point.batchSize})`, j.batchSize);

  if (!isObject(j.data)) return fail('data', 'must be an object of data flags', j.data);
  const d = j.data;
  for (const k of Object.keys(d))
    if (!DATA_FIELDS.includes(k)) fail(`data.${printable(k)}`, `is not a data flag (${DATA_FIELDS.join(', ')})`);
  for (const k of ['data', 'target', 'features', 'y'])
    if (d[k] !== undefined && !shortText(d[k])) fail(`data.${k}`, 'must be a non-empty string', d[k]);
  if (d.standardize !== undefined && typeof d.standardize !== 'boolean')
    fail('data.standardize', 'must be true or false', d.standardize);
  if (d.limit !== undefined && !positiveInt(d.limit)) fail('data.limit', 'must be a positive integer', d.limit);
  if (d.validationSplit !== undefined && !fraction(d.validationSplit))
    fail('data.validationSplit', 'must be a number in [0, 1)', d.validationSplit);
  const list = (v: unknown) =>
    (v as string | undefined)
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (d.data !== undefined) {
    checkDataName(d.data as string);
    checkFileOptions(d.data as string, {
      target: list(d.target),
      features: list(d.features),
      standardize: (d.standardize as boolean | undefined) || undefined,
      y: d.y as string | undefined,
    });
  } else if (['target', 'features', 'standardize', 'y'].some((k) => d[k] !== undefined)) {
    fail('data', 'names --target, --features, --standardize or --y without a data file');
  }
  const readsFiles = (d.data !== undefined && !DATASET_NAMES.includes(d.data as string)) || d.y !== undefined;
  if (readsFiles && !(typeof j.dataFileHash === 'string' && /^[0-9a-f]{64}$/.test(j.dataFileHash)))
    fail('dataFileHash', "must be the SHA-256 of the job's data files", j.dataFileHash);
  if (!readsFiles && j.dataFileHash !== undefined) fail('dataFileHash', 'comes with a job that reads no data file');

  // The config's size first: parseConfig builds its model once to check it.
  let model: ModelSpec;
  if (j.config !== undefined) {
    const params = configParamCount(j.config);
    if (params > maxParams)
      fail('config', `has ${params} parameters, more than this worker's --max-params ${maxParams}`);
    model = parseConfig(j.config, j.model as string);
  } else {
    model =
      exampleSpec(j.model) ??
      fail('model', `must be an example (${EXAMPLE_NAMES.join(', ')}) or come with its config`, j.model);
  }
  if (d.data === undefined && !model.data) fail('data', `must name a data file: ${model.name} names no built-in data`);
  if (j.validation === 'test' && !model.data)
    fail('validation', "'test' needs a model with built-in data", j.validation);
  return { spec: j as unknown as JobSpec, model };
}

/**
 * The parameters the model of `spec` has on data `x` (as buildFor builds it), counted before it is built.
 * An example is small on its own data: it is built once on a 1-value input and its layers measured again
 * on the data's shape.
 */
export async function paramsOnData(model: ModelSpec, spec: JobSpec, x: Matrix | undefined): Promise<number> {
  const shapes = x === undefined ? [undefined] : x.sampleShape.length === 1 ? [[x.cols]] : [x.sampleShape, [x.cols]];
  if (spec.config !== undefined) return Math.max(...shapes.map((s) => configParamCount(spec.config, s)));
  const dry = model.build(0, x === undefined ? undefined : [1]);
  try {
    if (x === undefined || dry.inputSampleShape()?.join(',') !== '1') return dry.countParams();
    return Math.max(
      ...shapes.map((input) => {
        let shape = input!;
        let count = 0;
        try {
          for (const layer of dry.layers) {
            if (layer instanceof InputLayer) continue;
            layer.build(shape);
            count += layer.params().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
            shape = layer.outputShape!;
          }
        } catch {
          // buildFor then tries the other shape, or names the error.
        }
        return count;
      }),
    );
  } finally {
    await dry.dispose();
  }
}
