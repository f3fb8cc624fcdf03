/**
 * One Azure target, end to end: describe → boot diagnostics → snapshots (adopt or create, tagged)
 * → batched wait → export/copy/hash/revoke/seal. Steps that fail are recorded and the target's
 * outcome says what exists; one disk's failure never stops the others.
 *
 * Multi-disk consistency: a VM gets a crash-consistent restore point where it supports one
 * (restore-point.ts), else one incremental snapshot per disk (crash-consistent per disk, not
 * across disks); `consistency.chosen` records which and why. A disk target is always per-disk.
 */
import { evidenceIdFor } from '../../core/case-id.js';
import { historyOf } from '../../core/case-history.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import type { CaseRecorder, TargetOutcome } from '../../core/ports.js';
import { collectBootDiagnostics } from './boot-diagnostics.js';
import type { AzureClients } from './clients.js';
import type { AzureConfig } from './config.js';
import { describeDisk, describeNics, describeVm, type DiskFacts, type VmFacts } from './describe.js';
import { exportSources, snapshotExportSource, type ExportSource } from './export.js';
import { restorePointUnsupported, takeRestorePoint } from './restore-point.js';
import { resourceKey } from './resource-id.js';
import { awaitSnapshots, planSnapshot, requestSnapshots, type SnapshotState } from './snapshots.js';
import { tagsMatch, type AzureTagSelector, type AzureTarget } from './targets.js';
import { parseAzureTarget } from './targets.js';
import { callAzure } from './arm-call.js';
import { obj, str } from './raw.js';

export interface AzureRunContext {
  recorder: CaseRecorder;
  clients: AzureClients;
  config: AzureConfig;
  signal?: AbortSignal;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

function asError(error: unknown): CustodyError {
  return error instanceof CustodyError ? error : new CustodyError('E_INTERNAL', String((error as Error)?.message ?? error), { cause: error });
}

/**
 * A step's failure as a problem of the target, unless it is the stop signal: an evidence file the
 * case folder could not take (E_LEDGER, while the ledger itself may still be written) stops the
 * collection; it is never one more problem to go on past.
 */
function stepError(error: unknown): CustodyError {
  if (isStopSignal(error)) throw error;
  return asError(error);
}

/** Collects one VM, scale-set VM or disk. Never throws for a cloud failure: the outcome says. */
export async function collectAzureTarget(ctx: AzureRunContext, target: AzureTarget): Promise<TargetOutcome> {
  const { recorder, clients, config } = ctx;
  const label = target.id;
  const targetEvidence = evidenceIdFor(recorder.caseId, resourceKey(target.id));
  // Only ids the case holds something under: a VM or disk that was never read has no evidence.
  const evidenceIds: string[] = [];
  const problems: string[] = [];
  try {
    clients.tenantOf(target.resource.subscriptionId);
  } catch (error) {
    const e = asError(error);
    await recorder.record('target.refused', { error: e.toRecord() }, label);
    return { target: label, status: 'skipped', reason: e.message, error: e.toRecord(), evidenceIds: [] };
  }
  await recorder.record('collection.started', { provider: 'azure', kind: target.kind, subscriptionId: target.resource.subscriptionId, tenantId: clients.tenantOf(target.resource.subscriptionId), correlationRequestId: clients.correlationRequestId }, label);

  let disks: Array<Pick<DiskFacts, 'id' | 'role' | 'lun'>> = [];
  let vmFacts: VmFacts | undefined;
  try {
    if (target.kind === 'azure-disk') {
      disks = [{ id: target.id, role: 'data' }];
    } else {
      const vm = await describeVm(recorder, clients, target, targetEvidence);
      evidenceIds.push(targetEvidence);
      disks = vm.disks;
      if (vm.ephemeralOsDisk) {
        await recorder.record('disk.uncollectable', { disk: vm.ephemeralOsDisk, reason: 'ephemeral OS disk: it lives on the host, is not an ARM resource and cannot be snapshotted' }, label);
        problems.push(`ephemeral OS disk ${vm.ephemeralOsDisk} cannot be snapshotted`);
      }
      await describeNics(recorder, clients, vm.nicIds, targetEvidence, label).catch(async (error) => {
        const e = stepError(error);
        problems.push(`NICs: ${e.message}`);
        await recorder.record('step.failed', { step: 'describe-nics', error: e.toRecord() }, label);
      });
      try {
        await collectBootDiagnostics(recorder, clients, config, target, targetEvidence, ctx.signal);
      } catch (error) {
        const e = stepError(error);
        problems.push(`boot diagnostics: ${e.message}`);
        await recorder.record('step.failed', { step: 'boot-diagnostics', error: e.toRecord() }, label);
      }
      vmFacts = vm;
    }
  } catch (error) {
    // The stop signal is never a step's failure: evidence taken without a record is worse than none.
    if (isStopSignal(error)) throw error;
    const e = asError(error);
    await recorder.record('step.failed', { step: 'describe', error: e.toRecord() }, label);
    // The VM model may be stored before a later read (its instance view) was refused.
    const modelStored = historyOf(recorder).storedName(targetEvidence, 'vm-model.json') !== undefined;
    return { target: label, status: 'failed', reason: e.message, error: e.toRecord(), evidenceIds: modelStored ? [targetEvidence] : [] };
  }

  const described: DiskFacts[] = [];
  for (const disk of disks) {
    const evidenceId = evidenceIdFor(recorder.caseId, resourceKey(disk.id));
    try {
      described.push(await describeDisk(recorder, clients, disk, evidenceId, label));
      evidenceIds.push(evidenceId);
    } catch (error) {
      const e = stepError(error);
      await recorder.record('step.failed', { step: 'describe-disk', disk: disk.id, error: e.toRecord() }, label);
      // A disk named as the target that cannot be read fails as a VM does: with its error. ARM
      // answers 404 only where the collector may read the scope; a disk-scoped assignment makes
      // a mistyped id a 403, so the reason says so.
      if (target.kind === 'azure-disk') {
        const reason = e.code === 'E_ACCESS_DENIED' ? `${e.message} Azure answers the same for a disk id that does not exist: check ${target.id} first.` : e.message;
        return { target: label, status: 'failed', reason, error: e.toRecord(), evidenceIds: [] };
      }
      problems.push(`disk ${disk.id}: ${e.message}`);
    }
  }
  const timing = { intervalMs: config.pollIntervalMs, timeoutMs: config.waitTimeoutMs, sleep: ctx.sleep, now: ctx.now };
  const evidenceIdOf = (disk: DiskFacts) => evidenceIdFor(recorder.caseId, resourceKey(disk.id));
  let sources: ExportSource[] | undefined;
  let states: SnapshotState[] = [];
  if (vmFacts) {
    const unsupported = config.consistency === 'per-disk' ? 'azure.consistency is per-disk' : restorePointUnsupported(vmFacts, described);
    let fallback = unsupported;
    if (!unsupported) {
      const taken = await takeRestorePoint(recorder, clients, config, vmFacts, described, evidenceIdOf, targetEvidence, timing);
      if ('sources' in taken) {
        sources = taken.sources;
        await recorder.record('consistency.chosen', { mode: 'crash-consistent-restore-point', restorePointId: taken.restorePointId, disks: described.map((d) => d.id) }, label);
      } else fallback = taken.fallback;
    }
    if (!sources) {
      await recorder.record('consistency.chosen', { mode: 'per-disk', reason: `${fallback}: one incremental snapshot per disk, each crash-consistent on its own, not consistent across disks`, disks: described.map((d) => d.id) }, label);
    }
  }
  if (!sources) {
    const plans = described.map((disk) => planSnapshot(config, recorder.caseId, disk, evidenceIdOf(disk), label));
    states = await requestSnapshots(recorder, clients, plans, label);
    await awaitSnapshots(recorder, clients, states, label, timing);
    sources = states.filter((s) => s.status === 'succeeded').map((s) => snapshotExportSource(clients, s));
  }
  const exports = await exportSources(recorder, clients, config, sources, label, timing);

  for (const state of states.filter((s) => s.status === 'failed')) problems.push(`snapshot of ${state.plan.disk.id}: ${state.error?.message}`);
  for (const result of exports.filter((r) => r.error)) problems.push(`export of ${result.snapshotId}: ${result.error!.message}`);
  // A grant still open is a live read path to the evidence: never a collected target.
  for (const result of exports.filter((r) => r.grantOpen)) problems.push(`revoke (${result.grantOpen!.error.message})`);
  for (const result of exports) {
    if (result.sealed && 'unavailable' in result.sealed) problems.push(`copy ${result.blobName} is hashed but not sealed: ${result.sealed.unavailable}`);
    else if (result.sealed && 'overwritten' in result.sealed && result.sealed.overwritten) problems.push(result.sealed.overwritten);
    // A copy is the disk's evidence only as a whole fixed VHD of it: a file hash alone is not a disk hash.
    const size = described.find((d) => evidenceIdOf(d) === result.evidenceId)?.sizeBytes;
    const hashes = result.hashes;
    if (hashes && !hashes.footer) problems.push(`copy ${result.blobName} has no VHD footer: only the file is hashed, not the disk`);
    else if (hashes?.footer && !hashes.footer.matchesLength) problems.push(`copy ${result.blobName}: its VHD footer states ${hashes.footer.currentSize} bytes, the file holds ${hashes.diskBytes}`);
    else if (hashes && size !== undefined && hashes.diskBytes !== size) problems.push(`copy ${result.blobName} holds ${hashes.diskBytes} disk bytes, the disk has ${size}`);
  }
  const hashed = exports.filter((r) => r.hashes).length;
  const unique = [...new Set(evidenceIds)];
  if (problems.length === 0 && hashed === described.length && described.length === disks.length) return { target: label, status: 'collected', evidenceIds: unique };
  const preserved = sources.length;
  if (preserved === 0 && disks.length > 0) return { target: label, status: 'failed', reason: `no disk was preserved: ${problems.join('; ')}`, evidenceIds: unique };
  const error = exports.map((r) => r.error ?? r.grantOpen?.error).find((e) => e !== undefined);
  return { target: label, status: 'partial', reason: problems.join('; ') || `${hashed} of ${disks.length} disks copied and hashed`, ...(error ? { error: error.toRecord() } : {}), evidenceIds: unique };
}

/** Resolves `azure:tag:K=V` across the configured subscriptions (the discovery role's list). */
export async function resolveAzureSelector(ctx: AzureRunContext, selector: AzureTagSelector): Promise<AzureTarget[]> {
  const found: AzureTarget[] = [];
  for (const { subscriptionId } of ctx.config.subscriptions) {
    const pages: unknown[] = [];
    const listed = await callAzure('listVirtualMachines', `/subscriptions/${subscriptionId}`, async (o) => {
      for await (const _ of ctx.clients.compute(subscriptionId).virtualMachines.listAll({ ...o, onResponse: (r) => pages.push(r.parsedBody) })) void _;
    });
    const matched: string[] = [];
    for (const page of pages) {
      for (const vm of (obj(page).value as unknown[]) ?? []) {
        const raw = obj(vm);
        const id = str(raw.id);
        if (id && tagsMatch(obj(raw.tags) as Record<string, string>, selector.tagKey, selector.value)) {
          matched.push(id);
          found.push(parseAzureTarget(id));
        }
      }
    }
    await ctx.recorder.record('selector.resolved', { selector: selector.key, subscriptionId, matched, requestIds: listed.exchanges.map((x) => x.requestId).filter(Boolean) });
  }
  return found;
}
