/**
 * A VM gone since earlier runs of the case that asked for both its crash-consistent restore point
 * and per-disk snapshots of its disks (a point whose fate a run could not read and that fell back,
 * before such points were kept; or a later per-disk run). Each disk's evidence is carried through
 * once, never both: two copies of one disk taken at different instants would be two exports of
 * it. Per disk, the first that holds:
 * 0. an earlier run of the case already carried the disk by one of them: that one again, whatever
 *    the ledger or Azure says of the other now. Its `disk.carried` names it; else the first
 *    `export.*` entry naming either as its `source` (a resume that could not read the point
 *    exports the snapshots and says no `disk.carried`: a later one that reads it must not export
 *    the disk a second time from the point);
 * 1. the case recorded the point's disk restore point as made (its artefact): the point, whose
 *    disks share one instant;
 * 2. the case recorded the snapshot as made: the snapshot;
 * 3. Azure answers the point `Succeeded` now: the point;
 * 4. else the snapshot (the point is not made, or not yet).
 * The one not carried is left in Azure as it is (neither exported nor deleted), and a
 * `disk.carried` entry names both and why, once Azure confirms the carried one (it is adopted and
 * made: recordCarried), and once per case: a later resume of the same disk does not say it again.
 * docs/azure.md describes the rule.
 *
 * A VM still there on resume is carried the same way (carryEarlierRuns) when earlier runs asked
 * for both; nothing new is asked for a disk an earlier run preserved or asked to, whatever the
 * run's consistency now.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import type { AzureClients } from './clients.js';
import type { DiskFacts } from './describe.js';
import { earlierSnapshotRequests, type EarlierSnapshotRequest } from './disk-ledger.js';
import { earlierRestorePointRequest, findKeptRestorePoint } from './kept-restore-point.js';
import { at, str } from './raw.js';
import { resourceKey, sameRecordedResource as sameId, sameResource } from './resource-id.js';
import { diskRestorePointsOf, type FoundRestorePoint } from './restore-point.js';
import { leftInCloud } from '../shared/left-in-cloud.js';

export interface KeptPoint {
  restorePointId: string;
  found: FoundRestorePoint;
  disks: DiskFacts[];
}

/**
 * What carries a disk's evidence through, decided from the ledger and Azure's answer before it is
 * adopted: `disk.carried` says it only once Azure confirms `carried` (recordCarried).
 */
export interface CarryChoice {
  disk: string;
  evidenceId: string;
  /** The disk restore point or snapshot that carries the disk. */
  carried: string;
  /** Where earlier runs asked for both: the other, left in Azure. */
  notCarried?: string;
  /** The disk is no longer attached to the VM. */
  detached?: true;
  reason: string;
}

/** Why a disk earlier runs of the case asked for is carried though this run does not describe it. */
export const DETACHED = 'the disk is no longer attached to the VM (detached since an earlier run of the case preserved it, or asked to)';

/** `choice` (carryOnce's) for a disk detached since: `disk.carried` says so, as for a disk asked for one way. */
export function detachedChoice(choice: CarryChoice): CarryChoice {
  return { ...choice, detached: true, reason: `${choice.reason}; ${DETACHED}` };
}

/** Which of the two each disk asked for both ways is carried through by, and why (`choices`, for recordCarried). */
export function carryOnce(
  recorder: CaseRecorder,
  target: string,
  evidenceIdOf: (disk: Pick<DiskFacts, 'id'>) => string,
  point: KeptPoint,
  earlier: EarlierSnapshotRequest[],
): { viaPoint: DiskFacts[]; viaSnapshots: EarlierSnapshotRequest[]; choices: CarryChoice[] } {
  const history = historyOf(recorder);
  const state = str(at(point.found.raw, 'properties', 'provisioningState'));
  // Each disk's own disk restore point, as the point's answer names it (findKeptRestorePoint built
  // `point.disks` from the same answer). Never the whole point's id: that is not the disk's copy.
  const drpIds = new Map(diskRestorePointsOf(point.found.raw).map((h) => [resourceKey(h.diskId), h.diskRestorePointId]));
  const viaPoint: DiskFacts[] = [];
  const viaSnapshots = earlier.filter((r) => !point.disks.some((d) => evidenceIdOf(d) === r.evidenceId));
  const choices: CarryChoice[] = [];
  for (const disk of point.disks) {
    const evidenceId = evidenceIdOf(disk);
    const snapshot = earlier.find((r) => r.evidenceId === evidenceId);
    const drp = drpIds.get(resourceKey(disk.id));
    if (!snapshot) {
      viaPoint.push(disk);
      continue;
    }
    // The point's answer names no disk restore point of the disk: only the snapshot can carry it.
    if (!drp) {
      viaSnapshots.push(snapshot);
      continue;
    }
    // The ledger's request names the id as the case asked for it, the artefact as Azure answered it.
    const pointMade = history.artifactRecorded(evidenceId, { restorePointId: point.restorePointId }, sameId);
    const snapshotMade = history.artifactRecorded(evidenceId, { snapshotId: snapshot.snapshotId }, sameId);
    const before = carriedBefore(recorder, target, evidenceId, snapshot.snapshotId, drp);
    const [byPoint, reason] = before
      ? [before.byPoint, before.reason]
      : pointMade
      ? [true, `the case recorded the disk restore point made (${snapshotMade ? 'the snapshot too; the restore point holds every disk at one instant' : 'not the snapshot'})`]
      : snapshotMade
        ? [false, 'the case recorded the snapshot made, not the restore point']
        : state === 'Succeeded'
          ? [true, 'neither is recorded made; Azure answers the restore point Succeeded, which holds every disk at one instant']
          : [false, `neither is recorded made; Azure answers the restore point ${state ?? 'without a state'}, not made`];
    if (byPoint) viaPoint.push(disk);
    else viaSnapshots.push(snapshot);
    const [carried, notCarried] = byPoint ? [drp, snapshot.snapshotId] : [snapshot.snapshotId, drp];
    choices.push({
      disk: disk.id,
      evidenceId,
      carried,
      notCarried,
      reason: `earlier runs of the case asked for both; the disk's evidence is carried through once: ${reason}. ${notCarried} is left in Azure as it is, not exported`,
    });
  }
  return { viaPoint, viaSnapshots, choices };
}

/** The ledger entries that name what a disk was exported from (`source`), in any run of the case. */
const EXPORT_ENTRIES = ['export.requested', 'export.granted', 'export.left-open', 'export.revoked'];

/**
 * Whether an earlier run of the case already carried `evidenceId` by its snapshot or by its disk
 * restore point, and why that one carries it again: its `disk.carried` (the last), else the first
 * export of either the ledger shows. Undefined where no run carried it yet.
 */
function carriedBefore(recorder: CaseRecorder, target: string, evidenceId: string, snapshotId: string, drpId: string): { byPoint: boolean; reason: string } | undefined {
  const history = historyOf(recorder);
  const said = history.about('disk.carried', target).findLast((e) => e.data.evidenceId === evidenceId)?.data.carried;
  if (sameId(said, snapshotId) || sameId(said, drpId)) {
    return { byPoint: sameId(said, drpId), reason: `an earlier run of the case carried the disk by ${String(said)} (disk.carried): it carries it again, never the other beside it` };
  }
  const exports = EXPORT_ENTRIES.flatMap((type) => history.about(type, target)).sort((a, b) => a.seq - b.seq);
  const first = exports.find((e) => sameId(e.data.source, snapshotId) || sameId(e.data.source, drpId));
  if (!first) return undefined;
  return { byPoint: sameId(first.data.source, drpId), reason: `an earlier run of the case exported the disk from ${String(first.data.source)} (${first.type}, seq ${first.seq}): it carries it again, never a second export of the disk from the other` };
}

/**
 * The choice turned round: `carried` could not carry the disk (`why`: Azure confirmed it not
 * made), so the other one asked for does, if the run adopts it.
 */
export function carriedInstead(choice: CarryChoice, why: string): CarryChoice {
  if (!choice.notCarried) return choice;
  const reason = `earlier runs of the case asked for both; ${choice.carried} was to carry the disk's evidence, but ${why}: ${choice.notCarried} carries it instead. ${choice.carried} is left in Azure as it is, not exported`;
  // A detached disk's choice keeps saying so, whichever carries it.
  return { ...choice, carried: choice.notCarried, notCarried: choice.carried, reason: choice.detached ? `${reason}; ${DETACHED}` : reason };
}

/**
 * Records `disk.carried` for each choice whose carried snapshot or disk restore point Azure
 * confirmed in this run (`confirmed`: the run's export sources, each adopted and made), naming it
 * as Azure answered. Nothing is said of a disk whose carried copy was not confirmed (not found,
 * unreadable, stopped): a resume says it once it is. A choice the case's ledger already holds
 * (the same disk carried by the same copy, in an earlier run) is not recorded again.
 */
export async function recordCarried(recorder: CaseRecorder, target: string, choices: CarryChoice[], confirmed: Array<{ evidenceId: string; id: string }>): Promise<void> {
  const history = historyOf(recorder);
  for (const choice of choices) {
    const source = confirmed.find((s) => s.evidenceId === choice.evidenceId && sameResource(s.id, choice.carried));
    if (!source) continue;
    const said = history.about('disk.carried', target).some((e) => e.data.evidenceId === choice.evidenceId && sameId(e.data.carried, source.id));
    if (said) continue;
    await recorder.record('disk.carried', {
      disk: choice.disk,
      evidenceId: choice.evidenceId,
      carried: source.id,
      ...(choice.notCarried ? { notCarried: choice.notCarried } : {}),
      ...(choice.detached ? { detached: true } : {}),
      reason: choice.reason,
    }, target);
  }
}

/** What a resume of a VM still there carries from earlier runs of the case, and how. */
export interface CarriedFromEarlierRuns {
  /** The restore point an earlier run asked for, with the disks it carries (none: not adopted). */
  point?: KeptPoint;
  /** What carries each disk asked for both ways, for recordCarried once Azure confirms it. */
  choices: CarryChoice[];
  /** Disks carried by snapshots: adopted by name where an earlier run asked, else requested (a disk no earlier run preserved). */
  bySnapshot: DiskFacts[];
  /** Why those disks are per-disk, for `consistency.chosen`. */
  snapshotsWhy: string;
  /** The point could not be read: the disks it may hold that no snapshot was asked for get nothing new, and why. */
  pointLeft?: { disks: DiskFacts[]; reason: string };
}

/** Why a VM still there is per-disk when an earlier run of the case asked for snapshots of its disks. */
export const EARLIER_SNAPSHOTS = 'an earlier run of the case asked for per-disk snapshots of these disks: they are carried through (adopted by name), not preserved a second time by a restore point';

/** Whether an earlier run of the case asked `target` for a per-disk snapshot of any of `disks`. */
export function earlierSnapshotsOf(recorder: CaseRecorder, target: string, evidenceIdOf: (disk: Pick<DiskFacts, 'id'>) => string, disks: DiskFacts[]): EarlierSnapshotRequest[] {
  return earlierSnapshotRequests(recorder, target).filter((r) => disks.some((d) => evidenceIdOf(d) === r.evidenceId));
}

/**
 * A VM still there, `disks` as this run described them. Undefined unless earlier runs of the
 * case asked for both its restore point and snapshots of some of them: else the run takes per-disk
 * snapshots (adopted by name) or its restore point (adopted by name) as one way only. With both,
 * the point is read again by the id the ledger holds and each disk asked for both ways is
 * carried once (carryOnce; `disk.carried` once it is adopted); a disk no earlier run preserved gets a
 * snapshot of its own.
 */
export async function carryEarlierRuns(
  recorder: CaseRecorder,
  clients: AzureClients,
  target: string,
  evidenceIdOf: (disk: Pick<DiskFacts, 'id'>) => string,
  disks: DiskFacts[],
): Promise<CarriedFromEarlierRuns | undefined> {
  const earlier = earlierSnapshotsOf(recorder, target, evidenceIdOf, disks);
  const pointId = earlierRestorePointRequest(recorder, target);
  if (earlier.length === 0 || !pointId) return undefined;
  const snapshotsWhy = EARLIER_SNAPSHOTS;
  const asked = `the restore point an earlier run of the case asked for (${pointId})`;
  const kept = await findKeptRestorePoint(recorder, clients, pointId, target, false);
  if ('error' in kept) {
    if (kept.error.code === 'E_NOT_FOUND') return { bySnapshot: disks, choices: [], snapshotsWhy: `${snapshotsWhy}; ${asked} is not there` };
    // It may be there, holding the disks no snapshot was asked for: nothing new for those.
    const snapshotAsked = (d: DiskFacts) => earlier.some((r) => r.evidenceId === evidenceIdOf(d));
    const left = disks.filter((d) => !snapshotAsked(d));
    const reason = leftInCloud(asked, `could not be read (${kept.error.message})`);
    return { bySnapshot: disks.filter(snapshotAsked), choices: [], snapshotsWhy, ...(left.length > 0 ? { pointLeft: { disks: left, reason } } : {}) };
  }
  const carried = carryOnce(recorder, target, evidenceIdOf, { restorePointId: pointId, ...kept }, earlier);
  const viaPoint = disks.filter((d) => carried.viaPoint.some((k) => evidenceIdOf(k) === evidenceIdOf(d)));
  return {
    point: { restorePointId: pointId, ...kept, disks: viaPoint },
    choices: carried.choices,
    bySnapshot: disks.filter((d) => !viaPoint.includes(d)),
    snapshotsWhy: `earlier runs of the case asked for per-disk snapshots of these disks, or ${asked} holds no disk restore point of them: each disk is carried through once (disk.carried says which where both were asked for), a disk no earlier run preserved by a snapshot of its own`,
  };
}

/** A disk an earlier run of the case preserved (or asked to) for a VM still there, no longer attached to it now. */
export interface DetachedDisk {
  disk: DiskFacts;
  /** The snapshot or disk restore point the ledger shows asked for it; both: carryOnce decides. */
  asked: string[];
  /**
   * The restore point's request names the disk among the VM's, but no entry names its disk
   * restore point yet (the run was cut before `restorepoint.completed`): the point, read again,
   * names it. With a snapshot asked too, carryOnce decides.
   */
  inPoint?: true;
}

/**
 * The disks `target`'s earlier runs asked to preserve (a per-disk snapshot, or a disk restore
 * point the ledger shows its restore point made) that are not among `attached`, the VM's disks
 * now. They were evidence when the case preserved them: their snapshot or disk restore point is
 * carried through like the others, never a new one of a disk that left the VM. The facts are the
 * ledger's (a snapshot request's; a disk restore point names only the disk, a data disk: an OS
 * disk cannot be detached). A point no entry names the disk restore points of yet (not recorded
 * completed; an adoption that did not read them names none) counts by the disks its
 * `restorepoint.requested` names (`inPoint`); requests written before they named them do not.
 */
export function detachedSince(recorder: CaseRecorder, target: string, evidenceIdOf: (disk: Pick<DiskFacts, 'id'>) => string, attached: Array<Pick<DiskFacts, 'id'>>): DetachedDisk[] {
  const now = new Set(attached.map(evidenceIdOf));
  const detached = new Map<string, DetachedDisk>();
  for (const r of earlierSnapshotRequests(recorder, target)) {
    if (!now.has(r.evidenceId)) detached.set(r.evidenceId, { disk: r.disk, asked: [r.snapshotId] });
  }
  const pointId = earlierRestorePointRequest(recorder, target);
  const history = historyOf(recorder);
  // The entries that name the point's disk restore points: its completion, or an adoption that
  // read them (a VM gone, or both ways asked). A plain adoption names none: it tells no disk.
  const made = pointId
    ? [...history.about('restorepoint.completed', target), ...history.about('restorepoint.adopted', target)].filter((e) => sameId(e.data.restorePointId, pointId) && typeof e.data.diskRestorePoints === 'object' && e.data.diskRestorePoints !== null)
    : [];
  for (const entry of made) {
    for (const [diskId, drp] of Object.entries((entry.data.diskRestorePoints ?? {}) as Record<string, unknown>)) {
      const evidenceId = evidenceIdOf({ id: diskId });
      if (now.has(evidenceId) || typeof drp !== 'string') continue;
      const known = detached.get(evidenceId) ?? { disk: dataDisk(diskId), asked: [] };
      if (!known.asked.some((a) => sameResource(a, drp))) known.asked.push(drp);
      detached.set(evidenceId, known);
    }
  }
  if (pointId && made.length === 0) {
    const requested = history.about('restorepoint.requested', target).findLast((e) => sameId(e.data.restorePointId, pointId));
    const named = Array.isArray(requested?.data.disks) ? requested.data.disks.filter((d): d is string => typeof d === 'string') : [];
    for (const diskId of named) {
      const evidenceId = evidenceIdOf({ id: diskId });
      if (now.has(evidenceId)) continue;
      detached.set(evidenceId, { ...(detached.get(evidenceId) ?? { disk: dataDisk(diskId), asked: [] }), inPoint: true });
    }
  }
  return [...detached.values()];
}

/** A detached disk as the ledger names it: by id only, a data disk (an OS disk cannot be detached). */
const dataDisk = (id: string): DiskFacts => ({ id, role: 'data', location: '', raw: {} });
