/**
 * What resuming a case needs: the earlier runs' ledger, re-verified in full, and a tidy folder.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { LedgerEntry } from '../core/ports.js';
import { checkChain } from './chain.js';
import { sealIndex } from './copy-records.js';
import { hashFile } from './file-hash.js';
import { notARegularFile } from './fs-util.js';
import { EVIDENCE_DIR, FILE_ENTRY_TYPES, LEDGER_FILE, LOCK_FILE, MANIFEST_FILE, PARTIAL_DIR } from './layout.js';
import type { LedgerHead } from './ledger.js';
import { segmentProblem } from './names.js';
import { fingerprintOf } from './signing-key.js';
import { showFsError, showGivenPath, showUntrusted } from './untrusted-text.js';

/** What a run that died before its first entry can leave in its case folder (evidence/ empty). */
const EMPTY_CASE_NAMES: ReadonlySet<string> = new Set([LEDGER_FILE, LOCK_FILE, PARTIAL_DIR, EVIDENCE_DIR]);

export interface PreviousRun {
  entries: LedgerEntry[];
  publicKey: string;
  fingerprint: string;
  head: LedgerHead;
  closed: boolean;
}

/** Re-reads and re-verifies an existing ledger; undefined when the case has none yet. */
export async function readPreviousRun(ledgerPath: string, caseDir: string): Promise<PreviousRun | undefined> {
  // Before any read or open, as verify does: a FIFO planted under the ledger's name would block the
  // read (and the append open) for ever, and a symlink would be followed, so this run's entries
  // would go to a file outside the case. Refused here, under the lock, before anything is written.
  const what = notARegularFile(ledgerPath);
  if (what !== undefined) {
    throw new CustodyError(
      'E_INPUT',
      `${showGivenPath(ledgerPath)} is not a regular file (it is ${what}): the case's ledger was replaced, so the case cannot be continued; nothing was changed (custody verify reports the same)`,
      { resource: ledgerPath },
    );
  }
  let text: string;
  try {
    text = await readFile(ledgerPath, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CustodyError('E_LEDGER', `cannot read the ledger ${showGivenPath(ledgerPath)}: ${showFsError(cause, caseDir)}`, { cause });
    }
    text = '';
  }
  if (text === '') {
    // The earlier run died before its first entry; only an empty case can start over.
    const evidence = await readdir(join(caseDir, EVIDENCE_DIR)).catch(() => []);
    if (evidence.length > 0) {
      throw new CustodyError('E_LEDGER', `case folder ${showGivenPath(caseDir)} holds evidence but no ledger; it cannot be resumed`, {
        resource: ledgerPath,
      });
    }
    // Such a run leaves only its own names behind. Anything else is a folder this tool never
    // opened (or one whose ledger was removed): starting a case in it would mix its files into
    // the case.
    // Names found on disk: any of them may hold an escape sequence or a newline.
    const foreign = (await readdir(caseDir)).filter((name) => !EMPTY_CASE_NAMES.has(name)).sort();
    if (foreign.length > 0) {
      throw new CustodyError(
        'E_INPUT',
        `${showGivenPath(caseDir)} is not a case to resume: it has no ledger but holds ${foreign.slice(0, 3).map(showUntrusted).join(', ')}${foreign.length > 3 ? ', …' : ''}; choose another case id`,
        { resource: caseDir },
      );
    }
    return undefined;
  }
  const chain = checkChain(text);
  const first = chain.problems[0];
  if (first) {
    throw new CustodyError(
      'E_LEDGER',
      `cannot resume: ${first.message}. The case was not changed; run \`custody verify\` on it for the full list`,
      { resource: ledgerPath },
    );
  }
  const last = chain.entries[chain.entries.length - 1];
  if (!chain.publicKey || !last) throw new CustodyError('E_LEDGER', `cannot resume: ${showGivenPath(ledgerPath)} pins no public key`);
  return {
    entries: chain.entries,
    publicKey: chain.publicKey,
    fingerprint: fingerprintOf(chain.publicKey),
    head: { seq: last.seq, hash: last.hash },
    // Copy records may follow the seal (copy-records.ts): the case is still closed.
    closed: sealIndex(chain.entries) >= 0,
  };
}

/**
 * A resumed case is about to change: its old manifest no longer describes it (the next close
 * writes a new one; what it said is kept in `case.resumed`), and temp files of an interrupted
 * write are incomplete by definition.
 */
export async function tidyForResume(caseDir: string): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  const manifestPath = join(caseDir, MANIFEST_FILE);
  const manifestText = await readFile(manifestPath, 'utf8').catch(() => undefined);
  if (manifestText !== undefined) {
    const { sha256 } = await hashFile(manifestPath);
    let head: unknown;
    try {
      head = (JSON.parse(manifestText) as { ledgerHead?: unknown }).ledgerHead;
    } catch {
      head = undefined;
    }
    result.supersededManifest = { sha256, ...(head !== undefined ? { ledgerHead: head } : {}) };
    await rm(manifestPath);
  }
  const partials = await readdir(join(caseDir, PARTIAL_DIR)).catch(() => [] as string[]);
  if (partials.length > 0) {
    await Promise.all(partials.map((name) => rm(join(caseDir, PARTIAL_DIR, name), { force: true, recursive: true })));
    result.discardedPartialFiles = partials.sort();
  }
  return result;
}

/** What `evidence.recovered` says about every file it records. */
export const RECOVERED_NOTE =
  'found after an interrupted run; it was written but not recorded before the interruption, so its content before this resume is not attested';

export interface UnrecordedFile {
  evidenceId: string;
  name: string;
  /** `evidence/<evidenceId>/<name>` */
  path: string;
  sha256: string;
  size: number;
  /** The target earlier entries of the same evidence id name, if any. */
  target?: string;
}

/**
 * Files an interrupted run placed under `evidence/<evidenceId>/<name>` but was killed before
 * recording (the store links a complete, synced file into place, then records it). Only regular
 * files at that depth with names the store itself could have written are returned; anything else
 * is not something this tool leaves behind, so it stays unrecorded and verify names it. Files
 * already listed as `unrecordedAfterClose` by an earlier `case.resumed` are not returned again.
 */
export async function findUnrecordedFiles(caseDir: string, entries: readonly LedgerEntry[]): Promise<UnrecordedFile[]> {
  const recorded = new Set<string>();
  const targets = new Map<string, string>();
  for (const entry of entries) {
    if (FILE_ENTRY_TYPES.has(entry.type) && typeof entry.data.path === 'string') recorded.add(entry.data.path);
    // Found when a closed case was resumed: never this tool's, so never recovered later either.
    if (entry.type === 'case.resumed' && Array.isArray(entry.data.unrecordedAfterClose)) {
      for (const item of entry.data.unrecordedAfterClose as unknown[]) {
        const path = (item as { path?: unknown } | null)?.path;
        if (typeof path === 'string') recorded.add(path);
      }
    }
    const evidenceId = entry.data.evidenceId;
    if (typeof evidenceId === 'string' && entry.target !== undefined && !targets.has(evidenceId)) targets.set(evidenceId, entry.target);
  }
  const found: UnrecordedFile[] = [];
  const evidenceDir = join(caseDir, EVIDENCE_DIR);
  const ids = await readdir(evidenceDir, { withFileTypes: true }).catch(() => []);
  for (const id of ids.filter((d) => d.isDirectory() && segmentProblem(d.name) === undefined).map((d) => d.name).sort()) {
    const names = await readdir(join(evidenceDir, id), { withFileTypes: true }).catch(() => []);
    for (const name of names.filter((d) => d.isFile() && segmentProblem(d.name) === undefined).map((d) => d.name).sort()) {
      const path = `${EVIDENCE_DIR}/${id}/${name}`;
      if (recorded.has(path)) continue;
      const { sha256, size } = await hashFile(join(evidenceDir, id, name));
      const target = targets.get(id);
      found.push({ evidenceId: id, name, path, sha256, size, ...(target !== undefined ? { target } : {}) });
    }
  }
  return found;
}
