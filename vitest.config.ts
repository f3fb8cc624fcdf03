import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/moto/**', 'node_modules/**'],
    setupFiles: ['test/setup/no-leaked-handles.ts'],
    // Memory tests measure live memory after a forced GC (test/providers/kubernetes/live-memory.ts).
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
