/**
 * What one training run leaves behind, for comparing runs bit for bit: its weights and optimizer state
 * (named tensors), its history, and their SHA-256 hashes. `firstDifference` names the first tensor and
 * element where two runs part.
 */
import type { History } from '../history.js';
import type { Model } from '../model.js';
import { canonicalJson, sha256 } from './fingerprint.js';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface RunDigest {
  workers: number;
  weightsHash: string;
  optimizerHash: string;
  historyHash: string;
  weights: NamedTensor[];
  /** Each optimizer state array split per weight (`dense/kernel/velocity`), then the step counter. */
  optimizer: NamedTensor[];
  history: Record<string, number[]>;
}

/** The digest of a trained model and the history its fit returned. */
export function digestRun(model: Model, history: History, workers: number): RunDigest {
  const weights = model.getWeights().map((w) => ({ name: w.name, shape: [...w.shape], data: w.data }));
  const state = model.currentOptimizerState();
  const names = model.optimizer?.stateNames ?? [];
  const optimizer: NamedTensor[] = [];
  names.forEach((stateName, k) => {
    let offset = 0;
    for (const w of weights) {
      optimizer.push({
        name: `${w.name}/${stateName}`,
        shape: w.shape,
        data: state[k].slice(offset, offset + w.data.length),
      });
      offset += w.data.length;
    }
  });
  optimizer.push({ name: 'iterations', shape: [], data: Float32Array.of(model.iterations) });
  const hist = { epoch: history.epoch, ...history.history } as Record<string, number[]>;
  return {
    workers,
    weightsHash: sha256(...weights.map((w) => w.data)),
    optimizerHash: sha256(...optimizer.map((t) => t.data)),
    historyHash: sha256(canonicalJson(hist)),
    weights,
    optimizer,
    history: hist,
  };
}

export interface Difference {
  /** `weights`, `optimizer state` or `history`. */
  part: string;
  /** The tensor (or history key) that differs first. */
  tensor: string;
  /** The element's flat index and its index by shape, e.g. [12, 3]. */
  element: number;
  index: number[];
  a: number;
  b: number;
}

/** The first place where `b` differs from `a` (weights, then optimizer state, then history), or null. */
export function firstDifference(a: RunDigest, b: RunDigest): Difference | null {
  for (const [part, ta, tb] of [
    ['weights', a.weights, b.weights],
    ['optimizer state', a.optimizer, b.optimizer],
  ] as const) {
    for (let t = 0; t < Math.max(ta.length, tb.length); t++) {
      const x = ta[t];
      const y = tb[t];
      if (!x || !y || x.name !== y.name || x.data.length !== y.data.length) {
        return { part, tensor: x?.name ?? y!.name, element: 0, index: [], a: NaN, b: NaN };
      }
      const xi = new Uint32Array(x.data.buffer, x.data.byteOffset, x.data.length);
      const yi = new Uint32Array(y.data.buffer, y.data.byteOffset, y.data.length);
      for (let i = 0; i < xi.length; i++) {
        if (xi[i] !== yi[i])
          return { part, tensor: x.name, element: i, index: unravel(i, x.shape), a: x.data[i], b: y.data[i] };
      }
    }
  }
  for (const key of new Set([...Object.keys(a.history), ...Object.keys(b.history)])) {
    const x = a.history[key] ?? [];
    const y = b.history[key] ?? [];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      if (!Object.is(x[i], y[i]))
        return { part: 'history', tensor: key, element: i, index: [i], a: x[i] ?? NaN, b: y[i] ?? NaN };
    }
  }
  return null;
}

/** `weights dense/kernel[12, 3]: 0.123456 (workers 0) vs 0.123457 (workers 2)` */
export function describeDifference(d: Difference, wa: number, wb: number): string {
  const where =
    d.part === 'history'
      ? `history ${d.tensor}, epoch ${d.element + 1}`
      : `${d.part} ${d.tensor}[${d.index.join(', ')}] (element ${d.element})`;
  return `${where}: ${d.a} with ${wa} worker${wa === 1 ? '' : 's'}, ${d.b} with ${wb} worker${wb === 1 ? '' : 's'}`;
}

function unravel(i: number, shape: number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    index[k] = i % shape[k];
    i = Math.floor(i / shape[k]);
  }
  return index;
}

/** A digest as JSON (tensors as base64 float32 bytes), for passing between processes. */
export function digestToJson(d: RunDigest): unknown {
  const enc = (t: NamedTensor) => ({
    name: t.name,
    shape: t.shape,
    data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'),
  });
  return { ...d, weights: d.weights.map(enc), optimizer: d.optimizer.map(enc) };
}

export function digestFromJson(json: unknown): RunDigest {
  const j = json as RunDigest & {
    weights: { name: string; shape: number[]; data: string }[];
    optimizer: { name: string; shape: number[]; data: string }[];
  };
  const dec = (t: { name: string; shape: number[]; data: string }) => {
    const b = Buffer.from(t.data, 'base64');
    const data = new Float32Array(b.length / 4);
    new Uint8Array(data.buffer).set(b);
    return { name: t.name, shape: t.shape, data };
  };
  return { ...j, weights: j.weights.map(dec), optimizer: j.optimizer.map(dec) };
}
