/**
 * Whether a folder is a case folder at all. A folder that holds none of a case's own names is
 * not a case (bad input: exit 3), which is different from a case that fails verification (a
 * case folder whose ledger was removed still has its evidence or manifest: exit 4). Commands
 * that write into a case folder (report) refuse anything else, and a folder whose only case name
 * is `evidence/`, so they never write into an evidence tree or over somebody's own files.
 */
import { constants } from 'node:fs';
import { access, lstat, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { caseNotReadable, isPermissionDenied } from './case-access.js';
import { EVIDENCE_DIR, LEDGER_FILE, MANIFEST_FILE } from './layout.js';
import { showFsError, showGivenPath, showUntrusted } from './untrusted-text.js';

const CASE_NAMES: ReadonlySet<string> = new Set([LEDGER_FILE, MANIFEST_FILE, EVIDENCE_DIR]);
/**
 * What a folder must hold before a command writes into it: `evidence` alone is too common a name
 * (counsel's own matter folder has one, beside a report.md of its own) to write beside.
 */
const WRITABLE_CASE_NAMES: ReadonlySet<string> = new Set([LEDGER_FILE, MANIFEST_FILE]);

/**
 * Throws `E_INPUT` unless `dir` is a folder holding a ledger, a manifest or an evidence folder;
 * with `toWrite` (report), a ledger or a manifest. A folder or ledger this user may not read
 * (another user's case) is refused as such, naming whose it is, never as "no case folder" or
 * as a case that fails verification.
 *
 * @example
 * await assertCaseFolder('cases/IR-2024-001');
 */
export async function assertCaseFolder(dir: string, options: { toWrite?: boolean } = {}): Promise<void> {
  // The path the user named is followed (`cases/latest` → a case folder is that case, as the
  // lookup of CASE already takes it); inside the case, verify follows no symlink.
  const info = await stat(dir).catch(async (cause: unknown) => {
    if (isPermissionDenied(cause)) throw await caseNotReadable(dir, 'the case folder', cause);
    return undefined;
  });
  const shown = showGivenPath(dir);
  if (!info) throw new CustodyError('E_INPUT', `there is no case folder at ${shown}`, { resource: dir });
  if (!info.isDirectory()) {
    const within = await enclosingCase(dir);
    throw new CustodyError('E_INPUT', `${shown} is not a case folder (it is not a folder)${within ? `; it is in the case folder ${showGivenPath(within)}: give that folder` : ''}`, { resource: dir });
  }
  const names = await readdir(dir).catch(async (cause: unknown) => {
    if (isPermissionDenied(cause)) throw await caseNotReadable(dir, 'the case folder', cause);
    throw new CustodyError('E_INPUT', `cannot read ${shown}: ${showFsError(cause, dir)}`, { cause, resource: dir });
  });
  if (!names.some((name) => CASE_NAMES.has(name))) {
    const within = await enclosingCase(dir);
    const cases = within ? [] : await casesIn(dir, names);
    const hint = within
      ? `it is in the case folder ${showGivenPath(within)}: give that folder`
      : cases.length > 0
        ? `it holds case folders (${cases.slice(0, 3).map(showUntrusted).join(', ')}${cases.length > 3 ? ', …' : ''}): give one of them`
        : 'give the case folder itself, or a case id from casesDir';
    throw new CustodyError('E_INPUT', `${shown} is not a case folder (it has no ${LEDGER_FILE}, ${MANIFEST_FILE} or ${EVIDENCE_DIR}/); ${hint}`, { resource: dir });
  }
  // A folder opened to others (g+rx) with its files still 0600: verify would call the case's
  // ledger unreadable and the case NOT verified, which says nothing true of the case itself.
  // (Only a regular file: verify names anything else planted under the ledger's name.)
  const ledger = join(dir, LEDGER_FILE);
  if (names.includes(LEDGER_FILE) && (await lstat(ledger).catch(() => undefined))?.isFile()) {
    await access(ledger, constants.R_OK).catch(async (cause: unknown) => {
      if (isPermissionDenied(cause)) throw await caseNotReadable(ledger, "the case's ledger", cause);
    });
  }
  if (options.toWrite && !names.some((name) => WRITABLE_CASE_NAMES.has(name))) {
    throw new CustodyError(
      'E_INPUT',
      `${shown} has an ${EVIDENCE_DIR}/ folder but no ${LEDGER_FILE} or ${MANIFEST_FILE}: nothing is written into it (custody verify says what is wrong if it was a case)`,
      { resource: dir },
    );
  }
}

/** The folders in `dir` that are cases (a casesDir given for a case), sorted; a few are enough to name. */
async function casesIn(dir: string, names: readonly string[]): Promise<string[]> {
  const cases: string[] = [];
  for (const name of [...names].sort().slice(0, 1000)) {
    if (await holdsCaseName(join(dir, name))) cases.push(name);
    if (cases.length > 3) break;
  }
  return cases;
}

async function holdsCaseName(folder: string): Promise<boolean> {
  for (const name of WRITABLE_CASE_NAMES) {
    if (await lstat(join(folder, name)).then(() => true, () => false)) return true;
  }
  return false;
}

/**
 * The case folder a path given by mistake lies in (its ledger.jsonl, manifest.json, an evidence
 * folder or file: at most three levels down), so the refusal can name the folder to give.
 */
async function enclosingCase(path: string): Promise<string | undefined> {
  let folder = path;
  for (let level = 0; level < 3; level++) {
    const parent = dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
    if (await holdsCaseName(folder)) return folder;
  }
  return undefined;
}
