/**
 * The lab's knobs: latency, EC2 throttling, injected faults, scheduled terminations, session
 * expiry, and a count of every call by account and action (the benchmark's calls per volume).
 */
import { LabAwsError, requestLimitExceeded, type ServiceName } from './errors.js';
import type { LabClock } from './clock.js';
import type { LabState } from './state.js';
import { ec2BucketFor, TokenBucket } from './token-bucket.js';
import { CallHolds, type CallHold } from '../call-holds.js';

export interface FaultSpec {
  /** `ec2:CreateSnapshots`, `sts:AssumeRole`, `kms:DescribeKey`. */
  action: string;
  /** How many of the next matching calls fail. */
  count?: number;
  /** The AWS error code to answer with, e.g. `InternalError`, `Unavailable`. */
  code: string;
  status?: number;
  message?: string;
  /** Only calls made in this account. */
  account?: string;
  /** How many matching calls are served first, before the faults begin (default 0). */
  skip?: number;
}

/** The instance attributes `--preserve` changes. */
export type InstanceAttributeName = 'disableApiTermination' | 'blockDeviceMapping';

export interface TerminationSchedule {
  /** At this lab time (epoch ms). */
  at?: number;
  /** After this many lab ms from now. */
  afterMs?: number;
  /** Just before the Nth call (1-based) of this action is served, e.g. `{ action: 'ec2:CreateSnapshots', n: 1 }`. */
  onCall?: { action: string; n: number };
}

export interface LatencySpec {
  defaultMs?: number;
  /** Per action (`ec2:DescribeSnapshots`), in real ms. */
  perAction?: Record<string, number>;
}

/** `{ [account]: { [action]: calls } }`, every call received (retries and refusals included). */
export type CallCounts = Record<string, Record<string, number>>;

export interface RequestInfo {
  service: ServiceName;
  /** `ec2:DescribeInstances` */
  action: string;
  account: string;
  region: string;
  /** For EC2 Describe*: whether ids, filters or paging were given. */
  filtered: boolean;
}

interface PendingTermination {
  instanceId: string;
  at?: number;
  onCall?: { action: string; n: number; seen: number };
}

export class LabControl {
  private latency: Required<LatencySpec> = { defaultMs: 0, perAction: {} };
  private throttlingOn = true;
  private readonly buckets = new Map<string, TokenBucket>();
  private faults: Array<FaultSpec & { remaining: number; skipping: number }> = [];
  private readonly holds = new CallHolds();
  private terminations: PendingTermination[] = [];
  private readonly ignoredChanges = new Map<string, InstanceAttributeName[]>();
  private readonly sharesIgnoredIn = new Set<string>();
  private counts: CallCounts = {};
  private throttledCount = 0;
  private clockSkewMs: number | undefined;
  private readonly skewRefused = new Map<string, number>();

  constructor(
    private readonly state: LabState,
    readonly clock: LabClock,
  ) {}

  /** Adds latency to every response: a constant, or per action. Real milliseconds. */
  setLatency(spec: number | LatencySpec): void {
    this.latency =
      typeof spec === 'number'
        ? { defaultMs: spec, perAction: {} }
        : { defaultMs: spec.defaultMs ?? 0, perAction: spec.perAction ?? {} };
  }

  latencyFor(action: string): number {
    return this.latency.perAction[action] ?? this.latency.defaultMs;
  }

  /** Switches EC2's token-bucket throttling on (the default) or off. Turning it on refills. */
  setThrottling(on: boolean): void {
    this.throttlingOn = on;
    this.buckets.clear();
  }

  /** The next `count` (default 1) calls of `action` fail with `code`. */
  failNext(fault: FaultSpec): void {
    this.faults.push({ ...fault, remaining: fault.count ?? 1, skipping: fault.skip ?? 0 });
  }

  /** Holds the next call of `action` (`ec2:GetConsoleOutput`) before it is served (call-holds.ts). */
  holdNext(action: string): CallHold {
    return this.holds.holdNext(action);
  }

  /** Waits while a `holdNext` of this action is set. */
  heldUntilReleased(action: string): Promise<void> {
    return this.holds.heldUntilReleased(action);
  }

  /**
   * From now on, ModifyInstanceAttribute on this instance answers `return true` as EC2 does but
   * leaves these attributes as they were (default: both `--preserve` changes): the silent
   * failure only a read-back can tell.
   */
  ignoreAttributeChanges(instanceId: string, attributes: InstanceAttributeName[] = ['disableApiTermination', 'blockDeviceMapping']): void {
    if (!this.state.findInstance(instanceId)) throw new Error(`no instance ${instanceId} in the lab`);
    this.ignoredChanges.set(instanceId, attributes);
  }

  /** The attribute changes this instance silently ignores (none unless `ignoreAttributeChanges`). */
  ignoresAttributeChanges(instanceId: string): readonly InstanceAttributeName[] {
    return this.ignoredChanges.get(instanceId) ?? [];
  }

  /**
   * From now on, ModifySnapshotAttribute on this account's snapshots answers `return true` as
   * EC2 does but grants nothing: the share only a read-back (DescribeSnapshotAttribute) can tell
   * did not happen. By account, since the snapshots a case shares are made during the case;
   * `ignore: false` ends it.
   */
  ignoreSnapshotShares(account: string, ignore = true): void {
    if (ignore) this.sharesIgnoredIn.add(account);
    else this.sharesIgnoredIn.delete(account);
  }

  /** Whether ModifySnapshotAttribute in this account silently grants nothing (`ignoreSnapshotShares`). */
  ignoresSnapshotShares(account: string): boolean {
    return this.sharesIgnoredIn.has(account);
  }

  /** Terminates an instance now, at a lab time, or just before the Nth call of an action. */
  terminateInstance(instanceId: string, when: TerminationSchedule = {}): void {
    if (!this.state.findInstance(instanceId)) throw new Error(`no instance ${instanceId} in the lab`);
    if (when.onCall) {
      this.terminations.push({ instanceId, onCall: { ...when.onCall, seen: 0 } });
    } else if (when.at !== undefined || when.afterMs !== undefined) {
      this.terminations.push({ instanceId, at: when.at ?? this.clock.now() + (when.afterMs ?? 0) });
    } else {
      this.state.terminateInstance(instanceId);
    }
  }

  /** Expires every STS session now; returns how many were live. */
  expireSessions(): number {
    return this.state.expireAllSessions();
  }

  /** Every call so far, by account and action. */
  calls(): CallCounts {
    return structuredClone(this.counts);
  }

  /** Total calls of one action (`ec2:CreateSnapshots`) or of all actions, across accounts. */
  totalCalls(action?: string): number {
    let total = 0;
    for (const byAction of Object.values(this.counts)) {
      for (const [name, count] of Object.entries(byAction)) if (!action || name === action) total += count;
    }
    return total;
  }

  /** How many calls were refused with RequestLimitExceeded. */
  throttled(): number {
    return this.throttledCount;
  }

  resetCalls(): void {
    this.counts = {};
    this.throttledCount = 0;
    this.skewRefused.clear();
  }

  /**
   * AWS's clock runs `ms` ahead of this machine's (negative: behind it), as when the collector's
   * clock is off: every answer is dated with AWS's time (the `Date` an SDK corrects its clock
   * from), and a request signed further off it than its service allows (5 or 15 minutes) is refused
   * as that service refuses it.
   * `undefined`, the default: signing times are not checked and answers are dated as Node dates them.
   */
  setClockSkew(ms: number | undefined): void {
    this.clockSkewMs = ms;
  }

  /** AWS's time now, when a clock skew is set. */
  awsTime(): number | undefined {
    return this.clockSkewMs === undefined ? undefined : Date.now() + this.clockSkewMs;
  }

  /** Counts a request refused for its signing time (by service), for tests to see the path was taken. */
  refusedForSkew(service: string): void {
    this.skewRefused.set(service, (this.skewRefused.get(service) ?? 0) + 1);
  }

  /** Requests refused for their signing time since the last reset, by service. */
  skewRefusals(): Record<string, number> {
    return Object.fromEntries(this.skewRefused);
  }

  /**
   * Runs before a handler: counts the call, applies due terminations, then answers with an
   * injected fault or a throttle if one applies.
   */
  admit(info: RequestInfo): LabAwsError | undefined {
    const byAction = (this.counts[info.account] ??= {});
    byAction[info.action] = (byAction[info.action] ?? 0) + 1;
    this.applyTerminations(info.action);

    const fault = this.faults.find(
      (f) => f.remaining > 0 && f.action === info.action && (!f.account || f.account === info.account),
    );
    if (fault && fault.skipping > 0) {
      fault.skipping -= 1;
    } else if (fault) {
      fault.remaining -= 1;
      this.faults = this.faults.filter((f) => f.remaining > 0);
      return new LabAwsError(fault.code, fault.message ?? `Injected fault: ${fault.code}`, fault.status ?? 500);
    }

    if (this.throttlingOn && info.service === 'ec2') {
      const operation = info.action.slice('ec2:'.length);
      const bucket = ec2BucketFor(operation, info.filtered);
      const key = `${info.account}|${info.region}|${bucket.name}`;
      let tokens = this.buckets.get(key);
      if (!tokens) {
        tokens = new TokenBucket(bucket.spec, () => this.clock.now());
        this.buckets.set(key, tokens);
      }
      if (!tokens.tryTake()) {
        this.throttledCount += 1;
        return requestLimitExceeded('ec2');
      }
    }
    return undefined;
  }

  private applyTerminations(action: string): void {
    const now = this.clock.now();
    this.terminations = this.terminations.filter((pending) => {
      let due = pending.at !== undefined && pending.at <= now;
      if (pending.onCall && pending.onCall.action === action) {
        pending.onCall.seen += 1;
        due = pending.onCall.seen >= pending.onCall.n;
      }
      if (due) this.state.terminateInstance(pending.instanceId);
      return !due;
    });
  }
}
