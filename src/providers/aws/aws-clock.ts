/**
 * AWS's clock as the SDK's SigV4 signer learns it (`AwsSdkSigV4Signer`): every answer's `Date` sets
 * a client's clock offset — AWS's time minus this machine's — unless a cache's `Age` says the
 * answer is old or the request went out too long ago; a refusal that moved the offset past the
 * threshold is marked `clockSkewCorrected`, which the SDK's retry classifier retries. The
 * collector's own senders (the lean EC2 sender, the GetSnapshotBlock client) follow it from here;
 * the offset an answer sets is the cloud-free `offsetFromAnswer` (src/core/clock-offset.ts).
 *
 * No imports: the hash threads load this file as it is (see ebs-block-client.ts).
 */

/** An offset this large means this machine's clock is skewed. */
export const SKEW_THRESHOLD_MS = 240_000;
/** Whether an answer that moved the offset from `signedWith` to `offset` corrected a skewed clock. */
export function correctsSkew(offset: number, signedWith: number): boolean {
  return Math.abs(offset) >= SKEW_THRESHOLD_MS && offset !== signedWith;
}
