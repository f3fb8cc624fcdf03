/**
 * Collecting one GCP target: describe (instance and disks, as evidence), volatile first (serial
 * ports, screenshot), then one snapshot per disk in the forensics project, awaited in batches.
 * The outcome is data: one disk that fails never stops the others.
 */
import { historyOf } from '../../core/case-history.js';
import { evidenceIdFor } from '../../core/case-id.js';
import { CustodyError, isCustodyError, isStopSignal } from '../../core/errors.js';
import { allSettledOrThrow, storeOnce } from '../../core/kernel.js';
import { jsonEvidence } from '../../core/redact-json.js';
import type { CaseRecorder, ProgressSink, TargetOutcome } from '../../core/ports.js';
import { attachedDisks, getDisk, getInstance, toEvidenceJson, type Disk } from './describe.js';
import type { GcpSession } from './session.js';
import { earlierSnapshotRequests, snapshotDisk, type DiskSnapshotResult } from './snapshot.js';
import { gcpTargetKey, resourceNameOf, type GcpDiskTarget, type GcpInstanceTarget, type GcpTarget } from './targets.js';
import { collectVolatile } from './volatile.js';

export interface GcpTargetRun {
  session: GcpSession;
  recorder: CaseRecorder;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

async function failed(run: GcpTargetRun, key: string, step: string, error: unknown, evidenceIds: string[]): Promise<TargetOutcome> {
  if (isStopSignal(error)) throw error;
  const e = isCustodyError(error) ? error : new CustodyError('E_CLOUD', String((error as Error).message ?? error), { cause: error });
  await run.recorder.record('step.failed', { step, error: e.toRecord() }, key);
  return { target: key, status: 'failed', reason: e.message, error: e.toRecord(), evidenceIds };
}

function outcomeOf(run: GcpTargetRun, key: string, snapshots: DiskSnapshotResult[], stored: string[], extra: string[]): TargetOutcome {
  const done = snapshots.filter((s) => s.status === 'completed');
  const bad = snapshots.filter((s) => s.status === 'failed');
  // Only ids the case holds something under: a snapshot never taken is no evidence item.
  const history = historyOf(run.recorder);
  const evidenceIds = [...new Set([...stored, ...snapshots.filter((s) => s.status === 'completed' || history.artifactRecorded(s.evidenceId)).map((s) => s.evidenceId)])];
  // A hold asked for and not confirmed: the snapshot is evidence, but not protected as configured.
  const unheld = snapshots.flatMap((s) => (s.holdUnconfirmed ? [`${s.disk}: ${s.holdUnconfirmed}`] : []));
  if (bad.length === 0 && extra.length === 0 && unheld.length === 0) return { target: key, status: 'collected', evidenceIds };
  // A snapshot whose wait was cut is left in GCP (its step.failed says why): evidence a resume adopts, so never `failed`.
  const left = bad.filter((s) => s.leftInGcp !== undefined);
  const reasons = [...bad.map((s) => `${s.disk}: ${s.leftInGcp ?? s.error?.message ?? 'failed'}`), ...unheld, ...extra];
  if (done.length === 0 && left.length === 0 && snapshots.length > 0) {
    return { target: key, status: 'failed', reason: `no snapshot was preserved: ${reasons.join('; ')}`, ...(bad[0]?.error ? { error: bad[0].error.toRecord() } : {}), evidenceIds };
  }
  return {
    target: key,
    status: 'partial',
    reason: `${done.length} of ${snapshots.length} disks preserved (${done.map((s) => s.snapshotName).join(', ') || 'none'}); ${reasons.join('; ')}`,
    ...(bad[0]?.error ? { error: bad[0].error.toRecord() } : {}),
    evidenceIds,
  };
}

async function storeDisks(run: GcpTargetRun, key: string, evidenceId: string, described: Array<{ target: GcpDiskTarget; disk: Disk }>): Promise<void> {
  await storeOnce(run.recorder, {
    evidenceId,
    name: 'disks.json',
    kind: 'disks-description',
    source: described.map((d) => resourceNameOf(d.target)).join(' '),
    ...jsonEvidence(described.map((d) => d.disk), toEvidenceJson),
    mediaType: 'application/json',
    target: key,
    cloudIds: Object.fromEntries(described.map((d) => [resourceNameOf(d.target), String(d.disk.id ?? '')])),
  });
}

/**
 * An instance: its description, volatile state, every persistent disk described and snapshotted.
 *
 * @example
 * const outcome = await collectGcpInstance(run, parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1'));
 */
export async function collectGcpInstance(run: GcpTargetRun, target: GcpInstanceTarget): Promise<TargetOutcome> {
  const { session, recorder } = run;
  const key = gcpTargetKey(target);
  const evidenceId = evidenceIdFor(recorder.caseId, key);
  const evidenceIds = [evidenceId];
  run.progress?.({ target: key, step: 'describe', state: 'started' });
  let instance;
  try {
    instance = await getInstance(session, target, evidenceId);
    await storeOnce(recorder, {
      evidenceId,
      name: 'instance.json',
      kind: 'instance-description',
      source: resourceNameOf(target),
      ...jsonEvidence(instance, toEvidenceJson),
      mediaType: 'application/json',
      target: key,
      cloudIds: { instanceId: String(instance.id ?? ''), project: target.project, zone: target.zone },
    });
  } catch (error) {
    // Deleted since an earlier run of the case: the snapshots that run asked for are still carried through.
    if (isCustodyError(error) && error.code === 'E_NOT_FOUND') {
      const carried = await carryEarlierSnapshots(run, key, evidenceId, error);
      if (carried) return carried;
    }
    return failed(run, key, 'describe', error, []);
  }
  run.progress?.({ target: key, step: 'volatile', state: 'started' });
  const volatile = await collectVolatile(session, recorder, target, instance, evidenceId);
  const { disks, skipped } = attachedDisks(instance);
  if (skipped.length > 0) {
    await recorder.record('disk.skipped', { devices: skipped, reason: 'no persistent disk source (local SSD or scratch): cannot be snapshotted' }, key);
  }
  const described: Array<{ target: GcpDiskTarget; disk: Disk }> = [];
  const describeFailures: string[] = [];
  for (const disk of disks) {
    try {
      described.push({ target: disk, disk: await getDisk(session, disk, evidenceId) });
    } catch (error) {
      if (isStopSignal(error)) throw error;
      const e = isCustodyError(error) ? error : new CustodyError('E_CLOUD', String(error));
      await recorder.record('step.failed', { step: 'describe-disk', disk: gcpTargetKey(disk), error: e.toRecord() }, key);
      describeFailures.push(`${gcpTargetKey(disk)}: ${e.message}`);
    }
  }
  if (described.length > 0) await storeDisks(run, key, evidenceId, described);
  run.progress?.({ target: key, step: 'snapshot', state: 'started' });
  // Every disk's snapshot settles before a stop signal is thrown: none goes on calling Compute after collect returns.
  const snapshots = await allSettledOrThrow(described.map((d) => snapshotDisk(session, recorder, key, d.target, d.disk, run.signal)));
  const outcome = outcomeOf(run, key, snapshots, evidenceIds, describeFailures);
  if (outcome.status === 'collected' && volatile.unavailable.some((u) => !u.absent)) {
    // The disks are safe; say plainly what volatile evidence could not be had.
    return { ...outcome, status: 'partial', reason: `volatile evidence unavailable: ${volatile.unavailable.map((u) => `${u.what} (${u.reason})`).join('; ')}` };
  }
  return outcome;
}

/**
 * An instance deleted since an earlier run of the case: nothing of it can be read or snapshotted
 * any more, but the snapshots that run asked for (in the forensics project, under the names the
 * case gave them) are evidence. They are adopted by name, waited for until READY and recorded as
 * the case's artefacts; a disk with no snapshot there is not snapshotted again. Never `collected`.
 * Undefined when no earlier run asked for a snapshot: the target fails as before.
 */
async function carryEarlierSnapshots(run: GcpTargetRun, key: string, evidenceId: string, gone: CustodyError): Promise<TargetOutcome | undefined> {
  const asked = earlierSnapshotRequests(run.recorder, key);
  if (asked.length === 0) return undefined;
  await run.recorder.record('step.failed', { step: 'describe', error: gone.toRecord() }, key);
  const snapshots = await allSettledOrThrow(asked.map(({ disk, description }) => snapshotDisk(run.session, run.recorder, key, disk, description, run.signal, { adoptOnly: true })));
  const stored = historyOf(run.recorder).storedName(evidenceId, 'instance.json') !== undefined ? [evidenceId] : [];
  return outcomeOf(run, key, snapshots, stored, [`${gone.message}; the snapshots an earlier run of the case asked for were carried through`]);
}

/** A disk named on its own (zonal or regional). */
export async function collectGcpDisk(run: GcpTargetRun, target: GcpDiskTarget): Promise<TargetOutcome> {
  const { session, recorder } = run;
  const key = gcpTargetKey(target);
  const evidenceId = evidenceIdFor(recorder.caseId, key);
  let disk: Disk;
  try {
    disk = await getDisk(session, target, evidenceId);
    await storeDisks(run, key, evidenceId, [{ target, disk }]);
  } catch (error) {
    return failed(run, key, 'describe', error, []);
  }
  const snapshot = await snapshotDisk(session, recorder, key, target, disk, run.signal);
  // Its description is stored under the disk's evidence id, whatever became of the snapshot.
  return outcomeOf(run, key, [snapshot], [evidenceId], []);
}

export function collectGcpTarget(run: GcpTargetRun, target: GcpTarget): Promise<TargetOutcome> {
  return target.kind === 'gcp-instance' ? collectGcpInstance(run, target) : collectGcpDisk(run, target);
}
