/**
 * Multi-disk crash consistency: a VM restore point in `CrashConsistent` mode captures every disk
 * at one instant without touching the guest (no VSS, no agent — what a forensic collection must
 * not trigger; docs/research/azure.md §5.5). Not supported for VMs in a uniform scale set (AKS
 * nodes), Ultra or shared disks: those take per-disk snapshots, and the ledger says which path
 * was taken and why. Each disk restore point is then exported like a snapshot (export.ts).
 *
 * Names derive from the target's evidence id, so a resumed run finds the point an interrupted
 * run created (GET first) instead of making a second one.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { callAzure, exchangesOf, type AzureExchange } from './arm-call.js';
import type { AzureClients } from './clients.js';
import type { AzureConfig } from './config.js';
import { requestIdsOf, type DiskFacts, type VmFacts } from './describe.js';
import type { ExportSource, GrantPoller } from './export.js';
import { arr, at, obj, str, type Json } from './raw.js';
import { parseResourceId, resourceKey, sameRecordedResource } from './resource-id.js';
import { pauseUnlessStopped, type Sleep } from '../shared/stoppable-sleep.js';
import { stoppedWaiting } from './stopped.js';
import { leftInCloud } from '../shared/left-in-cloud.js';

/**
 * Whether Azure's answer to a restore point's PUT refused it outright (4xx but a request timeout):
 * nothing is being made, as an earlier run's ledger shows it too (kept-restore-point.ts).
 */
export function refusedOutright(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 408;
}

export interface RestorePointPlan {
  subscriptionId: string;
  resourceGroup: string;
  collection: string;
  point: string;
}

/** Why a VM cannot have a crash-consistent restore point, or undefined when it can. */
export function restorePointUnsupported(vm: VmFacts, disks: DiskFacts[]): string | undefined {
  if (vm.scaleSetInstance) return 'restore points do not support VMs in a uniform scale set (AKS node pools)';
  if (vm.ephemeralOsDisk) return 'restore points do not support ephemeral OS disks';
  const ultra = disks.find((d) => /ultra|premiumv2/i.test(d.sku ?? ''));
  if (ultra) return `restore points do not include ${ultra.sku} disks (${ultra.id})`;
  if (disks.length !== vm.disks.length) return 'not every disk could be described';
  return undefined;
}

/**
 * A restore point a resume read again before calling `takeRestorePoint` (kept-restore-point.ts: the
 * VM is gone): its plan and answer, adopted as they are, and what the adoption entry adds.
 */
export interface FoundRestorePoint {
  plan: RestorePointPlan;
  raw: Json;
  exchanges: AzureExchange[];
  because: Record<string, unknown>;
}

/** A disk a restore point holds a disk restore point of, as the point's sourceMetadata names it. */
export interface HeldDisk {
  /** The disk's id, as Azure wrote it in the point. */
  diskId: string;
  diskRestorePointId: string;
  role: 'os' | 'data';
  lun?: number;
}

/**
 * The disks a restore point's answer (`raw`) holds a disk restore point of, from its
 * `sourceMetadata` (captured when the point was made: the VM and its disks may be gone since). A
 * disk named without one (attached later, or excluded) is not held.
 */
export function diskRestorePointsOf(raw: Json | undefined): HeldDisk[] {
  const storage = obj(at(raw, 'properties', 'sourceMetadata', 'storageProfile'));
  const held: HeldDisk[] = [];
  for (const [d, role] of [[storage.osDisk, 'os'], ...arr(storage.dataDisks).map((x) => [x, 'data'] as const)] as const) {
    const diskId = str(at(d, 'managedDisk', 'id'));
    const diskRestorePointId = str(at(d, 'diskRestorePoint', 'id'));
    if (!diskId || !diskRestorePointId) continue;
    const lun = at(d, 'lun');
    held.push({ diskId, diskRestorePointId, role, ...(typeof lun === 'number' ? { lun } : {}) });
  }
  return held;
}

export function planRestorePoint(config: AzureConfig, vm: Pick<VmFacts, 'id'>, targetEvidenceId: string): RestorePointPlan {
  const id = parseResourceId(vm.id);
  const inSoc = id.subscriptionId.toLowerCase() === config.socSubscriptionId.toLowerCase();
  return { subscriptionId: id.subscriptionId, resourceGroup: inSoc ? config.evidenceResourceGroup : config.stagingResourceGroup, collection: `custody-${targetEvidenceId}`, point: `custody-${targetEvidenceId}-crash` };
}

interface Timing {
  intervalMs: number;
  timeoutMs: number;
  sleep: Sleep;
  now: () => number;
  /** The run's: once it aborts, the wait ends at its next pause. */
  signal?: AbortSignal;
}

/**
 * Creates (or adopts) the restore point and waits for it. Returns the export sources, one per
 * disk, or a reason to fall back to per-disk snapshots (nothing is half-made by a fallback: a
 * failed restore point leaves no disk restore points to export), or — the run was stopped while
 * it was being made — `stopped`: no fallback then, the restore point carries on in Azure and a
 * resume adopts it (a stopped run starts nothing new). With `found`, that point is adopted and
 * nothing is created, whatever it answers. `adoptOnly`: a point not found is not made either (an
 * earlier run of the case asked for it; the run's consistency is per-disk now): a fallback.
 *
 * A point `Succeeded` without a disk restore point of some of `disks` (attached after it was
 * made, or excluded from it) is carried for the disks it holds; the others are `uncovered`, with
 * why, for per-disk snapshots of those disks only.
 *
 * `unsettled`: Azure accepted the point (or it was there already, or the case asked for it in an
 * earlier run) but its state could not be read to the end — a read refused or throttled past the
 * retries, a PUT answered 5xx or not at all, the wait's time up. It may still be being made: no
 * fallback then either (per-disk snapshots beside it would preserve the disks twice, and a resume
 * would export them twice); a resume adopts it. Only a point Azure refused outright (its PUT
 * answered 4xx), confirmed `Failed`/`Canceled`, or answered 404 after a read found it (deleted
 * meanwhile) falls back. A `stopped` run's point that was
 * asked for is the same: `leftInAzure` says so.
 */
export async function takeRestorePoint(
  recorder: CaseRecorder,
  clients: AzureClients,
  config: AzureConfig,
  vm: Pick<VmFacts, 'id' | 'location'> & Partial<Pick<VmFacts, 'disks'>>,
  disks: DiskFacts[],
  evidenceIdOf: (disk: DiskFacts) => string,
  targetEvidenceId: string,
  timing: Timing,
  found?: FoundRestorePoint,
  adoptOnly = false,
): Promise<{ sources: ExportSource[]; restorePointId: string; uncovered?: { disks: DiskFacts[]; reason: string } } | { fallback: string } | { stopped: CustodyError; leftInAzure?: string } | { unsettled: CustodyError; reason: string }> {
  const plan = found?.plan ?? planRestorePoint(config, vm, targetEvidenceId);
  const compute = clients.compute(plan.subscriptionId);
  const collectionId = `/subscriptions/${plan.subscriptionId}/resourceGroups/${plan.resourceGroup}/providers/Microsoft.Compute/restorePointCollections/${plan.collection}`;
  const pointId = `${collectionId}/restorePoints/${plan.point}`;
  let raw: Json | undefined;
  // The request ids of the answer `raw` is: what the ledger's "adopted" and "completed" stand on.
  let answeredBy: string[] = [];
  let adopted = false;
  // Whether Azure may be making the point: once it is found, or its PUT is sent; a resume's
  // failed first read of a point an earlier run of the case asked for counts the same (the id as
  // ARM compares it: this run may plan it in another casing, as its config now spells a group).
  let mayExist = historyOf(recorder).about('restorepoint.requested', vm.id).some((e) => sameRecordedResource(e.data.restorePointId, pointId));
  // Azure's answer to the point's PUT was a refusal (4xx): nothing is being made.
  let refused = false;
  // A read (GET) answered the point: a later 404 is Azure saying it is gone (deleted meanwhile),
  // not a point it may still be making that a read did not reach yet.
  let readFound = false;
  try {
    const existing = found ?? await callAzure('getRestorePoint', pointId, (o) => compute.restorePoints.get(plan.resourceGroup, plan.collection, plan.point, o)).catch((error: CustodyError) => {
      if (error.code === 'E_NOT_FOUND') return undefined;
      throw error;
    });
    if (!existing && adoptOnly) return { fallback: `the restore point an earlier run of the case asked for (${pointId}) is not there` };
    if (existing) {
      adopted = true;
      mayExist = true;
      readFound = true;
      raw = obj(existing.raw);
      answeredBy = requestIdsOf(existing.exchanges);
      await recorder.record('restorepoint.adopted', { restorePointId: str(raw.id) ?? pointId, provisioningState: str(at(raw, 'properties', 'provisioningState')), requestIds: answeredBy, ...found?.because }, vm.id);
    } else {
      const tags = { CaseId: recorder.caseId, EvidenceId: targetEvidenceId, CreatedBy: 'cloud-custody' };
      // The VM's disks as this run described them, just before: the point is made of them. A
      // resume cut off before `restorepoint.completed` (which names each disk's disk restore
      // point) still knows which disks the point holds, one detached since among them.
      const vmDisks = vm.disks ? { disks: vm.disks.map((d) => d.id) } : {};
      await recorder.record('restorepoint.requested', { operation: 'restorePointCollections.createOrUpdate + restorePoints.create', collectionId, restorePointId: pointId, consistencyMode: 'CrashConsistent', vm: vm.id, ...vmDisks, tags }, vm.id);
      const made = await callAzure('createRestorePointCollection', collectionId, (o) => compute.restorePointCollections.createOrUpdate(plan.resourceGroup, plan.collection, { location: vm.location, tags, source: { id: vm.id } }, o));
      // A change of its own: on the record before the restore point is asked for, which can fail.
      const collection = obj(made.raw);
      await recorder.record('restorepoint.collection.created', { collectionId: str(collection.id) ?? collectionId, provisioningState: str(at(collection, 'properties', 'provisioningState')), requestIds: requestIdsOf(made.exchanges) }, vm.id);
      mayExist = true;
      const sent = await callAzure('createRestorePoint', pointId, async (o) => {
        const poller = compute.restorePoints.create(plan.resourceGroup, plan.collection, plan.point, { consistencyMode: 'CrashConsistent' }, o);
        await poller.submitted();
      }).catch((error: unknown) => {
        refused = refusedOutright(exchangesOf(error).at(-1)?.status);
        throw error;
      });
      raw = obj(sent.raw);
      answeredBy = requestIdsOf(sent.exchanges);
      await recorder.record('restorepoint.created', { restorePointId: str(raw.id) ?? pointId, provisioningState: str(at(raw, 'properties', 'provisioningState')), requestIds: [...requestIdsOf(made.exchanges), ...requestIdsOf(sent.exchanges)] }, vm.id);
    }
    const deadline = timing.now() + timing.timeoutMs;
    const stopped = () => stoppedWaiting(`restore point ${pointId}`, pointId, 'the restore point continues in Azure; resume the case to adopt it');
    while (str(at(raw, 'properties', 'provisioningState')) !== 'Succeeded') {
      const state = str(at(raw, 'properties', 'provisioningState'));
      if (state === 'Failed' || state === 'Canceled') {
        // Azure confirmed it is not being made.
        mayExist = false;
        throw new CustodyError('E_CLOUD', `restore point ${pointId} ended ${state}`, { resource: pointId });
      }
      if (timing.now() > deadline) throw new CustodyError('E_TIMEOUT', `restore point ${pointId} did not finish`, { resource: pointId, retryable: true });
      if (!(await pauseUnlessStopped(timing.sleep, timing.intervalMs, timing.signal))) throw stopped();
      // The wait's read takes the run's signal: a stop cuts it off, the same as a stop at the pause.
      const polled = await callAzure('getRestorePoint', pointId, (o) => compute.restorePoints.get(plan.resourceGroup, plan.collection, plan.point, o), { signal: timing.signal }).catch((error: unknown) => {
        if (timing.signal?.aborted && !isStopSignal(error)) throw stopped();
        // Its error (with its exchanges) is recorded as it came: Azure's 404 says the point is gone.
        if (readFound && (error as CustodyError).code === 'E_NOT_FOUND') mayExist = false;
        throw error;
      });
      readFound = true;
      raw = obj(polled.raw);
      answeredBy = requestIdsOf(polled.exchanges);
    }
  } catch (error) {
    if (isStopSignal(error)) throw error;
    const e = error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String(error), { cause: error });
    const exchanges = exchangesOf(error);
    // Asked for and not refused: stopped or not, Azure may be making it, and a resume adopts it.
    const leftInAzure = mayExist && !refused ? leftInCloud(`restore point ${pointId}`) : undefined;
    // `refusedOutright` is what a resume reads: a later read refused (403) is not the PUT refused.
    await recorder.record('step.failed', { step: 'restore-point', restorePointId: pointId, error: e.toRecord(), requestIds: requestIdsOf(exchanges), exchanges, refusedOutright: refused, ...(leftInAzure ? { leftInAzure } : {}) }, vm.id);
    if (timing.signal?.aborted) return { stopped: e, ...(leftInAzure ? { leftInAzure } : {}) };
    if (leftInAzure) return { unsettled: e, reason: leftInAzure };
    return { fallback: `the crash-consistent restore point failed (${e.message})` };
  }
  const byDisk = new Map(diskRestorePointsOf(raw).map((held) => [resourceKey(held.diskId), held.diskRestorePointId]));
  // A disk the point holds no disk restore point of is left to a snapshot of its own; the
  // others are carried by the point, never snapshotted beside it.
  const missing = disks.filter((d) => !byDisk.has(resourceKey(d.id)));
  const uncovered = missing.length > 0 ? { disks: missing, reason: `the restore point ${str(raw!.id) ?? pointId} has no disk restore point of this disk (attached after the point was made, or excluded from it)` } : undefined;
  const held = disks.filter((d) => byDisk.has(resourceKey(d.id)));
  const sources = held.map((disk): ExportSource => {
    const drpId = byDisk.get(resourceKey(disk.id))!;
    const drpName = drpId.split('/').pop()!;
    const evidenceId = evidenceIdOf(disk);
    return {
      id: drpId,
      diskId: disk.id,
      evidenceId,
      name: `custody-${evidenceId}-crash`,
      grantOp: 'grantDiskRestorePointAccess',
      revokeOp: 'revokeDiskRestorePointAccess',
      grant: (o, body) => compute.diskRestorePoint.grantAccess(plan.resourceGroup, plan.collection, plan.point, drpName, body, o) as unknown as GrantPoller,
      revoke: (o) => compute.diskRestorePoint.revokeAccess(plan.resourceGroup, plan.collection, plan.point, drpName, o) as unknown as GrantPoller,
    };
  });
  // An earlier run of the case recorded this restore point's completion, or disks of it as
  // evidence: restorepoint.adopted says it was found again; recording either twice would count it
  // twice. A run cut between the point's artefacts recorded some: only the others are recorded now.
  // ARM's ids are case-insensitive: Azure may name the point or a disk restore point in another casing now.
  const history = historyOf(recorder);
  const madeId = str(raw!.id) ?? pointId;
  const unrecorded = adopted ? sources.filter((source) => !history.artifactRecorded(source.evidenceId, { diskRestorePointId: source.id }, sameRecordedResource)) : sources;
  const completions = adopted ? history.about('restorepoint.completed', vm.id).filter((e) => sameRecordedResource(e.data.restorePointId, madeId)) : [];
  const completedBefore = completions.length > 0 && sources.every((source) => completions.some((e) => Object.values((e.data.diskRestorePoints ?? {}) as Record<string, unknown>).some((drp) => sameRecordedResource(drp, source.id))));
  if (!completedBefore) {
    await recorder.record('restorepoint.completed', {
      restorePointId: madeId,
      consistencyMode: str(at(raw, 'properties', 'consistencyMode')),
      timeCreated: str(at(raw, 'properties', 'timeCreated')),
      diskRestorePoints: Object.fromEntries(held.map((d) => [d.id, byDisk.get(resourceKey(d.id))])),
      requestIds: answeredBy,
    }, vm.id);
  }
  for (const source of unrecorded) {
    await recorder.recordArtifact({ evidenceId: source.evidenceId, kind: 'azure-disk-restore-point', source: source.diskId, target: vm.id, cloudIds: { diskRestorePointId: source.id, restorePointId: madeId }, details: { consistencyMode: 'CrashConsistent', multiDisk: true } });
  }
  return { sources, restorePointId: madeId, ...(uncovered ? { uncovered } : {}) };
}
