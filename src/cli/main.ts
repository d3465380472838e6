#!/usr/bin/env node
/**
 * The `lockstep` command: train the examples or a model config file, then evaluate, predict with and
 * summarise saved models, sweep seeds and settings (here or over a Redis queue) and ensemble the results,
 * or run the benchmarks.
 *
 *   lockstep train hitters --epochs 50 --out models/hitters --plot hitters.svg
 *   lockstep evaluate models/hitters --data hitters-test
 *
 * Errors print one line on stderr (set LOCKSTEP_DEBUG=1 for the stack) and exit with 2 for a usage error
 * (bad option, argument or config file), 1 when a valid command fails.
 */
import { availableParallelism } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { lockstepVersion } from '../io/version.js';
import {
  CONFIG_HELP,
  DATA_HELP,
  DATASET_NAMES,
  EXAMPLE_DESCRIPTIONS,
  EXAMPLE_NAMES,
  MISCLASSIFIED_DEFAULT_LIMIT,
} from './catalog.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, oneLine } from './errors.js';

// The engine (tfjs, the datasets) loads only when a command runs, so --help and usage errors are instant.
const commands = () => import('./commands.js');

const out = (line: string) => console.log(line);

/** The command being run (`lockstep train`), which prefixes its error messages. */
let current = 'lockstep';

// Option parsers: commander reports their message as "option '--epochs <n>' argument 'x' is invalid. <message>".
const positiveInt = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('Expected a positive integer');
  return Number(v);
};
const nonNegativeInt = (v: string) => {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new InvalidArgumentError('Expected a non-negative integer');
  return Number(v);
};
const positiveNumber = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('Expected a positive number');
  return n;
};
const fraction = (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n < 1)) throw new InvalidArgumentError('Expected a number in [0, 1)');
  return n;
};
const workerList = (v: string) => {
  const list = v.split(',').map((s) => s.trim());
  if (list.some((s) => !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))))
    throw new InvalidArgumentError('Expected worker counts such as 0,1,2,4');
  return list.map(Number);
};
const verbosity = (v: string) => {
  if (!['0', '1', '2'].includes(v))
    throw new InvalidArgumentError('Expected 0 (silent), 1 (progress bar) or 2 (one line per epoch)');
  return Number(v) as 0 | 1 | 2;
};

const imageShape = (v: string) => {
  if (!/^\d+x\d+(x\d+)?$/.test(v) || v.split('x').some((d) => Number(d) === 0))
    throw new InvalidArgumentError('Expected HxW or HxWxC, e.g. 28x28 or 32x32x3');
  return v.split('x').map(Number);
};

const workersOption = () =>
  new Option(
    '--workers <n>',
    `worker threads; 0 runs in this thread (default: all cores, ${availableParallelism()})`,
  ).argParser(nonNegativeInt);
const dataOption = () =>
  new Option(
    '--data <name|file>',
    `dataset to score: ${DATASET_NAMES.join(', ')}, or a .csv / .npy / .npz / .json file`,
  ).makeOptionMandatory();
const yOption = () => new Option('--y <file.npy>', 'the targets of an .npy --data file (x), one row per row of x');
const delimiterOption = () =>
  new Option('--delimiter <char>', "CSV: the field separator, e.g. ';' or tab (default ',')");
const encodingOption = () =>
  new Option(
    '--encoding <name>',
    'CSV: the text encoding, utf8 or latin1 (default utf8; bytes that are not UTF-8 are then an error naming the line)',
  );
const skipMissingOption = () =>
  new Option(
    '--skip-missing',
    'CSV: skip rows with a missing value, and say which lines (default: such a row is an error naming its line)',
  );

function program(): Command {
  const root = new Command('lockstep')
    .description('Keras-style neural networks trained on every CPU core in Node.js, bit-for-bit reproducible.')
    .version(lockstepVersion(), '-V, --version')
    .showSuggestionAfterError()
    .enablePositionalOptions()
    .configureOutput({ outputError: () => {} }) // main() prints errors, on one line
    .addHelpText(
      'after',
      `
Examples: ${EXAMPLE_NAMES.join(', ')}.   Datasets: ${DATASET_NAMES.join(', ')}.
Run 'lockstep <command> --help' for a command's options.
Exit status: 0 success, 1 failure, 2 usage error (bad option, argument or config file).
Set LOCKSTEP_DEBUG=1 to print stack traces.`,
    );

  root
    .command('train')
    .description(
      'train an example or a model config file, then save the model and plot its history (Ctrl-C stops after the step in hand and saves it; exit 130)',
    )
    .argument('<model>', `an example (${EXAMPLE_NAMES.join(', ')}) or a model config file (.json, see below)`)
    .addOption(
      new Option(
        '--epochs <n>',
        "epochs to train (default: the example's: mnist-* 20, hitters 200; a config's fit.epochs, else 1)",
      ).argParser(positiveInt),
    )
    .addOption(
      new Option(
        '--batch-size <n>',
        "rows per gradient step (default: mnist-* 128, hitters 32; a config's fit.batchSize, else 32)",
      ).argParser(positiveInt),
    )
    .addOption(workersOption())
    .addOption(
      new Option('--seed <n>', 'seed of the initial weights, shuffling and dropout')
        .argParser(nonNegativeInt)
        .default(13),
    )
    .addOption(
      new Option(
        '--validation-split <fraction>',
        'hold out this fraction of the training rows for validation, 0 for none (default: mnist 0.2; hitters validates on hitters-test)',
      ).argParser(fraction),
    )
    .addOption(new Option('--limit <n>', 'train on the first n rows only (quick runs)').argParser(positiveInt))
    .option(
      '--data <file>',
      "train on a .csv / .npy / .npz file instead of the example's data; the model's input size follows the file",
    )
    .option(
      '--target <names>',
      'CSV: the label column, or several comma-separated for a multi-output model (default: the column "y")',
    )
    .option('--features <names>', 'CSV: the input columns, comma-separated (default: every other column)')
    .option('--standardize', 'CSV: scale inputs to mean 0, variance 1 with a scaler fitted on the training rows only')
    .addOption(delimiterOption())
    .addOption(encodingOption())
    .addOption(yOption())
    .option(
      '--out <dir>',
      'save the trained model there (TensorFlow.js layers format: model.json + weights.bin, with history.json; default: a new folder ./lockstep-runs/<model>-seed<seed>-<time>)',
    )
    .option('--plot <file>', 'write the training history figure: .svg, or .png')
    .addOption(new Option('--learning-rate <lr>', "replace the optimizer's learning rate").argParser(positiveNumber))
    .option('--tensorboard <dir>', 'write TensorBoard event files there (train/ and validation/ runs)')
    .addOption(
      new Option('--verbose <level>', '0 silent, 1 progress bar, 2 one line per epoch').argParser(verbosity).default(1),
    )
    .addHelpText(
      'after',
      `\nExamples:\n${EXAMPLE_NAMES.map((n) => `  ${n.padEnd(13)} ${EXAMPLE_DESCRIPTIONS[n]}`).join('\n')}\n\n${DATA_HELP}\n\n${CONFIG_HELP}`,
    )
    .action(async (model: string, o) => (await commands()).train(model, o, out));

  root
    .command('evaluate')
    .description("loss and metrics of a saved model on a dataset (Keras's evaluate)")
    .argument(
      '<model-dir>',
      'a directory written by train --out, model.save() or tfjs-layers (model.json + weights.bin)',
    )
    .addOption(dataOption())
    .addOption(new Option('--limit <n>', 'use the first n rows only').argParser(positiveInt))
    .addOption(new Option('--batch-size <n>', 'rows per forward pass (default 32)').argParser(positiveInt))
    .addOption(workersOption())
    .addOption(yOption())
    .addOption(skipMissingOption())
    .addOption(delimiterOption())
    .addOption(encodingOption())
    .option('--json', 'print one JSON object instead of a text line')
    .option('--confusion <file>', 'also draw the confusion matrix of a classifier: .svg or .png')
    .addHelpText('after', `\n${DATA_HELP}`)
    .action(async (dir: string, o) => (await commands()).evaluate(dir, o, out));

  root
    .command('predict')
    .description(
      "print a saved model's predictions, one row per line with its CSV line (class and probability for softmax and sigmoid outputs)",
    )
    .argument('<model-dir>', 'a directory written by train --out, model.save() or tfjs-layers')
    .addOption(dataOption())
    .addOption(
      new Option(
        '--limit <n>',
        `predict the first n rows only; with --misclassified, list and draw the first n misclassified rows (default ${MISCLASSIFIED_DEFAULT_LIMIT})`,
      ).argParser(positiveInt),
    )
    .addOption(new Option('--batch-size <n>', 'rows per forward pass (default 32)').argParser(positiveInt))
    .addOption(workersOption())
    .addOption(yOption())
    .option('--id <column>', 'CSV: print this column (an ID or a name) beside each prediction')
    .addOption(skipMissingOption())
    .addOption(delimiterOption())
    .addOption(encodingOption())
    .option('--output <file.csv>', 'also write the predictions (line, id, class, outputs, target) to this CSV file')
    .option(
      '--json',
      'print one JSON object { lines?, ids?, predictions: [[...], ...], classes?, classNames? } instead of a table',
    )
    .option(
      '--misclassified <file>',
      'score every row, then list and draw the misclassified ones (images such as MNIST): .svg or .png',
    )
    .addOption(
      new Option(
        '--image-shape <HxW>',
        "with --misclassified: each row's image shape (HxW or HxWxC), for rows that are flattened images",
      ).argParser(imageShape),
    )
    .addHelpText('after', `\n${DATA_HELP}`)
    .action(async (dir: string, o) => (await commands()).predict(dir, o, out));

  root
    .command('verify')
    .description(
      'train a model with each worker count, each in its own process, and check the weights, optimizer state and history agree bit for bit',
    )
    .argument('<model>', `an example (${EXAMPLE_NAMES.join(', ')}) or a model config file (.json)`)
    .addOption(
      new Option('--workers <list>', 'worker counts to compare, comma-separated')
        .argParser(workerList)
        .default([0, 1, 2, 4], '0,1,2,4'),
    )
    .addOption(new Option('--epochs <n>', 'epochs per run').argParser(positiveInt).default(2))
    .addOption(new Option('--batch-size <n>', "rows per gradient step (default: the model's)").argParser(positiveInt))
    .addOption(
      new Option(
        '--micro-batch-size <n>',
        'rows per micro-shard (default max(64, ceil(batch / 16))); smaller gives more shards to reduce',
      ).argParser(positiveInt),
    )
    .addOption(
      new Option('--seed <n>', 'seed of the initial weights, shuffling and dropout')
        .argParser(nonNegativeInt)
        .default(13),
    )
    .addOption(new Option('--validation-split <fraction>', 'as for train').argParser(fraction))
    .addOption(new Option('--limit <n>', 'train on the first n rows only').argParser(positiveInt))
    .option('--data <file>', 'train on a .csv / .npy / .npz file (as train --data)')
    .option('--target <names>', 'CSV: the label column(s)')
    .option('--features <names>', 'CSV: the input columns')
    .option('--standardize', 'CSV: standardize the inputs (scaler fitted on the training rows)')
    .addOption(yOption())
    .option('--json', 'print one JSON object (save it to compare on another machine with --against)')
    .option(
      '--against <file>',
      "compare with a fingerprint saved on another machine (that machine's verify --json output)",
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when every run agrees (and with --against), 1 when they differ (the first differing tensor and element are named), 2 usage error.',
    )
    .action(async (model: string, o) => {
      process.exitCode = await (await import('./verify.js')).verify(model, o, out);
    });

  const sweepCli = () => import('./sweep.js');
  root
    .command('sweep')
    .description(
      'train one job per seed and grid point, here or on a BullMQ queue (--queue), into --out; then a table and a figure',
    )
    .argument('<model>', `an example (${EXAMPLE_NAMES.join(', ')}) or a model config file (.json)`)
    .addOption(new Option('--seeds <list>', 'seeds, as ranges: 1-30, or 1,2,5-7').default('13'))
    .addOption(
      new Option(
        '--grid <setting=values...>',
        'settings to vary, each name=v1,v2: learningRate=1e-3,3e-4 batchSize=64,128 epochs=5,10 (every combination)',
      ),
    )
    .addOption(new Option('--epochs <n>', "epochs per job (default: the model's)").argParser(positiveInt))
    .addOption(new Option('--batch-size <n>', "rows per gradient step (default: the model's)").argParser(positiveInt))
    .addOption(new Option('--validation-split <fraction>', 'as for train').argParser(fraction))
    .addOption(new Option('--limit <n>', 'train on the first n rows only').argParser(positiveInt))
    .option(
      '--data <file>',
      "train on a .csv / .npy / .npz file (as train --data; with --queue, give a path relative to the workers' --data-root, where each worker holds the same file)",
    )
    .option('--target <names>', 'CSV: the label column(s)')
    .option('--features <names>', 'CSV: the input columns')
    .option('--standardize', 'CSV: standardize the inputs (scaler fitted on the training rows)')
    .addOption(yOption())
    .addOption(
      new Option(
        '--out <dir>',
        'one folder per job (model, history, metrics, fingerprint); jobs done there are skipped',
      ).makeOptionMandatory(),
    )
    .option(
      '--queue <url>',
      'put the jobs on a BullMQ queue in this Redis (redis://HOST:PORT) for lockstep worker processes, instead of running them here',
    )
    .option(
      '--queue-name <name>',
      "the queue's name in Redis (default lockstep); one per person or project sharing a Redis: see docs/sweeps.md",
    )
    .addOption(
      new Option(
        '--workers <n>',
        'here: worker threads per job; 0 trains in this thread (default: all cores)',
      ).argParser(nonNegativeInt),
    )
    .addOption(
      new Option('--concurrency <n>', 'here: jobs training at once (default 1; see docs/sweeps.md)').argParser(
        positiveInt,
      ),
    )
    .addOption(
      new Option('--recheck <n>', 'then train the first n done jobs again and mark any whose weights differ').argParser(
        nonNegativeInt,
      ),
    )
    .option(
      '--plot <file>',
      "the figure of each job's validation metric and the seeds' spread: .svg or .png (default <out>/sweep.svg)",
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when every job is done, 1 when a job failed (the others still ran), 2 usage error.\nSee docs/sweeps.md.',
    )
    .action(async (model: string, o) => {
      process.exitCode = await (await sweepCli()).sweepCommand(model, o, out);
    });

  root
    .command('worker')
    .description(
      'take sweep jobs from a BullMQ queue and train them on this machine, until stopped (SIGINT/SIGTERM finish the job in hand)',
    )
    .addOption(
      new Option('--queue <url>', 'the Redis the sweep put its jobs in: redis://HOST:PORT').makeOptionMandatory(),
    )
    .option('--queue-name <name>', "the queue's name (default lockstep)")
    .addOption(
      new Option(
        '--workers <n>',
        `worker threads per job, at least 1 (default: all cores, ${availableParallelism()})`,
      ).argParser(nonNegativeInt),
    )
    .addOption(
      new Option(
        '--lock-duration <ms>',
        "how long a job's lock lasts unrenewed before it counts as stalled (default 30000)",
      ).argParser(positiveInt),
    )
    .addOption(
      new Option(
        '--stalled-interval <ms>',
        'how often this worker looks for stalled jobs to put back on the queue (default 30000)',
      ).argParser(positiveInt),
    )
    .addOption(
      new Option('--max-stalled <n>', 'times a job may stall before it fails (default 2)').argParser(nonNegativeInt),
    )
    .option(
      '--data-root <dir>',
      'the folder whose files jobs may read (--data paths are relative to it); without it, only jobs on built-in data run',
    )
    .addOption(
      new Option('--max-params <n>', 'refuse a job whose model has more parameters (default 10000000)').argParser(
        positiveInt,
      ),
    )
    .addOption(
      new Option(
        '--max-data-mb <n>',
        'refuse a job whose data files hold more megabytes together (default 1024)',
      ).argParser(positiveInt),
    )
    .action(async (o) => (await sweepCli()).workerCommand(o, out));

  root
    .command('ensemble')
    .description(
      "average the predictions of several saved models (a sweep's --out) and score each model and the average",
    )
    .argument('<dirs...>', "model directories, or folders of them (a sweep's --out)")
    .addOption(dataOption())
    .addOption(new Option('--limit <n>', 'use the first n rows only').argParser(positiveInt))
    .addOption(new Option('--batch-size <n>', 'rows per forward pass (default 32)').argParser(positiveInt))
    .addOption(workersOption())
    .addOption(yOption())
    .option('--json', 'print one JSON object instead of a table')
    .addHelpText('after', `\n${DATA_HELP}`)
    .action(async (dirs: string[], o) => (await sweepCli()).ensembleCommand(dirs, o, out));

  root
    .command('summary')
    .description('print the layers, output shapes and parameter counts of a model')
    .argument('<model>', `a saved model directory, an example (${EXAMPLE_NAMES.join(', ')}) or a model config file`)
    .action(async (target: string) => (await commands()).summary(target, out));

  root
    .command('bench')
    .description('run the benchmarks: node dist/bench/run.js with the remaining arguments')
    .argument('[args...]', "passed to the bench runner unchanged (try 'lockstep bench -- --help')")
    .allowUnknownOption()
    .passThroughOptions()
    .action(async (args: string[]) => {
      process.exitCode = await (await commands()).bench(args);
    });

  // Subcommands report parse errors under their own name.
  for (const cmd of [root, ...root.commands]) {
    cmd.exitOverride((err) => {
      throw Object.assign(err, { commandName: cmd === root ? 'lockstep' : `lockstep ${cmd.name()}` });
    });
  }
  root.hook('preAction', (_root, action) => {
    current = `lockstep ${action.name()}`;
  });
  return root;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      if (err.exitCode === 0) return 0;
      const name = (err as CommanderError & { commandName?: string }).commandName ?? current;
      // A bare `lockstep` prints the help (on stderr) and has no message of its own.
      if (err.code !== 'commander.help') console.error(`${name}: ${oneLine(err.message)} (see '${name} --help')`);
      return EXIT_USAGE;
    }
    const e = err as Error;
    console.error(`${current}: ${oneLine(e?.message ?? String(err))}`);
    if (process.env.LOCKSTEP_DEBUG) console.error(e?.stack);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv.slice(2));
