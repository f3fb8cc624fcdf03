/**
 * Volumes the case already asked to snapshot that are no longer attached to the instance:
 * detached between an interrupted run and its resume, perhaps by whoever the case is about.
 * The instance's attachments no longer name them, so they are found from what the case itself
 * holds: its source snapshots tagged with the instance's evidence id (the case-snapshot lookup
 * already fetched them), and the volumes its earlier snapshot requests named. A snapshot the
 * case took is adopted and carried through like any other; the volume is never snapshotted
 * again (what it holds now is what it held after it was taken away). The ledger says so.
 */
import type { Volume } from '@aws-sdk/client-ec2';
import { evidenceIdFor } from '../../core/case-id.js';
import { isCustodyError } from '../../core/errors.js';
import type { AwsInstanceTarget } from './targets.js';
import { adopt, findExisting, type VolumeSnapshot } from './create-snapshots.js';
import { isStopSignal, volumeArnOf, type TargetRun } from './run.js';
import { historyOf } from '../../core/case-history.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import { awsErrorText } from './call-aws.js';
import { allSettledOrThrow } from '../../core/kernel.js';

/** What `snapshot.adopted` says about a snapshot whose volume was detached. */
export const DETACHED_NOTE = 'volume no longer attached to the instance';

export interface DetachedVolume {
  volumeId: string;
  /** The snapshot the case took of it before it was detached, when one exists. */
  snapshot?: VolumeSnapshot;
  /** An earlier run already recorded this volume's artefact (its chain ran to the end then). */
  preservedBefore: boolean;
}

/**
 * Volume ids this target's earlier snapshot requests named, with the seq of the first request naming each.
 *
 * Keyed by volume id alone on purpose: only this target's own `CreateSnapshots` entries are read
 * (the ledger target is this instance's ARN, so one account and region, where a volume id names
 * one volume), and what is adopted for them is found by this target's evidence id
 * (`findExisting`). A volume that has since moved to another instance is this target's still: its
 * snapshot was taken while it was attached here, and `describeNow` records where it is now. The
 * other instance, if a target of the case, reads only its own requests and evidence id (and
 * `earlierSourceHolders` leaves the volume to this target); a volume named as a target of its own
 * has other entries (`CreateSnapshot`, its own ARN). Neither can be adopted here.
 */
function requestedEarlier(run: TargetRun<AwsInstanceTarget>): Map<string, number> {
  const requested = new Map<string, number>();
  for (const e of historyOf(run.recorder).about(LEDGER_EVENTS.snapshotRequested, run.target.arn)) {
    if (e.data.operation !== 'CreateSnapshots') continue;
    const ids = Array.isArray(e.data.volumeIds) ? e.data.volumeIds : [];
    for (const id of ids) if (typeof id === 'string' && !requested.has(id)) requested.set(id, e.seq);
  }
  return requested;
}

function artifactRecorded(run: TargetRun, evidenceId: string): boolean {
  return historyOf(run.recorder).artifactRecorded(evidenceId);
}

/** Where the volume is now, for the ledger: detached (`available`), attached elsewhere, or gone. */
async function describeNow(run: TargetRun, volumeId: string): Promise<Record<string, unknown>> {
  try {
    const described = await run.scope.directory.describeVolume(volumeId);
    const v: Volume = described.value;
    return {
      volumeFound: true,
      volumeState: v.State ?? null,
      attachments: (v.Attachments ?? []).map((a) => ({ instanceId: a.InstanceId ?? null, device: a.Device ?? null, state: a.State ?? null })),
      describeRequestId: described.requestId ?? null,
    };
  } catch (error) {
    if (isStopSignal(error)) throw error;
    if (isCustodyError(error) && error.code === 'E_NOT_FOUND') return { volumeFound: false };
    return { volumeFound: null, describeError: awsErrorText(error) };
  }
}

/**
 * Finds, adopts and records the volumes of this case no longer attached to the instance
 * (`attached`: its current volume ids). Ledger entries are written once `recordAfter` settles
 * (the snapshot request for the attached volumes goes first). Throws (for `runStep`) when the
 * case-snapshot lookup fails while an earlier request named a volume now detached: what the
 * case holds of it cannot be known then.
 */
export async function adoptDetachedVolumes(run: TargetRun<AwsInstanceTarget>, attached: string[], recordAfter: Promise<unknown>): Promise<DetachedVolume[]> {
  const requested = requestedEarlier(run);
  const requestedDetached = [...requested.keys()].filter((v) => !attached.includes(v));
  try {
    await run.scope.snapshots.load(run.signal);
  } catch (error) {
    if (isStopSignal(error) || requestedDetached.length > 0) throw error;
    // Nothing was ever requested for a volume now detached: nothing of this kind to find.
    return [];
  }
  const snapshotted = run.scope.snapshots
    .find({ CaseId: run.caseId, EvidenceId: run.evidenceId })
    .filter((s) => s.tags.SourceSnapshotId === undefined && s.volumeId !== undefined && !attached.includes(s.volumeId))
    .map((s) => s.volumeId as string);
  const volumeIds = [...new Set([...snapshotted, ...requestedDetached])].sort();
  if (volumeIds.length === 0) return [];

  const now = await allSettledOrThrow(volumeIds.map((v) => describeNow(run, v)));
  await recordAfter;
  const result: DetachedVolume[] = [];
  for (const [i, volumeId] of volumeIds.entries()) {
    const existing = findExisting(run, volumeId);
    const snapshot = existing ? await adopt(run, volumeId, existing, DETACHED_NOTE) : undefined;
    const preservedBefore = artifactRecorded(run, evidenceIdFor(run.caseId, volumeArnOf(run.target, volumeId)));
    await run.recorder.record(
      'volume.detached-since-request',
      {
        instanceId: run.target.instanceId,
        volumeId,
        snapshotId: snapshot?.snapshotId ?? null,
        firstRequestedSeq: requested.get(volumeId) ?? null,
        attachedNow: attached,
        ...now[i],
        consequence: snapshot
          ? 'the snapshot the case took before the volume was detached is carried through; the volume is not snapshotted again'
          : preservedBefore
            ? 'the case holds no source snapshot of it any more, but an earlier run already carried its evidence through'
            : 'the case holds no snapshot of it: not preserved (collect the volume as a target of its own if it still exists)',
      },
      run.target.arn,
    );
    result.push({ volumeId, ...(snapshot ? { snapshot } : {}), preservedBefore });
  }
  return result;
}
