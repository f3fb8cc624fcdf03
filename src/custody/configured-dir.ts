/**
 * The folders the configuration names (casesDir, keysDir, the demo's --dir): made to exist, or
 * refused as bad configuration (`E_CONFIG`, exit 3) naming the path — never an internal error,
 * and never a hang.
 */
import { lstat, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { showFsError, showGivenPath } from './untrusted-text.js';

/**
 * Makes `path` a folder, creating missing parents one level at a time. Node's recursive mkdir
 * loops forever where mkdir answers ENOENT for a parent that exists (under /proc/self/…), so each
 * level is made with a plain mkdir, whose answer is final.
 *
 * @example
 * await ensureConfiguredDir('/var/custody/cases', 'casesDir');
 */
export async function ensureConfiguredDir(path: string, what: string, mode?: number): Promise<void> {
  const target = resolve(path);
  for (const dir of await missingFolders(target, what)) {
    await mkdir(dir, mode === undefined ? {} : { mode }).catch(async (cause: NodeJS.ErrnoException) => {
      // Another run may have made it meanwhile; anything else cannot be created.
      const made = cause.code === 'EEXIST' && (await lstat(dir).then((s) => s.isDirectory(), () => false));
      if (!made) throw refused(what, target, `cannot create ${showGivenPath(dir)}: ${showFsError(cause)}`, cause);
    });
  }
}

/**
 * Refuses `path` (`E_CONFIG`, exit 3) when it, or the nearest folder above it that exists, is not
 * a folder; creates nothing. For a folder made later, possibly inside a case folder that must not
 * exist before the case is opened (`--image DIR`).
 */
export async function assertCanBeFolder(path: string, what: string): Promise<void> {
  await missingFolders(resolve(path), what);
}

/** The folders missing down to `target`, top first; throws when something in the way is not a folder. */
async function missingFolders(target: string, what: string): Promise<string[]> {
  const missing: string[] = [];
  let at = target;
  for (;;) {
    const info = await stat(at).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code === 'ENOENT') return undefined;
      throw refused(what, target, `${showGivenPath(at)}: ${showFsError(cause)}`, cause);
    });
    if (info) {
      if (!info.isDirectory()) throw refused(what, target, `${showGivenPath(at)} is ${at === target ? 'a file' : 'not a folder'}, not a folder`);
      break;
    }
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  return missing;
}

function refused(what: string, path: string, detail: string, cause?: unknown): CustodyError {
  return new CustodyError('E_CONFIG', `${what} ${showGivenPath(path)} cannot be used as a folder (${detail})`, {
    resource: path,
    ...(cause !== undefined ? { cause } : {}),
  });
}
