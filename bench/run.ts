/**
 * `npm run bench`: lockstep against tfjs-layers (wasm and cpu backends), PyTorch and scikit-learn, on the
 * MNIST MLP, MNIST softmax regression, the Hitters regression net, a wide MNIST MLP and Keras's MNIST convnet.
 *
 *   npm run bench                                  # everything (the MLPs alone about half an hour on 2 cores;
 *                                                  # the convnet is slower: tfjs-layers' cpu backend takes 35 s
 *                                                  # and more a step)
 *   npm run bench -- --quick                       # a smoke run in under 2 minutes
 *   npm run bench -- --model mlp --batch 128 --workers 0,1,2 --repeats 3
 *
 * Every case (one runner, model, batch size, worker count and repeat) runs in its own child process, so its
 * peak RSS is its own and no two worker pools share a process. Results go to bench/results/<stamp>.json (all
 * raw numbers), <stamp>.md (tables), <stamp>-<model>.svg (samples/s against workers) and latest.md.
 */
import { probeCpus } from './probe.js';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { runChild, type CaseResult, type CaseSpec, type Runner } from './case.js';
import { MODELS, MODEL_NAMES, isConvnet, loadData, parseModelName, type ModelName } from './models.js';
import {
  detectPython,
  PEER_SETTINGS,
  removeRawData,
  runPythonCase,
  writeRawData,
  type PythonPeers,
  type RawData,
} from './peers-python.js';
import { chartSvg, fmtDuration, markdown, summarise, type CaseRecord, type ReportMeta } from './report.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The package root: the nearest directory above this file with a package.json (dist/bench/ -> ../..). */
const ROOT = (() => {
  let dir = HERE;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

export interface Options {
  models: ModelName[];
  workers: number[];
  batches: number[];
  /** Whether --batch was given: else the convnet runs at 128 only (its tfjs-layers cpu steps take a minute). */
  batchesGiven: boolean;
  quick: boolean;
  /** Timed epochs per model (after the warm-up). */
  epochs: Record<ModelName, number>;
  repeats: number;
  /** Training rows per model (undefined = all). */
  rows: Record<ModelName, number | undefined>;
  /** MNIST test rows scored (undefined = all 10,000). */
  testRows?: number;
  /** Warm-up steps per model before timing. */
  warmupSteps: Record<ModelName, number>;
  peers: boolean;
  /** Peers: timed steps per epoch before extrapolating (0 = whole epochs), and a cap on their timed seconds. */
  peerSteps: number;
  peerSeconds: number;
  python: string;
  out: string;
  seed: number;
  /** Per child process. */
  timeoutSeconds: number;
}

const USAGE = `Usage: npm run bench -- [options]
  --model NAMES      mlp, logreg, hitters, wide, convnet (repeatable or comma list; default all)
  --workers LIST     lockstep worker counts, 0 = in process (default 0,1,..,availableParallelism)
  --batch LIST       batch sizes (default 32,128,512, the convnet 128 only; --quick: 128)
  --quick            a smoke run: batch 128, 6,000 MNIST rows (convnet 3,000), 1 timed epoch, 1 repeat, bounded peers
  --epochs N         timed epochs per case (default mlp 3, logreg 3, hitters 100, wide 1, convnet 1; --quick: 1, hitters 20)
  --repeats N        child processes per case; the report takes the median (default 3; --quick: 1)
  --rows N           keep the first N training rows (default all; wide 12,000; --quick: 6,000)
  --test-rows N      score the first N MNIST test rows (default all 10,000; --quick: 2,000)
  --warmup N         warm-up steps before timing; lockstep: at most 6 epochs, convnet 1 (default 2500, convnet 150; --quick: 3)
  --no-peers         lockstep only
  --peer-steps N     timed steps per epoch for peers, extrapolated to an epoch; 0 = whole epochs (default 100; --quick: 20;
                     tfjs-layers on the convnet: at most 3, after 1 warm-up step, not scored)
  --peer-seconds S   cap on a peer's timed seconds per case (default 20; --quick: 4)
  --python PATH      interpreter for the PyTorch / scikit-learn peers (default python3)
  --seed N           seed for weights, shuffling and dropout (default 1)
  --timeout S        limit per child process in seconds (default 1800)
  --out DIR          output directory (default bench/results)`;

function list(text: string, what: string, min: number): number[] {
  const values = text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min))
    throw new Error(`--${what} expects a comma list of integers >= ${min}. Received: ${text}`);
  return [...new Set(values)];
}

function one(text: string | undefined, what: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const [v] = list(text, what, min);
  return v;
}

/** Parses the command line (without node and the script) into options; throws on bad input. */
export function parseOptions(argv: string[], cores = availableParallelism()): Options & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string', multiple: true },
      workers: { type: 'string' },
      batch: { type: 'string' },
      quick: { type: 'boolean', default: false },
      epochs: { type: 'string' },
      repeats: { type: 'string' },
      rows: { type: 'string' },
      'test-rows': { type: 'string' },
      warmup: { type: 'string' },
      'no-peers': { type: 'boolean', default: false },
      'peer-steps': { type: 'string' },
      'peer-seconds': { type: 'string' },
      python: { type: 'string', default: 'python3' },
      seed: { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = values.quick!;
  const models = values.model
    ? [
        ...new Set(
          values.model
            .flatMap((m) => m.split(','))
            .filter(Boolean)
            .map(parseModelName),
        ),
      ]
    : [...MODEL_NAMES];
  const epochsAll = one(values.epochs, 'epochs', 1);
  const rowsAll = one(values.rows, 'rows', 1);
  const defaultEpochs: Record<ModelName, number> = quick
    ? { mlp: 1, logreg: 1, hitters: 20, wide: 1, convnet: 1 }
    : { mlp: 3, logreg: 3, hitters: 100, wide: 1, convnet: 1 };
  const defaultRows: Record<ModelName, number | undefined> = quick
    ? { mlp: 6000, logreg: 6000, hitters: undefined, wide: 6000, convnet: 3000 }
    : { mlp: undefined, logreg: undefined, hitters: undefined, wide: 12_000, convnet: undefined };
  const defaultWarmup = Object.fromEntries(MODEL_NAMES.map((m) => [m, quick ? 3 : MODELS[m].warmup.steps])) as Record<
    ModelName,
    number
  >;
  const perModel = <T>(all: T | undefined, defaults: Record<ModelName, T>) =>
    Object.fromEntries(MODEL_NAMES.map((m) => [m, all ?? defaults[m]])) as Record<ModelName, T>;
  return {
    help: values.help!,
    models,
    workers: values.workers ? list(values.workers, 'workers', 0) : Array.from({ length: cores + 1 }, (_, i) => i),
    batches: values.batch ? list(values.batch, 'batch', 1) : quick ? [128] : [32, 128, 512],
    batchesGiven: values.batch !== undefined,
    quick,
    epochs: perModel(epochsAll, defaultEpochs),
    repeats: one(values.repeats, 'repeats', 1) ?? (quick ? 1 : 3),
    rows: perModel(rowsAll, defaultRows),
    testRows: one(values['test-rows'], 'test-rows', 1) ?? (quick ? 2000 : undefined),
    warmupSteps: perModel(one(values.warmup, 'warmup', 1), defaultWarmup),
    peers: !values['no-peers'],
    peerSteps: one(values['peer-steps'], 'peer-steps', 0) ?? (quick ? 20 : 100),
    peerSeconds: one(values['peer-seconds'], 'peer-seconds', 0) ?? (quick ? 4 : 20),
    python: values.python!,
    out: resolve(values.out ?? join(ROOT, 'bench', 'results')),
    seed: one(values.seed, 'seed', 0) ?? 1,
    timeoutSeconds: one(values.timeout, 'timeout', 1) ?? 1800,
  };
}

/** Every case of one (model, batch) for one repeat: lockstep at each worker count, then the peers. */
export function casesFor(o: Options, model: ModelName, batch: number, python: PythonPeers, repeat = 0): CaseSpec[] {
  const base = {
    model,
    batch,
    epochs: o.epochs[model],
    rows: o.rows[model],
    testRows: o.testRows,
    warmupSteps: o.warmupSteps[model],
    seed: o.seed,
    maxSteps: 0,
    maxSeconds: 0,
    evaluate: true,
  };
  const cases: CaseSpec[] = o.workers.map((workers) => ({ ...base, runner: 'lockstep' as Runner, workers }));
  if (!o.peers) return cases;
  // Peers score the test set in their first repeat only (a minute per score for the wide MLP on tfjs's cpu backend),
  // and warm up for at most 5 steps (3 s a step for the wide MLP on tfjs's cpu backend at batch 512).
  const bounded = {
    maxSteps: o.peerSteps,
    maxSeconds: o.peerSeconds,
    evaluate: repeat === 0,
    warmupSteps: Math.min(o.warmupSteps[model], 5),
  };
  const convnet = isConvnet(MODELS[model]);
  // tfjs-layers' cpu backend takes tens of seconds per convnet step: 1 warm-up step, at most 3 timed, and no
  // test score (minutes of forward passes, for a model that trained 4 steps).
  const tfjs = convnet
    ? { ...bounded, maxSteps: Math.min(o.peerSteps || 3, 3), warmupSteps: 1, evaluate: false }
    : bounded;
  cases.push(
    { ...base, ...tfjs, runner: 'tfjs-wasm', workers: 1 },
    { ...base, ...tfjs, runner: 'tfjs-cpu', workers: 1 },
  );
  // The python peers use threads, not workers: one run per distinct thread count (workers 0 counts as 1).
  const threads = [...new Set(o.workers.map((w) => Math.max(1, w)))];
  // PyTorch is quick enough for whole epochs (the time cap still applies); scikit-learn gets the step bound.
  // PyTorch's best on a multicore CPU: threads, and DistributedDataParallel with one process per core.
  if (python.torch)
    for (const t of threads)
      cases.push({ ...base, ...bounded, maxSteps: 0, maxSeconds: o.peerSeconds * 3, runner: 'torch', workers: t });
  if (python.torch)
    for (const t of threads.filter((n) => n > 1))
      cases.push({
        ...base,
        ...bounded,
        maxSteps: 0,
        maxSeconds: o.peerSeconds * 3,
        runner: 'torch',
        workers: t,
        ddp: true,
      });
  // scikit-learn has no convolutional layers (the report says so).
  if (python.sklearn && !convnet)
    for (const t of threads) cases.push({ ...base, ...bounded, runner: 'sklearn', workers: t });
  return cases;
}

/** Four significant digits; '—' for a value the case did not produce (JSON turns NaN into null). */
const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v.toPrecision(4) : '—');

function describe(spec: CaseSpec): string {
  const who =
    spec.runner === 'lockstep'
      ? `lockstep w${spec.workers}`
      : spec.ddp
        ? `torch ddp${spec.workers}`
        : spec.runner === 'torch' || spec.runner === 'sklearn'
          ? `${spec.runner} t${spec.workers}`
          : spec.runner;
  return `${spec.model} b${spec.batch} ${who}`;
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

/** Runs one case in its own process (node for lockstep and tfjs-layers, python for the python peers). */
function runCase(o: Options, spec: CaseSpec, raw: RawData | undefined): Promise<CaseResult> {
  const timeoutMs = o.timeoutSeconds * 1000;
  if (spec.runner === 'torch' || spec.runner === 'sklearn') return runPythonCase(o.python, spec, raw!, timeoutMs);
  return runChild(process.execPath, [join(HERE, 'case.js'), JSON.stringify(spec)], timeoutMs);
}

function progressLine(spec: CaseSpec, repeat: number, r: CaseResult, seconds: number): string {
  if (r.unsupported) return `${describe(spec)} rep ${repeat + 1}: ${r.unsupported} (${seconds.toFixed(1)} s)`;
  const s = r.epochSeconds.reduce((a, b) => a + b, 0) / r.epochSeconds.length; // the mean, for this line only
  return (
    `${describe(spec)} rep ${repeat + 1}: ${s.toPrecision(3)} s/epoch${r.extrapolated ? ' (extrapolated)' : ''}, ` +
    `${Math.round(r.trainRows / s)} samples/s, loss ${num(r.finalLoss)}, test ${num(r.testMetric)}, RSS ${Math.round(r.peakRssMiB)} MiB (${seconds.toFixed(1)} s)`
  );
}

/** Every case, one child process each: models, then batch sizes, then repeats, then runners. */
async function runAll(o: Options, python: PythonPeers): Promise<CaseRecord[]> {
  const records: CaseRecord[] = [];
  const batchesOf = (m: ModelName) => (isConvnet(MODELS[m]) && !o.batchesGiven ? [128] : o.batches);
  const total = o.models.reduce(
    (n, m) => n + batchesOf(m).length * o.repeats * casesFor(o, m, batchesOf(m)[0], python).length,
    0,
  );
  for (const model of o.models) {
    // The python peers read the rows from raw float32 files, written once per model.
    let raw: RawData | undefined;
    if (python.torch || python.sklearn)
      raw = await writeRawData(await loadData(MODELS[model], { rows: o.rows[model], testRows: o.testRows }));
    try {
      for (const batch of batchesOf(model)) {
        // Repeats outside the runners, so that drift in the machine's load spreads over all runners alike.
        for (let repeat = 0; repeat < o.repeats; repeat++) {
          for (const spec of casesFor(o, model, batch, python, repeat)) {
            const record: CaseRecord = {
              spec,
              repeat,
              loadAvg: loadavg()[0],
              probe: await probeCpus(availableParallelism()),
            };
            const t0 = performance.now();
            const at = `[${records.length + 1}/${total}]`;
            try {
              record.result = await runCase(o, spec, raw);
              console.log(`${at} ${progressLine(spec, repeat, record.result, (performance.now() - t0) / 1000)}`);
            } catch (e) {
              record.error = (e as Error).message;
              console.log(`${at} ${describe(spec)} rep ${repeat + 1}: FAILED ${record.error.split('\n')[0]}`);
            }
            records.push(record);
          }
        }
      }
    } finally {
      if (raw) await removeRawData(raw);
    }
  }
  return records;
}

function machineInfo(
  records: readonly CaseRecord[],
  python: PythonPeers,
  loadAvgStart: number,
): Record<string, unknown> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    availableParallelism: availableParallelism(),
    totalMemGiB: Math.round(totalmem() / 2 ** 30),
    platform: process.platform,
    arch: process.arch,
    osRelease: release(),
    node: process.version,
    v8: process.versions.v8,
    // backendInfo() as a lockstep case saw it.
    backend: records.find((r) => r.spec.runner === 'lockstep' && r.result)?.result?.backend,
    packages: Object.fromEntries(
      [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-layers',
        'piscina',
      ].map((p) => [p, packageVersion(p)]),
    ),
    python: {
      interpreter: python.python,
      numpy: python.numpy ?? null,
      torch: python.torch ?? null,
      sklearn: python.sklearn ?? null,
    },
    loadAvgStart,
    loadAvgEnd: loadavg()[0],
  };
}

function settingsOf(o: Options): Record<string, unknown> {
  return {
    models: o.models,
    workers: o.workers,
    batch: o.batches,
    'timed epochs': o.models.map((m) => `${m} ${o.epochs[m]}`).join(', '),
    'training rows': o.models.map((m) => `${m} ${o.rows[m] ?? 'all'}`).join(', '),
    'test rows': o.testRows ?? 'all',
    repeats: o.repeats,
    'warm-up steps': o.models.map((m) => `${m} ${o.warmupSteps[m]}`).join(', '),
    'peer steps': o.peers ? o.peerSteps : 'n/a',
    'peer seconds cap': o.peers ? o.peerSeconds : 'n/a',
    seed: o.seed,
    quick: o.quick,
  };
}

const round6 = (v: number) => Number(v.toPrecision(6));

/**
 * How case records are stored in the JSON: timings keep 6 significant digits (a microsecond of a second; losses
 * keep every bit), and lockstep's per-epoch `timing` is stored by column, {seconds: [...], steps: [...], ...}.
 */
function compactCase(key: string, value: unknown): unknown {
  if (key === 'epochSeconds' && Array.isArray(value)) return value.map(round6);
  if (key === 'wallSeconds' && typeof value === 'number') return round6(value);
  if (key === 'timing' && Array.isArray(value) && value.length > 0) {
    // Some fields are on some epochs only (firstStepSeconds on a fit's first): null where absent.
    const keys = [...new Set(value.flatMap((t: Record<string, number>) => Object.keys(t)))];
    return Object.fromEntries(
      keys.map((k) => [
        k,
        value.map((t: Record<string, number | undefined>) =>
          t[k] === undefined ? null : k === 'steps' || k === 'workers' ? t[k] : round6(t[k]!),
        ),
      ]),
    );
  }
  return value;
}

/** The JSON file: metadata and summary indented, then the raw case records one per line (see compactCase). */
export function resultsJson(head: Record<string, unknown>, records: readonly CaseRecord[]): string {
  const top = JSON.stringify(
    { ...head, casesFormat: 'one record per case and repeat; result.timing by column, one entry per timed epoch' },
    null,
    2,
  );
  const cases = records.map((r) => `    ${JSON.stringify(r, compactCase)}`).join(',\n');
  return `${top.slice(0, top.lastIndexOf('}')).trimEnd()},\n  "cases": [\n${cases}\n  ]\n}\n`;
}

/** Writes <stamp>.json, <stamp>.md, latest.md and <stamp>-<model>.svg; returns the paths. */
async function writeResults(o: Options, meta: ReportMeta, records: CaseRecord[]): Promise<string[]> {
  const rows = summarise(records);
  const svgName = (model: ModelName) => `${meta.stamp}-${model}.svg`;
  await mkdir(o.out, { recursive: true });
  const written = [join(o.out, `${meta.stamp}.json`), join(o.out, `${meta.stamp}.md`), join(o.out, 'latest.md')];
  await writeFile(written[0], resultsJson({ ...meta, options: o, summary: rows }, records));
  await writeFile(written[1], markdown(meta, rows, records, svgName));
  await copyFile(written[1], written[2]);
  for (const model of o.models) {
    written.push(join(o.out, svgName(model)));
    await writeFile(written.at(-1)!, chartSvg(model, rows));
  }
  return written;
}

async function main(): Promise<void> {
  let o: ReturnType<typeof parseOptions>;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (o.help) {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  const date = new Date();
  const loadAvgStart = loadavg()[0];
  const python: PythonPeers = o.peers ? detectPython(o.python) : { python: o.python, notes: [] };
  const notes = o.peers ? [...python.notes] : ['Peers skipped (--no-peers).'];
  if (o.peers && (python.torch || python.sklearn))
    notes.push(
      `Python peers' processes run with ${PEER_SETTINGS}; PyTorch runs with 1..N intra-op threads and with DistributedDataParallel (gloo on 127.0.0.1, one process per core, 1 thread each, the batch split between them).`,
    );
  console.log(
    `lockstep bench: models ${o.models.join(',')}; workers ${o.workers.join(',')}; batch ${o.batches.join(',')}; repeats ${o.repeats}${o.quick ? ' (quick)' : ''}`,
  );
  for (const n of notes) console.log(`  note: ${n}`);

  const records = await runAll(o, python);

  const meta: ReportMeta = {
    date: date.toISOString(),
    stamp: date
      .toISOString()
      .replace(/\.\d+Z$/, 'Z')
      .replace(/:/g, '-'),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    settings: settingsOf(o),
    machine: machineInfo(records, python, loadAvgStart),
    notes,
    wallSeconds: (performance.now() - started) / 1000,
  };
  const written = await writeResults(o, meta, records);
  const failed = records.filter((r) => r.error).length;
  console.log(`\ndone in ${fmtDuration(meta.wallSeconds)}${failed ? `, ${failed} case(s) failed` : ''}; wrote:`);
  for (const w of written) console.log(`  ${relative(process.cwd(), w)}`);
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  });
}
