/**
 * Snapshots for a target, exactly once per case: first look for snapshots this case already has
 * (a run that was killed after CreateSnapshots still left them, tagged at creation), adopt
 * those, and create only what is missing: ONE CreateSnapshots per instance (crash-consistent
 * across its volumes), or CreateSnapshot for a volume named on its own.
 */
import { CreateSnapshotCommand, CreateSnapshotsCommand, type Instance } from '@aws-sdk/client-ec2';
import { CustodyError } from '../../core/errors.js';
import { recordMutation } from '../../core/kernel.js';
import type { AwsInstanceTarget, AwsVolumeTarget } from './targets.js';
import { loadIndexOrProceed, type TargetRun } from './run.js';
import type { IndexedSnapshot } from './snapshot-index.js';

export interface VolumeSnapshot {
  volumeId: string;
  snapshotId: string;
  /** Set when adopted already completed: no wait needed. */
  completed?: IndexedSnapshot;
  /** Gives back this snapshot's pending-snapshot permit once it completed or failed. */
  release?: () => void;
}

function caseTags(run: TargetRun): Array<{ Key: string; Value: string }> {
  return [
    { Key: 'CaseId', Value: run.caseId },
    { Key: 'EvidenceId', Value: run.evidenceId },
  ];
}

/** Snapshots of `volumeId` this case's earlier runs created for this target (not copies). */
export function findExisting(run: TargetRun, volumeId: string): IndexedSnapshot | undefined {
  const found = run.scope.snapshots
    .find({ CaseId: run.caseId, EvidenceId: run.evidenceId }, volumeId)
    .filter((s) => s.tags.SourceSnapshotId === undefined);
  return found.find((s) => s.state === 'completed') ?? found[0];
}

/** Records `snapshot.adopted` for a source snapshot an earlier run of this case created; `note` says anything unusual about it. */
export async function adopt(run: TargetRun, volumeId: string, s: IndexedSnapshot, note?: string): Promise<VolumeSnapshot> {
  await run.recorder.record(
    'snapshot.adopted',
    {
      snapshotId: s.snapshotId,
      volumeId,
      role: 'source',
      state: s.state ?? null,
      foundBy: 'DescribeSnapshots tag:CaseId, matched EvidenceId and VolumeId',
      lookupRequestId: run.scope.snapshots.lookupRequestId ?? null,
      ...(note ? { note } : {}),
    },
    run.target.arn,
  );
  return { volumeId, snapshotId: s.snapshotId, ...(s.state === 'completed' ? { completed: s } : {}) };
}

/**
 * Returns one snapshot per volume it could get. Throws (for `runStep`) when the lookup or the
 * create call fails.
 */
export async function snapshotInstance(
  run: TargetRun<AwsInstanceTarget>,
  instance: Instance,
  volumeIds: string[],
  /** Volumes of the instance another target of the case snapshots: left out of CreateSnapshots. */
  covered: readonly string[] = [],
): Promise<VolumeSnapshot[]> {
  await loadIndexOrProceed(run, run.scope.snapshots, (d) => d.operation === 'CreateSnapshots');
  const result: VolumeSnapshot[] = [];
  const missing: string[] = [];
  for (const volumeId of volumeIds) {
    const existing = findExisting(run, volumeId);
    if (existing) result.push(await adopt(run, volumeId, existing));
    else missing.push(volumeId);
  }
  if (missing.length === 0) return result;

  const rootVolume = (instance.BlockDeviceMappings ?? []).find((m) => m.DeviceName === instance.RootDeviceName)?.Ebs?.VolumeId;
  const excludeBootVolume = rootVolume !== undefined && !missing.includes(rootVolume);
  const excludeDataVolumeIds = [...volumeIds, ...covered].filter((v) => !missing.includes(v) && v !== rootVolume);
  const tags = caseTags(run);
  const release = await run.scope.pendingSnapshots.acquire(missing.length);
  const releaseAll = () => missing.forEach(() => release());
  try {
    return [...result, ...(await createInstanceSnapshots(run, missing, excludeBootVolume, excludeDataVolumeIds, tags, release))];
  } catch (error) {
    releaseAll();
    throw error;
  }
}

async function createInstanceSnapshots(
  run: TargetRun<AwsInstanceTarget>,
  missing: string[],
  excludeBootVolume: boolean,
  excludeDataVolumeIds: string[],
  tags: Array<{ Key: string; Value: string }>,
  release: () => void,
): Promise<VolumeSnapshot[]> {
  const { target } = run;
  const result: VolumeSnapshot[] = [];
  const { created, requestId } = await recordMutation(
    run.recorder,
    target.arn,
    {
      type: 'snapshot.requested',
      data: {
        operation: 'CreateSnapshots',
        role: 'source',
        instanceId: target.instanceId,
        volumeIds: missing,
        excludeBootVolume,
        excludeDataVolumeIds,
        tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
      },
    },
    async () => {
      const { output, requestId } = await run.scope.caller.ec2(
        'createSnapshots',
        new CreateSnapshotsCommand({
          InstanceSpecification: {
            InstanceId: target.instanceId,
            ExcludeBootVolume: excludeBootVolume,
            ...(excludeDataVolumeIds.length > 0 ? { ExcludeDataVolumeIds: excludeDataVolumeIds } : {}),
          },
          Description: `cloud-custody case ${run.caseId} evidence ${run.evidenceId}`,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
        }),
        target.arn,
        run.signal,
      );
      const created = (output.Snapshots ?? []).filter((s) => s.SnapshotId && s.VolumeId);
      for (const s of created) {
        run.scope.snapshots.add({
          snapshotId: s.SnapshotId as string,
          volumeId: s.VolumeId,
          state: s.State,
          tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
          encrypted: s.Encrypted === true,
          kmsKeyId: undefined,
        });
      }
      return { created, requestId };
    },
    ({ created, requestId }) => ({
      type: 'snapshot.created',
      data: {
        operation: 'CreateSnapshots',
        instanceId: target.instanceId,
        snapshots: created.map((s) => ({ volumeId: s.VolumeId, snapshotId: s.SnapshotId, state: s.State ?? null, startTime: s.StartTime?.toISOString() ?? null })),
        requestId: requestId ?? null,
      },
    }),
  );
  for (const s of created) result.push({ volumeId: s.VolumeId as string, snapshotId: s.SnapshotId as string, release });
  // Permits for volumes EC2 did not snapshot go back now.
  for (let i = created.length; i < missing.length; i += 1) release();
  if (created.length === 0) {
    throw new CustodyError('E_CLOUD', `CreateSnapshots for ${target.instanceId} returned no snapshots`, { resource: target.arn, requestId });
  }
  return result;
}

/** A volume named on its own: adopt or CreateSnapshot. */
export async function snapshotVolume(run: TargetRun<AwsVolumeTarget>): Promise<VolumeSnapshot> {
  const { target } = run;
  await loadIndexOrProceed(run, run.scope.snapshots, (d) => d.operation === 'CreateSnapshot');
  const existing = findExisting(run, target.volumeId);
  if (existing) return adopt(run, target.volumeId, existing);
  const tags = caseTags(run);
  const release = await run.scope.pendingSnapshots.acquire(1);
  try {
    return { ...(await createVolumeSnapshot(run, tags)), release };
  } catch (error) {
    release();
    throw error;
  }
}

async function createVolumeSnapshot(run: TargetRun<AwsVolumeTarget>, tags: Array<{ Key: string; Value: string }>): Promise<VolumeSnapshot> {
  const { target } = run;
  const { snapshotId } = await recordMutation(
    run.recorder,
    target.arn,
    {
      type: 'snapshot.requested',
      data: { operation: 'CreateSnapshot', role: 'source', volumeId: target.volumeId, tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) },
    },
    async () => {
      const { output, requestId } = await run.scope.caller.ec2(
        'createSnapshot',
        new CreateSnapshotCommand({
          VolumeId: target.volumeId,
          Description: `cloud-custody case ${run.caseId} evidence ${run.evidenceId}`,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
        }),
        target.arn,
        run.signal,
      );
      if (!output.SnapshotId) throw new CustodyError('E_CLOUD', `CreateSnapshot for ${target.volumeId} returned no snapshot id`, { resource: target.arn, requestId });
      run.scope.snapshots.add({
        snapshotId: output.SnapshotId,
        volumeId: target.volumeId,
        state: output.State,
        tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])),
        encrypted: output.Encrypted === true,
        kmsKeyId: output.KmsKeyId,
      });
      return { snapshotId: output.SnapshotId, output, requestId };
    },
    ({ snapshotId, output, requestId }) => ({
      type: 'snapshot.created',
      data: {
        operation: 'CreateSnapshot',
        snapshots: [{ volumeId: target.volumeId, snapshotId, state: output.State ?? null, startTime: output.StartTime?.toISOString() ?? null }],
        requestId: requestId ?? null,
      },
    }),
  );
  return { volumeId: target.volumeId, snapshotId };
}
