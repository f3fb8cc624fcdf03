import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';
import { decodeCanonicalBase64 } from '../../src/custody/signing-key.js';
import { verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, useScratch } from './helpers.js';

/** Flips the unused low bits of the last base64 digit before the padding (decodes the same). */
function flipPaddingBits(sig: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const at = sig.indexOf('=') - 1;
  const digit = alphabet.indexOf(sig[at]!);
  return `${sig.slice(0, at)}${alphabet[digit ^ 0b1111]}${sig.slice(at + 1)}`;
}

// Every edit keeps the decoded signature bytes (Node's lenient decoder reads them the same) while
// changing the bytes of ledger.jsonl; each must fail verification.
const SIG_EDITS: Array<[string, (sig: string) => string]> = [
  ['padding stripped', (s) => s.replace(/=+$/, '')],
  ['one padding character stripped', (s) => s.slice(0, -1)],
  ['an extra padding character', (s) => `${s}=`],
  ['unused padding bits changed', flipPaddingBits],
  ['base64url alphabet', (s) => s.replace(/\+/g, '-').replace(/\//g, '_')],
  ['base64url without padding', (s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')],
  ['a dot inserted', (s) => `${s.slice(0, 10)}.${s.slice(10)}`],
  ['a space inserted', (s) => `${s.slice(0, 10)} ${s.slice(10)}`],
  ['a leading space', (s) => ` ${s}`],
  ['a trailing space', (s) => `${s} `],
  ['a newline inserted', (s) => `${s.slice(0, 20)}\n${s.slice(20)}`],
  ['a tab inserted', (s) => `${s.slice(0, 20)}\t${s.slice(20)}`],
  ['a stray character after the padding', (s) => `${s}*`],
];

describe('canonical encodings: the ledger signature is accepted in one spelling only', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let ledgerPath: string;
  let lines: string[];
  /** The first line whose sig has a `+` or `/` (so a base64url edit changes it). */
  let index: number;

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    ledgerPath = join(kase.caseDir, 'ledger.jsonl');
    lines = (await readFile(ledgerPath, 'utf8')).trimEnd().split('\n');
    index = lines.findIndex((l) => /[+/]/.test((JSON.parse(l) as LedgerEntry).sig));
    expect(index).toBeGreaterThanOrEqual(0);
  });

  it.each(SIG_EDITS)('a sig with %s fails verify, naming its entry', async (_name, edit) => {
    const entry = JSON.parse(lines[index]!) as LedgerEntry;
    const sig = edit(entry.sig);
    expect(sig).not.toBe(entry.sig);
    // The lenient decoder reads the same 64 bytes: only a strict check can notice the edit.
    expect(Buffer.from(sig, 'base64')).toEqual(Buffer.from(entry.sig, 'base64'));
    const next = [...lines];
    next[index] = JSON.stringify({ ...entry, sig });
    expect(next[index]).not.toBe(lines[index]);
    await writeFile(ledgerPath, `${next.join('\n')}\n`);
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatchObject({ kind: 'bad-signature', entrySeq: entry.seq, line: index + 1 });
  });

  it('the untouched case still verifies', async () => {
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });

  it('decodeCanonicalBase64 accepts only the encoding Buffer itself writes', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0x01, 0x02]);
    const canonical = bytes.toString('base64');
    expect(decodeCanonicalBase64(canonical)).toEqual(bytes);
    for (const variant of ['+/8BAg', '-_8BAg==', '+/8BAh==', ' +/8BAg==', '+/8B Ag==', '+/8BAg==\n', '']) {
      expect(decodeCanonicalBase64(variant)).toBeUndefined();
    }
  });

  it('a hash or prev respelled in upper case is not an entry', async () => {
    const entry = JSON.parse(lines[4]!) as LedgerEntry;
    for (const field of ['hash', 'prev'] as const) {
      const next = [...lines];
      next[4] = JSON.stringify({ ...entry, [field]: entry[field].toUpperCase() });
      await writeFile(ledgerPath, `${next.join('\n')}\n`);
      const result = await verifyCase(kase.caseDir);
      expect(result.firstProblem).toMatchObject({ kind: 'malformed-entry', line: 5 });
      expect(result.firstProblem?.message).toMatch(new RegExp(`${field} is not 64 hex`));
    }
  });

  it('a manifest signature respelled (padding stripped) fails the manifest check', async () => {
    const path = join(kase.caseDir, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as { signature: string };
    await writeFile(path, `${JSON.stringify({ ...manifest, signature: manifest.signature.replace(/=+$/, '') }, null, 2)}\n`);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'manifest-signature', path: 'manifest.json' });
  });
});
