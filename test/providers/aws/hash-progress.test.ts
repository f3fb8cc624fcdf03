import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileBlockLog, HASH_PROGRESS_DIR } from '../../../src/providers/aws/hash-progress.js';

// A pause between a starting disk's `mkdir` of the progress folder and its first `open` in it:
// the window in which another disk finishing used to remove the folder.
let beforeRead: ((path: string) => Promise<void>) | undefined;
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fsp>();
  return {
    ...real,
    readFile: async (...args: Parameters<typeof real.readFile>) => {
      await beforeRead?.(String(args[0]));
      return real.readFile(...args);
    },
  };
});

const geometry = (snapshotId: string) => ({ snapshotId, volumeBytes: 8 * 512 * 1024, blockSize: 512 * 1024 });
const dirs: string[] = [];
afterEach(() => {
  beforeRead = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('hash progress files (several disks of one case)', () => {
  it('a disk finishing while another starts leaves the starting disk its folder; the folder goes with the last disk', async () => {
    const caseDir = mkdtempSync(join(tmpdir(), 'custody-progress-'));
    dirs.push(caseDir);
    const first = new FileBlockLog(caseDir, 'snap-a');
    await first.resumeFor(geometry('snap-a'));
    await first.range(1);
    const second = new FileBlockLog(caseDir, 'snap-b');
    beforeRead = async (path) => {
      if (path.endsWith('snap-b.jsonl')) await first.finish();
    };
    await second.resumeFor(geometry('snap-b'));
    second.block({ index: 0, checksum: 'x', requestId: undefined });
    await second.range(1);
    expect(existsSync(join(caseDir, HASH_PROGRESS_DIR, 'snap-a.jsonl'))).toBe(false);
    expect(existsSync(join(caseDir, HASH_PROGRESS_DIR, 'snap-b.jsonl'))).toBe(true);
    await second.finish();
    expect(existsSync(join(caseDir, HASH_PROGRESS_DIR))).toBe(false);
  });
});
