/**
 * The suite's process sharing (vitest.config.ts): files of the shared folders run one after
 * another in one worker process. A file that mocks a module (the process has already loaded the
 * real one, and the mock would reach the files after it) or changes vitest's config must run in
 * a process of its own: this finds each such file and holds the config's list to them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const config = readFileSync(join(root, 'vitest.config.ts'), 'utf8');
const listed = (name: string) => [...config.matchAll(new RegExp(`const ${name} = \\[([^\\]]*)\\]`, 'g'))].flatMap((m) => [...m[1]!.matchAll(/'([^']+)'/g)].map((q) => q[1]!));
const sharedFolders = listed('SHARED_FOLDERS');
const ownProcess = listed('OWN_PROCESS');

/** Calls that leave something behind in a shared process. */
const PROCESS_WIDE = /\bvi\.(mock|doMock|setConfig)\(/;
/** Stubs a file may use in a shared process only if it takes them back. */
const STUBS: Array<[RegExp, RegExp]> = [
  [/\bvi\.stubEnv\(/, /\bvi\.unstubAllEnvs\(/],
  [/\bvi\.stubGlobal\(/, /\bvi\.unstubAllGlobals\(/],
];
const sharedFiles = () => sharedFolders.flatMap((folder) => testFiles(join('test', folder))).filter((file) => !ownProcess.includes(file));

function testFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1));
}

describe('test process sharing (vitest.config.ts)', () => {
  it('reads the shared folders and the own-process list from the config', () => {
    expect(sharedFolders).toContain('custody');
    expect(ownProcess.length).toBeGreaterThan(0);
  });

  it('runs every shared-folder file that mocks modules or changes vitest in a process of its own', () => {
    const needOwn = sharedFolders.flatMap((folder) => testFiles(join('test', folder))).filter((file) => PROCESS_WIDE.test(readFileSync(join(root, file), 'utf8')));
    expect(needOwn.length).toBeGreaterThan(0);
    expect(needOwn.filter((file) => !ownProcess.includes(file))).toEqual([]);
  });

  it('has every shared-process file that stubs the environment or a global take its stubs back', () => {
    const kept = sharedFiles().filter((file) => {
      const text = readFileSync(join(root, file), 'utf8');
      return STUBS.some(([stub, unstub]) => stub.test(text) && !unstub.test(text));
    });
    expect(kept).toEqual([]);
  });
});
