/**
 * A VM and one of its own disks named in one case: each disk is exported, copied into the
 * evidence container and hashed once, whichever target reaches it first; the other records
 * `disk.covered` and shares that result. Before, both exported the disk into one blob at once
 * (the snapshot name is deterministic, so it was reused) and hashed it twice.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import { verifyCase } from '../../../src/custody/index.js';
import { createAzureProvider } from '../../../src/providers/azure/provider.js';
import type { AzureConfig } from '../../../src/providers/azure/config.js';
import { parseConfig } from '../../../src/providers/config.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { useAzureFixture } from './fixture.js';

const fx = useAzureFixture();

async function collect(caseId: string, keys: string[], overrides: Partial<AzureConfig>, perScope: number, resume = false) {
  const kase = await fx.openTestCase(caseId, resume);
  const provider = createAzureProvider({ ...fx.config, ...overrides }, { sleep: async () => {} });
  const config = parseConfig({ concurrency: { perScope, total: 64 } });
  const result = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder: kase, targets: keys.map(parseTarget), options: DEFAULT_COLLECT_OPTIONS });
  return { kase, result };
}

/** How many times the lab's Blob Storage was asked to copy into each blob of the case. */
function copiesPerBlob(caseId: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const x of fx.lab.blob!.log.filter((e) => e.operation === 'Blob_StartCopyFromURL' && e.path.includes(`/${caseId}/`))) counts[x.path] = (counts[x.path] ?? 0) + 1;
  return counts;
}

describe('overlapping Azure targets: a VM and one of its own disks in one case', () => {
  it.each([
    ['vm-first', 'per-disk', 10],
    ['disk-first', 'per-disk', 10],
    ['disk-first', 'per-disk', 1],
    ['vm-first', 'restore-point', 10],
    ['disk-first', 'restore-point', 10],
  ] as const)('named %s (%s, perScope %i): each disk copied and hashed once, the other target covered, the case verifies', async (order, consistency, perScope) => {
    const { ids } = fx.lab.estate;
    const caseId = `IR-AZ-OVER-${order}-${consistency}-${perScope}`;
    // The disk in another spelling: ids compare case-insensitively.
    const keys = [ids.vm, ids.vmDataDisk.replace('/resourceGroups/', '/resourcegroups/')];
    if (order === 'disk-first') keys.reverse();
    const { kase, result } = await collect(caseId, keys, consistency === 'per-disk' ? { consistency: 'per-disk' } : {}, perScope);
    for (const outcome of result.outcomes) expect(outcome.status, `${outcome.target}: ${outcome.reason}`).toBe('collected');

    const hashed = kase.entries().filter((e) => e.type === 'evidence.hashed');
    expect(hashed).toHaveLength(2);
    const copies = copiesPerBlob(caseId);
    expect(Object.values(copies)).toEqual([1, 1]);
    expect(new Set(hashed.map((e) => e.data.blob)).size).toBe(2);
    // Whichever target reached the data disk first took it; the other says so and took nothing.
    const covered = kase.entries().filter((e) => e.type === 'disk.covered');
    expect(covered.map((e) => String(e.data.disk).toLowerCase())).toEqual([ids.vmDataDisk.toLowerCase()]);
    expect(new Set([covered[0]!.target, covered[0]!.data.coveredBy])).toEqual(new Set(keys));
    expect(kase.entries().filter((e) => e.type === 'export.requested')).toHaveLength(2);

    await kase.close({ outcomes: result.outcomes });
    const verified = await verifyCase(join(fx.dir, 'cases', caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it.each(['per-disk', 'restore-point'] as const)('%s: a later run of the case that names one of the VM\'s disks copies and hashes nothing again: the disk is covered by the VM', async (consistency) => {
    const { ids } = fx.lab.estate;
    const caseId = `IR-AZ-OVER-RESUME-${consistency}`;
    const overrides: Partial<AzureConfig> = consistency === 'per-disk' ? { consistency: 'per-disk' } : {};
    const first = await collect(caseId, [ids.vm], overrides, 10);
    expect(first.result.outcomes.map((o) => o.status)).toEqual(['collected']);
    await first.kase.release();
    const copies = copiesPerBlob(caseId);
    const snapshots = fx.lab.estate.world.snapshots.size;
    const { kase, result } = await collect(caseId, [ids.vmDataDisk], overrides, 10, true);
    // The VM is taken up from the first run (collected there, skipped here); the disk is new.
    expect(result.outcomes.map((o) => [o.target, o.status])).toEqual([[ids.vm, 'collected'], [ids.vmDataDisk, 'collected']]);
    expect(kase.entries().filter((e) => e.type === 'target.skipped').map((e) => e.target)).toEqual([ids.vm]);
    expect(copiesPerBlob(caseId)).toEqual(copies);
    expect(fx.lab.estate.world.snapshots.size).toBe(snapshots);
    expect(kase.entries().filter((e) => e.type === 'evidence.hashed')).toHaveLength(2);
    expect(kase.entries().filter((e) => e.type === 'disk.covered').map((e) => [e.target, e.data.coveredBy])).toEqual([[ids.vmDataDisk, ids.vm]]);
    await kase.close({ outcomes: result.outcomes });
    const verified = await verifyCase(join(fx.dir, 'cases', caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });
});
