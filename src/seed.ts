/**
 * The global seed, as Keras's `set_random_seed`. A model draws its initial weights from the seed in force
 * when each layer is built; fit draws shuffling and dropout from `fit({ seed })`, else this seed.
 * With no seed set anywhere, each process picks one at random (training is then not reproducible).
 */
import { randomInt } from 'node:crypto';
import { badOption } from './errors.js';

let globalSeed: number | undefined;
let processSeed: number | undefined;

export function setRandomSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw badOption('setRandomSeed', 'seed', 'a non-negative safe integer', seed);
  globalSeed = seed;
}

/** The seed to use now: an explicit one, else the global seed, else a per-process random seed. */
export function currentSeed(explicit?: number): number {
  if (explicit !== undefined) {
    if (!Number.isSafeInteger(explicit) || explicit < 0)
      throw badOption('lockstep', 'seed', 'a non-negative safe integer', explicit);
    return explicit;
  }
  if (globalSeed !== undefined) return globalSeed;
  processSeed ??= randomInt(2 ** 31);
  return processSeed;
}
