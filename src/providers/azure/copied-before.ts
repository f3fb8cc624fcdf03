/**
 * A disk whose copy into the evidence container an earlier run of the case saw finish, from the
 * snapshot that run recorded made. Snapshot and blob names derive from the evidence id, so a
 * snapshot deleted since then and taken again would have the same id as the one the copy was made
 * from, and the finished copy would be adopted by its blob name as the new snapshot's export: the
 * case would claim bytes of one instant came from a snapshot of another. The finished copy is the
 * preserved evidence: it carries the disk (hashed, sealed, named as copied from the snapshot the
 * ledger recorded), and no second snapshot is taken of it. docs/azure.md describes the rule.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import { sameRecordedResource } from './resource-id.js';

/** A copy the ledger shows finished, and the snapshot it was copied from as the ledger recorded it made. */
export interface EarlierCopy {
  blob: string;
  /** The `copy.completed` (or `copy.adopted` of a finished copy) that says Storage finished it. */
  finishedSeq: number;
  snapshotId: string;
  /** The snapshot's `uniqueId` as `artifact.recorded` named it: what tells it from a later one of the same name. */
  snapshotUniqueId: string;
}

/**
 * The last finished copy into a blob `blobOf` names an earlier run of `target` recorded, with the snapshot it was
 * exported from: the last snapshot of `evidenceId` recorded made (`artifact.recorded`) before the
 * copy was asked for, which the grant the copy read through (`export.requested`) names. Undefined
 * where the ledger does not show both: then which snapshot the copy holds is not known.
 */
export function earlierFinishedCopy(recorder: CaseRecorder, target: string, evidenceId: string, blobOf: (blob: string) => boolean): EarlierCopy | undefined {
  const history = historyOf(recorder);
  // The last snapshot copy of the disk the ledger shows finished: a snapshot asked for again gets a blob of its own (export.ts blobNameFor).
  const finished = [...history.about('copy.completed', target), ...history.about('copy.adopted', target)]
    .filter((e) => typeof e.data.blob === 'string' && blobOf(e.data.blob) && e.data.copyStatus === undefined)
    .sort((a, b) => a.seq - b.seq)
    .at(-1);
  if (!finished) return undefined;
  const blob = finished.data.blob as string;
  // The request the finished copy answered: the last one into that blob before it finished.
  const asked = history.about('copy.requested', target).filter((e) => e.data.blob === blob && e.seq < finished.seq).at(-1);
  if (!asked) return undefined;
  const made = history.about('artifact.recorded', target).filter((e) => e.seq < asked.seq && e.data.evidenceId === evidenceId && e.data.kind === 'azure-incremental-snapshot').at(-1);
  const cloudIds = (made?.data.cloudIds ?? {}) as Record<string, unknown>;
  const snapshotId = cloudIds.snapshotId;
  const uniqueId = cloudIds.uniqueId;
  if (typeof snapshotId !== 'string' || typeof uniqueId !== 'string' || uniqueId === '') return undefined;
  const granted = history.about('export.requested', target).some((e) => e.seq < asked.seq && sameRecordedResource(e.data.source, snapshotId));
  if (!granted) return undefined;
  return { blob, finishedSeq: finished.seq, snapshotId, snapshotUniqueId: uniqueId };
}

/** Why a disk carried by an earlier run's finished copy gets no new snapshot (requestSnapshots' `adoptOnly`). */
export function carriedByCopyReason(copy: EarlierCopy): string {
  return `an earlier run of the case finished copying snapshot ${copy.snapshotId} (uniqueId ${copy.snapshotUniqueId}) into ${copy.blob} (seq ${copy.finishedSeq}): that copy carries the disk, and a new snapshot of the same name would not hold the bytes it holds`;
}
