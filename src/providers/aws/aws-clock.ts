/**
 * AWS's clock as the SDK's SigV4 signer learns it (`AwsSdkSigV4Signer`): every answer's `Date` sets
 * a client's clock offset — AWS's time minus this machine's — unless a cache's `Age` says the
 * answer is old or the request went out too long ago; a refusal that moved the offset past the
 * threshold is marked `clockSkewCorrected`, which the SDK's retry classifier retries. The
 * collector's own senders (the lean EC2 sender, the GetSnapshotBlock client) follow it from here.
 *
 * No imports: the hash threads load this file as it is (see ebs-block-client.ts).
 */

/** An offset this large means this machine's clock is skewed. */
export const SKEW_THRESHOLD_MS = 240_000;
/** A `Date` that answers a request sent longer ago than this says nothing about the clock. */
const STALE_ANSWER_MS = 900_000;

/**
 * The clock offset an answer dated `date` sets (ms to add to this machine's clock), or undefined
 * when it sets none: no or an unreadable `Date`, an `Age` header, or a request sent at `sentAt`
 * more than 15 minutes ago.
 */
export function offsetFromAnswer(date: string | undefined, age: unknown, sentAt: number, now: number = Date.now()): number | undefined {
  if (date === undefined || age !== undefined) return undefined;
  const serverTime = Date.parse(date);
  if (Number.isNaN(serverTime) || now - sentAt > STALE_ANSWER_MS) return undefined;
  return serverTime - now;
}

/** Whether an answer that moved the offset from `signedWith` to `offset` corrected a skewed clock. */
export function correctsSkew(offset: number, signedWith: number): boolean {
  return Math.abs(offset) >= SKEW_THRESHOLD_MS && offset !== signedWith;
}
