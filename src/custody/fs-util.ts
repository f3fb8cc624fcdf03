import { close, closeSync, constants, fdatasync, fstat, fsync, ftruncate, link, lstatSync, open, openSync, readlinkSync, unlink, write, type Stats } from 'node:fs';
import { showUntrusted } from './untrusted-text.js';

/*
 * The evidence store's and the ledger's file calls, as plain promises over Node's callback API.
 * `node:fs/promises` costs about twice the main-thread CPU per call (each request carries a
 * promise and a stats array made in C++; measured on the development VM with fstat: ~8.5 against
 * ~4.5 µs a call), and a stored file makes six calls. What each call does is unchanged.
 */

/** Opens `path` with numeric `flags`; resolves to the file descriptor. */
export function openFd(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** Writes all of `bytes` at `position` (null: the file's offset, or its end under O_APPEND). */
export async function writeAllFd(fd: number, bytes: Uint8Array, position: number | null = null): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await new Promise<number>((resolve, reject) =>
      write(fd, bytes, offset, bytes.length - offset, position === null ? null : position + offset, (error, written) =>
        error ? reject(error) : resolve(written),
      ),
    );
  }
}

export function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** The length of the open file `fd`, in bytes. */
export function sizeOfFd(fd: number): Promise<number> {
  return new Promise((resolve, reject) => fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size))));
}

/** Cuts the open file `fd` to `length` bytes. */
export function truncateFd(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => ftruncate(fd, length, (error) => (error ? reject(error) : resolve())));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
}

export function linkPath(existing: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => link(existing, path, (error) => (error ? reject(error) : resolve())));
}

export function unlinkPath(path: string): Promise<void> {
  return new Promise((resolve, reject) => unlink(path, (error) => (error ? reject(error) : resolve())));
}

/**
 * Makes new directory entries durable; not every platform allows fsync on a directory.
 * Opening and closing a folder the store has just written to touch no data and do not wait on the
 * disk, so they are synchronous: only the fsync goes through libuv's thread pool (each trip there
 * cost this VM more process CPU than the open or close itself, and a folder is synced for every
 * stored file).
 */
export async function syncDir(path: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    await new Promise<void>((resolve) => fsync(fd, () => resolve()));
  } finally {
    try {
      closeSync(fd);
    } catch {
      // as before: a folder that cannot be synced or closed is not an error
    }
  }
}

/** Callers waiting for the next fsync of one directory, and whether one is running. */
interface DirSyncs {
  waiting: Array<() => void>;
  running: boolean;
}

const dirSyncs = new Map<string, DirSyncs>();

/**
 * `syncDir` with group commit: resolves once an fsync of `path` that started after this call has
 * completed, so every entry the caller made in the folder before calling is durable. Callers that
 * arrive while one fsync runs share the next one. A directory fsync costs more CPU than the small
 * file it makes durable (measured on the development VM: ~350 of ~600 µs of CPU per small
 * evidence file), and a target's files land in its folder close together. `sync` is the fsync
 * (tests count it); the one of the caller that starts a round is used.
 */
export function syncDirShared(path: string, sync: (path: string) => Promise<void> = syncDir): Promise<void> {
  let state = dirSyncs.get(path);
  if (!state) {
    state = { waiting: [], running: false };
    dirSyncs.set(path, state);
  }
  const promise = new Promise<void>((resolve) => state.waiting.push(resolve));
  if (!state.running) {
    state.running = true;
    // Started after the I/O callbacks of this turn of the event loop: files of one folder written
    // together (a target's descriptions) finish in the same turn and share the first fsync.
    setImmediate(() => void drainDirSyncs(path, state, sync));
  }
  return promise;
}

async function drainDirSyncs(path: string, state: DirSyncs, sync: (path: string) => Promise<void>): Promise<void> {
  while (state.waiting.length > 0) {
    // Taken before the fsync starts: only callers already waiting are covered by it.
    const batch = state.waiting;
    state.waiting = [];
    await sync(path).catch(() => undefined); // as syncDir: a folder that cannot be synced is not an error
    for (const resolve of batch) resolve();
  }
  state.running = false;
  dirSyncs.delete(path);
}

/**
 * What stands at `path` in place of a regular file, for a message ('a symlink to …', 'a folder',
 * 'a FIFO', 'a socket or a device'); undefined when it is a regular file or nothing is there.
 * lstat only: a symlink is named, never followed, and nothing is opened (opening a FIFO waits for
 * its other end for ever). Verify and resume both check a case's ledger with it.
 */
export function notARegularFile(path: string): string | undefined {
  let info: Stats;
  try {
    info = lstatSync(path);
  } catch {
    return undefined; // missing or unreadable: the caller's read says which
  }
  if (info.isFile()) return undefined;
  if (info.isSymbolicLink()) {
    let target = 'an unknown target';
    try {
      // Whatever the link says: shown as untrusted text (untrusted-text.ts).
      target = showUntrusted(readlinkSync(path));
    } catch {
      // named without its target
    }
    return `a symlink to ${target}`;
  }
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO';
  return 'a socket or a device';
}
