/**
 * A warning's line ends in its kind, as an error's does: the examiner looks it up in
 * docs/verify.md whether or not the case verified.
 */
import { describe, expect, it } from 'vitest';
import { renderAgainst } from '../../src/cli/render.js';

describe('verify --against, rendered', () => {
  it('a warning names its object, its entry and its kind', () => {
    const text = renderAgainst({
      ok: true,
      url: 's3://evidence/cases/IR-1',
      checked: 3,
      objects: 3,
      recordedUrl: 's3://evidence/cases/IR-1',
      problems: [
        {
          kind: 'copy-retention-ended',
          severity: 'warning',
          entrySeq: 12,
          path: 'evidence/ev-1/console.txt',
          message: 'the retention of cases/IR-1/evidence/ev-1/console.txt (entry 12) ended on 2026-01-01T00:00:00.000Z: it is no longer locked',
        },
      ],
    });
    expect(text.split('\n')).toEqual([
      'matches its copy: s3://evidence/cases/IR-1 (3 objects: version, SHA-256 and retention as recorded)',
      '  warning: evidence/ev-1/console.txt (ledger.jsonl entry 12): the retention of cases/IR-1/evidence/ev-1/console.txt (entry 12) ended on 2026-01-01T00:00:00.000Z: it is no longer locked [copy-retention-ended]',
    ]);
  });
});
