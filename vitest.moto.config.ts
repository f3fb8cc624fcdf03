import { defineConfig } from 'vitest/config';

// The moto conformance suite: needs `python3 -m moto.server`, so it is kept out of `npm test`.
export default defineConfig({
  test: {
    include: ['test/moto/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
