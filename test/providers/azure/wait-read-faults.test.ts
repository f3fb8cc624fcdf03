/**
 * A read that fails while an Azure run waits — the listing of a staging group its snapshots are
 * awaited in, or the status of a server-side copy — after the SDK's retries: the target keeps
 * what Azure confirmed before the failure, records the failing read with its exchanges, and ends
 * `partial`, never as one thrown error. A copy whose status could not be read may still be reading
 * through its export grant: the grant is left open for it (`export.left-open`), never revoked
 * under it. A resume adopts what was left and finishes it.
 *
 * The faults are armed from the injected sleep (the wait loops' pause), so the tests assert on
 * what was asked and recorded, never on time.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import type { AzureConfig } from '../../../src/providers/azure/config.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { LAB_CUSTOMER_SUBSCRIPTION } from '../../../src/lab/azure/scenario.js';
import { resumeCollected, useAzureFixture } from './fixture.js';

// Snapshots stay Creating for three listings, copies pending for four reads.
const fx = useAzureFixture({ lab: { operationPolls: 3, copyReads: 4 } });

const PER_DISK: Partial<AzureConfig> = { consistency: 'per-disk' };
const snapshotOf = (caseId: string, diskId: string) => [...fx.lab.estate.world.snapshots.values()].find((s) => s.tags.CaseId === caseId && s.sourceResourceId === diskId)!;
/** Where custody copies the disk's snapshot in the evidence container (export.ts `evidenceBlobName`). */
const evidenceBlobOf = (caseId: string, diskId: string) => {
  const snapshot = snapshotOf(caseId, diskId);
  return `${caseId}/${snapshot.tags.EvidenceId}/${snapshot.name}.vhd`;
};
const count = (kase: CaseHandle, type: string) => kase.entries().filter((e) => e.type === type).length;

describe('the listing a snapshot wait reads fails after retries', () => {
  it('keeps the snapshot Azure confirmed before it and exports it, records the failed listing (per group, with its exchanges) for the one still being made, and ends partial; a resume adopts that one', async () => {
    const caseId = 'IR-AZ-WAIT-LIST';
    const { vmOsDisk, vmDataDisk } = fx.lab.estate.ids;
    const kase = await fx.openTestCase(caseId);
    let pauses = 0;
    const sleep = async () => {
      if (count(kase, 'snapshot.created') < 2 || count(kase, 'export.requested') > 0) return;
      pauses += 1;
      // Before the first listing: the OS disk's snapshot is done, the data disk's is not.
      if (pauses === 1) snapshotOf(caseId, vmOsDisk).pendingPolls = 0;
      // Before the second: that listing fails past the SDK's retries (three attempts) with a 5xx,
      // not a throttle (a throttled listing is only a failed poll: snapshot-wait-cut.test.ts).
      if (pauses === 2) fx.lab.faults.push({ operation: 'snapshots.listByResourceGroup', status: 503, code: 'ServerBusy', message: 'busy', times: 3, retryAfterSeconds: 0 });
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    const entries = kase.entries();
    const osSnapshot = snapshotOf(caseId, vmOsDisk).id;
    const dataSnapshot = snapshotOf(caseId, vmDataDisk).id;

    // What Azure confirmed stands: the OS disk's snapshot completed, and it is exported.
    expect(entries.filter((e) => e.type === 'snapshot.completed').map((e) => e.data.snapshotId)).toEqual([osSnapshot]);
    expect(entries.filter((e) => e.type === 'evidence.hashed').map((e) => e.data.blob)).toEqual([evidenceBlobOf(caseId, vmOsDisk)]);
    expect(entries.filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toEqual([osSnapshot]);

    // The failed listing: one entry for its group, naming the snapshot it could not settle, with the exchanges ARM answered.
    const failing = fx.lab.armLog.filter((x) => x.operation === 'snapshots.listByResourceGroup' && x.status === 503);
    expect(failing).toHaveLength(3);
    const failed = entries.filter((e) => e.type === 'step.failed');
    // Then the snapshot it could not settle, left in Azure (as a stopped or timed-out wait leaves one).
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot-wait', 'snapshot']);
    expect(failed[0]!.data).toMatchObject({
      subscriptionId: LAB_CUSTOMER_SUBSCRIPTION,
      resourceGroup: fx.config.stagingResourceGroup,
      snapshots: [dataSnapshot],
      error: { code: 'E_CLOUD', requestId: failing[2]!.requestId },
      requestIds: failing.map((x) => x.requestId),
    });
    expect((failed[0]!.data.exchanges as Array<{ status: number }>).map((x) => x.status)).toEqual([503, 503, 503]);
    const left = `snapshot ${dataSnapshot} was asked for and may still be being made; a resume adopts it`;
    expect(failed[1]!.data).toMatchObject({ snapshotId: dataSnapshot, error: { code: 'E_CLOUD', message: expect.stringContaining('it may still be being made in Azure') }, leftInAzure: left });
    // Nothing is claimed of the data disk's snapshot: not completed, not exported.
    expect(entries.filter((e) => e.data.snapshotId === dataSnapshot || e.data.source === dataSnapshot).map((e) => e.type)).toEqual(['snapshot.requested', 'snapshot.created', 'step.failed']);

    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain(left);
    // Nothing was deleted: both snapshots are there.
    expect([...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toHaveLength(2);
    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);

    const resumed = await resumeCollected(fx, caseId, PER_DISK);
    expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId).sort()).toEqual([osSnapshot, dataSnapshot].sort());
    expect(resumed.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'snapshot.completed').map((e) => e.data.snapshotId)).toEqual([dataSnapshot]);
  });
});

describe("reading a copy's status fails", () => {
  it('keeps the grant that copy may still read through (export.left-open, no revoke), finishes the other disk, ends partial; a resume adopts the copy, revokes, hashes and seals', async () => {
    const caseId = 'IR-AZ-WAIT-COPY';
    const { vmOsDisk, vmDataDisk } = fx.lab.estate.ids;
    const kase = await fx.openTestCase(caseId);
    let armed = false;
    const sleep = async () => {
      if (armed || count(kase, 'copy.started') < 2) return;
      armed = true;
      // The next status read (the OS disk's copy: the first of the round) is refused.
      fx.lab.blob!.faults.push({ operation: 'Blob_GetProperties', times: 1, error: { status: 403, code: 'AuthorizationPermissionMismatch', message: 'This request is not authorized to perform this operation using this permission.' } });
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    const entries = kase.entries();
    const osSnapshot = snapshotOf(caseId, vmOsDisk);
    const dataSnapshot = snapshotOf(caseId, vmDataDisk);
    const osBlob = evidenceBlobOf(caseId, vmOsDisk);

    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => [e.data.step, e.data.source])).toEqual([['copy', osSnapshot.id]]);
    const refused = fx.lab.blob!.log.filter((x) => x.operation === 'Blob_GetProperties' && x.status === 403);
    expect(refused).toHaveLength(1);
    expect(failed[0]!.data).toMatchObject({ error: { code: 'E_ACCESS_DENIED' }, exchanges: [{ status: 403, requestId: refused[0]!.requestId }] });

    // The grant stays open for that copy; the other disk's grant is revoked once its copy is done.
    expect(entries.filter((e) => e.type === 'export.revoked').map((e) => e.data.source)).toEqual([dataSnapshot.id]);
    const leftOpen = entries.filter((e) => e.type === 'export.left-open');
    expect(leftOpen.map((e) => e.data.source)).toEqual([osSnapshot.id]);
    expect(leftOpen[0]!.data).toMatchObject({ blob: osBlob, copyId: expect.any(String), grantExpiresOn: expect.any(String), reason: expect.stringContaining('the status of the copy into') });
    expect(leftOpen[0]!.data.reason).toContain('not revoked (that would break the copy)');
    expect(osSnapshot.activeSas, 'the grant the copy may still read through').toBeDefined();
    expect(dataSnapshot.activeSas).toBeUndefined();
    // Only the copy whose status was read to the end is hashed.
    expect(entries.filter((e) => e.type === 'evidence.hashed').map((e) => e.data.blob)).not.toContain(osBlob);
    expect(entries.filter((e) => e.type === 'evidence.hashed')).toHaveLength(1);

    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain('is left open');
    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);

    const resumed = await resumeCollected(fx, caseId, PER_DISK);
    expect(resumed.filter((e) => e.data.blob === osBlob || e.data.source === osSnapshot.id).map((e) => e.type)).toEqual(['copy.adopted', 'copy.completed', 'export.revoked', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    expect(osSnapshot.activeSas).toBeUndefined();
  });
});
