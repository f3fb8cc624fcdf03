/**
 * A VM gone since earlier runs of the case that asked for both its crash-consistent restore point
 * and per-disk snapshots of its disks (a point whose fate a run could not read and that fell back,
 * before such points were kept; or a later per-disk run). Each disk's evidence is carried through
 * once, never both: two copies of one disk taken at different instants would be two exports of
 * it. Per disk, the first that holds:
 * 1. the case recorded the point's disk restore point as made (its artefact): the point, whose
 *    disks share one instant;
 * 2. the case recorded the snapshot as made: the snapshot;
 * 3. Azure answers the point `Succeeded` now: the point;
 * 4. else the snapshot (the point is not made, or not yet).
 * The one not carried is left in Azure as it is (neither exported nor deleted), and a
 * `disk.carried` entry names both and why. docs/azure.md describes the rule.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import type { DiskFacts } from './describe.js';
import type { EarlierSnapshotRequest } from './disk-ledger.js';
import { at, str } from './raw.js';
import type { FoundRestorePoint } from './restore-point.js';

export interface KeptPoint {
  restorePointId: string;
  found: FoundRestorePoint;
  disks: DiskFacts[];
}

/** Which of the two each disk is carried through by; records `disk.carried` for each disk asked for both ways. */
export async function carryOnce(
  recorder: CaseRecorder,
  target: string,
  evidenceIdOf: (disk: Pick<DiskFacts, 'id'>) => string,
  point: KeptPoint,
  earlier: EarlierSnapshotRequest[],
): Promise<{ viaPoint: DiskFacts[]; viaSnapshots: EarlierSnapshotRequest[] }> {
  const history = historyOf(recorder);
  const state = str(at(point.found.raw, 'properties', 'provisioningState'));
  const drpOf = (disk: DiskFacts) => (point.found.because.diskRestorePoints as Record<string, string> | undefined)?.[disk.id] ?? point.restorePointId;
  const viaPoint: DiskFacts[] = [];
  const viaSnapshots = earlier.filter((r) => !point.disks.some((d) => evidenceIdOf(d) === r.evidenceId));
  for (const disk of point.disks) {
    const evidenceId = evidenceIdOf(disk);
    const snapshot = earlier.find((r) => r.evidenceId === evidenceId);
    if (!snapshot) {
      viaPoint.push(disk);
      continue;
    }
    const pointMade = history.artifactRecorded(evidenceId, { restorePointId: point.restorePointId });
    const snapshotMade = history.artifactRecorded(evidenceId, { snapshotId: snapshot.snapshotId });
    const [byPoint, reason] = pointMade
      ? [true, `the case recorded the disk restore point made (${snapshotMade ? 'the snapshot too; the restore point holds every disk at one instant' : 'not the snapshot'})`]
      : snapshotMade
        ? [false, 'the case recorded the snapshot made, not the restore point']
        : state === 'Succeeded'
          ? [true, 'neither is recorded made; Azure answers the restore point Succeeded, which holds every disk at one instant']
          : [false, `neither is recorded made; Azure answers the restore point ${state ?? 'without a state'}, not made`];
    if (byPoint) viaPoint.push(disk);
    else viaSnapshots.push(snapshot);
    const [carried, notCarried] = byPoint ? [drpOf(disk), snapshot.snapshotId] : [snapshot.snapshotId, drpOf(disk)];
    await recorder.record('disk.carried', {
      disk: disk.id,
      evidenceId,
      carried,
      notCarried,
      reason: `earlier runs of the case asked for both; the disk's evidence is carried through once: ${reason}. ${notCarried} is left in Azure as it is, not exported`,
    }, target);
  }
  return { viaPoint, viaSnapshots };
}
