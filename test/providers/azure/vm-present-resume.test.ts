/**
 * A resume of an Azure VM that is still there, after earlier runs of the case asked for its
 * disks' preservation one way (per-disk snapshots, or the crash-consistent restore point) or
 * both ways (a point that fell back, a change of `azure.consistency` between runs). Each disk is
 * preserved once: what an earlier run asked for is carried through, nothing new is asked for a
 * disk it already covers, and where both were asked for `disk.carried` says which is carried and
 * what is left in Azure. A restore point that holds no disk restore point of a disk (attached
 * after it was made) is carried for the disks it holds; only the missing disk gets a snapshot.
 * One fixture per test: some attach a disk to the estate's VM.
 */
import { describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { attachNewDataDisk, detachDataDisk, LAB_STAGING_RG } from '../../../src/lab/azure/scenario.js';
import type { AzureConfig } from '../../../src/providers/azure/config.js';
import { cutAt, evidenceVersions, resumeCollected, useAzureFixture } from './fixture.js';

const fx = useAzureFixture({}, { perTest: true });

const ofCase = (caseId: string) => ({
  snapshots: [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).map((s) => s.id).sort(),
  restorePoints: [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).flatMap((c) => [...c.points.values()]),
});

/** One run of the lab's VM, cut before any export; returns its entries. */
async function cutBeforeExport(caseId: string, resume: boolean, overrides: Partial<AzureConfig> = {}) {
  const kase = await fx.openTestCase(caseId, resume);
  await expect(collectAzureTarget(fx.run(cutAt(kase, 'export.requested'), overrides), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
  await kase.release();
  return kase.entries();
}

const NEW_REQUESTS = ['restorepoint.requested', 'snapshot.requested'];

describe('a resume of a VM still there, after an earlier run asked for its disks one way', () => {
  it('per-disk snapshots, then a resume under restore-point consistency: the snapshots are adopted and carried, no restore point is asked for', async () => {
    const caseId = 'IR-AZ-PRESENT-SNAP';
    await cutBeforeExport(caseId, false, { consistency: 'per-disk' });
    const taken = ofCase(caseId).snapshots;
    expect(taken).toHaveLength(2);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId).sort()).toEqual(taken);
    const chosen = resumed.filter((e) => e.type === 'consistency.chosen');
    expect(chosen.map((e) => e.data.mode)).toEqual(['per-disk']);
    expect(chosen[0]!.data.reason).toContain('an earlier run of the case asked for per-disk snapshots of these disks');
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(taken);
    expect(ofCase(caseId)).toEqual({ snapshots: taken, restorePoints: [] });
  });

  it('the restore point, then a resume under per-disk consistency: the point is adopted and carried, no snapshot is asked for', async () => {
    const caseId = 'IR-AZ-PRESENT-RP';
    const first = await cutBeforeExport(caseId, false);
    const point = first.find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    expect(resumed.filter((e) => [...NEW_REQUESTS, 'snapshot.adopted'].includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'restorepoint.adopted').map((e) => e.data.restorePointId)).toEqual([point]);
    expect(resumed.filter((e) => e.type === 'consistency.chosen').map((e) => e.data.mode)).toEqual(['crash-consistent-restore-point']);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.operation)).toEqual(['grantDiskRestorePointAccess', 'grantDiskRestorePointAccess']);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
  });
});

describe('a resume of a VM still there, after earlier runs asked for its disks both ways', () => {
  it('the restore point made, and snapshots a later run took beside it: each disk is carried once, by the point, and disk.carried names the snapshot left in Azure', async () => {
    const caseId = 'IR-AZ-PRESENT-BOTH';
    const first = await cutBeforeExport(caseId, false);
    const point = first.find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    // A second run under per-disk consistency, whose read of the point found nothing (a 404):
    // it took snapshots of both disks beside the point.
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 404, code: 'NotFound', message: 'The Resource was not found.', times: 1 });
    await cutBeforeExport(caseId, true, { consistency: 'per-disk' });
    const snapshots = ofCase(caseId).snapshots;
    const drps = [...ofCase(caseId).restorePoints[0]!.diskRestorePoints.values()].map((d) => d.id).sort();
    expect(snapshots).toHaveLength(2);
    expect(drps).toHaveLength(2);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => [...NEW_REQUESTS, 'snapshot.adopted'].includes(e.type))).toEqual([]);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data.disk).sort()).toEqual([fx.lab.estate.ids.vmOsDisk, fx.lab.estate.ids.vmDataDisk].sort());
    for (const e of carried) expect(e.data).toMatchObject({ carried: expect.stringContaining(point), notCarried: expect.stringContaining('/snapshots/'), reason: expect.stringContaining('left in Azure') });
    const exports = resumed.filter((e) => e.type === 'export.requested');
    expect(resumed.indexOf(carried[1]!)).toBeLessThan(resumed.indexOf(exports[0]!));
    expect(exports.map((e) => e.data.source).sort()).toEqual(drps);
    expect(Object.keys(evidenceVersions(fx, caseId))).toHaveLength(2);
    // Nothing deleted, nothing new.
    expect(ofCase(caseId).snapshots).toEqual(snapshots);
    expect(ofCase(caseId).restorePoints).toHaveLength(1);
  });

  it('the restore point the ledger shows made, answered Failed now: the snapshot carries each disk, and disk.carried says so (not the point)', async () => {
    const caseId = 'IR-AZ-PRESENT-BOTH-FAILED';
    await cutBeforeExport(caseId, false);
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 404, code: 'NotFound', message: 'The Resource was not found.', times: 1 });
    await cutBeforeExport(caseId, true, { consistency: 'per-disk' });
    const snapshots = ofCase(caseId).snapshots;
    const point = ofCase(caseId).restorePoints[0]!;
    const drps = [...point.diskRestorePoints.values()].map((d) => d.id).sort();
    point.failed = true;

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source).sort()).toEqual(snapshots);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data.carried).sort()).toEqual(snapshots);
    expect(carried.map((e) => e.data.notCarried).sort()).toEqual(drps);
    for (const e of carried) expect(e.data.reason).toContain(`restore point ${point.id} ended Failed`);
  });

  it('the snapshots an earlier run carried the disks by, one deleted in Azure after its copy finished: that copy carries its disk, and neither a new snapshot nor the restore point is taken up', async () => {
    const caseId = 'IR-AZ-PRESENT-BOTH-SNAP-GONE';
    await cutBeforeExport(caseId, false);
    // A second run that could not find the point took snapshots, exported and copied them, and was cut before hashing.
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 404, code: 'NotFound', message: 'The Resource was not found.', times: 1 });
    const second = await fx.openTestCase(caseId, true);
    await expect(collectAzureTarget(fx.run(cutAt(second, 'evidence.hashed'), { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await second.release();
    const copied = second.entries().filter((e) => e.type === 'copy.completed').map((e) => e.data.blob as string);
    expect(copied).toHaveLength(2);
    const [gone, kept] = ofCase(caseId).snapshots;
    const goneUniqueId = second.entries().find((e) => e.type === 'snapshot.completed' && e.data.snapshotId === gone)!.data.uniqueId;
    fx.lab.estate.world.snapshots.delete(gone!.toLowerCase());

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type) || e.type === 'export.requested')).toEqual([]);
    const carried = resumed.filter((e) => e.type === 'disk.carried').map((e) => e.data);
    const goneBlob = copied.find((b) => b.includes(`/${gone!.split('custody-').pop()}/`));
    expect(carried).toEqual(expect.arrayContaining([expect.objectContaining({ carried: goneBlob, copiedFrom: gone, copiedFromUniqueId: goneUniqueId }), expect.objectContaining({ carried: kept })]));
    expect(carried.map((e) => e.carried)).not.toContain(gone);
    expect(resumed.filter((e) => e.type === 'evidence.hashed').map((e) => e.data.blob).sort()).toEqual([...copied].sort());
    expect(ofCase(caseId).snapshots).toEqual([kept]);
  });

  it('the restore point refused and the run fell back to snapshots: a resume carries the snapshots and asks for no restore point again', async () => {
    const caseId = 'IR-AZ-PRESENT-REFUSED';
    fx.lab.faults.push({ operation: 'restorePoints.create', status: 400, code: 'OperationNotAllowed', message: 'Restore points are not allowed now.', times: 1 });
    const first = await cutBeforeExport(caseId, false);
    const point = first.find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    const taken = ofCase(caseId).snapshots;
    expect(taken).toHaveLength(2);

    const before = fx.lab.armLog.length;
    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    // The ledger shows the point refused, never made: the resume does not look for it, and
    // records no failure for an absence the ledger already explains.
    expect(first.filter((e) => e.type === 'step.failed').map((e) => e.data)).toEqual([expect.objectContaining({ step: 'restore-point', restorePointId: point })]);
    expect(resumed.filter((e) => e.type === 'step.failed')).toEqual([]);
    expect(fx.lab.armLog.slice(before).filter((x) => x.operation === 'restorePoints.get')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId).sort()).toEqual(taken);
    expect(resumed.filter((e) => e.type === 'consistency.chosen').map((e) => e.data.mode)).toEqual(['per-disk']);
    expect(ofCase(caseId)).toEqual({ snapshots: taken, restorePoints: [] });
  });
});

describe('Azure answers what an earlier run recorded made in another casing than it recorded it', () => {
  // ARM compares ids case-insensitively and may answer a resource group in another casing.
  const upperGroup = (id: string) => id.replace(/(\/resourceGroups\/)([^/]+)/, (_m, at: string, rg: string) => `${at}${rg.toUpperCase()}`);

  it('the restore point\'s disk restore points: they are the ones the ledger recorded made, and their completion and artefacts are not recorded a second time', async () => {
    const caseId = 'IR-AZ-PRESENT-DRP-CASING';
    await cutBeforeExport(caseId, false);
    const point = ofCase(caseId).restorePoints[0]!;
    const profile = (point.sourceMetadata as { storageProfile: { osDisk: { diskRestorePoint: { id: string } }; dataDisks: Array<{ diskRestorePoint: { id: string } }> } }).storageProfile;
    for (const d of [profile.osDisk, ...profile.dataDisks]) d.diskRestorePoint.id = upperGroup(d.diskRestorePoint.id);
    for (const d of point.diskRestorePoints.values()) d.id = upperGroup(d.id);

    await resumeCollected(fx, caseId);
    const all = fx.cases.at(-1)!.entries();
    expect(all.filter((e) => e.type === 'restorepoint.completed')).toHaveLength(1);
    expect(all.filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-restore-point')).toHaveLength(2);
  });

  it('the restore point a resume plans in another casing (the staging group as the config now spells it), whose read fails: the point the case asked for may still be there (leftInAzure), and no snapshots are taken beside it', async () => {
    const caseId = 'IR-AZ-PRESENT-RP-CASING';
    const first = await fx.openTestCase(caseId);
    // The point's PUT was sent, and the run cut before Azure's answer reached the ledger.
    await expect(collectAzureTarget(fx.run(cutAt(first, 'restorepoint.created')), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const requested = first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;

    const again = await fx.openTestCase(caseId, true);
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 403, code: 'AuthorizationFailed', message: 'not authorized to read the restore point', times: 1 });
    const outcome = await collectAzureTarget(fx.run(again, { stagingResourceGroup: LAB_STAGING_RG.toUpperCase() }), parseAzureTarget(fx.lab.estate.ids.vm));
    const resumed = again.entries().slice(again.entries().findLastIndex((e) => e.type === 'case.resumed'));
    const failed = resumed.filter((e) => e.type === 'step.failed' && e.data.step === 'restore-point');
    expect(failed).toHaveLength(1);
    // The same point, as ARM compares ids, in the casing this run planned it.
    expect(failed[0]!.data.restorePointId).not.toBe(requested);
    expect(String(failed[0]!.data.restorePointId).toLowerCase()).toBe(requested.toLowerCase());
    expect(failed[0]!.data.leftInAzure).toEqual(expect.stringContaining('was asked for and may still be being made'));
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    expect(outcome.status, outcome.reason).toBe('partial');
    await again.release();
  });

  it('the snapshots: they are the ones the ledger recorded made, and their completion and artefacts are not recorded a second time', async () => {
    const caseId = 'IR-AZ-PRESENT-SNAP-CASING';
    await cutBeforeExport(caseId, false, { consistency: 'per-disk' });
    for (const s of fx.lab.estate.world.snapshots.values()) if (s.tags.CaseId === caseId) s.id = upperGroup(s.id);

    await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    const all = fx.cases.at(-1)!.entries();
    expect(all.filter((e) => e.type === 'snapshot.completed')).toHaveLength(2);
    expect(all.filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-incremental-snapshot')).toHaveLength(2);
  });
});

describe('a restore point Succeeded without a disk restore point of one of the VM\'s disks', () => {
  it('a disk attached after the point was made: the point\'s disk restore points are carried, only the new disk is snapshotted, and the ledger says why', async () => {
    const caseId = 'IR-AZ-PRESENT-ATTACHED';
    const first = await cutBeforeExport(caseId, false);
    const point = first.find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    const drps = [...ofCase(caseId).restorePoints[0]!.diskRestorePoints.values()].map((d) => d.id).sort();
    const attached = attachNewDataDisk(fx.lab.estate, fx.lab.estate.ids.vm, 'web-1_data_1');

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => e.type === 'restorepoint.requested')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'restorepoint.adopted').map((e) => e.data.restorePointId)).toEqual([point]);
    expect(resumed.filter((e) => e.type === 'snapshot.requested').map((e) => e.data.disk)).toEqual([attached]);
    const chosen = resumed.filter((e) => e.type === 'consistency.chosen').map((e) => e.data);
    expect(chosen).toEqual([
      expect.objectContaining({ mode: 'crash-consistent-restore-point', restorePointId: point, disks: [fx.lab.estate.ids.vmOsDisk, fx.lab.estate.ids.vmDataDisk] }),
      expect.objectContaining({ mode: 'per-disk', disks: [attached], reason: expect.stringContaining(`the restore point ${point} has no disk restore point of this disk`) }),
    ]);
    const exports = resumed.filter((e) => e.type === 'export.requested');
    expect(exports.filter((e) => e.data.operation === 'grantDiskRestorePointAccess').map((e) => e.data.source).sort()).toEqual(drps);
    expect(exports.filter((e) => e.data.operation === 'grantSnapshotAccess')).toHaveLength(1);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(3);
    expect(ofCase(caseId).snapshots).toHaveLength(1);
  });
});

describe('a disk detached from the VM since an earlier run preserved it', () => {
  it.each([
    ['per-disk snapshots', 'per-disk', 'snapshot'],
    ['the restore point', 'restore-point', 'point'],
  ] as const)('%s: the detached disk\'s evidence the earlier run asked for is still carried through, and disk.carried says it is no longer attached', async (_label, consistency, way) => {
    const caseId = `IR-AZ-PRESENT-DETACHED-${way.toUpperCase()}`;
    const { ids } = fx.lab.estate;
    const first = await cutBeforeExport(caseId, false, { consistency });
    const asked = way === 'snapshot'
      ? first.find((e) => e.type === 'snapshot.requested' && e.data.disk === ids.vmDataDisk)!.data.snapshotId as string
      : (first.find((e) => e.type === 'restorepoint.completed')!.data.diskRestorePoints as Record<string, string>)[ids.vmDataDisk]!;
    const before = ofCase(caseId);
    detachDataDisk(fx.lab.estate, ids.vm, ids.vmDataDisk);

    const resumed = await resumeCollected(fx, caseId, { consistency });
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data)).toEqual([expect.objectContaining({ disk: ids.vmDataDisk, carried: asked, reason: expect.stringContaining('no longer attached to the VM') })]);
    const exports = resumed.filter((e) => e.type === 'export.requested');
    expect(resumed.indexOf(carried[0]!)).toBeLessThan(resumed.indexOf(exports[0]!));
    expect(exports.map((e) => e.data.source)).toContain(asked);
    expect(exports).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(Object.keys(evidenceVersions(fx, caseId))).toHaveLength(2);
    // Nothing new, nothing deleted.
    expect(ofCase(caseId).snapshots).toEqual(before.snapshots);
    expect(ofCase(caseId).restorePoints).toHaveLength(before.restorePoints.length);
  });

  it.each([
    ['the point carries it', false],
    ['the point answered Failed now: the snapshot carries it', true],
  ] as const)('asked for both ways (the restore point, and snapshots a later run took beside it), %s: the detached disk is carried once, and its disk.carried says it is detached as the attached disk\'s does not', async (_label, pointFailed) => {
    const caseId = `IR-AZ-PRESENT-DETACHED-BOTH-${pointFailed ? 'FAILED' : 'MADE'}`;
    const { ids } = fx.lab.estate;
    await cutBeforeExport(caseId, false);
    // A second run under per-disk consistency, whose read of the point found nothing (a 404).
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 404, code: 'NotFound', message: 'The Resource was not found.', times: 1 });
    await cutBeforeExport(caseId, true, { consistency: 'per-disk' });
    const before = ofCase(caseId);
    expect(before.snapshots).toHaveLength(2);
    const point = before.restorePoints[0]!;
    point.failed = pointFailed;
    detachDataDisk(fx.lab.estate, ids.vm, ids.vmDataDisk);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    const carried = resumed.filter((e) => e.type === 'disk.carried').map((e) => e.data);
    expect(carried.map((d) => d.disk).sort()).toEqual([ids.vmOsDisk, ids.vmDataDisk].sort());
    const data = carried.find((d) => d.disk === ids.vmDataDisk)!;
    const [by, other] = pointFailed ? ['/snapshots/', point.id] : [point.id, '/snapshots/'];
    expect(data).toMatchObject({ carried: expect.stringContaining(by), notCarried: expect.stringContaining(other), detached: true, reason: expect.stringContaining('no longer attached to the VM') });
    expect(carried.find((d) => d.disk === ids.vmOsDisk)).not.toHaveProperty('detached');
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toContain(data.carried);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(ofCase(caseId).snapshots).toEqual(before.snapshots);
  });

  it('asked for both ways, the snapshot recorded made and the restore point not (its run cut before its completion): the snapshot carries the detached disk, and disk.carried says it is detached', async () => {
    const caseId = 'IR-AZ-PRESENT-DETACHED-BOTH-SNAP';
    const { ids } = fx.lab.estate;
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'restorepoint.completed')), parseAzureTarget(ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    fx.lab.faults.push({ operation: 'restorePoints.get', status: 404, code: 'NotFound', message: 'The Resource was not found.', times: 1 });
    const second = await cutBeforeExport(caseId, true, { consistency: 'per-disk' });
    const snapshot = second.find((e) => e.type === 'snapshot.requested' && e.data.disk === ids.vmDataDisk)!.data.snapshotId as string;
    detachDataDisk(fx.lab.estate, ids.vm, ids.vmDataDisk);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    const data = resumed.filter((e) => e.type === 'disk.carried' && e.data.disk === ids.vmDataDisk).map((e) => e.data);
    expect(data).toEqual([expect.objectContaining({ carried: snapshot, notCarried: expect.stringContaining('/restorePoints/'), detached: true, reason: expect.stringContaining('no longer attached to the VM') })]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toContain(snapshot);
  });

  it.each([
    ['the run cut before its completion reached the ledger', 0],
    // A resume that adopted the point (a plain adoption names no disk restore point), cut as well.
    ['then adopted by a resume also cut before its completion reached the ledger', 1],
  ] as const)('the restore point asked for, %s: the disks its request named find the detached disk, whose disk restore point is carried once', async (_label, adoptions) => {
    const caseId = `IR-AZ-PRESENT-DETACHED-UNCOMPLETED-${adoptions}`;
    const { ids } = fx.lab.estate;
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'restorepoint.completed')), parseAzureTarget(ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const requested = first.entries().find((e) => e.type === 'restorepoint.requested')!.data;
    // The VM was described before the point was asked for: the request names the disks it held then.
    expect(requested.disks).toEqual([ids.vmOsDisk, ids.vmDataDisk]);
    expect(first.entries().filter((e) => e.type === 'restorepoint.completed')).toEqual([]);
    if (adoptions > 0) {
      const adopting = await fx.openTestCase(caseId, true);
      await expect(collectAzureTarget(fx.run(cutAt(adopting, 'restorepoint.completed')), parseAzureTarget(ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
      await adopting.release();
      expect(adopting.entries().filter((e) => e.type === 'restorepoint.adopted')).toHaveLength(1);
      expect(adopting.entries().filter((e) => e.type === 'restorepoint.completed')).toEqual([]);
    }
    const point = ofCase(caseId).restorePoints[0]!;
    const drp = [...point.diskRestorePoints.values()].find((d) => d.sourceDiskId.toLowerCase() === ids.vmDataDisk.toLowerCase())!.id;
    detachDataDisk(fx.lab.estate, ids.vm, ids.vmDataDisk);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data)).toEqual([expect.objectContaining({ disk: ids.vmDataDisk, carried: drp, detached: true, reason: expect.stringContaining('no longer attached to the VM') })]);
    const exports = resumed.filter((e) => e.type === 'export.requested');
    expect(resumed.indexOf(carried[0]!)).toBeLessThan(resumed.indexOf(exports[0]!));
    expect(exports.map((e) => e.data.source).filter((s) => s === drp)).toHaveLength(1);
    expect(exports).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(Object.keys(evidenceVersions(fx, caseId))).toHaveLength(2);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
  });

  it('the restore point named by Azure in another casing than the case asked for it: the detached disk is still found as one the point made, and carried', async () => {
    const caseId = 'IR-AZ-PRESENT-DETACHED-CASING';
    const { ids, world } = fx.lab.estate;
    // ARM compares ids case-insensitively and may answer a resource group in another casing:
    // from the point's first read on, the lab names it so (the request named it as planned).
    const recase = () => {
      for (const c of world.restorePointCollections.values()) {
        if (c.tags.CaseId !== caseId) continue;
        for (const p of c.points.values()) p.id = p.id.replace(/(\/resourceGroups\/)([^/]+)/, (_m, at: string, rg: string) => `${at}${rg.toUpperCase()}`);
      }
    };
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget({ ...fx.run(cutAt(first, 'export.requested')), sleep: async () => recase() }, parseAzureTarget(ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const requested = first.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    const completed = first.entries().find((e) => e.type === 'restorepoint.completed')!.data;
    expect(completed.restorePointId).not.toBe(requested);
    expect(String(completed.restorePointId).toLowerCase()).toBe(requested.toLowerCase());
    const asked = (completed.diskRestorePoints as Record<string, string>)[ids.vmDataDisk]!;
    detachDataDisk(fx.lab.estate, ids.vm, ids.vmDataDisk);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => NEW_REQUESTS.includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'disk.carried').map((e) => e.data)).toEqual([expect.objectContaining({ disk: ids.vmDataDisk, carried: asked, detached: true })]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toContain(asked);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
  });
});
