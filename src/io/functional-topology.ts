/**
 * Functional model topologies in the TensorFlow.js layers format: `class_name` 'Model' (tfjs-layers; Keras's
 * 'Functional' is read too), each layer with its `inbound_nodes` (one list per call of the layer, each entry
 * [layer name, call index, tensor index, kwargs]), and the model's `input_layers` and `output_layers`.
 */
import { formatValue } from '../errors.js';
import { type JsonObject, isObject } from './json.js';
import { KERAS_VERSION, layerFromKerasJson, layerToKerasJson } from './topology.js';
import type { LayerConfig, LayerConfigLike } from './layer-config.js';

/** A tensor as the format points at it: [layer name, call index, tensor index]. */
export type TensorRef = [string, number, number];

/** A layer of a functional model: its config and, per call, the tensors it reads. */
export interface FunctionalLayer {
  config: LayerConfig;
  calls: TensorRef[][];
}

export interface FunctionalTopology {
  modelName: string;
  layers: FunctionalLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

export function toFunctionalTopology(
  name: string,
  layers: { config: unknown; calls: TensorRef[][] }[],
  inputs: TensorRef[],
  outputs: TensorRef[],
): Record<string, unknown> {
  return {
    class_name: 'Model',
    config: {
      name,
      layers: layers.map((l, i) => {
        const config = l.config as LayerConfigLike;
        const json = layerToKerasJson(config, `layer ${i} (${config.className} '${config.name}')`);
        return {
          name: config.name,
          class_name: json.class_name,
          config: json.config,
          inbound_nodes: l.calls.map((call) => call.map(([n, k, t]) => [n, k, t, {}])),
        };
      }),
      input_layers: inputs,
      output_layers: outputs,
    },
    keras_version: KERAS_VERSION,
    backend: 'tensor_flow.js',
  };
}

/** Whether a topology describes a functional model (rather than a Sequential one). */
export function isFunctionalTopology(topology: unknown): boolean {
  return isObject(topology) && (topology.class_name === 'Model' || topology.class_name === 'Functional');
}

function tensorRef(v: unknown, where: string): TensorRef {
  if (
    !Array.isArray(v) ||
    v.length < 3 ||
    typeof v[0] !== 'string' ||
    !Number.isInteger(v[1]) ||
    v[1] < 0 ||
    v[2] !== 0
  ) {
    throw new Error(`${where} must be [layer name, call index, 0]. Received: ${formatValue(v)}`);
  }
  return [v[0], v[1], v[2]];
}

/** A functional `modelTopology` → layer configs with their calls; checks every reference names a layer. */
export function fromFunctionalTopology(topology: JsonObject): FunctionalTopology {
  const config = topology.config;
  if (!isObject(config) || !Array.isArray(config.layers) || config.layers.length === 0)
    throw new Error(
      `modelTopology.config.layers must be a non-empty array. Received: ${formatValue(isObject(config) ? config.layers : config)}`,
    );
  const modelName = typeof config.name === 'string' && config.name !== '' ? config.name : 'functional';
  const layers = config.layers.map((entry: unknown, i: number): FunctionalLayer => {
    const layerConfig = layerFromKerasJson(entry, i);
    const where = `layer ${i} (${layerConfig.className} '${layerConfig.name}')`;
    const inbound = (entry as JsonObject).inbound_nodes ?? [];
    if (!Array.isArray(inbound))
      throw new Error(`${where}: inbound_nodes must be an array. Received: ${formatValue(inbound)}`);
    const calls = inbound.map((call, k) => {
      if (!Array.isArray(call) || call.length === 0)
        throw new Error(
          `${where}: inbound_nodes[${k}] must be a non-empty array of tensor references. Received: ${formatValue(call)}`,
        );
      return call.map((ref, q) => tensorRef(ref, `${where}: inbound_nodes[${k}][${q}]`));
    });
    if (layerConfig.className === 'InputLayer' ? calls.length !== 0 : calls.length === 0)
      throw new Error(
        `${where}: ${layerConfig.className === 'InputLayer' ? 'an InputLayer has no inbound nodes' : 'the layer is never called (no inbound_nodes)'}`,
      );
    return { config: layerConfig, calls };
  });
  const names = layers.map((l) => l.config.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`modelTopology: two layers are named '${dup}'; layer names must be unique`);
  const refs = (v: unknown, what: string) => {
    if (!Array.isArray(v) || v.length === 0)
      throw new Error(`modelTopology.config.${what} must be a non-empty array. Received: ${formatValue(v)}`);
    return v.map((r, i) => tensorRef(r, `modelTopology.config.${what}[${i}]`));
  };
  const inputs = refs(config.input_layers, 'input_layers');
  const outputs = refs(config.output_layers, 'output_layers');
  for (const [name] of [...inputs, ...outputs, ...layers.flatMap((l) => l.calls.flat())]) {
    if (!names.includes(name)) throw new Error(`modelTopology refers to layer '${name}', which it does not define`);
  }
  return { modelName, layers, inputs, outputs };
}
