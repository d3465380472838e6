import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { NamedWeight } from '../src/callbacks/callback.js';
import { tfjsFileLoader, tfjsFileSaver } from './helpers/tfjs-files.js';
import type { ModelJson } from './helpers/model-json.js';
import {
  ACTIVATIONS,
  fromModelTopology,
  loadArtifacts,
  saveArtifacts,
  toModelTopology,
  type LayerConfig,
} from '../src/io/index.js';

let root: string;
let n = 0;
const freshDir = () => join(root, `m${n++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lockstep-io-'));
  await tf.setBackend('cpu');
});
afterAll(() => rm(root, { recursive: true, force: true }));

// A small deterministic generator so test weights do not depend on Math.random.
function values(count: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

const hitters: LayerConfig[] = [
  { className: 'InputLayer', name: 'input_layer', shape: [19] },
  {
    className: 'Dense',
    name: 'dense',
    units: 50,
    activation: 'relu',
    useBias: true,
    kernelInitializer: 'glorot_uniform',
    biasInitializer: 'zeros',
  },
  { className: 'Dropout', name: 'dropout', rate: 0.4 },
  {
    className: 'Dense',
    name: 'dense_1',
    units: 1,
    activation: 'linear',
    useBias: true,
    kernelInitializer: 'glorot_uniform',
    biasInitializer: 'zeros',
  },
];

/** Weights for a stack of Dense configs, named as lockstep names them. */
function weightsFor(layers: LayerConfig[], seed = 1, scale = 0.5): NamedWeight[] {
  const out: NamedWeight[] = [];
  let width = (layers[0] as { shape: number[] }).shape[0];
  for (const l of layers) {
    if (l.className !== 'Dense') continue;
    out.push({ name: `${l.name}/kernel`, shape: [width, l.units], data: values(width * l.units, seed++, scale) });
    if (l.useBias) out.push({ name: `${l.name}/bias`, shape: [l.units], data: values(l.units, seed++, scale) });
    width = l.units;
  }
  return out;
}

describe('toModelTopology / fromModelTopology', () => {
  it('round-trips lockstep configs through the Keras topology', () => {
    const topology = toModelTopology('hitters', hitters);
    expect(topology.class_name).toBe('Sequential');
    expect(topology.keras_version).toBe('tfjs-layers 4.22.0');
    const [input, dense] = topology.config.layers;
    expect(input).toEqual({
      class_name: 'InputLayer',
      config: { batch_input_shape: [null, 19], dtype: 'float32', sparse: false, name: 'input_layer' },
    });
    expect(dense.config).toMatchObject({
      units: 50,
      activation: 'relu',
      use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
    });
    expect(fromModelTopology(JSON.parse(JSON.stringify(topology)))).toEqual({ modelName: 'hitters', layers: hitters });
  });

  it('folds a first layer inputShape into batch_input_shape and reads it back as an InputLayer', () => {
    const topology = toModelTopology('m', [{ className: 'Dense', name: 'd', units: 2, inputShape: [3] }]);
    expect(topology.config.layers).toHaveLength(1);
    expect(topology.config.layers[0].config.batch_input_shape).toEqual([null, 3]);
    expect(fromModelTopology(topology).layers[0]).toEqual({ className: 'InputLayer', name: 'd_input', shape: [3] });
  });

  it('maps initializers both ways, VarianceScaling included', () => {
    const read = (init: unknown) =>
      (
        fromModelTopology({
          class_name: 'Sequential',
          config: {
            layers: [
              {
                class_name: 'Dense',
                config: { name: 'd', units: 1, batch_input_shape: [null, 2], kernel_initializer: init },
              },
            ],
          },
        }).layers[1] as { kernelInitializer: unknown }
      ).kernelInitializer;
    expect(
      read({
        class_name: 'VarianceScaling',
        config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
      }),
    ).toBe('glorot_normal');
    expect(
      read({
        class_name: 'VarianceScaling',
        config: { scale: 2, mode: 'fan_in', distribution: 'truncated_normal', seed: null },
      }),
    ).toBe('he_normal');
    expect(read({ class_name: 'LeCunUniform', config: { seed: null } })).toBe('lecun_uniform');
    expect(
      read({
        module: 'keras.initializers',
        class_name: 'GlorotUniform',
        config: { seed: null },
        registered_name: null,
      }),
    ).toBe('glorot_uniform');
    expect(read({ class_name: 'RandomNormal', config: { mean: 0, stddev: 0.05, seed: null } })).toBe('random_normal');
    expect(read({ class_name: 'RandomNormal', config: { mean: 0, stddev: 0.1, seed: null } })).toEqual({
      className: 'RandomNormal',
      config: { mean: 0, stddev: 0.1 },
    });
    const written = toModelTopology('m', [
      {
        className: 'Dense',
        name: 'd',
        units: 1,
        inputShape: [2],
        kernelInitializer: { className: 'RandomUniform', config: { minval: -1 } },
        biasInitializer: 'lecun_normal',
      },
    ]);
    expect(written.config.layers[0].config.kernel_initializer).toEqual({
      class_name: 'RandomUniform',
      config: { minval: -1, maxval: 0.05, seed: null },
    });
    expect(written.config.layers[0].config.bias_initializer).toEqual({
      class_name: 'LeCunNormal',
      config: { seed: null },
    });
  });

  it('reads Keras 2 (converter, model_config wrapper) and Keras 3 (batch_shape, module) topologies', () => {
    const keras2 = {
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 'sequential',
          layers: [
            {
              class_name: 'InputLayer',
              config: {
                batch_input_shape: [null, 19],
                dtype: 'float32',
                sparse: false,
                ragged: false,
                name: 'dense_input',
              },
            },
            {
              class_name: 'Dense',
              config: {
                name: 'dense',
                trainable: true,
                dtype: 'float32',
                units: 50,
                activation: 'relu',
                use_bias: true,
                kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
                bias_initializer: { class_name: 'Zeros', config: {} },
                kernel_regularizer: null,
                bias_regularizer: null,
                activity_regularizer: null,
                kernel_constraint: null,
                bias_constraint: null,
              },
            },
          ],
        },
      },
      training_config: { loss: 'mse' },
    };
    expect(fromModelTopology(keras2).layers).toEqual([
      { className: 'InputLayer', name: 'dense_input', shape: [19] },
      {
        className: 'Dense',
        name: 'dense',
        units: 50,
        activation: 'relu',
        useBias: true,
        kernelInitializer: 'glorot_uniform',
        biasInitializer: 'zeros',
      },
    ]);
    const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    const keras3 = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        trainable: true,
        dtype: policy,
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, 19], dtype: 'float32', sparse: false, name: 'input_layer' },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: {
              name: 'dense',
              trainable: true,
              dtype: policy,
              units: 1,
              activation: 'silu',
              use_bias: false,
              kernel_initializer: {
                module: 'keras.initializers',
                class_name: 'HeNormal',
                config: { seed: null },
                registered_name: null,
              },
            },
            build_config: { input_shape: [null, 19] },
          },
        ],
      },
    };
    expect(fromModelTopology(keras3).layers[1]).toEqual({
      className: 'Dense',
      name: 'dense',
      units: 1,
      activation: 'swish',
      useBias: false,
      kernelInitializer: 'he_normal',
      biasInitializer: 'zeros',
    });
  });

  const seq = (...layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 's', layers } });
  const input = { class_name: 'InputLayer', config: { batch_input_shape: [null, 4], name: 'in' } };

  it.each([
    [
      'an unsupported layer type',
      seq(input, { class_name: 'Conv3D', config: { name: 'conv', filters: 3 } }),
      `layer 1 (Conv3D 'conv'): layer type "Conv3D" is not supported; supported: InputLayer, Dense, Dropout, Conv2D, MaxPooling2D`,
    ],
    [
      'an unknown activation',
      seq(input, { class_name: 'Dense', config: { name: 'd', units: 2, activation: 'hard_sigmoid' } }),
      `layer 1 (Dense 'd'): unknown activation "hard_sigmoid"; supported: linear, relu`,
    ],
    [
      'a missing units',
      seq(input, { class_name: 'Dense', config: { name: 'd', activation: 'relu' } }),
      `layer 1 (Dense 'd'): missing field 'units'`,
    ],
    [
      'a missing rate',
      seq(input, { class_name: 'Dropout', config: { name: 'drop' } }),
      `layer 1 (Dropout 'drop'): missing field 'rate'`,
    ],
    [
      'a missing name',
      seq(input, { class_name: 'Dense', config: { units: 2 } }),
      `layer 1 (Dense): missing field 'name'`,
    ],
    [
      'a constraint',
      seq(input, {
        class_name: 'Dense',
        config: { name: 'd', units: 2, kernel_constraint: { class_name: 'MaxNorm', config: { max_value: 2 } } },
      }),
      `layer 1 (Dense 'd'): kernel_constraint is not supported. Received: kernel_constraint={"class_name":"MaxNorm"`,
    ],
    [
      'an unknown regularizer',
      seq(input, {
        class_name: 'Dense',
        config: { name: 'd', units: 2, kernel_regularizer: { class_name: 'OrthogonalRegularizer', config: {} } },
      }),
      `layer 1 (Dense 'd') kernel_regularizer must be 'l1', 'l2', 'l1_l2' or a regularizer`,
    ],
    [
      'an InputLayer after the first layer',
      seq(input, { ...input, config: { ...input.config, name: 'in2' } }),
      `layer 1 (InputLayer 'in2'): an InputLayer must be the first layer`,
    ],
    [
      'no input shape at all',
      seq({ class_name: 'Dense', config: { name: 'd', units: 2 } }),
      `layer 0 (Dense 'd'): the first layer has no batch_input_shape`,
    ],
    [
      'a bad input shape',
      seq({ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, -4] } }),
      `batch_input_shape must be [null, ...positive integers]. Received: batch_input_shape=[null,-4]`,
    ],
    [
      'duplicate layer names',
      seq(input, { class_name: 'Dropout', config: { name: 'in', rate: 0.1 } }),
      `Layer names must be unique; "in" is used more than once`,
    ],
    [
      'a functional model',
      { class_name: 'Functional', config: {} },
      `Only Sequential models can be read; this modelTopology has class_name "Functional"`,
    ],
  ])('rejects %s with a message naming it', (_what, topology, message) => {
    expect(() => fromModelTopology(topology)).toThrow(message);
  });

  it('rejects configs it cannot write, naming the layer', () => {
    expect(() => toModelTopology('m', [hitters[0], { className: 'Conv1D', name: 'c' }])).toThrow(
      `layer 1 (Conv1D 'c'): layer type "Conv1D" is not supported`,
    );
    expect(() => toModelTopology('m', [hitters[0], { ...hitters[1], activation: 'mish' }])).toThrow(
      `layer 1 (Dense 'dense'): unknown activation "mish"`,
    );
    expect(() => toModelTopology('m', [hitters[1]])).toThrow(
      `layer 0 (Dense 'dense'): the first layer must be an InputLayer or have an inputShape`,
    );
    expect(() => toModelTopology('m', [hitters[0], { ...hitters[2], rate: 1 }])).toThrow(
      'rate must be in [0, 1). Received: rate=1',
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Image layers: Conv2D, the poolings, Flatten, Reshape, rank-3 inputs.

/** A convnet as lockstep's `layer.getConfig()` gives it (full pairs, every option). */
const convnet: LayerConfig[] = [
  { className: 'InputLayer', name: 'input_layer', shape: [8, 8, 1] },
  {
    className: 'Conv2D',
    name: 'conv2d',
    filters: 4,
    kernelSize: [3, 3],
    strides: [1, 1],
    padding: 'same',
    dilationRate: [1, 1],
    activation: 'relu',
    useBias: true,
    kernelInitializer: 'zeros',
    biasInitializer: 'ones',
  },
  { className: 'MaxPooling2D', name: 'max_pooling2d', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
  {
    className: 'Conv2D',
    name: 'conv2d_1',
    filters: 3,
    kernelSize: [2, 3],
    strides: [1, 1],
    padding: 'valid',
    dilationRate: [2, 1],
    activation: 'linear',
    useBias: false,
    kernelInitializer: 'ones',
    biasInitializer: 'zeros',
  },
  { className: 'AveragePooling2D', name: 'average_pooling2d', poolSize: [2, 1], strides: [1, 1], padding: 'same' },
  { className: 'GlobalMaxPooling2D', name: 'global_max_pooling2d', keepdims: false },
  { className: 'Reshape', name: 'reshape', targetShape: [3, 1, 1] },
  { className: 'GlobalAveragePooling2D', name: 'global_average_pooling2d', keepdims: false },
  { className: 'Reshape', name: 'reshape_1', targetShape: [1, 1, 1] },
  { className: 'Flatten', name: 'flatten' },
];

/** The same model built by tfjs-layers itself, and the topology its `save` writes. */
async function tfjsConvnetTopology(): Promise<{
  class_name: string;
  config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> };
}> {
  const model = tfl.sequential({
    layers: [
      tfl.layers.inputLayer({ inputShape: [8, 8, 1], name: 'input_layer' }),
      tfl.layers.conv2d({
        name: 'conv2d',
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: 'zeros',
        biasInitializer: 'ones',
      }),
      tfl.layers.maxPooling2d({ name: 'max_pooling2d', poolSize: 2 }),
      tfl.layers.conv2d({
        name: 'conv2d_1',
        filters: 3,
        kernelSize: [2, 3],
        dilationRate: [2, 1],
        useBias: false,
        kernelInitializer: 'ones',
      }),
      tfl.layers.averagePooling2d({ name: 'average_pooling2d', poolSize: [2, 1], strides: 1, padding: 'same' }),
      tfl.layers.globalMaxPooling2d({ name: 'global_max_pooling2d' }),
      tfl.layers.reshape({ name: 'reshape', targetShape: [3, 1, 1] }),
      tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }),
      tfl.layers.reshape({ name: 'reshape_1', targetShape: [1, 1, 1] }),
      tfl.layers.flatten({ name: 'flatten' }),
    ],
  });
  let topology: unknown;
  await model.save(
    tf.io.withSaveHandler(
      async (a) => (
        (topology = a.modelTopology),
        { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
      ),
    ),
  );
  return topology as never;
}

describe('image layers in the topology', () => {
  it('round-trips Conv2D, the poolings, Flatten and Reshape through the Keras topology', () => {
    const topology = toModelTopology('convnet', convnet);
    expect(topology.config.layers[0].config.batch_input_shape).toEqual([null, 8, 8, 1]);
    expect(topology.config.layers[3]).toEqual({
      class_name: 'Conv2D',
      config: {
        filters: 3,
        kernel_size: [2, 3],
        strides: [1, 1],
        padding: 'valid',
        data_format: 'channels_last',
        dilation_rate: [2, 1],
        activation: 'linear',
        use_bias: false,
        kernel_initializer: { class_name: 'Ones', config: {} },
        bias_initializer: { class_name: 'Zeros', config: {} },
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
        name: 'conv2d_1',
        trainable: true,
        dtype: 'float32',
      },
    });
    expect(fromModelTopology(JSON.parse(JSON.stringify(topology)))).toEqual({ modelName: 'convnet', layers: convnet });
  });

  it('writes what tfjs-layers 4.22 writes for the same layers, and reads what it writes', async () => {
    const theirs = await tfjsConvnetTopology();
    const ours = toModelTopology('convnet', convnet);
    expect(ours.config.layers.map((l) => l.class_name)).toEqual(theirs.config.layers.map((l) => l.class_name));
    // Every field tfjs writes, with tfjs's value (ours adds data_format to Flatten and dtype everywhere, as Keras
    // does).
    theirs.config.layers.forEach((layer, i) => expect(ours.config.layers[i].config).toMatchObject(layer.config));
    expect(fromModelTopology(theirs).layers).toEqual(convnet);
  });

  it('writes short forms in full: int kernel sizes and strides as pairs, pooling strides defaulting to the window', () => {
    const topology = toModelTopology('m', [
      { className: 'Conv2D', name: 'c', filters: 2, kernelSize: 3, inputShape: [5, 5, 2] },
      { className: 'MaxPooling2D', name: 'p' },
      { className: 'Reshape', name: 'r', targetShape: [-1, 2] },
    ]);
    expect(topology.config.layers[0].config).toMatchObject({
      batch_input_shape: [null, 5, 5, 2],
      kernel_size: [3, 3],
      strides: [1, 1],
      dilation_rate: [1, 1],
      padding: 'valid',
      activation: 'linear',
      use_bias: true,
    });
    expect(topology.config.layers[1].config).toMatchObject({
      pool_size: [2, 2],
      strides: [2, 2],
      padding: 'valid',
      data_format: 'channels_last',
    });
    expect(topology.config.layers[2].config).toMatchObject({ target_shape: [-1, 2] });
    expect(fromModelTopology(topology).layers[0]).toEqual({
      className: 'InputLayer',
      name: 'c_input',
      shape: [5, 5, 2],
    });
    expect(fromModelTopology(topology).layers[3]).toEqual({ className: 'Reshape', name: 'r', targetShape: [-1, 2] });
  });

  it('reads Keras 3 (batch_shape, groups, keepdims, DTypePolicy) and Keras 2 (batch_input_shape on the first Conv2D, int sizes, null strides) convnets', () => {
    const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    const init = (class_name: string) => ({
      module: 'keras.initializers',
      class_name,
      config: class_name === 'Zeros' ? {} : { seed: null },
      registered_name: null,
    });
    const base = (name: string) => ({ name, trainable: true, dtype: policy });
    const keras3 = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        trainable: true,
        dtype: policy,
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { batch_shape: [null, 28, 28, 1], dtype: 'float32', sparse: false, name: 'input_layer' },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'Conv2D',
            config: {
              ...base('conv2d'),
              filters: 8,
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: 'valid',
              data_format: 'channels_last',
              dilation_rate: [1, 1],
              groups: 1,
              activation: 'relu',
              use_bias: true,
              kernel_initializer: init('GlorotUniform'),
              bias_initializer: init('Zeros'),
              kernel_regularizer: null,
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
            },
            registered_name: null,
            build_config: { input_shape: [null, 28, 28, 1] },
          },
          {
            module: 'keras.layers',
            class_name: 'MaxPooling2D',
            config: {
              ...base('max_pooling2d'),
              pool_size: [2, 2],
              padding: 'valid',
              strides: [2, 2],
              data_format: 'channels_last',
            },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'GlobalAveragePooling2D',
            config: { ...base('global_average_pooling2d'), data_format: 'channels_last', keepdims: true },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'Reshape',
            config: { ...base('reshape'), target_shape: [8] },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'Flatten',
            config: { ...base('flatten'), data_format: 'channels_last' },
            registered_name: null,
          },
          {
            module: 'keras.layers',
            class_name: 'Dense',
            config: {
              ...base('dense'),
              units: 10,
              activation: 'softmax',
              use_bias: true,
              kernel_initializer: init('GlorotUniform'),
              bias_initializer: init('Zeros'),
              kernel_regularizer: null,
              bias_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
              quantization_config: null,
            },
            registered_name: null,
          },
        ],
      },
    };
    expect(fromModelTopology(keras3).layers).toEqual([
      { className: 'InputLayer', name: 'input_layer', shape: [28, 28, 1] },
      {
        className: 'Conv2D',
        name: 'conv2d',
        filters: 8,
        kernelSize: [3, 3],
        strides: [1, 1],
        padding: 'valid',
        dilationRate: [1, 1],
        activation: 'relu',
        useBias: true,
        kernelInitializer: 'glorot_uniform',
        biasInitializer: 'zeros',
      },
      { className: 'MaxPooling2D', name: 'max_pooling2d', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
      { className: 'GlobalAveragePooling2D', name: 'global_average_pooling2d', keepdims: true },
      { className: 'Reshape', name: 'reshape', targetShape: [8] },
      { className: 'Flatten', name: 'flatten' },
      {
        className: 'Dense',
        name: 'dense',
        units: 10,
        activation: 'softmax',
        useBias: true,
        kernelInitializer: 'glorot_uniform',
        biasInitializer: 'zeros',
      },
    ]);

    const keras2 = {
      class_name: 'Sequential',
      config: {
        name: 'cnn',
        layers: [
          {
            class_name: 'Conv2D',
            config: {
              name: 'c',
              trainable: true,
              batch_input_shape: [null, 9, 9, 3],
              dtype: 'float32',
              filters: 2,
              kernel_size: 3,
              strides: 2,
              padding: 'same',
              data_format: 'channels_last',
              dilation_rate: 1,
              groups: 1,
              activation: 'swish',
              use_bias: true,
              kernel_initializer: { class_name: 'HeNormal', config: { seed: null } },
              bias_initializer: { class_name: 'Zeros', config: {} },
              kernel_regularizer: null,
              bias_regularizer: null,
              activity_regularizer: null,
              kernel_constraint: null,
              bias_constraint: null,
            },
          },
          {
            class_name: 'AveragePooling2D',
            config: {
              name: 'p',
              trainable: true,
              dtype: 'float32',
              pool_size: 3,
              padding: 'same',
              strides: null,
              data_format: 'channels_last',
            },
          },
          {
            class_name: 'GlobalMaxPooling2D',
            config: { name: 'g', trainable: true, dtype: 'float32', data_format: 'channels_last', keepdims: false },
          },
        ],
      },
    };
    expect(fromModelTopology(keras2).layers).toEqual([
      { className: 'InputLayer', name: 'c_input', shape: [9, 9, 3] },
      {
        className: 'Conv2D',
        name: 'c',
        filters: 2,
        kernelSize: [3, 3],
        strides: [2, 2],
        padding: 'same',
        dilationRate: [1, 1],
        activation: 'swish',
        useBias: true,
        kernelInitializer: 'he_normal',
        biasInitializer: 'zeros',
      },
      { className: 'AveragePooling2D', name: 'p', poolSize: [3, 3], strides: [3, 3], padding: 'same' },
      { className: 'GlobalMaxPooling2D', name: 'g', keepdims: false },
    ]);
  });

  const seq = (...layers: unknown[]) => ({ class_name: 'Sequential', config: { name: 's', layers } });
  const img = { class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 1], name: 'in' } };
  const conv = (config: Record<string, unknown>) =>
    seq(img, { class_name: 'Conv2D', config: { name: 'conv', filters: 2, kernel_size: [3, 3], ...config } });
  const layer = (class_name: string, config: Record<string, unknown>) =>
    seq(img, { class_name, config: { name: 'l', ...config } });

  it.each([
    [
      'channels_first on a Conv2D',
      conv({ data_format: 'channels_first' }),
      `layer 1 (Conv2D 'conv'): data_format must be 'channels_last' (channels_first is not supported). Received: data_format="channels_first"`,
    ],
    [
      'channels_first on a pooling',
      layer('MaxPooling2D', { data_format: 'channels_first' }),
      `layer 1 (MaxPooling2D 'l'): data_format must be 'channels_last'`,
    ],
    [
      'channels_first on a global pooling',
      layer('GlobalAveragePooling2D', { data_format: 'channels_first' }),
      `layer 1 (GlobalAveragePooling2D 'l'): data_format must be 'channels_last'`,
    ],
    [
      'channels_first on a Flatten',
      layer('Flatten', { data_format: 'channels_first' }),
      `layer 1 (Flatten 'l'): data_format must be 'channels_last'`,
    ],
    [
      'a grouped convolution',
      conv({ groups: 2 }),
      `layer 1 (Conv2D 'conv'): grouped convolutions are not supported (groups must be 1). Received: groups=2`,
    ],
    [
      'a bias constraint on a Conv2D',
      conv({ bias_constraint: { class_name: 'NonNeg', config: {} } }),
      `layer 1 (Conv2D 'conv'): bias_constraint is not supported. Received: bias_constraint={"class_name":"NonNeg"`,
    ],
    [
      'an activity regularizer on a pooling',
      layer('MaxPooling2D', { activity_regularizer: { class_name: 'L1', config: { l1: 0.1 } } }),
      `layer 1 (MaxPooling2D 'l'): activity_regularizer is not supported`,
    ],
    [
      'strides with dilation',
      conv({ strides: [2, 2], dilation_rate: [2, 2] }),
      `layer 1 (Conv2D 'conv'): strides > 1 together with dilation_rate > 1 is not supported. Received: strides=[2,2], dilation_rate=[2,2]`,
    ],
    [
      "tfjs's in-memory name for dilation",
      conv({ dilationRate: 2 }),
      `layer 1 (Conv2D 'conv'): unknown field 'dilationRate'; did you mean 'dilation_rate'?`,
    ],
    [
      'a LoRA Conv2D (Keras 3)',
      conv({ lora_rank: 4 }),
      `layer 1 (Conv2D 'conv'): lora_rank is not supported. Received: lora_rank=4`,
    ],
    [
      'causal padding',
      conv({ padding: 'causal' }),
      `layer 1 (Conv2D 'conv'): padding must be 'valid' or 'same'. Received: padding="causal"`,
    ],
    ['a missing kernel_size', layer('Conv2D', { filters: 2 }), `layer 1 (Conv2D 'l'): missing field 'kernel_size'`],
    [
      'a 3-D kernel_size',
      conv({ kernel_size: [3, 3, 3] }),
      `layer 1 (Conv2D 'conv'): kernel_size must be a positive integer or a pair of positive integers. Received: kernel_size=[3,3,3]`,
    ],
    [
      'a bad pool_size',
      layer('AveragePooling2D', { pool_size: [0, 2] }),
      `layer 1 (AveragePooling2D 'l'): pool_size must be a positive integer or a pair`,
    ],
    ['a missing target_shape', layer('Reshape', {}), `layer 1 (Reshape 'l'): missing field 'target_shape'`],
    [
      'two inferred dimensions',
      layer('Reshape', { target_shape: [-1, -1] }),
      `layer 1 (Reshape 'l'): target_shape must be a non-empty array of positive integers, with at most one -1. Received: target_shape=[-1,-1]`,
    ],
    [
      'a non-boolean keepdims',
      layer('GlobalMaxPooling2D', { keepdims: 1 }),
      `layer 1 (GlobalMaxPooling2D 'l'): keepdims must be a boolean. Received: keepdims=1`,
    ],
    [
      'a bad image input shape',
      seq({ class_name: 'InputLayer', config: { name: 'in', batch_shape: [null, 8, 0, 1] } }),
      `batch_input_shape must be [null, ...positive integers]. Received: batch_input_shape=[null,8,0,1]`,
    ],
  ])('rejects %s, naming the layer and the field', (_what, topology, message) => {
    expect(() => fromModelTopology(topology)).toThrow(message);
  });

  it('rejects image-layer configs it cannot write, naming the layer and the option', () => {
    const input = convnet[0];
    const write = (l: Record<string, unknown>) => () => toModelTopology('m', [input, { name: 'l', ...l } as never]);
    expect(write({ className: 'GlobalAveragePooling2D', keepdims: true })).toThrow(
      `layer 1 (GlobalAveragePooling2D 'l'): keepdims=true cannot be saved in the TensorFlow.js layers format: tfjs-layers 4.22 ignores keepdims`,
    );
    expect(write({ className: 'Conv2D', filters: 2, kernelSize: 3, dataFormat: 'channels_first' })).toThrow(
      `layer 1 (Conv2D 'l'): dataFormat must be 'channels_last'`,
    );
    expect(write({ className: 'Conv2D', filters: 0, kernelSize: 3 })).toThrow(
      `layer 1 (Conv2D 'l'): filters must be a positive integer. Received: filters=0`,
    );
    expect(write({ className: 'Conv2D', filters: 2, kernelSize: [3, 3], strides: 2, dilationRate: 2 })).toThrow(
      `layer 1 (Conv2D 'l'): strides > 1 together with dilationRate > 1 is not supported`,
    );
    expect(write({ className: 'MaxPooling2D', padding: 'full' })).toThrow(
      `layer 1 (MaxPooling2D 'l'): padding must be 'valid' or 'same'. Received: padding="full"`,
    );
    expect(write({ className: 'Reshape', targetShape: [0, 4] })).toThrow(
      `layer 1 (Reshape 'l'): targetShape must be a non-empty array of positive integers, with at most one -1`,
    );
    expect(() => toModelTopology('m', [{ className: 'InputLayer', name: 'in', shape: [8, -8, 1] }])).toThrow(
      `layer 0 (InputLayer 'in'): shape must be a non-empty array of positive integers. Received: shape=[8,-8,1]`,
    );
  });
});

describe('saveArtifacts / loadArtifacts', () => {
  const optimizerWeights = (w: NamedWeight[]): NamedWeight[] => [
    { name: 'iter', shape: [], data: Float32Array.of(7) },
    ...w.map((x, i) => ({ name: `${x.name}/m`, shape: x.shape, data: values(x.data.length, 100 + i) })),
  ];

  it('round-trips topology, weights, optimizer state and training config, leaving no temp files', async () => {
    const dir = join(freshDir(), 'nested', 'model');
    const weights = weightsFor(hitters);
    const trainingConfig = {
      loss: 'mean_squared_error',
      metrics: ['mean_absolute_error'],
      optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001 } },
    };
    const modelTopology = toModelTopology('hitters', hitters);
    await saveArtifacts(dir, { modelTopology, weights, optimizerWeights: optimizerWeights(weights), trainingConfig });

    expect((await readdir(dir)).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadArtifacts(dir);
    expect(loaded.modelTopology).toEqual(modelTopology);
    expect(loaded.weights).toEqual(weights);
    expect(loaded.optimizerWeights).toEqual(optimizerWeights(weights));
    expect(loaded.trainingConfig).toEqual(trainingConfig);
    expect(loaded.generatedBy).toBe('lockstep 0.2.0');

    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(json).toMatchObject({
      format: 'layers-model',
      convertedBy: null,
      weightsManifest: [{ paths: ['weights.bin'] }],
    });
    expect(json.weightsManifest[0].weights[0]).toEqual({ name: 'dense/kernel', shape: [19, 50], dtype: 'float32' });
    expect(json.weightsManifest[0].weights.at(-1)).toEqual({
      name: 'dense_1/bias/m',
      shape: [1],
      dtype: 'float32',
      group: 'optimizer',
    });
    // weights.bin: every value little-endian float32, in manifest order.
    const bin = await readFile(join(dir, 'weights.bin'));
    const all = [...weights, ...optimizerWeights(weights)];
    expect(bin.length).toBe(4 * all.reduce((s, w) => s + w.data.length, 0));
    expect(bin.readFloatLE(0)).toBe(weights[0].data[0]);
    expect(bin.readFloatLE(4 * (19 * 50))).toBe(weights[1].data[0]);
  });

  it('replaces a previous model in the same directory', async () => {
    const dir = freshDir();
    await saveArtifacts(dir, { modelTopology: toModelTopology('a', hitters), weights: weightsFor(hitters, 1) });
    await saveArtifacts(dir, { modelTopology: toModelTopology('b', hitters), weights: weightsFor(hitters, 2) });
    const loaded = await loadArtifacts(dir);
    expect(fromModelTopology(loaded.modelTopology).modelName).toBe('b');
    expect(loaded.weights).toEqual(weightsFor(hitters, 2));
    expect(loaded.optimizerWeights).toEqual([]);
    expect(loaded.trainingConfig).toBeUndefined();
  });

  it('checks weights before writing anything', async () => {
    const dir = freshDir();
    const bad = [{ name: 'dense/kernel', shape: [19, 50], data: new Float32Array(10) }];
    await expect(saveArtifacts(dir, { modelTopology: {}, weights: bad })).rejects.toThrow(
      `weight 'dense/kernel' has 10 values but shape [19,50] needs 950`,
    );
    const dup = weightsFor(hitters).slice(0, 1);
    await expect(saveArtifacts(dir, { modelTopology: {}, weights: dup, optimizerWeights: dup })).rejects.toThrow(
      `optimizerWeights: weight name 'dense/kernel' is used more than once`,
    );
    await expect(readdir(dir)).rejects.toThrow('ENOENT');
  });

  it('a save that fails part-way leaves no temp files behind', async () => {
    const dir = freshDir();
    await mkdir(join(dir, 'model.json', 'blocker'), { recursive: true }); // renaming onto a non-empty directory fails
    await expect(
      saveArtifacts(dir, { modelTopology: toModelTopology('h', hitters), weights: weightsFor(hitters) }),
    ).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  describe('corrupt or incomplete directories', () => {
    let dir: string;
    beforeAll(async () => {
      dir = freshDir();
      await saveArtifacts(dir, { modelTopology: toModelTopology('hitters', hitters), weights: weightsFor(hitters) });
    });
    const copyWith = async (edit: (files: { json: ModelJson; bin: Buffer }) => void | Promise<void>) => {
      const out = freshDir();
      await mkdir(out);
      const files = {
        json: JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')),
        bin: await readFile(join(dir, 'weights.bin')),
      };
      await edit(files);
      await writeFile(join(out, 'model.json'), JSON.stringify(files.json));
      await writeFile(join(out, 'weights.bin'), files.bin);
      return out;
    };

    it('reports a missing directory or model.json', async () => {
      await expect(loadArtifacts(join(root, 'nope'))).rejects.toThrow(`No model.json in '${join(root, 'nope')}'`);
    });

    it('reports invalid JSON, naming the file', async () => {
      const out = await copyWith(() => {});
      await writeFile(join(out, 'model.json'), '{"modelTopology": {');
      await expect(loadArtifacts(out)).rejects.toThrow(`${join(out, 'model.json')} is not valid JSON:`);
    });

    it('reports a truncated or oversized weights.bin with expected and received sizes', async () => {
      const short = await copyWith((f) => void (f.bin = f.bin.subarray(0, f.bin.length - 3)));
      await expect(loadArtifacts(short)).rejects.toThrow(
        `${join(short, 'weights.bin')}: expected 4204 bytes for 4 weights (from model.json's weightsManifest), got 4201 bytes`,
      );
      const long = await copyWith((f) => void (f.bin = Buffer.concat([f.bin, Buffer.alloc(8)])));
      await expect(loadArtifacts(long)).rejects.toThrow(
        "expected 4204 bytes for 4 weights (from model.json's weightsManifest), got 4212 bytes",
      );
    });

    it('reports a missing weights file', async () => {
      const out = await copyWith(() => {});
      await rm(join(out, 'weights.bin'));
      await expect(loadArtifacts(out)).rejects.toThrow(
        `Missing weights file '${join(out, 'weights.bin')}' (listed in ${join(out, 'model.json')})`,
      );
    });

    it.each([
      [
        'an unsupported dtype',
        (j: ModelJson) => (j.weightsManifest[0].weights[1].dtype = 'float16'),
        `weight 'dense/bias' has dtype "float16"; supported dtypes: float32, int32`,
      ],
      [
        'quantized weights',
        (j: ModelJson) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', min: 0, scale: 1 }),
        `weight 'dense/kernel' is quantized`,
      ],
      [
        'a bad shape',
        (j: ModelJson) => (j.weightsManifest[0].weights[0].shape = [19, -50]),
        `weight 'dense/kernel' has an invalid shape. Received: shape=[19,-50]`,
      ],
      [
        'a shape that does not fit the file',
        (j: ModelJson) => (j.weightsManifest[0].weights[0].shape = [19, 51]),
        'expected 4280 bytes for 4 weights',
      ],
      [
        'a graph model',
        (j: ModelJson) => (j.format = 'graph-model'),
        `has format "graph-model"; only 'layers-model' files`,
      ],
      ['a missing topology', (j: ModelJson) => delete j.modelTopology, 'has no modelTopology object'],
      [
        'a path outside the directory',
        (j: ModelJson) => (j.weightsManifest[0].paths = ['../../etc/passwd']),
        `weights path "../../etc/passwd" points outside the model directory`,
      ],
      [
        'a malformed manifest',
        (j: ModelJson) => (j.weightsManifest = [{ paths: 'weights.bin' }] as unknown as ModelJson['weightsManifest']),
        'weightsManifest[0] must be { paths: [...], weights: [...] }',
      ],
    ])('reports %s', async (_what, edit, message) => {
      const out = await copyWith((f) => void edit(f.json));
      await expect(loadArtifacts(out)).rejects.toThrow(message);
    });
  });

  it('reads weights split into shards and groups, as the tfjs converter writes them', async () => {
    const dir = freshDir();
    const weights = weightsFor(hitters);
    await saveArtifacts(dir, { modelTopology: toModelTopology('hitters', hitters), weights });
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const bin = await readFile(join(dir, 'weights.bin'));
    // Group 1: the first kernel, cut mid-float into two shards. Group 2: the rest in one file.
    const cut = 4 * 19 * 50;
    await writeFile(join(dir, 'group1-shard1of2.bin'), bin.subarray(0, 1001));
    await writeFile(join(dir, 'group1-shard2of2.bin'), bin.subarray(1001, cut));
    await writeFile(join(dir, 'group2-shard1of1.bin'), bin.subarray(cut));
    const specs = json.weightsManifest[0].weights;
    json.weightsManifest = [
      { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs.slice(0, 1) },
      { paths: ['group2-shard1of1.bin'], weights: specs.slice(1) },
    ];
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await rm(join(dir, 'weights.bin'));
    expect((await loadArtifacts(dir)).weights).toEqual(weights);
  });
});

// ---------------------------------------------------------------------------------------------------
// Interoperability with tfjs-layers itself: the same two files tfjs-node's file:// handler reads/writes.

describe('interoperability with tfjs-layers 4.22', () => {
  it('reads a model tfjs-layers saved (Dense relu, Dropout, Dense softmax, Adam state)', async () => {
    const dir = freshDir();
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 6, activation: 'relu', inputShape: [4] }),
        tfl.layers.dropout({ rate: 0.4 }),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.tensor2d(values(32, 9), [8, 4]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    await model.fit(x, y, { epochs: 2, verbose: 0 });
    await model.save(tfjsFileSaver(dir), { includeOptimizer: true });

    const loaded = await loadArtifacts(dir);
    const { layers } = fromModelTopology(loaded.modelTopology);
    const [d1, drop, d2] = model.layers.map((l) => l.name);
    expect(layers).toEqual([
      { className: 'InputLayer', name: `${d1}_input`, shape: [4] },
      {
        className: 'Dense',
        name: d1,
        units: 6,
        activation: 'relu',
        useBias: true,
        kernelInitializer: 'glorot_normal',
        biasInitializer: 'zeros',
      },
      { className: 'Dropout', name: drop, rate: 0.4 },
      {
        className: 'Dense',
        name: d2,
        units: 3,
        activation: 'softmax',
        useBias: true,
        kernelInitializer: 'glorot_normal',
        biasInitializer: 'zeros',
      },
    ]);
    const expected = model
      .getWeights()
      .map((t, i) => ({ name: model.weights[i].originalName, shape: t.shape, data: t.dataSync() }));
    expect(loaded.weights).toEqual(expected);
    // tfjs' Adam state: its int32 step counter ('iter'), then first moments, then second moments.
    expect(loaded.optimizerWeights.map((w) => w.name)).toEqual([
      'iter',
      ...expected.map((w) => `${w.name}/m`),
      ...expected.map((w) => `${w.name}/v`),
    ]);
    expect(loaded.optimizerWeights[0].data).toEqual(Float32Array.of(2));
    expect(loaded.trainingConfig).toMatchObject({
      loss: 'categorical_crossentropy',
      optimizer_config: { class_name: 'Adam' },
    });
  });

  it('reads a tfjs-layers model with an explicit InputLayer', async () => {
    const dir = freshDir();
    const model = tfl.sequential({
      layers: [
        tfl.layers.inputLayer({ inputShape: [5], name: 'features' }),
        tfl.layers.dense({ units: 2, activation: 'elu', name: 'out', kernelInitializer: 'heUniform' }),
      ],
    });
    await model.save(tfjsFileSaver(dir));
    const { layers } = fromModelTopology((await loadArtifacts(dir)).modelTopology);
    expect(layers).toEqual([
      { className: 'InputLayer', name: 'features', shape: [5] },
      {
        className: 'Dense',
        name: 'out',
        units: 2,
        activation: 'elu',
        useBias: true,
        kernelInitializer: 'he_uniform',
        biasInitializer: 'zeros',
      },
    ]);
  });

  // tfjs-layers computes these in float32; the reference is float64, so 1e-5 is the float32 rounding budget.
  it.each(ACTIVATIONS.map((a) => [a]))(
    'tfjs-layers loads what saveArtifacts wrote and predicts what a float64 forward pass gives (%s)',
    async (activation) => {
      const dir = freshDir();
      const layers: LayerConfig[] = [
        { className: 'InputLayer', name: 'input_layer', shape: [5] },
        {
          className: 'Dense',
          name: 'dense',
          units: 7,
          activation,
          useBias: true,
          kernelInitializer: 'glorot_uniform',
          biasInitializer: 'zeros',
        },
        { className: 'Dropout', name: 'dropout', rate: 0.25 },
        {
          className: 'Dense',
          name: 'dense_1',
          units: 3,
          activation: activation === 'softmax' ? 'linear' : 'softmax',
          useBias: true,
          kernelInitializer: 'he_normal',
          biasInitializer: 'zeros',
        },
      ];
      const weights = weightsFor(layers, 11);
      await saveArtifacts(dir, { modelTopology: toModelTopology('m', layers), weights });

      const model = await tfl.loadLayersModel(tfjsFileLoader(dir));
      const x = values(4 * 5, 3, 2);
      const got = (model.predict(tf.tensor2d(x, [4, 5])) as tf.Tensor).dataSync();
      const want = forward64(layers, weights, Array.from(x), 4);
      expect(got.length).toBe(want.length);
      want.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThan(1e-5));
    },
  );

  it('tfjs-layers ignores optimizer weights when the file has no trainingConfig', async () => {
    const dir = freshDir();
    const weights = weightsFor(hitters);
    await saveArtifacts(dir, {
      modelTopology: toModelTopology('m', hitters),
      weights,
      optimizerWeights: [{ name: 'iter', shape: [], data: Float32Array.of(3) }],
    });
    const model = await tfl.loadLayersModel(tfjsFileLoader(dir));
    expect(model.getWeights().map((t) => t.dataSync())).toEqual(weights.map((w) => w.data));
  });

  it('tfjs-layers restores a saved Adam state when the file has a trainingConfig', async () => {
    const dir = freshDir();
    const layers = hitters.slice(0, 2);
    const weights = weightsFor(layers);
    const moments = (tag: number) =>
      weights.map((w, i) => ({
        name: `${w.name}/${tag === 1 ? 'm' : 'v'}`,
        shape: w.shape,
        data: values(w.data.length, 50 * tag + i, 0.01).map(Math.abs),
      }));
    const optimizerWeights = [{ name: 'iter', shape: [], data: Float32Array.of(12) }, ...moments(1), ...moments(2)];
    // tfjs-layers camelCases these names and needs the long loss name but the short metric name ('mae', not
    // 'mean_absolute_error').
    const trainingConfig = {
      loss: 'mean_squared_error',
      metrics: ['mae'],
      optimizer_config: {
        class_name: 'Adam',
        config: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
      },
    };
    await saveArtifacts(dir, {
      modelTopology: toModelTopology('m', layers),
      weights,
      optimizerWeights,
      trainingConfig,
    });

    const model = await tfl.loadLayersModel(tfjsFileLoader(dir));
    const restored = await model.optimizer.getWeights();
    expect(restored.map((w) => Array.from(w.tensor.dataSync()))).toEqual(
      optimizerWeights.map((w) => Array.from(w.data)),
    );
  });
});

/** Dense stack forward pass in float64: x @ W + b, then the activation. */
function forward64(layers: LayerConfig[], weights: NamedWeight[], x: number[], rows: number): number[] {
  let h = x;
  let width = h.length / rows;
  for (const l of layers) {
    if (l.className !== 'Dense') continue;
    const W = weights.find((w) => w.name === `${l.name}/kernel`)!.data;
    const b = weights.find((w) => w.name === `${l.name}/bias`)!.data;
    const z = new Array<number>(rows * l.units).fill(0);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < l.units; j++) {
        let s = b[j];
        for (let k = 0; k < width; k++) s += h[r * width + k] * W[k * l.units + j];
        z[r * l.units + j] = s;
      }
    }
    h = l.activation === 'softmax' ? softmaxRows(z, l.units) : z.map(ACT64[l.activation]);
    width = l.units;
  }
  return h;
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const ACT64: Record<string, (v: number) => number> = {
  linear: (v) => v,
  relu: (v) => Math.max(0, v),
  tanh: Math.tanh,
  sigmoid,
  elu: (v) => (v > 0 ? v : Math.expm1(v)),
  selu: (v) => SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)),
  softplus: (v) => Math.log1p(Math.exp(v)),
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  swish: (v) => v * sigmoid(v),
};

function softmaxRows(z: number[], cols: number): number[] {
  const out = z.slice();
  for (let r = 0; r < z.length / cols; r++) {
    const row = z.slice(r * cols, (r + 1) * cols);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (out[r * cols + j] = v / s));
  }
  return out;
}

/** erf by its Maclaurin series: good to ~1e-10 for the |x| < 4 this test feeds it. */
function erf(x: number): number {
  if (Math.abs(x) > 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let k = 1; k < 200; k++) {
    term *= (-x * x) / k;
    sum += term / (2 * k + 1);
    if (Math.abs(term) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
