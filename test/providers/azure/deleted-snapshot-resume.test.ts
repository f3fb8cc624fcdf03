/**
 * A resume of a VM still there, after an earlier run snapshotted its disks and finished copying
 * them into the evidence container but was cut before it hashed the copies; meanwhile one disk's
 * snapshot was deleted in Azure. Snapshot and blob names derive from the evidence id, so a new
 * snapshot of the disk would take the deleted one's id, and the blob copied from the deleted one
 * would be adopted as that new snapshot's export: a false claim of where its bytes came from.
 * The copy the ledger recorded complete is the preserved evidence: it is carried through (hashed,
 * sealed, named as exported from the snapshot it was copied from), and no new snapshot is taken.
 */
import { describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { key } from '../../../src/lab/azure/world.js';
import { cutAt, resumeCollected, useAzureFixture } from './fixture.js';

const fx = useAzureFixture({}, { perTest: true });

describe('a resume after the snapshot an earlier run copied from was deleted in Azure', () => {
  it('carries the completed copy of the deleted snapshot, asks for no new snapshot, and names the snapshot the copy came from', async () => {
    const caseId = 'IR-AZ-SNAP-GONE';
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'evidence.hashed'), { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const entries = first.entries();
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
