/**
 * The Ed25519 key that signs a case's ledger and manifest. It is either the operator's own key
 * (config `signingKeyFile`) or one generated for the case and kept under `keysDir` — never in the
 * case folder, which travels: whoever holds the folder must not be able to re-sign it.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { ensureConfiguredDir } from './configured-dir.js';
import { realPathOfNearest } from './real-path.js';
import { showFsError, showGivenPath } from './untrusted-text.js';

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER, base64: the form pinned in `case.opened`. */
  readonly publicKey: string;
  /** SHA-256 of the SPKI DER, hex: what a human compares. */
  readonly fingerprint: string;
  /** Where the private key lives. */
  readonly path: string;
  /** `file`: the operator's key; `case`: the per-case key under keysDir (created or reused). */
  readonly origin: 'file' | 'case';
  /** True when this call generated the key. */
  readonly created: boolean;
}

export interface ResolveSigningKeyOptions {
  caseId: string;
  /** Folder for per-case keys (0700). */
  keysDir: string;
  /** The operator's PKCS#8 PEM; wins over a per-case key. */
  signingKeyFile?: string;
  /** Generate a per-case key when none exists (new cases); resumed cases must find theirs. */
  allowCreate: boolean;
  /** The case folder: a key inside it is refused. */
  caseDir: string;
}

/** Path of the per-case key: `<keysDir>/<caseId>.ed25519.pem`. */
export function caseKeyPath(keysDir: string, caseId: string): string {
  return join(keysDir, `${caseId}.ed25519.pem`);
}

/**
 * Loads the operator's key, or loads/generates the per-case key.
 * Throws `E_CONFIG` for an unreadable or non-Ed25519 key, a key inside the case folder, or a
 * resumed case's key that is missing (the ledger is intact: the configuration must find the key).
 */
export async function resolveSigningKey(options: ResolveSigningKeyOptions): Promise<SigningKey> {
  const { caseId, keysDir, signingKeyFile, allowCreate, caseDir } = options;
  if (signingKeyFile) {
    await refuseInsideCase(signingKeyFile, caseDir, 'signingKeyFile');
    const pem = await readKeyFile(signingKeyFile, 'E_CONFIG');
    return describeKey(parsePrivateKey(pem, signingKeyFile), resolve(signingKeyFile), 'file', false);
  }
  await refuseInsideCase(keysDir, caseDir, 'keysDir');
  const path = caseKeyPath(keysDir, caseId);
  const existing = await readKeyFile(path, 'E_LEDGER', true);
  if (existing !== undefined) return describeKey(parsePrivateKey(existing, path), path, 'case', false);
  if (!allowCreate) {
    throw new CustodyError(
      'E_CONFIG',
      `the signing key of case ${caseId} is missing (${showGivenPath(path)}); restore it, or pass the key that signed the case with signingKeyFile`,
      { resource: path },
    );
  }
  await ensureConfiguredDir(keysDir, 'keysDir', 0o700);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  try {
    // 'wx': never replace a key another run just created for the same case.
    await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = await readKeyFile(path, 'E_LEDGER');
      return describeKey(parsePrivateKey(raced, path), path, 'case', false);
    }
    throw new CustodyError('E_CONFIG', `cannot write the case signing key ${showGivenPath(path)}: ${showFsError(cause)}`, {
      cause,
      resource: path,
    });
  }
  return describeKey(privateKey, path, 'case', true);
}

/** Wraps an in-memory private key (tests, automation holding its own key). */
export function signingKeyFrom(privateKey: KeyObject, path = '(memory)'): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new CustodyError('E_CONFIG', `signing key ${showGivenPath(path)} is ${privateKey.asymmetricKeyType ?? 'not asymmetric'}, not Ed25519`);
  }
  return describeKey(privateKey, path, 'file', false);
}

/** Ed25519 signature over the UTF-8 bytes of `message`, base64. */
export function signText(key: SigningKey, message: string): string {
  return sign(null, Buffer.from(message, 'utf8'), key.privateKey).toString('base64');
}

/**
 * Checks a base64 Ed25519 signature over `message` against a base64 SPKI DER public key. Both
 * must be in canonical base64 ({@link decodeCanonicalBase64}): a respelled signature is a changed
 * signature.
 */
export function verifyText(publicKey: string, message: string, signature: string): boolean {
  return textVerifier(publicKey)(message, signature);
}

/**
 * {@link verifyText} with the public key parsed once: verify checks one signature per ledger
 * entry, and rebuilding the key object for each cost more than a third of the check itself.
 *
 * @example
 * const check = textVerifier(pinnedKey);
 * const sound = entries.every((e) => check(e.hash, e.sig));
 */
export function textVerifier(publicKey: string): (message: string, signature: string) => boolean {
  const key = parseEd25519PublicKey(publicKey);
  if (!key) return () => false;
  return (message, signature) => {
    const sig = decodeCanonicalBase64(signature);
    if (!sig || sig.length !== 64) return false;
    try {
      return verify(null, Buffer.from(message, 'utf8'), key, sig);
    } catch {
      return false;
    }
  };
}

/** The key object of a base64 SPKI DER Ed25519 public key in canonical spelling, else undefined. */
export function parseEd25519PublicKey(publicKey: string): KeyObject | undefined {
  const der = decodeCanonicalBase64(publicKey);
  if (!der) return undefined;
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes base64 only in its canonical spelling (standard alphabet, `=` padding, zero unused
 * bits, nothing else): the bytes re-encode to exactly the text. Node's own decoder also accepts
 * base64url, missing padding, spaces and stray characters, so a signature could be respelled
 * (changing the file) while still verifying. Returns undefined for anything else, or for "".
 *
 * @example
 * decodeCanonicalBase64('+/8BAg==') // <Buffer fb ff 01 02>
 * decodeCanonicalBase64('+/8BAg')   // undefined (padding stripped)
 */
export function decodeCanonicalBase64(text: string): Buffer | undefined {
  if (text === '' || !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * The canonical base64 of 64 bytes (an Ed25519 signature), as {@link decodeCanonicalBase64}
 * defines it, without decoding: 21 groups of four, then two characters for the last byte (the
 * second carries only its two high bits, so its four unused bits are zero: A, Q, g or w) and `==`.
 */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{85}[AQgw]==$/;

/** Whether `sig` is the canonical base64 of a 64-byte signature (what `decodeCanonicalBase64` decodes to 64 bytes). */
export function isCanonicalSignature(sig: string): boolean {
  return SIGNATURE_BASE64.test(sig);
}

/** SHA-256 (hex) of a base64 SPKI DER public key. */
export function fingerprintOf(publicKey: string): string {
  return createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('hex');
}

/** The public key as PEM, for `openssl pkeyutl -verify -pubin`. */
export function publicKeyPem(publicKey: string): string {
  const lines = publicKey.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

function describeKey(privateKey: KeyObject, path: string, origin: SigningKey['origin'], created: boolean): SigningKey {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = der.toString('base64');
  return { privateKey, publicKey, fingerprint: fingerprintOf(publicKey), path, origin, created };
}

function parsePrivateKey(pem: string, path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new CustodyError('E_CONFIG', `signing key ${showGivenPath(path)} is not a readable PEM private key: ${showFsError(cause)}`, {
      cause,
      resource: path,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CustodyError(
      'E_CONFIG',
      `signing key ${showGivenPath(path)} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519; create one with: openssl genpkey -algorithm ed25519 -out key.pem`,
      { resource: path },
    );
  }
  return key;
}

async function readKeyFile(path: string, code: 'E_CONFIG' | 'E_LEDGER'): Promise<string>;
async function readKeyFile(path: string, code: 'E_CONFIG' | 'E_LEDGER', missingOk: true): Promise<string | undefined>;
async function readKeyFile(path: string, code: 'E_CONFIG' | 'E_LEDGER', missingOk = false): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if (missingOk && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CustodyError(code, `cannot read signing key ${showGivenPath(path)}: ${showFsError(cause)}`, { cause, resource: path });
  }
}

/** Throws `E_CONFIG` when `path` is the case folder or inside it. */
export async function refuseInsideCase(path: string, caseDir: string, what: string): Promise<void> {
  // Compared where both really are: a link to a folder inside the case is inside it, whatever its name.
  const real = await realPathOfNearest(path);
  const rel = relative(await realPathOfNearest(caseDir), real);
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) {
    const leads = real === resolve(path) ? '' : ` (it leads to ${showGivenPath(real)})`;
    throw new CustodyError(
      'E_CONFIG',
      `${what} ${showGivenPath(path)}${leads} is inside the case folder ${showGivenPath(caseDir)}; keep signing keys outside it (the folder is handed to others)`,
      { resource: path },
    );
  }
}
