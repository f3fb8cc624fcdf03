/**
 * A resume of a VM still there, after an earlier run snapshotted its disks and copied them into
 * the evidence container; meanwhile one disk's snapshot was deleted in Azure. Snapshot and blob
 * names derive from the evidence id, so a new snapshot of the disk takes the deleted one's id,
 * and the blob copied from the deleted one would be adopted as that new snapshot's export: a
 * false claim of where its bytes came from.
 * - The copy the ledger recorded finished is the preserved evidence: it is carried through
 *   (hashed, sealed, named as exported from the snapshot it was copied from), no new snapshot.
 * - A copy not recorded finished carries nothing: the resume takes a new snapshot, and exports it
 *   under a blob name of its own, never adopting the copy of the deleted one for it.
 */
import { describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { key } from '../../../src/lab/azure/world.js';
import { cutAt, evidenceVersions, resumeCollected, useAzureFixture } from './fixture.js';

const fx = useAzureFixture({}, { perTest: true });

/** A per-disk run of the lab's VM cut at the first `type` entry; returns its entries. */
async function cutRun(caseId: string, type: string) {
  const first = await fx.openTestCase(caseId);
  await expect(collectAzureTarget(fx.run(cutAt(first, type), { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
  await first.release();
  return first.entries();
}

describe('a resume after the snapshot an earlier run copied from was deleted in Azure', () => {
  it('carries the completed copy of the deleted snapshot, asks for no new snapshot, and names the snapshot the copy came from', async () => {
    const caseId = 'IR-AZ-SNAP-GONE';
    const entries = await cutRun(caseId, 'evidence.hashed');
    const completed = entries.filter((e) => e.type === 'copy.completed').map((e) => e.data.blob);
    expect(completed).toHaveLength(2);
    const made = entries.filter((e) => e.type === 'snapshot.completed');
    const gone = made[0]!.data as { snapshotId: string; uniqueId: string; sourceResourceId: string };
    // Someone deletes the snapshot, and the disk changes: a new snapshot would hold other bytes.
    expect(fx.lab.estate.world.snapshots.delete(key(gone.snapshotId))).toBe(true);
    const disk = fx.lab.estate.world.disks.get(key(gone.sourceResourceId))!;
    disk.content = Buffer.from(disk.content).fill(7, 0, 512);

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    expect(resumed.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'export.requested' || e.type === 'copy.requested')).toEqual([]);
    // The copy of the deleted snapshot: adopted as that snapshot's, hashed and sealed.
    const exports = resumed.filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-export');
    expect(exports).toHaveLength(2);
    const evidenceId = entries.find((e) => e.type === 'snapshot.requested' && e.data.snapshotId === gone.snapshotId)!.data.evidenceId as string;
    const blobOfGone = completed.find((b) => String(b).includes(`/${evidenceId}/`));
    expect(exports.find((e) => e.data.evidenceId === evidenceId)!.data.cloudIds).toMatchObject({ exportedFrom: gone.snapshotId, exportedFromUniqueId: gone.uniqueId });
    const carried = resumed.filter((e) => e.type === 'disk.carried');
    expect(carried.map((e) => e.data)).toEqual([expect.objectContaining({ disk: gone.sourceResourceId, carried: blobOfGone, copiedFrom: gone.snapshotId, copiedFromUniqueId: gone.uniqueId })]);
    expect(String(carried[0]!.data.reason)).toContain('not there');
    expect(resumed.filter((e) => e.data.blob === blobOfGone).map((e) => e.type)).toEqual(['copy.adopted', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    // Nothing in Azure claims the deleted snapshot's place.
    expect(fx.lab.estate.world.snapshots.has(key(gone.snapshotId))).toBe(false);
  });
});

describe('a resume after the snapshot an earlier run was copying from was deleted in Azure, the copy not recorded finished', () => {
  it('exports the new snapshot under a new blob name and never adopts the copy of the deleted one for it', async () => {
    const caseId = 'IR-AZ-SNAP-GONE-UNFINISHED';
    const entries = await cutRun(caseId, 'copy.completed');
    const copied = entries.filter((e) => e.type === 'copy.requested').map((e) => e.data.blob as string);
    expect(copied.length).toBeGreaterThan(0);
    const evidenceId = copied[0]!.split('/')[1]!;
    const gone = entries.find((e) => e.type === 'snapshot.completed' && entries.some((r) => r.type === 'snapshot.requested' && r.data.evidenceId === evidenceId && r.data.snapshotId === e.data.snapshotId))!.data as { snapshotId: string; uniqueId: string };
    expect(fx.lab.estate.world.snapshots.delete(key(gone.snapshotId))).toBe(true);

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    const asked = resumed.filter((e) => e.type === 'snapshot.requested' && e.data.evidenceId === evidenceId);
    expect(asked.map((e) => e.data.snapshotId)).toEqual([gone.snapshotId]);
    // The copy of the deleted snapshot is never adopted, nor copied over.
    expect(resumed.filter((e) => e.data.blob === copied[0])).toEqual([]);
    const newBlob = `${caseId}/${evidenceId}/custody-${evidenceId}-${asked[0]!.seq}.vhd`;
    expect(resumed.filter((e) => e.data.blob === newBlob).map((e) => e.type)).toEqual(['copy.requested', 'copy.started', 'copy.completed', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    expect(resumed.find((e) => e.type === 'copy.requested' && e.data.blob === newBlob)!.data).toMatchObject({ notAdopted: copied[0] });
    const made = resumed.find((e) => e.type === 'snapshot.completed' && e.data.snapshotId === gone.snapshotId)!.data;
    expect(made.uniqueId).not.toBe(gone.uniqueId);
    const exported = resumed.find((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-export' && e.data.evidenceId === evidenceId)!.data.cloudIds as Record<string, string>;
    expect(String(exported.blob).endsWith(newBlob)).toBe(true);
    expect(evidenceVersions(fx, caseId)[copied[0]!]).toBe(1);
  });
});
