// What the messages of `custody verify` tell an examiner: which key signed what, and which line
// holds a malformed evidence record and what it says, quoted so that a hostile ledger cannot
// write control characters, a screenful of text or a credential into the verdict.
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';
import { signManifest, type Manifest } from '../../src/custody/manifest.js';
import { signingKeyFrom } from '../../src/custody/signing-key.js';
import { verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, useScratch } from './helpers.js';

// The case built by buildClosedCase: 1 case.opened, 2 credentials.assumed, 3-4 evidence.stored,
// 5 snapshot.requested, 6 snapshot.created, 7-8 artifact.recorded, 9 step.failed, 10 case.closed.
describe('verify messages', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let ledgerPath: string;
  let manifestPath: string;
  let lines: string[];

  const writeLines = (next: string[]) => writeFile(ledgerPath, `${next.join('\n')}\n`);
  const attackerKey = () => signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
  /** Ledger lines with entry 3 (evidence.stored, line 3) given `data` in place of its own; its hash no longer matches. */
  const withStoredData = (change: (data: Record<string, unknown>) => Record<string, unknown>): string[] => {
    const entry = JSON.parse(lines[2]!) as LedgerEntry;
    expect(entry.type).toBe('evidence.stored');
    const next = [...lines];
    next[2] = JSON.stringify({ ...entry, data: change(entry.data) });
    return next;
  };
  const malformed = async () => (await verifyCase(kase.caseDir)).problems.filter((p) => p.kind === 'malformed-entry');

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    ledgerPath = join(kase.caseDir, 'ledger.jsonl');
    manifestPath = join(kase.caseDir, 'manifest.json');
    lines = (await readFile(ledgerPath, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(10);
  });

  describe('manifest-signature: a manifest signed with another key', () => {
    it('names both keys by their fingerprints, as collect prints them', async () => {
      const key = attackerKey();
      const { signature: _sig, ...manifest } = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
      await writeFile(manifestPath, JSON.stringify(signManifest({ ...manifest, publicKey: key.publicKey }, key)));
      const result = await verifyCase(kase.caseDir);
      expect(result.firstProblem).toMatchObject({ kind: 'manifest-signature', path: 'manifest.json' });
      expect(result.firstProblem?.message).toBe(
        `manifest.json names key sha256:${key.fingerprint}, but the ledger pins sha256:${kase.fingerprint} (entry 1): the manifest was signed with another key (compare both with the fingerprint collect printed; --expect-key checks the ledger's)`,
      );
    });

    it('says so when the manifest names no key at all', async () => {
      const { publicKey: _key, ...manifest } = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
      await writeFile(manifestPath, JSON.stringify(manifest));
      const result = await verifyCase(kase.caseDir);
      expect(result.firstProblem).toMatchObject({ kind: 'manifest-signature', path: 'manifest.json' });
      expect(result.firstProblem?.message).toBe(`manifest.json names no public key; the ledger pins sha256:${kase.fingerprint} (entry 1)`);
    });
  });

  describe('malformed-entry: an evidence record that names no valid evidence file', () => {
    it('names its line and seq, and what its path says', async () => {
      const next = withStoredData((data) => ({ ...data, path: 'evidence/ev-aaaaaaaaaaaa/../../../etc/passwd' }));
      // A line that is not an entry before it: the evidence record is entry 3 on line 4.
      next.splice(1, 0, 'not an entry');
      await writeLines(next);
      const found = await malformed();
      expect(found.map((p) => p.line)).toEqual([2, 4]);
      expect(found[1]).toMatchObject({ entrySeq: 3, line: 4 });
      expect(found[1]!.path).toBeUndefined();
      expect(found[1]!.message).toBe(
        'entry 3 (line 4, evidence.stored) does not name a valid evidence file: its path "evidence/ev-aaaaaaaaaaaa/../../../etc/passwd" is not evidence/<id>/<name> (it has 7 segments)',
      );
    });

    it('says which segment of the path is not a safe name', async () => {
      await writeLines(withStoredData((data) => ({ ...data, path: 'evidence/ev-aaaaaaaaaaaa/..' })));
      const [problem] = await malformed();
      expect(problem?.message).toBe(
        'entry 3 (line 3, evidence.stored) does not name a valid evidence file: its path "evidence/ev-aaaaaaaaaaaa/.." is not evidence/<id>/<name> (its name contains "..")',
      );
    });

    it('names each field that is missing or of the wrong type, without printing what is not text', async () => {
      await writeLines(withStoredData(({ path: _p, ...data }) => ({ ...data, sha256: { value: 'x' }, size: '24' })));
      const [problem] = await malformed();
      expect(problem?.message).toBe(
        'entry 3 (line 3, evidence.stored) does not name a valid evidence file: its path is missing; its sha256 is an object, not a string; its size is a string, not a number',
      );
    });

    it('escapes control characters and invisible formatting in the path', async () => {
      await writeLines(withStoredData((data) => ({ ...data, path: 'evidence/ev-\u001b[2J\r\n\u202eexe.txt\u0085/x' })));
      const [problem] = await malformed();
      expect(problem?.message).toContain(String.raw`its path "evidence/ev-\u001b[2J\r\n\u202eexe.txt\u0085/x"`);
      // eslint-disable-next-line no-control-regex
      expect(problem?.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    });

    it('cuts a very long path short and says how long it was', async () => {
      const long = `evidence/${'A'.repeat(100_000)}/x`;
      await writeLines(withStoredData((data) => ({ ...data, path: long })));
      const [problem] = await malformed();
      expect(problem!.message.length).toBeLessThan(400);
      expect(problem!.message).toContain(`its path "evidence/${'A'.repeat(71)}"… (${long.length} characters) is not evidence/<id>/<name>`);
    });

    it('never prints a path that looks like a credential', async () => {
      const signed = 'https://bucket.s3.amazonaws.com/evidence/x?X-Amz-Signature=0123456789abcdef&X-Amz-Expires=600';
      await writeLines(withStoredData((data) => ({ ...data, path: signed })));
      const [problem] = await malformed();
      expect(problem?.message).not.toContain('X-Amz-Signature');
      expect(problem?.message).not.toContain('0123456789abcdef');
      expect(problem?.message).toBe(
        'entry 3 (line 3, evidence.stored) does not name a valid evidence file: its path is not evidence/<id>/<name>, and is not shown: it looks like a signed URL (SAS, presigned or signed URL)',
      );
    });
  });
  describe('malformed-entry: a line that is not an entry', () => {
    it('does not echo the start of a line that is not JSON: only its first character, escaped', async () => {
      const next = [...lines];
      next.splice(1, 0, '\u001b]0;pwned\u0007Bearer eyJhbGciOiJIUzI1NiJ9');
      await writeLines(next);
      const [problem] = await malformed();
      expect(problem).toMatchObject({ line: 2 });
      expect(problem?.message).toBe(String.raw`line 2 is not a ledger entry: not valid JSON (Unexpected token "\u001b")`);
    });

    it('quotes an unexpected field name safely', async () => {
      const next = [...lines];
      next[1] = JSON.stringify({ ...(JSON.parse(lines[1]!) as LedgerEntry), ['note\u001b[2J\u202e']: 1 });
      await writeLines(next);
      const [problem] = await malformed();
      expect(problem?.message).toBe(String.raw`line 2 is not a ledger entry: unexpected field "note\u001b[2J\u202e"`);
    });
  });
});
