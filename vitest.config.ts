import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/moto/**', 'node_modules/**'],
    setupFiles: ['test/setup/no-leaked-handles.ts'],
    // Memory tests measure live memory after a forced GC (test/providers/kubernetes/live-memory.ts).
    execArgv: ['--expose-gc'],
    // Most suites wait on loopback labs and child processes rather than compute: two workers
    // even on 2 cores (vitest's default there is one) take the suite from ~395 s to ~250 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
