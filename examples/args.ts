/**
 * The few options every example takes: --workers N (default: all cores), --epochs N, --seed N, --quiet, --out DIR
 * (where figures go).
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';

export function exampleArgs(defaults: { epochs: number }) {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const int = (name: string, v: string | undefined, d: number) => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer. Received: ${v}`);
    return n;
  };
  return {
    workers: int('workers', values.workers, availableParallelism()),
    epochs: int('epochs', values.epochs, defaults.epochs),
    seed: int('seed', values.seed, 13),
    verbose: (values.quiet ? 0 : 2) as 0 | 2,
    out: values.out,
  };
}
