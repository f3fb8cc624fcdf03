/**
 * One ledger entry: how its hash is computed, how it is signed and checked, and what a
 * well-formed line looks like. Shared by the writer, resume and verify so they cannot disagree.
 */
import { hash } from 'node:crypto';
import type { LedgerEntry } from '../core/ports.js';
import { canonicalize } from './canonical-json.js';
import { signText, type SigningKey } from './signing-key.js';
import { quoteOrWithhold, quoteUntrusted } from './untrusted-text.js';

/** `prev` of the first entry. */
export const GENESIS_PREV = '0'.repeat(64);

/** The entry as hashed: every field but `hash` and `sig`. */
export type UnsealedEntry = Omit<LedgerEntry, 'hash' | 'sig'>;

/** `sha256hex(canonical(entry without hash and sig))`. */
export function hashEntry(entry: UnsealedEntry | LedgerEntry): string {
  return entryForms(entry).hash;
}

/** Adds `hash` and `sig` (Ed25519 over the hash's 64 hex characters, base64). */
export function sealEntry(entry: UnsealedEntry, key: SigningKey): LedgerEntry {
  const hash = hashEntry(entry);
  return { ...entry, hash, sig: signText(key, hash) };
}

/**
 * Seals an entry and renders its ledger line in one pass: `data` is canonicalised once and its
 * text shared by the hashed form and the line, which differ only by `hash` and `sig`. Equal to
 * `sealEntry` then `entryLine` (a test holds them equal); the ledger's append path uses it
 * because canonicalising every entry twice was a third of its CPU. `dataText`: the canonical text
 * of `entry.data` when the caller already wrote it in the same walk that made `data` (entry-data.ts).
 */
export function sealEntryLine(entry: UnsealedEntry, key: SigningKey, dataText?: string): { entry: LedgerEntry; line: string } {
  // RFC 8785 orders members by UTF-16 code units; the entry's members, in that order, are
  // actor, data, hash, prev, seq, sig, target, time, type.
  const before = `"actor":${canonicalize(entry.actor)},"data":${dataText ?? canonicalize(entry.data)}`;
  const middle = `"prev":${canonicalize(entry.prev)},"seq":${canonicalize(entry.seq)}`;
  const after = `${entry.target !== undefined ? `"target":${canonicalize(entry.target)},` : ''}"time":${canonicalize(entry.time)},"type":${canonicalize(entry.type)}`;
  // One-shot `hash` (no Hash object) costs half of createHash().update().digest() for an entry.
  const digest = hash('sha256', `{${before},${middle},${after}}`, 'hex');
  const sig = signText(key, digest);
  const line = `{${before},"hash":"${digest}",${middle},"sig":${canonicalize(sig)},${after}}\n`;
  return { entry: { ...entry, hash: digest, sig }, line };
}

/** The line written to ledger.jsonl: the canonical JSON of the whole entry, then `\n`. */
export function entryLine(entry: LedgerEntry): string {
  return `${canonicalize(entry)}\n`;
}

/**
 * An entry's hash and the line it must be written as, from one serialisation of each field:
 * verify needs both for every entry, and canonicalising the entry twice cost as much as checking
 * its signature. Throws like `canonicalize` when a field the hash covers cannot be canonicalised;
 * `line` is undefined when `hash` or `sig` cannot be (the hash must not depend on them).
 */
export function entryForms(entry: UnsealedEntry | LedgerEntry): { hash: string; line: string | undefined } {
  const fields = entry as unknown as Record<string, unknown>;
  const keys = Object.keys(fields).sort();
  let unsealed = '';
  let line: string | undefined = '';
  for (const key of keys) {
    if (key === 'hash' || key === 'sig') {
      if (line !== undefined) line = appendMember(line, key, fields[key]);
      continue;
    }
    const text = member(key, fields[key]);
    unsealed += unsealed === '' ? text : `,${text}`;
    if (line !== undefined) line += line === '' ? text : `,${text}`;
  }
  return { hash: hash('sha256', `{${unsealed}}`, 'hex'), line: line === undefined ? undefined : `{${line}}` };
}

/**
 * The text an entry's hash covers, cut from its line: the line without its `hash` and `sig`
 * members, when every member but `data` is spelled as the canonical form spells it (else
 * undefined). Verify hashes this instead of canonicalising every entry again, which cost it more
 * than half of its ledger walk. It proves nothing alone: when it hashes to `entry.hash` **and**
 * the pinned key's signature over that hash verifies, the signer hashed exactly these bytes, and
 * the writer only hashes canonical forms, so the line is the canonical form of what was signed
 * (`data` included: the members after it are spelled out here, so it is one complete value).
 * When the signature does not verify, only the canonical form says what is wrong.
 * `entry.sig` must already be known to be canonical base64 (no character JSON escapes).
 */
export function unsealedTextOf(line: string, entry: LedgerEntry): string | undefined {
  const head = `{"actor":${JSON.stringify(entry.actor)},"data":`;
  const middle = `,"prev":"${entry.prev}","seq":${entry.seq}`;
  const tail = `${entry.target !== undefined ? `,"target":${JSON.stringify(entry.target)}` : ''},"time":${JSON.stringify(entry.time)},"type":${JSON.stringify(entry.type)}}`;
  const sealedTail = `,"hash":"${entry.hash}"${middle},"sig":"${entry.sig}"${tail}`;
  if (line.length <= head.length + sealedTail.length || !line.startsWith(head) || !line.endsWith(sealedTail)) return undefined;
  return `${line.slice(0, line.length - sealedTail.length)}${middle}${tail}`;
}

function appendMember(line: string, key: string, value: unknown): string | undefined {
  try {
    const text = member(key, value);
    return line === '' ? text : `${line},${text}`;
  } catch {
    return undefined;
  }
}

function member(key: string, value: unknown): string {
  return `${JSON.stringify(key)}:${canonicalize(value, `$.${key}`)}`;
}

const HEX64 = /^[0-9a-f]{64}$/;
const FIELDS = new Set(['seq', 'time', 'type', 'actor', 'target', 'data', 'prev', 'hash', 'sig']);

/**
 * V8's error for text that is not JSON, without the start of the text it quotes raw in "Unexpected
 * token 'x', "…" is not valid JSON" (control characters, the first characters of a secret): the
 * token alone, quoted safely. Its other errors name a position, not the text.
 */
/** `JSON.parse`'s error without the raw start of the input V8 puts in it (a hostile file's bytes). */
export function jsonErrorOf(cause: Error): string {
  const token = /^Unexpected token '(.+?)', /su.exec(cause.message)?.[1];
  return token === undefined ? cause.message : `Unexpected token ${quoteUntrusted(token) ?? '(not shown)'}`;
}

/**
 * Parses one line into an entry, or says what is wrong with its shape. Values are not trusted
 * here; the chain walk checks hashes and signatures.
 */
export function parseEntryLine(line: string): { entry: LedgerEntry } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (cause) {
    return { error: `not valid JSON (${jsonErrorOf(cause as Error)})` };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'not a JSON object' };
  const e = raw as Record<string, unknown>;
  for (const key of Object.keys(e)) if (!FIELDS.has(key)) return { error: `unexpected field ${quoteOrWithhold(key)}` };
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) return { error: 'seq is not a positive integer' };
  if (typeof e.time !== 'string') return { error: 'time is not a string' };
  if (typeof e.type !== 'string' || e.type === '') return { error: 'type is missing' };
  if (typeof e.actor !== 'string') return { error: 'actor is not a string' };
  if (e.target !== undefined && typeof e.target !== 'string') return { error: 'target is not a string' };
  if (e.data === null || typeof e.data !== 'object' || Array.isArray(e.data)) return { error: 'data is not an object' };
  if (typeof e.prev !== 'string' || !HEX64.test(e.prev)) return { error: 'prev is not 64 hex characters' };
  if (typeof e.hash !== 'string' || !HEX64.test(e.hash)) return { error: 'hash is not 64 hex characters' };
  if (typeof e.sig !== 'string' || e.sig === '') return { error: 'sig is missing' };
  return { entry: e as unknown as LedgerEntry };
}
