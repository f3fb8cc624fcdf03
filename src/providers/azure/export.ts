/**
 * Export, copy, hash, revoke, seal — the path every Azure disk takes into the SOC evidence
 * container, the same for same-tenant and cross-tenant targets (copies by resource id do not
 * cross tenants; a SAS does — docs/research/azure.md §5.3):
 * 1. `beginGetAccess` on the snapshot (Read, VHD, short duration). The answer's SAS URL is a
 *    credential: only its blob path and `se` expiry are recorded.
 * 2. Server-side async Copy Blob from that URL into `CASE/EVIDENCE-ID/NAME.vhd` in the evidence
 *    container (page blobs and any size; Copy Blob From URL is limited to 256 MiB).
 * 3. Stream-hash the preserved copy (not the source): the file (every byte) and the disk (all
 *    but the 512-byte VHD footer).
 * 4. `endGetAccess` — always, also after a failed copy.
 * 5. Seal the verified copy: time-based immutability and/or legal hold (`immutableStorage/
 *    runAsSuperUser`). A page blob under a policy refuses writes, so sealing comes after the hash.
 *    The seal must lock the bytes that were hashed (see `sealEvidence`): the hash read records the
 *    ETag and version id Storage answered with, the seal names that version, and a read-back after
 *    the seal proves the sealed version still has that ETag and length.
 * Grants and copies are awaited in rounds over the whole set, not one poller each.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { callAzure, exchangesOf, failureOf, withOperation, withRequestHeaders, type AzureExchange, type CallOptions } from './arm-call.js';
import { AZURE_OPERATIONS, type AzureOperationName } from './operations.js';
import type { AzureClients } from './clients.js';
import type { AzureConfig } from './config.js';
import { requestIdsOf } from './describe.js';
import { obj } from './raw.js';
import { parseResourceId, sameRecordedResource } from './resource-id.js';
import { sasFacts } from './sas-download.js';
import type { SnapshotState } from './snapshots.js';
import { hashVhdStream, type VhdHashes } from './vhd.js';
import { carriedByCopyReason, type EarlierCopy } from './copied-before.js';
import { pauseUnlessStopped, type Sleep } from '../shared/stoppable-sleep.js';
import { stoppedBefore, stoppedWaiting } from './stopped.js';

export interface ExportResult {
  snapshotId: string;
  evidenceId: string;
  blobName?: string;
  hashes?: VhdHashes;
  /** What Storage said of the bytes that were hashed (the download's answer): what the seal must lock. */
  hashedBlob?: HashedBlob;
  sealed?: { immutableUntil?: string; legalHold?: boolean; versionId?: string; overwritten?: string } | { unavailable: string };
  error?: CustodyError;
  /**
   * The read grant (SAS) ARM did not revoke: a live path to the evidence until it expires, so the
   * target is not `collected` even when its copy is hashed and sealed.
   */
  grantOpen?: { error: CustodyError; expiresOn?: string };
}

/** The blob the hash read saw, from Get Blob's answer headers (`ETag`, `x-ms-version-id`, `Last-Modified`). */
export interface HashedBlob {
  etag?: string;
  /** Present where the account has blob versioning (version-level immutability needs it). */
  versionId?: string;
  /** Storage's Last-Modified of those bytes (ISO, whole seconds, Storage's clock): the seal's `If-Unmodified-Since`. */
  lastModified?: string;
}

interface Timing {
  intervalMs: number;
  timeoutMs: number;
  sleep: Sleep;
  now: () => number;
  /** The run's: once it aborts, no grant or copy starts, and the waits end at their next pause. */
  signal?: AbortSignal;
}

/** A poller as far as custody uses it: first response awaited, then polled in rounds. Never awaited itself (it is thenable). */
export interface GrantPoller {
  submitted(): Promise<void>;
  poll(options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  readonly isDone: boolean;
  readonly result?: { accessSAS?: string } | void;
}

/** Something ARM can export read-only through a SAS: a snapshot or a disk restore point. */
export interface ExportSource {
  id: string;
  diskId: string;
  evidenceId: string;
  /** The blob's base name in the evidence container. */
  name: string;
  grantOp: AzureOperationName;
  revokeOp: AzureOperationName;
  grant(options: CallOptions, body: { access: 'Read'; durationInSeconds: number; fileFormat: 'VHD' }): GrantPoller;
  revoke(options: CallOptions): GrantPoller;
  /**
   * The source is an earlier run's finished copy, not the snapshot (copied-before.ts): only that
   * copy is adopted, never a grant or a Copy Blob; `id` is the snapshot it was copied from.
   */
  copied?: EarlierCopy;
}

export function snapshotExportSource(clients: AzureClients, state: SnapshotState): ExportSource {
  const id = parseResourceId(state.id);
  const snapshots = () => clients.compute(id.subscriptionId).snapshots;
  return {
    id: state.id,
    diskId: state.plan.disk.id,
    evidenceId: state.plan.evidenceId,
    name: state.plan.name,
    grantOp: 'grantSnapshotAccess',
    revokeOp: 'revokeSnapshotAccess',
    grant: (o, body) => snapshots().grantAccess(id.resourceGroup, id.names[0]!, body, o) as unknown as GrantPoller,
    revoke: (o) => snapshots().revokeAccess(id.resourceGroup, id.names[0]!, o) as unknown as GrantPoller,
  };
}

/**
 * A disk an earlier run finished copying whose snapshot is gone (or is not the one copied): the
 * copy is its export, named as copied from the snapshot the ledger recorded.
 */
export function copyExportSource(clients: AzureClients, state: SnapshotState, copy: EarlierCopy): ExportSource {
  return { ...snapshotExportSource(clients, { ...state, id: copy.snapshotId }), copied: copy };
}

interface Pending {
  state: ExportSource;
  result: ExportResult;
  poller?: GrantPoller;
  exchanges: AzureExchange[];
  sas?: string;
  copyId?: string;
  /** A copy into the evidence container is in flight (started here, or by an interrupted run) and is awaited below. */
  copying?: boolean;
  granted: boolean;
  /** The grant's SAS expiry (`se`), as granted in this run or recorded by the run that granted it. */
  grantExpiresOn?: string;
  /**
   * The wait for this copy ended while it was (or may be) still pending — the run stopped, the
   * wait timed out, or its status could not be read: the copy reads through the grant's SAS, so
   * the grant is left open for it (revoking it would break the copy); a resume adopts the copy
   * and revokes the grant once it is done. `why` says which, for `export.left-open`.
   */
  grantKeptForCopy?: { why: string; statusUnknown?: true };
  /** The source's usual blob holds a copy of an earlier snapshot of its name: why it gets another (blobNameFor). */
  notAdopted?: { notAdopted: string; reason: string };
}

/**
 * The blob `source` is exported into. Snapshot names derive from the evidence id, so a snapshot
 * asked for again (the one an earlier run asked for was gone) has the id of the one before it;
 * where a copy into the usual blob was asked for before that request, the blob holds (or was to
 * hold) the earlier snapshot's bytes and is never adopted as this one's export: this snapshot
 * gets a blob of its own, named by the seq of its request (the same for every resume of it).
 */
function blobNameFor(recorder: CaseRecorder, target: string, source: ExportSource): { name: string; notAdopted?: { notAdopted: string; reason: string } } {
  const name = evidenceBlobName(recorder.caseId, source.evidenceId, source.name);
  if (source.copied) return { name: source.copied.blob };
  const history = historyOf(recorder);
  const asked = history.about('snapshot.requested', target).findLast((e) => sameRecordedResource(e.data.snapshotId, source.id));
  const before = asked && history.about('copy.requested', target).find((e) => e.data.blob === name && e.seq < asked.seq);
  if (!asked || !before) return { name };
  const reason = `${name} was copied into from an earlier snapshot of the name ${source.id} (copy.requested seq ${before.seq}), before this one was asked for (snapshot.requested seq ${asked.seq}): it is not this snapshot's export and is not adopted for it`;
  return { name: evidenceBlobName(recorder.caseId, source.evidenceId, `${source.name}-${asked.seq}`), notAdopted: { notAdopted: name, reason } };
}

export function evidenceBlobName(caseId: string, evidenceId: string, snapshotName: string): string {
  return `${caseId}/${evidenceId}/${snapshotName}.vhd`;
}

/** Whether `blob` is a copy of a snapshot named `snapshotName` (its usual blob, or one of a snapshot asked for again: blobNameFor). */
export function isSnapshotBlob(caseId: string, evidenceId: string, snapshotName: string, blob: string): boolean {
  const usual = evidenceBlobName(caseId, evidenceId, snapshotName);
  if (blob === usual) return true;
  const stem = usual.slice(0, -'.vhd'.length);
  return blob.startsWith(`${stem}-`) && blob.endsWith('.vhd') && /^\d+$/.test(blob.slice(stem.length + 1, -'.vhd'.length));
}

/** The evidence id in a name `evidenceBlobName` made (case ids and evidence ids hold no `/`). */
export function evidenceIdOfBlob(blob: string): string {
  return blob.split('/')[1] ?? '';
}

async function fail(recorder: CaseRecorder, target: string, item: Pending, step: string, error: unknown): Promise<void> {
  if (isStopSignal(error)) throw error;
  const failure = error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String((error as Error)?.message ?? error), { cause: error });
  item.result.error = failure;
  await recorder.record('step.failed', { step, source: item.state.id, error: failure.toRecord(), exchanges: exchangesOf(error) }, target);
}

export async function exportSources(recorder: CaseRecorder, clients: AzureClients, config: AzureConfig, sources: ExportSource[], target: string, timing: Timing): Promise<ExportResult[]> {
  const items: Pending[] = sources.map((state) => ({ state, result: { snapshotId: state.id, evidenceId: state.evidenceId }, exchanges: [], granted: false }));
  const container = clients.evidence();

  // 0. A copy an earlier run finished is reused: hash it again if the ledger has no hash.
  for (const item of items) {
    const { name, notAdopted } = blobNameFor(recorder, target, item.state);
    item.result.blobName = name;
    if (notAdopted) item.notAdopted = notAdopted;
    try {
      const props = await callAzure('readEvidence', name, () => container.getBlobClient(name).getProperties());
      const copyStatus = props.value.copyStatus;
      if (copyStatus === 'success' || copyStatus === 'pending') {
        // Names are predictable: a blob there, finished or still being copied, is this case's copy
        // only if its metadata (set when the copy was started) says so.
        const metadata = props.value.metadata ?? {};
        if (metadata.caseid !== recorder.caseId || metadata.evidenceid !== item.state.evidenceId) {
          throw new CustodyError('E_CLOUD', `${name} exists but was not copied by this case for ${item.state.evidenceId} (its metadata differs): refusing to adopt it`, { resource: name });
        }
      }
      if (item.state.copied && copyStatus !== 'success') {
        throw new CustodyError('E_CLOUD', `${name} is not the finished copy an earlier run of the case recorded (its copy status is ${copyStatus ?? 'not reported'}), and the snapshot it was copied from, ${item.state.id}, is not the one in Azure now: nothing carries the disk in this run`, { resource: name });
      }
      if (copyStatus === 'success') {
        item.copyId = props.value.copyId ?? 'earlier run';
        const earlier = recordedForCopy(recorder, target, name, props.value.copyId);
        await recorder.record('copy.adopted', { blob: name, copyId: props.value.copyId, requestIds: requestIdsOf(props.exchanges) }, target);
        if (item.state.copied) await recordCarriedByCopy(recorder, target, item.state, item.state.copied);
        // What the case recorded of this very copy stands: it is not hashed or sealed twice.
        if (earlier.hashed) {
          item.result.hashes = hashesOf(earlier.hashed);
          item.result.hashedBlob = hashedBlobOf(earlier.hashed);
        }
        if (earlier.sealed) item.result.sealed = sealedOf(earlier.sealed);
      } else if (copyStatus === 'pending') {
        // An interrupted run started this copy and was cut off before it finished: it is awaited
        // as it is. A second grant and Copy Blob onto the same blob would export the source again
        // (Storage refuses a copy onto a blob with one pending: 409 PendingCopyOperation).
        item.copyId = props.value.copyId ?? 'earlier run';
        item.copying = true;
        await recorder.record('copy.adopted', { blob: name, copyId: props.value.copyId, copyStatus: 'pending', requestIds: requestIdsOf(props.exchanges) }, target);
      }
    } catch (error) {
      if ((error as CustodyError).code !== 'E_NOT_FOUND') {
        await fail(recorder, target, item, 'copy', error);
      } else if (item.state.copied) {
        await fail(recorder, target, item, 'copy', new CustodyError('E_NOT_FOUND', `${name}, the finished copy an earlier run of the case recorded, is not there, and the snapshot it was copied from, ${item.state.id}, is not the one in Azure now: nothing carries the disk in this run`, { resource: name, cause: error }));
      }
    }
    // A copy adopted from an interrupted run may have left its grant open (killed before
    // endGetAccess): revoked below with this run's own, once the copy no longer needs it. Not
    // one whose snapshot is gone: the grant went with it.
    if (item.copyId && !item.state.copied && grantLeftOpen(recorder, target, item.state.id)) {
      item.granted = true;
      const expiresOn = historyOf(recorder).about('export.granted', target).findLast((e) => sameRecordedResource(e.data.source, item.state.id))?.data.expiresOn;
      if (typeof expiresOn === 'string') item.grantExpiresOn = expiresOn;
    }
  }

  // 1. Grant read access (LROs: first responses now, polls in rounds).
  const stopped = () => timing.signal?.aborted === true;
  for (const item of items.filter((i) => !i.copyId && !i.result.error)) {
    if (stopped()) {
      await fail(recorder, target, item, 'export', stoppedBefore(`the export of ${item.state.id}`, item.state.id, 'resume the case to export it'));
      continue;
    }
    await recorder.record('export.requested', { operation: item.state.grantOp, source: item.state.id, access: 'Read', fileFormat: 'VHD', durationInSeconds: config.exportSasSeconds }, target);
    try {
      const sent = await callAzure(item.state.grantOp, item.state.id, async (o) => {
        const poller = item.state.grant(o, { access: 'Read', durationInSeconds: config.exportSasSeconds, fileFormat: 'VHD' });
        await poller.submitted();
        return { poller };
      });
      item.poller = sent.value.poller;
      item.exchanges.push(...sent.exchanges);
      item.granted = true;
    } catch (error) {
      await fail(recorder, target, item, 'export', error);
    }
  }
  const deadline = timing.now() + timing.timeoutMs;
  let waiting = items.filter((i) => i.poller && !i.result.error);
  while (waiting.length > 0) {
    for (const item of waiting) {
      if (item.poller!.isDone) continue;
      try {
        // A wait's read: the run's signal cuts it off (the grant itself was asked for without it).
        await withOperation('pollComputeOperation', item.exchanges, () => item.poller!.poll(timing.signal ? { abortSignal: timing.signal } : undefined));
      } catch (error) {
        // Cut off by the stop: recorded below with the others still waiting, as at the pause.
        if (stopped()) break;
        // The poller's own error: Azure's code and the request id are in the polls' exchanges.
        await fail(recorder, target, item, 'export', failureOf(error, 'pollComputeOperation', item.state.id, item.exchanges));
      }
    }
    for (const item of waiting.filter((i) => i.poller!.isDone && !i.result.error)) {
      const sas = (item.poller!.result as { accessSAS?: string } | undefined)?.accessSAS;
      if (!sas) {
        await fail(recorder, target, item, 'export', new CustodyError('E_CLOUD', `beginGetAccess on ${item.state.id} finished without an accessSAS`, { resource: item.state.id }));
        continue;
      }
      item.sas = sas;
      item.grantExpiresOn = sasFacts(sas).expiresOn;
      // The SAS is a credential: its path and expiry only.
      await recorder.record('export.granted', { source: item.state.id, ...sasFacts(sas), requestIds: requestIdsOf(item.exchanges), exchanges: item.exchanges }, target);
    }
    waiting = waiting.filter((i) => !i.poller!.isDone && !i.result.error);
    if (waiting.length === 0) break;
    if (timing.now() > deadline) {
      for (const item of waiting) await fail(recorder, target, item, 'export', new CustodyError('E_TIMEOUT', `beginGetAccess on ${item.state.id} did not finish`, { resource: item.state.id, retryable: true }));
      break;
    }
    if (!(await pauseUnlessStopped(timing.sleep, timing.intervalMs, timing.signal))) {
      // No copy reads through these grants yet: each is revoked below, as after any failed export
      // (asked for; the stopped run does not wait to see it finish).
      for (const item of waiting) await fail(recorder, target, item, 'export', stoppedWaiting(`read access to ${item.state.id}`, item.state.id, 'endGetAccess is asked for its grant; resume the case to export it'));
      break;
    }
  }

  // 2. Server-side copies into the evidence container, awaited in rounds.
  for (const item of items.filter((i) => i.sas && !i.result.error)) {
    const name = item.result.blobName!;
    if (stopped()) {
      await fail(recorder, target, item, 'copy', stoppedBefore(`the copy into ${name}`, name, 'endGetAccess is asked for its grant; resume the case to export it'));
      continue;
    }
    await recorder.record('copy.requested', { blob: name, container: config.evidenceContainerUrl, source: sasFacts(item.sas!).blob, ...item.notAdopted }, target);
    try {
      const started = await callAzure('copyToEvidence', name, async () => {
        // The storage poller sends Copy Blob on its first poll; progress is read below in rounds.
        const poller = await container.getBlobClient(name).beginCopyFromURL(item.sas!, {
          metadata: { caseid: recorder.caseId, evidenceid: item.state.evidenceId },
        });
        return poller.getOperationState() as { copyId?: string };
      });
      item.copyId = started.value.copyId ?? '';
      item.copying = item.copyId !== '';
      await recorder.record('copy.started', { blob: name, copyId: started.value.copyId, requestIds: requestIdsOf(started.exchanges) }, target);
    } catch (error) {
      await fail(recorder, target, item, 'copy', error);
    }
  }
  let copying = items.filter((i) => i.copying && !i.result.error);
  while (copying.length > 0) {
    for (const item of copying) {
      try {
        // A wait's read: the run's signal cuts it off.
        const props = await callAzure('readEvidence', item.result.blobName!, (o) => container.getBlobClient(item.result.blobName!).getProperties({ abortSignal: o.abortSignal }), { signal: timing.signal });
        const status = props.value.copyStatus;
        if (status === 'success') {
          await recorder.record('copy.completed', { blob: item.result.blobName, copyId: props.value.copyId, copyProgress: props.value.copyProgress, contentLength: props.value.contentLength, requestIds: requestIdsOf(props.exchanges) }, target);
          item.sas = undefined;
          item.copying = false;
        } else if (status === 'failed' || status === 'aborted') {
          await fail(recorder, target, item, 'copy', new CustodyError('E_CLOUD', `copy into ${item.result.blobName} ${status}: ${props.value.copyStatusDescription ?? ''}`, { resource: item.result.blobName! }));
        }
      } catch (error) {
        if (isStopSignal(error)) throw error;
        // Cut off by the stop: recorded below with every copy still pending, as at the pause.
        if (stopped()) break;
        // Not known done: the copy may still be reading through its grant, which stays open for it.
        if (item.granted) item.grantKeptForCopy = { why: `the status of the copy into ${item.result.blobName} could not be read (${(error as Error).message})`, statusUnknown: true };
        await fail(recorder, target, item, 'copy', error);
      }
    }
    copying = copying.filter((i) => i.copying && !i.result.error);
    if (copying.length === 0) break;
    if (timing.now() > deadline) {
      // Still pending in Azure: like a stopped run's, each copy keeps the grant it reads through.
      for (const item of copying) {
        if (item.granted) item.grantKeptForCopy = { why: `the wait for the copy into ${item.result.blobName} timed out while it was still pending` };
        const grant = item.granted ? `; it keeps reading through the export grant of ${item.state.id}, which is left open for it` : '';
        await fail(recorder, target, item, 'copy', new CustodyError('E_TIMEOUT', `copy into ${item.result.blobName} did not finish within ${timing.timeoutMs} ms${grant}; resume the case to adopt the copy${item.granted ? ', which then revokes the grant' : ''}`, { resource: item.result.blobName!, retryable: true }));
      }
      break;
    }
    if (!(await pauseUnlessStopped(timing.sleep, timing.intervalMs, timing.signal))) {
      for (const item of copying) {
        if (item.granted) item.grantKeptForCopy = { why: `the run was cancelled while the copy into ${item.result.blobName} was still pending` };
        const grant = item.granted ? `, reading through the export grant of ${item.state.id}, which is left open for it` : '';
        const after = `the server-side copy keeps running in Azure${grant}; resume the case to adopt the copy${item.granted ? ', which then revokes the grant' : ''}`;
        await fail(recorder, target, item, 'copy', stoppedWaiting(`the copy into ${item.result.blobName}`, item.result.blobName!, after));
      }
      break;
    }
  }

  // A copy still pending (the run stopped, its wait timed out, or its status could not be read) reads through its grant: revoking it would break the copy.
  for (const item of items.filter((i) => i.grantKeptForCopy)) await leaveGrantOpen(recorder, target, item);

  // 4 (before 3: the SAS is not needed to hash the copy). Revoke every grant that was made.
  await revokeGrants(recorder, items.filter((i) => i.granted && !i.grantKeptForCopy), target, timing);

  // 3. Hash the preserved copy, then 5. seal it.
  for (const item of items.filter((i) => i.copyId && !i.result.error)) {
    const name = item.result.blobName!;
    if (item.result.hashes) {
      item.result.sealed ??= await sealEvidence(recorder, clients, config, name, target, item.result.hashes, item.result.hashedBlob);
      continue;
    }
    try {
      const read = await callAzure('readEvidence', name, async () => {
        const download = await container.getBlobClient(name).download(0);
        if (!download.readableStreamBody) throw new CustodyError('E_CLOUD', `download of ${name} returned no body`, { resource: name });
        const hashes = await hashVhdStream(download.readableStreamBody as AsyncIterable<Uint8Array>);
        const seen: HashedBlob = {
          ...(download.etag ? { etag: download.etag } : {}),
          ...(download.versionId ? { versionId: download.versionId } : {}),
          ...(download.lastModified ? { lastModified: download.lastModified.toISOString() } : {}),
        };
        return { hashes, seen };
      });
      item.result.hashes = read.value.hashes;
      item.result.hashedBlob = read.value.seen;
      await recorder.record('evidence.hashed', { blob: name, ...read.value.hashes, ...read.value.seen, requestIds: requestIdsOf(read.exchanges) }, target);
      await recorder.recordArtifact({
        evidenceId: item.state.evidenceId,
        kind: 'azure-disk-export',
        source: item.state.diskId,
        target,
        cloudIds: { blob: `${config.evidenceContainerUrl.replace(/\/+$/, '')}/${name}`, exportedFrom: item.state.id, ...(item.state.copied ? { exportedFromUniqueId: item.state.copied.snapshotUniqueId } : {}), ...(read.value.seen.versionId ? { versionId: read.value.seen.versionId } : {}) },
        details: { ...read.value.hashes },
      });
    } catch (error) {
      await fail(recorder, target, item, 'hash', error);
      continue;
    }
    item.result.sealed = await sealEvidence(recorder, clients, config, name, target, item.result.hashes, item.result.hashedBlob);
  }
  return items.map((i) => i.result);
}

/**
 * Says, once per case, that `copy` carries the disk: Storage answered it there and finished, and
 * the snapshot it was copied from is not the one in Azure now (gone, another of its name, or not
 * settled), so no new snapshot was taken.
 */
async function recordCarriedByCopy(recorder: CaseRecorder, target: string, source: ExportSource, copy: EarlierCopy): Promise<void> {
  const said = historyOf(recorder).about('disk.carried', target).some((e) => e.data.evidenceId === source.evidenceId && e.data.carried === copy.blob);
  if (said) return;
  await recorder.record('disk.carried', {
    disk: source.diskId,
    evidenceId: source.evidenceId,
    carried: copy.blob,
    copiedFrom: copy.snapshotId,
    copiedFromUniqueId: copy.snapshotUniqueId,
    reason: `${carriedByCopyReason(copy)}; that snapshot is not there in Azure now (or not as that snapshot), so the copy carries the disk and no new snapshot is taken`,
  }, target);
}

/**
 * Revokes each grant (`endGetAccess`) and waits for the revokes in rounds, as the grants were
 * awaited. Every revoke is asked for, also after a stop (closing a read path to the evidence is
 * never skipped, and the call is never given the signal); only the wait ends early: at a pause
 * once the run is stopped, or with the poll the stop cuts off, or past `timeoutMs`. A revoke the
 * wait did not see finish may not have closed the grant: `export.left-open` says so, and the
 * grant counts as open (`grantOpen`: the target is never `collected`); a resume revokes it
 * (`grantLeftOpen`: no `export.revoked` followed its request).
 */
async function revokeGrants(recorder: CaseRecorder, items: Pending[], target: string, timing: Timing): Promise<void> {
  const deadline = timing.now() + timing.timeoutMs;
  const revoking: Array<{ item: Pending; poller: GrantPoller; exchanges: AzureExchange[]; failed?: true }> = [];
  const failed = async (item: Pending, error: unknown) => {
    if (isStopSignal(error)) throw error;
    const open = grantStillOpen(item, error);
    item.result.grantOpen = { error: open, ...(item.grantExpiresOn ? { expiresOn: item.grantExpiresOn } : {}) };
    await recorder.record('step.failed', { step: 'revoke', source: item.state.id, error: open.toRecord(), grantStillOpen: true, ...(item.grantExpiresOn ? { grantExpiresOn: item.grantExpiresOn } : {}), exchanges: exchangesOf(error) }, target);
  };
  for (const item of items) {
    try {
      const sent = await callAzure(item.state.revokeOp, item.state.id, async (o) => {
        const poller = item.state.revoke(o);
        await poller.submitted();
        return { poller };
      });
      revoking.push({ item, poller: sent.value.poller, exchanges: [...sent.exchanges] });
    } catch (error) {
      await failed(item, error);
    }
  }
  const stopped = () => timing.signal?.aborted === true;
  let waiting = revoking;
  while (waiting.length > 0) {
    for (const r of waiting) {
      if (r.poller.isDone) continue;
      try {
        // A wait's read: the run's signal cuts it off (the revoke itself was asked for without it).
        await withOperation('pollComputeOperation', r.exchanges, () => r.poller.poll(timing.signal ? { abortSignal: timing.signal } : undefined));
      } catch (error) {
        // Cut off by the stop: recorded below with the others still waiting, as at the pause.
        if (stopped()) break;
        r.failed = true;
        await failed(r.item, failureOf(error, 'pollComputeOperation', r.item.state.id, r.exchanges));
      }
    }
    for (const r of waiting.filter((x) => x.poller.isDone && !x.failed)) {
      await recorder.record('export.revoked', { source: r.item.state.id, requestIds: requestIdsOf(r.exchanges) }, target);
    }
    waiting = waiting.filter((x) => !x.poller.isDone && !x.failed);
    if (waiting.length === 0) break;
    const timedOut = !stopped() && timing.now() > deadline;
    if (!timedOut && !stopped() && (await pauseUnlessStopped(timing.sleep, timing.intervalMs, timing.signal))) continue;
    for (const r of waiting) {
      const why = timedOut ? `the wait for endGetAccess on ${r.item.state.id} timed out while it was still being processed` : `the run was cancelled while endGetAccess on ${r.item.state.id} was still being processed`;
      await leaveRevokeUnconfirmed(recorder, target, r.item, why, r.exchanges);
    }
    break;
  }
}

/**
 * Records a grant whose revoke was asked for but not seen to finish: it may still read the source,
 * so it counts as open (the target is never `collected`), and `export.left-open` says why, until
 * a resume revokes it.
 */
async function leaveRevokeUnconfirmed(recorder: CaseRecorder, target: string, item: Pending, why: string, exchanges: AzureExchange[]): Promise<void> {
  const until = item.grantExpiresOn ? ` until ${item.grantExpiresOn}` : ' until it expires (expiry not known)';
  const open = new CustodyError('E_CLOUD', `endGetAccess on ${item.state.id} was not seen to finish, so its read grant (SAS) may still be open${until}`, { resource: item.state.id });
  item.result.grantOpen = { error: open, ...(item.grantExpiresOn ? { expiresOn: item.grantExpiresOn } : {}) };
  await recorder.record('export.left-open', {
    source: item.state.id,
    blob: item.result.blobName,
    ...(item.copyId ? { copyId: item.copyId } : {}),
    ...(item.grantExpiresOn ? { grantExpiresOn: item.grantExpiresOn } : {}),
    requestIds: requestIdsOf(exchanges),
    reason: `${why}: the read grant (SAS) may still be open${until}; a resume revokes it`,
  }, target);
}

/**
 * The `evidence.hashed` and `evidence.sealed` data the case holds for the copy `copyId` in `blob`
 * (recorded after that copy's `copy.completed` or `copy.adopted`), if any.
 */
function recordedForCopy(recorder: CaseRecorder, target: string, blob: string, copyId: string | undefined): { hashed?: Record<string, unknown>; sealed?: Record<string, unknown> } {
  const history = historyOf(recorder);
  const about = (type: string) => history.about(type, target).filter((e) => e.data.blob === blob);
  const copied = [...about('copy.completed'), ...about('copy.adopted')].filter((e) => copyId !== undefined && e.data.copyId === copyId);
  if (copied.length === 0) return {};
  const since = Math.min(...copied.map((e) => e.seq));
  const after = (type: string) => about(type).filter((e) => e.seq > since).at(-1)?.data;
  const hashed = after('evidence.hashed');
  const sealed = after('evidence.sealed');
  return { ...(hashed ? { hashed } : {}), ...(sealed ? { sealed } : {}) };
}

function hashesOf(data: Record<string, unknown>): VhdHashes {
  const { fileSha256, fileBytes, diskSha256, diskBytes, footer } = data as unknown as VhdHashes;
  return { fileSha256, fileBytes, ...(diskSha256 !== undefined ? { diskSha256 } : {}), ...(diskBytes !== undefined ? { diskBytes } : {}), ...(footer !== undefined ? { footer } : {}) };
}

function hashedBlobOf(data: Record<string, unknown>): HashedBlob {
  return {
    ...(typeof data.etag === 'string' ? { etag: data.etag } : {}),
    ...(typeof data.versionId === 'string' ? { versionId: data.versionId } : {}),
    ...(typeof data.lastModified === 'string' ? { lastModified: data.lastModified } : {}),
  };
}

function sealedOf(data: Record<string, unknown>): ExportResult['sealed'] {
  return { ...(typeof data.versionId === 'string' ? { versionId: data.versionId } : {}), ...(typeof data.immutableUntil === 'string' ? { immutableUntil: data.immutableUntil } : {}), ...(typeof data.legalHold === 'boolean' ? { legalHold: data.legalHold } : {}) };
}

/**
 * A failed `endGetAccess` as what it leaves behind: the grant's SAS still reads the source until
 * it expires. Names the action (Azure's, or the one the operation declares) and the source.
 */
function grantStillOpen(item: Pending, error: unknown): CustodyError {
  const cause = error instanceof CustodyError ? error : failureOf(error, item.state.revokeOp, item.state.id, exchangesOf(error));
  const action = cause.action ?? AZURE_OPERATIONS[item.state.revokeOp].permissions[0]?.action;
  const until = item.grantExpiresOn ? ` until ${item.grantExpiresOn}` : ' until it expires (expiry not known)';
  return new CustodyError(cause.code, `endGetAccess on ${item.state.id} failed, so its read grant (SAS) is still open${until}: ${cause.message}`, {
    cause,
    ...(action ? { action } : {}),
    resource: item.state.id,
    ...(cause.requestId ? { requestId: cause.requestId } : {}),
    ...(cause.retryable ? { retryable: true } : {}),
  });
}

/**
 * Records a grant left open on purpose, for the copy still pending that reads through it: still a
 * live read path to the evidence (`grantOpen`: the target is never `collected`), until the resume
 * that adopts the copy revokes it (`grantLeftOpen` finds it: no `export.revoked` followed).
 */
async function leaveGrantOpen(recorder: CaseRecorder, target: string, item: Pending): Promise<void> {
  const kept = item.grantKeptForCopy!;
  const until = item.grantExpiresOn ? ` until ${item.grantExpiresOn}` : ' until it expires (expiry not known)';
  const pending = kept.statusUnknown ? 'which may still be pending' : 'still pending';
  const reason = `${kept.why}: the copy reads ${item.state.id} through this grant, so it is left open${until}, not revoked (that would break the copy); a resume adopts the copy and revokes the grant once it is done`;
  const open = new CustodyError('E_CLOUD', `the read grant (SAS) on ${item.state.id} is left open${until} for the copy into ${item.result.blobName}, ${pending}`, { resource: item.state.id });
  item.result.grantOpen = { error: open, ...(item.grantExpiresOn ? { expiresOn: item.grantExpiresOn } : {}) };
  await recorder.record('export.left-open', { source: item.state.id, blob: item.result.blobName, copyId: item.copyId, ...(item.grantExpiresOn ? { grantExpiresOn: item.grantExpiresOn } : {}), reason }, target);
}

/**
 * Whether an earlier run asked for read access to `source` for `target` and no `export.revoked`
 * followed. The recorded source is compared as ARM compares ids: Azure may name the snapshot or
 * disk restore point in another casing now than when the grant was asked for, and a grant missed
 * here would stay open.
 */
function grantLeftOpen(recorder: CaseRecorder, target: string, source: string): boolean {
  const history = historyOf(recorder);
  const last = (type: string) => history.about(type, target).findLast((e) => sameRecordedResource(e.data.source, source))?.seq ?? -1;
  return last('export.requested') > last('export.revoked');
}

/**
 * Seals the copy that was hashed, and proves it is that copy.
 *
 * What Storage offers (Blob service REST description, Azure/azure-rest-api-specs
 * `specification/storage/data-plane/Microsoft.BlobStorage/stable/2026-06-06/blob.json`, and the
 * operation specs `@azure/storage-blob` 12.34 generates from it; docs/azure.md "Sealing the bytes
 * that were hashed"):
 * - `Blob_SetImmutabilityPolicy` takes `versionid` (and `snapshot`) in the query and only
 *   `If-Unmodified-Since` as a condition — no `If-Match`; `Blob_SetLegalHold` takes `versionid`
 *   and no condition at all. Neither answers with an ETag (setting a policy does not change it).
 * - `Blob_Download` / `Blob_GetProperties` answer `ETag`, `Last-Modified` (RFC 1123: whole
 *   seconds) and, with versioning, `x-ms-version-id`; Get Properties on a version also
 *   `x-ms-is-current-version`, its policy and hold.
 * - `BlobClient.setImmutabilityPolicy` in @azure/storage-blob 12.34 declares a
 *   `modifiedAccessCondition` option but sends no condition (it passes only the expiry and mode
 *   to the generated operation, which would take `If-Unmodified-Since`).
 * So, three things, each covering what the one before cannot:
 * 1. the seal names the version the hash read saw (`withVersion`): an overwrite that makes a new
 *    version cannot move the seal onto other bytes;
 * 2. the policy carries `If-Unmodified-Since:` the hashed bytes' own Last-Modified, sent through
 *    the Blob pipeline since the SDK drops it: a write in place in a later second than that makes
 *    Storage refuse the policy (412 ConditionNotMet) — on a page blob Put Page is such a write:
 *    it makes no new version (learn.microsoft.com `storage/blobs/versioning-overview`, "Versioning
 *    on write operations": for page and append blobs only Put Blob, Put Block List, Set Blob
 *    Metadata and Copy Blob make one; docs/research/azure.md §6.3), so the version id stays and
 *    only the ETag and Last-Modified tell. So nothing is sealed on bytes this case did not hash.
 *    It is Storage's time against Storage's clock (no skew), but whole seconds: a write within
 *    the hashed Last-Modified's second passes;
 * 3. Get Properties on that version *after* the seal must show the hashed ETag and length: that
 *    catches the same-second write, and after the seal the version cannot change.
 * Only then is `evidence.sealed` recorded; a mismatch is `seal.failed` naming both ETags. Where the
 * blob was overwritten with a new version, the hashed version is sealed and `evidence.overwritten`
 * names the version the blob's name now reads, so the target is `partial`.
 */
async function sealEvidence(recorder: CaseRecorder, clients: AzureClients, config: AzureConfig, name: string, target: string, hashes: VhdHashes | undefined, hashed: HashedBlob | undefined): Promise<ExportResult['sealed']> {
  const named = clients.evidence().getBlobClient(name);
  const blob = hashed?.versionId ? named.withVersion(hashed.versionId) : named;
  const until = config.immutabilityDays > 0 ? new Date(Date.now() + config.immutabilityDays * 86_400_000) : undefined;
  if (!until && !config.legalHold) {
    // Nothing to ask Storage for: say so, rather than record a seal no request made.
    await recorder.record('seal.skipped', { blob: name, reason: 'azure.immutabilityDays is 0 and azure.legalHold is false: this copy is not sealed' }, target);
    return undefined;
  }
  const version = hashed?.versionId ? { versionId: hashed.versionId } : {};
  // A copy hashed before the hash read recorded Last-Modified (older cases) is sealed without it.
  // Only the immutability policy takes the condition (Set Legal Hold takes none): without a policy
  // to set, none is sent, and seal.requested must not say one was.
  const unmodifiedSince = until && hashed?.lastModified ? new Date(hashed.lastModified).toUTCString() : undefined;
  await recorder.record('seal.requested', { blob: name, ...version, immutableUntil: until?.toISOString(), mode: until ? 'Unlocked' : undefined, legalHold: config.legalHold, ...(unmodifiedSince ? { ifUnmodifiedSince: unmodifiedSince } : {}) }, target);
  // What the ledger says sealed is what Storage answered, not what was asked; kept outside the
  // call so a hold refused after the policy was set still records the policy that exists.
  const confirmed: { immutableUntil?: string; mode?: string; legalHold?: boolean } = {};
  try {
    const result = await callAzure('sealEvidence', name, async () => {
      if (until) {
        const setPolicy = () => blob.setImmutabilityPolicy({ expiriesOn: until, policyMode: 'Unlocked' });
        const policy = unmodifiedSince ? await withRequestHeaders({ 'If-Unmodified-Since': unmodifiedSince }, setPolicy) : await setPolicy();
        const expiry = policy.immutabilityPolicyExpiry as Date | string | undefined;
        if (expiry) confirmed.immutableUntil = new Date(expiry).toISOString();
        if (policy.immutabilityPolicyMode) confirmed.mode = policy.immutabilityPolicyMode;
      }
      if (config.legalHold) {
        const hold = await blob.setLegalHold(true);
        if (hold.legalHold !== undefined) confirmed.legalHold = hold.legalHold;
      }
      return confirmed;
    });
    const sealed = result.value;
    const missing = [until && !sealed.immutableUntil ? 'an immutability policy expiry' : '', config.legalHold && sealed.legalHold !== true ? 'legal hold = true' : ''].filter(Boolean);
    if (missing.length > 0) {
      const why = `the storage service answered without confirming ${missing.join(' and ')}`;
      await recorder.record('seal.failed', { blob: name, ...version, reason: why, confirmed: sealed, requestIds: requestIdsOf(result.exchanges), exchanges: result.exchanges }, target);
      return { unavailable: why };
    }
    // The read-back: what Storage reports of the sealed version now that it cannot change.
    const props = await callAzure('readEvidence', name, () => blob.getProperties());
    const found = { ...(props.value.etag ? { etag: props.value.etag } : {}), ...(props.value.versionId ? { versionId: props.value.versionId } : {}), ...(props.value.contentLength !== undefined ? { contentLength: props.value.contentLength } : {}) };
    const readBack = { ...found, requestIds: requestIdsOf(props.exchanges) };
    const hashedFacts = { ...(hashed?.etag ? { etag: hashed.etag } : {}), ...version, ...(hashes ? { contentLength: hashes.fileBytes } : {}) };
    const differs = [
      hashed?.etag !== undefined && found.etag !== hashed.etag ? `its ETag is ${found.etag ?? 'not reported'}, the hashed copy's was ${hashed.etag}` : '',
      hashed?.versionId !== undefined && found.versionId !== hashed.versionId ? `its version is ${found.versionId ?? 'not reported'}, the hashed copy's was ${hashed.versionId}` : '',
      hashes && found.contentLength !== hashes.fileBytes ? `it holds ${found.contentLength ?? 'an unreported number of'} bytes, the hashed copy ${hashes.fileBytes}` : '',
    ].filter(Boolean);
    if (differs.length > 0) {
      const why = `the sealed blob is not the copy that was hashed (${differs.join('; ')}): it was written to between the hash and the seal, so the seal locks bytes whose SHA-256 this case does not hold`;
      await recorder.record('seal.failed', { blob: name, reason: why, hashed: hashedFacts, found, confirmed: sealed, requestIds: requestIdsOf(result.exchanges), readBack, exchanges: [...result.exchanges, ...props.exchanges] }, target);
      return { unavailable: why };
    }
    await recorder.record('evidence.sealed', { blob: name, ...version, ...(found.etag ? { etag: found.etag } : {}), ...sealed, requestIds: requestIdsOf(result.exchanges), readBack, exchanges: [...result.exchanges, ...props.exchanges] }, target);
    const done = { ...version, ...(sealed.immutableUntil ? { immutableUntil: sealed.immutableUntil } : {}), ...(sealed.legalHold !== undefined ? { legalHold: sealed.legalHold } : {}) };
    if (props.value.isCurrentVersion !== false) return done;
    // The hashed version is sealed, but the blob's name now reads another version.
    // The hashed version is sealed, but the blob's name now reads another version: name it (a
    // failed read still leaves the fact Storage reported, `x-ms-is-current-version: false`).
    let current: { versionId?: string; etag?: string; requestIds: string[]; error?: unknown } = { requestIds: [] };
    try {
      const read = await callAzure('readEvidence', name, () => named.getProperties());
      current = { ...(read.value.versionId ? { versionId: read.value.versionId } : {}), ...(read.value.etag ? { etag: read.value.etag } : {}), requestIds: requestIdsOf(read.exchanges) };
    } catch (error) {
      if (isStopSignal(error)) throw error;
      current = { requestIds: requestIdsOf(exchangesOf(error)), error: (error as CustodyError).toRecord?.() ?? String(error) };
    }
    const why = `${name} was overwritten after it was hashed: the hashed version ${hashed?.versionId} is sealed and kept, but the blob's name now reads version ${current.versionId ?? '(not read)'} (ETag ${current.etag ?? 'not read'}), which this case did not hash`;
    await recorder.record('evidence.overwritten', { blob: name, ...version, ...(hashed?.etag ? { etag: hashed.etag } : {}), currentVersionId: current.versionId, currentEtag: current.etag, reason: why, requestIds: current.requestIds, ...(current.error ? { error: current.error } : {}) }, target);
    return { ...done, overwritten: why };
  } catch (error) {
    if (isStopSignal(error)) throw error;
    const status = obj((error as { cause?: unknown }).cause).statusCode;
    const why =
      status === 501
        ? 'the storage service does not implement blob immutability (HTTP 501 — Azurite has no immutability policies or legal holds)'
        : status === 412 && unmodifiedSince
          ? `Storage refused the immutability policy because ${name} was modified after ${unmodifiedSince}, the Last-Modified of the bytes that were hashed (412 ConditionNotMet on If-Unmodified-Since): nothing was sealed on bytes whose SHA-256 this case does not hold`
          : String((error as Error).message);
    await recorder.record('seal.failed', { blob: name, ...version, reason: why, error: (error as CustodyError).toRecord?.(), ...(Object.keys(confirmed).length > 0 ? { confirmed } : {}), exchanges: exchangesOf(error) }, target);
    return { unavailable: why };
  }
}
