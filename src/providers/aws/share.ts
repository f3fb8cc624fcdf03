/**
 * Sharing a snapshot with the forensics account (createVolumePermission), recorded as EC2 reports
 * it. ModifySnapshotAttribute answers only `return true`, so the permission is read back with
 * DescribeSnapshotAttribute and `snapshot.shared` carries whom EC2 lists, with both request ids.
 * A share EC2 accepted but does not list, or whose read-back failed, is `snapshot.share-unconfirmed`
 * (with ModifySnapshotAttribute's request id) and a failed step: never a clean share.
 */
import { DescribeSnapshotAttributeCommand, ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { CustodyError } from '../../core/errors.js';
import { isStopSignal, recordMutation } from '../../core/kernel.js';
import type { TargetRun } from './run.js';

/** One createVolumePermission entry as EC2 lists it: an account, or the group `all` (public). */
type Permission = { userId: string } | { group: string };

async function readShare(run: TargetRun, snapshotId: string, snapshotArn: string): Promise<{ permissions: Permission[]; requestId: string | null }> {
  const { output, requestId } = await run.scope.caller.ec2(
    'readBackShare',
    new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }),
    snapshotArn,
    run.signal,
  );
  const permissions = (output.CreateVolumePermissions ?? []).flatMap((p): Permission[] =>
    p.UserId !== undefined ? [{ userId: p.UserId }] : p.Group !== undefined ? [{ group: p.Group }] : [],
  );
  return { permissions, requestId: requestId ?? null };
}

/** Shares `snapshotId` with the forensics account and confirms it; throws (after recording) when EC2 does not confirm. */
export async function shareWithForensicsAccount(run: TargetRun, snapshotId: string, volumeId: string): Promise<void> {
  const { target } = run;
  const forensicsAccount = run.aws.forensicsAccount;
  const snapshotArn = `arn:${target.partition}:ec2:${target.region}::snapshot/${snapshotId}`;
  // Adding a permission that already exists changes nothing: sharing again on resume is safe.
  await recordMutation(
    run.recorder,
    target.arn,
    {
      type: 'snapshot.requested',
      data: { operation: 'ModifySnapshotAttribute', role: 'share', snapshotId, volumeId, attribute: 'createVolumePermission', add: [forensicsAccount] },
    },
    async () => {
      const { requestId } = await run.scope.caller.ec2(
        'shareSnapshot',
        new ModifySnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [forensicsAccount] }),
        snapshotArn,
        run.signal,
      );
      const sent = { snapshotId, volumeId, withAccount: forensicsAccount, requestId: requestId ?? null };
      let read: Awaited<ReturnType<typeof readShare>>;
      try {
        read = await readShare(run, snapshotId, snapshotArn);
      } catch (error) {
        if (isStopSignal(error) || !(error instanceof CustodyError)) throw error;
        // The share was sent and answered: the ledger keeps that answer before the read's error fails the step.
        await run.recorder.record('snapshot.share-unconfirmed', { ...sent, confirmed: null, readBackError: error.toRecord() }, target.arn);
        throw error;
      }
      const reported = { ...sent, confirmed: { createVolumePermission: read.permissions }, confirmRequestId: read.requestId };
      if (!read.permissions.some((p) => 'userId' in p && p.userId === forensicsAccount)) {
        await run.recorder.record('snapshot.share-unconfirmed', reported, target.arn);
        throw new CustodyError(
          'E_CLOUD',
          `snapshot ${snapshotId}: EC2 accepted sharing it with ${forensicsAccount} (ModifySnapshotAttribute) but DescribeSnapshotAttribute does not list that account: the forensics account cannot use it`,
          { action: 'ec2:ModifySnapshotAttribute', resource: snapshotArn, ...(read.requestId ? { requestId: read.requestId } : {}) },
        );
      }
      return reported;
    },
    (reported) => ({ type: 'snapshot.shared', data: reported }),
  );
}
