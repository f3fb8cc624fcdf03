/**
 * The benchmark's floor: the shortest time any collector could take in the same lab, computed
 * from the same run's latency, snapshot duration, the calls the work needs, and EC2's limits.
 *
 *   floor   = max(chain, buckets, copies)
 *   chain   = calls on the longest dependency chain × latency + lab time for a snapshot (and, when
 *             copying, a copy) to complete
 *   buckets = max over accounts and EC2 bucket classes of
 *             max(0, calls needed − capacity) / refill per second + one latency
 *   copies  = max over destination accounts of ceil(copies / 20 concurrent) × copy time
 *
 * Calls needed (not made: throttled retries are the collector's cost, not the floor's): per target
 * account one DescribeInstances and one CreateSnapshots per instance; when copying, also one
 * re-encrypting CopySnapshot per aws/ebs volume and one ModifySnapshotAttribute per volume, and
 * one CopySnapshot per volume in the forensics account. DescribeSnapshots polling is left out:
 * the minimum (one batched call per account per round) never drains a bucket.
 *
 * The chain for one instance, in-place: AssumeRole → DescribeInstances → CreateSnapshots →
 * (snapshot completes) → DescribeSnapshots. With copy, after that: ModifySnapshotAttribute →
 * CopySnapshot (forensics account) → (copy completes) → DescribeSnapshots.
 */
import { ec2BucketFor } from '../src/lab/aws/token-bucket.js';

export type Transfer = 'in-place' | 'copy';

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
  /** EC2's concurrent copies per destination region. */
  concurrentCopies?: number;
}

export interface Floor {
  floorMs: number;
  chainMs: number;
  chainCalls: string[];
  bucketMs: number;
  copiesMs: number;
  busiest?: string;
  formula: string;
}

export function chainFor(transfer: Transfer): string[] {
  const inPlace = ['sts:AssumeRole', 'ec2:DescribeInstances', 'ec2:CreateSnapshots', 'ec2:DescribeSnapshots'];
  return transfer === 'in-place' ? inPlace : [...inPlace, 'ec2:ModifySnapshotAttribute', 'ec2:CopySnapshot', 'ec2:DescribeSnapshots'];
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
      add(forensicsAccount, 'CopySnapshot', instance.volumes.length);
    }
  }
  return needed;
}

/** Computes the floor; see the module comment for the formula. */
export function computeFloor(input: FloorInput): Floor {
  const chainCalls = chainFor(input.transfer);
  const waits = input.snapshotDurationMs * (input.transfer === 'copy' ? 2 : 1);
  const chainMs = chainCalls.length * input.latencyMs + waits;
  const slots = input.concurrentCopies ?? 20;

  let bucketMs = 0;
  let copiesMs = 0;
  let busiest: string | undefined;
  for (const [account, byAction] of neededCalls(input.transfer, input.forensicsAccount, input.instances)) {
    const perBucket = new Map<string, { n: number; capacity: number; refill: number }>();
    for (const [action, n] of byAction) {
      const bucket = ec2BucketFor(action, true);
      const entry = perBucket.get(bucket.name) ?? { n: 0, capacity: bucket.spec.capacity, refill: bucket.spec.refillPerSecond };
      entry.n += n;
      perBucket.set(bucket.name, entry);
    }
    for (const [name, b] of perBucket) {
      const ms = (Math.max(0, b.n - b.capacity) / b.refill) * 1000 + input.latencyMs;
      if (ms > bucketMs) {
        bucketMs = ms;
        busiest = `${account} ${name} (${b.n} calls, bucket ${b.capacity}/${b.refill} per s)`;
      }
    }
    copiesMs = Math.max(copiesMs, Math.ceil((byAction.get('CopySnapshot') ?? 0) / slots) * input.snapshotDurationMs);
  }
  const formula = [
    'floor = max(chain, buckets, copies)',
    `chain = ${chainCalls.length} calls (${chainCalls.join(' → ')}) × ${input.latencyMs} ms + ${waits} ms lab completion time`,
    'buckets = max over accounts and EC2 bucket classes of max(0, calls needed − capacity) / refill per s + one latency',
    `copies = max over destination accounts of ceil(copies / ${slots}) × ${input.snapshotDurationMs} ms`,
  ].join('\n       ');
  return { floorMs: Math.max(chainMs, bucketMs, copiesMs), chainMs, chainCalls, bucketMs, copiesMs, ...(busiest ? { busiest } : {}), formula };
}
