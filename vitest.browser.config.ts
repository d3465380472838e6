import { defineConfig } from 'vitest/config';

/** `npm run test:browser`: lockstep in headless Chromium (test/browser/), apart from `npm test`'s Node suite. */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.spec.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
