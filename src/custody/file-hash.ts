/**
 * SHA-256 of files on disk: evidence as it is stored, re-hashed by resume, by the off-machine
 * copy and, for every file of a case, by verify.
 *
 * Reads are 1 MiB into reused buffers, and double-buffered: the next read is in flight (in libuv's
 * thread pool) while the current chunk is hashed, so a large file costs about its hashing time.
 * A read stream's 64 KiB chunks, each a new buffer, cost verify a fifth of its time in reads and
 * garbage collection. (4 MiB reads measured no different on the bench case.)
 */
import { createHash, hash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

export interface FileDigest {
  sha256: string;
  size: number;
}

/** Two read buffers; one pair per file hashed at a time, reused from file to file. */
export type HashBuffers = readonly [Buffer, Buffer];

export function hashBuffers(): HashBuffers {
  return [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
}

/** SHA-256 (hex) and size of the file at `path` (following symlinks); rejects when it cannot be read. */
export async function hashFile(path: string, buffers: HashBuffers = hashBuffers()): Promise<FileDigest> {
  const handle = await open(path, 'r');
  try {
    return await hashChunks(async (buffer, position) => (await handle.read(buffer, 0, CHUNK, position)).bytesRead, buffers);
  } finally {
    await handle.close();
  }
}

/**
 * What verify finds at a path that should hold a recorded file. `links` is the file's hard-link
 * count: more than 1 means another name on the same filesystem, possibly outside the case
 * folder, can change these bytes after they were checked.
 */
export type EvidenceFileState = { state: 'missing' } | { state: 'not-a-file' } | ({ state: 'hashed'; links: number; inode: string } & FileDigest);

/** A file's identity on its machine (device and inode), to tell which names are one file. */
export function inodeOf(info: { dev: number; ino: number }): string {
  return `${info.dev}:${info.ino}`;
}

// Not following a symlink, and not blocking on a FIFO planted where a file was: either is "no
// longer a regular file", as lstat would say, found with the open that reads the file anyway.
const NO_FOLLOW = constants.O_NOFOLLOW;
const OPEN_FLAGS = constants.O_RDONLY | (NO_FOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Hashes the regular file at `path` without following a symlink. Missing → `missing`; a symlink,
 * directory, FIFO, … → `not-a-file`. Throws when a regular file cannot be read, or when what is at
 * the path cannot be told (a folder on the way that may not be searched).
 *
 * A file of up to 1 MiB is opened, read and closed with synchronous calls: a case holds
 * thousands of small files, and four trips through the thread pool per file cost four times the
 * CPU of the calls themselves (the hashing of a small file is the least of it). Larger files are
 * read in the thread pool, one chunk ahead of the hashing.
 */
export async function hashRegularFile(path: string, buffers: HashBuffers): Promise<EvidenceFileState> {
  if (NO_FOLLOW === undefined) {
    // No O_NOFOLLOW here (Windows): ask lstat first, as verify always did.
    const found = classify(path);
    if (found) return found;
  }
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (cause) {
    // ELOOP (a symlink), ENOENT, ENOTDIR, ENXIO (a socket): let lstat say which.
    const found = classify(path);
    if (found) return found;
    throw cause;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return { state: 'not-a-file' };
    if (info.size > CHUNK) {
      const readAt = (buffer: Buffer, position: number) =>
        new Promise<number>((resolve, reject) => read(fd, buffer, 0, CHUNK, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));
      return { state: 'hashed', links: info.nlink, inode: inodeOf(info), ...(await hashChunks(readAt, buffers)) };
    }
    // Read to the size fstat gave, as readFileSync does: one read, not a second to find the end
    // (a fifth of the system calls of a small file). A file cut meanwhile ends early.
    let size = 0;
    for (let bytesRead; size < info.size && (bytesRead = readSync(fd, buffers[0], size, info.size - size, size)) > 0; ) size += bytesRead;
    return { state: 'hashed', links: info.nlink, inode: inodeOf(info), sha256: hash('sha256', buffers[0].subarray(0, size), 'hex'), size };
  } finally {
    closeSync(fd);
  }
}

/**
 * `missing` or `not-a-file` as lstat sees `path`; undefined for a regular file. Throws when lstat
 * cannot tell (a folder on the way that may not be searched, EACCES): the file may well be there.
 */
function classify(path: string): EvidenceFileState | undefined {
  let info;
  try {
    info = lstatSync(path);
  } catch (cause) {
    if (isNothingThere(cause)) return { state: 'missing' };
    throw cause;
  }
  return info.isFile() ? undefined : { state: 'not-a-file' };
}

/** ENOENT, or ENOTDIR (a file where a folder on the way should be): there is nothing at the path. */
export function isNothingThere(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Hashes a file chunk by chunk, with the next read in flight while the current chunk is hashed. */
async function hashChunks(readAt: (buffer: Buffer, position: number) => Promise<number>, buffers: HashBuffers): Promise<FileDigest> {
  const digest = createHash('sha256');
  let size = 0;
  let current: 0 | 1 = 0;
  let pending = readAt(buffers[current], 0);
  for (;;) {
    const bytesRead = await pending;
    if (bytesRead === 0) break;
    const chunk = buffers[current].subarray(0, bytesRead);
    size += bytesRead;
    current = current === 0 ? 1 : 0;
    pending = readAt(buffers[current], size); // in flight while `chunk` is hashed
    digest.update(chunk);
  }
  return { sha256: digest.digest('hex'), size };
}
