/**
 * What resuming a case needs: the earlier runs' ledger, re-verified in full, and a tidy folder.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { LedgerEntry } from '../core/ports.js';
import { checkChain } from './chain.js';
import { hashFile } from './evidence-store.js';
import { EVIDENCE_DIR, MANIFEST_FILE, PARTIAL_DIR } from './layout.js';
import type { LedgerHead } from './ledger.js';
import { fingerprintOf } from './signing-key.js';

export interface PreviousRun {
  entries: LedgerEntry[];
  publicKey: string;
  fingerprint: string;
  head: LedgerHead;
  closed: boolean;
}

/** Re-reads and re-verifies an existing ledger; undefined when the case has none yet. */
export async function readPreviousRun(ledgerPath: string, caseDir: string): Promise<PreviousRun | undefined> {
  let text: string;
  try {
    text = await readFile(ledgerPath, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CustodyError('E_LEDGER', `cannot read the ledger ${ledgerPath}: ${(cause as Error).message}`, { cause });
    }
    text = '';
  }
  if (text === '') {
    // The earlier run died before its first entry; only an empty case can start over.
    const evidence = await readdir(join(caseDir, EVIDENCE_DIR)).catch(() => []);
    if (evidence.length > 0) {
      throw new CustodyError('E_LEDGER', `case folder ${caseDir} holds evidence but no ledger; it cannot be resumed`, {
        resource: ledgerPath,
      });
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
  if (!chain.publicKey || !last) throw new CustodyError('E_LEDGER', `cannot resume: ${ledgerPath} pins no public key`);
  return {
    entries: chain.entries,
    publicKey: chain.publicKey,
    fingerprint: fingerprintOf(chain.publicKey),
    head: { seq: last.seq, hash: last.hash },
    closed: last.type === 'case.closed',
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
