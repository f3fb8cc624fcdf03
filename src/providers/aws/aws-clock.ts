/**
 * AWS's clock as the SDK's SigV4 signer learns it (`AwsSdkSigV4Signer`): every answer's `Date` sets
 * a client's clock offset — AWS's time minus this machine's — unless a cache's `Age` says the
 * answer is old or the request went out too long ago; a refusal that corrected a skewed clock is
 * marked `clockSkewCorrected`, which the SDK's retry classifier retries. What counts as a
 * correction is the collector's rule below (the SDK clients get it from sdk-skew.ts). The
 * collector's own senders (the lean EC2 sender, the GetSnapshotBlock client) follow it from here;
 * the offset an answer sets is the cloud-free `offsetFromAnswer` (src/core/clock-offset.ts).
 *
 * No imports: the hash threads load this file as it is (see ebs-block-client.ts).
 */

/** An offset this large means this machine's clock is skewed. */
export const SKEW_THRESHOLD_MS = 240_000;
/**
 * Whether an answer that moved the offset from `signedWith` to `offset` corrected a skewed clock:
 * the request was signed at least the threshold off AWS's time as this answer shows it. Not the
 * SDK's "any change while skewed": a `Date` has whole seconds, so on a skewed machine every answer
 * moves the offset by a fraction of a second, and every error answer (a DryRunOperation, a
 * denial) would be retried as a correction until the attempts ran out. AWS refuses a signing
 * time only further off than 5 minutes, so a real refusal always moves it past the threshold.
 */
export function correctsSkew(offset: number, signedWith: number): boolean {
  return Math.abs(offset - signedWith) >= SKEW_THRESHOLD_MS;
}
