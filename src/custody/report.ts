/**
 * Writes report.md and report.html into a case folder: who did what, when, to which target,
 * what was collected with its hashes, what failed, and whether the case verifies.
 */
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { access, lstat, open, readFile, rename, unlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { LedgerEntry } from '../core/ports.js';
import { CustodyError } from '../core/errors.js';
import { parseEntryLine } from './entry.js';
import { assertCaseFolder } from './case-folder.js';
import { ensureConfiguredDir } from './configured-dir.js';
import { LEDGER_FILE, MANIFEST_FILE, REPORT_FILES } from './layout.js';
import { countLeftInCloud, type LeftInCloudCount } from './left-in-cloud.js';
import { buildReportModel } from './report-model.js';
import { realPathOfNearest } from './real-path.js';
import { renderHtml, renderMarkdown } from './report-render.js';
import { showFsError, showGivenPath } from './untrusted-text.js';
import { verifyCase, type VerifyResult } from './verify.js';

export interface ReportResult {
  /** Absolute paths of the written files. */
  markdown: string;
  html: string;
  verification: VerifyResult;
  /** How many evidence files the report lists as stored redacted (its "Redacted descriptions"). */
  redactedFiles: number;
  /** How many items its "Left in the cloud" section lists, and how many no later entry took up. */
  leftInCloud: LeftInCloudCount;
}

/**
 * Verifies the case as `custody verify` does, then renders its report. A case that fails
 * verification (or is not closed) still gets a report, which says so at the top and lists every
 * problem. The report goes into the case folder unless `outDir` names another folder (made if
 * missing): then the case folder is only read, as on write-protected media, and a report.md or
 * report.html already in `outDir` is never replaced.
 *
 * @example
 * const { html } = await renderReport('cases/IR-2024-001'); // cases/IR-2024-001/report.html
 * await renderReport('/media/ro/IR-2024-001', { outDir: 'reports/IR-2024-001' });
 */
export async function renderReport(caseDir: string, options: { now?: Date; outDir?: string } = {}): Promise<ReportResult> {
  const out = options.outDir === undefined ? undefined : await elsewhere(caseDir, options.outDir);
  // Never write report files into a folder that is not a case (an evidence tree, someone's own
  // folder with a report.md of its own, beside an evidence/ folder of its own).
  await assertCaseFolder(caseDir, { toWrite: out === undefined });
  // Where the report cannot go is said before the case is verified (a large case takes a while).
  if (out === undefined) await access(caseDir, constants.W_OK).catch((cause: unknown) => { throw notWritable(caseDir, cause); });
  else await prepareOutDir(out);
  // The verdict `custody verify` gives, which the report tells counsel to run: a case that is not
  // closed is not vouched for (entries cut from its end could not be noticed), so it never PASSES.
  const verification = await verifyCase(caseDir, { requireClosed: true });
  const { entries, unreadableLines } = await readEntriesLeniently(caseDir);
  const manifestPresent = await lstat(join(caseDir, MANIFEST_FILE)).then(() => true, () => false);
  const model = buildReportModel(entries, verification, options.now ?? new Date(), { unreadableLines, manifestPresent });
  const [mdName, htmlName] = REPORT_FILES;
  const dir = out ?? caseDir;
  const markdown = join(dir, mdName);
  const html = join(dir, htmlName);
  const files = [
    { path: markdown, text: renderMarkdown(model) },
    { path: html, text: renderHtml(model) },
  ];
  try {
    if (out === undefined) await replaceReportPair(files);
    else for (const file of files) await writeNewFile(file.path, file.text);
  } catch (cause) {
    if (isNotWritable(cause)) throw out === undefined ? notWritable(caseDir, cause) : outNotWritable(out, cause);
    throw new CustodyError('E_INTERNAL', `cannot write the report in ${showGivenPath(dir)}: ${showFsError(cause, dir)}`, {
      cause,
      resource: dir,
    });
  }
  return { markdown, html, verification, redactedFiles: model.redactions.length, leftInCloud: countLeftInCloud(model.leftInCloud) };
}

/**
 * `outDir` as an absolute path, or undefined when it is the case folder itself; never a folder
 * inside the case. Compared where both really are: a symlink (or a folder under one) that leads
 * into the case is inside it, whatever its name says.
 */
async function elsewhere(caseDir: string, outDir: string): Promise<string | undefined> {
  const out = resolve(outDir);
  const real = await realPathOfNearest(out);
  const within = relative(await realPathOfNearest(caseDir), real);
  if (within === '') return undefined;
  if (within !== '..' && !within.startsWith(`..${sep}`) && !isAbsolute(within)) {
    // Where a symlink leads is whatever its target says.
    const leads = real === out ? '' : ` (it leads to ${showGivenPath(real)})`;
    throw new CustodyError('E_INPUT', `--out ${showGivenPath(out)}${leads} is inside the case folder ${showGivenPath(caseDir)}: a report there would change the case; give a folder outside it`, { resource: out });
  }
  return out;
}

/** Makes the folder; refuses one that already holds a report (someone's own, or another case's). */
async function prepareOutDir(out: string): Promise<void> {
  await ensureConfiguredDir(out, '--out');
  for (const name of REPORT_FILES) {
    const path = join(out, name);
    if (await lstat(path).then(() => true, () => false)) {
      throw new CustodyError('E_INPUT', `${showGivenPath(path)} already exists: a report never replaces a file outside the case folder; remove it or give another --out folder`, { resource: path });
    }
  }
}

function isNotWritable(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

function notWritable(caseDir: string, cause: unknown): CustodyError {
  return new CustodyError(
    'E_INPUT',
    `cannot write the report into the case folder ${showGivenPath(caseDir)} (${(cause as NodeJS.ErrnoException).code ?? showFsError(cause, caseDir)}: read-only media, or this user may not write there); ` +
      'give --out DIR to write report.md and report.html into another folder (the case folder is then only read)',
    { cause, resource: caseDir },
  );
}

function outNotWritable(out: string, cause: unknown): CustodyError {
  return new CustodyError('E_CONFIG', `--out ${showGivenPath(out)} cannot be written into (${showFsError(cause, out)}); give a folder this user can write`, { cause, resource: out });
}

/**
 * Replaces the case folder's report pair together: a report.md beside the report.html of another
 * run would be a pair that disagrees. Both are written in full under temporary names beside them
 * first; only then are both renamed into place. A rename replaces a symlink planted under a
 * report's name, never follows it. A failure before the renames removes the temporaries and
 * leaves the old pair as it was.
 */
async function replaceReportPair(files: readonly { path: string; text: string }[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const { path, text } of files) {
      // Random, so a name planted in advance cannot be waited for; never matches report.<ext>, so
      // one left by a killed run is named by verify as not part of the case.
      const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeNewFile(temp, text);
      temps.push(temp);
    }
  } catch (cause) {
    await Promise.all(temps.map((temp) => unlink(temp).catch(() => undefined)));
    throw cause;
  }
  for (const [i, { path }] of files.entries()) await rename(temps[i]!, path);
}

/**
 * Writes a file that must not exist yet (exclusive create, 0600: a planted symlink is never
 * followed, and nothing outside the case folder is replaced). A write that fails part-way
 * removes its file.
 */
async function writeNewFile(path: string, text: string): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(text);
    await file.close();
  } catch (cause) {
    await file.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw cause;
  }
}

/**
 * Every line that parses as an entry; a report of a damaged ledger shows what is readable, and
 * says which lines it could not read (numbered as verify numbers them).
 */
async function readEntriesLeniently(caseDir: string): Promise<{ entries: LedgerEntry[]; unreadableLines: number[] }> {
  const entries: LedgerEntry[] = [];
  const unreadableLines: number[] = [];
  // Only a regular file, as verify reads it: a FIFO planted under the ledger's name would block
  // the read for ever (verify has named what is there instead).
  const path = join(caseDir, LEDGER_FILE);
  if (!(await lstat(path).catch(() => undefined))?.isFile()) return { entries, unreadableLines };
  const text = await readFile(path, 'utf8').catch(() => '');
  // A byte order mark before the first entry: verify names it and reads the entries without it.
  (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n').forEach((line, index) => {
    if (!line) return;
    const parsed = parseEntryLine(line);
    if ('entry' in parsed) entries.push(parsed.entry);
    else unreadableLines.push(index + 1);
  });
  return { entries, unreadableLines };
}
