/**
 * One Azure target, end to end: describe → boot diagnostics → snapshots (adopt or create, tagged)
 * → batched wait → export/copy/hash/revoke/seal. Steps that fail are recorded and the target's
 * outcome says what exists; one disk's failure never stops the others.
 *
 * Multi-disk consistency: a VM gets a crash-consistent restore point where it supports one
 * (restore-point.ts), else one incremental snapshot per disk (crash-consistent per disk, not
 * across disks); `consistency.chosen` records which and why. A disk target is always per-disk.
 * A VM deleted since an earlier run of the case is carried through from what that run asked for
 * (its snapshots by name, or its restore point by id: kept-restore-point.ts), never taken again;
 * a disk earlier runs asked for both ways is carried once (carry-once.ts), and so is a VM still
 * there, whatever the run's consistency now. A restore point Azure may still be making is never
 * abandoned for snapshots: the target is partial, a resume adopts it. A point without a disk
 * restore point of some disk carries the others; only that disk is snapshotted. A disk detached
 * from a VM still there since an earlier run preserved it is carried from what that run asked for.
 */
import { evidenceIdFor } from '../../core/case-id.js';
import { historyOf } from '../../core/case-history.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import type { CaseRecorder, TargetOutcome } from '../../core/ports.js';
import { collectBootDiagnostics } from './boot-diagnostics.js';
import type { AzureClients } from './clients.js';
import type { AzureConfig } from './config.js';
import { describeDisk, describeNics, describeVm, type DiskFacts, type VmFacts } from './describe.js';
import { diskLedger, earlierSnapshotRequests, type DiskLedgerState, type EarlierSnapshotRequest } from './disk-ledger.js';
import { copyExportSource, exportSources, isSnapshotBlob, snapshotExportSource, type ExportSource } from './export.js';
import { carriedByCopyReason, earlierFinishedCopy } from './copied-before.js';
import { at, str } from './raw.js';
import { earlierRestorePointRequest, findKeptRestorePoint } from './kept-restore-point.js';
import { carriedInstead, carryEarlierRuns, carryOnce, DETACHED, detachedChoice, detachedSince, EARLIER_SNAPSHOTS, earlierSnapshotsOf, recordCarried, type CarryChoice, type KeptPoint } from './carry-once.js';
import { restorePointUnsupported, takeRestorePoint } from './restore-point.js';
import { resourceKey, sameResource } from './resource-id.js';
import { awaitSnapshots, planSnapshot, requestSnapshots, type SnapshotPlan, type SnapshotState } from './snapshots.js';
import type { AzureTarget } from './targets.js';
import type { Sleep } from '../shared/stoppable-sleep.js';

export interface AzureRunContext {
  recorder: CaseRecorder;
  clients: AzureClients;
  config: AzureConfig;
  /** The run's: once it aborts (the first Ctrl-C), every wait ends at its next pause. */
  signal?: AbortSignal;
  sleep: Sleep;
  now: () => number;
  /** The case's disks claimed in this run (shared by its targets); without it, this target's own. */
  diskClaims?: DiskClaims;
}

/** What became of one disk, shared with every other target of the run that names or attaches it. */
export interface DiskResult {
  /** The case holds something under the disk's evidence id (its description). */
  described: boolean;
  /** A snapshot or disk restore point of it exists. */
  preserved: boolean;
  /** Its copy in the evidence container is hashed. */
  hashed: boolean;
  problems: string[];
  error?: CustodyError;
}

/**
 * One export per disk per case: the first target of the run to reach a disk (by `resourceKey`)
 * collects it; any other records `disk.covered` and shares its result.
 */
export type DiskClaims = Map<string, { by: string; result: Promise<DiskResult> }>;

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
  const evidenceIdOf = (disk: Pick<DiskFacts, 'id'>) => evidenceIdFor(recorder.caseId, resourceKey(disk.id));
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
  // A VM gone since an earlier run: why, and the disks that run asked to snapshot, or the restore
  // point it asked for (kept-restore-point.ts) with the disks that point holds.
  let vmGone: CustodyError | undefined;
  let earlier: EarlierSnapshotRequest[] = [];
  let keptPoint: KeptPoint | undefined;
  // What carries each disk earlier runs asked for both ways, or a disk detached since: said on the
  // ledger (`disk.carried`) only once Azure confirms it, just before the exports.
  const choices: CarryChoice[] = [];
  // A VM gone whose restore point could not be read (not a 404): it may still be there, and a resume reads it again.
  let pointUnread: string | undefined;
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
    if (modelStored) evidenceIds.push(targetEvidence);
    // Deleted since an earlier run of the case: the per-disk snapshots that run asked for are
    // evidence all the same, carried through below (adopted by name, never requested again).
    earlier = e.code === 'E_NOT_FOUND' && target.kind !== 'azure-disk' ? earlierSnapshotRequests(recorder, label) : [];
    // Or the restore point it asked for, adopted by the id the ledger holds, never made again;
    // where earlier runs asked for both, each disk is carried through once (carry-once.ts).
    const pointId = e.code === 'E_NOT_FOUND' && target.kind !== 'azure-disk' ? earlierRestorePointRequest(recorder, label) : undefined;
    if (pointId) {
      const kept = await findKeptRestorePoint(recorder, clients, pointId, label);
      const asked = `the restore point an earlier run of the case asked for (${pointId})`;
      let why: string | undefined;
      if ('error' in kept) why = kept.error.code === 'E_NOT_FOUND' ? `${asked} is gone too (${kept.error.message})` : `${asked} could not be read (${kept.error.message})`;
      else if (kept.disks.length === 0) why = `${asked} names no disk restore point to carry through`;
      else keptPoint = { restorePointId: pointId, ...kept };
      if ('error' in kept) pointUnread = kept.leftInAzure;
      // A point that may still be there is not "nothing preserved": the target is partial, as one still being made.
      if (why && earlier.length === 0) return { target: label, status: pointUnread ? 'partial' : 'failed', reason: `${pointUnread ? `${pointUnread}; ` : ''}${e.message}; ${why}`, error: e.toRecord(), evidenceIds };
      if (why) problems.push(`${why}: only the snapshots earlier runs asked for are carried through`);
    }
    if (earlier.length === 0 && !keptPoint) return { target: label, status: 'failed', reason: e.message, error: e.toRecord(), evidenceIds };
    vmGone = e;
    if (keptPoint && earlier.length > 0) {
      const carried = carryOnce(recorder, label, evidenceIdOf, keptPoint, earlier);
      choices.push(...carried.choices);
      keptPoint = { ...keptPoint, disks: carried.viaPoint };
      earlier = carried.viaSnapshots;
    }
    disks = [...(keptPoint?.disks ?? []), ...earlier.map((r) => r.disk)];
  }

  // A VM still there: the disks earlier runs of the case preserved (or asked to) that have left it
  // since are carried through all the same, from what those runs asked for (carry-once.ts).
  const detached = vmFacts ? detachedSince(recorder, label, evidenceIdOf, vmFacts.disks) : [];
  disks = [...disks, ...detached.map((d) => d.disk)];
  const { own, covered, settle } = claimDisks(ctx, label, disks);
  try {
    for (const { disk, by, earlier } of covered) {
      const reason = earlier
        ? 'another target of this case holds this disk since an earlier run (it preserved it, or asked to): it is exported, copied and hashed once per case, by that target, not a second time here'
        : 'another target of this case collects this disk: it is exported, copied and hashed once per case, by that target, not a second time here';
      await recorder.record('disk.covered', { disk: disk.id, evidenceId: evidenceIdOf(disk), coveredBy: by, reason }, label);
    }
    const results = new Map(own.map((disk) => [evidenceIdOf(disk), { described: false, preserved: false, hashed: false, problems: [] } as DiskResult]));
    const resultOf = (evidenceId: string) => results.get(evidenceId)!;
    const described: DiskFacts[] = [];
    // The detached disks this target carries: not described again, nothing new asked of them.
    const detachedOwn: DiskFacts[] = [];
    // Those whose disk restore point no entry names yet (detachedSince: `inPoint`): the point
    // names it once read again, and what carries them is known once it is adopted.
    const detachedInPoint: Array<Omit<CarryChoice, 'carried'>> = [];
    for (const disk of own) {
      const evidenceId = evidenceIdOf(disk);
      const left = detached.find((d) => evidenceIdOf(d.disk) === evidenceId);
      if (left) {
        detachedOwn.push(left.disk);
        resultOf(evidenceId).described = historyOf(recorder).storedName(evidenceId, 'disk.json') !== undefined;
        const reason = `${DETACHED}: what that run asked for is carried through, nothing new is asked of a disk that left the VM`;
        // Asked both ways: carryOnce names which is carried, and says why.
        if (left.asked.length === 1 && !left.inPoint) choices.push({ disk: disk.id, evidenceId, carried: left.asked[0]!, detached: true, reason });
        else if (left.asked.length === 0 && left.inPoint) detachedInPoint.push({ disk: disk.id, evidenceId, detached: true, reason });
        continue;
      }
      const asked = earlier.find((r) => r.evidenceId === evidenceId)?.disk ?? keptPoint?.disks.find((d) => evidenceIdOf(d) === evidenceId);
      if (vmGone && asked) {
        // Not read again: the snapshot or disk restore point is adopted by the facts its request
        // (or the restore point's sourceMetadata) recorded.
        described.push(asked);
        resultOf(evidenceId).described = historyOf(recorder).storedName(evidenceId, 'disk.json') !== undefined;
        continue;
      }
      try {
        described.push(await describeDisk(recorder, clients, disk, evidenceId, label));
        evidenceIds.push(evidenceId);
        resultOf(evidenceId).described = true;
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
        resultOf(evidenceId).problems.push(`disk ${disk.id}: ${e.message}`);
      }
    }
    const timing = { intervalMs: config.pollIntervalMs, timeoutMs: config.waitTimeoutMs, sleep: ctx.sleep, now: ctx.now, ...(ctx.signal ? { signal: ctx.signal } : {}) };
    let sources: ExportSource[] | undefined;
    let states: SnapshotState[] = [];
    // A restore point asked for that Azure may still be making (or that may still be there,
    // unread): why the target is partial.
    let pointLeft: string | undefined = pointUnread;
    // The per-disk problems that only restate `pointLeft` or a snapshot's `leftInAzure`: shared
    // with any other target of the disk, and left out of this target's own reason, which says it once.
    const restated = new Set<string>();
    const diskProblem = (evidenceId: string, problem: string, restatesLeft: boolean) => {
      resultOf(evidenceId).problems.push(problem);
      if (restatesLeft) restated.add(problem);
    };
    // A VM gone: the restore point an earlier run asked for was not carried through in this run.
    let pointNotCarried = false;
    // The disks this run snapshots (adopting by name what an earlier run of the case made).
    let bySnapshot: DiskFacts[] = [];
    // A VM still there whose disks earlier runs of the case asked per-disk snapshots of (and
    // perhaps its restore point too): each disk is carried once from what they asked for.
    // The disks this run preserves: those it described, and those it carries though detached.
    const kept = [...described, ...detachedOwn];
    const carrying = vmFacts && own.length > 0 ? await carryEarlierRuns(recorder, clients, label, evidenceIdOf, kept) : undefined;
    if (carrying) {
      keptPoint = carrying.point;
      // A detached disk asked for both ways: carryOnce says which carries it, and disk.carried
      // says it is detached as it does for a disk asked for one way.
      const detachedIds = new Set(detachedOwn.map(evidenceIdOf));
      choices.push(...carrying.choices.map((c) => (detachedIds.has(c.evidenceId) ? detachedChoice(c) : c)));
      if (carrying.pointLeft) {
        pointLeft = carrying.pointLeft.reason;
        for (const disk of carrying.pointLeft.disks) diskProblem(evidenceIdOf(disk), `disk ${disk.id}: ${carrying.pointLeft.reason}`, true);
      }
    } else if (vmFacts && own.length > 0) {
      // Only the disks this VM collects: one another target collects is not one it failed to describe.
      const mine = { ...vmFacts, disks: vmFacts.disks.filter((d) => results.has(evidenceIdOf(d))) };
      // What an earlier run of the case asked for is carried whatever the consistency now: its
      // point adopted, or its snapshots (never a point beside them: the disks preserved twice).
      const pointAsked = earlierRestorePointRequest(recorder, label) !== undefined;
      const perDiskNow = config.consistency === 'per-disk';
      const snapshotsAsked = earlierSnapshotsOf(recorder, label, evidenceIdOf, kept).length > 0;
      const unsupported = perDiskNow && !pointAsked ? 'azure.consistency is per-disk' : restorePointUnsupported(mine, described) ?? (snapshotsAsked ? EARLIER_SNAPSHOTS : undefined);
      let fallback = unsupported;
      if (!unsupported) {
        const taken = await takeRestorePoint(recorder, clients, config, vmFacts, kept, evidenceIdOf, targetEvidence, timing, undefined, perDiskNow);
        if ('sources' in taken) {
          sources = taken.sources;
          const adoptedWhy = perDiskNow ? { reason: 'an earlier run of the case asked for this restore point: it is carried through, not preserved a second time by per-disk snapshots (azure.consistency is per-disk now)' } : {};
          await recorder.record('consistency.chosen', { mode: 'crash-consistent-restore-point', restorePointId: taken.restorePointId, ...adoptedWhy, disks: taken.sources.map((s) => s.diskId) }, label);
          if (taken.uncovered) {
            // Only the disks the point does not hold: the others are carried by it, once.
            bySnapshot = taken.uncovered.disks;
            await recorder.record('consistency.chosen', { mode: 'per-disk', reason: `${taken.uncovered.reason}: one incremental snapshot of it, crash-consistent on its own, not consistent with the restore point's disks`, disks: bySnapshot.map((d) => d.id) }, label);
          }
        } else if ('stopped' in taken) {
          // No per-disk fallback after a stop: the restore point carries on, and a resume adopts it.
          sources = [];
          if (taken.leftInAzure) pointLeft = taken.leftInAzure;
          for (const disk of kept) diskProblem(evidenceIdOf(disk), `disk ${disk.id}: ${taken.stopped.message}`, pointLeft !== undefined);
        } else if ('unsettled' in taken) {
          // Nor after a point Azure may still be making: the disks are preserved once, by it.
          sources = [];
          pointLeft = taken.reason;
        } else fallback = taken.fallback;
      }
      if (!sources) {
        bySnapshot = kept;
        await recorder.record('consistency.chosen', { mode: 'per-disk', reason: `${fallback}: one incremental snapshot per disk, each crash-consistent on its own, not consistent across disks`, disks: kept.map((d) => d.id) }, label);
      }
    } else if (!vmGone) bySnapshot = described;
    // The VM is gone: the disks its restore point holds are carried through as a normal run
    // carries them, or not at all. Never a snapshot in its place: it would hold what is left of
    // the disks now, not the disks at the instant the case preserved them. The others, by the
    // snapshots earlier runs asked for (adopted, never requested). A VM still there carries the
    // same way what earlier runs asked for (carry-once.ts).
    if (vmGone || carrying) {
      // Every disk this run preserves (a detached one too: carried, not described again).
      const viaPoint = kept.filter((d) => keptPoint?.disks.some((k) => evidenceIdOf(k) === evidenceIdOf(d)));
      bySnapshot = carrying ? carrying.bySnapshot : described.filter((d) => !viaPoint.includes(d));
      let snapshotsWhy = carrying?.snapshotsWhy;
      // A disk earlier runs asked for both ways (carryOnce chose the point): its snapshot exists.
      const snapshotAskedToo = (disk: DiskFacts) => choices.some((c) => c.evidenceId === evidenceIdOf(disk) && c.notCarried !== undefined);
      const notCarriedByPoint = (notCarried: DiskFacts[], why: string) => {
        if (notCarried.length > 0) pointNotCarried = true;
        for (const disk of notCarried) diskProblem(evidenceIdOf(disk), `disk ${disk.id}: ${why}`, pointLeft !== undefined);
      };
      sources = [];
      if (keptPoint && viaPoint.length > 0) {
        const taken = await takeRestorePoint(recorder, clients, config, vmFacts ?? { id: label, location: '' }, viaPoint, evidenceIdOf, targetEvidence, timing, keptPoint.found);
        if ('sources' in taken) {
          sources = taken.sources;
          await recorder.record('consistency.chosen', { mode: 'crash-consistent-restore-point', restorePointId: taken.restorePointId, disks: viaPoint.map((d) => d.id) }, label);
        } else if ('fallback' in taken && (carrying || viaPoint.some(snapshotAskedToo))) {
          // Azure confirmed the point not made. The VM is there: its disks get snapshots. The VM
          // is gone: a disk earlier runs asked a snapshot of too is carried by that snapshot
          // (adopted, never asked for again); any other is not carried, as below.
          const fellBackDisks = carrying ? viaPoint : viaPoint.filter(snapshotAskedToo);
          const fellBack = new Set(fellBackDisks.map(evidenceIdOf));
          // Of a VM gone, a snapshot is adopted by the disk's facts its request recorded (its
          // uniqueId: what makes the snapshot this case's), not those the point's metadata names.
          const requests = carrying ? [] : earlierSnapshotRequests(recorder, label);
          bySnapshot = [...bySnapshot, ...fellBackDisks.map((d) => requests.find((r) => r.evidenceId === evidenceIdOf(d))?.disk ?? d)];
          snapshotsWhy = carrying ? `${snapshotsWhy}; ${taken.fallback}` : `${taken.fallback}: the snapshots earlier runs of the case asked for carry its disks instead`;
          choices.splice(0, choices.length, ...choices.map((c) => (fellBack.has(c.evidenceId) ? carriedInstead(c, taken.fallback) : c)));
          keptPoint = { ...keptPoint, disks: keptPoint.disks.filter((d) => !fellBack.has(evidenceIdOf(d))) };
          notCarriedByPoint(viaPoint.filter((d) => !fellBack.has(evidenceIdOf(d))), `${taken.fallback}; no snapshot is taken in its place of a VM that is gone`);
        } else {
          const why = 'stopped' in taken ? taken.stopped.message : 'unsettled' in taken ? taken.reason : `${taken.fallback}; no snapshot is taken in its place of a VM that is gone`;
          if ('unsettled' in taken) pointLeft = taken.reason;
          else if ('stopped' in taken && taken.leftInAzure) pointLeft = taken.leftInAzure;
          notCarriedByPoint(viaPoint, why);
        }
      }
      if (snapshotsWhy && bySnapshot.length > 0) {
        await recorder.record('consistency.chosen', { mode: 'per-disk', reason: `${snapshotsWhy}: one incremental snapshot per disk, each crash-consistent on its own, not consistent across disks`, disks: bySnapshot.map((d) => d.id) }, label);
      }
    }
    sources ??= [];
    // The disks an earlier run's finished copy carries, their snapshot gone (or not the one copied).
    const carriedByCopy = new Set<string>();
    if (bySnapshot.length > 0) {
      const plans = bySnapshot.map((disk) => planSnapshot(config, recorder.caseId, disk, evidenceIdOf(disk), label));
      // A disk an earlier run finished copying: never a new snapshot (copied-before.ts).
      const copies = new Map(plans.flatMap((p) => {
        const copy = earlierFinishedCopy(recorder, label, p.evidenceId, (blob) => isSnapshotBlob(recorder.caseId, p.evidenceId, p.name, blob));
        return copy ? [[p.evidenceId, copy] as const] : [];
      }));
      const adoptOnly = (plan: SnapshotPlan) => {
        const copy = copies.get(plan.evidenceId);
        return vmGone ? 'its VM is gone' : detachedOwn.some((d) => evidenceIdOf(d) === plan.evidenceId) ? 'it is no longer attached to the VM' : copy ? carriedByCopyReason(copy) : undefined;
      };
      states = await requestSnapshots(recorder, clients, plans, label, { adoptOnly, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      await awaitSnapshots(recorder, clients, states, label, timing);
      for (const state of states) {
        const copy = copies.get(state.plan.evidenceId);
        // The snapshot the copy was made from, found again: its export is that copy, adopted by name.
        if (!copy || (state.status === 'succeeded' && str(at(state.raw, 'properties', 'uniqueId')) === copy.snapshotUniqueId)) continue;
        // Gone, another of its name, or not settled: the finished copy carries the disk.
        carriedByCopy.add(state.plan.evidenceId);
        sources.push(copyExportSource(clients, state, copy));
      }
      sources = [...sources, ...states.filter((s) => s.status === 'succeeded' && !carriedByCopy.has(s.plan.evidenceId)).map((s) => snapshotExportSource(clients, s))];
    }
    // Each source is adopted (or made) and Azure answered it made: what carries a disk is confirmed now.
    for (const choice of detachedInPoint) {
      const source = sources.find((s) => s.evidenceId === choice.evidenceId);
      if (source) choices.push({ ...choice, carried: source.id });
    }
    // A copy carrying a disk whose snapshot is gone is no snapshot Azure confirmed: its own disk.carried says so (export.ts).
    await recordCarried(recorder, label, choices, sources.filter((s) => !s.copied));
    const exports = await exportSources(recorder, clients, config, sources, label, timing);

    for (const source of sources) {
      resultOf(source.evidenceId).preserved = true;
      // The case holds its snapshot or disk restore point: evidence of the target even where the
      // disk was not described in this run (its VM gone).
      evidenceIds.push(source.evidenceId);
    }
    for (const state of states.filter((s) => s.status === 'failed' && !carriedByCopy.has(s.plan.evidenceId))) diskProblem(state.plan.evidenceId, `snapshot of ${state.plan.disk.id}: ${state.error?.message}`, state.leftInAzure !== undefined);
    for (const result of exports) {
      const disk = resultOf(result.evidenceId);
      const error = result.error ?? result.grantOpen?.error;
      if (error) disk.error ??= error;
      if (result.error) disk.problems.push(`export of ${result.snapshotId}: ${result.error.message}`);
      // A grant still open is a live read path to the evidence: never a collected target.
      if (result.grantOpen) disk.problems.push(`revoke (${result.grantOpen.error.message})`);
      if (result.sealed && 'unavailable' in result.sealed) disk.problems.push(`copy ${result.blobName} is hashed but not sealed: ${result.sealed.unavailable}`);
      else if (result.sealed && 'overwritten' in result.sealed && result.sealed.overwritten) disk.problems.push(result.sealed.overwritten);
      // A copy is the disk's evidence only as a whole fixed VHD of it: a file hash alone is not a disk hash.
      const size = described.find((d) => evidenceIdOf(d) === result.evidenceId)?.sizeBytes;
      const hashes = result.hashes;
      if (hashes) disk.hashed = true;
      if (hashes && !hashes.footer) disk.problems.push(`copy ${result.blobName} has no VHD footer: only the file is hashed, not the disk`);
      else if (hashes?.footer && !hashes.footer.matchesLength) disk.problems.push(`copy ${result.blobName}: its VHD footer states ${hashes.footer.currentSize} bytes, the file holds ${hashes.diskBytes}`);
      else if (hashes && size !== undefined && hashes.diskBytes !== size) disk.problems.push(`copy ${result.blobName} holds ${hashes.diskBytes} disk bytes, the disk has ${size}`);
    }
    for (const [evidenceId, result] of results) settle.get(evidenceId)?.(result);

    // The disks another target collects count as that target found them.
    const all = [...results.values()];
    for (const { disk, by, result } of covered) {
      const shared = await result;
      if (shared.described || shared.preserved) evidenceIds.push(evidenceIdOf(disk));
      all.push({ ...shared, problems: shared.problems.map((p) => `${p} (collected for the case by ${by})`) });
    }
    problems.push(...all.flatMap((r) => r.problems).filter((p) => !restated.has(p)));
    const hashed = all.filter((r) => r.hashed).length;
    // Never collected: the VM itself could not be read again.
    if (vmGone) {
      const point = keptPoint && keptPoint.disks.length > 0 ? `the restore point an earlier run of the case asked for (${keptPoint.restorePointId})` : undefined;
      // What carries a disk by snapshot: one an earlier run took (adopted, never asked for again).
      const snapshots = bySnapshot.length > 0 ? 'the snapshots an earlier run of the case took of its disks' : undefined;
      const count = `${hashed} of ${disks.length} disks copied and hashed`;
      const carried = point && pointNotCarried
        ? snapshots ? `${snapshots} were carried through; ${point} was not (${count})` : `${point} was not carried through in this run (${count})`
        : point && snapshots ? `${point} and ${snapshots} were carried through, each disk once (${count})` : point ? `${point} was carried through (${count})` : `${snapshots} were carried through (${hashed} of ${disks.length} copied and hashed)`;
      problems.unshift(`${vmGone.message}; ${carried}`);
    }
    // Snapshots a wait left being made (stopped, timed out or unreadable), as such a restore point: a resume adopts them.
    const snapshotsLeft = states.flatMap((s) => (s.leftInAzure ? [s.leftInAzure] : []));
    problems.unshift(...snapshotsLeft);
    if (pointLeft) problems.unshift(pointLeft);
    const unique = [...new Set(evidenceIds)];
    if (problems.length === 0 && hashed === disks.length) return { target: label, status: 'collected', evidenceIds: unique };
    const preserved = all.filter((r) => r.preserved).length;
    // A restore point or snapshot that may still be being made is not "nothing preserved": a resume adopts it.
    if (preserved === 0 && disks.length > 0 && !pointLeft && snapshotsLeft.length === 0) return { target: label, status: 'failed', reason: `no disk was preserved: ${problems.join('; ')}`, evidenceIds: unique };
    const error = all.map((r) => r.error).find((e) => e !== undefined);
    return { target: label, status: 'partial', reason: problems.join('; ') || `${hashed} of ${disks.length} disks copied and hashed`, ...(error ? { error: error.toRecord() } : {}), evidenceIds: unique };
  } finally {
    // A target that stopped part way still answers the targets waiting on its disks.
    for (const done of settle.values()) done();
  }
}

/**
 * Claims each of a target's disks for it, or finds the target that collects it: one that claimed
 * it first in this run, or one that holds it since an earlier run of the case (diskLedger): that
 * one resumes it when the run takes it up, so this target takes no second snapshot, restore point
 * export or copy of it. Never a wait on a target that may be queued behind this one: a holder
 * that has not claimed the disk in this run yet counts as the ledger shows it.
 */
function claimDisks(ctx: AzureRunContext, label: string, disks: Array<Pick<DiskFacts, 'id' | 'role' | 'lun'>>) {
  const claims = ctx.diskClaims ?? new Map();
  const own: typeof disks = [];
  const covered: Array<{ disk: (typeof disks)[number]; by: string; earlier?: true; result: Promise<DiskResult> }> = [];
  const settle = new Map<string, (result?: DiskResult) => void>();
  const ledger = diskLedger(ctx.recorder);
  for (const disk of disks) {
    const key = resourceKey(disk.id);
    const evidenceId = evidenceIdFor(ctx.recorder.caseId, key);
    const claim = claims.get(key);
    const held = ledger.get(evidenceId);
    if (claim && !sameResource(claim.by, label)) covered.push({ disk, ...claim });
    else if (held && !sameResource(held.holder, label)) covered.push({ disk, by: held.holder, earlier: true, result: Promise.resolve(ledgerResult(ctx.recorder, disk, evidenceId, held)) });
    else {
      own.push(disk);
      const result = new Promise<DiskResult>((resolve) => settle.set(evidenceId, (r) => {
        settle.delete(evidenceId);
        resolve(r ?? { described: false, preserved: false, hashed: false, problems: [`disk ${disk.id}: ${label} stopped before it finished collecting it`] });
      }));
      claims.set(key, { by: label, result });
    }
  }
  return { own, covered, settle };
}

/**
 * A disk another target holds since an earlier run, as far as the ledger shows that target got:
 * hashed only once its copy is hashed and then sealed (or sealing is off), never on a hash alone.
 */
function ledgerResult(recorder: CaseRecorder, disk: Pick<DiskFacts, 'id'>, evidenceId: string, held: DiskLedgerState): DiskResult {
  const history = historyOf(recorder);
  const described = history.storedName(evidenceId, 'disk.json') !== undefined;
  const preserved = history.artifactRecorded(evidenceId);
  if (held.hashed && held.sealed) return { described, preserved, hashed: true, problems: [] };
  const got = held.hashed ? 'its copy is hashed but not sealed' : preserved ? 'no copy of it is hashed yet' : 'it is not preserved yet';
  return { described, preserved, hashed: false, problems: [`disk ${disk.id}: ${held.holder} began collecting it in an earlier run of this case and has not finished (${got}); that target finishes it when a run takes it up, not a second export here`] };
}
