import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';
import { canonicalize } from '../../src/custody/canonical-json.js';
import { walkChain, type PendingSignature } from '../../src/custody/chain.js';
import { parseEd25519PublicKey, signText, signingKeyFrom } from '../../src/custody/signing-key.js';
import { checkOnWorker, checkSignatures, WORKER_MIN_SIGNATURES } from '../../src/custody/signature-check.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { caseOptions, useScratch } from './helpers.js';

const key = () => signingKeyFrom(generateKeyPairSync('ed25519').privateKey);

describe('signature checks on a worker thread', () => {
  const scratch = useScratch();

  it('give the same verdicts as the main thread: a good signature, a changed byte, another key, another message', async () => {
    const signer = key();
    const stranger = key();
    const hash = (i: number) => i.toString(16).padStart(64, '0');
    const good = (i: number): PendingSignature => ({ hash: hash(i), sig: signText(signer, hash(i)) });
    const flipped = (i: number): PendingSignature => {
      const bytes = Buffer.from(signText(signer, hash(i)), 'base64');
      bytes[40] = bytes[40]! ^ 0x04;
      return { hash: hash(i), sig: bytes.toString('base64') };
    };
    // Not in the walk's spelling (checked aside on the main thread): a message that is not a hash, a respelled signature.
    const odd = 'ünïcödé, not a hash';
    const pending = [
      good(1),
      flipped(2),
      { hash: hash(3), sig: signText(stranger, hash(3)) },
      { hash: hash(4), sig: signText(signer, hash(5)) },
      good(6),
      { hash: odd, sig: signText(signer, odd) },
      { hash: hash(7), sig: signText(signer, hash(7)).replace(/=+$/, '') },
      good(8),
    ];
    const expected = [true, false, false, false, true, true, false, true];
    expect(await checkSignatures(signer.publicKey, pending, { workerFrom: Number.POSITIVE_INFINITY })).toEqual(expected);
    expect(await checkSignatures(signer.publicKey, pending, { workerFrom: 1 })).toEqual(expected);
    // The worker itself answered (checkSignatures would fall back to this thread if it had not).
    const spelled = pending.filter((_, i) => i < 5 || i === 7);
    expect(await checkOnWorker(parseEd25519PublicKey(signer.publicKey)!, spelled)).toEqual(expected.filter((_, i) => i < 5 || i === 7));
    // A pinned "key" that is not an Ed25519 key verifies nothing, on either thread.
    const notAKey = Buffer.from('not a key').toString('base64');
    expect(await checkSignatures(notAKey, pending, { workerFrom: 1 })).toEqual(pending.map(() => false));
  });

  it(`a ledger of more than ${WORKER_MIN_SIGNATURES} entries (checked on the worker) still names a changed signature and a changed entry`, async () => {
    const kase = await openCase(caseOptions(scratch));
    await Promise.all(
      Array.from({ length: WORKER_MIN_SIGNATURES + 100 }, (_, i) => kase.record('snapshot.requested', { volumeId: `vol-${i}` }, `target-${i}`)),
    );
    await kase.close();
    const ledgerPath = join(kase.caseDir, 'ledger.jsonl');
    const text = await readFile(ledgerPath, 'utf8');
    expect(walkChain(text).signatures.length).toBeGreaterThanOrEqual(WORKER_MIN_SIGNATURES);
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);

    const lines = text.trimEnd().split('\n');
    const entry = JSON.parse(lines[1_500]!) as LedgerEntry;
    const sig = Buffer.from(entry.sig, 'base64');
    sig[3] = sig[3]! ^ 0x10;
    lines[1_500] = canonicalize({ ...entry, sig: sig.toString('base64') });
    lines[1_700] = lines[1_700]!.replace(/"volumeId":"vol-/, '"volumeId":"vol-X');
    await writeFile(ledgerPath, `${lines.join('\n')}\n`);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.line])).toEqual([
      ['bad-signature', 1_501],
      ['hash-mismatch', 1_701],
    ]);
  });
});
