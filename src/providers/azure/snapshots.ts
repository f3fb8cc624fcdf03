/**
 * Incremental snapshots of managed disks, tagged with the case and evidence ids at creation.
 *
 * Where: incremental snapshots cannot be created outside the disk's subscription (docs/research/
 * azure.md §5.3), so a disk in the SOC subscription gets its snapshot in the SOC evidence
 * resource group, any other disk in the staging resource group of its own subscription; the
 * ledger says which and why.
 *
 * Resume: names are derived from the evidence id, and before creating anything the staging
 * group is listed once per subscription: a snapshot an interrupted run created (same name, tag
 * `EvidenceId`, same source `uniqueId`) is adopted, never duplicated.
 *
 * Waiting: the PUTs are sent (the SDK poller is only asked for its first response), then the
 * set is awaited by listing each resource group once per round — one request per group per
 * round however many disks, never one poller per disk.
 */
import { historyOf } from '../../core/case-history.js';
import type { CaseRecorder } from '../../core/ports.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { callAzure, exchangesOf } from './arm-call.js';
import type { AzureClients } from './clients.js';
import type { AzureConfig } from './config.js';
import type { DiskFacts } from './describe.js';
import { requestIdsOf } from './describe.js';
import { at, obj, str, type Json } from './raw.js';
import { parseResourceId, resourceKey, sameRecordedResource, type ResourceId } from './resource-id.js';
import { pauseUnlessStopped, type Sleep } from '../shared/stoppable-sleep.js';
import { stoppedBefore, stoppedWaiting } from './stopped.js';
import { leftInCloud } from '../shared/left-in-cloud.js';

export interface SnapshotPlan {
  disk: DiskFacts;
  evidenceId: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Why it lives where it does. */
  placement: 'soc-evidence-group' | 'target-staging-group';
  tags: Record<string, string>;
}

export interface SnapshotState {
  plan: SnapshotPlan;
  id: string;
  status: 'requested' | 'adopted' | 'succeeded' | 'failed';
  raw?: Json;
  /** The request ids of the answer `raw` came from (a listing of its group). */
  requestIds?: string[];
  error?: CustodyError;
  /** The wait ended without settling it (stopped, timed out, or its group unreadable): Azure may still be making it, and a resume adopts it (why the target is partial). */
  leftInAzure?: string;
}

/** A snapshot as a listing of its resource group answered it, with that listing's request ids. */
export interface ListedSnapshot {
  raw: Json;
  requestIds: string[];
}

export function snapshotName(evidenceId: string): string {
  return `custody-${evidenceId}`;
}

export function planSnapshot(config: AzureConfig, caseId: string, disk: DiskFacts, evidenceId: string, targetLabel: string): SnapshotPlan {
  const id: ResourceId = parseResourceId(disk.id);
  const inSoc = id.subscriptionId.toLowerCase() === config.socSubscriptionId.toLowerCase();
  return {
    disk,
    evidenceId,
    subscriptionId: id.subscriptionId,
    resourceGroup: inSoc ? config.evidenceResourceGroup : config.stagingResourceGroup,
    name: snapshotName(evidenceId),
    placement: inSoc ? 'soc-evidence-group' : 'target-staging-group',
    // Azure tag values are at most 256 characters: the target is named by evidence id instead.
    tags: { CaseId: caseId, EvidenceId: evidenceId, CreatedBy: 'cloud-custody', SourceDiskName: id.names[0]!.slice(0, 256), Target: targetLabel.slice(-256) },
  };
}

const PLACEMENT_WHY = {
  'soc-evidence-group': 'the disk is in the SOC subscription',
  'target-staging-group': "incremental snapshots cannot be created outside the disk's subscription",
} as const;

/**
 * Lists the case's existing snapshots in each group once: name (lower-case) → raw snapshot and the
 * listing's request ids; or the first group whose listing failed, and why. A read, so it takes
 * the run's `signal`.
 */
export async function existingSnapshots(clients: AzureClients, plans: SnapshotPlan[], signal?: AbortSignal): Promise<{ found: Map<string, ListedSnapshot> } | { group: SnapshotPlan; error: unknown }> {
  const found = new Map<string, ListedSnapshot>();
  for (const group of groupsOf(plans)) {
    try {
      for (const [id, listed] of (await listGroup(clients, group, signal)).snapshots) found.set(id, listed);
    } catch (error) {
      return { group, error };
    }
  }
  return { found };
}

/** One plan per resource group the plans place snapshots in. */
function groupsOf(plans: SnapshotPlan[]): SnapshotPlan[] {
  const groups = new Map<string, SnapshotPlan>();
  for (const plan of plans) groups.set(groupKey(plan), plan);
  return [...groups.values()];
}

const groupKey = (plan: SnapshotPlan) => `${plan.subscriptionId}/${plan.resourceGroup}`.toLowerCase();

/** Every snapshot in `group`'s resource group, by resource key. `signal`: a wait's read, which a stopped run cuts off. */
async function listGroup(clients: AzureClients, group: SnapshotPlan, signal?: AbortSignal): Promise<{ snapshots: Map<string, ListedSnapshot>; requestIds: string[] }> {
  const found = new Map<string, ListedSnapshot>();
  const compute = clients.compute(group.subscriptionId);
  const pages: unknown[] = [];
  const listed = await callAzure('listSnapshots', `/subscriptions/${group.subscriptionId}/resourceGroups/${group.resourceGroup}`, async (o) => {
    for await (const _ of compute.snapshots.listByResourceGroup(group.resourceGroup, { ...o, onResponse: (r) => pages.push(r.parsedBody) })) void _;
  }, { signal });
  const requestIds = requestIdsOf(listed.exchanges);
  for (const page of pages) {
    for (const item of (obj(page).value as unknown[]) ?? []) {
      const raw = obj(item);
      const id = str(raw.id);
      if (id) found.set(resourceKey(id), { raw, requestIds });
    }
  }
  return { snapshots: found, requestIds };
}

function snapshotId(plan: SnapshotPlan): string {
  return `/subscriptions/${plan.subscriptionId}/resourceGroups/${plan.resourceGroup}/providers/Microsoft.Compute/snapshots/${plan.name}`;
}

/**
 * Adopts or requests one snapshot per plan. Records before and after every PUT. `adoptOnly`: for a
 * plan it gives a reason for, a snapshot the case does not hold is not requested (its VM is gone,
 * or the disk left it: the disk no longer holds what the case set out to preserve); that disk is a
 * failed step instead, naming the reason.
 */
export async function requestSnapshots(recorder: CaseRecorder, clients: AzureClients, plans: SnapshotPlan[], target: string, options: { adoptOnly?: (plan: SnapshotPlan) => string | undefined; signal?: AbortSignal } = {}): Promise<SnapshotState[]> {
  const states: SnapshotState[] = [];
  const listing = await existingSnapshots(clients, plans, options.signal);
  if ('error' in listing) {
    // Nothing was asked for yet: the listing's failure is every plan's, recorded once.
    const { group, error } = listing;
    if (isStopSignal(error)) throw error;
    const where = `/subscriptions/${group.subscriptionId}/resourceGroups/${group.resourceGroup}`;
    const failure = options.signal?.aborted
      ? stoppedBefore('the snapshots', where, 'nothing was asked of Azure; resume the case to take them')
      : error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String((error as Error)?.message ?? error), { cause: error });
    const exchanges = exchangesOf(error);
    await recorder.record('step.failed', { step: 'snapshot-list', subscriptionId: group.subscriptionId, resourceGroup: group.resourceGroup, disks: plans.map((p) => p.disk.id), error: failure.toRecord(), requestIds: requestIdsOf(exchanges), exchanges }, target);
    return plans.map((plan) => ({ plan, id: snapshotId(plan), status: 'failed', error: failure }));
  }
  const existing = listing.found;
  for (const plan of plans) {
    const id = snapshotId(plan);
    const listed = existing.get(resourceKey(id));
    const adoptOnly = options.adoptOnly?.(plan);
    if (!listed && adoptOnly) {
      const error = new CustodyError('E_NOT_FOUND', `the case holds no snapshot of ${plan.disk.id} (${id} is not there): ${adoptOnly}, and the disk is not snapshotted again`, { resource: id });
      await recorder.record('step.failed', { step: 'snapshot', disk: plan.disk.id, snapshotId: id, error: error.toRecord() }, target);
      states.push({ plan, id, status: 'failed', error });
      continue;
    }
    if (listed) {
      const found = listed.raw;
      const sameSource = str(at(found, 'properties', 'creationData', 'sourceUniqueId')) === plan.disk.uniqueId && obj(found.tags).EvidenceId === plan.evidenceId;
      if (!sameSource) {
        const error = new CustodyError('E_CLOUD', `${id} exists but was not made by this case from ${plan.disk.id} (tags or source uniqueId differ): refusing to adopt or overwrite it`, { resource: id });
        await recorder.record('step.failed', { step: 'snapshot', disk: plan.disk.id, error: error.toRecord() }, target);
        states.push({ plan, id, status: 'failed', error });
        continue;
      }
      await recorder.record('snapshot.adopted', { disk: plan.disk.id, snapshotId: str(found.id) ?? id, evidenceId: plan.evidenceId, provisioningState: str(at(found, 'properties', 'provisioningState')), uniqueId: str(at(found, 'properties', 'uniqueId')), requestIds: listed.requestIds }, target);
      states.push({ plan, id: str(found.id) ?? id, status: 'adopted', raw: found, requestIds: listed.requestIds });
      continue;
    }
    // The SDK's model is flat; it serializes to {location, tags, properties: {creationData, incremental}}.
    const body = { location: plan.disk.location, tags: plan.tags, creationData: { createOption: 'Copy' as const, sourceResourceId: plan.disk.id }, incremental: true };
    await recorder.record(
      'snapshot.requested',
      { operation: 'snapshots.createOrUpdate', disk: plan.disk.id, diskUniqueId: plan.disk.uniqueId, role: plan.disk.role, lun: plan.disk.lun, snapshotId: id, evidenceId: plan.evidenceId, incremental: true, placement: plan.placement, why: PLACEMENT_WHY[plan.placement], tags: plan.tags },
      target,
    );
    try {
      const compute = clients.compute(plan.subscriptionId);
      const sent = await callAzure('createSnapshot', id, async (o) => {
        // Only the first response: waiting is batched below (a PollerLike is thenable — never await it).
        const poller = compute.snapshots.createOrUpdate(plan.resourceGroup, plan.name, body, o);
        await poller.submitted();
        return undefined;
      });
      await recorder.record('snapshot.created', { snapshotId: str(obj(sent.raw).id) ?? id, provisioningState: str(at(sent.raw, 'properties', 'provisioningState')), requestIds: requestIdsOf(sent.exchanges), exchanges: sent.exchanges }, target);
      states.push({ plan, id: str(obj(sent.raw).id) ?? id, status: 'requested', raw: obj(sent.raw) });
    } catch (error) {
      if (isStopSignal(error)) throw error;
      const failure = error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String(error), { cause: error });
      await recorder.record('step.failed', { step: 'snapshot', disk: plan.disk.id, snapshotId: id, error: failure.toRecord(), exchanges: exchangesOf(error) }, target);
      states.push({ plan, id, status: 'failed', error: failure });
    }
  }
  return states;
}

/**
 * Waits until every requested or adopted snapshot is `Succeeded` (or `Failed`), listing each
 * resource group once per round. A stopped run (`signal`) ends the wait at its next pause, or cuts
 * off the listing it is reading; the wait's limit (`timeoutMs`) ends it too. A listing throttled
 * past the SDK's retries (429, `E_THROTTLED`) is one failed poll: the group is listed again at the
 * next round, until the wait's limit; a group whose last listing by then was throttled is cut as
 * an unreadable one below. Any other listing failure (a refusal, a 5xx after the SDK's retries)
 * ends the wait for that group only: one `step.failed` (`snapshot-wait`) names the group, the
 * snapshots it could not settle and the failing call's exchanges. What Azure confirmed before,
 * and the other groups, stand.
 *
 * Whatever cut the wait, each snapshot it did not settle is left in Azure by one rule
 * (`leaveInAzure`): Azure accepted it and may still be making it, so its `step.failed` carries
 * `leftInAzure`, it is claimed neither made nor lost, and a resume adopts it by its name. A
 * snapshot a listing named that a later one does not was deleted meanwhile (`vanished`): that is
 * Azure's answer, not a cut wait.
 */
export async function awaitSnapshots(
  recorder: CaseRecorder,
  clients: AzureClients,
  states: SnapshotState[],
  target: string,
  options: { intervalMs: number; timeoutMs: number; sleep: Sleep; now: () => number; signal?: AbortSignal },
): Promise<void> {
  const pending = () => states.filter((s) => s.status === 'requested' || (s.status === 'adopted' && str(at(s.raw, 'properties', 'provisioningState')) !== 'Succeeded'));
  const settle = async (state: SnapshotState, raw: Json, requestIds: string[]) => {
    state.raw = raw;
    state.requestIds = requestIds;
    const provisioning = str(at(raw, 'properties', 'provisioningState'));
    if (provisioning === 'Succeeded') {
      const adopted = state.status === 'adopted';
      state.status = 'succeeded';
      // An earlier run of the case recorded this very snapshot as evidence: snapshot.adopted says
      // it was found again; recording its completion and artefact twice would count it twice.
      // ARM's ids are case-insensitive: Azure may name the snapshot in another casing now.
      if (adopted && historyOf(recorder).artifactRecorded(state.plan.evidenceId, { snapshotId: str(raw.id) ?? state.id }, sameRecordedResource)) return;
      await recorder.record('snapshot.completed', {
        snapshotId: str(raw.id) ?? state.id,
        uniqueId: str(at(raw, 'properties', 'uniqueId')),
        sourceResourceId: str(at(raw, 'properties', 'creationData', 'sourceResourceId')),
        sourceUniqueId: str(at(raw, 'properties', 'creationData', 'sourceUniqueId')),
        incrementalSnapshotFamilyId: str(at(raw, 'properties', 'incrementalSnapshotFamilyId')),
        diskSizeBytes: at(raw, 'properties', 'diskSizeBytes'),
        timeCreated: str(at(raw, 'properties', 'timeCreated')),
        consistency: 'per-disk crash-consistent (each disk at its own instant; not multi-disk consistent)',
        requestIds,
      }, target);
      await recorder.recordArtifact({
        evidenceId: state.plan.evidenceId,
        kind: 'azure-incremental-snapshot',
        source: state.plan.disk.id,
        target,
        cloudIds: { snapshotId: str(raw.id) ?? state.id, uniqueId: str(at(raw, 'properties', 'uniqueId')) ?? '', sourceUniqueId: str(at(raw, 'properties', 'creationData', 'sourceUniqueId')) ?? '' },
        details: { placement: state.plan.placement, tags: state.plan.tags },
      });
    } else if (provisioning === 'Failed' || provisioning === 'Canceled') {
      state.status = 'failed';
      state.error = new CustodyError('E_CLOUD', `snapshot ${state.id} ended ${provisioning}`, { resource: state.id });
      await recorder.record('step.failed', { step: 'snapshot', snapshotId: state.id, error: state.error.toRecord(), requestIds }, target);
    }
  };
  /**
   * The one rule for a snapshot the wait ends without settling, whatever ended it: Azure accepted
   * it (asked for, or found) and may still be making it, so it fails with `error`, is claimed
   * neither made nor lost, and is left in Azure, as `leftInAzure` says: a resume adopts it.
   */
  const leaveInAzure = async (state: SnapshotState, error: CustodyError, cutBy?: { waitCutBy: { step: string; seq: number } }) => {
    state.status = 'failed';
    state.error = error;
    state.leftInAzure = leftInCloud(`snapshot ${state.id}`);
    await recorder.record('step.failed', { step: 'snapshot', snapshotId: state.id, error: error.toRecord(), ...cutBy, leftInAzure: state.leftInAzure }, target);
  };
  /** Ends the wait (stopped, or past its limit): every snapshot still pending is left in Azure with `errorOf` its state. */
  const giveUp = async (errorOf: (state: SnapshotState) => CustodyError) => {
    for (const state of pending()) await leaveInAzure(state, errorOf(state));
  };
  const stopped = (state: SnapshotState) => stoppedWaiting(`snapshot ${state.id}`, state.id, 'the snapshot continues in Azure; resume the case to adopt it');
  /**
   * A group's listing failed: its snapshots still pending are not known made or lost. The one
   * failure is the listing's, recorded once on the group's entry (its error, request ids and
   * exchanges); each snapshot's wait it cut says so by that entry's seq (`waitCutBy`), not by
   * repeating the listing's error.
   */
  const unreadable = async (group: SnapshotPlan, states: SnapshotState[], error: unknown) => {
    const failure = error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String((error as Error)?.message ?? error), { cause: error });
    const exchanges = exchangesOf(error);
    const listing = await recorder.record('step.failed', { step: 'snapshot-wait', subscriptionId: group.subscriptionId, resourceGroup: group.resourceGroup, snapshots: states.map((s) => s.id), error: failure.toRecord(), requestIds: requestIdsOf(exchanges), exchanges }, target);
    const waitCutBy = { step: 'snapshot-wait', seq: listing.seq };
    for (const state of states) {
      const cut = new CustodyError(failure.code, `the state of snapshot ${state.id} could not be read: the listing of its resource group failed (step.failed snapshot-wait, seq ${listing.seq}); it may still be being made in Azure, and nothing is claimed of it; resume the case to adopt it`, {
        cause: failure,
        resource: state.id,
        ...(failure.retryable ? { retryable: true } : {}),
      });
      await leaveInAzure(state, cut, { waitCutBy });
    }
  };
  /**
   * A snapshot a listing of its group named (or that was adopted: found by one) that a later
   * listing does not: deleted while the run waited. Azure answered it is not there, so it is not
   * left in Azure as one that may still be being made: it vanished, as AWS's and GCP's waits say.
   * One not yet named by any listing may only not be listed yet after its PUT: it is waited for.
   */
  const listedBefore = new Set<SnapshotState>(states.filter((s) => s.status === 'adopted'));
  const vanished = async (state: SnapshotState, requestIds: string[]) => {
    state.status = 'failed';
    state.error = new CustodyError('E_NOT_FOUND', `snapshot ${state.id} vanished while the run waited for it: an earlier listing of its resource group named it, a later one does not`, { resource: state.id });
    await recorder.record('step.failed', { step: 'snapshot', snapshotId: state.id, error: state.error.toRecord(), requestIds }, target);
  };
  // Adopted snapshots that had already finished are settled without a request.
  for (const state of states.filter((s) => s.status === 'adopted' && str(at(s.raw, 'properties', 'provisioningState')) === 'Succeeded')) await settle(state, state.raw!, state.requestIds ?? []);
  const deadline = options.now() + options.timeoutMs;
  // Per group: its last listing, throttled past the SDK's retries, counted as one failed poll.
  const throttled = new Map<string, unknown>();
  while (pending().length > 0) {
    if (options.now() > deadline) {
      // A group still throttled at the limit: its listing's failure is what cut the wait, said once.
      for (const group of groupsOf(pending().map((s) => s.plan))) {
        const error = throttled.get(groupKey(group));
        if (error !== undefined) await unreadable(group, pending().filter((s) => groupKey(s.plan) === groupKey(group)), error);
      }
      return giveUp((state) => new CustodyError('E_TIMEOUT', `snapshot ${state.id} did not finish within ${options.timeoutMs} ms`, { resource: state.id, retryable: true }));
    }
    if (!(await pauseUnlessStopped(options.sleep, options.intervalMs, options.signal))) return giveUp(stopped);
    for (const group of groupsOf(pending().map((s) => s.plan))) {
      const inGroup = () => pending().filter((s) => groupKey(s.plan) === groupKey(group));
      let listed: { snapshots: Map<string, ListedSnapshot>; requestIds: string[] };
      try {
        listed = await listGroup(clients, group, options.signal);
      } catch (error) {
        if (isStopSignal(error)) throw error;
        // Cut off by the stop: the same as a stop at the pause.
        if (options.signal?.aborted) return giveUp(stopped);
        // Throttled: one failed poll, the next round lists the group again, until the wait's limit.
        if ((error as CustodyError).code === 'E_THROTTLED') {
          throttled.set(groupKey(group), error);
          continue;
        }
        await unreadable(group, inGroup(), error);
        continue;
      }
      throttled.delete(groupKey(group));
      for (const state of inGroup()) {
        const found = listed.snapshots.get(resourceKey(state.id));
        if (found) {
          listedBefore.add(state);
          await settle(state, found.raw, found.requestIds);
        } else if (listedBefore.has(state)) await vanished(state, listed.requestIds);
      }
    }
  }
}
