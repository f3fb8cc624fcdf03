/**
 * Every value verify reads from a case folder (a case id or an item of manifest.json, the path a
 * `disk.imaged` entry records) reaches its messages as untrusted text: plain values read as they
 * are, anything else quoted with control and invisible characters escaped, cut short, and a
 * credential never shown. A `disk.imaged` entry that cannot describe its image is reported, never
 * skipped. Where a message names one entry, `--json` names it too (`entrySeq`).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { signManifest, type UnsignedManifest } from '../../src/custody/manifest.js';
import { signingKeyFrom } from '../../src/custody/signing-key.js';
import { openCase, verifyCase, type CaseHandle } from '../../src/custody/index.js';
import { buildClosedCase, caseOptions, resignManifest, unsignedManifestOf, useScratch } from './helpers.js';

const HOSTILE = 'IR-9\u001b[2J\r\n\u202eexe\u0085\u200b';
const HOSTILE_SHOWN = String.raw`"IR-9\u001b[2J\r\n\u202eexe\u0085\u200b"`;
const LONG = `IR-${'A'.repeat(100_000)}`;
const PRESIGNED = 'https://bucket.s3.amazonaws.com/evidence/x?X-Amz-Signature=0123456789abcdef&X-Amz-Expires=600';
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b\u202e]/;

describe('verify: values from the case folder are untrusted text', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let manifestPath: string;
  let manifest: UnsignedManifest;

  const resign = (changed: UnsignedManifest) => resignManifest(kase, changed);
  /** Writes `changed` signed with a key of its own, as another case's manifest is. */
  const signElsewhere = async (changed: UnsignedManifest) => {
    const key = signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
    await writeFile(manifestPath, JSON.stringify(signManifest({ ...changed, publicKey: key.publicKey }, key)));
  };
  const firstProblem = async () => (await verifyCase(kase.caseDir)).firstProblem!;

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    manifestPath = join(kase.caseDir, 'manifest.json');
    manifest = await unsignedManifestOf(kase);
  });

  describe("the case id of manifest.json", () => {
    it("another case's manifest: a plain case id reads as it is, a hostile one escaped", async () => {
      await signElsewhere({ ...manifest, caseId: 'IR-2026-0099' });
      expect((await firstProblem()).message).toMatch(/^manifest\.json is for case IR-2026-0099, signed with key sha256:/);

      await signElsewhere({ ...manifest, caseId: HOSTILE });
      const { message } = await firstProblem();
      expect(message).toContain(`manifest.json is for case ${HOSTILE_SHOWN}, signed with key sha256:`);
      expect(message).not.toMatch(RAW_CONTROL);
    });

    it('a manifest of another case id signed with the case key: cut short, with its length', async () => {
      await resign({ ...manifest, caseId: LONG });
      const problem = await firstProblem();
      expect(problem).toMatchObject({ kind: 'manifest-mismatch', path: 'manifest.json' });
      expect(problem.message.length).toBeLessThan(300);
      expect(problem.message).toBe(`manifest.json is for case "IR-${'A'.repeat(77)}"… (${LONG.length} characters), the ledger for IR-2026-0042`);
    });

    it('a case id that looks like a credential is not shown', async () => {
      await resign({ ...manifest, caseId: PRESIGNED });
      const { message } = await firstProblem();
      expect(message).not.toContain('X-Amz-Signature');
      expect(message).toBe('manifest.json is for case (not shown: it looks like a signed URL (SAS, presigned or signed URL)), the ledger for IR-2026-0042');
    });
  });

  describe('the items of manifest.json', () => {
    it('a listed path, an artefact key and a field name are escaped; plain ones read as they are', async () => {
      const [first, ...others] = manifest.files;
      const planted = { ...first!, path: `evidence/ev-aaaaaaaaaaaa/\u202etxt.exe\u001b[2J`, ['note\u0007']: 1 };
      await resign({ ...manifest, files: [{ ...first!, ['note\u0007']: 1 } as never, ...others, planted as never] });
      const problem = await firstProblem();
      expect(problem.message).toBe(
        `the evidence listed in manifest.json differs from what the ledger records: ${first!.path} is listed otherwise than entry ${first!.entrySeq} records it (${String.raw`"note\u0007"`}) (and 1 more difference: ${String.raw`"evidence/ev-aaaaaaaaaaaa/\u202etxt.exe\u001b[2J"`} is listed in manifest.json but no ledger entry records it)`,
      );
      expect(problem.message).not.toMatch(RAW_CONTROL);
    });

    it('an artefact whose source looks like a credential, or runs to 100k characters, is not printed whole', async () => {
      const [artifact] = manifest.artifacts;
      await resign({ ...manifest, artifacts: [artifact!, { ...artifact!, source: PRESIGNED }, { ...artifact!, evidenceId: LONG }] });
      const { message } = await firstProblem();
      expect(message).not.toContain('X-Amz-Signature');
      expect(message.length).toBeLessThan(600);
      expect(message).toContain('(not shown: it looks like a signed URL (SAS, presigned or signed URL))');
      expect(message).toContain(`"IR-${'A'.repeat(77)}"… (${LONG.length} characters)`);
    });

    it('--json names the entry of the first item that differs', async () => {
      const instance = manifest.files.find((f) => f.name === 'instance.json')!;
      await resign({ ...manifest, files: manifest.files.map((f) => (f === instance ? { ...f, size: f.size + 1 } : f)) });
      expect(await firstProblem()).toMatchObject({ kind: 'manifest-mismatch', path: 'manifest.json', entrySeq: instance.entrySeq });
    });
  });
});

describe('verify: names found in the case folder itself', () => {
  const scratch = useScratch();

  it('a planted file, a file at the case root and a symlink target are named escaped', async () => {
    const kase = await buildClosedCase(scratch);
    await writeFile(join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', 'x\u001b[2J\u202e'), 'planted');
    await writeFile(join(kase.caseDir, 'notes\u0007.txt'), '');
    const console = join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', 'console-output.log');
    await rm(console);
    await symlink('/tmp/\u001b]0;pwned\u0007', console);
    const result = await verifyCase(kase.caseDir);
    const messages = [...result.problems, ...result.warnings].map((p) => p.message);
    expect(messages).toEqual([
      String.raw`evidence/ev-aaaaaaaaaaaa/console-output.log is no longer a regular file (it is a symlink to "/tmp/\u001b]0;pwned\u0007"): the file recorded in entry 4 was replaced`,
      String.raw`"evidence/ev-aaaaaaaaaaaa/x\u001b[2J\u202e" is in the case folder but no ledger entry records it`,
      String.raw`"notes\u0007.txt" at the case root is not part of the case (ignored)`,
    ]);
    // The location fields keep the name as found, for a program to open it.
    expect(result.problems[1]?.path).toBe('evidence/ev-aaaaaaaaaaaa/x\u001b[2J\u202e');
  });
});

describe('verify: disk images a disk.imaged entry records', () => {
  const scratch = useScratch();

  /** A closed case recording one image of `bytes` at `path` (written there when `write`). */
  let cases = 0;
  const caseWithImage = async (data: Record<string, unknown>, write?: Buffer) => {
    const open = await openCase(caseOptions(scratch, { caseId: `IR-2026-${5000 + cases++}` }));
    if (write && typeof data.path === 'string') {
      await mkdir(join(open.caseDir, 'images'), { recursive: true });
      await writeFile(join(open.caseDir, ...data.path.split('/')), write);
    }
    await open.record('disk.imaged', { volumeId: 'vol-1', insideCase: true, ...data });
    await open.close();
    return open.caseDir;
  };
  const bytes = Buffer.alloc(4096, 7);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  it('a plain image path reads as it is; one with control characters is escaped', async () => {
    let caseDir = await caseWithImage({ path: 'images/vol-1.raw', sha256, size: bytes.length });
    expect((await verifyCase(caseDir)).firstProblem?.message).toBe('the disk image images/vol-1.raw (recorded in entry 2) is missing');

    caseDir = await caseWithImage({ path: 'images/vol\u001b[2J\u202e.raw', sha256, size: bytes.length });
    const problem = (await verifyCase(caseDir)).firstProblem!;
    expect(problem).toMatchObject({ kind: 'missing-file', entrySeq: 2, path: 'images/vol\u001b[2J\u202e.raw' });
    expect(problem.message).toBe(String.raw`the disk image "images/vol\u001b[2J\u202e.raw" (recorded in entry 2) is missing`);
  });

  it('an entry without a hash or size is reported with its seq and line, not skipped', async () => {
    const caseDir = await caseWithImage({ path: 'images/vol-1.raw', size: '4096' }, bytes);
    const result = await verifyCase(caseDir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'malformed-entry',
        entrySeq: 2,
        line: 2,
        message: 'entry 2 (line 2, disk.imaged) does not name a valid disk image: its sha256 is missing; its size is a string, not a number',
      }),
    ]);
    // The folder of an image the ledger claims is not called unknown as well.
    expect(result.warnings.map((w) => w.kind)).toEqual([]);
  });

  it('a path that leaves the case folder is reported, quoted safely', async () => {
    let result = await verifyCase(await caseWithImage({ path: 'images/../../elsewhere/vol-1.raw', sha256, size: 1 }));
    expect(result.problems).toEqual([
      expect.objectContaining({
        kind: 'malformed-entry',
        entrySeq: 2,
        line: 2,
        message: 'entry 2 (line 2, disk.imaged) does not name a valid disk image: its path "images/../../elsewhere/vol-1.raw" is not an absolute path or one inside the case folder (it has a ".." segment)',
      }),
    ]);
    result = await verifyCase(await caseWithImage({ path: '', sha256, size: 1 }));
    expect(result.problems.map((p) => p.message)).toEqual(['entry 2 (line 2, disk.imaged) does not name a valid disk image: its path "" is not an absolute path or one inside the case folder (it is empty)']);
    result = await verifyCase(await caseWithImage({ path: `images//${'\u202e'.repeat(3)}${'x'.repeat(100_000)}`, sha256, size: 1 }));
    expect(result.problems[0]!.message.length).toBeLessThan(400);
    expect(result.problems[0]!.message).not.toMatch(RAW_CONTROL);
    expect(result.problems[0]!.message).toContain('characters) is not an absolute path or one inside the case folder (it has an empty segment)');
  });
});

describe('verify --json: the entry a not-closed warning names', () => {
  const scratch = useScratch();

  it('is the last entry, the one the ledger ends in', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0043' }));
    await open.storeEvidence({ evidenceId: 'ev-1', name: 'a.json', kind: 'k', source: 's', content: '{}' });
    await open.release();
    const [warning] = (await verifyCase(open.caseDir)).warnings;
    expect(warning).toMatchObject({ kind: 'not-closed', path: 'manifest.json', entrySeq: 2 });
    expect(warning?.message).toMatch(/^the case is not closed \(its ledger ends in evidence\.stored, /);
  });
});

describe('verify: a hostile ledger or manifest file', () => {
  const scratch = useScratch();

  it("an entry's type is escaped where a chain problem names the entry", async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-6001' }));
    await open.record('note\u001b[2J\u202e', { text: 'x' });
    await open.close();
    const ledger = join(open.caseDir, 'ledger.jsonl');
    const lines = (await readFile(ledger, 'utf8')).split('\n');
    const at = lines.findIndex((l) => l.includes('"text":"x"'));
    lines[at] = lines[at]!.replace('"text":"x"', '"text":"y"');
    await writeFile(ledger, lines.join('\n'));
    const { problems } = await verifyCase(open.caseDir);
    const mismatch = problems.find((p) => p.kind === 'hash-mismatch')!;
    expect(mismatch.message).toContain(String.raw`"note\u001b[2J\u202e"`);
    for (const p of problems) expect(p.message).not.toMatch(RAW_CONTROL);
  });

  it('manifest.json that is not JSON: the parse error does not repeat its bytes', async () => {
    const kase = await buildClosedCase(scratch);
    await writeFile(join(kase.caseDir, 'manifest.json'), '\u001b]0;pwned\u0007 Bearer abcdefghijklmnop');
    const problem = (await verifyCase(kase.caseDir)).problems.find((p) => p.kind === 'manifest-invalid')!;
    expect(problem.message).toMatch(/^manifest\.json is not valid JSON: /);
    expect(problem.message).not.toMatch(RAW_CONTROL);
    expect(problem.message).not.toContain('Bearer');
  });
});
