/**
 * Closing a case: the `case.closed` summary of outcomes and the signed manifest.json.
 */
import { mkdir, open, rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { LedgerEntry, OutcomeStatus, TargetOutcome } from '../core/ports.js';
import { MANIFEST_FILE, MANIFEST_TEMP_FILE, PARTIAL_DIR } from './layout.js';
import { syncDir } from './fs-util.js';
import type { Manifest } from './manifest.js';
import { showFsError, showGivenPath } from './untrusted-text.js';

export interface CloseSummary {
  /** Per-target outcomes: counted in `case.closed`, and every target not collected is listed. */
  outcomes?: readonly TargetOutcome[];
  /** Free text for the record (why the case was closed early, …). */
  note?: string;
}

/** The data of `case.closed`: outcome counts and every target not collected, with its reason. */
export function closedData(summary: CloseSummary, entries: readonly LedgerEntry[]): Record<string, unknown> {
  const counts: Record<OutcomeStatus, number> = { collected: 0, partial: 0, failed: 0, skipped: 0 };
  const notCollected: Record<string, unknown>[] = [];
  for (const outcome of summary.outcomes ?? []) {
    counts[outcome.status] += 1;
    if (outcome.status !== 'collected') {
      notCollected.push({
        target: outcome.target,
        status: outcome.status,
        ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      });
    }
  }
  const recovered = entries.filter((e) => e.type === 'evidence.recovered').length;
  return {
    outcomes: counts,
    targets: summary.outcomes?.length ?? 0,
    notCollected,
    evidenceFiles: entries.filter((e) => e.type === 'evidence.stored').length,
    artifactRecords: entries.filter((e) => e.type === 'artifact.recorded').length,
    ...(recovered > 0 ? { recoveredFiles: recovered } : {}),
    ...(summary.note !== undefined ? { note: summary.note } : {}),
  };
}

/**
 * Makes the manifest's temp file (empty, synced) before `case.closed` is appended: a ledger that
 * ends in `case.closed` beside it and no manifest.json is a close that did not finish, which verify
 * tells apart from a manifest that was put in place and later removed (nothing is left behind
 * then). Throws `E_LEDGER` if it cannot, so the case is never sealed without it.
 */
export async function startManifest(caseDir: string): Promise<void> {
  const tempPath = join(caseDir, MANIFEST_TEMP_FILE);
  try {
    await mkdir(join(caseDir, PARTIAL_DIR), { recursive: true, mode: 0o700 });
    const handle = await open(tempPath, 'w', 0o600);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDir(join(caseDir, PARTIAL_DIR));
    await syncDir(caseDir);
  } catch (cause) {
    throw new CustodyError('E_LEDGER', `cannot start closing the case: cannot write ${showGivenPath(tempPath)}: ${showFsError(cause, caseDir)}`, { cause, resource: tempPath });
  }
}

/** Writes manifest.json atomically (temp file, fsync, rename). Throws `E_LEDGER` if it cannot. */
export async function writeManifest(caseDir: string, manifest: Manifest): Promise<string> {
  const finalPath = join(caseDir, MANIFEST_FILE);
  const tempPath = join(caseDir, MANIFEST_TEMP_FILE);
  try {
    // Inside the try: a case with no evidence file has no partial folder yet, and failing to make
    // it (a full disk) is a case-folder write failure like any other step here.
    await mkdir(join(caseDir, PARTIAL_DIR), { recursive: true, mode: 0o700 });
    const handle = await open(tempPath, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, finalPath);
    await rmdir(join(caseDir, PARTIAL_DIR)).catch(() => undefined); // only if empty
    await syncDir(caseDir);
  } catch (cause) {
    throw new CustodyError('E_LEDGER', `cannot write ${showGivenPath(finalPath)}: ${showFsError(cause, caseDir)}`, { cause, resource: finalPath });
  }
  return finalPath;
}
