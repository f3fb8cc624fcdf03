/**
 * Raw disk images (`collect --image DIR`) that lie inside the case folder are evidence like any
 * file: verify re-hashes each one a `disk.imaged` entry records (its SHA-256 is the disk's
 * whole-disk hash, computed while it was written) and names one that changed or went missing.
 * Images outside the case folder are recorded with their absolute path and not checked here.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { LedgerEntry } from '../core/ports.js';
import { hashFile, isNothingThere } from './file-hash.js';
import { notARegularFile } from './fs-util.js';
import { linkedFolderFinder } from './linked-folders.js';
import type { Problem } from './problems.js';

type Report = (p: Omit<Problem, 'severity'>) => void;

/** The images inside the case folder the ledger records, by relative path. */
export function recordedImages(entries: readonly LedgerEntry[]): Array<{ path: string; sha256: string; size: number; seq: number }> {
  const out: Array<{ path: string; sha256: string; size: number; seq: number }> = [];
  for (const e of entries) {
    if (e.type !== 'disk.imaged') continue;
    const { path, sha256, size } = e.data;
    if (typeof path !== 'string' || typeof sha256 !== 'string' || typeof size !== 'number') continue;
    if (isAbsolute(path) || path.split('/').some((p) => p === '..' || p === '')) continue;
    out.push({ path, sha256, size, seq: e.seq });
  }
  return out;
}

/** The case-root folders that hold recorded images (not "unknown" to verify). */
export function imageRoots(entries: readonly LedgerEntry[]): Set<string> {
  return new Set(recordedImages(entries).map((i) => i.path.split('/')[0] ?? ''));
}

/** Re-hashes every recorded image inside the case folder; returns how many matched. */
export async function checkDiskImages(caseDir: string, entries: readonly LedgerEntry[], fail: Report): Promise<number> {
  let verified = 0;
  const linkedOn = linkedFolderFinder(caseDir);
  for (const image of recordedImages(entries)) {
    const abs = join(caseDir, ...image.path.split('/'));
    const link = linkedOn(image.path);
    if (link) {
      fail({
        kind: 'changed-file',
        entrySeq: image.seq,
        path: image.path,
        message: `the disk image ${image.path} (recorded in entry ${image.seq}) is reached through ${link.folder}, a symlink to ${link.target}: it is not stored in the case folder, so it was not checked`,
      });
      continue;
    }
    let got;
    try {
      const info = await lstat(abs).catch((cause: unknown) => {
        if (isNothingThere(cause)) return undefined;
        throw cause;
      });
      if (!info) {
        fail({ kind: 'missing-file', entrySeq: image.seq, path: image.path, message: `the disk image ${image.path} (recorded in entry ${image.seq}) is missing` });
        continue;
      }
      if (!info.isFile()) {
        // A symlink is not followed, as for an evidence file: what it points to is not the case's.
        const what = notARegularFile(abs);
        fail({ kind: 'changed-file', entrySeq: image.seq, path: image.path, message: `the disk image ${image.path} is no longer a regular file${what ? ` (it is ${what})` : ''}: the image recorded in entry ${image.seq} was replaced` });
        continue;
      }
      got = await hashFile(abs);
    } catch (cause) {
      // An image that cannot be read (EACCES) is a problem with that image, not the end of the verdict.
      fail({
        kind: 'unreadable',
        entrySeq: image.seq,
        path: image.path,
        message: `the disk image ${image.path} (recorded in entry ${image.seq}) cannot be read, so it was not checked: ${(cause as Error).message}`,
      });
      continue;
    }
    if (got.sha256 !== image.sha256 || got.size !== image.size) {
      fail({
        kind: 'changed-file',
        entrySeq: image.seq,
        path: image.path,
        message: `the disk image ${image.path} does not match entry ${image.seq}: sha256 ${got.sha256} (${got.size} bytes), recorded ${image.sha256} (${image.size} bytes)`,
      });
      continue;
    }
    verified++;
  }
  return verified;
}
