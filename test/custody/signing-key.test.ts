import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseKeyPath, fingerprintOf, openCase, publicKeyPem } from '../../src/custody/index.js';
import { decodeCanonicalBase64, isCanonicalSignature } from '../../src/custody/signing-key.js';
import { caseOptions, errorOf, useScratch } from './helpers.js';

describe('signing keys', () => {
  const scratch = useScratch();

  it('generates a per-case key outside the case folder, private to the user, and pins it', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.release();
    const keyPath = caseKeyPath(scratch.keysDir, 'IR-2026-0042');
    expect(kase.keyPath).toBe(keyPath);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    expect((await stat(scratch.keysDir)).mode & 0o777).toBe(0o700);
    expect(await readFile(keyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    // Nothing in the case folder holds a private key.
    const caseFiles = await readdir(kase.caseDir, { recursive: true });
    for (const name of caseFiles) {
      const path = join(kase.caseDir, String(name));
      if ((await stat(path)).isFile()) expect(await readFile(path, 'utf8')).not.toContain('PRIVATE KEY');
    }
    expect(kase.entries()[0]!.data.publicKey).toBe(kase.publicKey);
    expect(kase.fingerprint).toBe(fingerprintOf(kase.publicKey));
    expect(publicKeyPem(kase.publicKey)).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]{60}\n-----END PUBLIC KEY-----\n$/);
  });

  it("signs with the operator's own PKCS#8 key when signingKeyFile is set, creating no per-case key", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = join(scratch.root, 'operator.pem');
    await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const kase = await openCase(caseOptions(scratch, { signingKeyFile: keyFile }));
    await kase.release();
    expect(kase.publicKey).toBe(publicKey.export({ format: 'der', type: 'spki' }).toString('base64'));
    expect(kase.entries()[0]!.data.keyOrigin).toBe('signingKeyFile');
    expect(existsSync(scratch.keysDir)).toBe(false);
  });

  it('refuses a key that is not Ed25519 before creating the case', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = join(scratch.root, 'ec.pem');
    await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const error = await errorOf(openCase(caseOptions(scratch, { signingKeyFile: keyFile })));
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toMatch(/ec, not Ed25519/);
    expect(existsSync(join(scratch.casesDir, 'IR-2026-0042'))).toBe(false);
  });

  it('refuses an unreadable signing key file with E_CONFIG naming it', async () => {
    const error = await errorOf(openCase(caseOptions(scratch, { signingKeyFile: join(scratch.root, 'missing.pem') })));
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toContain('missing.pem');
  });

  it('refuses to keep keys inside the case folder, which is handed to others', async () => {
    const caseDir = join(scratch.casesDir, 'IR-2026-0042');
    const error = await errorOf(openCase(caseOptions(scratch, { keysDir: join(caseDir, 'keys') })));
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toMatch(/inside the case folder/);
    expect(existsSync(caseDir)).toBe(false);

    await mkdir(scratch.casesDir, { recursive: true });
    const keyError = await errorOf(openCase(caseOptions(scratch, { signingKeyFile: join(caseDir, 'key.pem') })));
    expect(keyError.code).toBe('E_CONFIG');
  });

  it('refuses keys reached through a symlink that leads into the case folder', async () => {
    const caseDir = join(scratch.casesDir, 'IR-2026-0042');
    const links = join(scratch.root, 'links');
    await mkdir(links);
    // A new case: the link leads to a folder that does not exist yet, inside the case to be made.
    await symlink(join(caseDir, 'keys'), join(links, 'keys-new'));
    const newError = await errorOf(openCase(caseOptions(scratch, { keysDir: join(links, 'keys-new') })));
    expect(newError.code).toBe('E_CONFIG');
    expect(newError.message).toMatch(/inside the case folder/);
    expect(existsSync(caseDir)).toBe(false);

    // A resumed case: links to the case folder itself, and to a key file kept inside it.
    await (await openCase(caseOptions(scratch))).release();
    await symlink(caseDir, join(links, 'case'));
    const resumeError = await errorOf(openCase(caseOptions(scratch, { resume: true, keysDir: join(links, 'case') })));
    expect(resumeError.code).toBe('E_CONFIG');
    expect(resumeError.message).toMatch(/keysDir .* is inside the case folder/);

    const keyInCase = join(caseDir, 'operator.pem');
    await writeFile(keyInCase, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    await symlink(keyInCase, join(links, 'operator.pem'));
    const fileError = await errorOf(openCase(caseOptions(scratch, { resume: true, signingKeyFile: join(links, 'operator.pem') })));
    expect(fileError.code).toBe('E_CONFIG');
    expect(fileError.message).toMatch(/signingKeyFile .* is inside the case folder/);
  });
});

describe('the spelling of a signature', () => {
  it('is canonical exactly when the canonical decoder gives 64 bytes: padding, alphabet, unused bits, length', () => {
    // A signature with a '+' or '/' in it, so its base64url spelling differs from it (about one
    // random signature in 15 has neither, and then the two spellings would be the same string).
    let sig: string;
    do {
      sig = sign(null, Buffer.from('a'.repeat(64)), generateKeyPairSync('ed25519').privateKey).toString('base64');
    } while (!/[+/]/.test(sig.slice(0, 85)));
    const lastBits = (c: string) => `${sig.slice(0, 85)}${c}==`;
    const spellings = [
      sig,
      sig.slice(0, -2), // padding stripped
      `${sig.slice(0, -1)}`, // one "=" short
      `${sig}=`,
      sig.replace(/\+/g, '-').replace(/\//g, '_'), // base64url
      ` ${sig}`,
      `${sig.slice(0, 40)}\n${sig.slice(40)}`,
      ...'AQgwBRhx'.split('').map(lastBits), // unused bits zero (A, Q, g, w) or not
      Buffer.alloc(63, 7).toString('base64'),
      Buffer.alloc(65, 7).toString('base64'),
      '',
    ];
    for (const text of spellings) {
      expect(isCanonicalSignature(text), JSON.stringify(text)).toBe(decodeCanonicalBase64(text)?.length === 64);
    }
    expect(spellings.filter(isCanonicalSignature)).toHaveLength(5);
  });
});
