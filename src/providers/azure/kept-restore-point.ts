/**
 * A VM deleted since an earlier run of the case asked for its crash-consistent restore point.
 * Azure keeps the point (and its collection) until someone deletes it, and its `sourceMetadata`
 * is the VM as it was when the point was made (read-only, captured at creation: the spec's
 * RestorePointSourceMetadata; docs/research/azure.md §5.5). So the point still names every disk
 * and its disk restore point, whether or not the VM or its disks are still there. The resume
 * finds it by the id the earlier run recorded and carries it through; it never makes one: there
 * is no VM to make one of.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { callAzure, exchangesOf } from './arm-call.js';
import type { AzureClients } from './clients.js';
import type { DiskFacts } from './describe.js';
import { at, obj, str } from './raw.js';
import { diskRestorePointsOf, refusedOutright, type FoundRestorePoint } from './restore-point.js';
import { parseResourceId, sameRecordedResource } from './resource-id.js';

/**
 * The restore point the case's ledger says an earlier run asked for `target`, by its id; none
 * where the ledger shows Azure refused that request outright (its PUT answered 4xx, and the run
 * fell back to snapshots): that point was never made, so there is nothing to look for. The
 * refusal's id is compared as ARM compares ids (case-insensitively), as every recorded id is.
 */
export function earlierRestorePointRequest(recorder: CaseRecorder, target: string): string | undefined {
  const history = historyOf(recorder);
  const requested = history.about('restorepoint.requested', target).at(-1);
  const pointId = requested?.data.restorePointId;
  if (typeof pointId !== 'string') return undefined;
  const refused = history.about('step.failed', target).some((e) => e.seq > requested!.seq && e.data.step === 'restore-point' && sameRecordedResource(e.data.restorePointId, pointId) && wasRefused(e.data));
  return refused ? undefined : pointId;
}

/**
 * Whether a restore point's `step.failed` says Azure refused its PUT. The run that recorded it
 * knew (`refusedOutright`); a point it left in Azure (`leftInAzure`) was not refused, whatever its
 * last exchange was (a status read refused with 403 is not the PUT refused). Entries written
 * before either field existed are judged by their last exchange.
 */
function wasRefused(data: Record<string, unknown>): boolean {
  if (typeof data.refusedOutright === 'boolean') return data.refusedOutright;
  if (data.leftInAzure !== undefined) return false;
  return refusedOutright(lastStatus(data.exchanges));
}

/** The status of the last exchange a ledger entry records, if any. */
function lastStatus(exchanges: unknown): number | undefined {
  const last = Array.isArray(exchanges) ? (exchanges.at(-1) as { status?: unknown } | undefined) : undefined;
  return typeof last?.status === 'number' ? last.status : undefined;
}

/**
 * Reads the restore point `restorePointId` again. Found: the answer, to adopt, and the disks its
 * sourceMetadata names with a disk restore point (the facts a resume has of them: the VM and its
 * disks may be gone). Not found or not readable: the error, recorded as a failed step. Only a 404
 * says the point is gone; any other failure of the read (throttled past the SDK's retries, a
 * server error, a refusal) leaves it possibly there: `leftInAzure` says so, on the failed step
 * too, and a resume reads it again (nothing on the ledger stops it). `vmGone`:
 * why it is read again, as its adoption entry says: the VM is gone, or (false) earlier runs of the
 * case asked for its disks both ways and each disk is carried once (carry-once.ts).
 */
export async function findKeptRestorePoint(
  recorder: CaseRecorder,
  clients: AzureClients,
  restorePointId: string,
  target: string,
  vmGone = true,
): Promise<{ found: FoundRestorePoint; disks: DiskFacts[] } | { error: CustodyError; leftInAzure?: string }> {
  try {
    const id = parseResourceId(restorePointId);
    const [collection = '', point = ''] = id.names;
    const plan = { subscriptionId: id.subscriptionId, resourceGroup: id.resourceGroup, collection, point };
    const read = await callAzure('getRestorePoint', restorePointId, (o) => clients.compute(plan.subscriptionId).restorePoints.get(plan.resourceGroup, collection, point, o));
    const raw = obj(read.raw);
    const metadata = obj(at(raw, 'properties', 'sourceMetadata'));
    const held = diskRestorePointsOf(raw);
    const disks: DiskFacts[] = held.map(({ diskId, role, lun }) => ({ id: diskId, role, ...(lun !== undefined ? { lun } : {}), location: str(metadata.location) ?? '', raw: {} }));
    const diskRestorePoints = Object.fromEntries(held.map((h) => [h.diskId, h.diskRestorePointId]));
    const because = vmGone
      ? {
          vmGone: true,
          sourceVmId: str(metadata.vmId),
          diskRestorePoints,
          reason: 'the VM is gone since an earlier run of the case asked for this restore point: its disk restore points, made then, are the disks\' evidence; no restore point or snapshot is made of a VM that is gone',
        }
      : {
          sourceVmId: str(metadata.vmId),
          diskRestorePoints,
          reason: 'an earlier run of the case asked for this restore point, and earlier runs per-disk snapshots of the VM\'s disks too: each disk is carried through once (disk.carried), nothing new is asked for',
        };
    return { found: { plan, raw, exchanges: read.exchanges, because }, disks };
  } catch (error) {
    if (isStopSignal(error)) throw error;
    const e = error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String(error), { cause: error });
    // Azure did not say the point is gone (E_INPUT: the ledger's id is not one, nothing was read).
    const leftInAzure = e.code === 'E_NOT_FOUND' || e.code === 'E_INPUT' ? undefined : `restore point ${restorePointId} was asked for and may still be there; it could not be read, and a resume tries again to adopt it`;
    await recorder.record('step.failed', { step: 'adopt-restore-point', restorePointId, error: e.toRecord(), exchanges: exchangesOf(error), ...(leftInAzure ? { leftInAzure } : {}) }, target);
    return { error: e, ...(leftInAzure ? { leftInAzure } : {}) };
  }
}
