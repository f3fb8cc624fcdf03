/**
 * Writes report.md and report.html into a case folder: who did what, when, to which target,
 * what was collected with its hashes, what failed, and whether the case verifies.
 */
import { lstat, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LedgerEntry } from '../core/ports.js';
import { CustodyError } from '../core/errors.js';
import { parseEntryLine } from './entry.js';
import { assertCaseFolder } from './case-folder.js';
import { LEDGER_FILE, REPORT_FILES } from './layout.js';
import { buildReportModel } from './report-model.js';
import { renderHtml, renderMarkdown } from './report-render.js';
import { verifyCase, type VerifyResult } from './verify.js';

export interface ReportResult {
  /** Absolute paths of the written files. */
  markdown: string;
  html: string;
  verification: VerifyResult;
  /** How many evidence files the report lists as stored redacted (its "Redacted descriptions"). */
  redactedFiles: number;
}

/**
 * Verifies the case as `custody verify` does, then renders its report. A case that fails
 * verification (or is not closed) still gets a report, which says so at the top and lists every
 * problem.
 *
 * @example
 * const { html } = await renderReport('cases/IR-2024-001'); // cases/IR-2024-001/report.html
 */
export async function renderReport(caseDir: string, options: { now?: Date } = {}): Promise<ReportResult> {
  // Never write report files into a folder that is not a case (an evidence tree, someone's own
  // folder with a report.md of its own, beside an evidence/ folder of its own).
  await assertCaseFolder(caseDir, { toWrite: true });
  // The verdict `custody verify` gives, which the report tells counsel to run: a case that is not
  // closed is not vouched for (entries cut from its end could not be noticed), so it never PASSES.
  const verification = await verifyCase(caseDir, { requireClosed: true });
  const entries = await readEntriesLeniently(caseDir);
  const model = buildReportModel(entries, verification, options.now ?? new Date());
  const [mdName, htmlName] = REPORT_FILES;
  const markdown = join(caseDir, mdName);
  const html = join(caseDir, htmlName);
  try {
    await replaceFile(markdown, renderMarkdown(model));
    await replaceFile(html, renderHtml(model));
  } catch (cause) {
    throw new CustodyError('E_INTERNAL', `cannot write the report in ${caseDir}: ${(cause as Error).message}`, {
      cause,
      resource: caseDir,
    });
  }
  return { markdown, html, verification, redactedFiles: model.redactions.length };
}

/** Writes a fresh file: a symlink planted under a report's name is replaced, never followed. */
async function replaceFile(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  await writeFile(path, text, { mode: 0o600, flag: 'wx' });
}

/** Every line that parses as an entry; a report of a damaged ledger shows what is readable. */
async function readEntriesLeniently(caseDir: string): Promise<LedgerEntry[]> {
  // Only a regular file, as verify reads it: a FIFO planted under the ledger's name would block
  // the read for ever (verify has named what is there instead).
  const path = join(caseDir, LEDGER_FILE);
  if (!(await lstat(path).catch(() => undefined))?.isFile()) return [];
  const text = await readFile(path, 'utf8').catch(() => '');
  const entries: LedgerEntry[] = [];
  // A byte order mark before the first entry: verify names it and reads the entries without it.
  for (const line of (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n')) {
    if (!line) continue;
    const parsed = parseEntryLine(line);
    if ('entry' in parsed) entries.push(parsed.entry);
  }
  return entries;
}
