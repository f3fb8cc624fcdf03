/**
 * The benchmark's floor: the shortest time any collector could take in the same lab, computed
 * from the same run's latency, snapshot duration, call counts and EC2 token buckets.
 *
 *   floor = max(chain, buckets)
 *   chain   = calls on the longest dependency chain × latency + lab time for a snapshot (or copy)
 *             to complete
 *   buckets = max over accounts and bucket classes of max(0, calls − capacity) / refill per second
 *             + latency (the last call still takes a round trip)
 *
 * The chain for one instance, in-place: AssumeRole → DescribeInstances → CreateSnapshots →
 * (snapshot completes) → DescribeSnapshots. With copy, after that: ModifySnapshotAttribute →
 * CopySnapshot (forensics account) → (copy completes) → DescribeSnapshots.
 * DescribeSnapshots polling is left out of the bucket term: how often to poll is the collector's
 * choice, and the minimum (one batched call per account per round) never drains a bucket.
 */
import { ec2BucketFor } from '../src/lab/aws/token-bucket.js';

export type Transfer = 'in-place' | 'copy';

export interface FloorInput {
  transfer: Transfer;
  latencyMs: number;
  /** Lab ms for a snapshot to complete (and for a copy, when copying). */
  snapshotDurationMs: number;
  copyDurationMs: number;
  /** `{ account: { 'ec2:CreateSnapshots': n, … } }` from the lab. */
  calls: Record<string, Record<string, number>>;
}

export interface Floor {
  floorMs: number;
  chainMs: number;
  chainCalls: string[];
  bucketMs: number;
  busiestAccount?: string;
  busiestBucket?: string;
  formula: string;
}

export function chainFor(transfer: Transfer): string[] {
  const inPlace = ['sts:AssumeRole', 'ec2:DescribeInstances', 'ec2:CreateSnapshots', 'ec2:DescribeSnapshots'];
  return transfer === 'in-place' ? inPlace : [...inPlace, 'ec2:ModifySnapshotAttribute', 'ec2:CopySnapshot', 'ec2:DescribeSnapshots'];
}

/** Computes the floor; see the module comment for the formula. */
export function computeFloor(input: FloorInput): Floor {
  const chainCalls = chainFor(input.transfer);
  const waits = input.snapshotDurationMs + (input.transfer === 'copy' ? input.copyDurationMs : 0);
  const chainMs = chainCalls.length * input.latencyMs + waits;

  let bucketMs = 0;
  let busiestAccount: string | undefined;
  let busiestBucket: string | undefined;
  for (const [account, byAction] of Object.entries(input.calls)) {
    const perBucket = new Map<string, { n: number; capacity: number; refill: number }>();
    for (const [action, n] of Object.entries(byAction)) {
      if (!action.startsWith('ec2:') || action === 'ec2:DescribeSnapshots') continue;
      const name = action.slice('ec2:'.length);
      const bucket = ec2BucketFor(name, true);
      const entry = perBucket.get(bucket.name) ?? { n: 0, capacity: bucket.spec.capacity, refill: bucket.spec.refillPerSecond };
      entry.n += n;
      perBucket.set(bucket.name, entry);
    }
    for (const [name, b] of perBucket) {
      const ms = (Math.max(0, b.n - b.capacity) / b.refill) * 1000 + input.latencyMs;
      if (ms > bucketMs) {
        bucketMs = ms;
        busiestAccount = account;
        busiestBucket = name;
      }
    }
  }
  const formula =
    `floor = max(chain, buckets); chain = ${chainCalls.length} calls (${chainCalls.join(' → ')}) × ${input.latencyMs} ms` +
    ` + ${waits} ms lab completion time; buckets = max over accounts and EC2 bucket classes of` +
    ` max(0, calls − capacity) / refill per s + one latency`;
  return {
    floorMs: Math.max(chainMs, bucketMs),
    chainMs,
    chainCalls,
    bucketMs,
    ...(busiestAccount ? { busiestAccount } : {}),
    ...(busiestBucket ? { busiestBucket } : {}),
    formula,
  };
}
