/**
 * The benchmark's floors: the shortest times any collector could take in the same lab, computed
 * from the same run's latency, snapshot duration, the calls the work needs, and EC2's limits.
 *
 * Every volume's work is a dependency chain of steps: a call costs one latency (L), a snapshot or
 * copy completing costs the lab's completion time (D).
 *
 *   in-place:        AssumeRole → DescribeInstances → CreateSnapshots → (D) → DescribeSnapshots
 *   copy, share key: … → DescribeSnapshots → ModifySnapshotAttribute → DescribeSnapshotAttribute
 *                    → CopySnapshot (forensics) → (D) → DescribeSnapshots
 *   copy, aws/ebs:   … → DescribeSnapshots → CopySnapshot (re-encrypt, source account) → (D)
 *                    → DescribeSnapshots → ModifySnapshotAttribute → DescribeSnapshotAttribute
 *                    → CopySnapshot (forensics) → (D) → DescribeSnapshots
 *
 * (DescribeSnapshotAttribute reads the share back, so the ledger records what EC2 reports; the
 * copy waits for it.)
 *
 * For a step S, lead(S) is the chain's time before S is sent and tail(S) the time from sending S
 * to the end (both the minimum over the chains that contain S: a lower bound).
 *
 *   requested = max over source accounts of
 *               lead(CreateSnapshots) + max(bucket drain, (waves − 1) × D) + L
 *               bucket drain = max(0, CreateSnapshots needed − capacity) / refill per s
 *               waves        = ceil(volumes / pending-snapshot limit): EC2 refuses a snapshot
 *                              while the account already has that many pending, so each further
 *                              hundred waits for one completion time
 *               and at least the collector CPU budget: targets × the 4 ms per target the CPU goal
 *               allows, on one core (a collector meeting the CPU goal still spends that before
 *               its last request; the cloud-only floors are reported too)
 *   total     = max(chain, requested + tail(CreateSnapshots) − L, buckets, copies)
 *   chain     = the longest chain any volume needs
 *   buckets   = max over accounts and EC2 bucket classes of lead + drain + tail of the first step
 *               that uses the bucket (so the first call's start and the last call's completion
 *               both count)
 *   copies    = max over destination accounts of
 *               lead(CopySnapshot) + (ceil(copies / concurrent copies) − 1) × D + tail(CopySnapshot)
 *
 * Calls needed (not made: throttled retries are the collector's cost, not the floor's): per source
 * account one DescribeInstances and one CreateSnapshots per instance; when copying, also one
 * re-encrypting CopySnapshot per aws/ebs volume, one ModifySnapshotAttribute and one
 * DescribeSnapshotAttribute per volume, and one CopySnapshot per volume in the forensics account. DescribeSnapshots polling is left out of
 * the buckets: the minimum (one batched call per account per round) never drains one.
 */
import { ec2BucketFor } from '../src/lab/aws/token-bucket.js';

export type Transfer = 'in-place' | 'copy';

/** Issue 9's CPU goal per target; the floors count it as the least CPU a collector spends. */
export const CPU_GOAL_MS_PER_TARGET = 4;

export interface InstanceShape {
  account: string;
  volumes: Array<{ awsEbs: boolean }>;
}

export interface FloorInput {
  transfer: Transfer;
  latencyMs: number;
  /** Lab ms for a snapshot (or a copy) to complete. */
  snapshotDurationMs: number;
  forensicsAccount: string;
  instances: readonly InstanceShape[];
  /** EC2's concurrent copies per destination region (20). */
  concurrentCopies?: number;
  /** EC2's pending snapshots per account and region (100). */
  pendingSnapshots?: number;
  /**
   * The collector's CPU the goal allows for the whole run (targets × 4 ms), on one core: no
   * collector meeting the CPU goal requests the last snapshot sooner. 0 leaves it out.
   */
  cpuBudgetMs?: number;
}

export interface Floor {
  /** Until the last CreateSnapshots has answered. */
  requestedMs: number;
  /** The same, from the cloud's side alone (no CPU budget). */
  cloudRequestedMs: number;
  /** The whole collection, from the cloud's side alone (no CPU budget). */
  cloudFloorMs: number;
  cpuBudgetMs: number;
  /** The whole collection. */
  floorMs: number;
  chainMs: number;
  chainSteps: string[];
  bucketMs: number;
  copiesMs: number;
  busiest?: string;
  formula: string;
}

type Where = 'source' | 'forensics';
type Step = { call: string; where: Where } | { wait: true };

const WAIT: Step = { wait: true };
const call = (action: string, where: Where = 'source'): Step => ({ call: action, where });

/** The dependency chains of one volume (see the module comment). */
export function chainsFor(transfer: Transfer, awsEbs: boolean): Step[] {
  const inPlace = [call('sts:AssumeRole'), call('ec2:DescribeInstances'), call('ec2:CreateSnapshots'), WAIT, call('ec2:DescribeSnapshots')];
  if (transfer === 'in-place') return inPlace;
  const share = [call('ec2:ModifySnapshotAttribute'), call('ec2:DescribeSnapshotAttribute'), call('ec2:CopySnapshot', 'forensics'), WAIT, call('ec2:DescribeSnapshots', 'forensics')];
  if (!awsEbs) return [...inPlace, ...share];
  return [...inPlace, call('ec2:CopySnapshot'), WAIT, call('ec2:DescribeSnapshots'), ...share];
}

function stepName(step: Step): string {
  return 'wait' in step ? '(completes)' : `${step.call}${step.where === 'forensics' ? ' (forensics)' : ''}`;
}

/** EC2 calls the work needs, per account and action (see the module comment). */
export function neededCalls(transfer: Transfer, forensicsAccount: string, instances: readonly InstanceShape[]): Map<string, Map<string, number>> {
  const needed = new Map<string, Map<string, number>>();
  const add = (account: string, action: string, n: number) => {
    const perAccount = needed.get(account) ?? new Map<string, number>();
    perAccount.set(action, (perAccount.get(action) ?? 0) + n);
    needed.set(account, perAccount);
  };
  for (const account of new Set(instances.map((i) => i.account))) add(account, 'DescribeInstances', 1);
  for (const instance of instances) {
    add(instance.account, 'CreateSnapshots', 1);
    if (transfer === 'copy') {
      add(instance.account, 'CopySnapshot', instance.volumes.filter((v) => v.awsEbs).length);
      add(instance.account, 'ModifySnapshotAttribute', instance.volumes.length);
      add(instance.account, 'DescribeSnapshotAttribute', instance.volumes.length);
      add(forensicsAccount, 'CopySnapshot', instance.volumes.length);
    }
  }
  return needed;
}

/** Computes the floors; see the module comment for the formulas. */
export function computeFloor(input: FloorInput): Floor {
  const L = input.latencyMs;
  const D = input.snapshotDurationMs;
  const slots = input.concurrentCopies ?? 20;
  const pendingLimit = input.pendingSnapshots ?? 100;
  const cost = (s: Step) => ('wait' in s ? D : L);
  const anyAwsEbs = input.instances.some((i) => i.volumes.some((v) => v.awsEbs));
  const chains = input.transfer === 'copy' ? [chainsFor('copy', false), ...(anyAwsEbs ? [chainsFor('copy', true)] : [])] : [chainsFor('in-place', false)];
  const total = (steps: Step[]) => steps.reduce((n, s) => n + cost(s), 0);
  const longest = chains.reduce((a, b) => (total(b) > total(a) ? b : a));
  const chainMs = total(longest);

  // lead and tail of the first step named `action` in `where`, minimum over the chains.
  const around = (action: string, where: Where): { lead: number; tail: number } | undefined => {
    let best: { lead: number; tail: number } | undefined;
    for (const steps of chains) {
      const i = steps.findIndex((s) => !('wait' in s) && s.call === action && s.where === where);
      if (i < 0) continue;
      const lead = total(steps.slice(0, i));
      const tail = total(steps.slice(i));
      best = best ? { lead: Math.min(best.lead, lead), tail: Math.min(best.tail, tail) } : { lead, tail };
    }
    return best;
  };

  let requestedMs = 0;
  let bucketMs = 0;
  let copiesMs = 0;
  let busiest: string | undefined;
  const volumesOf = new Map<string, number>();
  for (const i of input.instances) volumesOf.set(i.account, (volumesOf.get(i.account) ?? 0) + i.volumes.length);
  const create = around('ec2:CreateSnapshots', 'source') ?? { lead: 2 * L, tail: L };

  for (const [account, byAction] of neededCalls(input.transfer, input.forensicsAccount, input.instances)) {
    const where: Where = account === input.forensicsAccount ? 'forensics' : 'source';
    const perBucket = new Map<string, { n: number; capacity: number; refill: number; lead: number; tail: number }>();
    for (const [action, n] of byAction) {
      const place = around(`ec2:${action}`, where);
      if (!place) continue;
      const bucket = ec2BucketFor(action, true);
      const entry = perBucket.get(bucket.name) ?? { n: 0, capacity: bucket.spec.capacity, refill: bucket.spec.refillPerSecond, ...place };
      entry.n += n;
      entry.lead = Math.min(entry.lead, place.lead);
      entry.tail = Math.min(entry.tail, place.tail);
      perBucket.set(bucket.name, entry);
    }
    for (const [name, b] of perBucket) {
      const drain = (Math.max(0, b.n - b.capacity) / b.refill) * 1000;
      const ms = b.lead + drain + b.tail;
      if (ms > bucketMs) {
        bucketMs = ms;
        busiest = `${account} ${name} (${b.n} calls, bucket ${b.capacity}/${b.refill} per s)`;
      }
      if (name === 'CreateSnapshots' && where === 'source') {
        const waves = Math.ceil((volumesOf.get(account) ?? 0) / pendingLimit);
        requestedMs = Math.max(requestedMs, b.lead + Math.max(drain, Math.max(0, waves - 1) * D) + L);
      }
    }
    const copies = byAction.get('CopySnapshot') ?? 0;
    const copyPlace = around('ec2:CopySnapshot', where);
    if (copies > 0 && copyPlace) copiesMs = Math.max(copiesMs, copyPlace.lead + (Math.ceil(copies / slots) - 1) * D + copyPlace.tail);
  }
  const cloudRequestedMs = requestedMs;
  const cloudFloorMs = Math.max(chainMs, requestedMs + create.tail - L, bucketMs, copiesMs);
  const cpuBudgetMs = input.cpuBudgetMs ?? 0;
  requestedMs = Math.max(requestedMs, cpuBudgetMs);
  const floorMs = Math.max(cloudFloorMs, requestedMs + create.tail - L);
  const formula = [
    'requested = max over source accounts of lead(CreateSnapshots) + max(bucket drain, (ceil(volumes / ' +
      `${pendingLimit} pending) − 1) × ${D} ms) + ${L} ms`,
    `requested = max(that, collector CPU budget ${cpuBudgetMs} ms = targets × the 4 ms CPU goal, one core)`,
    'total = max(chain, requested + rest of the chain, buckets, copies)',
    `chain = ${longest.map(stepName).join(' → ')}: ${longest.filter((s) => !('wait' in s)).length} calls × ${L} ms + ${longest.filter((s) => 'wait' in s).length} × ${D} ms`,
    'buckets = max over accounts and EC2 bucket classes of lead + max(0, calls needed − capacity) / refill per s + tail',
    `copies = max over destination accounts of lead(CopySnapshot) + (ceil(copies / ${slots}) − 1) × ${D} ms + tail(CopySnapshot)`,
  ].join('\n       ');
  return {
    requestedMs,
    cloudRequestedMs,
    cloudFloorMs,
    cpuBudgetMs,
    floorMs,
    chainMs,
    chainSteps: longest.map(stepName),
    bucketMs,
    copiesMs,
    ...(busiest ? { busiest } : {}),
    formula,
  };
}
