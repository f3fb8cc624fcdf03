/** Collecting one EBS volume named on its own: describe, key, CreateSnapshot, then its chain. */
import type { TargetOutcome } from '../../core/ports.js';
import type { AwsVolumeTarget } from '../../core/targets.js';
import { snapshotVolume } from './create-snapshots.js';
import { describeKeys } from './describe-keys.js';
import { failedOutcome, outcomeOf } from './outcome.js';
import { runStep, storeVolumeDescriptions, type TargetRun } from './run.js';
import { runVolumeChain } from './volume-chain.js';

export async function collectVolume(run: TargetRun<AwsVolumeTarget>): Promise<TargetOutcome> {
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
  const shareableKey = await describeKeys(run, [volume]);

  const snapshot = await runStep(run, 'snapshot', () => snapshotVolume(run), { volumeId: target.volumeId });
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
  return outcomeOf(run, [chain]);
}
