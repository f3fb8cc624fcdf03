/**
 * What a verifier knows from outside the case folder, as typed on a command line: the signing
 * key (its fingerprint, as collect prints it, or the public key itself) and the ledger head
 * (`SEQ:HASH`, as collect prints it). Malformed input is bad input (`E_INPUT`), never a case
 * that failed verification, and never silently ignored.
 */
import { createPublicKey } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { decodeCanonicalBase64 } from './signing-key.js';
// What was given is repeated in a refusal, but never a credential pasted by mistake (a private key
// where the public key goes): the message reaches a terminal and logs.
import { quoteOrWithhold, typeOfUntrusted } from './untrusted-text.js';

/** A key the ledger must pin: its SHA-256 fingerprint (lowercase hex) or its base64 SPKI DER. */
export type KeyExpectation = { fingerprint: string } | { publicKey: string };

/** The head the ledger must end at. */
export interface HeadExpectation {
  seq: number;
  hash: string;
}

/** The prefix collect prints before a key fingerprint; optional on input. */
export const FINGERPRINT_PREFIX = 'sha256:';

/** `sha256:<hex>`: how a key fingerprint is shown to people. */
export function formatFingerprint(fingerprint: string): string {
  return `${FINGERPRINT_PREFIX}${fingerprint}`;
}

/** `SEQ:HASH`: how a ledger head is shown to people. */
export function formatHead(head: HeadExpectation): string {
  return `${head.seq}:${head.hash}`;
}

// The prefix in either case too: a fingerprint copied from a document may have been upper-cased whole.
const FINGERPRINT = /^(?:sha256:)?([0-9a-f]{64})$/i;

/**
 * Parses `--expect-key`: `sha256:<64 hex>` or `<64 hex>` (the fingerprint collect prints, either
 * case), or the base64 public key pinned in `case.opened`. Throws `E_INPUT` for anything else.
 *
 * @example
 * parseKeyExpectation('sha256:e3011ea1…') // { fingerprint: 'e3011ea1…' }
 */
export function parseKeyExpectation(text: string, name = '--expect-key'): KeyExpectation {
  const fingerprint = FINGERPRINT.exec(text)?.[1];
  if (fingerprint) return { fingerprint: fingerprint.toLowerCase() };
  if (isEd25519PublicKey(text)) return { publicKey: text };
  throw new CustodyError(
    'E_INPUT',
    `${name} ${quoteOrWithhold(text)} is neither a key fingerprint (sha256:<64 hex digits>, as collect prints it) nor a base64 Ed25519 public key`,
  );
}

/**
 * Checks a public key given as one (the library's `{ publicKey }`): the base64 Ed25519 key pinned
 * in `case.opened`, nothing else. Throws `E_INPUT` naming `name` otherwise: a malformed key is the
 * caller's mistake, never a case that fails.
 */
export function parsePublicKeyExpectation(given: unknown, name: string): KeyExpectation {
  if (isEd25519PublicKey(given)) return { publicKey: given };
  throw new CustodyError('E_INPUT', `${name} ${typeof given === 'string' ? quoteOrWithhold(given) : typeOfUntrusted(given)} is not a base64 Ed25519 public key`);
}

/**
 * Parses `--expect-head SEQ:HASH` (as collect prints it). Throws `E_INPUT` for anything else.
 *
 * @example
 * parseHeadExpectation('189:5f0c…') // { seq: 189, hash: '5f0c…' }
 */
export function parseHeadExpectation(text: string, name = '--expect-head'): HeadExpectation {
  const match = /^([1-9][0-9]{0,15}):([0-9a-fA-F]{64})$/.exec(text);
  const seq = match ? Number(match[1]) : NaN;
  if (!match || !Number.isSafeInteger(seq)) {
    throw new CustodyError(
      'E_INPUT',
      `${name} ${quoteOrWithhold(text)} is not a ledger head: use SEQ:HASH (the entry number and its 64-hex hash), as collect prints it`,
    );
  }
  return { seq, hash: match[2]!.toLowerCase() };
}

/**
 * Whether `given` is an Ed25519 public key as `case.opened` pins it (the canonical base64 of its
 * SPKI DER): what either form of a key expectation given as the key itself must be.
 */
function isEd25519PublicKey(given: unknown): given is string {
  const der = typeof given === 'string' ? decodeCanonicalBase64(given) : undefined;
  if (!der) return false;
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}
