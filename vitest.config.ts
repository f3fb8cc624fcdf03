import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Test files that leave nothing behind in the process (no module mocks, no changed process
// state), in folders of small files: they share a worker process (isolate: false), which takes
// each file's worker start and its imports (the same src/ modules again and again) off the
// suite — about half of these folders' time. Every other file keeps a process of its own.
const SHARED_FOLDERS = ['architecture', 'cli', 'core', 'custody', 'infra', 'lab', 'policies'];
// In those folders, files that need their own process: vi.mock of node:fs (a shared process has
// already loaded the real module), or vi.setConfig (it would outlast the file).
// test/architecture/test-processes.test.ts finds every such file and fails if one is missing here.
const OWN_PROCESS = [
  'test/custody/case-access.test.ts',
  'test/custody/close-disk-full.test.ts',
  'test/custody/evidence-durability.test.ts',
  'test/custody/ledger-disk-full.test.ts',
  'test/custody/report-pair.test.ts',
  'test/custody/verify-unreadable.test.ts',
  'test/lab/gcp/contract.test.ts',
  'test/lab/gcp/resource-manager-contract.test.ts',
];
// Every other folder of test/ (read, not listed: a new folder is never left out of the suite).
const ISOLATED_FOLDERS = readdirSync(new URL('./test', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !SHARED_FOLDERS.includes(entry.name))
  .map((entry) => entry.name);
const EXCLUDE = ['test/moto/**', 'node_modules/**'];

export default defineConfig({
  test: {
    setupFiles: ['test/setup/no-leaked-handles.ts'],
    // Memory tests measure live memory after a forced GC (test/providers/kubernetes/live-memory.ts).
    execArgv: ['--expose-gc'],
    // Most suites wait on loopback labs and child processes rather than compute: two workers
    // even on 2 cores (vitest's default there is one) take the suite from ~395 s to ~250 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: SHARED_FOLDERS.map((folder) => `test/${folder}/**/*.test.ts`),
          exclude: [...EXCLUDE, ...OWN_PROCESS],
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'isolated',
          include: [`test/*.test.ts`, ...ISOLATED_FOLDERS.map((folder) => `test/${folder}/**/*.test.ts`), ...OWN_PROCESS],
          exclude: EXCLUDE,
        },
      },
    ],
  },
});
