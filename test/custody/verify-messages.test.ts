// What the messages of `custody verify` tell an examiner: which key signed what, and which line
// holds a malformed evidence record and what it says, quoted so that a hostile ledger cannot
// write control characters, a screenful of text or a credential into the verdict.
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { signManifest, type Manifest } from '../../src/custody/manifest.js';
import { signingKeyFrom } from '../../src/custody/signing-key.js';
import { verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, useScratch } from './helpers.js';

// The case built by buildClosedCase: 1 case.opened, 2 credentials.assumed, 3-4 evidence.stored,
// 5 snapshot.requested, 6 snapshot.created, 7-8 artifact.recorded, 9 step.failed, 10 case.closed.
describe('verify messages', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let manifestPath: string;

  const attackerKey = () => signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    manifestPath = join(kase.caseDir, 'manifest.json');
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
});
