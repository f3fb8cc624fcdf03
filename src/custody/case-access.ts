/**
 * A case folder this user may not read. Case folders are made 0700 (their files 0600) for the
 * user who collected, so an examiner who is another user meets EACCES first: say which folder or
 * file, whose it is, and the ways to a case this user can read, instead of the system's message.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { showGivenPath } from './untrusted-text.js';

/** EACCES or EPERM: the file is there (or may be), but this user may not read or search it. */
export function isPermissionDenied(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

const HINT =
  'case folders are readable only by the user who collected them. Run custody as that user; or work on a copy this user can read ' +
  '(custody fetch-case from the evidence bucket, or cp -a by a user who can read the case, then chown -R to this user); ' +
  'or have the owner grant this user read access to the folder and everything in it';

/**
 * The refusal (`E_INPUT`, exit 3: verify did not run, so nothing is said of the case) for
 * `path`, the case folder or a file in it, that could not be read with `cause`. When the folder
 * cannot even be reached, the folder above it that this user may not search is named instead.
 *
 * @example
 * throw await caseNotReadable('/cases/IR-1', 'the case folder', error);
 */
export async function caseNotReadable(path: string, what: string, cause: unknown): Promise<CustodyError> {
  const code = (cause as NodeJS.ErrnoException).code ?? 'EACCES';
  const own = await ownerOf(path);
  const blocked = own ? undefined : await unsearchableAbove(path);
  const where = own
    ? ` (${own})`
    : blocked
      ? `: this user may not search ${showGivenPath(blocked.path)} above it (${blocked.owner})`
      : '';
  return new CustodyError('E_INPUT', `cannot read ${what} ${showGivenPath(path)}${where}, ${userNow()} [${code}]; ${HINT}`, { cause, resource: path });
}

/** "mode 700, owner uid 1001", or undefined when `path` cannot be looked at. */
async function ownerOf(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info ? `mode ${(info.mode & 0o777).toString(8)}, owner uid ${info.uid}` : undefined;
}

/** The nearest folder above `path` that can be looked at: the one this user may not search. */
async function unsearchableAbove(path: string): Promise<{ path: string; owner: string } | undefined> {
  for (let at = dirname(path); ; at = dirname(at)) {
    const owner = await ownerOf(at);
    if (owner) return { path: at, owner };
    if (dirname(at) === at) return undefined;
  }
}

function userNow(): string {
  const uid = process.getuid?.();
  return uid === undefined ? 'and this user may not read it' : `and this user is uid ${uid}`;
}
