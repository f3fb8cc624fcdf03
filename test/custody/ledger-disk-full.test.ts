/**
 * A ledger whose disk fills mid-write: the write takes what fits (a short write), then fails with
 * ENOSPC. Collection must stop with nothing more claimed, and once space is freed the case must
 * still resume and verify: the half line the failed write left is not part of the ledger.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { caseOptions, useScratch } from './helpers.js';

// While `fill` is set, the next file write takes only its first `fill` bytes, then the disk is full.
const disk: { fill?: number } = {};
vi.mock('../../src/custody/fs-util.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/custody/fs-util.js')>();
  return {
    ...real,
    writeAllFd: async (fd: number, bytes: Uint8Array, position: number | null = null) => {
      const fits = disk.fill;
      if (fits === undefined) return real.writeAllFd(fd, bytes, position);
      disk.fill = undefined;
      await real.writeAllFd(fd, bytes.subarray(0, fits), position);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  };
});

describe('the ledger disk fills in the middle of an entry', () => {
  const scratch = useScratch();

  it('the entry and every later one are refused (E_LEDGER), the file keeps only whole entries, and the case resumes and verifies once space is freed', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.record('snapshot.requested', { volumeId: 'vol-1' }, 'arn:aws:ec2:us-east-1:222222222222:instance/i-1');
    const before = await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8');

    disk.fill = 40;
    await expect(kase.record('snapshot.created', { snapshotId: 'snap-1' })).rejects.toMatchObject({ code: 'E_LEDGER' });
    await expect(kase.record('target.completed', { status: 'collected' })).rejects.toMatchObject({ code: 'E_LEDGER' });
    await kase.release();
    // Nothing of the refused entries is left behind, not even the part that fitted.
    expect(await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8')).toBe(before);

    const resumed = await openCase({ ...caseOptions(scratch), resume: true });
    expect(resumed.entries().map((e) => e.type)).toEqual(['case.opened', 'snapshot.requested', 'case.resumed']);
    await resumed.close();
    const verified = await verifyCase(resumed.caseDir);
    expect(verified.problems).toEqual([]);
  });
});
