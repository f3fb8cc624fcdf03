/**
 * Raw disk images (`collect --image DIR`) that lie inside the case folder are evidence like any
 * file: verify re-hashes each one a `disk.imaged` entry records (its SHA-256 is the disk's
 * whole-disk hash, computed while it was written) and names one that changed or went missing.
 * Images outside the case folder are recorded with their absolute path and not checked here. An
 * entry that does not describe its image is reported (`malformed-entry`), never passed over.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { LedgerEntry } from '../core/ports.js';
import { hashFile, isNothingThere } from './file-hash.js';
import { notARegularFile } from './fs-util.js';
import { linkedFolderFinder } from './linked-folders.js';
import type { Problem } from './problems.js';
import { fileRecordProblem } from './evidence-record.js';
import { showFsError, showUntrusted } from './untrusted-text.js';

type Report = (p: Omit<Problem, 'severity'>) => void;

/** What the path of a `disk.imaged` entry must be: collect records one of these two, nothing else. */
const IMAGE_PATH = 'an absolute path or one inside the case folder';

/** Why a recorded image path is neither absolute nor a plain path inside the case folder, or undefined. */
function imagePathProblem(path: string): string | undefined {
  if (path === '') return 'it is empty';
  if (isAbsolute(path)) return undefined;
  const parts = path.split('/');
  if (parts.includes('..')) return 'it has a ".." segment';
  if (parts.includes('')) return 'it has an empty segment';
  return undefined;
}

/**
 * Why a `disk.imaged` entry does not describe its image (its path, SHA-256 and size, as for an
 * evidence file), or undefined when it does.
 */
function imageRecordProblem(data: Readonly<Record<string, unknown>>): string | undefined {
  return fileRecordProblem(data, IMAGE_PATH, imagePathProblem);
}

/** An image inside the case folder that a well-formed `disk.imaged` entry records. */
interface RecordedImage {
  /** Relative to the case folder, `/`-separated. */
  path: string;
  sha256: string;
  size: number;
  seq: number;
}

/** What the ledger records of disk images, read in one pass over its entries. */
export interface RecordedImages {
  /** The well-formed images inside the case folder, to re-hash ({@link checkDiskImages}). */
  inside: RecordedImage[];
  /**
   * The case-root folders that hold recorded images (not "unknown" to verify), also of an entry
   * that is malformed for want of its hash or size: the ledger claims the folder either way.
   */
  roots: Set<string>;
}

/**
 * The disk images the ledger records, and every `disk.imaged` entry that does not describe its
 * image reported (a case that claims an image it cannot describe does not verify clean), by its
 * seq and line as for an evidence entry.
 */
export function recordedImages(entries: readonly LedgerEntry[], entryLines: readonly number[], fail: Report): RecordedImages {
  const images: RecordedImages = { inside: [], roots: new Set() };
  entries.forEach((entry, k) => {
    if (entry.type !== 'disk.imaged') return;
    const { path } = entry.data;
    if (typeof path === 'string' && imagePathProblem(path) === undefined && !isAbsolute(path)) images.roots.add(path.split('/')[0]!);
    const malformed = imageRecordProblem(entry.data);
    if (malformed !== undefined) {
      const line = entryLines[k]!;
      fail({ kind: 'malformed-entry', entrySeq: entry.seq, line, message: `entry ${entry.seq} (line ${line}, disk.imaged) does not name a valid disk image: ${malformed}` });
      return;
    }
    const image = entry.data as { path: string; sha256: string; size: number };
    if (!isAbsolute(image.path)) images.inside.push({ path: image.path, sha256: image.sha256, size: image.size, seq: entry.seq });
  });
  return images;
}

/** Re-hashes every recorded image inside the case folder; returns how many matched. */
export async function checkDiskImages(caseDir: string, images: readonly RecordedImage[], fail: Report): Promise<number> {
  let verified = 0;
  const linkedOn = linkedFolderFinder(caseDir);
  for (const image of images) {
    // The path as the ledger records it: plain, or quoted with what could repaint a terminal escaped.
    const shown = showUntrusted(image.path);
    const abs = join(caseDir, ...image.path.split('/'));
    const link = linkedOn(image.path);
    if (link) {
      fail({
        kind: 'changed-file',
        entrySeq: image.seq,
        path: image.path,
        message: `the disk image ${shown} (recorded in entry ${image.seq}) is reached through ${showUntrusted(link.folder)}, a symlink to ${showUntrusted(link.target)}: it is not stored in the case folder, so it was not checked`,
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
        fail({ kind: 'missing-file', entrySeq: image.seq, path: image.path, message: `the disk image ${shown} (recorded in entry ${image.seq}) is missing` });
        continue;
      }
      if (!info.isFile()) {
        // A symlink is not followed, as for an evidence file: what it points to is not the case's.
        const what = notARegularFile(abs);
        fail({ kind: 'changed-file', entrySeq: image.seq, path: image.path, message: `the disk image ${shown} is no longer a regular file${what ? ` (it is ${what})` : ''}: the image recorded in entry ${image.seq} was replaced` });
        continue;
      }
      got = await hashFile(abs);
    } catch (cause) {
      // An image that cannot be read (EACCES) is a problem with that image, not the end of the verdict.
      fail({
        kind: 'unreadable',
        entrySeq: image.seq,
        path: image.path,
        message: `the disk image ${shown} (recorded in entry ${image.seq}) cannot be read, so it was not checked: ${showFsError(cause, caseDir)}`,
      });
      continue;
    }
    if (got.sha256 !== image.sha256 || got.size !== image.size) {
      fail({
        kind: 'changed-file',
        entrySeq: image.seq,
        path: image.path,
        message: `the disk image ${shown} does not match entry ${image.seq}: sha256 ${got.sha256} (${got.size} bytes), recorded ${image.sha256} (${image.size} bytes)`,
      });
      continue;
    }
    verified++;
  }
  return verified;
}
