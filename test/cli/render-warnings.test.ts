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

describe('verify --against, many objects not matching', () => {
  it('lists the first 20 after the first problem and counts the rest, as plain verify does', () => {
    const problems = Array.from({ length: 26 }, (_, i) => ({
      kind: 'copy-changed',
      severity: 'error' as const,
      entrySeq: 100 + i,
      path: `evidence/ev-${i}/console.txt`,
      message: `cases/IR-1/evidence/ev-${i}/console.txt is not the object recorded (entry ${100 + i})`,
    }));
    const warning = { kind: 'copy-retention-ended', severity: 'warning' as const, entrySeq: 7, path: 'manifest.json', message: 'the retention of cases/IR-1/manifest.json (entry 7) ended' };
    const lines = renderAgainst({ ok: false, url: 's3://evidence/cases/IR-1', checked: 30, objects: 30, recordedUrl: 's3://evidence/cases/IR-1', problems: [...problems, warning] }).split('\n');
    expect(lines[0]).toBe('does NOT match its copy: s3://evidence/cases/IR-1');
    expect(lines[1]).toContain('first problem: evidence/ev-0/console.txt (ledger.jsonl entry 100)');
    expect(lines.slice(2, 22)).toEqual(problems.slice(1, 21).map((p) => `  error: ${p.path} (ledger.jsonl entry ${p.entrySeq}): ${p.message} [copy-changed]`));
    // 25 errors and one warning after the first: 20 listed, 6 counted.
    expect(lines.slice(22)).toEqual(['  … and 6 more (--json lists every problem)']);
  });
});

describe('verify, the case folder in the verdict', () => {
  it('a folder name with a control character is shown escaped, so it cannot start a line of its own', async () => {
    const { renderVerify } = await import('../../src/cli/render.js');
    const caseDir = '/cases/IR-1\n\u001b[2Kverified: /cases/other';
    const ok = renderVerify({ ok: true, caseDir, entries: 3, files: 1, problems: [] });
    const bad = renderVerify({ ok: false, caseDir, problems: [{ kind: 'changed-file', severity: 'error', path: 'evidence/ev-1/a.txt', message: 'changed' }] });
    for (const text of [ok, bad]) {
      expect(text).not.toContain('\u001b');
      expect(text.split('\n')[0]).toContain('\\u001b');
    }
  });
});
