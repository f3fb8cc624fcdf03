/**
 * The warning verify gives about the records of the off-machine copy after the seal: it must not
 * assert a cause the ledger cannot tell apart from records cut from its end.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';
import { copyRecordWarning } from '../../src/custody/copy-records.js';

const entry = (seq: number, type: string, data: Record<string, unknown> = {}): LedgerEntry =>
  ({ seq, type, data, time: '2026-12-03T14:00:00.000Z', actor: 'a', prev: '0'.repeat(64), hash: '1'.repeat(64), sig: 's' }) as LedgerEntry;

const opened = entry(1, 'case.opened', { caseId: 'IR-1', config: { aws: { evidenceBucket: { name: 'bucket', prefix: 'cases/' } } } });
const closed = entry(2, 'case.closed');

describe('copyRecordWarning', () => {
  it('a ledger that ends in evidence.copied may have had the rest of its copy records cut off, and says so with how to check', () => {
    const warning = copyRecordWarning([opened, closed, entry(3, 'evidence.copied')]);
    expect(warning).toBe(
      'the last copy to s3://bucket/cases/IR-1 did not complete (the ledger ends with evidence.copied), or the records after it were cut off: check with custody verify --against s3://bucket/cases/IR-1, or retry with custody copy-case',
    );
  });

  it('a ledger that ends at case.closed may never have been copied, or be a folder restored from the copy: it says both, so a restored folder is not sent to copy-case alone', () => {
    expect(copyRecordWarning([opened, closed])).toBe(
      'the case was to be copied to s3://bucket/cases/IR-1, but its ledger records no copy after case.closed: the copy never ran, or its records were cut off ' +
        '(check with custody verify --against s3://bucket/cases/IR-1, or copy it with custody copy-case); or this folder was restored from that copy with custody fetch-case, ' +
        "whose ledger ends at case.closed as sealed (the copy's records stay in the ledger of the machine that made it)",
    );
  });

  it('a ledger that ends in copy.failed may have had a completed retry cut off too; a completed copy gives no warning', () => {
    expect(copyRecordWarning([opened, closed, entry(3, 'evidence.copied'), entry(4, 'copy.failed')])).toMatch(/^the last copy to s3:\/\/bucket\/cases\/IR-1 did not complete \(the ledger ends with copy\.failed\), or the records after it were cut off: check with/);
    expect(copyRecordWarning([opened, closed, entry(3, 'evidence.copied'), entry(4, 'case.copied')])).toBeUndefined();
  });
});
