/**
 * Collecting one EC2 instance, in the order the evidence decays: describe it; then, at once,
 * console output (volatile: its request leaves first), preserve (opt-in) and one CreateSnapshots
 * for all volumes, and the volume and key descriptions; then each volume's chain (wait,
 * re-encrypt, share, copy, lock) concurrently. On a resume, snapshots the case took of volumes
 * detached since are adopted and carried through too (adopt-detached.ts).
 */
import type { Instance, Volume } from '@aws-sdk/client-ec2';
import { historyOf } from '../../core/case-history.js';
import { evidenceIdFor } from '../../core/case-id.js';
import { isCustodyError, type CustodyError } from '../../core/errors.js';
import type { EvidenceInput, TargetOutcome } from '../../core/ports.js';
import { allSettledOrThrow } from '../../core/kernel.js';
import type { AwsInstanceTarget } from './targets.js';
import { adoptDetachedVolumes, type DetachedVolume } from './adopt-detached.js';
import { snapshotInstance, type VolumeSnapshot } from './create-snapshots.js';
import type { Described } from './describe.js';
import { describeKeys, type KeysDescribed } from './describe-keys.js';
import { failedOutcome, outcomeOf } from './outcome.js';
import { preserveInstance } from './preserve.js';
import { isStopSignal, runStep, storedBefore, storeEvidenceOnce, volumeArnOf, type TargetRun } from './run.js';
import { jsonEvidence } from '../../core/redact-json.js';
import { collectScreenshot, fetchConsoleOutput, storeConsoleOutput } from './volatile.js';
import { runVolumeChain, startSourceWait, type ChainResult, type SnapshotFacts } from './volume-chain.js';
import { earlierSourceHolders, ledgerChainResult, volumeKeyOf, type VolumeClaim } from './volume-plan.js';

export async function collectInstance(run: TargetRun<AwsInstanceTarget>): Promise<TargetOutcome> {
  const { target } = run;
  // Announced before the first await: a volume target of this case attached to this instance
  // waits for what it claims instead of snapshotting the volume a second time.
  run.volumes.instanceStarted(target.arn);
  try {
    return await collectClaimedInstance(run);
  } finally {
    run.volumes.instanceDecided(target.arn);
    run.volumes.settleRemaining(target.arn, (key) => ({ volumeId: key.split('/')[2] ?? key, done: false, cloudIds: {} }));
  }
}

async function collectClaimedInstance(run: TargetRun<AwsInstanceTarget>): Promise<TargetOutcome> {
  const { target } = run;
  const assumed = await runStep(run, 'assume-role', () => run.sessions.ensure(target.account, run.recorder));
  if (!assumed.ok) return failedOutcome(run, `could not assume the collector role in ${target.account}: ${assumed.error.message}`);

  // The case-snapshot lookup (one per account and region) rides alongside the describe instead
  // of after it; a failure here is handled where the snapshot step awaits it again.
  run.scope.snapshots.load(run.signal).catch(() => undefined);
  const described = await runStep(run, 'describe-instance', () => run.scope.directory.describeInstance(target.instanceId));
  if (!described.ok) {
    if (described.error.code !== 'E_NOT_FOUND') return failedOutcome(run, described.error.message);
    return carryEarlierSnapshots(run, `instance ${target.instanceId} was not found in ${target.account} ${target.region}`);
  }
  const instance: Instance = described.value.value;
  run.evidenceIds.add(run.evidenceId);
  // One description file: the instance, its volumes and their keys, each as its API answered.
  const storeDescription = (volumes?: VolumesDescribed, keys?: KeysDescribed) =>
    runStep(run, 'store-instance-description', async () => {
      if (storedBefore(run, run.evidenceId, 'instance.json')) return undefined;
      return storeEvidenceOnce(run, instanceDescription(run, described.value, volumes, keys));
    });

  const state = instance.State?.Name;
  if (state === 'terminated' || state === 'shutting-down') {
    await storeDescription();
    return carryEarlierSnapshots(run, `instance ${target.instanceId} is ${state}: its volumes cannot be snapshotted; its description was recorded`);
  }

  const volumeIds = (instance.BlockDeviceMappings ?? []).map((m) => m.Ebs?.VolumeId).filter((v): v is string => typeof v === 'string');
  // One snapshot per volume per case: a volume a volume target of the case claimed first is left
  // out of this CreateSnapshots, and its chain's result is awaited instead.
  const keyOf = (volumeId: string) => volumeKeyOf(target.account, target.region, volumeId);
  const own: string[] = [];
  const covered: Array<{ volumeId: string; claim: VolumeClaim }> = [];
  const holders = earlierSourceHolders(historyOf(run.recorder));
  for (const volumeId of volumeIds) {
    const holder = holders.get(keyOf(volumeId));
    if (holder !== undefined && holder !== target.arn) {
      // An earlier run of the case had another target snapshot it: that snapshot stands.
      covered.push({ volumeId, claim: earlierClaim(run, holder, volumeId) });
      continue;
    }
    const claimed = run.volumes.claim(keyOf(volumeId), target.arn);
    if (claimed.own) own.push(volumeId);
    else covered.push({ volumeId, claim: claimed.claim });
  }
  run.volumes.instanceDecided(target.arn);
  // Three paths, started together so no one waits for another: the volatile console (its request
  // leaves first), preserve-then-snapshot, and the descriptions. Descriptions do not decay, so
  // they are written to the case once the snapshot request is on record: the ledger is one
  // queue, and the snapshot should not wait behind files. Each path records its own failures;
  // only a ledger failure escapes.
  const volatile = (async () => {
    const consoleOutput = await fetchConsoleOutput(run);
    if (run.options.screenshot) await collectScreenshot(run);
    return consoleOutput;
  })();
  const snapshotting = (async () => {
    if (run.options.preserve) await preserveInstance(run, described.value);
    if (own.length === 0) return undefined;
    return runStep(
      run,
      'snapshot',
      () => snapshotInstance(run, instance, own, covered.map((c) => c.volumeId)),
      { instanceId: target.instanceId },
    );
  })();
  const snapshotRecorded = snapshotting.then(
    () => undefined,
    () => undefined,
  );
  // Each new snapshot is watched from its creation: its completion is noticed and recorded when
  // EC2 reports it, not once this instance's descriptions are on record.
  const sourceWaits = new Map<string, Promise<SnapshotFacts>>();
  void snapshotting.then((created) => {
    if (!created?.ok) return;
    for (const s of created.value) if (!s.completed) sourceWaits.set(s.snapshotId, startSourceWait(run, s.snapshotId, s.volumeId));
  }, () => undefined);
  // The request phase ends when the snapshots are requested and the volatile evidence is taken:
  // the admission slot goes to the next target, and this one's waits, copies and files follow
  // outside it.
  void Promise.allSettled([volatile, snapshotting]).then(() => run.requested());
  const volumesDescribed = describeVolumes(run, volumeIds);
  const keys = (async () => describeKeys(run, (await volumesDescribed).volumes))();
  // Snapshots the case took of volumes detached since (a resume after an interruption).
  const detaching = runStep(run, 'adopt-detached', () => adoptDetachedVolumes(run, volumeIds, snapshotRecorded), { instanceId: target.instanceId });
  const [consoleOutput, keysDescribed, snapshots, detachedFound] = await allSettledOrThrow([volatile, keys, snapshotting, detaching]);
  const shareableKey = keysDescribed.shareable;
  const volumesFound = await volumesDescribed;
  // The snapshot request is on record. The console output and the description are in memory and
  // do not decay there: one background job writes both after the targets still requesting
  // snapshots, together, so the two files in the instance's folder share one folder fsync. The
  // volume chains do not wait for it; every outcome below does (a failed store makes the target
  // partial).
  const filesStored = run.background(() =>
    allSettledOrThrow([consoleOutput ? storeConsoleOutput(run, consoleOutput) : undefined, storeDescription(volumesFound, keysDescribed)]),
  );
  filesStored.catch(() => undefined); // awaited below; a ledger failure is not unhandled meanwhile
  const detached = detachedFound.ok ? detachedFound.value : [];

  if (!snapshots && detached.length === 0 && covered.length === 0) {
    await filesStored;
    return outcomeOf(run, [], `instance ${target.instanceId} has no EBS volumes: only its description and console output were collected`);
  }
  if (snapshots && !snapshots.ok && !detached.some((d) => d.snapshot)) {
    const vanished = await hasVanished(run, snapshots.error);
    await filesStored;
    return failedOutcome(
      run,
      vanished
        ? `instance ${target.instanceId} vanished while it was being collected (${snapshots.error.message}); what was collected before stays recorded`
        : `no snapshot was taken: ${snapshots.error.message}`,
    );
  }

  const chainOf = (s: VolumeSnapshot): Promise<ChainResult> => ownChain(run, s, shareableKey, sourceWaits.get(s.snapshotId));
  // The files' job settles too before a stop signal from a chain propagates: a file placed after
  // collect returned would be written after the run was told to stop, with no entry recording it.
  const [chains] = await allSettledOrThrow([allSettledOrThrow([
    ...covered.map(({ volumeId, claim }) => awaitCoveringChain(run, volumeId, claim)),
    ...(snapshots?.ok ? snapshots.value : []).map(chainOf),
    ...detached.map(async (d): Promise<ChainResult> => {
      const note = detachedNote(d);
      if (!d.snapshot) return { volumeId: d.volumeId, done: d.preservedBefore, cloudIds: {}, note };
      return { ...(await chainOf(d.snapshot)), note };
    }),
  ]), filesStored]);
  // A volume the instance listed but that got no snapshot is a volume not preserved.
  for (const volumeId of volumeIds) {
    if (!chains.some((c) => c.volumeId === volumeId)) chains.push({ volumeId, done: false, cloudIds: {} });
  }
  return outcomeOf(run, chains);
}

/** One of this instance's own snapshots carried through its chain (`completion`: its wait, when already watched). */
function ownChain(run: TargetRun<AwsInstanceTarget>, s: VolumeSnapshot, shareableKey: KeysDescribed['shareable'], completion?: Promise<SnapshotFacts>): Promise<ChainResult> {
  const volumeArn = volumeArnOf(run.target, s.volumeId);
  return runOwnChain(run, s, () => runVolumeChain(
    run,
    {
      snapshotId: s.snapshotId,
      volumeId: s.volumeId,
      volumeArn,
      evidenceId: evidenceIdFor(run.caseId, volumeArn),
      ...(s.completed ? { completed: s.completed } : {}),
      ...(s.release ? { release: s.release } : {}),
      ...(completion ? { completion } : {}),
    },
    shareableKey,
  ));
}

/**
 * An instance terminated or gone when its target runs: nothing of it can be snapshotted any more.
 * On a resume, the snapshots the case took of its volumes before (a killed run's) are evidence
 * all the same: they are adopted and carried through as a detached volume's are (waited for,
 * re-encrypted, shared, copied) instead of being left behind in the source account. Never
 * `collected`: the instance itself could not be; `failed` when the case holds no snapshot of it.
 */
async function carryEarlierSnapshots(run: TargetRun<AwsInstanceTarget>, why: string): Promise<TargetOutcome> {
  const found = await runStep(run, 'adopt-detached', () => adoptDetachedVolumes(run, [], Promise.resolve()), { instanceId: run.target.instanceId });
  const earlier = found.ok ? found.value : [];
  if (earlier.length === 0) return failedOutcome(run, why);
  // Nothing is requested from here on: the admission slot goes to the next target before the waits.
  run.requested();
  const { shareable } = await describeKeys(run, []);
  const chains = await allSettledOrThrow(
    earlier.map(async (d): Promise<ChainResult> => {
      const note = d.snapshot
        ? `${d.volumeId}: the snapshot the case took before the instance went (${d.snapshot.snapshotId}) was adopted`
        : d.preservedBefore
          ? `${d.volumeId}: its evidence was carried through by an earlier run`
          : `${d.volumeId}: the case holds no snapshot of it`;
      if (!d.snapshot) return { volumeId: d.volumeId, done: d.preservedBefore, cloudIds: {}, note };
      return { ...(await ownChain(run, d.snapshot, shareable)), note };
    }),
  );
  const outcome = outcomeOf(run, chains);
  if (outcome.status === 'failed') return { ...outcome, reason: `${why}; ${outcome.reason}` };
  const done = chains.filter((c) => c.done).length;
  const carried = `the snapshots the case took of its volumes in an earlier run were carried through (${done} of ${chains.length} to the end)`;
  return { ...outcome, status: 'partial', reason: [why, carried, outcome.reason].filter(Boolean).join('; ') };
}

/** Runs one of this instance's own chains and ends its claim with the result, for any waiter. */
async function runOwnChain(run: TargetRun<AwsInstanceTarget>, s: VolumeSnapshot, chain: () => Promise<ChainResult>): Promise<ChainResult> {
  const key = volumeKeyOf(run.target.account, run.target.region, s.volumeId);
  try {
    const result = await chain();
    run.volumes.settle(key, run.target.arn, result);
    return result;
  } finally {
    run.volumes.settle(key, run.target.arn, { volumeId: s.volumeId, done: false, cloudIds: { snapshotId: s.snapshotId } });
  }
}

/**
 * The claim of a target that snapshotted the volume in an earlier run: its chain in this run if
 * it runs now (claimed already), else what the ledger says of it. Never a wait on a target that
 * may be queued behind this one.
 */
function earlierClaim(run: TargetRun<AwsInstanceTarget>, holder: string, volumeId: string): VolumeClaim {
  const live = run.volumes.current(volumeKeyOf(run.target.account, run.target.region, volumeId));
  if (live && live.by === holder) return live;
  const result = ledgerChainResult(historyOf(run.recorder), volumeId, evidenceIdFor(run.caseId, volumeArnOf(run.target, volumeId)), run.aws);
  return { by: holder, result: Promise.resolve(result) };
}

/** A volume of this instance another target of the case snapshots: recorded, then its chain awaited. */
async function awaitCoveringChain(run: TargetRun<AwsInstanceTarget>, volumeId: string, claim: VolumeClaim): Promise<ChainResult> {
  await run.recorder.record(
    'volume.covered',
    {
      volumeId,
      coveredBy: claim.by,
      reason: 'another target of this case claimed this volume first: it is snapshotted once per case, by that target, and left out of this instance\'s CreateSnapshots',
    },
    run.target.arn,
  );
  const result = await claim.result;
  if (result.done) run.evidenceIds.add(evidenceIdFor(run.caseId, volumeArnOf(run.target, volumeId)));
  return { ...result, volumeId, note: `${volumeId} was snapshotted once for the case by ${claim.by} (not crash-consistent with this instance's other volumes)` };
}

/** The sentence the outcome carries for a volume detached between runs. */
function detachedNote(d: DetachedVolume): string {
  const what = `${d.volumeId} was detached from the instance since the case requested its snapshot`;
  if (d.snapshot) return `${what}; the snapshot taken before (${d.snapshot.snapshotId}) was adopted, not retaken`;
  if (d.preservedBefore) return `${what}; its evidence was carried through by an earlier run`;
  return `${what}; the case holds no snapshot of it`;
}

/**
 * After a failed snapshot: was it because the instance went away (terminated mid-run)? Asks
 * EC2 afresh (one describe, on the failure path only).
 */
async function hasVanished(run: TargetRun<AwsInstanceTarget>, error: CustodyError): Promise<boolean> {
  if (error.code === 'E_NOT_FOUND') return true;
  if (error.code !== 'E_CLOUD') return false;
  try {
    const state = (await run.scope.directory.describeInstance(run.target.instanceId, { fresh: true })).value.State?.Name;
    return state === 'terminated' || state === 'shutting-down';
  } catch (e) {
    if (isStopSignal(e)) throw e;
    return isCustodyError(e) && e.code === 'E_NOT_FOUND';
  }
}

/** The volumes DescribeVolumes answered for an instance, with the request ids behind them. */
interface VolumesDescribed {
  volumes: Volume[];
  requestIds: Array<string | undefined>;
}

/** Describes the volumes (batched with other targets); one that cannot be is a recorded step. */
async function describeVolumes(run: TargetRun<AwsInstanceTarget>, volumeIds: string[]): Promise<VolumesDescribed> {
  const results = await allSettledOrThrow(
    volumeIds.map(async (volumeId) => {
      const r = await runStep(run, 'describe-volume', () => run.scope.directory.describeVolume(volumeId), { volumeId });
      return r.ok ? r.value : undefined;
    }),
  );
  const described = results.filter((r): r is NonNullable<typeof r> => r !== undefined);
  return { volumes: described.map((d) => d.value), requestIds: described.map((d) => d.requestId) };
}

/**
 * `instance.json`: one section per API, each as AWS answered it — `instance` (DescribeInstances),
 * `volumes` (DescribeVolumes, when the instance has volumes) and `kmsKeys` (DescribeKey, when a
 * key was described). One file and one `evidence.stored` instead of three: every stored file
 * costs a file creation, an fdatasync and a signed entry. Its entry lists every section's
 * request ids and the instance's and volumes' ids.
 */
function instanceDescription(
  run: TargetRun<AwsInstanceTarget>,
  described: Described<Instance>,
  volumes: VolumesDescribed | undefined,
  keys: KeysDescribed | undefined,
): EvidenceInput {
  const { target } = run;
  const withVolumes = volumes !== undefined && volumes.volumes.length > 0;
  const requestIds = [described.requestId, ...(withVolumes ? volumes.requestIds : []), ...(keys?.section ? keys.requestIds : [])];
  return {
    evidenceId: run.evidenceId,
    name: 'instance.json',
    kind: 'instance-description',
    source: target.arn,
    ...jsonEvidence({
      instance: { api: 'ec2:DescribeInstances', ownerId: described.ownerId ?? null, instance: described.value },
      ...(withVolumes ? { volumes: { api: 'ec2:DescribeVolumes', volumes: volumes.volumes } } : {}),
      ...(keys?.section ? { kmsKeys: keys.section } : {}),
    }),
    mediaType: 'application/json',
    target: target.arn,
    cloudIds: {
      instanceId: target.instanceId,
      ...(withVolumes ? Object.fromEntries(volumes.volumes.map((v, i) => [`volume${i}`, v.VolumeId ?? ''])) : {}),
    },
    requestIds: [...new Set(requestIds.filter((r): r is string => typeof r === 'string'))],
  };
}
