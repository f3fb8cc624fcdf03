/**
 * Where a path really is, for checks of one folder against another ("is --out inside the case
 * folder?"): compared as typed, a symlink to a folder inside the case passes as a folder outside it.
 */
import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * The real path of `path` (every symlink on the way resolved); for a path that does not exist
 * yet, the real path of its nearest existing ancestor with the missing names appended, which is
 * where a folder made at `path` would be. A link whose target is missing is followed to where
 * the target would be: making the folder there is what creating `path` does.
 *
 * @example
 * await realPathOfNearest('reports/new'); // '/srv/cases/IR-1/x/new' when reports → /srv/cases/IR-1/x
 */
export async function realPathOfNearest(path: string): Promise<string> {
  const missing: string[] = [];
  let at = resolve(path);
  // Dangling links followed so far; past the kernel's own limit a chain is a loop.
  let hops = 0;
  for (;;) {
    try {
      return join(await realpath(at), ...missing);
    } catch (cause) {
      const parent = dirname(at);
      // Only a name that is not there is walked past; anything else (a loop, no permission) says
      // nothing about where the path leads, so the resolved path is all there is to compare.
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) return join(at, ...missing);
      const target = hops < 40 ? await readlink(at).catch(() => undefined) : undefined;
      if (target !== undefined) {
        hops += 1;
        at = resolve(parent, target);
        continue;
      }
      missing.unshift(basename(at));
      at = parent;
    }
  }
}
