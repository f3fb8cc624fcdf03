/**
 * The one sentence every cloud writes for work it accepted whose wait was cut (the run stopped,
 * the wait timed out, its state could not be read): claimed neither made nor lost, and a resume
 * adopts it. The ledger carries it as `leftInAws`, `leftInGcp` or `leftInAzure`
 * (docs/ledger-format.md), and the target's reason says it: one wording, built in one place.
 *
 * @example
 * leftInCloud('snapshot snap-0abc') // 'snapshot snap-0abc was asked for and may still be being made; a resume adopts it'
 * leftInCloud('the restore point (…)', 'could not be read (…)') // '… could not be read (…) and may still be being made; a resume adopts it'
 */
export function leftInCloud(what: string, known = 'was asked for'): string {
  return `${what} ${known} and may still be being made; a resume adopts it`;
}
