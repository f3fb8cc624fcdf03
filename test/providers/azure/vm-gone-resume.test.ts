/**
 * An Azure VM deleted between a cut-off run and its resume. Its per-disk snapshots, taken by the
 * cut-off run, are evidence. The resume does not leave them in the staging group: it adopts them
 * by the names the case gave them, then exports, copies, hashes and seals them. No disk is
 * snapshotted a second time. A crash-consistent restore point the cut-off run asked for instead
 * is adopted by its id and its disk restore points carried through the same way; none is made
 * again, and a point deleted too fails the target with a reason naming it. The VM itself could
 * not be collected again, so the target ends `partial`, never `collected`. Where earlier runs
 * asked for both a restore point and snapshots, each disk is carried once (`disk.carried` says
 * which and what became of the other). One fixture per test: each deletes the estate's VM.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { key } from '../../../src/lab/azure/world.js';
import { evidenceIdFor } from '../../../src/core/case-id.js';
import { cutAt, evidenceVersions, useAzureFixture } from './fixture.js';

const fx = useAzureFixture({}, { perTest: true });

/** A run that makes the VM's restore point, cut before any export; then the VM is deleted. Returns the point's id. */
async function pointAskedThenVmGone(caseId: string): Promise<string> {
  const first = await fx.openTestCase(caseId);
  await expect(collectAzureTarget(fx.run(cutAt(first, 'export.requested')), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
  await first.release();
  fx.lab.estate.world.vms.delete(key(fx.lab.estate.ids.vm));
  return first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
}

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
});

describe('an Azure VM deleted between a cut-off run and its resume (crash-consistent restore point)', () => {
  const pointsOf = (caseId: string) => [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).flatMap((c) => [...c.points.values()]);

  it.each([
    ['cut before any export, its disks kept', 'export.requested', false],
    ['cut before the completed restore point was recorded, its disks deleted with it', 'restorepoint.completed', true],
  ] as const)('%s: the restore point the cut-off run asked for is adopted, its disk restore points exported, hashed and sealed, none is made again, the VM is partial and says why, and the case verifies', async (_label, cut, disksToo) => {
    const caseId = `IR-AZ-GONE-RP-${disksToo ? 'DISKS' : 'VM'}`;
    const { ids, world } = fx.lab.estate;
    const target = parseAzureTarget(ids.vm);
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, cut)), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const point = first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    const made = pointsOf(caseId);
    expect(made.map((p) => p.id)).toEqual([point]);
    const drps = [...made[0]!.diskRestorePoints.values()].map((d) => d.id).sort();
    expect(drps).toHaveLength(2);
    expect(evidenceVersions(fx, caseId)).toEqual({});

    world.vms.delete(key(ids.vm));
    if (disksToo) for (const disk of [ids.vmOsDisk, ids.vmDataDisk]) world.disks.delete(key(disk));

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));

    // Nothing new asked of Azure: the point the cut-off run asked for is adopted, by its id.
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested', 'snapshot.adopted'].includes(e.type))).toEqual([]);
    const adopted = resumed.filter((e) => e.type === 'restorepoint.adopted');
    expect(adopted).toHaveLength(1);
    expect(adopted[0]!.data).toMatchObject({ restorePointId: point, provisioningState: 'Succeeded', vmGone: true, requestIds: [expect.any(String)] });
    expect(Object.values(adopted[0]!.data.diskRestorePoints as Record<string, string>).sort()).toEqual(drps);
    expect(pointsOf(caseId)).toHaveLength(1);
    expect([...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toEqual([]);
    // Each disk restore point is exported as a normal run exports it: granted, copied, hashed,
    // sealed, revoked, in that order, and the disks' evidence is what the target lists.
    const exports = resumed.filter((e) => e.type === 'export.requested');
    expect(exports.map((e) => e.data.source).sort()).toEqual(drps);
    expect(exports.map((e) => e.data.operation)).toEqual(['grantDiskRestorePointAccess', 'grantDiskRestorePointAccess']);
    expect(resumed.indexOf(adopted[0]!)).toBeLessThan(resumed.indexOf(exports[0]!));
    expect(Object.values(evidenceVersions(fx, caseId))).toEqual([1, 1]);
    expect(resumed.filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-export')).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'export.revoked')).toHaveLength(2);
    for (const d of made[0]!.diskRestorePoints.values()) expect(d.activeSas).toBeUndefined();
    const disks = [ids.vmOsDisk, ids.vmDataDisk].map((d) => evidenceIdFor(caseId, d.toLowerCase()));
    expect(outcome.evidenceIds).toEqual(expect.arrayContaining(disks));
    // The restore point's record and its artefacts are on the ledger once, whichever run wrote them.
    const all = again.entries();
    expect(all.filter((e) => e.type === 'restorepoint.completed')).toHaveLength(1);
    expect(all.filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-restore-point')).toHaveLength(2);
    // Partial, never collected: the VM itself is gone.
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('not found');
    expect(outcome.reason).toContain(`the restore point an earlier run of the case asked for (${point}) was carried through (2 of 2 disks copied and hashed)`);

    await again.close({ outcomes: [outcome] });
    const verified = await verifyCase(again.caseDir);
    expect(verified.problems).toEqual([]);
  });

  it('the restore point deleted too: the VM fails, its reason names the restore point looked for, and nothing is made in its place', async () => {
    const caseId = 'IR-AZ-GONE-RP-GONE';
    const { ids, world } = fx.lab.estate;
    const target = parseAzureTarget(ids.vm);
    const point = await pointAskedThenVmGone(caseId);
    // Someone deletes the collection, and with it the point (RestorePointCollections_Delete).
    for (const [k, c] of world.restorePointCollections) if (c.tags.CaseId === caseId) world.restorePointCollections.delete(k);

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => ['restorepoint.requested', 'restorepoint.adopted', 'snapshot.requested', 'export.requested'].includes(e.type))).toEqual([]);
    expect(pointsOf(caseId)).toEqual([]);
    expect([...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toEqual([]);
    const failed = resumed.filter((e) => e.type === 'step.failed').map((e) => e.data);
    expect(failed).toEqual([expect.objectContaining({ step: 'describe' }), expect.objectContaining({ step: 'adopt-restore-point', restorePointId: point, error: expect.objectContaining({ code: 'E_NOT_FOUND' }) })]);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('not found');
    expect(outcome.reason).toContain(`the restore point an earlier run of the case asked for (${point}) is gone too`);
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });
});

describe('an Azure VM deleted after earlier runs asked for both a restore point and per-disk snapshots of its disks', () => {
  const pointsOf = (caseId: string) => [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).flatMap((c) => [...c.points.values()]);
  /**
   * A run that takes the VM's restore point, cut at `cut`; then a per-disk one, cut before any
   * export, whose read of the point found nothing (a 404), so it took snapshots beside it.
   * Returns the point's id.
   */
  const askedBothWays = async (caseId: string, cut: string, whileSnapshotting: () => void = () => {}) => {
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, cut)), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 404, code: 'NotFound', message: 'The Resource was not found.', times: 1 });
    const second = await fx.openTestCase(caseId, true);
    // The second run's only pause is its snapshot wait's, before the listing that settles them.
    const sleep = async () => whileSnapshotting();
    await expect(collectAzureTarget({ ...fx.run(cutAt(second, 'export.requested'), { consistency: 'per-disk' }), sleep }, target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await second.release();
    return first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
  };
  /**
   * Both asked for (cut before any export), the VM deleted, then a resume whose every read of the
   * point is throttled past the retries. Returns the point, the case's snapshots (sorted), the
   * resumed case and its outcome; the faults are cleared again.
   */
  const resumeWithPointThrottled = async (caseId: string) => {
    const { ids, world } = fx.lab.estate;
    const point = await askedBothWays(caseId, 'export.requested');
    const snapshots = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort();
    world.vms.delete(key(ids.vm));
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 429, code: 'TooManyRequests', message: 'throttled', times: 10, retryAfterSeconds: 0 });
    const kase = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(kase), parseAzureTarget(ids.vm));
    fx.lab.faults.length = 0;
    return { point, snapshots, kase, outcome };
  };

  it.each([
    // The first run recorded the point completed (its disk restore points are artefacts of the
    // case), a second, per-disk run the snapshots too: the point is preferred, one instant for all.
    ['both confirmed on the ledger: the disk restore points are carried', 'export.requested', 'point'],
    // The first run was cut before the point's completion reached the ledger; the per-disk run's
    // snapshots are confirmed there: they are carried, the point is left.
    ['only the snapshots confirmed on the ledger: the snapshots are carried', 'restorepoint.completed', 'snapshot'],
  ] as const)('%s, each disk once, and the ledger says what became of the other', async (_label, cut, carried) => {
    const caseId = `IR-AZ-GONE-BOTH-${carried.toUpperCase()}`;
    const { ids, world } = fx.lab.estate;
    const target = parseAzureTarget(ids.vm);
    const point = await askedBothWays(caseId, cut);
    const drps = [...pointsOf(caseId)[0]!.diskRestorePoints.values()].map((d) => d.id).sort();
    const snapshots = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort();
    expect(drps).toHaveLength(2);
    expect(snapshots).toHaveLength(2);

    world.vms.delete(key(ids.vm));
    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));

    // Nothing new asked of Azure, and each disk exported once, from what was carried.
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested'].includes(e.type))).toEqual([]);
    const exported = resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort();
    expect(exported).toEqual(carried === 'point' ? drps : snapshots);
    expect(Object.keys(evidenceVersions(fx, caseId))).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    // The other is not carried, and the ledger says so for each disk, naming both.
    const chosen = resumed.filter((e) => e.type === 'disk.carried');
    expect(chosen.map((e) => e.data.disk).sort()).toEqual([ids.vmOsDisk, ids.vmDataDisk].sort());
    for (const e of chosen) {
      expect(e.data).toMatchObject({ carried: carried === 'point' ? expect.stringContaining(point) : expect.stringContaining('/snapshots/'), notCarried: carried === 'point' ? expect.stringContaining('/snapshots/') : expect.stringContaining(point), reason: expect.any(String) });
    }
    expect(resumed.indexOf(chosen[1]!)).toBeLessThan(resumed.indexOf(resumed.find((e) => e.type === 'export.requested')!));
    // Recorded once Azure confirmed what is carried: after its adoption, never before.
    const adoption = resumed.findLastIndex((e) => e.type === (carried === 'point' ? 'restorepoint.adopted' : 'snapshot.adopted'));
    expect(adoption).toBeGreaterThan(-1);
    expect(resumed.indexOf(chosen[0]!)).toBeGreaterThan(adoption);
    if (carried === 'point') expect(resumed.filter((e) => e.type === 'snapshot.adopted')).toEqual([]);
    else expect(resumed.filter((e) => e.type === 'export.requested' && e.data.operation === 'grantDiskRestorePointAccess')).toEqual([]);
    // Nothing deleted.
    expect(pointsOf(caseId)).toHaveLength(1);
    expect([...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toHaveLength(2);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('not found');
    expect(outcome.reason).toContain('2 of 2');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });

  it('the restore point gone too: the snapshots are carried, the point\'s read is a failed step, and the reason names it', async () => {
    const caseId = 'IR-AZ-GONE-BOTH-RP-GONE';
    const { ids, world } = fx.lab.estate;
    const point = await askedBothWays(caseId, 'export.requested');
    const snapshots = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort();
    world.vms.delete(key(ids.vm));
    for (const [k, c] of world.restorePointCollections) if (c.tags.CaseId === caseId) world.restorePointCollections.delete(k);

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    const failed = resumed.filter((e) => e.type === 'step.failed').map((e) => e.data);
    expect(failed).toEqual([expect.objectContaining({ step: 'describe' }), expect.objectContaining({ step: 'adopt-restore-point', restorePointId: point, error: expect.objectContaining({ code: 'E_NOT_FOUND' }) })]);
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested', 'disk.carried'].includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain(`the restore point an earlier run of the case asked for (${point}) is gone too`);
    expect(outcome.reason).toContain('2 of 2');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });

  it('the restore point throttled past the retries: the snapshots are carried, and the reason says first that the point may still be there and a resume tries again', async () => {
    const { point, snapshots, kase: again, outcome } = await resumeWithPointThrottled('IR-AZ-GONE-BOTH-RP-THROTTLED');
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    const left = `restore point ${point} was asked for and may still be there; it could not be read, and a resume tries again to adopt it`;
    expect(resumed.filter((e) => e.type === 'step.failed').map((e) => e.data)).toEqual([expect.objectContaining({ step: 'describe' }), expect.objectContaining({ step: 'adopt-restore-point', restorePointId: point, leftInAzure: left })]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason!.startsWith(`${left}; `)).toBe(true);
    expect(outcome.reason).toContain('2 of 2');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });

  it('a resume that could not read the point carried the snapshots; a later resume that reads it carries the same snapshots again, never the disk restore points the ledger shows made: each disk exported once across the resumes', async () => {
    const caseId = 'IR-AZ-GONE-BOTH-UNREAD-THEN-READ';
    const { ids } = fx.lab.estate;
    // The first resume cannot read the point (throttled past the retries): the snapshots carry the disks.
    const { point, snapshots, kase: unread, outcome: first } = await resumeWithPointThrottled(caseId);
    await unread.close({ outcomes: [first] });
    expect(unread.entries().filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);

    // The next resume reads the point, whose disk restore points the ledger shows made.
    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    // Each disk's evidence is the export the earlier resume made: no disk restore point is exported beside it.
    expect(again.entries().filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);
    expect(Object.keys(evidenceVersions(fx, caseId))).toHaveLength(2);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data.carried).sort()).toEqual(snapshots);
    for (const e of carried) expect(e.data).toMatchObject({ notCarried: expect.stringContaining(point), reason: expect.stringContaining('an earlier run of the case exported the disk from') });
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('2 of 2');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });

  it('the restore point the ledger shows made, answered Failed now: the snapshots earlier runs made carry each disk instead (adopted, none asked for), and disk.carried says why', async () => {
    const caseId = 'IR-AZ-GONE-BOTH-RP-FAILED';
    const { ids, world } = fx.lab.estate;
    const point = await askedBothWays(caseId, 'export.requested');
    const snapshots = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort();
    pointsOf(caseId)[0]!.failed = true;
    world.vms.delete(key(ids.vm));

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    // Nothing new is asked of Azure for a VM that is gone: the snapshots are adopted by name.
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested'].includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId).sort()).toEqual(snapshots);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data.carried).sort()).toEqual(snapshots);
    for (const e of carried) expect(e.data).toMatchObject({ notCarried: expect.stringContaining(point), reason: expect.stringContaining(`restore point ${point} ended Failed`) });
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('the snapshots an earlier run of the case took of its disks were carried through (2 of 2');
    expect(outcome.reason).not.toContain(`(${point}) was carried`);
    // Nothing deleted.
    expect(pointsOf(caseId)).toHaveLength(1);
    expect([...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toHaveLength(2);
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });

  it('a snapshot to carry deleted since: disk.carried is recorded only for the disk whose carried copy was adopted, never for the one that was not', async () => {
    const caseId = 'IR-AZ-GONE-BOTH-SNAP-DELETED';
    const { ids, world } = fx.lab.estate;
    await askedBothWays(caseId, 'restorepoint.completed');
    const snapshots = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId);
    const osSnapshot = snapshots.find((s) => key(s.sourceResourceId) === key(ids.vmOsDisk))!;
    const dataSnapshot = snapshots.find((s) => key(s.sourceResourceId) === key(ids.vmDataDisk))!;
    world.vms.delete(key(ids.vm));
    // Someone deletes the OS disk's snapshot: the ledger shows it made, Azure no longer has it.
    world.snapshots.delete(key(osSnapshot.id));

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'step.failed' && e.data.step === 'snapshot').map((e) => e.data.snapshotId)).toEqual([osSnapshot.id]);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data)).toEqual([expect.objectContaining({ disk: ids.vmDataDisk, carried: dataSnapshot.id })]);
    expect(resumed.indexOf(carried[0]!)).toBeGreaterThan(resumed.findIndex((e) => e.type === 'snapshot.adopted' && e.data.snapshotId === dataSnapshot.id));
    expect(outcome.status, outcome.reason).toBe('partial');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });

  it('a later resume of the same disks records no second disk.carried: the ledger says it once, when the carried copy was adopted', async () => {
    const caseId = 'IR-AZ-GONE-BOTH-TWICE';
    const { ids, world } = fx.lab.estate;
    const point = await askedBothWays(caseId, 'export.requested');
    world.vms.delete(key(ids.vm));
    // A resume that adopts the point and is cut before any export, then one that finishes.
    const cutResume = await fx.openTestCase(caseId, true);
    await expect(collectAzureTarget(fx.run(cutAt(cutResume, 'export.requested')), parseAzureTarget(ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await cutResume.release();
    expect(cutResume.entries().filter((e) => e.type === 'disk.carried')).toHaveLength(2);

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'disk.carried')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).every((s) => String(s).startsWith(point))).toBe(true);
    const all = again.entries().filter((e) => e.type === 'disk.carried');
    expect(all.map((e) => e.data.disk).sort()).toEqual([ids.vmOsDisk, ids.vmDataDisk].sort());
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('2 of 2');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });


  it('Azure answers the snapshots\' ids in another casing than the case asked for them: they are still the snapshots the ledger recorded made, and are carried as Azure names them', async () => {
    const caseId = 'IR-AZ-GONE-BOTH-CASING';
    const { ids, world } = fx.lab.estate;
    // ARM compares ids case-insensitively and may answer a resource group in another casing.
    const recase = () => {
      for (const s of world.snapshots.values()) if (s.tags.CaseId === caseId) s.id = s.id.replace(/(\/resourceGroups\/)([^/]+)/, (_m, p: string, rg: string) => `${p}${rg.toUpperCase()}`);
    };
    const point = await askedBothWays(caseId, 'restorepoint.completed', recase);
    const snapshots = [...world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort();
    expect(snapshots.every((id) => /resourceGroups\/[^/a-z]+\//.test(id))).toBe(true);
    world.vms.delete(key(ids.vm));

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    // The ledger recorded the snapshots made (in Azure's casing), not the point: the snapshots are carried.
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data.carried).sort()).toEqual(snapshots);
    for (const e of carried) expect(e.data.notCarried).toContain(point);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('2 of 2');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });
});

describe('an Azure VM deleted between runs whose restore point Azure does not answer for (throttled, or a server error)', () => {
  const pointsOf = (caseId: string) => [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).flatMap((c) => [...c.points.values()]);

  it.each([
    ['throttled (429)', 429, 'TooManyRequests'],
    ['a server error (503)', 503, 'ServiceUnavailable'],
  ] as const)('%s: the point may still be there, so the VM is partial, not failed, the ledger says it is left in Azure, and a later resume carries it', async (_label, status, code) => {
    const caseId = `IR-AZ-GONE-RP-UNREAD-${status}`;
    const { ids } = fx.lab.estate;
    const target = parseAzureTarget(ids.vm);
    const point = await pointAskedThenVmGone(caseId);
    // Every attempt of the point's read (the SDK's retries too) is answered so.
    fx.lab.faults.push({ operation: 'restorePoints.get', status, code, message: 'not now', times: 10, retryAfterSeconds: 0 });

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    fx.lab.faults.length = 0;
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => ['restorepoint.requested', 'restorepoint.adopted', 'snapshot.requested', 'export.requested', 'disk.carried'].includes(e.type))).toEqual([]);
    const left = `restore point ${point} was asked for and may still be there; it could not be read, and a resume tries again to adopt it`;
    const failed = resumed.filter((e) => e.type === 'step.failed').map((e) => e.data);
    expect(failed).toEqual([expect.objectContaining({ step: 'describe' }), expect.objectContaining({ step: 'adopt-restore-point', restorePointId: point, leftInAzure: left })]);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain(left);
    expect(outcome.reason).toContain('not found');
    expect(outcome.reason).toContain(`the restore point an earlier run of the case asked for (${point}) could not be read`);
    // Nothing made or deleted in Azure.
    expect(pointsOf(caseId)).toHaveLength(1);
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);

    // Azure answers again: the next resume adopts the point and carries it through.
    const later = await fx.openTestCase(caseId, true);
    const carried = await collectAzureTarget(fx.run(later), target);
    expect(carried.status, carried.reason).toBe('partial');
    expect(carried.reason).toContain(`the restore point an earlier run of the case asked for (${point}) was carried through (2 of 2 disks copied and hashed)`);
    await later.close({ outcomes: [carried] });
    expect((await verifyCase(later.caseDir)).problems).toEqual([]);
  });
});

describe('an Azure VM deleted while the restore point an earlier run asked for is still being made', () => {
  // Restore points stay Creating for three reads: the resume adopts the point and waits on it.
  const fx = useAzureFixture({ lab: { operationPolls: 3 } }, { perTest: true });

  /** A run cut once the point's PUT was sent, then the VM deleted; returns the case id's point. */
  async function askedThenGone(caseId: string) {
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'restorepoint.created')), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    fx.lab.estate.world.vms.delete(key(fx.lab.estate.ids.vm));
    return first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
  }

  it.each([
    ['the resume is stopped while it waits on the point', 'stop'],
    ['the point cannot be read to the end (403)', 'unreadable'],
  ] as const)('%s: partial, and the reason says once that the point may still be being made', async (_label, how) => {
    const caseId = `IR-AZ-GONE-RP-LEFT-${how.toUpperCase()}`;
    const point = await askedThenGone(caseId);
    const again = await fx.openTestCase(caseId, true);
    const controller = new AbortController();
    let armed = false;
    const sleep = async () => {
      if (armed) return;
      armed = true;
      if (how === 'stop') controller.abort(new Error('interrupted by the user'));
      else fx.lab.faults.push({ operation: 'restorePoints.get', status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action read.', times: 1 });
    };
    const outcome = await collectAzureTarget({ ...fx.run(again), sleep, signal: controller.signal }, parseAzureTarget(fx.lab.estate.ids.vm));
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested', 'export.requested'].includes(e.type))).toEqual([]);
    const left = `restore point ${point} was asked for and may still be being made; a resume adopts it`;
    const failed = resumed.filter((e) => e.type === 'step.failed').map((e) => e.data);
    expect(failed).toEqual([expect.objectContaining({ step: 'describe' }), expect.objectContaining({ step: 'restore-point', restorePointId: point, leftInAzure: left })]);
    const describeError = (failed[0]!.error as { message: string }).message;
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toBe(`${left}; ${describeError}; the restore point an earlier run of the case asked for (${point}) was not carried through in this run (0 of 2 disks copied and hashed)`);
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).problems).toEqual([]);
  });
});
