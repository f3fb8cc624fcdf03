import { exitCodeFor } from '../../src/core/errors.js';
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { appendFile, chmod, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseKeyPath, MANIFEST_FILE, openCase, verifyCase, type Manifest } from '../../src/custody/index.js';
import { manifestSigningText } from '../../src/custody/manifest.js';
import { verifyText } from '../../src/custody/signing-key.js';
import { buildClosedCase, caseOptions, errorOf, INSTANCE, useScratch } from './helpers.js';

describe('opening, resuming and closing a case', () => {
  const scratch = useScratch();

  it('creates a private case folder whose first entry is case.opened', async () => {
    const kase = await openCase(caseOptions(scratch));
    expect(kase.caseDir).toBe(join(scratch.casesDir, 'IR-2026-0042'));
    expect((await stat(kase.caseDir)).mode & 0o777).toBe(0o700);
    expect(kase.resumed).toBe(false);
    expect(kase.entries().map((e) => e.type)).toEqual(['case.opened']);
    expect(kase.entries()[0]!.data.config).toEqual({ aws: { forensicsAccount: '111111111111', region: 'us-east-1' } });
    await kase.release();
  });

  it('refuses a case id that would escape the cases folder, creating nothing', async () => {
    for (const caseId of ['../evil', 'a/b', '..', '.hidden']) {
      const error = await errorOf(openCase(caseOptions(scratch, { caseId })));
      expect(error.code).toBe('E_INPUT');
    }
    expect(existsSync(scratch.casesDir)).toBe(false);
  });

  it('refuses to open an existing case without resume, so a mistyped id never appends to another case', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.release();
    const before = await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8');
    const error = await errorOf(openCase(caseOptions(scratch)));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/already exists.*--resume/);
    expect(await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8')).toBe(before);
  });

  it('refuses to resume a case that does not exist', async () => {
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/no case IR-2026-0042/);
  });

  it('refuses a second run on a case that is still open', async () => {
    const kase = await openCase(caseOptions(scratch));
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/open in another run/);
    await kase.release();
  });

  it('takes over the lock of a run that died, but not one held on another host', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.release();
    const lockPath = join(first.caseDir, '.lock');
    // A pid above Linux's pid_max: no process can have it, like a run that crashed.
    await writeFile(lockPath, JSON.stringify({ pid: 99_999_999, host: hostname() }));
    const second = await openCase(caseOptions(scratch, { resume: true }));
    await second.release();

    await writeFile(lockPath, JSON.stringify({ pid: 1234, host: 'forensics-bastion-2' }));
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/locked by a run on host forensics-bastion-2/);
  });

  it('a lock naming no process (pid 0, negative, fractional) is stale, not a run that is alive', async () => {
    // process.kill(0, 0) and kill(-1, 0) signal a process group and succeed: such a lock would
    // never be taken over, though no run can hold it.
    const first = await openCase(caseOptions(scratch));
    await first.release();
    const lockPath = join(first.caseDir, '.lock');
    for (const pid of [0, -1, 1.5]) {
      await writeFile(lockPath, JSON.stringify({ pid, host: hostname() }));
      const again = await openCase(caseOptions(scratch, { resume: true }));
      await again.release();
    }
  });

  it('resumes an interrupted run with the same key, re-verified, and appends case.resumed', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.storeEvidence({ evidenceId: 'ev-1', name: 'instance.json', kind: 'instance-description', source: INSTANCE, content: '{}' });
    const head = first.entries()[first.entries().length - 1]!;
    await first.release(); // the run was interrupted (Ctrl-C)
    const keyFiles = await readdir(scratch.keysDir);

    const second = await openCase(caseOptions(scratch, { resume: true, analyst: 'bob@example.org' }));
    expect(second.resumed).toBe(true);
    expect(second.publicKey).toBe(first.publicKey);
    expect(await readdir(scratch.keysDir)).toEqual(keyFiles);
    const types = second.entries().map((e) => e.type);
    expect(types).toEqual(['case.opened', 'evidence.stored', 'case.resumed']);
    const resumed = second.entries()[2]!;
    expect(resumed.actor).toBe('bob@example.org');
    expect(resumed.prev).toBe(head.hash);
    expect(resumed.data).toMatchObject({ previousHead: { seq: head.seq, hash: head.hash }, wasClosed: false, analyst: 'bob@example.org' });
    await second.close({ outcomes: [] });
    const result = await verifyCase(second.caseDir);
    expect(result.ok).toBe(true);
    expect(result.closed).toBe(true);
  });

  it('records the authenticated principal beside the asserted analyst, and a resume by someone else as such', async () => {
    const alice = { arn: 'arn:aws:sts::111111111111:assumed-role/Responder/alice', account: '111111111111', userId: 'AROAEXAMPLE1:alice' };
    const bob = { arn: 'arn:aws:sts::111111111111:assumed-role/Responder/bob', account: '111111111111', userId: 'AROAEXAMPLE1:bob' };
    const first = await openCase(caseOptions(scratch, { caseId: 'IR-WHO', principal: alice }));
    expect(first.entries()[0]!.data).toMatchObject({ analyst: 'alice@example.org', principal: alice });
    await first.release();

    const same = await openCase(caseOptions(scratch, { caseId: 'IR-WHO', resume: true, principal: alice }));
    const sameResumed = same.entries().at(-1)!;
    expect(sameResumed.data).toMatchObject({ analyst: 'alice@example.org', principal: alice });
    expect(sameResumed.data.differsFromOpened).toBeUndefined();
    await same.release();

    // Bob resumes the case still asserting to be alice: his credentials say otherwise, and the record says so.
    const other = await openCase(caseOptions(scratch, { caseId: 'IR-WHO', resume: true, principal: bob }));
    expect(other.entries().at(-1)!.data).toMatchObject({
      principal: bob,
      differsFromOpened: { principal: { opened: alice.arn, now: bob.arn } },
    });
    await other.release();

    const renamed = await openCase(caseOptions(scratch, { caseId: 'IR-WHO', resume: true, analyst: 'bob@example.org', principal: bob }));
    expect(renamed.entries().at(-1)!.data.differsFromOpened).toEqual({
      analyst: { opened: 'alice@example.org', now: 'bob@example.org' },
      principal: { opened: alice.arn, now: bob.arn },
    });
    await renamed.close({ outcomes: [] });
    expect((await verifyCase(renamed.caseDir)).ok).toBe(true);
  });

  it('refuses an empty or blank analyst', async () => {
    expect((await errorOf(openCase(caseOptions(scratch, { caseId: 'IR-NOBODY', analyst: ' ' })))).code).toBe('E_INPUT');
    expect(existsSync(join(scratch.casesDir, 'IR-NOBODY'))).toBe(false);
  });

  it('refuses to resume with a key other than the pinned one, leaving the ledger untouched', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.release();
    const { privateKey } = generateKeyPairSync('ed25519');
    const otherKey = join(scratch.root, 'other.pem');
    await writeFile(otherKey, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const before = await readFile(join(first.caseDir, 'ledger.jsonl'), 'utf8');

    const error = await errorOf(openCase(caseOptions(scratch, { resume: true, signingKeyFile: otherKey })));
    // A configuration error (exit 3): the ledger is intact, the config names the wrong key.
    expect(error.code).toBe('E_CONFIG');
    expect(exitCodeFor(error)).toBe(3);
    expect(error.message).toContain(first.fingerprint);
    expect(error.message).toMatch(/not the key this case was opened with/);
    expect(await readFile(join(first.caseDir, 'ledger.jsonl'), 'utf8')).toBe(before);
  });

  it('a casesDir this user cannot write in is a configuration error (exit 3) naming it, and nothing is created', async () => {
    await mkdir(scratch.casesDir, { recursive: true });
    // Root ignores permission bits, so as root the folder is made immutable instead (EPERM).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chattr', ['+i', scratch.casesDir]);
    else await chmod(scratch.casesDir, 0o555);
    try {
      const error = await errorOf(openCase(caseOptions(scratch)));
      expect(error.code).toBe('E_CONFIG');
      expect(exitCodeFor(error)).toBe(3);
      expect(error.message).toContain(`casesDir ${scratch.casesDir} does not let this user create the case folder IR-2026-0042`);
      expect(await readdir(scratch.casesDir)).toEqual([]);
    } finally {
      if (asRoot) execFileSync('chattr', ['-i', scratch.casesDir]);
      else await chmod(scratch.casesDir, 0o755);
    }
  });

  it('refuses to resume when the per-case key is lost, instead of silently pinning a new one', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.release();
    await rm(caseKeyPath(scratch.keysDir, 'IR-2026-0042'));
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toMatch(/signing key of case IR-2026-0042 is missing/);
    expect(existsSync(caseKeyPath(scratch.keysDir, 'IR-2026-0042'))).toBe(false);
  });

  it('refuses to resume a ledger whose last line was cut mid-write, naming the line', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.record('snapshot.requested', { volumeId: 'vol-1' });
    await first.release();
    const ledgerPath = join(first.caseDir, 'ledger.jsonl');
    await appendFile(ledgerPath, '{"actor":"alice@example.org","data":{"snap');
    const before = await readFile(ledgerPath, 'utf8');
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_LEDGER');
    expect(error.message).toMatch(/line 3 of ledger\.jsonl is incomplete/);
    expect(await readFile(ledgerPath, 'utf8')).toBe(before);
  });

  it('refuses to resume a ledger that was tampered with', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.record('snapshot.created', { snapshotId: 'snap-0001' });
    await first.release();
    const ledgerPath = join(first.caseDir, 'ledger.jsonl');
    await writeFile(ledgerPath, (await readFile(ledgerPath, 'utf8')).replace('snap-0001', 'snap-0002'));
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_LEDGER');
    expect(error.message).toMatch(/entry 2 .*does not match its hash/);
  });

  it('discards incomplete temp files of the interrupted run and says so in case.resumed', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.release();
    await mkdir(join(first.caseDir, '.partial'), { recursive: true });
    await writeFile(join(first.caseDir, '.partial', 'abc-pod.log.tmp'), 'half a log');
    const second = await openCase(caseOptions(scratch, { resume: true }));
    expect(second.entries().at(-1)!.data.discardedPartialFiles).toEqual(['abc-pod.log.tmp']);
    expect(await readdir(join(first.caseDir, '.partial'))).toEqual([]);
    await second.release();
  });

  it('starts over when the previous run died before writing its first entry', async () => {
    await mkdir(join(scratch.casesDir, 'IR-2026-0042'), { recursive: true });
    await writeFile(join(scratch.casesDir, 'IR-2026-0042', 'ledger.jsonl'), '');
    const kase = await openCase(caseOptions(scratch, { resume: true }));
    expect(kase.entries().map((e) => e.type)).toEqual(['case.opened']);
    await kase.release();
  });

  it("refuses to resume a ledger replaced by a symlink, appending nothing to the file it points at", async () => {
    const first = await openCase(caseOptions(scratch));
    await first.storeEvidence({ evidenceId: 'ev-1', name: 'instance.json', kind: 'instance-description', source: INSTANCE, content: '{}' });
    await first.release();
    const ledgerPath = join(first.caseDir, 'ledger.jsonl');
    const outside = join(scratch.root, 'elsewhere.jsonl');
    await writeFile(outside, await readFile(ledgerPath));
    await rm(ledgerPath);
    await symlink(outside, ledgerPath);
    const before = await readFile(outside, 'utf8');
    const listing = await readdir(first.caseDir);

    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(exitCodeFor(error)).toBe(3);
    expect(error.message).toBe(
      `${ledgerPath} is not a regular file (it is a symlink to ${outside}): the case's ledger was replaced, so the case cannot be continued; nothing was changed (custody verify reports the same)`,
    );
    expect(await readFile(outside, 'utf8')).toBe(before);
    expect(await readdir(first.caseDir)).toEqual(listing);
    expect((await lstat(ledgerPath)).isSymbolicLink()).toBe(true);
  });

  it.skipIf(process.platform === 'win32')('refuses to resume a ledger replaced by a FIFO instead of waiting on it for ever', async () => {
    const first = await openCase(caseOptions(scratch));
    await first.storeEvidence({ evidenceId: 'ev-1', name: 'instance.json', kind: 'instance-description', source: INSTANCE, content: '{}' });
    await first.release();
    const ledgerPath = join(first.caseDir, 'ledger.jsonl');
    await rm(ledgerPath);
    execFileSync('mkfifo', [ledgerPath]);
    const listing = await readdir(first.caseDir);
    // Holds the FIFO open for writing a few seconds, so code that reads it gets EOF then and this
    // test fails instead of hanging the run (as in verify.test.ts).
    const writer = spawn('sh', ['-c', 'exec 3<>"$1"; echo ready; exec sleep 3', 'sh', ledgerPath], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await once(writer.stdout, 'data');
      const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
      expect(error.code).toBe('E_INPUT');
      expect(error.message).toBe(
        `${ledgerPath} is not a regular file (it is a FIFO): the case's ledger was replaced, so the case cannot be continued; nothing was changed (custody verify reports the same)`,
      );
      expect(await readdir(first.caseDir)).toEqual(listing);
      expect((await lstat(ledgerPath)).isFIFO()).toBe(true);
    } finally {
      writer.kill();
    }
  });

  it('refuses to resume a folder that is not a case (files of its own, no ledger), changing nothing in it', async () => {
    // Somebody's own folder under casesDir, named like the case id: `collect --case X` says it
    // "already exists; add --resume", and --resume must not turn it into a case.
    const dir = join(scratch.casesDir, 'IR-2026-0042');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'notes.txt'), 'my own notes');
    const error = await errorOf(openCase(caseOptions(scratch, { resume: true })));
    expect(error.code).toBe('E_INPUT');
    expect(exitCodeFor(error)).toBe(3);
    expect(error.message).toContain(dir);
    expect(error.message).toContain('notes.txt');
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });

  it('closes with outcome counts and a signed manifest of every file and cloud artefact', async () => {
    const kase = await buildClosedCase(scratch);
    const closed = kase.entries().at(-1)!;
    expect(closed.type).toBe('case.closed');
    expect(closed.data).toMatchObject({
      outcomes: { collected: 0, partial: 1, failed: 0, skipped: 0 },
      notCollected: [{ target: INSTANCE, status: 'partial', reason: 'the console screenshot was denied' }],
      evidenceFiles: 2,
    });
    const manifest = JSON.parse(await readFile(join(kase.caseDir, MANIFEST_FILE), 'utf8')) as Manifest;
    expect(manifest.caseId).toBe('IR-2026-0042');
    expect(manifest.publicKey).toBe(kase.publicKey);
    expect(manifest.ledgerHead).toEqual({ seq: closed.seq, hash: closed.hash });
    expect(manifest.files.map((f) => f.path)).toEqual([
      'evidence/ev-aaaaaaaaaaaa/console-output.log',
      'evidence/ev-aaaaaaaaaaaa/instance.json',
    ]);
    expect(manifest.files[1]).toMatchObject({ kind: 'instance-description', source: INSTANCE, cloudIds: { instanceId: 'i-0abc1234def567890' } });
    // Two records of one snapshot become one item with both ids: the latest state.
    expect(manifest.artifacts).toHaveLength(1);
    expect(manifest.artifacts[0]!.cloudIds).toEqual({ snapshotId: 'snap-0001', forensicsCopyId: 'snap-0999' });
    expect(verifyText(kase.publicKey, manifestSigningText(manifest), manifest.signature)).toBe(true);

    const late = await errorOf(kase.record('snapshot.created', { snapshotId: 'snap-late' }));
    expect(late.code).toBe('E_LEDGER');
  });

  it('resuming a closed case retires its manifest until the next close writes a new one', async () => {
    const first = await buildClosedCase(scratch);
    const manifestPath = join(first.caseDir, MANIFEST_FILE);
    const oldHead = (JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest).ledgerHead;
    const second = await openCase(caseOptions(scratch, { resume: true }));
    expect(existsSync(manifestPath)).toBe(false);
    expect(second.entries().at(-1)!.data).toMatchObject({ wasClosed: true, supersededManifest: { ledgerHead: oldHead } });
    await second.record('snapshot.requested', { volumeId: 'vol-9' });
    await second.close({ outcomes: [] });
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    expect(manifest.ledgerHead.seq).toBe(second.entries().at(-1)!.seq);
    expect((await verifyCase(second.caseDir)).ok).toBe(true);
  });
});
