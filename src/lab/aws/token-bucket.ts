/**
 * EC2 throttles each account and region with token buckets: a request takes a token, tokens come
 * back at a fixed rate up to the bucket's capacity. Time comes from the lab clock.
 */

export interface BucketSpec {
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly spec: BucketSpec,
    private readonly now: () => number,
  ) {
    this.tokens = spec.capacity;
    this.last = now();
  }

  private refill(): void {
    const now = this.now();
    const elapsedSeconds = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.spec.capacity, this.tokens + elapsedSeconds * this.spec.refillPerSecond);
    this.last = now;
  }

  /** Takes one token if there is one; `false` means throttle the request. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens left now (for tests and the benchmark). */
  available(): number {
    this.refill();
    return this.tokens;
  }
}

/** The bucket class a request falls in, with EC2's documented sizes (capacity / refill per s). */
export function ec2BucketFor(action: string, filtered: boolean): { name: string; spec: BucketSpec } {
  switch (action) {
    case 'CreateSnapshot':
    case 'CreateSnapshots':
      return { name: action, spec: { capacity: 100, refillPerSecond: 5 } };
    case 'ModifySnapshotAttribute':
      return { name: action, spec: { capacity: 100, refillPerSecond: 5 } };
    case 'CreateTags':
      return { name: action, spec: { capacity: 100, refillPerSecond: 10 } };
    case 'CopySnapshot':
      return { name: action, spec: { capacity: 50, refillPerSecond: 5 } };
    default:
      break;
  }
  if (/^(Describe|Get)/.test(action)) {
    // EC2 treats Describe* calls without ids, filters or paging as "unfiltered and unpaginated",
    // a smaller bucket.
    return filtered
      ? { name: `${action}:filtered`, spec: { capacity: 100, refillPerSecond: 20 } }
      : { name: `${action}:unfiltered`, spec: { capacity: 50, refillPerSecond: 10 } };
  }
  return { name: action, spec: { capacity: 200, refillPerSecond: 10 } };
}
