/** The benchmark's pure helpers: option parsing, case lists, summaries, Markdown and SVG. No timing assertions. */
import { describe, expect, it } from 'vitest';
import type { CaseResult, CaseSpec, Runner } from '../bench/case.js';
import { CONVNET_PLAN, MODELS, layerShapes, paramCount } from '../bench/models.js';
import { casesFor, parseOptions, resultsJson } from '../bench/run.js';
import {
  bestPeerLine,
  bestPeers,
  chartSvg,
  determinism,
  escapeXml,
  logTicks,
  markdown,
  median,
  niceTicks,
  phaseSplit,
  phaseTable,
  matmulTable,
  repeatLines,
  summarise,
  type CaseRecord,
} from '../bench/report.js';
import type { StepProfile } from '../bench/profile-step.js';
import { PEER_SETTINGS, peerEnv } from '../bench/peers-python.js';

const noPython = { python: 'python3', notes: [] };

function record(
  runner: Runner,
  workers: number,
  seconds: number[],
  extra: Partial<CaseResult> = {},
  repeat = 0,
  model: CaseSpec['model'] = 'mlp',
): CaseRecord {
  const spec: CaseSpec = {
    runner,
    model,
    batch: 128,
    workers,
    epochs: seconds.length,
    warmupSteps: 2,
    maxSteps: 0,
    maxSeconds: 0,
    seed: 1,
    evaluate: true,
  };
  const timing = seconds.map((s) => ({
    seconds: s,
    steps: 469,
    workers,
    computeMsPerStep: 5,
    reduceMsPerStep: 1,
    syncMsPerStep: 0.5,
  }));
  const result: CaseResult = {
    spec,
    epochSeconds: seconds,
    stepsPerEpoch: 469,
    stepsTimed: 469 * seconds.length,
    extrapolated: false,
    trainRows: 60000,
    timing: runner === 'lockstep' ? timing : undefined,
    finalLoss: 0.25,
    testLoss: 0.12,
    testMetric: 0.96,
    trainedSteps: 500,
    peakRssMiB: 400,
    wallSeconds: 10,
    ...extra,
  };
  return { spec, repeat, result, loadAvg: 1 };
}

describe('bench options', () => {
  it('has full defaults: every model, workers 0..cores, three batch sizes, peers on', () => {
    const o = parseOptions([], 4);
    expect(o.models).toEqual(['mlp', 'logreg', 'hitters', 'wide', 'convnet']);
    expect(o.workers).toEqual([0, 1, 2, 3, 4]);
    expect(o.batches).toEqual([32, 128, 512]);
    expect(o.peers).toBe(true);
    expect(o.repeats).toBe(3);
    expect(o.rows.mlp).toBeUndefined();
    // Per-model warm-up: 2,500 steps of about 2 ms for the MLPs, 150 of 50-100 ms for the convnet.
    expect(o.warmupSteps).toMatchObject({ mlp: 2500, convnet: 150 });
    expect(o.epochs.convnet).toBe(1);
    expect(parseOptions(['--warmup', '40'], 2).warmupSteps).toMatchObject({ mlp: 40, convnet: 40 });
  });

  it('--quick trims batches, rows, epochs and repeats', () => {
    const o = parseOptions(['--quick'], 2);
    expect(o.batches).toEqual([128]);
    expect(o.repeats).toBe(1);
    expect(o.epochs.mlp).toBe(1);
    expect(o.rows.mlp).toBe(6000);
    expect(o.testRows).toBe(2000);
    expect(o.rows.convnet).toBe(3000);
    expect(o.warmupSteps.convnet).toBe(3);
  });

  it('accepts repeated and comma-separated models and lists, and --no-peers', () => {
    const o = parseOptions(
      ['--model', 'mlp,wide', '--model', 'hitters', '--workers', '0,2', '--batch', '64', '--epochs', '5', '--no-peers'],
      2,
    );
    expect(o.models).toEqual(['mlp', 'wide', 'hitters']);
    expect(o.workers).toEqual([0, 2]);
    expect(o.batches).toEqual([64]);
    expect(o.epochs.hitters).toBe(5);
    expect(o.peers).toBe(false);
  });

  it('rejects unknown models, bad lists and unknown flags', () => {
    expect(() => parseOptions(['--model', 'resnet'])).toThrow(/unknown model 'resnet'/);
    expect(() => parseOptions(['--workers', '1,x'])).toThrow(/--workers/);
    expect(() => parseOptions(['--batch', '0'])).toThrow(/--batch/);
    expect(() => parseOptions(['--frobnicate'])).toThrow();
  });
});

describe('bench cases', () => {
  it('lists lockstep per worker count, then the tfjs peers; python peers per thread count when present', () => {
    const o = parseOptions(['--workers', '0,1,2'], 2);
    const plain = casesFor(o, 'mlp', 128, noPython);
    expect(plain.map((c) => `${c.runner}:${c.workers}`)).toEqual([
      'lockstep:0',
      'lockstep:1',
      'lockstep:2',
      'tfjs-wasm:1',
      'tfjs-cpu:1',
    ]);
    const withPython = casesFor(o, 'mlp', 128, { ...noPython, numpy: '2', torch: '2', sklearn: '1' });
    expect(withPython.filter((c) => c.runner === 'torch').map((c) => `${c.workers}${c.ddp ? ' ddp' : ''}`)).toEqual([
      '1',
      '2',
      '2 ddp',
    ]);
    expect(withPython.filter((c) => c.runner === 'sklearn').map((c) => c.workers)).toEqual([1, 2]);
    // Peers score the test set in the first repeat only; lockstep always does.
    expect(
      casesFor(o, 'mlp', 128, noPython, 1)
        .filter((c) => c.evaluate)
        .map((c) => c.runner),
    ).toEqual(['lockstep', 'lockstep', 'lockstep']);
    expect(casesFor(parseOptions(['--no-peers'], 2), 'mlp', 128, noPython)).toHaveLength(3);
  });

  it('bounds tfjs-layers on the convnet to a few steps without scoring, and runs no scikit-learn for it', () => {
    const o = parseOptions(['--workers', '1,2'], 2);
    const cases = casesFor(o, 'convnet', 128, { ...noPython, numpy: '2', torch: '2', sklearn: '1' });
    expect(cases.map((c) => `${c.runner}:${c.workers}`)).toEqual([
      'lockstep:1',
      'lockstep:2',
      'tfjs-wasm:1',
      'tfjs-cpu:1',
      'torch:1',
      'torch:2',
      'torch:2',
    ]);
    expect(cases.filter((c) => c.runner === 'torch').map((c) => c.ddp ?? false)).toEqual([false, false, true]);
    const cpu = cases.find((c) => c.runner === 'tfjs-cpu')!;
    expect(cpu).toMatchObject({ maxSteps: 3, warmupSteps: 1, evaluate: false });
    expect(cases.find((c) => c.runner === 'lockstep')!.warmupSteps).toBe(150);
    // --peer-steps below 3 still bounds it; the MLP's tfjs peers keep the general bound.
    expect(
      casesFor(parseOptions(['--peer-steps', '2'], 2), 'convnet', 128, noPython).find((c) => c.runner === 'tfjs-cpu')!
        .maxSteps,
    ).toBe(2);
    expect(casesFor(o, 'mlp', 128, noPython).find((c) => c.runner === 'tfjs-cpu')).toMatchObject({
      maxSteps: 100,
      warmupSteps: 5,
      evaluate: true,
    });
  });

  it('writes the results JSON with one case record per line', () => {
    const records = [record('lockstep', 0, [5]), record('lockstep', 1, [4])];
    const text = resultsJson({ date: 'd', summary: [{ a: 1 }] }, records);
    expect(JSON.parse(text)).toMatchObject({
      date: 'd',
      summary: [{ a: 1 }],
      cases: [{ spec: records[0].spec }, { spec: records[1].spec }],
    });
    expect(JSON.parse(text).cases[0].result.finalLoss).toBe(0.25);
    expect(JSON.parse(text).cases[0].result.timing).toEqual({
      seconds: [5],
      steps: [469],
      workers: [0],
      computeMsPerStep: [5],
      reduceMsPerStep: [1],
      syncMsPerStep: [0.5],
    });
    expect(text.split('\n').filter((l) => l.startsWith('    {"spec"'))).toHaveLength(2);
    // A field on a fit's first epoch only (firstStepSeconds) is null on the others.
    const first = record('lockstep', 2, [3, 2]);
    first.result!.timing![0].firstStepSeconds = 0.5;
    expect(JSON.parse(resultsJson({}, [first])).cases[0].result.timing.firstStepSeconds).toEqual([0.5, null]);
  });

  it('counts parameters of the model specs', () => {
    expect(paramCount(MODELS.mlp)).toBe(784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
    expect(paramCount(MODELS.logreg)).toBe(7850);
    expect(paramCount(MODELS.hitters)).toBe(19 * 50 + 50 + 51);
    // Keras's summary of the "Simple MNIST convnet".
    expect(paramCount(MODELS.convnet)).toBe(34_826);
    expect(layerShapes(MODELS.convnet)).toEqual([
      [26, 26, 32],
      [13, 13, 32],
      [11, 11, 64],
      [5, 5, 64],
      [1600],
      [1600],
      [10],
    ]);
  });

  it('derives the convnet plan from its spec, with Keras default names', () => {
    expect(CONVNET_PLAN.inputShape).toEqual([28, 28, 1]);
    expect(CONVNET_PLAN.layers).toEqual([
      { className: 'Conv2D', name: 'conv2d', filters: 32, kernelSize: [3, 3], activation: 'relu' },
      { className: 'MaxPooling2D', name: 'max_pooling2d', poolSize: [2, 2] },
      { className: 'Conv2D', name: 'conv2d_1', filters: 64, kernelSize: [3, 3], activation: 'relu' },
      { className: 'MaxPooling2D', name: 'max_pooling2d_1', poolSize: [2, 2] },
      { className: 'Flatten', name: 'flatten' },
      { className: 'Dropout', name: 'dropout', rate: 0.5 },
      { className: 'Dense', name: 'dense', units: 10, activation: 'softmax' },
    ]);
  });
});

describe('bench report', () => {
  it('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('niceTicks rounds the axis up to a round step', () => {
    expect(niceTicks(23_456)).toEqual({ max: 25_000, step: 5000 });
    expect(niceTicks(0.9)).toEqual({ max: 1, step: 0.2 });
    expect(niceTicks(0)).toEqual({ max: 1, step: 0.2 });
    expect(logTicks(763, 402_000)).toEqual([500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000]);
    expect(logTicks(0.5, 3)).toEqual([0.5, 1, 2, 5]);
  });

  it('summarises repeats by their median and derives speed-up, efficiency and peer ratios', () => {
    const records = [
      record('lockstep', 1, [4, 4.2]),
      record('lockstep', 1, [4.4], {}, 1),
      record('lockstep', 1, [3.9], {}, 2),
      record('lockstep', 2, [2.5]),
      record('tfjs-wasm', 1, [20], { extrapolated: true, stepsTimed: 100 }),
      { ...record('tfjs-cpu', 1, [1]), result: undefined, error: 'exited with 1' },
    ];
    const rows = summarise(records);
    const one = rows.find((r) => r.runner === 'lockstep' && r.workers === 1)!;
    expect(one.repeats).toBe(3);
    expect(one.secondsPerEpoch).toBe(4.1); // repeats' medians 4.1, 4.4, 3.9
    expect(one.samplesPerSecond).toBeCloseTo(60000 / 4.1);
    expect(one.speedup).toBe(1);
    const two = rows.find((r) => r.runner === 'lockstep' && r.workers === 2)!;
    expect(two.speedup).toBeCloseTo(4.1 / 2.5);
    expect(two.efficiency).toBeCloseTo(4.1 / 2.5 / 2);
    expect(two.computeMs).toBe(5);
    expect(two.ratios['tfjs-wasm']).toBeCloseTo(20 / 2.5);
    expect(two.phases).toBeUndefined();
    expect(two.ratios['tfjs-cpu']).toBeUndefined();
    const wasm = rows.find((r) => r.runner === 'tfjs-wasm')!;
    expect(wasm.extrapolatedFrom).toBe(100);
    expect(rows.find((r) => r.runner === 'tfjs-cpu')!.errors).toEqual(['exited with 1']);
    expect(determinism(records, 'mlp', 128)).toMatchObject({ runs: 4, identical: true });
    expect(determinism([...records, record('lockstep', 0, [5], { finalLoss: 0.26 })], 'mlp', 128).identical).toBe(
      false,
    );
  });

  it('writes a Markdown table and a well-formed SVG', () => {
    const records = [
      record('lockstep', 0, [5]),
      record('lockstep', 1, [4]),
      record('lockstep', 2, [2.5], { firstEpochSeconds: 3.5 }),
      record('tfjs-wasm', 1, [20], { extrapolated: true, stepsTimed: 100 }),
    ];
    const rows = summarise(records);
    expect(rows.find((r) => r.runner === 'lockstep' && r.workers === 2)!.firstEpochSeconds).toBe(3.5);
    expect(rows.find((r) => r.runner === 'lockstep' && r.workers === 1)!.firstEpochSeconds).toBeUndefined();
    const md = markdown(
      {
        date: '2025-01-01T00:00:00Z',
        stamp: 's',
        command: 'npm run bench',
        settings: { repeats: 1 },
        machine: { cpuModel: 'cpu', cores: 2 },
        notes: ['PyTorch skipped'],
        wallSeconds: 42,
      },
      rows,
      records,
      (m) => `s-${m}.svg`,
    );
    expect(md).toContain('| batch | runner | workers | s/epoch | 1st epoch | samples/s | speed-up | efficiency |');
    expect(md).toContain('| 128 | **lockstep** | 2 | 2.5 | 3.5 | 24,000 | 1.60× | 80% |');
    expect(md).toContain('| 128 | **lockstep** | 1 | 4 |  | 15,000 |');
    expect(md).toContain('20 †');
    expect(md).toContain('![samples/s against workers](s-mlp.svg)');
    expect(md).toContain('bit-identical');
    expect(md).toContain('- PyTorch skipped');
    const svg = chartSvg('mlp', rows);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('lockstep, batch 128');
    expect(svg).not.toMatch(/NaN|undefined/);
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });

  it('lists lockstep repeats one by one and marks those run while the probe saw a slow vCPU', () => {
    const probed = (r: CaseRecord, probe: number[]) => ({ ...r, probe });
    const records = [
      probed(record('lockstep', 1, [4, 4.2]), [0.92, 0.93]),
      probed(record('lockstep', 2, [2.5, 2.4], {}, 0), [0.92, 0.95]),
      probed(record('lockstep', 1, [4.1], {}, 1), [0.93, 0.94]),
      // One vCPU at 1.6 ms per chunk against the run's fastest 0.93: a slow phase.
      probed(record('lockstep', 2, [3.9], {}, 1), [1.6, 0.92]),
      probed(record('tfjs-wasm', 1, [20]), [3, 3]),
    ];
    const lines = repeatLines(records, 'mlp');
    expect(lines[0]).toBe('- batch 128, 1 worker, per repeat: 4.1, 4.1');
    expect(lines[1]).toBe('- batch 128, 2 workers, per repeat: 2.45 (0.50), 3.9 (0.50)*');
    expect(lines[2]).toMatch(
      /\* = the probe just before it found a vCPU at least 15% slower than the run's fastest probe \(0.93 ms per chunk\)/,
    );
    // Records from before the probe existed: no lines.
    expect(repeatLines([record('lockstep', 1, [4])], 'mlp')).toEqual([]);
  });

  it("compares every lockstep row with each peer's fastest configuration, and names it", () => {
    const records = [
      record('lockstep', 1, [4]),
      record('lockstep', 2, [2]),
      // PyTorch is faster on 1 thread than on 2: both lockstep rows compare with 1 thread.
      record('torch', 1, [3]),
      record('torch', 2, [9]),
      record('sklearn', 1, [12]),
      record('sklearn', 2, [8]),
      record('tfjs-cpu', 1, [40]),
    ];
    const rows = summarise(records);
    const best = bestPeers(rows, 'mlp', 128);
    expect(best.torch!.workers).toBe(1);
    expect(best.sklearn!.workers).toBe(2);
    const [one, two] = rows.filter((r) => r.runner === 'lockstep');
    expect(one.ratios.torch).toBeCloseTo(3 / 4);
    expect(two.ratios.torch).toBeCloseTo(3 / 2);
    expect(one.ratios.sklearn).toBeCloseTo(8 / 4);
    expect(two.ratios['tfjs-cpu']).toBeCloseTo(40 / 2);
    expect(bestPeerLine(rows, 'mlp', 128)).toEqual([
      "- batch 128: ×peer columns are against each peer's fastest configuration in this run: tfjs-layers cpu at 1 thread (40 s/epoch), PyTorch CPU at 1 thread (3 s/epoch), scikit-learn MLP at 2 threads (8 s/epoch).",
    ]);
    expect(
      bestPeerLine(
        rows.filter((r) => r.runner === 'lockstep'),
        'mlp',
        128,
      ),
    ).toEqual([]);
    // A failed peer configuration is never the best.
    const failed = summarise([
      ...records.filter((r) => r.spec.runner !== 'torch' || r.spec.workers !== 1),
      { ...record('torch', 1, [1]), result: undefined, error: 'killed' },
    ]);
    expect(bestPeers(failed, 'mlp', 128).torch!.workers).toBe(2);
  });

  it("counts PyTorch's DistributedDataParallel as its own configuration, and the best when fastest", () => {
    const ddp = (seconds: number): CaseRecord => {
      const r = record('torch', 2, [seconds]);
      return { ...r, spec: { ...r.spec, ddp: true }, result: { ...r.result!, spec: { ...r.spec, ddp: true } } };
    };
    const rows = summarise([record('lockstep', 2, [2]), record('torch', 1, [3]), record('torch', 2, [2.5]), ddp(1.5)]);
    expect(rows.filter((r) => r.runner === 'torch').map((r) => [r.workers, r.ddp ?? false, r.secondsPerEpoch])).toEqual(
      [
        [1, false, 3],
        [2, false, 2.5],
        [2, true, 1.5],
      ],
    );
    expect(bestPeers(rows, 'mlp', 128).torch!.ddp).toBe(true);
    expect(rows.find((r) => r.runner === 'lockstep')!.ratios.torch).toBeCloseTo(1.5 / 2);
    expect(bestPeerLine(rows, 'mlp', 128)[0]).toContain('PyTorch CPU at DDP 2 processes × 1 thread (1.5 s/epoch)');
  });

  it("runs the python peers with glibc's allocator tuned and OpenBLAS's core pins unset", () => {
    const env = peerEnv({ PATH: '/bin', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '512', MALLOC_TOP_PAD_: '1' });
    expect(env).toEqual({
      PATH: '/bin',
      MALLOC_MMAP_THRESHOLD_: '33554432',
      MALLOC_TRIM_THRESHOLD_: '4294967296',
      MALLOC_TOP_PAD_: '268435456',
    });
    expect(PEER_SETTINGS).toBe(
      'MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset',
    );
  });

  it('reports a peer that cannot train the model as a row and a note, not a failure', () => {
    const message =
      "tfjs-layers cannot train this model on its wasm backend: Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'";
    const records = [
      record('lockstep', 1, [4], {}, 0, 'convnet'),
      record('tfjs-wasm', 1, [], { unsupported: message, finalLoss: NaN, testMetric: NaN }, 0, 'convnet'),
      record('tfjs-cpu', 1, [900], { extrapolated: true, stepsTimed: 3 }, 0, 'convnet'),
    ];
    const rows = summarise(records);
    const wasm = rows.find((r) => r.runner === 'tfjs-wasm')!;
    expect(wasm).toMatchObject({ repeats: 0, unsupported: message, errors: [] });
    const lockstep = rows.find((r) => r.runner === 'lockstep')!;
    expect(lockstep.ratios['tfjs-wasm']).toBeUndefined();
    expect(lockstep.ratios['tfjs-cpu']).toBeCloseTo(900 / 4);
    const md = markdown(
      { date: 'd', stamp: 's', command: 'c', settings: {}, machine: {}, notes: [], wallSeconds: 1 },
      rows,
      records,
      (m) => `${m}.svg`,
    );
    expect(md).toContain('| 128 | tfjs-layers wasm | 1 thread | cannot train |');
    expect(md).toContain(`- tfjs-layers wasm: ${message}.`);
    expect(md).toContain('- scikit-learn is not run: it has no convolutional layers.');
    expect(md).toContain('loss sparse_categorical_crossentropy, Adam.');
    expect(md).not.toContain('failed');
    expect(chartSvg('convnet', rows)).not.toMatch(/NaN|undefined/);
  });

  it("splits a step profile into conv forward, input and filter gradients, Winograd's transforms, pooling and the rest", () => {
    const profile = (stepMs: number): StepProfile => ({
      rows: 64,
      warmupSteps: 50,
      steps: 100,
      stepMs,
      // 'Conv2D backward' holds both gradients and is not counted again.
      // The transforms are timed inside their conv phases and taken out of them.
      phaseMs: {
        'Conv2D forward': 1000,
        'Conv2D forward transforms': 100,
        'Conv2D backward': 2600,
        'Conv2D input gradient': 800,
        'Conv2D input gradient transforms': 200,
        'Conv2D filter gradient': 1500,
        'Conv2D filter gradient transforms': 300,
        'MaxPooling2D forward': 300,
        'MaxPooling2D backward': 200,
        'Dense forward': 50,
      },
    });
    expect(phaseSplit(profile(5000))).toEqual({
      rows: 64,
      steps: 100,
      stepMs: 50,
      convForward: 9,
      inputGradient: 6,
      filterGradient: 12,
      transforms: 6,
      pooling: 5,
      rest: 12,
    });
    // Each row takes the repeat with the median step time, whole (its parts add up).
    const records = [
      record('lockstep', 1, [4], { profile: profile(7000) }, 0, 'convnet'),
      record('lockstep', 1, [4], { profile: profile(5000) }, 1, 'convnet'),
      record('lockstep', 1, [4], { profile: profile(6000) }, 2, 'convnet'),
      record('lockstep', 2, [2], { profile: profile(5000) }, 0, 'convnet'),
    ];
    const rows = summarise(records);
    expect(rows[0].phases!.stepMs).toBe(60);
    expect(rows[0].phases!.rest).toBe(22);
    const table = phaseTable(rows);
    expect(table[0]).toMatch(/^Where a lockstep step goes: one 64-row gradient step .* 100 steps profiled/);
    expect(table).toContain(
      '| 128 | 1 worker | 9.00 (15%) | 6.00 (10%) | 12.0 (20%) | 6.00 (10%) | 5.00 (8%) | 22.0 (37%) | 60.0 |',
    );
    expect(table).toContain(
      '| 128 | 2 workers | 9.00 (18%) | 6.00 (12%) | 12.0 (24%) | 6.00 (12%) | 5.00 (10%) | 12.0 (24%) | 50.0 |',
    );
    expect(phaseTable(summarise([record('lockstep', 1, [4])]))).toEqual([]);
    const md = markdown(
      { date: 'd', stamp: 's', command: 'c', settings: {}, machine: {}, notes: [], wallSeconds: 1 },
      rows,
      records,
      (m) => `${m}.svg`,
    );
    expect(md).toContain(
      '| batch | lockstep case | conv forward | input gradient | filter gradient | transforms | pooling | rest | step ms |',
    );
  });
});

describe('bench matmul efficiency and cold start', () => {
  it("counts a step's matmul FLOPs per sample from the plan: forward, weight gradients, input gradients past the first weighted layer", async () => {
    const { trainingFlopsPerSample, trainingProducts } = await import('../bench/flops.js');
    const { planOf } = await import('../bench/models.js');
    // MNIST MLP: 784x128 + 128x64 + 64x10 = 109,184 multiply-adds; x2 FLOPs; forward + weight gradients, and
    // input gradients of the last two layers (8,192 + 640).
    expect(trainingFlopsPerSample(planOf(MODELS.mlp))).toBe(2 * (2 * 109_184 + 8192 + 640));
    // The convnet: conv 26x26x32 from 3x3x1, conv 11x11x64 from 3x3x32, dense 1,600 -> 10.
    const conv = 2 * (9 * 1 * 32 * 26 * 26);
    const conv1 = 2 * (9 * 32 * 64 * 11 * 11);
    const dense = 2 * 1600 * 10;
    expect(trainingFlopsPerSample(CONVNET_PLAN)).toBe(2 * (conv + conv1 + dense) + conv1 + dense);
    expect(
      trainingProducts(CONVNET_PLAN)
        .filter((p) => p.kind === 'input gradient')
        .map((p) => p.layer),
    ).toEqual(['dense', 'conv2d_1']);
  });

  it('reports effective GFLOPS per worker against the probe, and the cold start, as medians over repeats', () => {
    const probe = (gflops: number) => ({ rows: 64, products: [], gflops, shardMs: 1 });
    const cold = (fitToFirstStep: number, processToFirstEpochEnd: number) => ({
      fitToFirstStep,
      processToFirstEpochEnd,
      exact: true,
    });
    const perSample = 454_400;
    const records = [
      record('lockstep', 1, [1.2], {
        flopsPerSample: perSample,
        matmulProbe: probe(30),
        cold: cold(0.5, 2.4),
        simdCeiling: { best: 52, median: 50 },
      }),
      record(
        'lockstep',
        1,
        [1.4],
        {
          flopsPerSample: perSample,
          matmulProbe: probe(32),
          cold: cold(0.7, 2.2),
          simdCeiling: { best: 50, median: 40 },
        },
        1,
      ),
      record(
        'lockstep',
        1,
        [1.3],
        {
          flopsPerSample: perSample,
          matmulProbe: probe(34),
          cold: cold(0.6, 2.0),
          simdCeiling: { best: 54, median: 50 },
        },
        2,
      ),
      record('lockstep', 2, [0.65], {
        flopsPerSample: perSample,
        matmulProbe: probe(32),
        cold: { ...cold(0.6, 1.9), exact: false },
      }),
    ];
    const rows = summarise(records);
    const one = rows.find((r) => r.workers === 1)!;
    expect(one.gflopPerEpoch).toBeCloseTo((perSample * 60000) / 1e9);
    expect(one.effectiveGflops).toBeCloseTo((perSample * 60000) / 1e9 / 1.3);
    expect(one.probeGflops).toBe(32);
    expect(one.matmulEfficiency).toBeCloseTo((perSample * 60000) / 1e9 / 1.3 / 32);
    expect([one.coldFitToFirstStep, one.coldProcessToFirstEpoch, one.coldExact]).toEqual([0.6, 2.2, true]);
    const two = rows.find((r) => r.workers === 2)!;
    // Per worker: the epoch's FLOPs over 2 workers.
    expect(two.effectiveGflops).toBeCloseTo((perSample * 60000) / 1e9 / 0.65 / 2);
    const table = matmulTable(rows).join('\n');
    // The SIMD ceiling: the median of each repeat's best round, and the step's direct-equivalent rate as a share of it.
    expect(one.ceilingGflops).toBe(52);
    expect(table).toContain('| 128 | 1 | 1.3 | 27.3 | 21 | 32 | 0.66 | 52 | 40% | 0.6 | 2.2 |');
    expect(table).toContain('| 128 | 2 | 0.65 | 27.3 | 21 | 32 | 0.66 | — | — | 0.6 | ≈ 1.9 |');
    expect(table).toContain('≈ 1.9');
    expect(matmulTable(summarise([record('lockstep', 1, [1])]))).toEqual([]);
  });
});
