/** The browser build's `node:crypto`: what lockstep's browser modules use of it (seed.ts's randomInt). */
export function randomInt(max: number): number {
  if (!Number.isSafeInteger(max) || max <= 0 || max > 2 ** 32)
    throw new RangeError(`randomInt: max must be an integer in 1..2^32. Received: ${max}`);
  // Rejection sampling: uniform over [0, max) without modulo bias.
  const limit = 2 ** 32 - (2 ** 32 % max);
  const word = new Uint32Array(1);
  do crypto.getRandomValues(word);
  while (word[0] >= limit);
  return word[0] % max;
}
