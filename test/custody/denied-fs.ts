/**
 * Permissions simulated for tests that run as root (root reads everything): `node:fs` and
 * `node:fs/promises` wrapped to answer EACCES, as the kernel would, for the paths a test denies.
 * A test file mocks both modules with these wrappers:
 *
 *   vi.mock('node:fs', async (original) => (await import('./denied-fs.js')).deniedFs(await original()));
 *   vi.mock('node:fs/promises', async (original) => (await import('./denied-fs.js')).deniedFsPromises(await original()));
 */
import type * as Fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';

/** What a test denies; cleared before each test. */
export const denied = {
  /** Mode 000 (or another user's 0600) files: can be looked at, not opened. */
  files: new Set<string>(),
  /** Mode 000 (or another user's 0700) folders: cannot be listed, and nothing under them can be reached. */
  folders: new Set<string>(),
  /** Mode 0111 folders: can be searched, but not listed. */
  listing: new Set<string>(),
  clear(): void {
    this.files.clear();
    this.folders.clear();
    this.listing.clear();
  },
};

export function eacces(syscall: string, path: string): Error {
  return Object.assign(new Error(`EACCES: permission denied, ${syscall} '${path}'`), { code: 'EACCES', errno: -13, syscall, path });
}

function under(path: unknown): boolean {
  return typeof path === 'string' && [...denied.folders].some((dir) => path.startsWith(`${dir}/`));
}

/** `fn`, refusing first with EACCES for the paths `refuses` names. */
function guard<F>(fn: F, syscall: string, refuses: (path: string) => boolean): F {
  return ((path: unknown, ...rest: unknown[]) => {
    if (typeof path === 'string' && refuses(path)) throw eacces(syscall, path);
    return (fn as (...a: unknown[]) => unknown)(path, ...rest);
  }) as F;
}

/** Async functions refuse by rejecting, as node:fs/promises does. */
function guardAsync<F>(fn: F, syscall: string, refuses: (path: string) => boolean): F {
  const sync = guard(fn, syscall, refuses) as (...a: unknown[]) => unknown;
  return (async (...args: unknown[]) => sync(...args)) as F;
}

const opens = (path: string) => denied.files.has(path) || under(path);
const lists = (path: string) => denied.folders.has(path) || denied.listing.has(path) || under(path);

export function deniedFs(fs: typeof Fs): typeof Fs {
  const guarded = {
    openSync: guard(fs.openSync, 'open', opens),
    readFileSync: guard(fs.readFileSync, 'open', opens),
    lstatSync: guard(fs.lstatSync, 'lstat', under),
    readdirSync: guard(fs.readdirSync, 'scandir', lists),
  };
  return { ...fs, ...guarded, default: { ...fs, ...guarded } } as typeof Fs;
}

export function deniedFsPromises(fs: typeof FsPromises): typeof FsPromises {
  const guarded = {
    open: guardAsync(fs.open, 'open', opens),
    access: guardAsync(fs.access, 'access', opens),
    stat: guardAsync(fs.stat, 'stat', under),
    lstat: guardAsync(fs.lstat, 'lstat', under),
    readdir: guardAsync(fs.readdir, 'scandir', lists),
  };
  return { ...fs, ...guarded, default: { ...fs, ...guarded } } as typeof FsPromises;
}
