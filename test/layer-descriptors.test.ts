/**
 * The layer descriptors (src/layers/descriptor.ts) are the one declaration of each layer type: these checks keep
 * them consistent with the classes, and keep user-given class names from reaching Object.prototype.
 */
import { describe, expect, it } from 'vitest';
import { LAYER_DESCRIPTORS, descriptorOf, layerFromConfig } from '../src/layers/index.js';
import { fromModelTopology } from '../src/io/index.js';
import { parseConfig } from '../src/cli/config.js';

/** The options a layer's constructor accepts, read from its "Valid options: ..." error. */
function constructorOptions(create: (options: never) => unknown): string[] {
  try {
    create({ notAnOption: 1 } as never);
  } catch (err) {
    const m = /Valid options: (.*)$/.exec((err as Error).message);
    if (m) return m[1].split(', ');
    throw err;
  }
  throw new Error('the constructor accepted an unknown option');
}

/** A valid value for each required option that is not a count. */
const REQUIRED_VALUES: Record<string, unknown> = { shape: [2], targetShape: [2], rate: 0.5, activation: 'relu' };

describe('layer descriptors', () => {
  it('name each class once, and each factory builds a layer of that class', () => {
    const names = LAYER_DESCRIPTORS.map((d) => d.className);
    expect(new Set(names).size).toBe(names.length);
    for (const d of LAYER_DESCRIPTORS) {
      const required = Object.fromEntries(
        Object.entries(d.options)
          .filter(([, s]) => !('default' in s))
          .map(([k]) => [k, REQUIRED_VALUES[k] ?? 2]),
      );
      expect(d.create(required as never).className).toBe(d.className);
    }
  });

  it("declare exactly the options their constructors accept (besides name and Keras 2's inputShape)", () => {
    for (const d of LAYER_DESCRIPTORS) {
      const accepted = constructorOptions(d.create).filter((o) => o !== 'name' && o !== 'inputShape');
      expect([d.className, ...accepted.sort()]).toEqual([d.className, ...Object.keys(d.options).sort()]);
    }
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'a class name %j is unknown everywhere',
    (name) => {
      expect(descriptorOf(name)).toBeUndefined();
      expect(() => layerFromConfig({ className: name, name: 'x' })).toThrow(/Unknown layer type/);
      const topology = {
        class_name: 'Sequential',
        config: { layers: [{ class_name: name, config: { name: 'x', batch_input_shape: [null, 2] } }] },
      };
      expect(() => fromModelTopology(topology)).toThrow(/is not supported; supported: InputLayer, Dense/);
      const config = { data: 'hitters', layers: [{ className: name }], compile: { loss: 'mse' } };
      expect(() => parseConfig(config, 'm.json')).toThrow(/layers\[0\]\.className must be one of Dense/);
    },
  );
});
