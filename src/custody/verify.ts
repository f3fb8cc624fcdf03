/**
 * `custody verify`: re-walks the ledger chain, checks every signature with the pinned key,
 * checks the signed manifest against the ledger, and re-hashes every evidence file. Names the
 * first entry or file that does not match. Reads only; never changes the case folder.
 */
// Synchronous calls for the whole files verify needs (ledger, manifest) and the case root: one
// read of the size fstat gives, where the promise API reads 512 KiB at a time through the thread
// pool and joins the pieces. (Evidence files: file-hash.ts.)
import { lstatSync, readdirSync, readFileSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { LedgerEntry } from '../core/ports.js';
import { sameJson } from './canonical-json.js';
import { settleChain, walkChain } from './chain.js';
import { copyRecordWarning, isCopyRecord, sealIndex } from './copy-records.js';
import { readLockHolder } from './case-lock.js';
import { checkDiskImages, recordedImages } from './disk-images.js';
import { hashBuffers, hashRegularFile, inodeOf, isNothingThere, type EvidenceFileState } from './file-hash.js';
import { evidenceRecordProblem, type EvidenceRecord } from './evidence-record.js';
import { jsonErrorOf } from './entry.js';
import { EVIDENCE_DIR, FILE_ENTRY_TYPES, HASH_PROGRESS_DIR, LEDGER_FILE, LOCK_FILE, MANIFEST_FILE, MANIFEST_TEMP_FILE, PARTIAL_DIR, REPORT_FILES } from './layout.js';
import { notARegularFile } from './fs-util.js';
import { linkedFolderFinder } from './linked-folders.js';
import { collectEvidenceItems, itemDifference, ITEM_ENTRY_TYPES, verifyManifestSignature, type Manifest } from './manifest.js';
import { startSignatureChecks, type SignatureChecks } from './signature-check.js';
import type { Problem } from './problems.js';
import { fingerprintOf } from './signing-key.js';
import { formatFingerprint, formatHead, type HeadExpectation } from './expectations.js';
import { showFsError, showUntrusted } from './untrusted-text.js';

export { REPORT_FILES } from './layout.js';

export interface VerifyOptions {
  /** A public key (base64 SPKI DER) known from elsewhere; a ledger pinning another key fails. */
  expectedPublicKey?: string;
  /** A key fingerprint (SHA-256 of the SPKI DER, lowercase hex) known from elsewhere. */
  expectedFingerprint?: string;
  /**
   * The ledger head known from elsewhere (printed by collect): a ledger that ends anywhere else
   * (cut back, extended, or with another last entry) fails.
   */
  expectedHead?: HeadExpectation;
  /**
   * A case without `case.closed` at its head fails (`not-closed`) instead of only warning: entries
   * cut from the end of an open case cannot be noticed, so only a closed case is vouched for.
   */
  requireClosed?: boolean;
}

export interface VerifyResult {
  /** True when there is no problem of severity `error`. */
  ok: boolean;
  caseId?: string;
  /** The case was closed: manifest.json is present, valid, and its head is the last entry. */
  closed: boolean;
  /** Number of well-formed ledger entries. */
  entries: number;
  head?: { seq: number; hash: string };
  publicKey?: string;
  fingerprint?: string;
  evidence: { files: number; verified: number; artifacts: number };
  /** Failures, in order: ledger lines first, then the manifest, then files. */
  problems: Problem[];
  /** Reported, but the case still verifies (not closed, leftover temp files, …). */
  warnings: Problem[];
  /** The first thing that does not match. */
  firstProblem?: Problem;
}

/**
 * Verifies a case folder. Never throws for bad content; problems are data.
 *
 * @example
 * const result = await verifyCase('cases/IR-2024-001');
 * if (!result.ok) console.error(result.firstProblem?.message);
 */
export async function verifyCase(caseDir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const fail = (p: Omit<Problem, 'severity'>): Problem => {
    const problem: Problem = { severity: 'error', ...p };
    problems.push(problem);
    return problem;
  };
  const warn = (p: Omit<Problem, 'severity'>) => warnings.push({ severity: 'warning', ...p });

  let text: string;
  try {
    // As for manifest.json and every evidence file: a symlink is not the case's own ledger, and a
    // FIFO planted under its name would block the read for ever.
    const what = notARegularFile(join(caseDir, LEDGER_FILE));
    if (what !== undefined) {
      fail({ kind: 'ledger-missing', path: LEDGER_FILE, message: `${LEDGER_FILE} is not a regular file (it is ${what}): the case's ledger was replaced` });
      return finish({ problems, warnings, closed: false, entries: [], evidence: { files: 0, verified: 0, artifacts: 0 } });
    }
    text = readFileSync(join(caseDir, LEDGER_FILE), 'utf8');
  } catch (cause) {
    fail({
      kind: 'ledger-missing',
      path: LEDGER_FILE,
      message: isNothingThere(cause)
        ? `${LEDGER_FILE} is missing: the case's signed record was removed (or not copied with the folder), so nothing in the folder can be checked`
        : `cannot read ${LEDGER_FILE}: ${showFsError(cause, caseDir)}`,
    });
    return finish({ problems, warnings, closed: false, entries: [], evidence: { files: 0, verified: 0, artifacts: 0 } });
  }

  // The signatures are checked (on a worker thread for a large ledger, from the moment the first
  // entry pins the key) while the rest of the ledger is walked and the manifest and the files are
  // checked: they do not depend on each other. The chain's problems still come first.
  const pinned: { checks?: SignatureChecks } = {};
  const walk = walkChain(text, options, (publicKey, expected) => {
    const checks = startSignatureChecks(publicKey, expected);
    pinned.checks = checks;
    return (pending) => checks.add(pending);
  });
  const signatures = pinned.checks ?? startSignatureChecks(undefined, 0);
  const entries = walk.entries;
  const items = collectEvidenceItems(entries);
  const closed = await checkManifest(caseDir, walk.publicKey, walk.caseId, entries, items, fail, options.requireClosed ? { report: fail, allowed: false } : { report: warn, allowed: true });
  if (options.expectedHead) checkHead(entries, options.expectedHead, fail);
  const copyNote = closed ? copyRecordWarning(entries) : undefined;
  if (copyNote) warn({ kind: 'copy-not-recorded', path: LEDGER_FILE, message: copyNote });
  // Raw disk images written into the case folder (`--image`) are re-hashed like evidence, after
  // the evidence files (a case without images pays one pass over the entries for them).
  // A disk.imaged entry that cannot describe its image is named with the malformed evidence entries.
  const images = recordedImages(entries, walk.entryLines, fail);
  const verified = (await checkFiles(caseDir, entries, walk.entryLines, fail, warn)) + (await checkDiskImages(caseDir, images.inside, fail));
  await checkCaseRoot(caseDir, warn, images.roots, closed);
  const chain = settleChain(walk, await signatures.finish());

  const last = entries[entries.length - 1];
  return finish({
    problems: chain.problems.concat(problems),
    warnings,
    closed,
    entries,
    evidence: { files: items.files.length, verified, artifacts: items.artifacts.length },
    ...(chain.caseId ? { caseId: chain.caseId } : {}),
    ...(chain.publicKey ? { publicKey: chain.publicKey } : {}),
    ...(last ? { head: { seq: last.seq, hash: last.hash } } : {}),
  });
}

function finish(parts: {
  problems: Problem[];
  warnings: Problem[];
  closed: boolean;
  entries: LedgerEntry[];
  evidence: VerifyResult['evidence'];
  caseId?: string;
  publicKey?: string;
  head?: VerifyResult['head'];
}): VerifyResult {
  const first = parts.problems[0];
  return {
    ok: parts.problems.length === 0,
    ...(parts.caseId ? { caseId: parts.caseId } : {}),
    closed: parts.closed,
    entries: parts.entries.length,
    ...(parts.head ? { head: parts.head } : {}),
    ...(parts.publicKey ? { publicKey: parts.publicKey, fingerprint: fingerprintOf(parts.publicKey) } : {}),
    evidence: parts.evidence,
    problems: parts.problems,
    warnings: parts.warnings,
    ...(first ? { firstProblem: first } : {}),
  };
}

type Report = (p: Omit<Problem, 'severity'>) => void;
/** Reports an error and returns it, for a message a later finding completes. */
type Failure = (p: Omit<Problem, 'severity'>) => Problem;

/** Checks manifest.json against the ledger; returns whether the case is properly closed. */
async function checkManifest(
  caseDir: string,
  publicKey: string | undefined,
  caseId: string | undefined,
  entries: readonly LedgerEntry[],
  items: ReturnType<typeof collectEvidenceItems>,
  fail: Report,
  /** How an open case is reported, and whether the caller allowed it (then --allow-open is not suggested: it was given). */
  notClosed: { report: Report; allowed: boolean },
): Promise<boolean> {
  const path = MANIFEST_FILE;
  const last = entries[entries.length - 1];
  const info = lstatOrUndefined(join(caseDir, MANIFEST_FILE));
  if (!info) {
    // The seal: case.closed at the end, or followed only by the records of its copy.
    const seal = entries[sealIndex(entries)];
    // The command that finishes it, with its case id when the ledger names one.
    const resume = caseId !== undefined ? `custody collect --case ${showUntrusted(caseId)} --resume` : 'collect --resume';
    const remedy = notClosed.allowed ? `it was checked up to its last entry; finish it with ${resume}` : `finish it with ${resume}, or verify it with --allow-open to check it up to its last entry`;
    if (seal && lstatOrUndefined(join(caseDir, MANIFEST_TEMP_FILE))?.isFile()) {
      // Closing makes this temp file before it appends case.closed and renames it into place
      // last: the close did not finish, and no manifest was ever in place to be removed. Nothing
      // seals the ledger, so it is reported as any open case is.
      notClosed.report({
        kind: 'not-closed',
        entrySeq: seal.seq,
        path,
        message:
          `closing did not finish: the ledger ends in case.closed (entry ${seal.seq}) but manifest.json was never put in place (its unfinished write ${MANIFEST_TEMP_FILE} is there), ` +
          `so the case is not sealed and entries cut from its end could not be noticed; ${remedy}`,
      });
      return false;
    }
    if (seal) {
      // Closing writes the manifest right after case.closed; only its removal explains this, and
      // without it a ledger cut back to an earlier entry could no longer be noticed.
      fail({
        kind: 'manifest-missing',
        entrySeq: seal.seq,
        path,
        message: `the ledger ends in case.closed (entry ${seal.seq}) but manifest.json is missing: the signed manifest of a closed case was removed (a close that did not finish leaves ${MANIFEST_TEMP_FILE}; there is none)`,
      });
      return false;
    }
    notClosed.report({
      kind: 'not-closed',
      ...(last ? { entrySeq: last.seq } : {}),
      path,
      message: `the case is not closed (its ledger ends in ${last?.type ?? 'no entry'}, not case.closed, and there is no manifest.json): entries cut from its end could not be noticed; ${remedy}`,
    });
    return false;
  }
  if (!info.isFile()) {
    fail({ kind: 'manifest-invalid', path, message: 'manifest.json is not a regular file (the signed manifest was replaced)' });
    return false;
  }
  let text: string;
  try {
    text = readFileSync(join(caseDir, MANIFEST_FILE), 'utf8');
  } catch (cause) {
    fail({ kind: 'manifest-invalid', path, message: `cannot read manifest.json: ${showFsError(cause, caseDir)}` });
    return false;
  }
  if (text.startsWith('\uFEFF')) {
    // As for the ledger: named as what it is, and the manifest is checked without it.
    fail({ kind: 'manifest-invalid', path, message: 'manifest.json starts with a byte order mark (bytes EF BB BF, as an editor saving on Windows adds): bytes were added; it is checked without them' });
    text = text.slice(1);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (cause) {
    fail({ kind: 'manifest-invalid', path, message: `manifest.json is not valid JSON: ${jsonErrorOf(cause as Error)}` });
    return false;
  }
  if (manifest === null || typeof manifest !== 'object' || typeof manifest.ledgerHead?.seq !== 'number') {
    fail({ kind: 'manifest-invalid', path, message: 'manifest.json has no ledger head' });
    return false;
  }
  if (!publicKey) {
    // Nothing says the manifest changed: the ledger's own first problem is why it cannot be checked.
    fail({ kind: 'manifest-signature', path, message: 'the signature of manifest.json cannot be checked: the ledger pins no key (see the ledger problems)' });
    return false;
  }
  if (manifest.publicKey !== publicKey) {
    fail({ kind: 'manifest-signature', path, message: otherKeyMessage(manifest, publicKey, caseId) });
    return false;
  }
  if (!verifyManifestSignature(manifest, publicKey)) {
    fail({ kind: 'manifest-signature', path, message: 'the signature of manifest.json does not verify with the pinned key (the manifest was changed)' });
    return false;
  }
  if (caseId !== undefined && manifest.caseId !== caseId) {
    // Either id may be anything a tampered file says (a manifest's need not even be text).
    fail({ kind: 'manifest-mismatch', path, message: `manifest.json is for case ${showUntrusted(String(manifest.caseId))}, the ledger for ${showUntrusted(caseId)}` });
  }
  const head = manifest.ledgerHead;
  const atHead = entries.find((e) => e.seq === head.seq);
  if (!atHead) {
    const lastSeq = last?.seq ?? 0;
    fail({
      kind: 'truncated',
      entrySeq: lastSeq + 1,
      path: LEDGER_FILE,
      message: `the ledger ends at entry ${lastSeq} but the signed manifest records its head as entry ${head.seq}: ${wereCut(lastSeq + 1, head.seq, 'removed')}`,
    });
    return false;
  }
  if (atHead.hash !== head.hash) {
    fail({ kind: 'manifest-mismatch', entrySeq: head.seq, path, message: `entry ${head.seq} does not have the hash the manifest records for the ledger head` });
    return false;
  }
  const afterSeal = entries.filter((e) => e.seq > head.seq);
  // The items of the whole ledger are those up to the head unless an entry after it records one.
  const expected = afterSeal.some((e) => ITEM_ENTRY_TYPES.has(e.type)) ? collectEvidenceItems(entries.filter((e) => e.seq <= head.seq)) : items;
  if (!sameJson({ f: manifest.files, a: manifest.artifacts }, { f: expected.files, a: expected.artifacts })) {
    const which = itemDifference(manifest, expected);
    fail({
      kind: 'manifest-mismatch',
      ...(which?.entrySeq !== undefined ? { entrySeq: which.entrySeq } : {}),
      path,
      message: `the evidence listed in manifest.json differs from what the ledger records${which ? `: ${which.message}` : ' (in the order or repetition of its items)'}`,
    });
  }
  // The records of the off-machine copy are appended after the seal (copy-records.ts); any other
  // entry there means the ledger was extended behind the manifest's back.
  if (atHead.type === 'case.closed' && afterSeal.length > 0 && afterSeal.every(isCopyRecord)) return true;
  if (last && last.seq > head.seq) {
    fail({
      kind: 'manifest-stale',
      entrySeq: head.seq + 1,
      path,
      message: `the ledger continues past the manifest head (entry ${head.seq}) to entry ${last.seq}; a resumed case removes its manifest, so this one was put back or the ledger was extended`,
    });
    return false;
  }
  return atHead.type === 'case.closed';
}

/**
 * A manifest that names another key than the ledger pins: both by their fingerprints, as collect
 * prints them, so the examiner can tell which key signed what and hold either to --expect-key.
 * The ledger's key is always pinned by its first entry.
 */
function otherKeyMessage(manifest: Manifest, publicKey: string, caseId: string | undefined): string {
  const pinned = `${formatFingerprint(fingerprintOf(publicKey))} (entry 1)`;
  if (typeof manifest.publicKey !== 'string') return `manifest.json names no public key; the ledger pins ${pinned}`;
  const named = formatFingerprint(fingerprintOf(manifest.publicKey));
  if (caseId !== undefined && typeof manifest.caseId === 'string' && manifest.caseId !== caseId) {
    return `manifest.json is for case ${showUntrusted(manifest.caseId)}, signed with key ${named}; the ledger is case ${showUntrusted(caseId)}'s, pinning ${pinned}: another case's manifest was put in its place`;
  }
  return `manifest.json names key ${named}, but the ledger pins ${pinned}: the manifest was signed with another key (compare both with the fingerprint collect printed; --expect-key checks the ledger's)`;
}

/** The ledger must end exactly at the head the verifier was given. */
function checkHead(entries: readonly LedgerEntry[], want: HeadExpectation, fail: Report): void {
  const last = entries[entries.length - 1];
  if (last && last.seq === want.seq && last.hash === want.hash) return;
  const expected = formatHead(want);
  const atSeq = entries.find((e) => e.seq === want.seq);
  let why: string;
  if (!last) why = 'the ledger has no entries';
  else if (atSeq && atSeq.hash !== want.hash) why = `entry ${want.seq} has another hash (${atSeq.hash}): the ledger was rewritten`;
  else if (last.seq < want.seq) why = `the ledger ends at entry ${last.seq}: ${wereCut(last.seq + 1, want.seq, 'cut from its end')}`;
  else why = `the ledger continues to entry ${last.seq}: ${last.seq - want.seq === 1 ? '1 entry was' : `${last.seq - want.seq} entries were`} added after the expected head`;
  fail({
    kind: 'head-mismatch',
    entrySeq: Math.min(last?.seq ?? 1, want.seq),
    path: LEDGER_FILE,
    message: `the ledger does not end at the expected head ${expected}: ${why}`,
  });
}

/** "entry 9 was removed", "entries 9..10 were removed". */
function wereCut(from: number, to: number, how: string): string {
  return from === to ? `entry ${from} was ${how}` : `entries ${from}..${to} were ${how}`;
}

/** Re-hashes every recorded file and looks for files nobody recorded. Returns how many matched. */
async function checkFiles(caseDir: string, entries: readonly LedgerEntry[], entryLines: readonly number[], fail: Failure, warn: Report): Promise<number> {
  const recorded = new Map<string, { sha256: string; size: number; seq: number }>();
  // Per path, the entry that recorded it last: a recovered file later stored again with the same
  // bytes by the run that collected them is attested from then on.
  const latest = new Map<string, LedgerEntry>();
  entries.forEach((entry, k) => {
    if (!FILE_ENTRY_TYPES.has(entry.type)) return;
    const malformed = evidenceRecordProblem(entry.data);
    if (malformed !== undefined) {
      // No path of the problem: the entry's is not one, and is shown only quoted in the message.
      const line = entryLines[k]!;
      fail({ kind: 'malformed-entry', entrySeq: entry.seq, line, message: `entry ${entry.seq} (line ${line}, ${entry.type}) does not name a valid evidence file: ${malformed}` });
      return;
    }
    const { path, sha256, size } = entry.data as unknown as EvidenceRecord;
    const before = recorded.get(path);
    if (before && before.sha256 !== sha256) {
      fail({ kind: 'changed-file', entrySeq: entry.seq, path, message: `${showUntrusted(path)} is recorded twice with different hashes (entries ${before.seq} and ${entry.seq})` });
    }
    if (!before) recorded.set(path, { sha256, size, seq: entry.seq });
    latest.set(path, entry);
  });
  for (const [path, entry] of latest) {
    if (entry.type !== 'evidence.recovered') continue;
    warn({
      kind: 'recovered-file',
      entrySeq: entry.seq,
      path,
      message: `${showUntrusted(path)} was found unrecorded after an interrupted run and recorded when the case was resumed (entry ${entry.seq}): its hash is checked, but its content before then is not attested`,
    });
  }

  // Without its evidence folder (the ledger and manifest sent on their own, or the folder
  // removed), every recorded file is missing for one reason: said once, not once per file.
  const folder = recorded.size > 0 ? lstatOrUndefined(join(caseDir, EVIDENCE_DIR)) : undefined;
  if (recorded.size > 0 && (!folder || (!folder.isDirectory() && !folder.isSymbolicLink()))) {
    fail({
      kind: 'missing-file',
      path: EVIDENCE_DIR,
      message: `${folder ? `${EVIDENCE_DIR} is not a folder` : `${EVIDENCE_DIR}/ is missing`}, so every file the ledger records (${recorded.size}) is missing: none of them could be checked (the folder was removed, replaced, or not copied with the case)`,
    });
    return 0;
  }
  const files = [...recorded];
  // A file under a symlinked folder (evidence/ or its item's) is not read: its bytes are not in
  // the case folder, whatever they are (linked-folders.ts).
  const linkedOn = linkedFolderFinder(caseDir);
  const links = files.map(([path]) => linkedOn(path));
  const found = await hashEvidenceFiles(files.map(([path], i) => (links[i] ? undefined : join(caseDir, ...path.split('/')))));
  let verified = 0;
  // The leftover temp files of .partial/ by inode, read only if a recorded file has a second name.
  let partials: Map<string, string> | undefined;
  const partialNames = () => (partials ??= inodesOf(caseDir, PARTIAL_DIR));
  // Missing files, to recognise one renamed or moved within evidence/ by its bytes.
  const missing: MissingFile[] = [];
  files.forEach(([path, want], i) => {
    // The path as messages show it: a recorded path passed evidenceRecordProblem, but bidi and
    // other invisible characters are allowed in a name and are escaped here (untrusted-text.ts).
    const shown = showUntrusted(path);
    const got = found[i]!;
    const link = links[i];
    if (link) {
      fail({
        kind: 'changed-file',
        entrySeq: want.seq,
        path,
        message: `${shown} (recorded in entry ${want.seq}) is reached through ${showUntrusted(link.folder)}, a symlink to ${showUntrusted(link.target)}: it is not stored in the case folder, so it was not checked`,
      });
    } else if (got.state === 'missing') {
      const problem = fail({ kind: 'missing-file', entrySeq: want.seq, path, message: `${shown} (recorded in entry ${want.seq}) is missing` });
      missing.push({ path, ...want, problem });
    } else if (got.state === 'unreadable') {
      fail({ kind: 'unreadable', entrySeq: want.seq, path, message: `${shown} (recorded in entry ${want.seq}) cannot be read, so it was not checked: ${showFsError(got.cause, caseDir)}` });
    } else if (got.state === 'not-a-file') {
      // What is there instead (a symlink names its target), as for the ledger.
      const what = notARegularFile(join(caseDir, ...path.split('/')));
      fail({ kind: 'changed-file', entrySeq: want.seq, path, message: `${shown} is no longer a regular file${what ? ` (it is ${what})` : ''}: the file recorded in entry ${want.seq} was replaced` });
    } else if (got.sha256 !== want.sha256 || got.size !== want.size) {
      fail({
        kind: 'changed-file',
        entrySeq: want.seq,
        path,
        message: `${shown} does not match entry ${want.seq}: sha256 ${got.sha256} (${got.size} bytes), recorded ${want.sha256} (${want.size} bytes)`,
      });
    } else {
      verified++;
      // The evidence store leaves one name per file (its temp name is unlinked). A second name
      // is a hard link made since: the bytes are right now, but whoever holds the other name can
      // change them after this check without touching the case folder.
      if (got.links > 1) {
        // A run killed between linking a stored file into place and removing its temp name
        // leaves that temp in .partial/: then the other name is the case's own, not someone's.
        const temp = got.links === 2 ? partialNames().get(got.inode) : undefined;
        warn({
          kind: 'linked-file',
          entrySeq: want.seq,
          path,
          message: temp
            ? `${shown} matches entry ${want.seq}; its second name is ${showUntrusted(temp)}, the temp name of that write, left by an interrupted run (removed on resume)`
            : `${shown} matches entry ${want.seq} but has ${got.links} names on its filesystem (hard links): another name, perhaps outside the case folder, can change its bytes after this check; keep the case on storage only the custodian can write, or copy it (cp without -l)`,
        });
      }
    }
  });

  const unlisted = (path: string, cause: unknown) =>
    fail({ kind: 'unreadable', path, message: `${showUntrusted(path)} cannot be listed, so a file in it that no entry records could not be looked for: ${showFsError(cause, caseDir)}` });
  // A symlinked item folder is listed as a file; if recorded files lie under it, it is named above.
  const named = new Set(links.map((link) => link?.folder));
  for (const path of await listFiles(caseDir, EVIDENCE_DIR, unlisted)) {
    if (!recorded.has(path) && !named.has(path)) {
      // A name found on disk: anything a file may be called.
      const shown = showUntrusted(path);
      const moved = missing.length > 0 ? await recordedBytesOf(caseDir, path, missing) : undefined;
      if (!moved) {
        fail({ kind: 'unrecorded-file', path, message: `${shown} is in the case folder but no ledger entry records it` });
        continue;
      }
      // Said on both: counsel reads an accident of a rename, not a file lost and one planted.
      fail({
        kind: 'unrecorded-file',
        path,
        message: `${shown} is in the case folder but no ledger entry records it: it holds the bytes entry ${moved.seq} records for ${showUntrusted(moved.path)}, which is missing (the file was renamed or moved)`,
      });
      moved.problem.message += `: its recorded bytes are at ${shown} (the file was renamed or moved)`;
    }
  }
  return verified;
}

interface MissingFile {
  path: string;
  sha256: string;
  size: number;
  seq: number;
  problem: Problem;
}

/** The missing file whose recorded bytes `path` holds (first match, each used once), if any. */
async function recordedBytesOf(caseDir: string, path: string, missing: MissingFile[]): Promise<MissingFile | undefined> {
  const abs = join(caseDir, ...path.split('/'));
  const size = lstatOrUndefined(abs)?.size;
  if (!missing.some((m) => m.size === size)) return undefined;
  const got = await hashRegularFile(abs, hashBuffers()).catch(() => undefined);
  if (got?.state !== 'hashed') return undefined;
  const index = missing.findIndex((m) => m.sha256 === got.sha256 && m.size === got.size);
  return index < 0 ? undefined : missing.splice(index, 1)[0];
}

/**
 * Two files at a time: while a chunk of one is hashed on this thread, the next reads of both are
 * in flight in libuv's thread pool, so hashing (the crypto verify cannot avoid) rather than I/O
 * sets the pace. Results come back in the order asked, so problems are reported in ledger order.
 */
const FILES_IN_FLIGHT = 2;

/** A recorded file as found; `unreadable`: it is there, or may be, but cannot be read (EACCES). */
type FileCheck = EvidenceFileState | { state: 'unreadable'; cause: unknown };

async function hashEvidenceFiles(paths: ReadonlyArray<string | undefined>): Promise<FileCheck[]> {
  const results = new Array<FileCheck>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    const buffers = hashBuffers();
    while (next < paths.length) {
      const i = next++;
      const path = paths[i];
      // Undefined: not to be read (its result is not looked at).
      if (path === undefined) {
        results[i] = { state: 'not-a-file' };
        continue;
      }
      // One file that cannot be read is a problem with that file, not the end of the verdict.
      results[i] = await hashRegularFile(path, buffers).catch((cause: unknown) => ({ state: 'unreadable' as const, cause }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, paths.length) }, worker));
  return results;
}

async function checkCaseRoot(caseDir: string, warn: Report, imageDirs: ReadonlySet<string>, closed: boolean): Promise<void> {
  const known = new Set<string>([LEDGER_FILE, MANIFEST_FILE, EVIDENCE_DIR, PARTIAL_DIR, ...REPORT_FILES, ...imageDirs]);
  for (const name of readdirOrEmpty(caseDir)) {
    if (name === HASH_PROGRESS_DIR) {
      warn({ kind: 'leftover-partial', path: name, message: 'a disk hash was interrupted: its progress is kept here for --resume (not evidence)' });
    } else if (name === LOCK_FILE) {
      warn({ kind: 'lock-present', path: name, message: closed ? await staleLockMessage(caseDir) : 'the case is open in a run, or its last run was interrupted (.lock is present)' });
    } else if (!known.has(name) && !/^report\.[A-Za-z0-9]+$/.test(name)) {
      warn({ kind: 'unknown-file', path: name, message: `${showUntrusted(name)} at the case root is not part of the case (ignored)` });
    }
  }
  // Not evidence: a leftover write that cannot be listed leaves nothing to warn about.
  for (const path of await listFiles(caseDir, PARTIAL_DIR, () => undefined)) {
    warn({ kind: 'leftover-partial', path, message: `${showUntrusted(path)} is an incomplete write from an interrupted run (not evidence; removed on resume)` });
  }
}

/**
 * A lock on a closed case: no collection runs into it, so it was left behind (or a copy-case, or a
 * resume reopening the case, holds it now). Named with the run that wrote it, where the file says.
 */
async function staleLockMessage(caseDir: string): Promise<string> {
  const holder = await readLockHolder(join(caseDir, LOCK_FILE));
  const by = holder ? ` (written by pid ${holder.pid} on host ${showUntrusted(holder.host)})` : '';
  return (
    `.lock on a closed case${by} is stale: a closed case is not being collected, so a run left it without removing it (unless a custody copy-case, or a collect --resume reopening the case, holds it on that host right now). ` +
    'It is harmless to verify and does not change this verdict; if no such run is going, the custodian may delete it from the original folder (leave it on a copy or write-protected media)'
  );
}

/**
 * Every non-directory under `dir` (relative to the case folder, `/`-separated), sorted. Listed
 * with synchronous calls: a case has a folder per evidence item, thousands in a large one, and a
 * trip through the thread pool for each cost more than the listing itself. A folder that is
 * there but cannot be read is handed to `unreadable` (a missing `dir` is simply empty).
 */
async function listFiles(caseDir: string, dir: string, unreadable: (path: string, cause: unknown) => void): Promise<string[]> {
  return filesUnder(caseDir, dir, unreadable);
}

/** The files under `dir` (as listFiles) by inode: which of them is another name of a file. */
function inodesOf(caseDir: string, dir: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const path of filesUnder(caseDir, dir, () => undefined)) {
    try {
      names.set(inodeOf(lstatSync(join(caseDir, ...path.split('/')))), path);
    } catch {
      // gone or unreadable: not a name of anything now
    }
  }
  return names;
}

function filesUnder(caseDir: string, dir: string, unreadable: (path: string, cause: unknown) => void): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let items: Dirent[];
    try {
      items = readdirSync(join(caseDir, ...rel.split('/')), { withFileTypes: true });
    } catch (cause) {
      if (!isNothingThere(cause)) unreadable(rel, cause);
      return;
    }
    for (const item of items) {
      const child = `${rel}/${item.name}`;
      if (item.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function readdirOrEmpty(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
