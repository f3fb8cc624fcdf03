/**
 * The case as a set of volumes: each EBS volume is snapshotted once per case, by whichever
 * target claims it first. An instance claims its volumes once it has described them (one
 * CreateSnapshots for all of them, crash-consistent); a volume target whose volume is already
 * claimed — or attached to an instance of this case that is being collected and has not decided
 * yet — waits for that chain instead of taking a second snapshot that the manifest would merge
 * away. An instance whose volume a volume target already claimed leaves it out of its
 * CreateSnapshots and waits for that chain in turn.
 */
import type { CaseHistory } from '../../core/case-history.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import type { LedgerEntry } from '../../core/ports.js';
import type { ChainResult } from './volume-chain.js';

export interface VolumeClaim {
  /** The target (ARN) whose chain snapshots the volume. */
  by: string;
  /** Settles when that chain ends, done or not. */
  result: Promise<ChainResult>;
}

interface OpenClaim extends VolumeClaim {
  settle(result: ChainResult): void;
  settled: boolean;
}

export class VolumePlan {
  private readonly claims = new Map<string, OpenClaim>();
  /** The keys of each target's claims not settled yet: ending a target looks at its own only. */
  private readonly openBy = new Map<string, Set<string>>();
  /** Instances being collected that have not claimed their volumes yet. */
  private readonly deciding = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  /** An instance target started: volume targets attached to it wait for its claims. */
  instanceStarted(instanceArn: string): void {
    if (this.deciding.has(instanceArn)) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.deciding.set(instanceArn, { promise, resolve });
  }

  /** The instance claimed what it will snapshot (or gave up before): waiters may look again. */
  instanceDecided(instanceArn: string): void {
    const decision = this.deciding.get(instanceArn);
    this.deciding.delete(instanceArn);
    decision?.resolve();
  }

  /**
   * Claims `volumeKey` for `by`, or returns the claim of the target that holds it already.
   * A target's own earlier claim (a retry) is given back to it as its own.
   */
  claim(volumeKey: string, by: string): { own: true } | { own: false; claim: VolumeClaim } {
    const existing = this.claims.get(volumeKey);
    if (existing && existing.by !== by) return { own: false, claim: existing };
    if (existing && !existing.settled) return { own: true };
    let settle!: (result: ChainResult) => void;
    const result = new Promise<ChainResult>((r) => (settle = r));
    const claim: OpenClaim = {
      by,
      result,
      settled: false,
      settle: (r) => {
        if (claim.settled) return;
        claim.settled = true;
        const open = this.openBy.get(by);
        open?.delete(volumeKey);
        if (open?.size === 0) this.openBy.delete(by);
        settle(r);
      },
    };
    this.claims.set(volumeKey, claim);
    const open = this.openBy.get(by) ?? new Set<string>();
    open.add(volumeKey);
    this.openBy.set(by, open);
    return { own: true };
  }

  /** The claim on `volumeKey` in this run, if any target made one. */
  current(volumeKey: string): VolumeClaim | undefined {
    return this.claims.get(volumeKey);
  }

  /** Ends `by`'s claim on `volumeKey` with its chain's result (first call wins). */
  settle(volumeKey: string, by: string, result: ChainResult): void {
    const claim = this.claims.get(volumeKey);
    if (claim && claim.by === by) claim.settle(result);
  }

  /** Ends every claim of `by` still open (its collection ended without a chain for them). */
  settleRemaining(by: string, notDone: (volumeKey: string) => ChainResult): void {
    // Its own open claims only: a scan of every claim per target was quadratic in the case.
    for (const key of [...(this.openBy.get(by) ?? [])]) {
      const claim = this.claims.get(key);
      if (claim && claim.by === by && !claim.settled) claim.settle(notDone(key));
    }
  }

  /**
   * The claim that covers `volumeKey` for a volume target: another target's claim, or — when the
   * volume is attached to an instance of this case still deciding — that instance's claim once
   * it decided. Undefined: nobody else snapshots it; the caller claims it.
   */
  async coveringClaim(volumeKey: string, by: string, attachedInstanceArn: string | undefined): Promise<VolumeClaim | undefined> {
    const now = this.claims.get(volumeKey);
    if (now && now.by !== by) return now;
    const deciding = attachedInstanceArn ? this.deciding.get(attachedInstanceArn) : undefined;
    if (deciding) await deciding.promise;
    const after = this.claims.get(volumeKey);
    return after && after.by !== by ? after : undefined;
  }
}

/** The key a volume is planned under: account, region and id. */
export function volumeKeyOf(account: string, region: string, volumeId: string): string {
  return `${account}/${region}/${volumeId}`;
}

/**
 * Which target of the case requested (or adopted) a source snapshot of each volume in earlier
 * runs, by volume key: on a resume that target still holds the volume, so no other target of
 * the case snapshots it again.
 */
export function earlierSourceHolders(history: CaseHistory): ReadonlyMap<string, string> {
  return history.derived('aws.sourceHolders', () => new Map<string, string>(), addSourceHolder);
}

function addSourceHolder(holders: Map<string, string>, entry: LedgerEntry): void {
  if (!entry.target) return;
  const d = entry.data;
  let volumeIds: unknown[];
  if (entry.type === LEDGER_EVENTS.snapshotRequested && (d.operation === 'CreateSnapshots' || d.operation === 'CreateSnapshot')) {
    volumeIds = Array.isArray(d.volumeIds) ? d.volumeIds : [d.volumeId];
  } else if (entry.type === LEDGER_EVENTS.snapshotAdopted && d.role === 'source') {
    volumeIds = [d.volumeId];
  } else {
    return;
  }
  const scope = accountAndRegionOf(entry.target);
  if (!scope) return;
  for (const volumeId of volumeIds) {
    if (typeof volumeId !== 'string') continue;
    const key = volumeKeyOf(scope.account, scope.region, volumeId);
    if (!holders.has(key)) holders.set(key, entry.target);
  }
}

function accountAndRegionOf(arn: string): { account: string; region: string } | undefined {
  const [, , service, region, account] = arn.split(':');
  return service === 'ec2' && region && account ? { account, region } : undefined;
}

/**
 * What the ledger says about the chain of a volume another target holds since an earlier run:
 * the ids the manifest merged for the volume's evidence id, and done when the chain reached the
 * end the config asks for (copy: the forensics copy completed, and locked if locking is on;
 * share: shared; in-place: the snapshot completed).
 */
export function ledgerChainResult(
  history: CaseHistory,
  volumeId: string,
  evidenceId: string,
  aws: { transfer: 'copy' | 'share' | 'in-place'; lock?: unknown },
): ChainResult {
  // Every artefact record of an evidence id merged, as the manifest merges them.
  const merged = history.derived('aws.artifactIds', () => new Map<string, Record<string, string>>(), (byId, e) => {
    if (e.type !== LEDGER_EVENTS.artifactRecorded || typeof e.data.evidenceId !== 'string') return;
    const ids = byId.get(e.data.evidenceId) ?? {};
    for (const [k, v] of Object.entries((e.data.cloudIds as Record<string, unknown> | undefined) ?? {})) if (typeof v === 'string') ids[k] = v;
    byId.set(e.data.evidenceId, ids);
  });
  const cloudIds: Record<string, string> = { ...merged.get(evidenceId) };
  const states = history.derived('aws.snapshotStates', () => ({ completed: new Set<string>(), shared: new Set<string>(), locked: new Set<string>() }), (st, entry) => {
    const id = entry.data.snapshotId;
    if (typeof id !== 'string') return;
    if (entry.type === 'snapshot.completed' || (entry.type === LEDGER_EVENTS.snapshotAdopted && entry.data.state === 'completed')) st.completed.add(id);
    if (entry.type === 'snapshot.shared') st.shared.add(id);
    if (entry.type === LEDGER_EVENTS.snapshotLocked) st.locked.add(id);
  });
  const { completed, shared, locked } = states;
  const { snapshotId, reencryptedSnapshotId, forensicsSnapshotId } = cloudIds;
  const done =
    aws.transfer === 'in-place'
      ? snapshotId !== undefined && completed.has(snapshotId)
      : aws.transfer === 'share'
        ? shared.has(reencryptedSnapshotId ?? snapshotId ?? '')
        : forensicsSnapshotId !== undefined && completed.has(forensicsSnapshotId) && (!aws.lock || locked.has(forensicsSnapshotId));
  return { volumeId, done, cloudIds };
}
