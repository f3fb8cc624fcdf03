/**
 * Walks ledger.jsonl: line shape, seq continuity, prev links, recomputed hashes and every
 * signature against the key pinned in the first entry. Used by verify (report everything) and by
 * resume (refuse on the first problem).
 */
import { hash } from 'node:crypto';
import type { LedgerEntry } from '../core/ports.js';
import { entryForms, GENESIS_PREV, parseEntryLine, unsealedTextOf } from './entry.js';
import type { Problem } from './problems.js';
import { showUntrusted } from './untrusted-text.js';
import { decodeCanonicalBase64, fingerprintOf, isCanonicalSignature, textVerifier } from './signing-key.js';

export interface ChainResult {
  /** Well-formed entries, in file order (including ones with a bad hash or signature). */
  entries: LedgerEntry[];
  /** Chain problems in line order; the first one is the first thing that does not match. */
  problems: Problem[];
  /** The public key pinned by `case.opened` (base64 SPKI DER). */
  publicKey?: string;
  caseId?: string;
}

export interface CheckChainOptions {
  /** A public key known from elsewhere (printed at case open, kept by counsel). */
  expectedPublicKey?: string;
  /** Its SHA-256 fingerprint (lowercase hex), as collect prints it. */
  expectedFingerprint?: string;
}

/** Checks the text of a ledger. Never throws for bad content: it reports it. */
export function checkChain(text: string, options: CheckChainOptions = {}): ChainResult {
  const walk = walkChain(text, options);
  const check = walk.publicKey !== undefined ? textVerifier(walk.publicKey) : () => false;
  return settleChain(
    walk,
    walk.signatures.map((s) => check(s.hash, s.sig)),
  );
}

/** A signature the walk leaves to be checked: Ed25519 by the pinned key over the entry's hash. */
export interface PendingSignature {
  hash: string;
  /** Canonical base64 of 64 bytes (the walk has checked its spelling). */
  sig: string;
}

/**
 * A ledger walked for everything but its signatures, which are the bulk of the work: verify
 * checks them on another thread while it hashes the evidence files ({@link settleChain} then
 * puts each verdict in its place).
 */
export interface ChainWalk {
  entries: LedgerEntry[];
  /** The 1-based line of ledger.jsonl each of `entries` was read from (not its seq, which may be wrong). */
  entryLines: number[];
  publicKey?: string;
  caseId?: string;
  /** Problems in line order, with a placeholder where a signature's verdict decides. */
  steps: Array<Problem | SignatureStep>;
  /** The signatures to check, by the pinned key; `SignatureStep.pending` indexes this. */
  signatures: PendingSignature[];
}

interface SignatureStep {
  pending: number;
  entry: LedgerEntry;
  line: number;
  /** The entry is otherwise sound but its line is not canonical (what differs): said only if the signature verifies. */
  nonCanonical: string | undefined;
  /** Its hash was checked over the line's own bytes ({@link unsealedTextOf}), not the canonical form. */
  hashedAsWritten: boolean;
}

/**
 * Called once the first entry pins a key, with at most how many signatures may follow; what it
 * returns is handed every signature the walk leaves to be checked, in order, as it reaches it.
 */
export type SignatureHandOver = (publicKey: string, expected: number) => (pending: PendingSignature) => void;

/**
 * Checks everything but the signatures; never throws for bad content. With `handOver`, each
 * signature is also handed over as soon as the walk reaches it (verify starts checking them on a
 * worker thread while the walk goes on).
 */
export function walkChain(text: string, options: CheckChainOptions = {}, handOver?: SignatureHandOver): ChainWalk {
  const steps: ChainWalk['steps'] = [];
  const signatures: PendingSignature[] = [];
  let hand: ((pending: PendingSignature) => void) | undefined;
  const pend = (entry: LedgerEntry) => {
    signatures.push(entry);
    hand?.(entry);
  };
  const entries: LedgerEntry[] = [];
  const entryLines: number[] = [];
  const error = (problem: Omit<Problem, 'severity'>) => steps.push({ severity: 'error', ...problem });
  const gaps: SeqGap[] = [];

  // A byte order mark (EF BB BF) is what an editor that saved the file on Windows adds: named as
  // such, and the entries are checked without it rather than line 1 reported as not JSON and the
  // whole ledger left without its pinned key.
  const bom = text.startsWith('\uFEFF');
  if (bom) {
    error({
      kind: 'non-canonical-line',
      line: 1,
      message: 'ledger.jsonl starts with a byte order mark (bytes EF BB BF, as an editor saving on Windows adds): bytes outside the entries were added; the entries are checked without it',
    });
  }
  const lines = (bom ? text.slice(1) : text).split('\n');
  const last = lines.pop();
  if (last !== undefined && last !== '') {
    const lineNo = lines.length + 1;
    const parsed = parseEntryLine(last);
    if ('entry' in parsed) {
      // Only its newline is missing (an editor that drops the final newline): still checked as an
      // entry, so the verdict names that and nothing it did not cause.
      error({
        kind: 'partial-line',
        entrySeq: parsed.entry.seq,
        line: lineNo,
        message: `line ${lineNo} of ledger.jsonl has no newline at the end, though it holds a whole entry (entry ${parsed.entry.seq}, ${parsed.entry.type}): the final newline was removed after it was written (an editor), or the write stopped just before it; the entry is checked as it stands`,
      });
      lines.push(last);
    } else {
      error({
        kind: 'partial-line',
        line: lineNo,
        message: `line ${lineNo} of ledger.jsonl is incomplete (no newline at the end): the writing run was interrupted, or the file was cut`,
      });
    }
  }

  let publicKey: string | undefined;
  let caseId: string | undefined;
  let expectedSeq = 1;
  let prev = GENESIS_PREV;

  lines.forEach((line, index) => {
    const lineNo = index + 1;
    const parsed = line === '' ? { error: 'empty line' } : parseEntryLine(line);
    if ('error' in parsed) {
      error({ kind: 'malformed-entry', line: lineNo, message: `line ${lineNo} is not a ledger entry: ${parsed.error}` });
      return;
    }
    const entry = parsed.entry;
    entries.push(entry);
    entryLines.push(lineNo);
    // Where and what, written out only for a problem: most entries have none.

    if (lineNo === 1) {
      const pinned = entry.data.publicKey;
      if (entry.type !== 'case.opened' || typeof pinned !== 'string' || !decodeCanonicalBase64(pinned) || entry.data.keyAlgorithm !== 'Ed25519') {
        error({ entrySeq: entry.seq, line: lineNo, kind: 'no-pinned-key', message: `${nameOf(entry, lineNo)} is not a case.opened entry pinning an Ed25519 public key (canonical base64 SPKI DER); signatures cannot be checked` });
      } else {
        publicKey = pinned;
        hand = handOver?.(pinned, lines.length);
        if (typeof entry.data.caseId === 'string') caseId = entry.data.caseId;
        const mismatch =
          (options.expectedPublicKey !== undefined && options.expectedPublicKey !== pinned) ||
          (options.expectedFingerprint !== undefined && options.expectedFingerprint !== fingerprintOf(pinned));
        if (mismatch) {
          const expected = options.expectedFingerprint ?? fingerprintOf(options.expectedPublicKey ?? '');
          error({
            entrySeq: entry.seq, line: lineNo,
            kind: 'key-mismatch',
            message: `the ledger pins key sha256:${fingerprintOf(pinned)}, not the expected sha256:${expected}: the whole ledger may have been re-signed`,
          });
        }
      }
    }

    if (entry.seq !== expectedSeq) {
      const said = `${nameOf(entry, lineNo)}: expected seq ${expectedSeq}, found ${entry.seq}`;
      if (entry.seq > expectedSeq) {
        // Missing here, or only elsewhere (reordered): said once the whole ledger is walked.
        const problem: Problem = { severity: 'error', entrySeq: entry.seq, line: lineNo, kind: 'seq-mismatch', message: said };
        steps.push(problem);
        gaps.push({ problem, from: expectedSeq, to: entry.seq - 1 });
      } else {
        error({ entrySeq: entry.seq, line: lineNo, kind: 'seq-mismatch', message: `${said}: it repeats or goes back (an inserted or reordered entry)` });
      }
    }
    let sound = true;
    if (entry.prev !== prev) {
      sound = false;
      error({ entrySeq: entry.seq, line: lineNo, kind: 'broken-link', message: `${nameOf(entry, lineNo)}: prev does not match the hash of the entry before it` });
    }
    // The common case, without canonicalising the entry: the line minus hash and sig hashes to
    // its hash. Sound if the signature verifies (see unsealedTextOf); settleChain asks the
    // canonical form what is wrong if it does not.
    const spelled = isCanonicalSignature(entry.sig);
    const unsealed = spelled && publicKey !== undefined ? unsealedTextOf(line, entry) : undefined;
    if (unsealed !== undefined && hash('sha256', unsealed, 'hex') === entry.hash) {
      steps.push({ pending: signatures.length, entry, line: lineNo, nonCanonical: undefined, hashedAsWritten: true });
      pend(entry);
      expectedSeq = entry.seq + 1;
      prev = entry.hash;
      return;
    }
    const forms = safeForms(entry);
    if (forms?.hash !== entry.hash) {
      sound = false;
      error(hashMismatch(entry, lineNo));
    } else if (!spelled) {
      sound = false;
      error({
        entrySeq: entry.seq, line: lineNo,
        kind: 'bad-signature',
        message: `${nameOf(entry, lineNo)}: sig is not the canonical base64 of a 64-byte Ed25519 signature (88 characters ending in "="; the field was respelled or changed)`,
      });
    } else if (publicKey !== undefined) {
      // Whether this entry is sound now rests on its signature: the verdict decides what is said.
      steps.push({ pending: signatures.length, entry, line: lineNo, nonCanonical: sound ? nonCanonicalWhy(line, forms) : undefined, hashedAsWritten: false });
      pend(entry);
      sound = false; // reported by settleChain
    }
    const why = sound ? nonCanonicalWhy(line, forms) : undefined;
    if (why !== undefined) error({ entrySeq: entry.seq, line: lineNo, kind: 'non-canonical-line', message: `${nameOf(entry, lineNo)}: ${why}` });
    // Resynchronise on what the line claims, so one bad entry is reported once, not cascaded.
    expectedSeq = entry.seq + 1;
    prev = entry.hash;
  });

  if (lines.length === 0 && steps.length === 0) {
    error({ kind: 'malformed-entry', message: 'ledger.jsonl has no entries' });
  }
  if (gaps.length > 0) describeGaps(gaps, entries, entryLines);
  return { entries, entryLines, steps, signatures, ...(publicKey ? { publicKey } : {}), ...(caseId ? { caseId } : {}) };
}

/** The chain's result, given one verdict per pending signature of `walk` (true: it verifies). */
export function settleChain(walk: ChainWalk, verdicts: readonly boolean[]): ChainResult {
  const problems: Problem[] = [];
  for (const step of walk.steps) {
    if (!('pending' in step)) {
      problems.push(step);
    } else if (verdicts[step.pending] !== true) {
      // Hashed as written, the line could also be a changed entry with a hash to match: which of
      // the two it is, the canonical form says, as it does for every other entry.
      if (step.hashedAsWritten && safeForms(step.entry)?.hash !== step.entry.hash) {
        problems.push({ severity: 'error', ...hashMismatch(step.entry, step.line) });
        continue;
      }
      problems.push({
        severity: 'error',
        entrySeq: step.entry.seq,
        line: step.line,
        kind: 'bad-signature',
        message: `${nameOf(step.entry, step.line)}: signature does not verify with the pinned key`,
      });
    } else if (step.nonCanonical !== undefined) {
      problems.push({
        severity: 'error',
        entrySeq: step.entry.seq,
        line: step.line,
        kind: 'non-canonical-line',
        message: `${nameOf(step.entry, step.line)}: ${step.nonCanonical}; the entry's values, hash and signature match`,
      });
    }
  }
  return {
    entries: walk.entries,
    problems,
    ...(walk.publicKey ? { publicKey: walk.publicKey } : {}),
    ...(walk.caseId ? { caseId: walk.caseId } : {}),
  };
}

/** Entries `from..to` were expected before the line of `problem` (whose message ends without the why). */
interface SeqGap {
  problem: Problem;
  from: number;
  to: number;
}

/**
 * Says of each gap in the sequence whether its entries are missing or only elsewhere in the
 * ledger (reordered): "missing" for an entry that is still there, lines later, would send the
 * reader looking for a removal that did not happen. Runs only when the sequence has a gap.
 */
function describeGaps(gaps: readonly SeqGap[], entries: readonly LedgerEntry[], entryLines: readonly number[]): void {
  // The first line of each seq.
  const lineOf = new Map<number, number>();
  entries.forEach((entry, k) => {
    if (!lineOf.has(entry.seq)) lineOf.set(entry.seq, entryLines[k]!);
  });
  for (const { problem, from, to } of gaps) {
    const count = to - from + 1;
    const found: Array<[seq: number, line: number]> = [];
    if (count <= lineOf.size) {
      for (let seq = from; seq <= to; seq++) {
        const line = lineOf.get(seq);
        if (line !== undefined) found.push([seq, line]);
      }
    } else {
      for (const [seq, line] of lineOf) if (seq >= from && seq <= to) found.push([seq, line]);
      found.sort((a, b) => a[0] - b[0]);
    }
    const range = count === 1 ? `entry ${from}` : `entries ${from}..${to}`;
    let why: string;
    const first = found[0];
    if (!first) why = `${range} ${count === 1 ? 'is' : 'are'} missing before it`;
    else if (found.length === count && count === 1) why = `entry ${from} is not before it but at line ${first[1]}: the entries are out of order`;
    else if (found.length === count) why = `${range} are not before it but elsewhere in the ledger (entry ${first[0]} at line ${first[1]}): the entries are out of order`;
    else why = `${range} are not before it: ${are(found.length)} elsewhere in the ledger, out of order (entry ${first[0]} at line ${first[1]}), and ${are(count - found.length)} missing`;
    problem.message = `${problem.message}: ${why}`;
  }
}

function are(n: number): string {
  return `${n} ${n === 1 ? 'is' : 'are'}`;
}

function hashMismatch(entry: LedgerEntry, line: number): Omit<Problem, 'severity'> {
  return { entrySeq: entry.seq, line, kind: 'hash-mismatch', message: `${nameOf(entry, line)}: content does not match its hash (the entry was changed)` };
}

function nameOf(entry: LedgerEntry, line: number): string {
  return `entry ${entry.seq} (line ${line}, ${showUntrusted(entry.type)})`;
}

/** The entry's canonical texts, or undefined when it cannot be canonicalised (its hash cannot match). */
function safeForms(entry: LedgerEntry): ReturnType<typeof entryForms> | undefined {
  try {
    return entryForms(entry);
  } catch {
    return undefined; // e.g. a lone surrogate smuggled in through a \ud800 escape
  }
}

/**
 * What is wrong with a line whose entry is otherwise sound, or undefined when it is canonical. A
 * CR LF line ending (a Windows copy, git's core.autocrlf) is the commonest such change: named as
 * what it is, so counsel reads an accident of transport, not an unexplained change.
 */
function nonCanonicalWhy(line: string, forms: ReturnType<typeof entryForms> | undefined): string | undefined {
  if (isCanonicalLine(line, forms)) return undefined;
  if (forms?.line !== undefined && line === `${forms.line}\r`) {
    return 'the line ends in a carriage return (a CR LF line ending, as a Windows copy or git core.autocrlf writes): a byte outside the hashed values was added';
  }
  return 'the line is not in canonical form (bytes were changed outside the hashed values)';
}

function isCanonicalLine(line: string, forms: ReturnType<typeof entryForms> | undefined): boolean {
  return forms?.line === line;
}
