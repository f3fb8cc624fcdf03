/**
 * One snapshot per disk, created straight in the forensics project (`snapshots.insert` with
 * `sourceDisk` in the target project), named, labelled and request-id'd deterministically so a
 * resumed run adopts what an interrupted one created. Each is its own point in time: snapshots
 * of an instance's disks are not multi-disk consistent, and the ledger says so per disk.
 * GCP offers no snapshot lock and no block-read API for snapshots, so what is recorded is what
 * the provider confirmed (ids, sizes, the source disk's id and last attach time) — and that no
 * content hash exists.
 *
 * A snapshot that ended FAILED keeps its name taken (custody never deletes a snapshot), so the next
 * attempt goes under the next numbered name (ids.ts). Each is recorded as `snapshot.failed` with
 * its attempt number, and the ledger's highest says where the next run starts: the same name on
 * every resume, found again if an earlier run made it.
 */
import { historyOf } from '../../core/case-history.js';
import { evidenceIdFor } from '../../core/case-id.js';
import { CustodyError, isCustodyError, isStopSignal } from '../../core/errors.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import type { CaseRecorder, LedgerEntry } from '../../core/ports.js';
import type { Disk } from './describe.js';
import { snapshotLabelsFor, snapshotNameFor, snapshotRequestIdFor } from './ids.js';
import { resourceManagerBase } from './resource-manager.js';
import type { GcpSession } from './session.js';
import { diskTargetFromUrl, gcpTargetKey, resourceNameOf, type GcpDiskTarget } from './targets.js';
import { pauseUnlessStopped, timerSleep } from '../shared/stoppable-sleep.js';
import { leftInCloud } from '../shared/left-in-cloud.js';
import type { protos } from '@google-cloud/compute';

type Snapshot = protos.google.cloud.compute.v1.ISnapshot;

export const NO_CONTENT_HASH =
  'none: Compute Engine offers no content hash and no block-read API for snapshots; the snapshot id, storageBytes and source disk id are what the provider confirms';
export const CONSISTENCY = 'per-disk: this snapshot is not consistent with the snapshots of the instance\'s other disks';
export const FAILED_KEPT = 'kept: custody never deletes a snapshot; delete it by hand once it is no longer needed as a record';

/** More FAILED snapshots of one disk than this and the disk is given up (`step.failed`), not retried. */
export const MAX_SNAPSHOT_ATTEMPTS = 20;

/** The attempt after the highest one the ledger records as FAILED for this evidence id (1 if none). */
function nextAttempt(recorder: CaseRecorder, evidenceId: string): number {
  let highest = 0;
  for (const entry of historyOf(recorder).ofType(LEDGER_EVENTS.snapshotFailed)) {
    if (entry.data.evidenceId === evidenceId && typeof entry.data.attempt === 'number') highest = Math.max(highest, entry.data.attempt);
  }
  return highest + 1;
}

export interface DiskSnapshotResult {
  disk: string;
  evidenceId: string;
  status: 'completed' | 'failed';
  snapshotName: string;
  snapshotId?: string;
  error?: CustodyError;
  /** The evidence hold was asked for but Resource Manager did not confirm its binding: why. */
  holdUnconfirmed?: string;
  /**
   * The wait ended before the snapshot did (the run was stopped, the READY wait timed out, or a
   * read of the operation or the snapshot failed): Compute accepted it and may still be making
   * it. Claimed neither made nor lost; the sentence says so, and a resume adopts it by its name.
   */
  leftInGcp?: string;
}

/** The id Compute gave `snapshot`, when it says one. */
function idOf(snapshot: Snapshot): string | undefined {
  return String(snapshot.id ?? '') || undefined;
}

function sourceDiskOf(disk: GcpDiskTarget): string {
  return resourceNameOf(disk);
}

async function getExisting(session: GcpSession, disk: GcpDiskTarget, name: string, evidenceId: string): Promise<Snapshot | undefined> {
  const forensics = session.config.forensicsProject;
  try {
    const [snapshot] = await session.call('getSnapshot', disk.project, `projects/${forensics}/global/snapshots/${name}`, evidenceId, (c, o) =>
      c.snapshots.get({ project: forensics, snapshot: name }, o),
    );
    return snapshot;
  } catch (error) {
    if (isCustodyError(error) && error.code === 'E_NOT_FOUND') return undefined;
    throw error;
  }
}

/** A disk id Compute gave (its `id`, a snapshot's `sourceDiskId`), or null: an empty one names no disk. */
function diskIdOf(id: { toString(): string } | null | undefined): string | null {
  return id === null || id === undefined || String(id) === '' ? null : String(id);
}

/**
 * Why a snapshot found under this disk's name cannot be adopted as its evidence: not labelled with
 * this case's evidence id, or made from another disk (the provider's `sourceDiskId`). Names are
 * predictable, so the forensics project could hold one somebody else made. When the disk's id is
 * not known (an earlier run's request recorded none), the snapshot's `sourceDisk` must name this
 * disk; two unknown ids are never taken for the same disk.
 */
function notOurs(snapshot: Snapshot, labels: Record<string, string>, disk: GcpDiskTarget, description: Disk): string | undefined {
  if (snapshot.labels?.['custody-evidence'] !== labels['custody-evidence'] || snapshot.labels?.['custody-case'] !== labels['custody-case']) return 'its labels are not this case\'s';
  const diskId = diskIdOf(description.id);
  if (diskId === null) {
    const made = snapshot.sourceDisk ? diskTargetFromUrl(snapshot.sourceDisk) : undefined;
    if (!made || gcpTargetKey(made) !== gcpTargetKey(disk)) return `it was made from ${snapshot.sourceDisk || 'a disk it does not name'}, not ${gcpTargetKey(disk)} (whose id the case did not record)`;
    return undefined;
  }
  if (diskIdOf(snapshot.sourceDiskId) !== diskId) return `it was made from disk id ${diskIdOf(snapshot.sourceDiskId) ?? 'unknown'}, not ${diskId}`;
  return undefined;
}

function refuseAdoption(snapshotResource: string, diskKey: string, why: string): CustodyError {
  return new CustodyError('E_CLOUD', `${snapshotResource} exists but was not made by this case from ${diskKey} (${why}): refusing to adopt it`, { resource: snapshotResource });
}

/**
 * Snapshots one disk into the forensics project and waits for it. Failures are returned (the
 * caller decides the target's outcome); only a ledger failure is thrown.
 *
 * One snapshot per disk per case: the first target of the run to reach a disk snapshots it; any
 * other target attaching or naming it records `disk.covered` and shares that result — the same
 * snapshot, or the same failure (a snapshot that ended FAILED fails the disk for the whole run; a
 * resume takes the next attempt), never a second snapshot in the same run.
 */
export async function snapshotDisk(
  session: GcpSession,
  recorder: CaseRecorder,
  target: string,
  disk: GcpDiskTarget,
  description: Disk,
  signal?: AbortSignal,
  /** `adoptOnly`: a snapshot the case does not hold under the disk's name is not inserted (its instance is gone). */
  options: { adoptOnly?: boolean } = {},
): Promise<DiskSnapshotResult> {
  const diskKey = gcpTargetKey(disk);
  const claim = session.diskClaims.get(diskKey);
  if (claim && claim.by !== target) {
    await recorder.record(
      'disk.covered',
      { disk: diskKey, evidenceId: evidenceIdFor(recorder.caseId, diskKey), coveredBy: claim.by, reason: 'another target of this case snapshots this disk in this run: one snapshot per disk per case, not a second one here' },
      target,
    );
    return claim.result;
  }
  const result = takeSnapshot(session, recorder, target, disk, description, signal, options);
  session.diskClaims.set(diskKey, { by: target, result });
  return result;
}

async function takeSnapshot(...[session, recorder, target, disk, description, signal, options]: Parameters<typeof snapshotDisk>): Promise<DiskSnapshotResult> {
  const config = session.config;
  const forensics = config.forensicsProject;
  const diskKey = gcpTargetKey(disk);
  const evidenceId = evidenceIdFor(recorder.caseId, diskKey);
  let attempt = nextAttempt(recorder, evidenceId);
  let name = snapshotNameFor(evidenceId, attempt);
  let snapshotResource = `projects/${forensics}/global/snapshots/${name}`;
  let requestId = snapshotRequestIdFor(recorder.caseId, evidenceId, attempt);
  const labels = snapshotLabelsFor(recorder.caseId, evidenceId);
  const result: DiskSnapshotResult = { disk: diskKey, evidenceId, status: 'failed', snapshotName: name };
  // Set when a wait for a snapshot Compute accepted (inserted or adopted) ends before the snapshot does.
  let waitCut = false;
  // The id Compute gave the snapshot under `name` it accepted (the insert's operation, or the
  // snapshot adopted): a failed step names it as a field, as it names the snapshot.
  let acceptedId: string | undefined;
  const unlessCut = async <T>(wait: () => Promise<T>): Promise<T> => {
    try {
      return await wait();
    } catch (error) {
      waitCut = true;
      throw error;
    }
  };
  /** Records the snapshot under `name` as FAILED (kept), naming the attempt that comes next. */
  const recordFailed = (snapshot: Snapshot, found: string) =>
    recorder.record(
      LEDGER_EVENTS.snapshotFailed,
      { snapshotName: name, snapshotId: idOf(snapshot) ?? null, status: snapshot.status ?? null, attempt, found, sourceDisk: sourceDiskOf(disk), evidenceId, kept: FAILED_KEPT, nextSnapshotName: snapshotNameFor(evidenceId, attempt + 1) },
      target,
    );
  const endedFailed = (detail: string) =>
    new CustodyError(
      'E_CLOUD',
      `snapshot ${name} of ${diskKey} ended FAILED${detail}; it is kept, and ${attempt < MAX_SNAPSHOT_ATTEMPTS ? `a resumed run takes a new snapshot as ${snapshotNameFor(evidenceId, attempt + 1)}` : `no further attempt is made (${MAX_SNAPSHOT_ATTEMPTS} at most)`}`,
      { resource: snapshotResource },
    );
  try {
    if (attempt > MAX_SNAPSHOT_ATTEMPTS) {
      throw new CustodyError('E_CLOUD', `${MAX_SNAPSHOT_ATTEMPTS} snapshots of ${diskKey} ended FAILED (the ledger records each as snapshot.failed): no further attempt is made`, { resource: diskKey });
    }
    let snapshot = await getExisting(session, disk, name, evidenceId);
    let operationName: string | undefined;
    for (;;) {
      const foreign = snapshot && notOurs(snapshot, labels, disk, description);
      if (foreign) throw refuseAdoption(snapshotResource, diskKey, foreign);
      if (snapshot?.status !== 'FAILED') break;
      // Left FAILED by an earlier run that did not live to record it (or by a second target of the
      // case): never evidence and never READY later, so recorded and passed over, as it would
      // have been had that run recorded it.
      await recordFailed(snapshot, 'found FAILED under this name before any insert of this run');
      if (attempt >= MAX_SNAPSHOT_ATTEMPTS) throw endedFailed('');
      attempt += 1;
      name = snapshotNameFor(evidenceId, attempt);
      snapshotResource = `projects/${forensics}/global/snapshots/${name}`;
      requestId = snapshotRequestIdFor(recorder.caseId, evidenceId, attempt);
      result.snapshotName = name;
      snapshot = await getExisting(session, disk, name, evidenceId);
    }
    if (!snapshot && options?.adoptOnly) {
      // The instance is gone: a disk left behind no longer holds what the case set out to preserve.
      throw new CustodyError('E_NOT_FOUND', `the case holds no snapshot of ${diskKey} (${name} is not in ${forensics}): its instance is gone, and the disk is not snapshotted again`, { resource: snapshotResource });
    }
    if (snapshot) {
      acceptedId = idOf(snapshot);
      await recorder.record(
        'snapshot.adopted',
        { snapshotName: name, snapshotId: idOf(snapshot) ?? null, status: snapshot.status ?? null, sourceDisk: sourceDiskOf(disk), evidenceId, labels: snapshot.labels ?? {} },
        target,
      );
    } else {
      if (signal?.aborted) throw new CustodyError('E_CLOUD', `stopped before snapshotting ${diskKey}`, { resource: diskKey });
      const body: Snapshot = {
        name,
        sourceDisk: sourceDiskOf(disk),
        description: `cloud-custody case ${recorder.caseId} evidence ${evidenceId} of ${diskKey}${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
        labels,
        ...(config.snapshots.storageLocations ? { storageLocations: config.snapshots.storageLocations } : {}),
        ...(config.snapshots.kmsKeyName ? { snapshotEncryptionKey: { kmsKeyName: config.snapshots.kmsKeyName } } : {}),
        ...(config.snapshots.guestFlush ? { guestFlush: true } : {}),
        ...(config.snapshots.evidenceHoldTag
          ? { params: { resourceManagerTags: { [config.snapshots.evidenceHoldTag.key]: config.snapshots.evidenceHoldTag.value } } }
          : {}),
      };
      await recorder.record(
        'snapshot.requested',
        {
          operation: 'compute.snapshots.insert',
          project: forensics,
          snapshotName: name,
          requestId,
          ...(attempt > 1 ? { attempt } : {}),
          sourceDisk: body.sourceDisk,
          // null when Compute's description of the disk gave no id: an empty string would claim one.
          sourceDiskId: diskIdOf(description.id),
          labels,
          storageLocations: config.snapshots.storageLocations ?? 'default (nearest multi-region)',
          kmsKeyName: config.snapshots.kmsKeyName ?? 'Google-managed',
          guestFlush: config.snapshots.guestFlush,
          ...(config.snapshots.evidenceHoldTag ? { evidenceHoldTag: config.snapshots.evidenceHoldTag } : {}),
          consistency: CONSISTENCY,
          evidenceId,
        },
        target,
      );
      try {
        const [operation] = await session.call('insertSnapshot', disk.project, snapshotResource, evidenceId, (c, o) =>
          c.snapshots.insert({ project: forensics, requestId, snapshotResource: body }, o),
        );
        const latest = (operation as unknown as { latestResponse?: { name?: string; id?: string; user?: string; targetId?: string } }).latestResponse ?? {};
        operationName = latest.name;
        acceptedId = latest.targetId || undefined;
        await recorder.record(
          'snapshot.created',
          { snapshotName: name, operationName: latest.name ?? null, operationId: latest.id ?? null, snapshotId: latest.targetId ?? null, user: latest.user ?? null, requestId, evidenceId },
          target,
        );
      } catch (error) {
        // The name exists: an earlier run (or another target of this case) created it meanwhile.
        if (!(isCustodyError(error) && /already exists/i.test(error.message))) throw error;
        snapshot = await getExisting(session, disk, name, evidenceId);
        if (!snapshot) throw error;
        const why = notOurs(snapshot, labels, disk, description);
        if (why) throw refuseAdoption(snapshotResource, diskKey, why);
        acceptedId = idOf(snapshot);
        await recorder.record('snapshot.adopted', { snapshotName: name, snapshotId: idOf(snapshot) ?? null, status: snapshot.status ?? null, sourceDisk: sourceDiskOf(disk), evidenceId, reason: 'insert answered already exists' }, target);
      }
    }
    if (operationName) {
      const done = await unlessCut(() => session.waiter.waitFor(operationName!, disk.project, `snapshot ${name} (operation ${operationName})`));
      const failure = done.error?.errors?.[0];
      if (failure) {
        const gone = failure.code === 'RESOURCE_NOT_FOUND';
        const left = gone ? undefined : await getExisting(session, disk, name, evidenceId);
        if (left?.status === 'FAILED') {
          await recordFailed(left, `ended FAILED (operation ${operationName}: ${failure.code}: ${failure.message})`);
          throw endedFailed(` (operation ${operationName}: ${failure.code}: ${failure.message})`);
        }
        throw new CustodyError(gone ? 'E_NOT_FOUND' : 'E_CLOUD', `the snapshot of ${diskKey} failed (operation ${operationName}): ${failure.code}: ${failure.message}`, {
          resource: diskKey,
        });
      }
    }
    snapshot = await unlessCut(() => waitUntilSettled(session, disk, name, evidenceId));
    if (!snapshot) throw new CustodyError('E_NOT_FOUND', `snapshot ${name} disappeared before it was READY`, { resource: name });
    if (snapshot.status === 'DELETING') throw new CustodyError('E_CLOUD', `snapshot ${name} is ${snapshot.status}`, { resource: name });
    if (snapshot.status === 'FAILED') {
      await recordFailed(snapshot, 'ended FAILED');
      throw endedFailed('');
    }
    result.snapshotId = idOf(snapshot);
    // Without an id from Compute, the name (unique in the forensics project) says which snapshot.
    if (historyOf(recorder).artifactRecorded(evidenceId, { ...(result.snapshotId ? { snapshotId: result.snapshotId } : {}), snapshotName: name })) {
      // An earlier run of the case recorded this very snapshot as evidence: snapshot.adopted above
      // says it was found again; recording its completion and artefact twice would count it twice.
      result.status = 'completed';
      return result;
    }
    const requestedHold = config.snapshots.evidenceHoldTag;
    const hold = requestedHold ? (result.snapshotId ? await readEvidenceHold(session, disk, forensics, result.snapshotId, requestedHold) : holdWithoutId(requestedHold)) : undefined;
    if (hold && !hold.confirmed) result.holdUnconfirmed = `evidence hold on ${name} not confirmed: ${hold.why}`;
    const record = {
      snapshotName: name,
      snapshotId: idOf(snapshot) ?? null,
      selfLink: snapshot.selfLink ?? null,
      status: snapshot.status ?? null,
      storageBytes: snapshot.storageBytes ?? null,
      storageBytesStatus: snapshot.storageBytesStatus ?? null,
      storageBytesReadAt: new Date().toISOString(),
      diskSizeGb: snapshot.diskSizeGb ?? null,
      sourceDisk: sourceDiskOf(disk),
      sourceDiskId: snapshot.sourceDiskId ?? null,
      sourceDiskLastAttachTimestamp: description.lastAttachTimestamp ?? null,
      creationTimestamp: snapshot.creationTimestamp ?? null,
      storageLocations: snapshot.storageLocations ?? [],
      kmsKeyName: snapshot.snapshotEncryptionKey?.kmsKeyName ?? null,
      labels: snapshot.labels ?? {},
      consistency: CONSISTENCY,
      contentHash: NO_CONTENT_HASH,
      lock: 'none: Compute Engine has no snapshot lock; see gcp.snapshots.evidenceHoldTag for the opt-in deny policy',
      ...(hold ? { evidenceHold: hold } : {}),
      evidenceId,
    };
    await recorder.record('snapshot.completed', record, target);
    await recorder.recordArtifact({
      evidenceId,
      kind: 'gce-snapshot',
      source: diskKey,
      target,
      cloudIds: { ...(record.snapshotId ? { snapshotId: record.snapshotId } : {}), snapshotName: name, project: forensics, ...(diskIdOf(record.sourceDiskId) ? { sourceDiskId: diskIdOf(record.sourceDiskId)! } : {}) },
      details: {
        storageBytes: record.storageBytes,
        storageBytesStatus: record.storageBytesStatus,
        sourceDiskLastAttachTimestamp: record.sourceDiskLastAttachTimestamp,
        consistency: CONSISTENCY,
        contentHash: NO_CONTENT_HASH,
      },
    });
    result.status = 'completed';
    return result;
  } catch (error) {
    if (isStopSignal(error)) throw error;
    const e = isCustodyError(error) ? error : new CustodyError('E_CLOUD', `snapshot of ${diskKey} failed: ${(error as Error).message}`, { cause: error, resource: diskKey });
    const leftInGcp = waitCut ? leftInCloud(`snapshot ${name}`) : undefined;
    await recorder.record(
      'step.failed',
      { step: 'snapshot', disk: diskKey, snapshotName: name, ...(acceptedId ? { snapshotId: acceptedId } : {}), evidenceId, error: e.toRecord(), ...(leftInGcp ? { leftInGcp } : {}) },
      target,
    );
    result.error = e;
    if (leftInGcp) result.leftInGcp = leftInGcp;
    return result;
  }
}

/** What the ledger says of the evidence hold: the binding Resource Manager listed, or why none is confirmed. */
type HoldRecord =
  | { confirmed: true; requested: { key: string; value: string }; parent: string; tagBinding: { name: string; tagValue: string | null; tagValueNamespacedName: string | null } }
  | { confirmed: false; requested: { key: string; value: string }; parent: string | null; why: string; error?: Record<string, unknown> };

/**
 * The hold of a snapshot Compute gave no id: its bindings are listed under its resource name by
 * id, so none is read (a list under an empty id would answer for no snapshot), and it is unconfirmed.
 */
function holdWithoutId(requested: { key: string; value: string }): HoldRecord {
  return { confirmed: false, requested, parent: null, why: "Compute's answer gave the snapshot no id, and Resource Manager names a snapshot by its id: its tag bindings were not read" };
}

interface TagBinding {
  name?: string;
  parent?: string;
  tagValue?: string;
  tagValueNamespacedName?: string;
}

/**
 * Reads the snapshot's tag bindings (Resource Manager `tagBindings.list`, parent = its full
 * resource name by id) and finds the hold asked for at insert: by namespaced value
 * (`KEY/VALUE`), or by id when the config names `tagValues/ID`. A failed read is recorded, not
 * thrown: the snapshot is evidence either way, only its hold is unconfirmed.
 */
async function readEvidenceHold(session: GcpSession, disk: GcpDiskTarget, forensics: string, snapshotId: string, requested: { key: string; value: string }): Promise<HoldRecord> {
  const parent = `//compute.googleapis.com/projects/${forensics}/global/snapshots/${snapshotId}`;
  // A snapshot is a global resource: its bindings are read at the global endpoint.
  const base = resourceManagerBase(session.config);
  const wanted = (b: TagBinding) => (requested.value.startsWith('tagValues/') ? b.tagValue === requested.value : b.tagValueNamespacedName === `${requested.key}/${requested.value}`);
  try {
    const bindings = await session.call('readEvidenceHold', disk.project, parent, undefined, async () => {
      const auth = await session.broker.collector(disk.project);
      const found: TagBinding[] = [];
      let pageToken: string | undefined;
      do {
        const response = await auth.request<{ tagBindings?: TagBinding[]; nextPageToken?: string }>({
          url: `${base}/v3/tagBindings`,
          params: { parent, ...(pageToken ? { pageToken } : {}) },
          headers: session.callOptions(undefined).otherArgs.headers,
          retry: false,
        });
        found.push(...(response.data.tagBindings ?? []));
        pageToken = response.data.nextPageToken || undefined;
      } while (pageToken);
      return found;
    });
    const binding = bindings.find(wanted);
    if (!binding) {
      const listed = bindings.map((b) => b.tagValueNamespacedName ?? b.tagValue ?? '?').join(', ') || 'none';
      return { confirmed: false, requested, parent, why: `Resource Manager lists no binding of ${requested.key}/${requested.value} on the snapshot (bindings listed: ${listed})` };
    }
    return { confirmed: true, requested, parent, tagBinding: { name: binding.name ?? '', tagValue: binding.tagValue ?? null, tagValueNamespacedName: binding.tagValueNamespacedName ?? null } };
  } catch (error) {
    if (isStopSignal(error)) throw error;
    const e = isCustodyError(error) ? error : new CustodyError('E_CLOUD', String((error as Error)?.message ?? error), { cause: error });
    return { confirmed: false, requested, parent, why: `its tag bindings could not be read: ${e.message}`, error: e.toRecord() };
  }
}

/**
 * The snapshot once it settled: READY, FAILED (which it stays) or DELETING; undefined once gone.
 * Throws only when the wait is cut before that — a read fails, the time limit passes, or the run is
 * stopped — so the caller knows the snapshot may still be being made.
 */
async function waitUntilSettled(session: GcpSession, disk: GcpDiskTarget, name: string, evidenceId: string): Promise<Snapshot | undefined> {
  const now = session.options.now ?? Date.now;
  const deadline = now() + session.config.snapshotTimeoutSeconds * 1000;
  const sleep = session.options.sleep ?? timerSleep;
  for (;;) {
    const snapshot = await getExisting(session, disk, name, evidenceId);
    if (!snapshot || snapshot.status === 'READY' || snapshot.status === 'FAILED' || snapshot.status === 'DELETING') return snapshot;
    if (now() > deadline) throw new CustodyError('E_TIMEOUT', `snapshot ${name} was not READY after ${session.config.snapshotTimeoutSeconds} s (status ${snapshot.status})`, { resource: name });
    if (!(await pauseUnlessStopped(sleep, session.options.readyPollMs ?? 5000, session.options.signal))) {
      throw new CustodyError('E_CLOUD', `stopped waiting for snapshot ${name} to be READY: the run was cancelled (the snapshot continues in GCP; resume the case to adopt it)`, { resource: name });
    }
  }
}

/** A disk an earlier run of the case asked to snapshot for a target, as its `snapshot.requested` entry names it. */
export interface EarlierSnapshotRequest {
  disk: GcpDiskTarget;
  /** The disk's id when the request was made (null when it recorded none): what an adopted snapshot's `sourceDiskId` must match. */
  description: Disk;
}

/** The disks `target`'s snapshot requests named (first request of each evidence id, in ledger order). */
export function earlierSnapshotRequests(recorder: CaseRecorder, target: string): EarlierSnapshotRequest[] {
  return historyOf(recorder)
    .firstPerEvidenceId(LEDGER_EVENTS.snapshotRequested, target, (e) => e.data.operation === 'compute.snapshots.insert' && requestedDisk(e) !== undefined)
    // Older entries wrote '' for an id Compute did not give: that is no id either.
    .map((e) => ({ disk: requestedDisk(e)!, description: { id: typeof e.data.sourceDiskId === 'string' ? diskIdOf(e.data.sourceDiskId) : null } }));
}

/** The disk a `snapshot.requested` entry names, when its `sourceDisk` is a disk's URL. */
function requestedDisk(entry: LedgerEntry): GcpDiskTarget | undefined {
  return typeof entry.data.sourceDisk === 'string' ? diskTargetFromUrl(entry.data.sourceDisk) : undefined;
}
