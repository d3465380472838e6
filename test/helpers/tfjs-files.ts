/** tfjs-node's file:// format without tfjs-node: model.json + weights.bin, read and written as it does. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** A save handler writing model.json + weights.bin exactly as tfjs-node's NodeFileSystem does. */
export function tfjsFileSaver(dir: string) {
  return tf.io.withSaveHandler(async (a) => {
    await mkdir(dir, { recursive: true });
    const { modelTopology, format, generatedBy, convertedBy, trainingConfig } = a;
    const modelJson = {
      modelTopology,
      format,
      generatedBy,
      convertedBy,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      ...(trainingConfig ? { trainingConfig } : {}),
    };
    await writeFile(
      join(dir, 'weights.bin'),
      Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData as ArrayBuffer | ArrayBuffer[])),
    );
    await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
}

/** A load handler reading model.json + weights.bin as tfjs-node's NodeFileSystem does. */
export function tfjsFileLoader(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const bin = Buffer.concat(
          await Promise.all(manifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p)))),
        );
        return [manifest.flatMap((g) => g.weights), bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength)];
      });
    },
  };
}
