/**
 * The weights a topology needs, compared with the ones a file holds before any layer is built for real:
 * building a model draws every initial weight, so a topology that asks for a 20000 x 20000 Dense would take
 * gigabytes and minutes before its 136-byte weights.bin could be found wrong. Here each layer only computes
 * its shapes (`build` fixes shapes; the weights are drawn later, by the model).
 */
import type { NamedWeight } from '../callbacks/callback.js';
import { InputLayer, layerFromConfig } from '../layers/index.js';
import type { LayerConfig } from '../layers/layer.js';

/** Throws, naming the weight, unless `weights` holds every weight of `configs` with the right shape. */
export function checkTopologyWeights(configs: LayerConfig[], weights: NamedWeight[], where: string): void {
  const layers = configs.map((c) => layerFromConfig(c));
  let shape = layers[0] instanceof InputLayer ? layers[0].shape : layers[0]?.declaredInputShape;
  // Without an input shape nothing is built and no weight is read: the model's own checks apply.
  if (!shape) return;
  const byName = new Map(weights.map((w) => [w.name, w]));
  for (const layer of layers) {
    layer.build(shape);
    shape = layer.outputShape!;
    for (const p of layer.params()) {
      const name = `${layer.name}/${p.name}`;
      const found = byName.get(name);
      if (!found)
        throw new Error(
          `${where}: weight '${name}' is missing from weights.bin (found: ${[...byName.keys()].join(', ')})`,
        );
      if (found.shape.join(',') !== p.shape.join(','))
        throw new Error(`${where}: weight '${name}' has shape [${found.shape}] but layer needs [${p.shape}]`);
    }
  }
}
