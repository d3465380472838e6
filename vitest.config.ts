import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Worker-pool tests spawn their own threads; running files one at a time keeps the 2-core machine honest.
    fileParallelism: false,
  },
});
