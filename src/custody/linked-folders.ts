/**
 * Symlinked folders on the way to a recorded file. Verify opens a file with O_NOFOLLOW
 * (file-hash.ts), which refuses a symlink at the file alone: one at `evidence/`, at an item's
 * folder or at an image's folder is followed, so bytes kept outside the case folder would verify
 * as the case's own, and a copy of the folder would lose them. Verify names a file reached that
 * way instead of reading it, as it names a file that is itself a symlink.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface LinkedFolder {
  /** The symlink, relative to the case folder, `/`-separated. */
  folder: string;
  /** Where it points, as written in the link. */
  target: string;
}

/**
 * Returns a lookup: the first folder on the way to `rel` (a `/`-separated path inside
 * `caseDir`) that is a symlink, or undefined. Each folder is looked at once (an lstat), however
 * many files lie under it.
 *
 * @example
 * const linkedOn = linkedFolderFinder(caseDir);
 * linkedOn('evidence/ev-1/a.json'); // { folder: 'evidence/ev-1', target: '/elsewhere' }
 */
export function linkedFolderFinder(caseDir: string): (rel: string) => LinkedFolder | undefined {
  const seen = new Map<string, LinkedFolder | undefined>();
  const look = (folder: string): LinkedFolder | undefined => {
    if (seen.has(folder)) return seen.get(folder);
    const abs = join(caseDir, ...folder.split('/'));
    let found: LinkedFolder | undefined;
    try {
      if (lstatSync(abs).isSymbolicLink()) found = { folder, target: readlinkSync(abs) };
    } catch {
      found = undefined; // missing or unreadable: the file's own check says which
    }
    seen.set(folder, found);
    return found;
  };
  return (rel) => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const found = look(parts.slice(0, i).join('/'));
      if (found) return found;
    }
    return undefined;
  };
}
