/**
 * One run of `lockstep verify`, in a process of its own: trains the model with one worker count, as
 * `lockstep train` would, and writes its digest (weights, optimizer state, history) and the fingerprint's
 * config and data hashes to a JSON file. Not a user command: verify.ts starts it.
 *
 *   node dist/src/cli/verify-run.js '{"model":"hitters","workers":2,"epochs":2,"seed":13,"out":"/tmp/run.json"}'
 */
import { writeFile } from 'node:fs/promises';
import { type Matrix } from '../index.js';
import { digestRun, digestToJson } from '../verify/digest.js';
import { canonicalJson, sha256 } from '../verify/fingerprint.js';
import { loadData, shapedFor } from './data.js';
import { buildFor, resolveSpec, trainingData, type DataFlags } from './commands.js';

export interface RunArgs extends DataFlags {
  /** The example or config file (DataFlags.target is the CSV's label column). */
  model: string;
  workers: number;
  epochs?: number;
  batchSize?: number;
  microBatchSize?: number;
  seed: number;
  out: string;
}

async function run(a: RunArgs): Promise<void> {
  const spec = await resolveSpec(a.model);
  const epochs = a.epochs ?? 2;
  const batchSize = a.batchSize ?? spec.fit.batchSize;
  const { data: read, split } = await trainingData(spec, a, a.validationSplit ?? spec.fit.validation);
  const model = buildFor(spec, a.seed, a.data === undefined ? undefined : read.x);
  const data = shapedFor(read, model.inputSampleShape());
  try {
    const validationData =
      split === 'test' ? shapedFor(await loadData(`${spec.data}-test`), model.inputSampleShape()) : undefined;
    const fit = {
      epochs,
      batchSize,
      microBatchSize: a.microBatchSize,
      seed: a.seed,
      validation: validationData ? validationData.name : split,
    };
    const history = await model.fit(data.x, data.y!, {
      epochs,
      batchSize,
      microBatchSize: a.microBatchSize,
      workers: a.workers,
      seed: a.seed,
      verbose: 0,
      ...(validationData
        ? { validationData: [validationData.x, validationData.y!] as [Matrix, Matrix] }
        : { validationSplit: split as number }),
    });
    const config = {
      model: model.layerConfigs(),
      compile: model.compiledArgs(),
      optimizer: model.optimizer?.getConfig(),
      fit,
    };
    const y = data.y!;
    const dataHash = sha256(
      data.x.data,
      y instanceof Int32Array ? y : y.data,
      ...(validationData ? [validationData.x.data] : []),
    );
    const result = {
      ...(digestToJson(digestRun(model, history, a.workers)) as object),
      config,
      configHash: sha256(canonicalJson(config)),
      dataHash,
      dataName: data.name,
    };
    await writeFile(a.out, JSON.stringify(result));
  } finally {
    await model.dispose();
  }
}

try {
  await run(JSON.parse(process.argv[2]) as RunArgs);
} catch (err) {
  // The parent shows this line as the run's error.
  process.stderr.write(`${(err as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = (err as Error).name === 'UsageError' ? 2 : 1;
}
