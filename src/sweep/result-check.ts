/**
 * A queue job's return value, checked whole before the sweep writes any of it: anyone who can write to the
 * sweep's Redis can put anything there. A value that is not the result of the job the sweep asked for
 * (another id or spec, a missing or mistyped field, model files that do not match their manifest or weights
 * that do not have the fingerprint's hashes) throws a `BadResult` naming the field, and the sweep reports the
 * job as failed without writing its files.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type Fingerprint } from '../verify/fingerprint.js';
import { checkManifest } from '../io/weights.js';
import type { PlannedJob } from './events.js';
import type { JobResult } from './run-job.js';
import { cleanText, printable } from './printable.js';

export class BadResult extends Error {
  override name = 'BadResult';
}

/** Bytes of the model files a result may carry (weights.bin decoded; the JSON files as text). */
export const MAX_RESULT_FILE_BYTES = 1 << 30;
const MAX_JSON_FILE_CHARS = 64 << 20;
const MAX_LOG_KEYS = 64;
const HASH = /^[0-9a-f]{64}$/;
const LOG_KEY = /^[A-Za-z0-9_]{1,100}$/;
const FILE_NAMES = ['model.json', 'weights.bin', 'preprocessing.json'];
const FINGERPRINT_FIELDS = [
  'lockstep',
  'tfjs',
  'node',
  'arch',
  'platform',
  'configHash',
  'dataHash',
  'weightsHash',
  'tensors',
];
const FIELDS = [
  'id',
  'spec',
  'history',
  'metrics',
  'fingerprint',
  'optimizerHash',
  'historyHash',
  'files',
  'resumedFromEpoch',
  'host',
  'workers',
  'seconds',
];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Returns `value` as the result of `job`, or throws a BadResult naming the first thing wrong with it. */
export function checkResult(value: unknown, job: PlannedJob): JobResult {
  const fail = (what: string): never => {
    throw new BadResult(`the worker returned a bad result: ${what}`);
  };
  if (!isObject(value)) return fail(`expected an object. Received: ${printable(value)}`);
  for (const k of Object.keys(value)) if (!FIELDS.includes(k)) fail(`unknown field ${printable(k)}`);
  if (value.id !== job.id) fail(`it is the result of job ${printable(value.id)}, not of ${job.id}`);
  if (!isObject(value.spec) || canonicalJson(value.spec) !== canonicalJson(job.spec))
    fail('its spec is not the spec of the job the sweep queued');
  const epochs = job.spec.epochs;

  const logs = (field: string, v: unknown, check: (x: unknown, key: string) => void) => {
    if (!isObject(v)) fail(`${field} must be an object. Received: ${printable(v)}`);
    const keys = Object.keys(v as object);
    if (keys.length > MAX_LOG_KEYS) fail(`${field} has ${keys.length} keys (at most ${MAX_LOG_KEYS})`);
    for (const k of keys) {
      if (!LOG_KEY.test(k)) fail(`${field} has a key that is not a metric name: ${printable(k)}`);
      check((v as Record<string, unknown>)[k], `${field}.${k}`);
    }
  };
  // JSON turns NaN into null: a diverged validation metric comes back that way.
  const number = (x: unknown) => typeof x === 'number' || x === null;
  logs('history', value.history, (series, at) => {
    if (!Array.isArray(series) || series.length > epochs || !series.every(number))
      fail(`${at} must be at most ${epochs} numbers, one per epoch`);
  });
  if (!Array.isArray((value.history as Record<string, unknown>).epoch)) fail('history.epoch is missing');
  logs('metrics', value.metrics, (x, at) => {
    if (!number(x)) fail(`${at} must be a number. Received: ${printable(x)}`);
  });

  const fp = value.fingerprint;
  if (!isObject(fp)) return fail(`fingerprint must be an object. Received: ${printable(fp)}`);
  for (const k of ['lockstep', 'tfjs', 'node', 'arch', 'platform'])
    if (typeof fp[k] !== 'string' || (fp[k] as string).length > 100) fail(`fingerprint.${k} must be a short string`);
  for (const k of ['configHash', 'weightsHash'])
    if (typeof fp[k] !== 'string' || !HASH.test(fp[k] as string)) fail(`fingerprint.${k} must be a SHA-256 in hex`);
  if (fp.dataHash !== undefined && (typeof fp.dataHash !== 'string' || !HASH.test(fp.dataHash)))
    fail('fingerprint.dataHash must be a SHA-256 in hex');
  if (
    !isObject(fp.tensors) ||
    Object.keys(fp.tensors).length > 100_000 ||
    !Object.values(fp.tensors).every((h) => typeof h === 'string' && HASH.test(h))
  ) {
    fail('fingerprint.tensors must map weight names to SHA-256 hashes');
  }
  for (const k of Object.keys(fp))
    if (!FINGERPRINT_FIELDS.includes(k)) fail(`fingerprint has an unknown field ${printable(k)}`);
  for (const k of ['optimizerHash', 'historyHash'])
    if (typeof value[k] !== 'string' || !HASH.test(value[k] as string)) fail(`${k} must be a SHA-256 in hex`);

  if (
    value.resumedFromEpoch !== undefined &&
    !(
      Number.isSafeInteger(value.resumedFromEpoch) &&
      (value.resumedFromEpoch as number) >= 0 &&
      (value.resumedFromEpoch as number) <= epochs
    )
  ) {
    fail(`resumedFromEpoch must be an epoch from 0 to ${epochs}. Received: ${printable(value.resumedFromEpoch)}`);
  }
  if (
    typeof value.host !== 'string' ||
    value.host === '' ||
    value.host.length > 255 ||
    /[\u0000-\u001f\u007f-\u009f]/.test(value.host)
  )
    fail(`host must be a host name. Received: ${printable(value.host)}`);
  if (value.workers !== 'all' && !(Number.isSafeInteger(value.workers) && (value.workers as number) > 0))
    fail(`workers must be 'all' or a positive integer. Received: ${printable(value.workers)}`);
  if (typeof value.seconds !== 'number' || !(value.seconds >= 0) || !Number.isFinite(value.seconds))
    fail(`seconds must be a non-negative number. Received: ${printable(value.seconds)}`);

  checkFiles(value.files, fp as unknown as Fingerprint, fail);
  // predict and evaluate need a CSV model's preprocessing.
  const csv = job.spec.data.data?.toLowerCase().endsWith('.csv') ?? false;
  if (csv !== ((value.files as Record<string, unknown>)['preprocessing.json'] !== undefined))
    fail(
      csv
        ? "files['preprocessing.json'] is missing for a CSV job"
        : "files['preprocessing.json'] comes with a job that trained on no CSV",
    );
  return value as unknown as JobResult;
}

/**
 * model.json parses, names weights.bin only, and its manifest accounts for every byte of weights.bin; the
 * model's weights in it (the optimizer's state follows them) have the hashes the fingerprint gives.
 */
function checkFiles(files: unknown, fp: Fingerprint, fail: (what: string) => never): void {
  if (!isObject(files)) return fail(`files must be an object. Received: ${printable(files)}`);
  for (const k of Object.keys(files)) if (!FILE_NAMES.includes(k)) fail(`files has an unknown file ${printable(k)}`);
  const text = (name: string, required: boolean): string | undefined => {
    const v = files[name];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string') return fail(`files['${name}'] must be a string. Received: ${printable(v)}`);
    if (v.length > (name === 'weights.bin' ? Math.ceil(MAX_RESULT_FILE_BYTES / 3) * 4 : MAX_JSON_FILE_CHARS))
      fail(`files['${name}'] is larger than a sweep accepts`);
    return v;
  };
  const modelJson = text('model.json', true)!;
  const weights = text('weights.bin', true)!;
  const preprocessing = text('preprocessing.json', false);
  let json: unknown;
  try {
    json = JSON.parse(modelJson);
  } catch {
    fail("files['model.json'] is not JSON");
  }
  if (!isObject(json) || !isObject(json.modelTopology)) return fail("files['model.json'] has no modelTopology object");
  let manifest;
  try {
    manifest = checkManifest(json.weightsManifest, 'model.json');
  } catch (err) {
    return fail(cleanText((err as Error).message, 300));
  }
  // loadModel reads the files a manifest names: only weights.bin beside it, never another path.
  if (manifest.length !== 1 || manifest[0].paths.length !== 1 || manifest[0].paths[0] !== 'weights.bin')
    fail("model.json's weightsManifest must name weights.bin only");
  const bytes = manifest[0].weights.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  // Node's decoder skips characters that are not base64: encoding again must give the text back.
  const bin = Buffer.from(weights, 'base64');
  if (bin.toString('base64') !== weights) fail("files['weights.bin'] is not base64");
  if (bin.length !== bytes)
    fail(`weights.bin holds ${bin.length} bytes but model.json's weightsManifest lists ${bytes}`);
  const whole = createHash('sha256');
  const names: string[] = [];
  let at = 0;
  for (const w of manifest[0].weights) {
    const n = 4 * w.shape.reduce((a, b) => a * b, 1);
    if (w.group !== 'optimizer') {
      const part = bin.subarray(at, at + n);
      whole.update(part);
      if (fp.tensors[w.name] !== createHash('sha256').update(part).digest('hex'))
        fail(`weights.bin's ${printable(w.name)} does not have the hash the fingerprint gives`);
      names.push(w.name);
    }
    at += n;
  }
  if (whole.digest('hex') !== fp.weightsHash) fail("weights.bin's weights do not have the fingerprint's weightsHash");
  if (Object.keys(fp.tensors).length !== names.length) fail("fingerprint.tensors does not list model.json's weights");
  if (preprocessing !== undefined) {
    let p: unknown;
    try {
      p = JSON.parse(preprocessing);
    } catch {
      fail("files['preprocessing.json'] is not JSON");
    }
    if (!isObject(p)) fail("files['preprocessing.json'] must hold a JSON object");
  }
}
