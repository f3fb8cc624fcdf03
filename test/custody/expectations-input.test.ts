/**
 * A key or head expectation that is not one is refused (E_INPUT) with what was given, for the
 * examiner to see the mistake; but a private key pasted where the public key or fingerprint goes
 * is never repeated in the message (it reaches a terminal, a log, a CI job's output).
 */
import { describe, expect, it } from 'vitest';
import { parseHeadExpectation, parseKeyExpectation, parsePublicKeyExpectation } from '../../src/custody/expectations.js';

const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ5vZg1Q5xbbqZ9d8nH2WJd5b2Z8o4r7Lr5m7Y9mF3e1\n-----END PRIVATE KEY-----\n';

function refusal(parse: () => unknown): { code?: string; message: string } {
  try {
    parse();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('not refused');
}

describe('a key or head expectation given wrong', () => {
  it.each([
    ['--expect-key', () => parseKeyExpectation(PRIVATE_KEY), '--expect-key (not shown: it looks like a private key) is neither a key fingerprint'],
    ['expectKey.publicKey', () => parsePublicKeyExpectation(PRIVATE_KEY, 'expectKey.publicKey'), 'expectKey.publicKey (not shown: it looks like a private key) is not a base64 Ed25519 public key'],
    ['--expect-head', () => parseHeadExpectation(PRIVATE_KEY), '--expect-head (not shown: it looks like a private key) is not a ledger head'],
  ])('%s: a private key given is refused without repeating it', (_name, parse, says) => {
    const { code, message } = refusal(parse);
    expect(code).toBe('E_INPUT');
    expect(message.startsWith(says), message).toBe(true);
    expect(message).not.toContain('MC4CAQAw');
  });

  it('an ordinary mistake is still shown, quoted as given', () => {
    expect(refusal(() => parseKeyExpectation('sha256:abc')).message).toMatch(/^--expect-key "sha256:abc" is neither/);
    expect(refusal(() => parsePublicKeyExpectation('not-a-key', 'expectKey.publicKey')).message).toBe('expectKey.publicKey "not-a-key" is not a base64 Ed25519 public key');
    expect(refusal(() => parseHeadExpectation('12:xyz')).message).toMatch(/^--expect-head "12:xyz" is not a ledger head/);
  });
});
