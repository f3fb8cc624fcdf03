/**
 * One run at a time per case: two writers appending to one ledger would fork its chain.
 * The lock is a file holding the owner's pid; a lock left by a crashed run (its pid is gone) is
 * taken over, so an interrupted case can always be resumed.
 */
import { hostname } from 'node:os';
import { lstat, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { LOCK_FILE } from './layout.js';
import { showFsError, showGivenPath, showUntrusted } from './untrusted-text.js';

export interface CaseLock {
  release(): Promise<void>;
}

/** Takes the case lock or throws `E_INPUT` naming the run that holds it. */
export async function acquireCaseLock(caseDir: string, caseId: string): Promise<CaseLock> {
  const path = join(caseDir, LOCK_FILE);
  const body = JSON.stringify({ pid: process.pid, host: hostname() });
  const shownPath = showGivenPath(path);
  // A case id may come from a case's ledger (copy-case reads it there), not only from the user.
  const shownId = showUntrusted(caseId);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, body, { flag: 'wx', mode: 0o600 });
      return { release: () => unlink(path).catch(() => undefined) };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CustodyError('E_LEDGER', `cannot lock case ${shownId} (${shownPath}): ${showFsError(cause, caseDir)}`, { cause });
      }
    }
    const holder = await readLockHolder(path);
    if (holder && holder.host === hostname() && isAlive(holder.pid)) {
      throw new CustodyError(
        'E_INPUT',
        `case ${shownId} is open in another run (pid ${holder.pid}); wait for it to finish or stop it, and if no such run exists delete ${shownPath}`,
        { resource: caseDir },
      );
    }
    if (holder && holder.host !== hostname()) {
      // The host is what the lock file says: anyone who could write the case folder wrote it.
      throw new CustodyError(
        'E_INPUT',
        `case ${shownId} is locked by a run on host ${showUntrusted(holder.host)} (pid ${holder.pid}); if that run is gone, delete ${shownPath}`,
        { resource: caseDir },
      );
    }
    await unlink(path).catch(() => undefined); // stale: its run died without releasing it
  }
  throw new CustodyError('E_INPUT', `case ${shownId} is being opened by another run at the same moment`, { resource: caseDir });
}

/**
 * The run a lock file names (`{pid, host}`), or undefined when it names none (half-written, not
 * JSON). Only a small regular file is read: a FIFO planted under the lock's name would block.
 */
export async function readLockHolder(path: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const info = await lstat(path);
    if (!info.isFile() || info.size >= 4096) return undefined;
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown; host?: unknown };
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return { pid: parsed.pid, host: parsed.host };
  } catch {
    // unreadable or half-written: treat as stale
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  // kill(0) and kill(-n) signal a process group and succeed: a lock naming no process is stale.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
