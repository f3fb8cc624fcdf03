// Which case files this process still holds open, read from /proc/self/fd (Linux). A FileHandle
// nobody closes is closed by the garbage collector, and Node 26 turns that into an uncaught
// ERR_INVALID_STATE: a leaked ledger handle would crash the collector mid-incident. Reading the
// descriptor table finds such a leak deterministically, before any GC runs.
import { readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { LEDGER_FILE, PARTIAL_DIR } from '../../src/custody/layout.js';

/** True where open descriptors can be listed; elsewhere the check is skipped, not faked. */
export const CAN_LIST_OPEN_FILES = (() => {
  try {
    readdirSync('/proc/self/fd');
    return true;
  } catch {
    return false;
  }
})();

/** Paths of ledgers, evidence and part-written files (under `dir`, if given) open in this process. */
export function openCaseFiles(dir?: string): string[] {
  if (!CAN_LIST_OPEN_FILES) return [];
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the read (the readdir's own descriptor)
    }
    if (dir !== undefined && !target.startsWith(`${dir}/`) && target !== dir) continue;
    const caseFile = basename(target) === LEDGER_FILE || target.includes(`/${PARTIAL_DIR}/`) || target.includes('/evidence/');
    if (caseFile || dir !== undefined) open.push(target);
  }
  return open.sort();
}
