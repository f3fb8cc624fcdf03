/**
 * Collecting one EBS volume named on its own: describe, key, CreateSnapshot, then its chain —
 * unless another target of the case snapshots it already (its instance's CreateSnapshots): then
 * that chain is awaited and recorded as covering this target, never a second snapshot.
 */
import type { TargetOutcome } from '../../core/ports.js';
import type { AwsVolumeTarget } from './targets.js';
import { historyOf } from '../../core/case-history.js';
import { snapshotVolume } from './create-snapshots.js';
import { describeKeys, storeKeyDescriptions } from './describe-keys.js';
import { failedOutcome, outcomeOf } from './outcome.js';
import { runStep, storeVolumeDescriptions, type TargetRun } from './run.js';
import { runVolumeChain, type ChainResult } from './volume-chain.js';
import { earlierSourceHolders, ledgerChainResult, volumeKeyOf, type VolumeClaim } from './volume-plan.js';

export async function collectVolume(run: TargetRun<AwsVolumeTarget>): Promise<TargetOutcome> {
  try {
    return await collectUnlessCovered(run);
  } finally {
    run.volumes.settleRemaining(run.target.arn, () => ({ volumeId: run.target.volumeId, done: false, cloudIds: {} }));
  }
}

async function collectUnlessCovered(run: TargetRun<AwsVolumeTarget>): Promise<TargetOutcome> {
  const { target } = run;
  const assumed = await runStep(run, 'assume-role', () => run.sessions.ensure(target.account, run.recorder));
  if (!assumed.ok) return failedOutcome(run, `could not assume the collector role in ${target.account}: ${assumed.error.message}`);

  const described = await runStep(run, 'describe-volume', () => run.scope.directory.describeVolume(target.volumeId), { volumeId: target.volumeId });
  if (!described.ok) {
    const why = described.error.code === 'E_NOT_FOUND' ? `volume ${target.volumeId} was not found in ${target.account} ${target.region}` : described.error.message;
    return failedOutcome(run, why);
  }
  const volume = described.value.value;
  await runStep(run, 'store-volume-descriptions', async () => {
    run.evidenceIds.add(run.evidenceId);
    await storeVolumeDescriptions(run, [volume], { volumeId: target.volumeId }, [described.value.requestId]);
  });
  const key = volumeKeyOf(target.account, target.region, target.volumeId);
  const attachedTo = volume.Attachments?.find((a) => a.InstanceId)?.InstanceId;
  const attachedArn = attachedTo ? `arn:${target.partition}:ec2:${target.region}:${target.account}:instance/${attachedTo}` : undefined;
  const holder = earlierSourceHolders(historyOf(run.recorder)).get(key);
  if (holder !== undefined && holder !== target.arn) {
    // An earlier run of the case had another target (its instance) snapshot it: that stands.
    const live = await run.volumes.coveringClaim(key, target.arn, holder);
    return coveredOutcome(run, live ?? { by: holder, result: Promise.resolve(ledgerChainResult(historyOf(run.recorder), target.volumeId, run.evidenceId, run.aws)) });
  }
  const covering = await run.volumes.coveringClaim(key, target.arn, attachedArn);
  if (covering) return coveredOutcome(run, covering);
  const claimed = run.volumes.claim(key, target.arn);
  if (!claimed.own) return coveredOutcome(run, claimed.claim);

  const keys = await describeKeys(run, [volume]);
  await storeKeyDescriptions(run, keys);
  const shareableKey = keys.shareable;

  const snapshot = await runStep(run, 'snapshot', () => snapshotVolume(run), { volumeId: target.volumeId });
  // Requested: the wait and the transfer run outside the admission slot.
  run.requested();
  if (!snapshot.ok) {
    const vanished = snapshot.error.code === 'E_NOT_FOUND';
    return failedOutcome(
      run,
      vanished ? `volume ${target.volumeId} vanished while it was being collected (${snapshot.error.message})` : `no snapshot was taken: ${snapshot.error.message}`,
    );
  }
  const chain = await runVolumeChain(
    run,
    {
      snapshotId: snapshot.value.snapshotId,
      volumeId: target.volumeId,
      volumeArn: target.arn,
      evidenceId: run.evidenceId,
      ...(snapshot.value.completed ? { completed: snapshot.value.completed } : {}),
      ...(snapshot.value.release ? { release: snapshot.value.release } : {}),
    },
    shareableKey,
  );
  run.volumes.settle(key, target.arn, chain);
  return outcomeOf(run, [chain]);
}

/** The volume is snapshotted by another target of the case: record that, await its chain, report it. */
async function coveredOutcome(run: TargetRun<AwsVolumeTarget>, claim: VolumeClaim): Promise<TargetOutcome> {
  const { target } = run;
  await run.recorder.record(
    'volume.covered',
    {
      volumeId: target.volumeId,
      coveredBy: claim.by,
      reason: 'another target of this case (its instance) snapshots this volume: one snapshot per volume per case, not a second one here',
    },
    target.arn,
  );
  // Nothing left to request here: waiting on the covering chain does not hold a slot.
  run.requested();
  const result: ChainResult = await claim.result;
  const note = `${target.volumeId} is covered by ${claim.by}, whose chain snapshotted it${result.cloudIds.snapshotId ? ` (${result.cloudIds.snapshotId})` : ''}`;
  if (result.done) run.evidenceIds.add(run.evidenceId);
  return outcomeOf(run, [{ ...result, volumeId: target.volumeId, note }]);
}
