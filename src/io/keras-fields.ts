/**
 * Reading and writing the fields of a Keras layer config (`model.json`'s snake_case `config`), for the layers'
 * codecs (see KerasCodec in layers/descriptor.ts). `where` names the layer: `layer 2 (Conv2D 'conv2d_1')`;
 * every error names it and the field.
 */
import { own } from '../errors.js';
import { initializerFromKeras, initializerToKeras } from './keras-initializers.js';
import { type JsonObject, isShape, quote } from './json.js';
import { ACTIVATIONS, type ActivationName, type InitializerSpec, type LayerConfigLike } from './layer-config.js';

// Keras 3 calls swish 'silu'.
const ACTIVATION_ALIASES: Record<string, ActivationName> = { silu: 'swish' };
/** Fields Dense and Conv2D write as null and refuse when set. */
export const UNSUPPORTED_IF_SET = ['kernel_constraint', 'bias_constraint'];
/** Dense's and Conv2D's penalties (see regularizers.ts: regularizersToKeras, regularizersFromKeras). */
export const REGULARIZER_FIELDS = ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer'];
/** Keras 3's LoRA and quantization (Dense, Conv2D): fine-tuning deltas and int8 kernels, which must be off. */
export const KERAS3_EXTRAS = ['lora_rank', 'lora_alpha', 'quantization_config'];

export function required(c: JsonObject, field: string, where: string): unknown {
  if (c[field] === undefined) throw new Error(`${where}: missing field '${field}'`);
  return c[field];
}

export function notSet(c: JsonObject, fields: string[], where: string): void {
  for (const k of fields)
    if (c[k] != null) throw new Error(`${where}: ${k} is not supported. Received: ${k}=${quote(c[k])}`);
}

export const nulls = (fields: string[]) => Object.fromEntries(fields.map((k) => [k, null]));

/** lockstep runs images as [height, width, channels] only; tfjs spells it 'channelsLast' in its own configs. */
export function channelsLast(v: unknown, where: string, field: string): void {
  if (v != null && v !== 'channels_last' && v !== 'channelsLast') {
    throw new Error(
      `${where}: ${field} must be 'channels_last' (channels_first is not supported). Received: ${field}=${quote(v)}`,
    );
  }
}

/** Keras refuses strides > 1 with dilation > 1, and so does lockstep's Conv2D. */
export function checkStridesAndDilation(
  strides: number[],
  dilation: number[],
  where: string,
  s: string,
  d: string,
): void {
  if (strides.some((v) => v > 1) && dilation.some((v) => v > 1)) {
    throw new Error(
      `${where}: ${s} > 1 together with ${d} > 1 is not supported. Received: ${s}=${quote(strides)}, ${d}=${quote(dilation)}`,
    );
  }
}

export function initializersToKeras(l: LayerConfigLike, where: string): JsonObject {
  return {
    kernel_initializer: initializerToKeras(
      (l.kernelInitializer ?? 'glorot_uniform') as InitializerSpec,
      `${where} kernelInitializer`,
    ),
    bias_initializer: initializerToKeras((l.biasInitializer ?? 'zeros') as InitializerSpec, `${where} biasInitializer`),
  };
}

export function initializersFromKeras(
  c: JsonObject,
  where: string,
): { kernelInitializer: InitializerSpec; biasInitializer: InitializerSpec } {
  return {
    kernelInitializer: initializerFromKeras(c.kernel_initializer ?? 'glorot_uniform', `${where} kernel_initializer`),
    biasInitializer: initializerFromKeras(c.bias_initializer ?? 'zeros', `${where} bias_initializer`),
  };
}

export function activation(v: unknown, where: string): ActivationName {
  const name = typeof v === 'string' ? (own(ACTIVATION_ALIASES, v) ?? v) : v;
  if (!ACTIVATIONS.includes(name as ActivationName)) {
    throw new Error(`${where}: unknown activation ${quote(v)}; supported: ${ACTIVATIONS.join(', ')}`);
  }
  return name as ActivationName;
}

/** `[null, 8, 8, 1]` → `[8, 8, 1]`; the batch dimension must be null (or a number, which is dropped). */
export function rowShape(v: unknown, where: string): number[] {
  if (
    !Array.isArray(v) ||
    v.length < 2 ||
    !(v[0] === null || Number.isInteger(v[0])) ||
    !isShape(v.slice(1), { allowZero: false })
  ) {
    throw new Error(
      `${where}: batch_input_shape must be [null, ...positive integers]. Received: batch_input_shape=${quote(v)}`,
    );
  }
  return v.slice(1) as number[];
}

export function batchShape(v: unknown, where: string, option: string): Array<number | null> {
  if (!isShape(v, { allowZero: false }) || v.length === 0) {
    throw new Error(
      `${where}: ${option} must be a non-empty array of positive integers. Received: ${option}=${quote(v)}`,
    );
  }
  return [null, ...v];
}

/** Positive integers, at most one -1 (inferred), as Keras's Reshape takes them. */
export function targetShape(v: unknown, where: string, field: string): number[] {
  const ok =
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) &&
    v.filter((d) => d === -1).length <= 1;
  if (!ok)
    throw new Error(
      `${where}: ${field} must be a non-empty array of positive integers, with at most one -1. Received: ${field}=${quote(v)}`,
    );
  return [...(v as number[])];
}

export function positiveInt(v: unknown, where: string, option: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0)
    throw new Error(`${where}: ${option} must be a positive integer. Received: ${option}=${quote(v)}`);
  return v as number;
}

export function rate(v: unknown, where: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    throw new Error(`${where}: rate must be in [0, 1). Received: rate=${quote(v)}`);
  return v;
}

export function integer(v: unknown, where: string, option: string): number {
  if (!Number.isInteger(v)) throw new Error(`${where}: ${option} must be an integer. Received: ${option}=${quote(v)}`);
  return v as number;
}

/** An axis or a non-empty list of axes (LayerNormalization). */
export function axes(v: unknown, where: string, option: string): number | number[] {
  if (Array.isArray(v) && v.length > 0 && v.every((a) => Number.isInteger(a))) return [...(v as number[])];
  return integer(v, where, option);
}

export function fraction(v: unknown, where: string, option: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1))
    throw new Error(`${where}: ${option} must be in [0, 1]. Received: ${option}=${quote(v)}`);
  return v;
}

export function positive(v: unknown, where: string, option: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw new Error(`${where}: ${option} must be a positive number. Received: ${option}=${quote(v)}`);
  return v;
}

export function bool(v: unknown, where: string, option: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${where}: ${option} must be a boolean. Received: ${option}=${quote(v)}`);
  return v;
}

export const NORM_UNSUPPORTED = ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'];

/** An initializer field of a normalization layer: lockstep's camelCase option <-> Keras's snake_case field. */
export function normInitializers(
  names: readonly (readonly [string, string, string])[],
  l: LayerConfigLike | null,
  c: JsonObject | null,
  where: string,
): JsonObject {
  const out: Record<string, unknown> = {};
  for (const [option, field, fallback] of names) {
    if (l) out[field] = initializerToKeras((l[option] ?? fallback) as InitializerSpec, `${where} ${option}`);
    else out[option] = initializerFromKeras(c![field] ?? fallback, `${where} ${field}`);
  }
  return out as JsonObject;
}

export const BN_INITIALIZERS = [
  ['betaInitializer', 'beta_initializer', 'zeros'],
  ['gammaInitializer', 'gamma_initializer', 'ones'],
  ['movingMeanInitializer', 'moving_mean_initializer', 'zeros'],
  ['movingVarianceInitializer', 'moving_variance_initializer', 'ones'],
] as const;
export const LN_INITIALIZERS = BN_INITIALIZERS.slice(0, 2);
