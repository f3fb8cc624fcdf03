/**
 * A cloud's clock as its answers show it: the `Date` of an HTTP answer, read the same way for
 * every provider (a signer's clock offset, the offset a credential entry records). No imports:
 * worker threads load this file as it is (see src/providers/aws/ebs-block-client.ts).
 */

/** A `Date` that answers a request sent longer ago than this says nothing about the clock. */
const STALE_ANSWER_MS = 900_000;

/**
 * The clock offset an answer dated `date` shows (the cloud's time minus this machine's, ms), or
 * undefined when it shows none: no or an unreadable `Date`, an `Age` header (a cache's answer), or
 * a request sent at `sentAt` more than 15 minutes ago. `Date` has whole seconds.
 */
export function offsetFromAnswer(date: string | undefined, age: unknown, sentAt: number, now: number = Date.now()): number | undefined {
  if (date === undefined || age !== undefined) return undefined;
  const serverTime = Date.parse(date);
  if (Number.isNaN(serverTime) || now - sentAt > STALE_ANSWER_MS) return undefined;
  return serverTime - now;
}

/** Whether an offset measured from a `Date` header (whole seconds) is as close as it can tell. */
export function clockWithinASecond(offsetMs: number): boolean {
  return Math.abs(offsetMs) < 1_500;
}

/**
 * Words for how far this machine's clock is from a cloud's, given the cloud's time minus this
 * machine's (ms) as measured from the `Date` of its answers. That header has whole seconds, so
 * anything under a second and a half reads as "within a second"; the words say which way the
 * machine is off ("behind" when the cloud's clock is ahead).
 *
 * @example clockOffsetWords(1_200_000) // '20 min 0 s behind'
 */
export function clockOffsetWords(offsetMs: number): string {
  if (clockWithinASecond(offsetMs)) return 'within a second of';
  const seconds = Math.round(Math.abs(offsetMs) / 1000);
  const amount = seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
  return `${amount} ${offsetMs > 0 ? 'behind' : 'ahead of'}`;
}
