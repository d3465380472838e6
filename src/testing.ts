/**
 * Test-only switches that break lockstep on purpose, so the proof suites can show that they fail.
 *
 * Never set these outside tests. Workers pick them up from the LOCKSTEP_PLANT environment variable.
 */
/** batchnorm-per-shard: BatchNormalization normalizes each micro-shard by its own statistics (PyTorch DDP's default). */
export type PlantedBug = null | 'tanh' | 'unordered-reduction' | 'conv-filter' | 'batchnorm-per-shard';

export let plantedBug: PlantedBug = (process.env.LOCKSTEP_PLANT as PlantedBug) || null;

export function plantBug(bug: PlantedBug): void {
  plantedBug = bug;
}
