/** The TensorFlow.js layers format: topologies, weight manifests and model directories. */
export {
  toModelTopology,
  fromModelTopology,
  KERAS_VERSION,
  type ModelTopology,
  type KerasLayerJson,
} from './topology.js';
export {
  saveArtifacts,
  loadArtifacts,
  MODEL_JSON,
  WEIGHTS_BIN,
  type SaveArtifactsInput,
  type LoadedArtifacts,
  type TrainingConfig,
} from './artifacts.js';
export type { WeightSpec, WeightsManifest } from './weights.js';
export {
  ACTIVATIONS,
  type ActivationName,
  type InitializerSpec,
  type LayerConfig,
  type LayerConfigLike,
} from './layer-config.js';
