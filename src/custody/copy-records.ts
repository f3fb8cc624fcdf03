/**
 * Where the records of the off-machine copy sit in a ledger. The copy can only be made of a
 * sealed case (its ledger ends in `case.closed` and the signed manifest names that entry), and
 * what S3 confirmed is only known afterwards, so its records are appended *after* `case.closed`:
 * hash-chained and signed like every entry, but outside the manifest's seal. These are the only
 * entries allowed after the seal; anything else there is tampering (see docs/ledger-format.md).
 */
import type { LedgerEntry } from '../core/ports.js';

/** One object confirmed in the bucket; a copy that failed; the copy complete. */
export const COPY_ENTRY_TYPES: ReadonlySet<string> = new Set(['evidence.copied', 'copy.failed', 'case.copied']);

/** True for the entry types that may follow the sealing `case.closed`. */
export function isCopyRecord(entry: Pick<LedgerEntry, 'type'>): boolean {
  return COPY_ENTRY_TYPES.has(entry.type);
}

/**
 * The index of the entry that sealed the case: the last entry that is not a copy record, when
 * it is `case.closed`; -1 when the case is open (its last such entry is anything else).
 */
export function sealIndex(entries: readonly LedgerEntry[]): number {
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (isCopyRecord(entry)) continue;
    return entry.type === 'case.closed' ? i : -1;
  }
  return -1;
}

/**
 * A warning for a closed case whose recorded configuration asked for a copy
 * (`aws.evidenceBucket`) when the ledger holds no completed one after the seal: the copy failed
 * or never ran — or its records were cut from the end, which only the printed head or
 * `verify --against` can tell apart. Undefined when there is nothing to say.
 */
export function copyRecordWarning(entries: readonly LedgerEntry[]): string | undefined {
  const seal = sealIndex(entries);
  if (seal < 0) return undefined;
  const run = [...entries.slice(0, seal)].reverse().find((e) => e.type === 'case.opened' || e.type === 'case.resumed');
  const bucket = (run?.data.config as { aws?: { evidenceBucket?: { name?: unknown; prefix?: unknown } } } | undefined)?.aws?.evidenceBucket;
  if (!bucket || typeof bucket.name !== 'string') return undefined;
  const after = entries.slice(seal + 1);
  const last = after[after.length - 1];
  const where = `s3://${bucket.name}/${typeof bucket.prefix === 'string' ? bucket.prefix : ''}${String(entries[0]?.data.caseId ?? '')}`;
  if (!last) {
    // A folder restored by fetch-case holds the sealed ledger as copied, which ends at case.closed:
    // the warning must not send its reader to copy-case (it would append to the restored ledger).
    return (
      `the case was to be copied to ${where}, but its ledger records no copy after case.closed: the copy never ran, or its records were cut off ` +
      `(check with custody verify --against ${where}, or copy it with custody copy-case); or this folder was restored from that copy with custody fetch-case, ` +
      `whose ledger ends at case.closed as sealed (the copy's records stay in the ledger of the machine that made it)`
    );
  }
  if (last.type !== 'case.copied') {
    // Stopped or failed — or the records after this one (a retry that completed) were cut from the
    // end, which only the printed head or --against can tell.
    return `the last copy to ${where} did not complete (the ledger ends with ${last.type}), or the records after it were cut off: check with custody verify --against ${where}, or retry with custody copy-case`;
  }
  return undefined;
}
