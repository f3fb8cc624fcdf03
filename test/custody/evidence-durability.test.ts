import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openCase, type CaseHandle } from '../../src/custody/index.js';
import { caseOptions, useScratch } from './helpers.js';

// Every directory fsync the evidence store asks for, in order, with the real fsync still done.
const synced: string[] = [];
vi.mock('../../src/custody/fs-util.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/custody/fs-util.js')>();
  return {
    ...real,
    syncDirShared: (path: string, ...rest: unknown[]) => {
      synced.push(path);
      return (real.syncDirShared as (p: string, ...r: unknown[]) => Promise<void>)(path, ...rest);
    },
  };
});

describe('evidence folders are durable before their files are recorded', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  beforeEach(async () => {
    kase = await openCase(caseOptions(scratch));
    synced.length = 0;
  });
  afterEach(async () => {
    await kase.release();
  });

  it('a new evidence folder has its parent synced before the file placed in it is synced and recorded', async () => {
    const evidenceDir = join(kase.caseDir, 'evidence');
    await kase.storeEvidence({ evidenceId: 'ev-00000000000a', name: 'one.log', content: 'one', kind: 'pod-log', source: 's', target: 't' });
    const folder = join(evidenceDir, 'ev-00000000000a');
    // evidence/ itself was new too: the case folder holds its name.
    expect(synced).toContain(kase.caseDir);
    expect(synced).toContain(evidenceDir);
    expect(synced.indexOf(evidenceDir)).toBeLessThan(synced.lastIndexOf(folder));
    expect(kase.entries().filter((e) => e.type === 'evidence.stored')).toHaveLength(1);

    // A second file in the same folder adds no parent sync; a new folder syncs evidence/ again.
    synced.length = 0;
    await kase.storeEvidence({ evidenceId: 'ev-00000000000a', name: 'two.log', content: 'two', kind: 'pod-log', source: 's', target: 't' });
    expect(synced).toEqual([folder]);
    synced.length = 0;
    await kase.storeEvidence({ evidenceId: 'ev-00000000000b', name: 'one.log', content: 'one', kind: 'pod-log', source: 's', target: 't' });
    expect(synced).toEqual([evidenceDir, join(evidenceDir, 'ev-00000000000b')]);
  });
});
