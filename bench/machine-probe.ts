/**
 * What this machine charges, measured just before each collection run, for two pieces of work
 * every collected instance needs whatever the collector's code does: the case layout's file calls
 * (a folder and two small evidence files, made durable the way the evidence store makes them) and
 * the signed ledger entries (SHA-256 and Ed25519 of each of an instance's nine entries).
 *
 * Why: the collector's CPU per target moves by a third between back-to-back runs of the same code
 * on a shared 2-core VM, and on this VM's ext4 creating a file or a folder costs ~140 µs of
 * kernel time (a tmpfs: ~10 µs). Printed beside each run, these say how much of a figure is the
 * machine's price for the custody format and how fast the machine was in that run. They are
 * informational: no goal is computed from them.
 */
import { execFileSync } from 'node:child_process';
import { constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeFd, fdatasyncFd, linkPath, openFd, syncDirShared, unlinkPath, writeAllFd } from '../src/custody/fs-util.js';

export interface MachineProbe {
  /** Process CPU per instance for a folder and two files, stored as the evidence store does, ms. */
  filesMs: number;
  /** Process CPU per instance for nine entries' SHA-256 and Ed25519 signature, ms. */
  entriesMs: number;
}

/** Files and entries an instance gets in the bench's in-place collection (instance.json, console output; 9 entries). */
const FILES_PER_INSTANCE = [5_700, 900];
const ENTRIES_PER_INSTANCE = 9;
const ENTRY_BYTES = 700;

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/**
 * Writes out what the machine's page cache and file-system journal still hold (`sync`), so the
 * next measured process does not pay for it: on ext4 a new file's fdatasync commits the journal
 * and writes out other files' dirty data with it, and the collector's first fsyncs used to pay
 * for the probe's folders (and the previous run's case) just deleted — ~0.1–0.15 s of its libuv
 * pool's CPU at 200 instances, ~0.6 ms a target (bench/README.md). False where `sync` cannot run.
 */
export function flushDisks(): boolean {
  try {
    execFileSync('sync', { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs in the calling process: call it while nothing else of that process is busy. `dir`: where the case folders of the runs go. */
export async function probeMachine(dir = tmpdir(), instances = 200, concurrency = 16): Promise<MachineProbe> {
  const root = mkdtempSync(join(dir, 'custody-bench-probe-'));
  try {
    const files = await probeFiles(root, instances, concurrency);
    return { filesMs: files / instances, entriesMs: probeEntries(instances) / instances };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function probeFiles(root: string, instances: number, concurrency: number): Promise<number> {
  const evidence = join(root, 'evidence');
  mkdirSync(evidence);
  const start = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < instances) {
      const folder = join(evidence, `ev-${next++}`);
      await mkdir(folder, { recursive: true, mode: 0o700 }); // as the evidence store makes a folder
      await Promise.all(FILES_PER_INSTANCE.map((size, i) => storeFile(folder, `file-${i}`, Buffer.alloc(size, 0x61))));
      await syncDirShared(folder);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return cpuMs(start);
}

/** A temp file created exclusively, written, fdatasync'd, closed, linked to its name, unlinked. */
async function storeFile(folder: string, name: string, bytes: Buffer): Promise<void> {
  const temp = join(folder, `.${name}.partial`);
  const fd = await openFd(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  await writeAllFd(fd, bytes);
  await fdatasyncFd(fd);
  await closeFd(fd);
  await linkPath(temp, join(folder, name));
  await unlinkPath(temp);
}

function probeEntries(instances: number): number {
  const { privateKey } = generateKeyPairSync('ed25519');
  const line = 'x'.repeat(ENTRY_BYTES);
  // The first signatures of a process pay one-time set-up; the collector's are paid in its own run.
  for (let i = 0; i < 50; i++) sign(null, Buffer.from(String(i)), privateKey);
  const start = process.cpuUsage();
  for (let i = 0; i < instances * ENTRIES_PER_INSTANCE; i++) {
    const digest = createHash('sha256').update(`${line}${i}`).digest('hex');
    sign(null, Buffer.from(digest, 'utf8'), privateKey);
  }
  return cpuMs(start);
}
