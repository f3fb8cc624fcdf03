/**
 * One waiter per account and region: a single loop polls DescribeSnapshots for every pending
 * snapshot at once (filtered by id, so a vanished id does not fail the whole call), backing off
 * between polls. Never one poller per snapshot: 400 pending snapshots cost one call per round.
 *
 * Completion is noticed promptly without polling faster: each poll's `Progress` and `StartTime`
 * give every pending snapshot an expected completion time, and the next poll comes no later than
 * the earliest of them (but never sooner than MIN_DELAY_MS after the last). A snapshot that
 * joins while the loop sleeps long wakes it, so it is first checked after `initialDelayMs`, not
 * after the remainder of a backoff meant for older ones.
 */
import { DescribeSnapshotsCommand, type Snapshot } from '@aws-sdk/client-ec2';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { awsErrorText } from './call-aws.js';
import type { Clock } from './clock.js';
import type { AwsOperationName } from './operations.js';
import type { ScopeCaller } from './scope.js';

export interface WaitSettings {
  /** First pause before polling, and after a new snapshot joins. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up on a snapshot after this long (config `aws.snapshotTimeoutSeconds`). */
  timeoutMs: number;
  /** A just-created snapshot may not be listed yet (eventual consistency): how long to allow. */
  notFoundGraceMs: number;
}

export const DEFAULT_WAIT: Omit<WaitSettings, 'timeoutMs'> = { initialDelayMs: 1_000, maxDelayMs: 30_000, notFoundGraceMs: 60_000 };

const MAX_IDS = 200;
// The closest two polls come, whatever the estimates say (one call per account and region).
const MIN_DELAY_MS = 500;
// Gentle: one poll serves every pending snapshot of the scope, so polling is cheap, and a steep
// backoff would notice a completed snapshot long after it completed.
const BACKOFF = 1.25;

interface Pending {
  snapshotId: string;
  addedAt: number;
  onProgress: Array<(fraction: number, snapshot: Snapshot) => void>;
  resolve: Array<(s: Snapshot & { requestId?: string }) => void>;
  reject: Array<(e: unknown) => void>;
}

export interface CompletedSnapshot {
  snapshot: Snapshot;
  /** The request id of the poll that saw it complete. */
  requestId: string | undefined;
}

/**
 * The error of a wait that ended before its snapshot did — the run was stopped, the wait's time
 * limit passed, DescribeSnapshots could not be read, or the provider closed — as opposed to the
 * snapshot ending (error state, vanished), which is a plain `CustodyError`. EC2 goes on making a
 * snapshot whose wait was cut, and a resume adopts it: the chain's step says so (`leftInAws`).
 * Its ledger record is a `CustodyError`'s (code, message, ids), nothing more.
 */
export class SnapshotWaitCut extends CustodyError {
  /** The failure that cut the wait, as one: a `CustodyError`'s code, message and ids are kept. */
  static from(error: unknown): SnapshotWaitCut {
    if (error instanceof SnapshotWaitCut) return error;
    if (!isCustodyError(error)) return new SnapshotWaitCut('E_CLOUD', awsErrorText(error), { cause: error });
    return new SnapshotWaitCut(error.code, error.message, {
      cause: error.cause ?? error,
      retryable: error.retryable,
      ...(error.action !== undefined ? { action: error.action } : {}),
      ...(error.resource !== undefined ? { resource: error.resource } : {}),
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
    });
  }
}

/** Whether `error` ended a wait while its snapshot may still be being made (a resume adopts it). */
export function isWaitCut(error: unknown): error is SnapshotWaitCut {
  return error instanceof SnapshotWaitCut;
}

export class SnapshotWaiter {
  private readonly pending = new Map<string, Pending>();
  private running = false;
  private round = 0;
  /** Polls made, for tests and the benchmark. */
  polls = 0;
  private closed = false;
  /** The earliest expected completion among pending snapshots (from the last poll), if any. */
  private expectedAt: number | undefined;
  /** Wakes the loop's sleep early; set while it sleeps. */
  private wake: { controller: AbortController; until: number } | undefined;

  constructor(
    private readonly caller: ScopeCaller,
    private readonly clock: Clock,
    private readonly settings: WaitSettings,
    private readonly op: AwsOperationName,
  ) {}

  /**
   * Resolves when `snapshotId` is `completed`. Rejects when the snapshot ends (`error` state,
   * disappearance), or with a `SnapshotWaitCut` when the wait ends first: timeout, unreadable, or
   * `signal` aborts (the snapshot itself carries on in AWS; a resumed run adopts it).
   */
  wait(snapshotId: string, onProgress?: (fraction: number, snapshot: Snapshot) => void, signal?: AbortSignal): Promise<CompletedSnapshot> {
    return new Promise<CompletedSnapshot>((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelled(snapshotId));
        return;
      }
      // A closed waiter polls no more: a wait it took now would never settle.
      if (this.closed) {
        reject(new SnapshotWaitCut('E_CLOUD', `the provider was closed before the wait for ${snapshotId} began`));
        return;
      }
      let entry = this.pending.get(snapshotId);
      if (!entry) {
        entry = { snapshotId, addedAt: this.clock.now(), onProgress: [], resolve: [], reject: [] };
        this.pending.set(snapshotId, entry);
        // A newcomer should not wait out a long backoff meant for old snapshots.
        this.round = 0;
        if (this.wake && this.wake.until - this.clock.now() > this.settings.initialDelayMs) this.wake.controller.abort();
      }
      const e = entry;
      const onResolve = (s: Snapshot & { requestId?: string }) => {
        signal?.removeEventListener('abort', onAbort);
        const { requestId, ...snapshot } = s;
        resolve({ snapshot, requestId });
      };
      const onReject = (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = () => {
        e.resolve = e.resolve.filter((r) => r !== onResolve);
        e.reject = e.reject.filter((r) => r !== onReject);
        if (onProgress) e.onProgress = e.onProgress.filter((p) => p !== onProgress);
        if (e.resolve.length === 0 && this.pending.get(snapshotId) === e) this.pending.delete(snapshotId);
        reject(cancelled(snapshotId));
      };
      if (onProgress) e.onProgress.push(onProgress);
      e.resolve.push(onResolve);
      e.reject.push(onReject);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.running) void this.loop();
    });
  }

  close(): void {
    this.closed = true;
    this.wake?.controller.abort();
    const error = new SnapshotWaitCut('E_CLOUD', 'the provider was closed while snapshots were still pending');
    for (const entry of this.pending.values()) for (const r of entry.reject) r(error);
    this.pending.clear();
  }

  private settle(entry: Pending, outcome: { snapshot: Snapshot; requestId: string | undefined } | { error: unknown }): void {
    this.pending.delete(entry.snapshotId);
    if ('error' in outcome) for (const r of entry.reject) r(outcome.error);
    else for (const r of entry.resolve) r({ ...outcome.snapshot, ...(outcome.requestId ? { requestId: outcome.requestId } : {}) });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.size > 0 && !this.closed) {
        const woken = await this.sleep(this.nextDelay());
        if (this.closed) break;
        if (woken) continue; // a newcomer: the round was reset, sleep the first delay from now
        await this.pollOnce();
      }
    } finally {
      this.running = false;
    }
  }

  /** The backoff delay, brought forward to the earliest expected completion. */
  private nextDelay(): number {
    const backoff = Math.min(this.settings.maxDelayMs, this.settings.initialDelayMs * BACKOFF ** this.round);
    this.round += 1;
    if (this.expectedAt === undefined) return backoff;
    const until = this.expectedAt - this.clock.now();
    // Already overdue (progress is not linear on real EBS): back to the plain backoff.
    if (until <= 0) return backoff;
    return Math.min(backoff, Math.max(MIN_DELAY_MS, until));
  }

  /** Sleeps `ms`; true when a newcomer woke it early. */
  private async sleep(ms: number): Promise<boolean> {
    const controller = new AbortController();
    this.wake = { controller, until: this.clock.now() + ms };
    try {
      await this.clock.sleep(ms, controller.signal);
      return false;
    } catch {
      return true;
    } finally {
      this.wake = undefined;
    }
  }

  private async pollOnce(): Promise<void> {
    this.expectedAt = undefined;
    const entries = [...this.pending.values()];
    const { account, region } = this.caller.id;
    for (let i = 0; i < entries.length; i += MAX_IDS) {
      const chunk = entries.slice(i, i + MAX_IDS);
      const ids = chunk.map((e) => e.snapshotId);
      let snapshots: Snapshot[];
      let requestId: string | undefined;
      try {
        const result = await this.caller.ec2(
          this.op,
          new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ids }] }),
          `snapshots ${ids.join(', ')} in ${account} ${region}`,
        );
        this.polls += 1;
        snapshots = result.output.Snapshots ?? [];
        requestId = result.requestId;
      } catch (error) {
        // Throttling and server errors pass (until a snapshot's own deadline); anything else
        // (denied, bad credentials) ends the wait.
        if (isCustodyError(error) && (error.code === 'E_THROTTLED' || error.retryable)) {
          const now = this.clock.now();
          for (const entry of chunk) {
            if (now - entry.addedAt > this.settings.timeoutMs) {
              this.settle(entry, { error: new SnapshotWaitCut('E_TIMEOUT', `snapshot ${entry.snapshotId} could not be checked before its deadline: ${error.message}`, { resource: entry.snapshotId, cause: error, retryable: true }) });
            }
          }
          continue;
        }
        const cut = SnapshotWaitCut.from(error);
        for (const entry of chunk) this.settle(entry, { error: cut });
        continue;
      }
      const now = this.clock.now();
      const byId = new Map(snapshots.map((s) => [s.SnapshotId, s]));
      for (const entry of chunk) {
        const s = byId.get(entry.snapshotId);
        if (!s) {
          if (now - entry.addedAt > this.settings.notFoundGraceMs) {
            this.settle(entry, {
              error: new CustodyError('E_NOT_FOUND', `snapshot ${entry.snapshotId} vanished while waiting for it in ${account} ${region}`, {
                resource: entry.snapshotId,
                action: 'ec2:DescribeSnapshots',
              }),
            });
          }
          continue;
        }
        if (s.State === 'completed') {
          for (const p of entry.onProgress) p(1, s);
          this.settle(entry, { snapshot: s, requestId });
        } else if (s.State === 'error' || s.State === 'recoverable' || s.State === 'recovering') {
          this.settle(entry, {
            error: new CustodyError('E_CLOUD', `snapshot ${entry.snapshotId} failed: state ${s.State}${s.StateMessage ? ` (${s.StateMessage})` : ''}`, {
              resource: entry.snapshotId,
              requestId,
            }),
          });
        } else if (now - entry.addedAt > this.settings.timeoutMs) {
          this.settle(entry, {
            error: new SnapshotWaitCut('E_TIMEOUT', `snapshot ${entry.snapshotId} was still ${s.State ?? 'pending'} (${s.Progress ?? '?'}) after ${Math.round(this.settings.timeoutMs / 1000)} s`, {
              resource: entry.snapshotId,
              retryable: true,
            }),
          });
        } else {
          const fraction = parseProgress(s.Progress);
          for (const p of entry.onProgress) p(fraction, s);
          const expected = expectedCompletion(s, fraction, now);
          if (expected !== undefined && (this.expectedAt === undefined || expected < this.expectedAt)) this.expectedAt = expected;
        }
      }
    }
  }
}

/**
 * The run stopped while `snapshotId` was pending. Says what cut the wait, as the other cuts do:
 * that the snapshot carries on in AWS and a resume adopts it is the chain step's `leftInAws`,
 * said once beside it (in the entry and in the target's reason).
 */
function cancelled(snapshotId: string): SnapshotWaitCut {
  return new SnapshotWaitCut('E_CLOUD', `stopped waiting for ${snapshotId}: the run was cancelled`, {
    resource: snapshotId,
  });
}

/**
 * When a pending snapshot should complete if it keeps its pace so far: start + elapsed / fraction.
 * Undefined without a start time or any progress yet.
 */
function expectedCompletion(s: Snapshot, fraction: number, now: number): number | undefined {
  const start = s.StartTime?.getTime();
  if (start === undefined || !Number.isFinite(start) || fraction <= 0 || now <= start) return undefined;
  return start + (now - start) / fraction;
}

function parseProgress(progress: string | undefined): number {
  const n = progress ? Number.parseFloat(progress) : Number.NaN;
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n / 100)) : 0;
}
