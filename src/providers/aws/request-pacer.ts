/**
 * Client-side pacing of GetSnapshotBlock to EBS's published rates (1,000 requests a second per
 * snapshot and per account), so a fast reader stays just under the limit instead of running into
 * it: a throttled request costs a round trip, and the SDK's adaptive retry mode answers
 * throttling by slowing the whole client far below the limit for a while. The SDK's retries
 * still cover throttling that pacing does not prevent (other readers of the same account).
 */

/** Requests a second EBS allows GetSnapshotBlock, per snapshot and per account. */
export const GET_BLOCK_RATE = 1000;
/** Requests that may go at once after a pause: well inside any bucket EBS keeps. */
const BURST = 20;

export class RequestPacer {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst = BURST,
  ) {
    this.tokens = burst;
  }

  /** Resolves when the next request may go (requests go in the order they asked). */
  take(): Promise<void> | undefined {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return undefined;
    const waitMs = (-this.tokens / this.perSecond) * 1000;
    return new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

const pacers = new Map<string, RequestPacer>();

/** The pacer of `key` (`account:<id>:<region>`, `snapshot:<id>`), shared by every reader in the process. */
export function pacerFor(key: string, perSecond = GET_BLOCK_RATE): RequestPacer {
  let pacer = pacers.get(key);
  if (!pacer) {
    pacer = new RequestPacer(perSecond);
    pacers.set(key, pacer);
  }
  return pacer;
}
