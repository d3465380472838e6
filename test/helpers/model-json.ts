/**
 * A saved model.json as the tests that damage it see it. A test that writes a value of the wrong shape casts it
 * through `unknown`, so each deliberate break shows at its line.
 */
export interface ModelJson {
  format?: string;
  modelTopology?: { class_name: string; config: { layers: LayerEntry[] } };
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
  trainingConfig: {
    lockstep: { loss?: string; metrics?: unknown; iterations?: unknown; optimizer: { className: string } };
  };
}

export interface LayerEntry {
  class_name: string;
  config: Record<string, unknown>;
}

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  group?: string;
  quantization?: unknown;
}
