/**
 * A layer type, declared once in its own file: everything lockstep needs to know about it besides the class.
 *
 * The registry (layers/index.ts: `layerFromConfig`), the TensorFlow.js layers format (io/topology.ts) and the
 * CLI's model configs (cli/config.ts) all read the list of descriptors in layers/index.ts and hold no code
 * for any one layer. See "Adding a layer" in docs/design.md.
 *
 * @example
 * export const DROPOUT = describeLayer({
 *   className: 'Dropout',
 *   options: { rate: { rule: 'a number in [0, 1)', check: (v) => typeof v === 'number' && v >= 0 && v < 1 } },
 *   create: (options: DropoutOptions) => new Dropout(options),
 *   keras: { fields: ['rate'], toKeras: (l) => ({ rate: l.rate }), fromKeras: (c) => ({ rate: c.rate }) },
 * });
 */
import type { JsonObject } from '../io/json.js';
import type { Layer, LayerConfig } from './layer.js';

/** One option of a layer (camelCase, Keras's name and meaning). */
export interface OptionSpec {
  /** The value when the option is left out (null: derived from other options). No `default`: required. */
  default?: unknown;
  /** What a valid value is, for messages: 'a positive integer'. */
  rule?: string;
  /** A quick check of a value from a config file, so its error names the field; the constructor checks fully. */
  check?: (value: unknown) => boolean;
}

/** How the layer reads and writes its entry in a TensorFlow.js layers `model.json` (Keras's snake_case config). */
export interface KerasCodec {
  /**
   * The Keras config fields this layer reads besides the common ones (name, trainable, dtype...); any other is an
   * error.
   */
  fields: readonly string[];
  /**
   * lockstep config (with the descriptor's defaults filled in) → the layer's own Keras fields, in the order written.
   */
  toKeras(layer: LayerConfig, where: string): JsonObject;
  /** Keras config → lockstep options (camelCase, no className or name); throws naming `where` and the field. */
  fromKeras(config: JsonObject, where: string): Record<string, unknown>;
}

/** `Create` is the layer's factory, `(options: DenseOptions) => Dense`: `layers.Dense` is the descriptor's `create`. */
export interface LayerDescriptor<Create extends (options: never) => Layer = (options: never) => Layer> {
  /** Keras's and TensorFlow.js's class name: `className` in lockstep configs, `class_name` in model.json. */
  readonly className: string;
  /**
   * The layer's own options, in the order messages list them; `name` and Keras 2's `inputShape` are common to
   * layers and not listed.
   */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Builds the layer; it checks its options (unknown keys, types, ranges) and throws naming the option. */
  readonly create: Create;
  /** The saved format. */
  readonly keras: KerasCodec;
  /** The model's input (InputLayer): written first as Keras writes it, never in a CLI config's `layers`. */
  readonly input?: true;
}

/** Declares a layer type (an identity that checks the shape of the declaration). */
export function describeLayer<Create extends (options: never) => Layer>(
  descriptor: LayerDescriptor<Create>,
): LayerDescriptor<Create> {
  return Object.freeze(descriptor);
}

/** `config` with every option it leaves out (undefined) set to the descriptor's default. */
export function withDefaults(descriptor: LayerDescriptor, config: LayerConfig): LayerConfig {
  const filled: LayerConfig = { ...config };
  for (const [option, spec] of Object.entries(descriptor.options)) {
    if (filled[option] === undefined && 'default' in spec) filled[option] = spec.default;
  }
  return filled;
}
