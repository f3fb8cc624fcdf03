/**
 * One volume's chain after its snapshot was requested (or adopted): wait for it, re-encrypt
 * under the shareable key when needed, share with the forensics account only (share.ts: read back
 * and recorded as EC2 reports it), copy into the forensics account under its key, optionally
 * lock, and record the artefact. Each mutation is
 * recorded before and after; each copy is first looked for (tags EvidenceId + SourceSnapshotId)
 * so a resumed run adopts instead of copying again.
 */
import { CopySnapshotCommand, LockSnapshotCommand, type CopySnapshotCommandOutput } from '@aws-sdk/client-ec2';
import type { AwsResult } from './call-aws.js';
import { CustodyError } from '../../core/errors.js';
import type { DescribedKey } from './kms-keys.js';
import type { Semaphore } from './limits.js';
import { fillKeyPattern } from './kms-keys.js';
import { hashPreservedVolume, wantsDiskHash } from './hash-volume.js';
import { shareWithForensicsAccount } from './share.js';
import { isStopSignal, loadIndexOrProceed, runStep, type TargetRun } from './run.js';
import { historyOf } from '../../core/case-history.js';
import { recordMutation, type FailureFields } from '../../core/kernel.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import type { CaseSnapshotIndex, IndexedSnapshot } from './snapshot-index.js';
import { isWaitCut, type SnapshotWaiter } from './snapshot-waiter.js';
import { leftInCloud } from '../shared/left-in-cloud.js';

export interface SourceSnapshot {
  snapshotId: string;
  volumeId: string;
  volumeArn: string;
  /** The volume's own evidence id (copies are tagged with it). */
  evidenceId: string;
  /** Known already when adopted in `completed` state. */
  completed?: IndexedSnapshot;
  /** Gives back the pending-snapshot permit once the snapshot completed or failed. */
  release?: () => void;
  /** The wait for the source snapshot, started when it was created (`startSourceWait`). */
  completion?: Promise<SnapshotFacts>;
}

export interface ChainResult {
  volumeId: string;
  done: boolean;
  cloudIds: Record<string, string>;
  /** Something the outcome's reason must say about this volume (e.g. it was detached between runs). */
  note?: string;
}

export type SnapshotFacts = { snapshotId: string; encrypted: boolean; kmsKeyId: string | undefined };

function factsOf(s: IndexedSnapshot): SnapshotFacts {
  return { snapshotId: s.snapshotId, encrypted: s.encrypted, kmsKeyId: s.kmsKeyId };
}

async function waitCompleted(
  run: TargetRun,
  waiter: SnapshotWaiter,
  snapshotId: string,
  volumeId: string,
  role: string,
): Promise<SnapshotFacts> {
  const target = run.target.arn;
  const step = `wait-${role}`;
  const { snapshot, requestId } = await waiter.wait(
    snapshotId,
    (fraction) => run.progress({ target, step, state: 'waiting', detail: snapshotId, fraction }),
    run.signal,
  );
  await run.recorder.record(
    'snapshot.completed',
    {
      snapshotId,
      volumeId,
      role,
      encrypted: snapshot.Encrypted === true,
      kmsKeyId: snapshot.KmsKeyId ?? null,
      volumeSize: snapshot.VolumeSize ?? null,
      startTime: snapshot.StartTime?.toISOString() ?? null,
      requestId: requestId ?? null,
    },
    target,
  );
  // Named by the id it was waited for (the waiter answers for that id only), never by an empty
  // id that the share, lock and copy requests after it would record.
  return { snapshotId, encrypted: snapshot.Encrypted === true, kmsKeyId: snapshot.KmsKeyId };
}

/**
 * Starts waiting for a source snapshot as soon as EC2 has created it, and records
 * `snapshot.completed` when the waiter sees it complete, instead of when the target's chain gets
 * round to waiting (after its descriptions are on record). The chain awaits the returned promise
 * (`SourceSnapshot.completion`) and handles its failure as its own.
 */
export function startSourceWait(run: TargetRun, snapshotId: string, volumeId: string): Promise<SnapshotFacts> {
  const waiting = waitCompleted(run, run.scope.waiter, snapshotId, volumeId, 'source');
  // Awaited by the chain; until then a failure must not count as unhandled.
  waiting.catch(() => undefined);
  return waiting;
}

function usable(found: IndexedSnapshot[]): IndexedSnapshot | undefined {
  return found.find((s) => s.state === 'completed') ?? found[0];
}

interface CopyArgs {
  role: 'reencrypted' | 'forensics';
  index: CaseSnapshotIndex;
  waiter: SnapshotWaiter;
  /** Copies in flight into the destination (EC2 allows 20 per region). */
  copies: Semaphore;
  send: (command: CopySnapshotCommand) => Promise<AwsResult<CopySnapshotCommandOutput>>;
  source: SnapshotFacts;
  sourceRegion: string;
  chain: SourceSnapshot;
  kmsKeyId: string;
  reason: string;
  /** Called as soon as the copy exists (requested or adopted), before waiting for it. */
  onExists: (snapshotId: string) => Promise<void>;
}

/** Copies `source` (or adopts a copy an earlier run made), then waits for the copy. */
async function copyOnce(run: TargetRun, args: CopyArgs): Promise<SnapshotFacts> {
  const target = run.target.arn;
  const tags = { CaseId: run.caseId, EvidenceId: args.chain.evidenceId, SourceSnapshotId: args.source.snapshotId };
  await loadIndexOrProceed(run, args.index, (d) => d.operation === 'CopySnapshot' && d.role === args.role && d.sourceSnapshotId === args.source.snapshotId);
  const existing = usable(args.index.find(tags));
  if (existing) {
    await run.recorder.record(
      'snapshot.adopted',
      {
        snapshotId: existing.snapshotId,
        volumeId: args.chain.volumeId,
        role: args.role,
        state: existing.state ?? null,
        sourceSnapshotId: args.source.snapshotId,
        foundBy: 'DescribeSnapshots tag:CaseId, matched EvidenceId and SourceSnapshotId',
        lookupRequestId: args.index.lookupRequestId ?? null,
      },
      target,
    );
    await args.onExists(existing.snapshotId);
    if (existing.state === 'completed') return factsOf(existing);
    return waitCompleted(run, args.waiter, existing.snapshotId, args.chain.volumeId, args.role);
  }
  const release = await args.copies.acquire(1);
  try {
    return await requestCopy(run, args, tags);
  } finally {
    release();
  }
}

async function requestCopy(run: TargetRun, args: CopyArgs, tags: Record<string, string>): Promise<SnapshotFacts> {
  const target = run.target.arn;
  const { copyId } = await recordMutation(
    run.recorder,
    target,
    {
      type: 'snapshot.requested',
      data: {
        operation: 'CopySnapshot',
        role: args.role,
        reason: args.reason,
        sourceSnapshotId: args.source.snapshotId,
        sourceRegion: args.sourceRegion,
        volumeId: args.chain.volumeId,
        kmsKeyId: args.kmsKeyId,
        tags,
      },
    },
    async () => {
      const { output, requestId } = await args.send(
        new CopySnapshotCommand({
          SourceSnapshotId: args.source.snapshotId,
          SourceRegion: args.sourceRegion,
          Encrypted: true,
          KmsKeyId: args.kmsKeyId,
          Description: `cloud-custody case ${run.caseId} evidence ${args.chain.evidenceId} from ${args.source.snapshotId}`,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      );
      const copyId = output.SnapshotId;
      if (!copyId) throw new CustodyError('E_CLOUD', `CopySnapshot of ${args.source.snapshotId} returned no snapshot id`, { requestId });
      args.index.add({ snapshotId: copyId, volumeId: args.chain.volumeId, state: 'pending', tags, encrypted: true, kmsKeyId: args.kmsKeyId });
      return { copyId, requestId };
    },
    ({ copyId, requestId }) => ({
      type: 'snapshot.copied',
      data: { snapshotId: copyId, sourceSnapshotId: args.source.snapshotId, volumeId: args.chain.volumeId, role: args.role, kmsKeyId: args.kmsKeyId, requestId: requestId ?? null },
    }),
  );
  await args.onExists(copyId);
  return waitCompleted(run, args.waiter, copyId, args.chain.volumeId, args.role);
}

/**
 * A chain step's `onFailure`: a cut wait (stopped, timed out, unreadable) leaves the snapshot
 * being made in AWS — the source snapshot or a copy EC2 accepted, `snapshotId()` as the step
 * knows it when it fails: the step's entry says so in `leftInAws`, and a resume adopts it. No id
 * yet: nothing was accepted, nothing is left.
 */
function leftInAws(snapshotId: () => string | undefined): FailureFields {
  return (error) => {
    const id = snapshotId();
    return id && isWaitCut(error) ? { leftInAws: leftInCloud(`snapshot ${id}`) } : undefined;
  };
}

/**
 * A copy step's `onFailure`: its entry's `snapshotId` is the copy's source (what the step is
 * about), so the copy EC2 accepted, `copyId()` once it exists, is named in `copySnapshotId` — for
 * any failure, as the copy exists whatever ended its step — beside `leftInAws` when its wait was cut.
 */
function copyLeftInAws(copyId: () => string | undefined): FailureFields {
  const left = leftInAws(copyId);
  return (error) => {
    const id = copyId();
    return id ? { copySnapshotId: id, ...left(error) } : undefined;
  };
}

function alreadyLocked(run: TargetRun, snapshotId: string): boolean {
  return historyOf(run.recorder)
    .derived('aws.lockedSnapshots', () => new Set<string>(), (locked, e) => {
      if (e.type === LEDGER_EVENTS.snapshotLocked && typeof e.data.snapshotId === 'string') locked.add(e.data.snapshotId);
    })
    .has(snapshotId);
}

/** What the lock step records: LockSnapshot's answer, or a compliance lock found in place. */
interface LockAnswer {
  output: { LockState?: string; LockExpiresOn?: Date };
  requestId?: string | undefined;
  foundLocked?: true;
}

const FOUND_LOCKED =
  'LockSnapshot answered SnapshotLocked: the copy is already under a compliance lock, which an earlier run of this case asked for and was cut off before recording (its expiry is as that request set it)';

/**
 * Whether `error` is EC2 refusing to change a compliance lock on `snapshotId` that an earlier run
 * of the case asked for (a `LockSnapshot` request on record before this one): the lock this run
 * wants is in place, and asking again can never succeed.
 */
function lockedByEarlierRun(run: TargetRun, snapshotId: string, error: unknown): boolean {
  if (((error as CustodyError | undefined)?.cause as { name?: unknown } | undefined)?.name !== 'SnapshotLocked') return false;
  const asked = historyOf(run.recorder)
    .about('snapshot.requested', run.target.arn)
    .filter((e) => e.data.operation === 'LockSnapshot' && e.data.snapshotId === snapshotId);
  return asked.length >= 2; // this run's request, and an earlier one
}

function alreadyRecordedArtifact(run: TargetRun, evidenceId: string, cloudIds: Record<string, string>): boolean {
  return historyOf(run.recorder).artifactRecorded(evidenceId, cloudIds);
}

/**
 * Records the volume's artefact with every cloud id it has so far (the manifest merges the
 * records of one evidence id): called as soon as each snapshot exists, so a chain that stops
 * later (a failed copy, an interruption) still leaves what it preserved in the manifest.
 */
async function recordArtifactSoFar(run: TargetRun, chain: SourceSnapshot, cloudIds: Record<string, string>, stage: string): Promise<void> {
  const artifactIds = { ...cloudIds };
  delete artifactIds.volumeId;
  if (alreadyRecordedArtifact(run, chain.evidenceId, artifactIds)) return;
  const { target } = run;
  await run.recorder.recordArtifact({
    evidenceId: chain.evidenceId,
    kind: 'ebs-snapshot',
    source: chain.volumeArn,
    target: target.arn,
    cloudIds: artifactIds,
    details: {
      volumeId: chain.volumeId,
      transfer: run.aws.transfer,
      account: target.account,
      region: target.region,
      forensicsAccount: run.aws.forensicsAccount,
      latest: stage,
    },
  });
  run.evidenceIds.add(chain.evidenceId);
}

/**
 * Runs a volume's chain to the end the config asks for (`aws.transfer`). Failures are recorded
 * as `step.failed` and end this volume's chain only.
 */
export async function runVolumeChain(run: TargetRun, chain: SourceSnapshot, shareableKey: DescribedKey | undefined): Promise<ChainResult> {
  const { target } = run;
  const cloudIds: Record<string, string> = { snapshotId: chain.snapshotId, volumeId: chain.volumeId };
  // A chain that stops early still names what exists (cloudIds grows as each snapshot appears).
  const failed: ChainResult = { volumeId: chain.volumeId, done: false, cloudIds };
  const extra = { volumeId: chain.volumeId, snapshotId: chain.snapshotId };
  // The source snapshot exists from its request on: it is evidence whatever happens next.
  await recordArtifactSoFar(run, chain, cloudIds, 'source snapshot requested');

  const source = await runStep(
    run,
    'wait-snapshot',
    async () => {
      try {
        if (chain.completed) return factsOf(chain.completed);
        return await (chain.completion ?? waitCompleted(run, run.scope.waiter, chain.snapshotId, chain.volumeId, 'source'));
      } finally {
        chain.release?.();
      }
    },
    extra,
    leftInAws(() => chain.snapshotId),
  );
  if (!source.ok) return failed;

  const transfer = run.aws.transfer;
  if (transfer !== 'in-place') {
    let shareable = source.value;
    const shareKeyArn = shareableKey?.metadata.Arn;
    const needsCopy = !source.value.encrypted || !shareKeyArn || source.value.kmsKeyId !== shareKeyArn;
    if (needsCopy) {
      const reencrypted = await runStep(
        run,
        'reencrypt',
        async () => {
          if (!shareKeyArn) {
            throw new CustodyError('E_CONFIG', `the shareable key ${run.aws.kms.shareableKey} could not be described in ${target.account} ${target.region}, so ${chain.snapshotId} cannot be re-encrypted for sharing`, {
              resource: fillKeyPattern(run.aws.kms.shareableKey, target.account, target.region),
            });
          }
          // Only for the reason recorded; a key we may not describe is no reason to stop.
          const sourceKey = source.value.kmsKeyId
            ? await run.scope.keys.describe(source.value.kmsKeyId).catch((error: unknown) => {
                if (isStopSignal(error)) throw error;
                return undefined;
              })
            : undefined;
          const reason = !source.value.encrypted
            ? 'unencrypted snapshot: encrypt before sharing'
            : sourceKey?.metadata.KeyManager === 'AWS'
              ? 'AWS-managed key (aws/ebs) cannot be shared'
              : 'encrypted under a key other than the shareable key';
          return copyOnce(run, {
            role: 'reencrypted',
            index: run.scope.snapshots,
            waiter: run.scope.waiter,
            copies: run.scope.copies,
            send: (command) => run.scope.caller.ec2('reencryptSnapshot', command, `arn:${target.partition}:ec2:${target.region}::snapshot/${source.value.snapshotId}`, run.signal),
            source: source.value,
            sourceRegion: target.region,
            chain,
            kmsKeyId: shareKeyArn,
            reason,
            onExists: async (snapshotId) => {
              cloudIds.reencryptedSnapshotId = snapshotId;
              await recordArtifactSoFar(run, chain, cloudIds, 're-encrypted copy requested');
            },
          });
        },
        extra,
        copyLeftInAws(() => cloudIds.reencryptedSnapshotId),
      );
      if (!reencrypted.ok) return failed;
      shareable = reencrypted.value;
      cloudIds.reencryptedSnapshotId = shareable.snapshotId;
    }

    const forensicsAccount = run.aws.forensicsAccount;
    const shared = await runStep(run, 'share', () => shareWithForensicsAccount(run, shareable.snapshotId, chain.volumeId, transfer === 'copy'), {
      volumeId: chain.volumeId,
      snapshotId: shareable.snapshotId,
    });
    if (!shared.ok) return failed;

    if (transfer === 'copy') {
      const forensicsRegion = run.aws.region;
      const forensicsKey = fillKeyPattern(
        run.aws.kms.forensicsKey ?? `arn:${target.partition}:kms:{region}:{account}:alias/cloud-custody-forensics`,
        forensicsAccount,
        forensicsRegion,
      );
      const copied = await runStep(
        run,
        'forensics-copy',
        async () => {
          const forensics = run.forensics();
          return copyOnce(run, {
            role: 'forensics',
            index: forensics.snapshots,
            waiter: forensics.waiter,
            copies: forensics.copies,
            send: (command) => forensics.caller.ec2('copyToForensics', command, `arn:${target.partition}:ec2:${target.region}::snapshot/${shareable.snapshotId}`, run.signal),
            source: shareable,
            sourceRegion: target.region,
            chain,
            kmsKeyId: forensicsKey,
            reason: 'the forensics account keeps its own copy under its own key',
            onExists: async (snapshotId) => {
              cloudIds.forensicsSnapshotId = snapshotId;
              await recordArtifactSoFar(run, chain, cloudIds, 'forensics copy requested');
            },
          });
        },
        { volumeId: chain.volumeId, snapshotId: shareable.snapshotId },
        copyLeftInAws(() => cloudIds.forensicsSnapshotId),
      );
      if (!copied.ok) return failed;
      cloudIds.forensicsSnapshotId = copied.value.snapshotId;

      const lock = run.aws.lock;
      if (lock && !alreadyLocked(run, copied.value.snapshotId)) {
        const locked = await runStep(
          run,
          'lock',
          async () => {
            const forensics = run.forensics();
            const snapshotId = copied.value.snapshotId;
            await recordMutation(
              run.recorder,
              target.arn,
              {
                type: 'snapshot.requested',
                data: { operation: 'LockSnapshot', role: 'lock', snapshotId, volumeId: chain.volumeId, lockMode: lock.mode, lockDurationDays: lock.durationDays, coolOffHours: lock.coolOffHours ?? null },
              },
              () =>
                forensics.caller
                  .ec2(
                    'lockSnapshot',
                    new LockSnapshotCommand({
                      SnapshotId: snapshotId,
                      LockMode: lock.mode,
                      LockDuration: lock.durationDays,
                      ...(lock.coolOffHours ? { CoolOffPeriod: lock.coolOffHours } : {}),
                    }),
                    `arn:${target.partition}:ec2:${forensicsRegion}::snapshot/${snapshotId}`,
                    run.signal,
                  )
                  .then(
                    (answer): LockAnswer => answer,
                    (error: unknown): LockAnswer => {
                      if (!lockedByEarlierRun(run, snapshotId, error)) throw error;
                      return { output: { LockState: 'compliance' }, requestId: (error as CustodyError).requestId, foundLocked: true };
                    },
                  ),
              ({ output, requestId, foundLocked }) => ({
                type: LEDGER_EVENTS.snapshotLocked,
                data: {
                  snapshotId,
                  volumeId: chain.volumeId,
                  lockState: output.LockState ?? null,
                  lockExpiresOn: output.LockExpiresOn?.toISOString() ?? null,
                  requestId: requestId ?? null,
                  ...(foundLocked ? { foundLocked: FOUND_LOCKED } : {}),
                },
              }),
            );
          },
          { volumeId: chain.volumeId, snapshotId: copied.value.snapshotId },
        );
        if (!locked.ok) return failed;
      }
    }
  }

  await recordArtifactSoFar(run, chain, cloudIds, 'chain complete');
  // `--hash` (hash-volume.ts): a volume whose disk hash failed is not fully collected.
  if (wantsDiskHash(run) && !(await hashPreservedVolume(run, { volumeId: chain.volumeId, evidenceId: chain.evidenceId, cloudIds }))) return failed;
  return { volumeId: chain.volumeId, done: true, cloudIds };
}
