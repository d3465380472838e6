/** The benchmark's pure helpers: option parsing, case lists, summaries, Markdown and SVG. No timing assertions. */
import { describe, expect, it } from 'vitest';
import type { CaseResult, CaseSpec, Runner } from '../bench/case.js';
import { MODELS, paramCount } from '../bench/models.js';
import { casesFor, parseOptions, resultsJson } from '../bench/run.js';
import { chartSvg, determinism, escapeXml, logTicks, markdown, median, niceTicks, repeatLines, summarise, type CaseRecord } from '../bench/report.js';

const noPython = { python: 'python3', notes: [] };

function record(runner: Runner, workers: number, seconds: number[], extra: Partial<CaseResult> = {}, repeat = 0): CaseRecord {
  const spec: CaseSpec = { runner, model: 'mlp', batch: 128, workers, epochs: seconds.length, warmupSteps: 2, maxSteps: 0, maxSeconds: 0, seed: 1, evaluate: true };
  const timing = seconds.map((s) => ({ seconds: s, steps: 469, workers, computeMsPerStep: 5, reduceMsPerStep: 1, syncMsPerStep: 0.5 }));
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
    expect(o.models).toEqual(['mlp', 'logreg', 'hitters', 'wide']);
    expect(o.workers).toEqual([0, 1, 2, 3, 4]);
    expect(o.batches).toEqual([32, 128, 512]);
    expect(o.peers).toBe(true);
    expect(o.repeats).toBe(3);
    expect(o.rows.mlp).toBeUndefined();
  });

  it('--quick trims batches, rows, epochs and repeats', () => {
    const o = parseOptions(['--quick'], 2);
    expect(o.batches).toEqual([128]);
    expect(o.repeats).toBe(1);
    expect(o.epochs.mlp).toBe(1);
    expect(o.rows.mlp).toBe(6000);
    expect(o.testRows).toBe(2000);
  });

  it('accepts repeated and comma-separated models and lists, and --no-peers', () => {
    const o = parseOptions(['--model', 'mlp,wide', '--model', 'hitters', '--workers', '0,2', '--batch', '64', '--epochs', '5', '--no-peers'], 2);
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
    expect(plain.map((c) => `${c.runner}:${c.workers}`)).toEqual(['lockstep:0', 'lockstep:1', 'lockstep:2', 'tfjs-wasm:1', 'tfjs-cpu:1']);
    const withPython = casesFor(o, 'mlp', 128, { ...noPython, numpy: '2', torch: '2', sklearn: '1' });
    expect(withPython.filter((c) => c.runner === 'torch').map((c) => c.workers)).toEqual([1, 2]);
    expect(withPython.filter((c) => c.runner === 'sklearn').map((c) => c.workers)).toEqual([1, 2]);
    // Peers score the test set in the first repeat only; lockstep always does.
    expect(casesFor(o, 'mlp', 128, noPython, 1).filter((c) => c.evaluate).map((c) => c.runner)).toEqual(['lockstep', 'lockstep', 'lockstep']);
    expect(casesFor(parseOptions(['--no-peers'], 2), 'mlp', 128, noPython)).toHaveLength(3);
  });

  it('writes the results JSON with one case record per line', () => {
    const records = [record('lockstep', 0, [5]), record('lockstep', 1, [4])];
    const text = resultsJson({ date: 'd', summary: [{ a: 1 }] }, records);
    expect(JSON.parse(text)).toMatchObject({ date: 'd', summary: [{ a: 1 }], cases: [{ spec: records[0].spec }, { spec: records[1].spec }] });
    expect(JSON.parse(text).cases[0].result.finalLoss).toBe(0.25);
    expect(JSON.parse(text).cases[0].result.timing).toEqual({ seconds: [5], steps: [469], workers: [0], computeMsPerStep: [5], reduceMsPerStep: [1], syncMsPerStep: [0.5] });
    expect(text.split('\n').filter((l) => l.startsWith('    {"spec"'))).toHaveLength(2);
  });

  it('counts parameters of the model specs', () => {
    expect(paramCount(MODELS.mlp)).toBe(784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
    expect(paramCount(MODELS.logreg)).toBe(7850);
    expect(paramCount(MODELS.hitters)).toBe(19 * 50 + 50 + 51);
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
    expect(two.ratios['tfjs-cpu']).toBeUndefined();
    const wasm = rows.find((r) => r.runner === 'tfjs-wasm')!;
    expect(wasm.extrapolatedFrom).toBe(100);
    expect(rows.find((r) => r.runner === 'tfjs-cpu')!.errors).toEqual(['exited with 1']);
    expect(determinism(records, 'mlp', 128)).toMatchObject({ runs: 4, identical: true });
    expect(determinism([...records, record('lockstep', 0, [5], { finalLoss: 0.26 })], 'mlp', 128).identical).toBe(false);
  });

  it('writes a Markdown table and a well-formed SVG', () => {
    const records = [record('lockstep', 0, [5]), record('lockstep', 1, [4]), record('lockstep', 2, [2.5], { firstEpochSeconds: 3.5 }), record('tfjs-wasm', 1, [20], { extrapolated: true, stepsTimed: 100 })];
    const rows = summarise(records);
    expect(rows.find((r) => r.runner === 'lockstep' && r.workers === 2)!.firstEpochSeconds).toBe(3.5);
    expect(rows.find((r) => r.runner === 'lockstep' && r.workers === 1)!.firstEpochSeconds).toBeUndefined();
    const md = markdown(
      { date: '2025-01-01T00:00:00Z', stamp: 's', command: 'npm run bench', settings: { repeats: 1 }, machine: { cpuModel: 'cpu', cores: 2 }, notes: ['PyTorch skipped'], wallSeconds: 42 },
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
    expect(lines[2]).toMatch(/\* = the probe just before it found a vCPU at least 15% slower than the run's fastest probe \(0.93 ms per chunk\)/);
    // Records from before the probe existed: no lines.
    expect(repeatLines([record('lockstep', 1, [4])], 'mlp')).toEqual([]);
  });
});
