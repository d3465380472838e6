/**
 * Shared option parsing: the options that Dense and Conv2D share, and the affine part (center, scale, beta,
 * gamma) that BatchNormalization and LayerNormalization share.
 *
 * The options that Dense and Conv2D share (Keras's `activation`, `use_bias`, `kernel_initializer`,
 * `bias_initializer`, `input_shape`), checked and with Keras's defaults, in one place.
 */
import { ACTIVATION_NAMES, type Activation, getActivation } from '../activations.js';
import type { OptionSpec } from './descriptor.js';
import { checkInitializer, type InitializerConfig } from '../initializers.js';
import { badOption } from '../errors.js';
import { checkRegularizer, type RegularizerConfig, type RegularizerSpec } from '../regularizers.js';

export interface WeightedLayerOptions {
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: InitializerConfig;
  biasInitializer?: InitializerConfig;
  inputShape?: number[];
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  activityRegularizer?: RegularizerSpec;
}

/** The option names of `WeightedLayerOptions`' regularizers (Keras's kernel_regularizer...). */
export const REGULARIZER_OPTIONS = ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer'] as const;

/** The checked regularizers, and the config fields to write for them (none when unset: configs stay as before). */
export function regularizerOptions(where: string, options: WeightedLayerOptions) {
  const kernelRegularizer = checkRegularizer(`${where} kernelRegularizer`, options.kernelRegularizer);
  const biasRegularizer = checkRegularizer(`${where} biasRegularizer`, options.biasRegularizer);
  const activityRegularizer = checkRegularizer(`${where} activityRegularizer`, options.activityRegularizer);
  return { kernelRegularizer, biasRegularizer, activityRegularizer };
}

/** The regularizers of a layer as config fields (only those set). */
export function regularizerConfig(r: {
  kernelRegularizer?: RegularizerConfig;
  biasRegularizer?: RegularizerConfig;
  activityRegularizer?: RegularizerConfig;
}) {
  return {
    ...(r.kernelRegularizer ? { kernelRegularizer: r.kernelRegularizer } : {}),
    ...(r.biasRegularizer ? { biasRegularizer: r.biasRegularizer } : {}),
    ...(r.activityRegularizer ? { activityRegularizer: r.activityRegularizer } : {}),
  };
}

/** The checked shared options; `where` names the layer in errors ("Dense 'dense_1'"). */
export function weightedLayerOptions(where: string, options: WeightedLayerOptions) {
  if (options.useBias !== undefined && typeof options.useBias !== 'boolean')
    throw badOption(where, 'useBias', 'a boolean', options.useBias);
  const kernelInitializer = options.kernelInitializer ?? 'glorot_uniform';
  const biasInitializer = options.biasInitializer ?? 'zeros';
  checkInitializer(kernelInitializer, `${where} kernelInitializer`);
  checkInitializer(biasInitializer, `${where} biasInitializer`);
  return {
    activation: getActivation(options.activation) as Activation,
    useBias: options.useBias ?? true,
    kernelInitializer,
    biasInitializer,
    declaredInputShape: options.inputShape,
  };
}

export interface AffineOptions {
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerConfig;
  gammaInitializer?: InitializerConfig;
}

/** A normalization layer's learned offset (beta) and scale (gamma), checked, with Keras's defaults. */
export function affineOptions(where: string, o: AffineOptions) {
  for (const k of ['center', 'scale'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw badOption(where, k, 'a boolean', o[k]);
  const betaInitializer = o.betaInitializer ?? 'zeros';
  const gammaInitializer = o.gammaInitializer ?? 'ones';
  checkInitializer(betaInitializer, `${where} betaInitializer`);
  checkInitializer(gammaInitializer, `${where} gammaInitializer`);
  return { center: o.center ?? true, scale: o.scale ?? true, betaInitializer, gammaInitializer };
}

/** The shared options as a descriptor declares them (see layers/descriptor.ts), in Keras's order. */
export const WEIGHTED_OPTION_SPECS: Record<string, OptionSpec> = {
  activation: {
    default: 'linear',
    rule: `one of ${ACTIVATION_NAMES.join(', ')}`,
    check: (v) => typeof v === 'string' && (ACTIVATION_NAMES.includes(v) || v === 'silu'),
  },
  useBias: { default: true, rule: 'true or false', check: (v) => typeof v === 'boolean' },
  kernelInitializer: { default: 'glorot_uniform' },
  biasInitializer: { default: 'zeros' },
};

/** The affine options as a descriptor declares them. */
export const AFFINE_OPTION_SPECS: Record<string, OptionSpec> = {
  center: { default: true },
  scale: { default: true },
  betaInitializer: { default: 'zeros' },
  gammaInitializer: { default: 'ones' },
};

/** The regularizer options as a descriptor declares them: none by default. */
export const REGULARIZER_OPTION_SPECS: Record<string, OptionSpec> = {
  kernelRegularizer: { default: null, rule: "'l1', 'l2', 'l1_l2' or { className: 'L2', config: { l2: 0.01 } }" },
  biasRegularizer: { default: null, rule: "'l1', 'l2', 'l1_l2' or { className: 'L2', config: { l2: 0.01 } }" },
  activityRegularizer: { default: null, rule: "'l1', 'l2', 'l1_l2' or { className: 'L2', config: { l2: 0.01 } }" },
};
