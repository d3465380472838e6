/**
 * `lockstep verify`: trains one model with each worker count, each in its own process (verify-run.ts),
 * and checks that the weights, optimizer state and history agree bit for bit; `--against` compares the
 * fingerprint with one saved on another machine (`lockstep verify ... --json > fingerprint.json`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareDigests, type VerifyReport } from '../verify/verify.js';
import { digestFromJson } from '../verify/digest.js';
import { compareFingerprints, fingerprint, type Fingerprint } from '../verify/fingerprint.js';
import { EXIT_FAILURE, UsageError } from './errors.js';
import type { DataFlags } from './commands.js';
import type { RunArgs } from './verify-run.js';

export interface VerifyFlags extends DataFlags {
  workers: number[];
  epochs: number;
  batchSize?: number;
  microBatchSize?: number;
  seed: number;
  json?: boolean;
  against?: string;
}

type Out = (line: string) => void;

/** Runs the check; resolves to the exit code (0: every run agrees, and with the saved fingerprint). */
export async function verify(target: string, o: VerifyFlags, out: Out): Promise<number> {
  const against = o.against === undefined ? undefined : await readFingerprint(o.against);
  const dir = await mkdtemp(join(tmpdir(), 'lockstep-verify-'));
  try {
    const runs = [];
    for (const workers of o.workers) {
      const { workers: _w, json: _j, against: _a, ...rest } = o;
      const file = join(dir, `workers-${workers}.json`);
      await runOne({ ...rest, model: target, workers, out: file });
      runs.push(JSON.parse(await readFile(file, 'utf8')) as { configHash: string; dataHash: string; dataName: string });
    }
    const digests = runs.map(digestFromJson);
    const first = runs[0];
    const fp: Fingerprint = {
      ...fingerprint({ config: null, weights: digests[0].weights }),
      configHash: first.configHash,
      dataHash: first.dataHash,
    };
    const report = compareDigests(digests, fp);
    const differences = against ? compareFingerprints(fp, against) : undefined;
    // Versions may differ and still give the same bits; what must agree is the config, the data and the weights.
    const againstOk =
      differences === undefined || !differences.some((d) => /^(configHash|dataHash|weightsHash)/.test(d));
    if (o.json)
      out(
        JSON.stringify({
          ...report,
          data: first.dataName,
          ...(against ? { against: { file: o.against, ok: againstOk, differences } } : {}),
        }),
      );
    else
      printReport(
        report,
        first.dataName,
        out,
        against && { file: o.against!, ok: againstOk, differences: differences! },
      );
    return report.ok && againstOk ? 0 : EXIT_FAILURE;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runOne(args: RunArgs): Promise<void> {
  const runner = fileURLToPath(new URL('./verify-run.js', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [runner, JSON.stringify(args)], { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const message = `the run with ${args.workers} worker${args.workers === 1 ? '' : 's'} failed: ${stderr.trim() || err.message}`;
      reject(err.code === 2 ? new UsageError(stderr.trim()) : new Error(message));
    });
  });
}

async function readFingerprint(file: string): Promise<Fingerprint> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(
      `--against ${file}: ${e.code === 'ENOENT' ? 'no such file' : e instanceof SyntaxError ? `not JSON (${e.message})` : e.message}`,
    );
  }
  // The whole `--json` output, or just its fingerprint.
  const fp = (json as { fingerprint?: unknown })?.fingerprint ?? json;
  const f = fp as Record<string, unknown>;
  if (
    typeof f !== 'object' ||
    f === null ||
    typeof f.weightsHash !== 'string' ||
    typeof f.configHash !== 'string' ||
    typeof f.tensors !== 'object'
  ) {
    throw new UsageError(
      `--against ${file}: not a fingerprint (the output of lockstep verify --json, or its "fingerprint" field)`,
    );
  }
  return f as unknown as Fingerprint;
}

function printReport(
  r: VerifyReport,
  dataName: string,
  out: Out,
  against?: { file: string; ok: boolean; differences: string[] },
): void {
  const short = (h: string) => h.slice(0, 16);
  const rows = [
    ['workers', 'weights', 'optimizer state', 'history'],
    ...r.runs.map((run) => [String(run.workers), short(run.weights), short(run.optimizerState), short(run.history)]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  out(`SHA-256 (first 16 hex digits) after training on ${dataName}:`);
  for (const row of rows)
    out(
      `  ${row
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd()}`,
    );
  const f = r.fingerprint;
  out(
    `Fingerprint: lockstep ${f.lockstep}, tfjs ${f.tfjs}, Node ${f.node}, ${f.arch}; config ${f.configHash}, data ${f.dataHash}, weights ${f.weightsHash}`,
  );
  out(`${r.ok ? 'OK' : 'DIFFERENT'}: ${r.message}`);
  if (against) {
    if (against.ok)
      out(
        `OK: the same config, data and weights as ${against.file}${against.differences.length ? ` (though ${against.differences.join('; ')})` : ''}`,
      );
    else out(`DIFFERENT from ${against.file}: ${against.differences.join('; ')}`);
  }
}
