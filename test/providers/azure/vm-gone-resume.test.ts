/**
 * An Azure VM deleted between a cut-off run and its resume. Its per-disk snapshots, taken by the
 * cut-off run, are evidence. The resume does not leave them in the staging group: it adopts them
 * by the names the case gave them, then exports, copies, hashes and seals them. No disk is
 * snapshotted a second time. The VM itself could not be collected again, so the target ends
 * `partial`, never `collected`. One fixture per test: each deletes the estate's VM.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { key } from '../../../src/lab/azure/world.js';
import { cutAt, evidenceVersions, useAzureFixture } from './fixture.js';

const fx = useAzureFixture({}, { perTest: true });

describe('an Azure VM deleted between a cut-off run and its resume (per-disk snapshots)', () => {
  it.each([
    ['its disks kept', false],
    ['its disks deleted with it', true],
  ] as const)('%s: the snapshots the cut-off run took are adopted, exported, hashed and sealed, none is taken again, the VM is partial and says why, and the case verifies', async (_label, disksToo) => {
    const caseId = `IR-AZ-GONE-${disksToo ? 'DISKS' : 'VM'}`;
    const { ids, world } = fx.lab.estate;
    const target = parseAzureTarget(ids.vm);
    const first = await fx.openTestCase(caseId);
    // Cut once both snapshots are made and recorded, before any export.
    await expect(collectAzureTarget(fx.run(cutAt(first, 'export.requested'), { consistency: 'per-disk' }), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const taken = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort();
    expect(taken).toHaveLength(2);
    expect(evidenceVersions(fx, caseId)).toEqual({});

    // Whoever the case is about deletes the VM (and, with deleteOption Delete, its disks).
    world.vms.delete(key(ids.vm));
    if (disksToo) for (const disk of [ids.vmOsDisk, ids.vmDataDisk]) world.disks.delete(key(disk));

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again, { consistency: 'per-disk' }), target);
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));

    // No second snapshot: the two the cut-off run took are adopted by name.
    expect(resumed.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId).sort()).toEqual(taken);
    expect([...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toHaveLength(2);
    // Both copies are in the evidence container, hashed and sealed, and every grant is revoked.
    expect(Object.values(evidenceVersions(fx, caseId))).toEqual([1, 1]);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'export.revoked')).toHaveLength(2);
    for (const s of [...world.snapshots.values()].filter((x) => x.tags.CaseId === caseId)) expect(s.activeSas).toBeUndefined();
    // Partial, never collected: the VM itself is gone.
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('not found');
    expect(outcome.reason).toContain('2 of 2');

    await again.close({ outcomes: [outcome] });
    const verified = await verifyCase(again.caseDir);
    expect(verified.problems).toEqual([]);
  });

  it('restore point: the VM fails as before and its reason names the restore point the case keeps (no snapshot is taken of a disk left behind)', async () => {
    const caseId = 'IR-AZ-GONE-RP';
    const { ids, world } = fx.lab.estate;
    const target = parseAzureTarget(ids.vm);
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'export.requested')), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const point = first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    world.vms.delete(key(ids.vm));

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'snapshot.requested' || e.type === 'restorepoint.requested')).toEqual([]);
    expect([...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toEqual([]);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain(`the restore point an earlier run of the case took of it (${point}) is kept`);
    await again.release();
  });
});
