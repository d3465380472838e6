/**
 * Turns raw case results into summary rows (median over repeats, speed-up, efficiency, ratios to the peers),
 * a Markdown report and one hand-written SVG chart per model (samples/s against workers). Pure functions:
 * run.ts does the file writing.
 */
import { MODELS, MODEL_NAMES, type ModelName } from './models.js';
import type { CaseResult, CaseSpec, Runner } from './case.js';
import type { StepProfile } from './profile-step.js';
import { SLOW_PROBE } from './probe.js';

/** One child run: its spec, and its result or why it failed. */
export interface CaseRecord {
  spec: CaseSpec;
  repeat: number;
  result?: CaseResult;
  error?: string;
  /** os.loadavg()[0] when the case started: how busy the machine was. */
  loadAvg: number;
  /** Just before the case: median ms per chunk of a fixed loop on each vCPU (probe.ts); absent in older files. */
  probe?: number[];
}

export interface SummaryRow {
  model: ModelName;
  batch: number;
  runner: Runner;
  /** lockstep: pool workers (0 = in process); peers: threads (processes for PyTorch with `ddp`). */
  workers: number;
  /** PyTorch: DistributedDataParallel, `workers` processes of 1 thread each. */
  ddp?: boolean;
  repeats: number;
  /** Median over repeats of each repeat's median s/epoch; min and max of those per-repeat values. */
  secondsPerEpoch: number;
  minSeconds: number;
  maxSeconds: number;
  samplesPerSecond: number;
  /** lockstep only: samples/s over lockstep's at workers = 1, and speed-up / workers. */
  speedup?: number;
  efficiency?: number;
  /** lockstep only: ms per step (median over repeats of the epoch mean). */
  computeMs?: number;
  reduceMs?: number;
  syncMs?: number;
  /** lockstep only: extra ms per step of the gated path (a batch callback registered), median over repeats. */
  gatedExtraMs?: number;
  /** lockstep only: median over repeats of the first epoch after the pool started (cold). */
  firstEpochSeconds?: number;
  peakRssMiB: number;
  finalLoss: number;
  testLoss: number;
  testMetric: number;
  trainedSteps: number;
  trainRows: number;
  stepsPerEpoch: number;
  /** Steps timed per repeat (median) when the epoch time is extrapolated from a bounded run. */
  extrapolatedFrom?: number;
  /**
   * lockstep rows: lockstep samples/s divided by the peer's in its fastest configuration (same model and batch; see
   * bestPeers).
   */
  ratios: Partial<Record<Peer, number>>;
  errors: string[];
  note?: string;
  /** Why the runner cannot train this model at all (then nothing is timed). */
  unsupported?: string;
  /** lockstep convnet rows: the single-thread step profile by phase (the repeat with the median step time). */
  phases?: PhaseSplit;
  /**
   * lockstep only: the matmul efficiency. `effectiveGflops` = the model's matmul FLOPs per epoch / s per epoch,
   * per worker (workers 0 counts as 1); `probeGflops` = the rate of the same step's matmuls timed alone in the
   * same processes (matmul-probe.ts); medians over repeats. `flopsPerEpoch` in GFLOP.
   */
  gflopPerEpoch?: number;
  effectiveGflops?: number;
  probeGflops?: number;
  matmulEfficiency?: number;
  /** lockstep only: the WebAssembly SIMD ceiling of one thread (simd-ceiling.ts), best round, median over repeats. */
  ceilingGflops?: number;
  /** lockstep only: cold start, medians over repeats (each repeat is a fresh process); see case.ts ColdStart. */
  coldFitToFirstStep?: number;
  coldProcessToFirstEpoch?: number;
  coldExact?: boolean;
  /** Median 1-minute load average when the repeats started (2 = both cores of a 2-core machine busy elsewhere). */
  loadAvg: number;
}

export const RUNNER_LABEL: Record<Runner, string> = {
  lockstep: 'lockstep',
  'tfjs-wasm': 'tfjs-layers wasm',
  'tfjs-cpu': 'tfjs-layers cpu',
  torch: 'PyTorch CPU',
  sklearn: 'scikit-learn MLP',
};
export type Peer = Exclude<Runner, 'lockstep'>;
const PEERS: Peer[] = ['tfjs-wasm', 'tfjs-cpu', 'torch', 'sklearn'];
const RUNNER_ORDER: Runner[] = ['lockstep', ...PEERS];

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);

/** A convnet step's ms per step by phase: what the issue asks to see, from ops/profile.ts's labels. */
export interface PhaseSplit {
  rows: number;
  steps: number;
  /** The whole step (weight load included); the phases below, and what is left of the step. */
  stepMs: number;
  convForward: number;
  inputGradient: number;
  filterGradient: number;
  /** Max pooling, forward and backward. */
  pooling: number;
  /** Winograd's transforms (kernel, input, output and output-gradient tiles), taken out of the three conv phases. */
  transforms: number;
  rest: number;
}

/**
 * Splits a step profile into ms per step. 'Conv2D input gradient' and 'Conv2D filter gradient' are nested in
 * 'Conv2D backward', so they are taken alone and the rest of the backward pass (bias gradient, activation
 * gradient) falls into `rest` with Dense, Dropout, Flatten, the loss and the weight load.
 */
export function phaseSplit(p: StepProfile): PhaseSplit {
  const per = (label: string) => (p.phaseMs[label] ?? 0) / p.steps;
  const stepMs = p.stepMs / p.steps;
  // The transforms are timed inside the conv phases (ops/winograd.ts): taken out, so the columns add up.
  const forwardT = per('Conv2D forward transforms');
  const inputT = per('Conv2D input gradient transforms');
  const filterT = per('Conv2D filter gradient transforms');
  const transforms = forwardT + inputT + filterT;
  const convForward = per('Conv2D forward') - forwardT;
  const inputGradient = per('Conv2D input gradient') - inputT;
  const filterGradient = per('Conv2D filter gradient') - filterT;
  const pooling = per('MaxPooling2D forward') + per('MaxPooling2D backward');
  return {
    rows: p.rows,
    steps: p.steps,
    stepMs,
    convForward,
    inputGradient,
    filterGradient,
    transforms,
    pooling,
    rest: stepMs - convForward - inputGradient - filterGradient - transforms - pooling,
  };
}

/** Of several profiles, the one with the median step time (lower middle): one coherent split, whose parts add up. */
function medianProfile(profiles: StepProfile[]): StepProfile | undefined {
  const s = [...profiles].sort((a, b) => a.stepMs / a.steps - b.stepMs / b.steps);
  return s[(s.length - 1) >> 1];
}

/**
 * Each peer's fastest configuration for one model and batch: of its rows (PyTorch and scikit-learn have one per
 * thread count), the one with the most samples/s. The ×peer columns compare against it, so that lockstep is not
 * flattered by a peer's slow thread count.
 */
export function bestPeers(
  rows: readonly SummaryRow[],
  model: ModelName,
  batch: number,
): Partial<Record<Peer, SummaryRow>> {
  const best: Partial<Record<Peer, SummaryRow>> = {};
  for (const r of rows) {
    if (
      r.runner === 'lockstep' ||
      r.model !== model ||
      r.batch !== batch ||
      r.repeats === 0 ||
      !(r.samplesPerSecond > 0)
    )
      continue;
    const b = best[r.runner];
    if (!b || r.samplesPerSecond > b.samplesPerSecond) best[r.runner] = r;
  }
  return best;
}

/** Groups the records by (model, batch, runner, workers) and summarises each group. */
export function summarise(records: readonly CaseRecord[]): SummaryRow[] {
  const groups = new Map<string, CaseRecord[]>();
  for (const r of records) {
    const key = `${r.spec.model}|${r.spec.batch}|${r.spec.runner}|${r.spec.workers}|${r.spec.ddp ? 'ddp' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const group of groups.values()) {
    const { model, batch, runner, workers, ddp } = group[0].spec;
    const ok = group.map((g) => g.result).filter((r): r is CaseResult => r !== undefined && r.epochSeconds.length > 0);
    const errors = group.filter((g) => g.error).map((g) => g.error!);
    const perRepeat = ok.map((r) => median(r.epochSeconds));
    const seconds = median(perRepeat);
    const first = ok[0];
    // Peers score the test set in their first repeat only; JSON turns NaN into null.
    const scored = ok.find((r) => typeof r.testMetric === 'number' && Number.isFinite(r.testMetric)) ?? first;
    const profile = medianProfile(ok.flatMap((r) => r.profile ?? []));
    const timing = (k: 'computeMsPerStep' | 'reduceMsPerStep' | 'syncMsPerStep') =>
      ok[0]?.timing ? median(ok.map((r) => mean(r.timing!.map((t) => t[k])))) : undefined;
    rows.push({
      model,
      batch,
      runner,
      workers,
      ...(ddp ? { ddp } : {}),
      repeats: ok.length,
      secondsPerEpoch: seconds,
      minSeconds: Math.min(...perRepeat),
      maxSeconds: Math.max(...perRepeat),
      samplesPerSecond: first ? first.trainRows / seconds : NaN,
      computeMs: timing('computeMsPerStep'),
      reduceMs: timing('reduceMsPerStep'),
      syncMs: timing('syncMsPerStep'),
      gatedExtraMs: ok.some((r) => r.gatedEpochSeconds !== undefined)
        ? median(
            ok
              .filter((r) => r.gatedEpochSeconds !== undefined)
              .map((r) => ((r.gatedEpochSeconds! - median(r.epochSeconds)) * 1000) / r.stepsPerEpoch),
          )
        : undefined,
      firstEpochSeconds: ok.some((r) => r.firstEpochSeconds !== undefined)
        ? median(ok.flatMap((r) => r.firstEpochSeconds ?? []))
        : undefined,
      peakRssMiB: ok.length ? Math.max(...ok.map((r) => r.peakRssMiB)) : NaN,
      finalLoss: first?.finalLoss ?? NaN,
      testLoss: scored?.testLoss ?? NaN,
      testMetric: scored?.testMetric ?? NaN,
      trainedSteps: first?.trainedSteps ?? 0,
      trainRows: first?.trainRows ?? 0,
      stepsPerEpoch: first?.stepsPerEpoch ?? 0,
      extrapolatedFrom: ok.some((r) => r.extrapolated)
        ? median(ok.map((r) => r.stepsTimed / Math.max(1, r.epochSeconds.length)))
        : undefined,
      ratios: {},
      errors,
      note: first?.note ?? undefined,
      unsupported: group.map((g) => g.result?.unsupported).find(Boolean),
      phases: profile && phaseSplit(profile),
      loadAvg: median(group.map((g) => g.loadAvg)),
      ...matmulColumns(ok, seconds, workers),
      ...coldColumns(ok),
    });
  }
  // Speed-up against workers = 1, and ratios to each peer's fastest configuration of the same model and batch.
  for (const row of rows) {
    if (row.runner !== 'lockstep') continue;
    const one = rows.find(
      (r) =>
        r.model === row.model && r.batch === row.batch && r.runner === 'lockstep' && r.workers === 1 && r.repeats > 0,
    );
    if (one) {
      row.speedup = row.samplesPerSecond / one.samplesPerSecond;
      if (row.workers > 0) row.efficiency = row.speedup / row.workers;
    }
    const best = bestPeers(rows, row.model, row.batch);
    for (const peer of PEERS) {
      const p = best[peer];
      if (p) row.ratios[peer] = row.samplesPerSecond / p.samplesPerSecond;
    }
  }
  return rows.sort(
    (a, b) =>
      MODEL_NAMES.indexOf(a.model) - MODEL_NAMES.indexOf(b.model) ||
      a.batch - b.batch ||
      RUNNER_ORDER.indexOf(a.runner) - RUNNER_ORDER.indexOf(b.runner) ||
      a.workers - b.workers,
  );
}

/** The matmul-efficiency fields of a lockstep row (none for peers or results without a probe). */
function matmulColumns(ok: CaseResult[], seconds: number, workers: number): Partial<SummaryRow> {
  const probed = ok.filter((r) => r.matmulProbe && r.flopsPerSample);
  if (!probed.length) return {};
  const gflopPerEpoch = (probed[0].flopsPerSample! * probed[0].trainRows) / 1e9;
  const effectiveGflops = gflopPerEpoch / seconds / Math.max(1, workers);
  const probeGflops = median(probed.map((r) => r.matmulProbe!.gflops));
  const ceilings = probed.filter((r) => r.simdCeiling).map((r) => r.simdCeiling!.best);
  const ceilingGflops = ceilings.length ? median(ceilings) : undefined;
  return {
    gflopPerEpoch,
    effectiveGflops,
    probeGflops,
    matmulEfficiency: effectiveGflops / probeGflops,
    ceilingGflops,
  };
}

function coldColumns(ok: CaseResult[]): Partial<SummaryRow> {
  const cold = ok.flatMap((r) => r.cold ?? []);
  if (!cold.length) return {};
  return {
    coldFitToFirstStep: median(cold.map((c) => c.fitToFirstStep)),
    coldProcessToFirstEpoch: median(cold.map((c) => c.processToFirstEpochEnd)),
    coldExact: cold.every((c) => c.exact),
  };
}

/**
 * Per lockstep case: the step's effective rate against its matmuls' rate, and the cold start. Empty when no
 * row has them (older result files).
 */
export function matmulTable(rows: readonly SummaryRow[]): string[] {
  const mine = rows.filter((r) => r.runner === 'lockstep' && r.matmulEfficiency !== undefined);
  if (!mine.length) return [];
  const out = [
    `Matmul efficiency and cold start. GFLOP/epoch: the model's matmul and convolution FLOPs per epoch (forward, weight gradients, input gradients; bench/flops.ts), convolutions counted as direct ones; ` +
      `direct-equivalent GFLOPS: that / s per epoch, per worker (Winograd's convolutions do fewer multiplications, so this can pass the matmuls' rate); matmul GFLOPS: the same step's matmuls and direct convolutions timed alone on XNNPACK at a micro-shard's rows, in the same processes after their timed epochs (bench/matmul-probe.ts); ` +
      `efficiency = direct-equivalent / matmul (1.0: the step is nothing but its matmuls, done directly); SIMD ceiling: a 4x8 register-blocked multiply-add loop in WebAssembly SIMD without FMA, one thread, best round (bench/simd-ceiling.ts), and the direct-equivalent rate as a share of it. Cold start (each repeat is a fresh process, medians): fit() called → first step done, and process start → end of the first epoch over all training rows (data loading included).`,
    '',
    '| batch | workers | s/epoch | GFLOP/epoch | direct-equivalent GFLOPS per worker | matmul GFLOPS | matmul efficiency | SIMD ceiling GFLOPS | of ceiling | fit → 1st step s | process start → 1st epoch end s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of mine) {
    const toEpoch =
      r.coldProcessToFirstEpoch === undefined ? '—' : `${r.coldExact ? '' : '≈ '}${sig(r.coldProcessToFirstEpoch)}`;
    out.push(
      `| ${[r.batch, workersLabel(r), sig(r.secondsPerEpoch), sig(r.gflopPerEpoch!), sig(r.effectiveGflops!), sig(r.probeGflops!), sig(r.matmulEfficiency!, 2), r.ceilingGflops === undefined ? '—' : sig(r.ceilingGflops), r.ceilingGflops === undefined ? '—' : pct(r.effectiveGflops! / r.ceilingGflops), r.coldFitToFirstStep === undefined ? '—' : sig(r.coldFitToFirstStep), toEpoch].join(' | ')} |`,
    );
  }
  if (mine.some((r) => r.coldExact === false))
    out.push(
      '',
      '≈: the warm-up covers only part of an epoch; its end is projected at the pace of its steps after the first.',
    );
  out.push('');
  return out;
}

/** For each (model, batch): do all lockstep runs (every worker count, every repeat) end on the same loss bits? */
export function determinism(
  records: readonly CaseRecord[],
  model: ModelName,
  batch: number,
): { runs: number; identical: boolean; losses: number[] } {
  const results = records
    .filter((r) => r.spec.runner === 'lockstep' && r.spec.model === model && r.spec.batch === batch && r.result)
    .map((r) => r.result!);
  const losses = [...new Set(results.map((r) => r.finalLoss))];
  const tests = new Set(results.map((r) => r.testLoss));
  return { runs: results.length, identical: losses.length <= 1 && tests.size <= 1, losses };
}

// ---------- formatting ----------

const sig = (v: number, digits = 3) =>
  Number.isFinite(v) ? new Intl.NumberFormat('en-US', { maximumSignificantDigits: digits }).format(v) : '—';
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
const times = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${Math.round(v * 100)}%`);
const ms = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1);

const OPTIMIZER_LABEL = { rmsprop: 'RMSprop', adam: 'Adam' } as const;

export function formatMetric(metric: 'accuracy' | 'mae', v: number): string {
  if (!Number.isFinite(v)) return '—';
  return metric === 'accuracy' ? `${(v * 100).toFixed(2)}%` : sig(v, 4);
}

function workersLabel(row: SummaryRow): string {
  if (row.runner === 'lockstep') return row.workers === 0 ? '0 (in-process)' : String(row.workers);
  if (row.ddp) return `DDP ${row.workers} processes × 1 thread`;
  return `${row.workers} thread${row.workers === 1 ? '' : 's'}`;
}

export interface ReportMeta {
  date: string;
  /** The file stamp shared by the JSON, Markdown and SVG files. */
  stamp: string;
  command: string;
  settings: Record<string, unknown>;
  machine: Record<string, unknown>;
  notes: string[];
  wallSeconds: number;
}

/** The Markdown report: machine, settings, then one section per model with its table and chart. */
export function markdown(
  meta: ReportMeta,
  rows: readonly SummaryRow[],
  records: readonly CaseRecord[],
  svgFile: (model: ModelName) => string,
): string {
  const m = meta.machine;
  const out: string[] = [];
  out.push(`# lockstep benchmark, ${meta.date}`, '');
  out.push(`\`${meta.command}\` (${fmtDuration(meta.wallSeconds)} in all)`, '');
  out.push(
    `- Machine: ${m.cpuModel}, ${m.cores} cores (availableParallelism ${m.availableParallelism}), ${m.totalMemGiB} GiB, ${m.platform} ${m.arch}; Node ${m.node}`,
  );
  out.push(
    `- Backend: ${describeBackend(m.backend)}; load average at start ${sig(Number(m.loadAvgStart), 2)}, at end ${sig(Number(m.loadAvgEnd), 2)}`,
  );
  out.push(
    `- Settings: ${Object.entries(meta.settings)
      .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join('; ')}`,
  );
  for (const n of meta.notes) out.push(`- ${n}`);
  out.push('');
  out.push(
    's/epoch is the median over repeats (each repeat: the median of its timed epochs, after a warm-up); ' +
      "1st epoch is lockstep's first epoch after its pool started (wasm start-up and V8 still compiling; from the warm-up, scaled to a full epoch); samples/s = training rows / s/epoch; " +
      "speed-up and efficiency are against lockstep with 1 worker; compute / reduce / sync are lockstep's ms per step (from `history.timing`); " +
      "peak RSS is the case process's maxRSS; ×peer = lockstep samples/s ÷ the peer's samples/s in its fastest configuration in this run " +
      '(>1: lockstep faster; for scikit-learn the fastest of its thread counts, for PyTorch the fastest of its thread counts and DistributedDataParallel, named under each table). ' +
      'Final loss is the training loss of the last timed epoch, test columns are after all the training the case did.',
    '',
  );
  const models = [...new Set(rows.map((r) => r.model))];
  for (const model of models) {
    const spec = MODELS[model];
    const mine = rows.filter((r) => r.model === model);
    const metricName = spec.metric === 'accuracy' ? 'test acc' : 'test MAE';
    const trainRows = mine.find((r) => r.trainRows)?.trainRows ?? 0;
    out.push(`## ${spec.title}`, '');
    out.push(`${int(trainRows)} training rows; loss ${spec.loss}, ${OPTIMIZER_LABEL[spec.optimizer]}.`, '');
    out.push(`![samples/s against workers](${svgFile(model)})`, '');
    const peersPresent = PEERS.filter((p) => mine.some((r) => r.runner === p));
    const header = [
      'batch',
      'runner',
      'workers',
      's/epoch',
      '1st epoch',
      'samples/s',
      'speed-up',
      'efficiency',
      'compute / reduce / sync ms',
      'peak RSS MiB',
      'final loss',
      metricName,
      ...peersPresent.map((p) => `×${RUNNER_LABEL[p]}`),
    ];
    out.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 3 ? ' --- ' : ' ---: ')).join('|')}|`);
    const footnotes = new Set<string>();
    for (const r of mine) {
      let seconds = r.repeats ? sig(r.secondsPerEpoch) : r.unsupported ? 'cannot train' : 'failed';
      if (r.unsupported) footnotes.add(`${RUNNER_LABEL[r.runner]}: ${r.unsupported}.`);
      if (r.extrapolatedFrom !== undefined) {
        seconds += ' †';
        footnotes.add(
          `† ${RUNNER_LABEL[r.runner]}, batch ${r.batch}: s/epoch extrapolated to a whole epoch (${int(r.stepsPerEpoch)} steps) from about ${int(r.extrapolatedFrom)} timed step${Math.round(r.extrapolatedFrom) === 1 ? '' : 's'}; ` +
            `its loss and test columns reflect only the ${int(r.trainedSteps)} steps it trained.`,
        );
      }
      if (r.note) footnotes.add(`${RUNNER_LABEL[r.runner]}: ${r.note}.`);
      for (const e of r.errors)
        footnotes.add(`${RUNNER_LABEL[r.runner]}, batch ${r.batch}, ${workersLabel(r)}: failed: ${e.split('\n')[0]}`);
      const split = r.runner === 'lockstep' ? `${ms(r.computeMs)} / ${ms(r.reduceMs)} / ${ms(r.syncMs)}` : '';
      out.push(
        `| ${[
          r.batch,
          r.runner === 'lockstep' ? '**lockstep**' : RUNNER_LABEL[r.runner],
          workersLabel(r),
          seconds,
          r.firstEpochSeconds === undefined ? '' : sig(r.firstEpochSeconds),
          int(r.samplesPerSecond),
          r.runner === 'lockstep' ? times(r.speedup) : '',
          r.runner === 'lockstep' ? pct(r.efficiency) : '',
          split,
          int(r.peakRssMiB),
          sig(r.finalLoss, 4),
          formatMetric(spec.metric, r.testMetric),
          ...peersPresent.map((p) => (r.runner === 'lockstep' ? times(r.ratios[p]) : '')),
        ].join(' | ')} |`,
      );
    }
    out.push('');
    for (const batch of [...new Set(mine.map((r) => r.batch))]) {
      const d = determinism(records, model, batch);
      if (d.runs > 1) {
        out.push(
          d.identical
            ? `- batch ${batch}: the ${d.runs} lockstep runs (all worker counts and repeats) ended on bit-identical losses.`
            : `- batch ${batch}: **lockstep runs differ** across worker counts or repeats (final losses ${d.losses.map((l) => sig(l, 8)).join(', ')}).`,
        );
      }
    }
    for (const batch of [...new Set(mine.map((r) => r.batch))]) out.push(...bestPeerLine(rows, model, batch));
    if (spec.layers.some((l) => l.kind === 'conv2d'))
      out.push('- scikit-learn is not run: it has no convolutional layers.');
    const gated = mine.filter((r) => r.gatedExtraMs !== undefined);
    if (gated.length) {
      out.push(
        `- Step-exact path (a batch callback registered; the workers wait at every step boundary): ` +
          `${gated.map((r) => `batch ${r.batch}, ${workersLabel(r)}: ${r.gatedExtraMs! >= 0 ? '+' : ''}${ms(r.gatedExtraMs)} ms per step`).join('; ')} (one epoch against the timed ones).`,
      );
    }
    for (const f of footnotes) out.push(`- ${f}`);
    out.push(...repeatLines(records, model));
    out.push('');
    out.push(...matmulTable(mine));
    out.push(...phaseTable(mine));
  }
  return out.join('\n');
}

/** Which configuration of each peer the ×peer columns of one (model, batch) compare against; no line without peers. */
export function bestPeerLine(rows: readonly SummaryRow[], model: ModelName, batch: number): string[] {
  const best = bestPeers(rows, model, batch);
  const parts = PEERS.filter((p) => best[p]).map(
    (p) => `${RUNNER_LABEL[p]} at ${workersLabel(best[p]!)} (${sig(best[p]!.secondsPerEpoch)} s/epoch)`,
  );
  return parts.length
    ? [
        `- batch ${batch}: ×peer columns are against each peer's fastest configuration in this run: ${parts.join(', ')}.`,
      ]
    : [];
}

/**
 * The convnet's step by phase, one line per lockstep case (each profiled the same step in its own process
 * after its timed epochs; the lines differ only by the machine's noise). Empty when no row was profiled.
 */
export function phaseTable(rows: readonly SummaryRow[]): string[] {
  const profiled = rows.filter((r) => r.phases);
  if (profiled.length === 0) return [];
  const p0 = profiled[0].phases!;
  const cell = (v: number, of: number) => `${ms(v)} (${pct(v / of)})`;
  const out = [
    `Where a lockstep step goes: one ${p0.rows}-row gradient step (a worker's share of a batch of ${2 * p0.rows} on 2 workers) on one thread, random weights, ` +
      `${p0.steps} steps profiled after a warm-up, run by each lockstep case after its timed epochs (ops/profile.ts). ms per step (% of the step); ` +
      "the conv columns are their matmuls and direct convolutions; transforms = Winograd's tile and kernel transforms of all three passes; pooling = max pooling forward and backward; rest = everything else (bias and activation gradients, Dense, dropout, loss, weight load).",
    '',
    '| batch | lockstep case | conv forward | input gradient | filter gradient | transforms | pooling | rest | step ms |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of profiled) {
    const p = r.phases!;
    const label = r.workers === 0 ? 'in process' : `${r.workers} worker${r.workers > 1 ? 's' : ''}`;
    out.push(
      `| ${r.batch} | ${label} | ${[p.convForward, p.inputGradient, p.filterGradient, p.transforms ?? 0, p.pooling, p.rest].map((v) => cell(v, p.stepMs)).join(' | ')} | ${ms(p.stepMs)} |`,
    );
  }
  out.push('');
  return out;
}

/**
 * lockstep's repeats one by one: s/epoch, sync ms per step, and a mark on those that ran while the probe saw
 * a slow vCPU (its slowest vCPU SLOW_PROBE times the run's fastest probe or more). Empty without probes.
 */
export function repeatLines(records: readonly CaseRecord[], model: ModelName): string[] {
  const slowest = (r: CaseRecord) => (r.probe?.length ? Math.max(...r.probe) : NaN);
  const probed = records.filter((r) => Number.isFinite(slowest(r)));
  if (probed.length === 0) return [];
  const fastest = Math.min(...probed.map(slowest));
  const mine = records.filter((r) => r.spec.model === model && r.spec.runner === 'lockstep' && r.result);
  const out: string[] = [];
  for (const batch of [...new Set(mine.map((r) => r.spec.batch))]) {
    for (const workers of [...new Set(mine.filter((r) => r.spec.batch === batch).map((r) => r.spec.workers))]) {
      const runs = mine.filter((r) => r.spec.batch === batch && r.spec.workers === workers);
      const cells = runs.map((r) => {
        const t = r.result!.timing ?? [];
        const sync = median(t.map((e) => e.syncMsPerStep));
        const slow = slowest(r) >= SLOW_PROBE * fastest ? '*' : '';
        return `${sig(median(r.result!.epochSeconds))}${workers >= 2 && Number.isFinite(sync) ? ` (${ms(sync)})` : ''}${slow}`;
      });
      out.push(
        `- batch ${batch}, ${workers === 0 ? 'in process' : `${workers} worker${workers > 1 ? 's' : ''}`}, per repeat: ${cells.join(', ')}`,
      );
    }
  }
  out.push(
    `- Per repeat: s/epoch (sync ms per step, with 2+ workers); * = the probe just before it found a vCPU at least ${Math.round((SLOW_PROBE - 1) * 100)}% slower ` +
      `than the run's fastest probe (${sig(fastest, 3)} ms per chunk): the VM was in a slow phase (see bench/probe.ts).`,
  );
  return out;
}

function describeBackend(b: unknown): string {
  if (!b || typeof b !== 'object') return 'unknown';
  const o = b as Record<string, unknown>;
  return `tfjs-core ${o.tfjsVersion} ${o.backend}${o.simd ? ' (SIMD)' : ''}${o.threads ? ' (threads)' : ''}`;
}

export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

// ---------- SVG ----------

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const MARKERS: Record<Exclude<Runner, 'lockstep'>, string> = {
  'tfjs-wasm': 'square',
  'tfjs-cpu': 'triangle',
  torch: 'diamond',
  sklearn: 'cross',
};

/** Round axis maximum and tick step for a linear axis from 0 to `max`. */
export function niceTicks(max: number, count = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  return { max: Math.ceil(max / step) * step, step };
}

function linearTicks(max: number): number[] {
  const { max: top, step } = niceTicks(max);
  return Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
}

/**
 * Ticks for a log axis covering [lo, hi]: 1, 2, 5 times powers of ten, from the one at or below lo to the one at or
 * above hi.
 */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 2, 5]) out.push(m * 10 ** e);
  const first = out.filter((t) => t <= lo).at(-1) ?? out[0];
  const last = out.find((t) => t >= hi) ?? out[out.length - 1];
  return out.filter((t) => t >= first && t <= last).map((t) => Number(t.toPrecision(1)));
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function marker(shape: string, x: number, y: number, color: string): string {
  const r = 5;
  switch (shape) {
    case 'square':
      return `<rect x="${f(x - r)}" y="${f(y - r)}" width="${2 * r}" height="${2 * r}" fill="none" stroke="${color}" stroke-width="1.8"/>`;
    case 'triangle':
      return `<path d="M${f(x)} ${f(y - r - 1)} L${f(x + r + 1)} ${f(y + r)} L${f(x - r - 1)} ${f(y + r)} Z" fill="none" stroke="${color}" stroke-width="1.8"/>`;
    case 'diamond':
      return `<path d="M${f(x)} ${f(y - r - 1)} L${f(x + r + 1)} ${f(y)} L${f(x)} ${f(y + r + 1)} L${f(x - r - 1)} ${f(y)} Z" fill="none" stroke="${color}" stroke-width="1.8"/>`;
    case 'cross':
      return `<path d="M${f(x - r)} ${f(y - r)} L${f(x + r)} ${f(y + r)} M${f(x + r)} ${f(y - r)} L${f(x - r)} ${f(y + r)}" stroke="${color}" stroke-width="1.8"/>`;
    default:
      return `<circle cx="${f(x)}" cy="${f(y)}" r="4" fill="${color}"/>`;
  }
}

const f = (v: number) => (Math.round(v * 10) / 10).toString();

/**
 * Samples/s against workers for one model: a solid line per batch size for lockstep, and hollow markers for
 * the peers at their thread counts (same colour as their batch size), PyTorch's joined by a dashed line.
 */
export function chartSvg(model: ModelName, rows: readonly SummaryRow[]): string {
  const mine = rows.filter((r) => r.model === model && r.repeats > 0 && Number.isFinite(r.samplesPerSecond));
  const W = 760,
    H = 440,
    left = 80,
    right = 200,
    top = 50,
    bottom = 60;
  const plotW = W - left - right,
    plotH = H - top - bottom;
  const xs = [...new Set(mine.map((r) => r.workers))].sort((a, b) => a - b);
  if (xs.length === 0) xs.push(0, 1);
  const xMin = xs[0],
    xMax = Math.max(xs[xs.length - 1], xMin + 1);
  const X = (w: number) => left + ((w - xMin) / (xMax - xMin)) * plotW;
  // Linear from 0, unless the values span more than 20x (the peers can be far slower or faster): then log10.
  const values = mine.map((r) => r.samplesPerSecond).filter((v) => v > 0);
  const lo = Math.min(...values, Infinity),
    hi = Math.max(...values, 0);
  const log = values.length > 0 && hi / lo > 20;
  const ticks = log ? logTicks(lo, hi) : linearTicks(hi * 1.05);
  const yMin = log ? ticks[0] : 0,
    yMax = ticks[ticks.length - 1];
  const Y = log
    ? (v: number) => top + plotH - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH
    : (v: number) => top + plotH - (v / yMax) * plotH;
  const batches = [...new Set(mine.map((r) => r.batch))].sort((a, b) => a - b);
  const color = (batch: number) => PALETTE[batches.indexOf(batch) % PALETTE.length];
  const s: string[] = [];
  s.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  s.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  s.push(
    `<text x="${W / 2 - right / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(MODELS[model].title)}</text>`,
  );
  // Grid and axes.
  for (const v of ticks) {
    s.push(`<line x1="${left}" x2="${left + plotW}" y1="${f(Y(v))}" y2="${f(Y(v))}" stroke="#e5e5e5"/>`);
    s.push(`<text x="${left - 8}" y="${f(Y(v) + 4)}" text-anchor="end">${escapeXml(v.toLocaleString('en-US'))}</text>`);
  }
  for (let w = xMin; w <= xMax; w++) {
    s.push(`<line x1="${f(X(w))}" x2="${f(X(w))}" y1="${top + plotH}" y2="${top + plotH + 5}" stroke="#333"/>`);
    s.push(
      `<text x="${f(X(w))}" y="${top + plotH + 20}" text-anchor="middle">${w === 0 ? '0 (in-process)' : w}</text>`,
    );
  }
  s.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  s.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  s.push(
    `<text x="${left + plotW / 2}" y="${H - 16}" text-anchor="middle">workers (lockstep) / threads (peers)</text>`,
  );
  s.push(
    `<text transform="translate(20 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">samples / s${log ? ' (log scale)' : ''}</text>`,
  );
  // lockstep: one line per batch size.
  for (const batch of batches) {
    const pts = mine.filter((r) => r.runner === 'lockstep' && r.batch === batch).sort((a, b) => a.workers - b.workers);
    if (pts.length > 1)
      s.push(
        `<polyline fill="none" stroke="${color(batch)}" stroke-width="2.2" points="${pts.map((p) => `${f(X(p.workers))},${f(Y(p.samplesPerSecond))}`).join(' ')}"/>`,
      );
    for (const p of pts) s.push(marker('dot', X(p.workers), Y(p.samplesPerSecond), color(batch)));
    // Peers at their thread counts.
    for (const peer of PEERS) {
      const pp = mine.filter((r) => r.runner === peer && r.batch === batch).sort((a, b) => a.workers - b.workers);
      if (peer === 'torch' && pp.length > 1) {
        s.push(
          `<polyline fill="none" stroke="${color(batch)}" stroke-width="1.2" stroke-dasharray="5 4" points="${pp.map((p) => `${f(X(p.workers))},${f(Y(p.samplesPerSecond))}`).join(' ')}"/>`,
        );
      }
      for (const p of pp) s.push(marker(MARKERS[peer], X(p.workers), Y(p.samplesPerSecond), color(batch)));
    }
  }
  // Legend: colours are batch sizes, shapes are runners.
  let ly = top + 4;
  const lx = W - right + 20;
  for (const batch of batches) {
    s.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${color(batch)}" stroke-width="2.2"/>`,
      marker('dot', lx + 12, ly, color(batch)),
    );
    s.push(`<text x="${lx + 32}" y="${ly + 4}">lockstep, batch ${batch}</text>`);
    ly += 20;
  }
  ly += 6;
  for (const peer of PEERS.filter((p) => mine.some((r) => r.runner === p))) {
    s.push(marker(MARKERS[peer], lx + 12, ly, '#555'));
    s.push(`<text x="${lx + 32}" y="${ly + 4}">${escapeXml(RUNNER_LABEL[peer])}</text>`);
    ly += 20;
  }
  s.push('</svg>');
  return s.join('\n') + '\n';
}
