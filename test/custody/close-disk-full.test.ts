/**
 * The disk fills while a case is closed: the manifest's temp file, made before case.closed is
 * appended, cannot be written. The close fails as a case-folder write (E_LEDGER, naming the
 * manifest) before the ledger is sealed, so the case is left open (never closed without a
 * manifest), and a resume of the case closes it with a manifest, after which it verifies.
 */
import * as fsp from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { caseOptions, useScratch } from './helpers.js';

// While set, making a folder fails as on a full disk.
let full = false;
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fsp>();
  return {
    ...real,
    mkdir: async (...args: Parameters<typeof real.mkdir>) => {
      if (full) throw Object.assign(new Error(`ENOSPC: no space left on device, mkdir '${String(args[0])}'`), { code: 'ENOSPC' });
      return real.mkdir(...args);
    },
  };
});

describe('the disk fills while the case is closed', () => {
  const scratch = useScratch();

  it('the close fails with E_LEDGER naming the manifest, and a resume closes the case again so that it verifies', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.record('artifact.recorded', { evidenceId: 'ev-00000000000a', kind: 'ebs-snapshot', source: 'vol', cloudIds: { snapshotId: 'snap-1' } });
    full = true;
    const failed = await kase.close({ outcomes: [] }).catch((error: unknown) => error);
    full = false;
    expect(failed).toBeInstanceOf(CustodyError);
    expect(failed).toMatchObject({ code: 'E_LEDGER', message: expect.stringContaining('manifest.json') });
    expect(kase.entries().at(-1)?.type).toBe('artifact.recorded');
    expect((await verifyCase(kase.caseDir, { requireClosed: true })).problems).toEqual([expect.objectContaining({ kind: 'not-closed', severity: 'error' })]);

    const again = await openCase({ ...caseOptions(scratch), resume: true });
    expect(again.entries().at(-1)).toMatchObject({ type: 'case.resumed', data: { wasClosed: false } });
    await again.close({ outcomes: [] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });
});
