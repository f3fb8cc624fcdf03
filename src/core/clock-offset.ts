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
