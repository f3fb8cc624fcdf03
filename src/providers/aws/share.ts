/**
 * Sharing a snapshot with the forensics account (createVolumePermission), recorded as EC2 reports
 * it. ModifySnapshotAttribute answers only `return true`, so the permission is read back with
 * DescribeSnapshotAttribute and `snapshot.shared` carries whom EC2 lists, with both request ids.
 * A share EC2 accepted but does not list, or whose read-back failed, is `snapshot.share-unconfirmed`
 * (with ModifySnapshotAttribute's request id): never a clean share.
 */
import { DescribeSnapshotAttributeCommand, ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { CustodyError } from '../../core/errors.js';
import { isStopSignal, recordMutation } from '../../core/kernel.js';
import type { TargetRun } from './run.js';

/** What `snapshot.share-unconfirmed` says follows with `transfer: copy`. */
const THEN_COPY =
  'not stopping here: the forensics copy decides (CopySnapshot from the forensics account succeeds only if the share is in effect; a copy an earlier run made is adopted)';

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

/**
 * Shares `snapshotId` with the forensics account and reads the share back. Not listed, or not
 * readable, is recorded as `snapshot.share-unconfirmed`
 * (never as `snapshot.shared`). Then:
 * - when a forensics copy follows (`copyFollows`), the chain goes on: EC2's reads are eventually
 *   consistent, so a read right after the change may not show it yet, and a role deployed before
 *   the read-back was shipped may not make the read at all; CopySnapshot from the forensics
 *   account succeeds only if the share is in effect, so the copy decides, and its entries say so;
 * - when nothing follows (`transfer: share`), the read-back is the only confirmation there is:
 *   the step fails (the target is partial), after the record.
 */
export async function shareWithForensicsAccount(run: TargetRun, snapshotId: string, volumeId: string, copyFollows: boolean): Promise<void> {
  const { target } = run;
  const forensicsAccount = run.aws.forensicsAccount;
  const snapshotArn = `arn:${target.partition}:ec2:${target.region}::snapshot/${snapshotId}`;
  // Adding a permission that already exists changes nothing: sharing again on resume is safe.
  const outcome = await recordMutation(
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
      // Written before the copy step, which may adopt a copy an earlier run made instead of asking
      // for one: it says what was decided, not that a copy was attempted.
      const then = copyFollows ? { then: THEN_COPY } : {};
      try {
        const read = await readShare(run, snapshotId, snapshotArn);
        const listed = read.permissions.some((p) => 'userId' in p && p.userId === forensicsAccount);
        const reported = { ...sent, confirmed: { createVolumePermission: read.permissions }, confirmRequestId: read.requestId };
        return { listed, data: listed ? reported : { ...reported, ...then }, readRequestId: read.requestId, readError: undefined };
      } catch (error) {
        if (isStopSignal(error) || !(error instanceof CustodyError)) throw error;
        // The share was sent and answered: the ledger keeps that answer, with the read's error.
        return { listed: false, data: { ...sent, confirmed: null, readBackError: error.toRecord(), ...then }, readRequestId: null, readError: error };
      }
    },
    (r) => ({ type: r.listed ? 'snapshot.shared' : 'snapshot.share-unconfirmed', data: r.data }),
  );
  if (outcome.listed || copyFollows) return;
  if (outcome.readError) throw outcome.readError;
  throw new CustodyError(
    'E_CLOUD',
    `snapshot ${snapshotId}: EC2 accepted sharing it with ${forensicsAccount} (ModifySnapshotAttribute) but DescribeSnapshotAttribute does not list that account: the forensics account may not be able to use it; collect again to share and read it again`,
    { action: 'ec2:ModifySnapshotAttribute', resource: snapshotArn, ...(outcome.readRequestId ? { requestId: outcome.readRequestId } : {}) },
  );
}
