/**
 * custody verify and custody report through the CLI with the real custody code, on a small
 * closed case: what the verifier knows from elsewhere (key, head), closed vs open cases, and what
 * is and is not a case folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { openCase, type CaseHandle } from '../../src/custody/index.js';
import { custody } from '../e2e/cli-run.js';
import { buildClosedCase, caseOptions, useScratch } from '../custody/helpers.js';

describe('custody verify: closed cases, expected key and head', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let lines: string[];
  const ledgerPath = () => join(kase.caseDir, 'ledger.jsonl');
  const cutTo = (n: number) => writeFile(ledgerPath(), `${lines.slice(0, n).join('\n')}\n`);
  const head = (n: number) => {
    const entry = JSON.parse(lines[n - 1]!) as { seq: number; hash: string };
    return `${entry.seq}:${entry.hash}`;
  };

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    lines = (await readFile(ledgerPath(), 'utf8')).trimEnd().split('\n');
  });

  it('prints the ledger head and the key fingerprint in the form --expect-head and --expect-key take', async () => {
    const run = await custody(['verify', kase.caseDir]);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain(`ledger head: ${head(10)}`);
    expect(run.stdout).toContain(`signing key: sha256:${kase.fingerprint}`);
    const json = JSON.parse((await custody(['verify', '--json', kase.caseDir])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ ok: true, closed: true, ledgerHead: head(10), keyFingerprint: `sha256:${kase.fingerprint}` });
  });

  it('a NOT verified verdict names the ledger head and signing key examined, in the lines a verified one prints', async () => {
    const intact = (await custody(['verify', kase.caseDir])).stdout.split('\n');
    await writeFile(join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', 'stray.txt'), 'x');
    const failed = (await custody(['verify', kase.caseDir])).stdout.split('\n');
    expect(failed.slice(0, 4)).toEqual([
      `NOT verified: ${kase.caseDir}`,
      `  ledger head: ${head(10)}`,
      `  signing key: sha256:${kase.fingerprint}`,
      expect.stringMatching(/^ {2}first problem: evidence\/ev-aaaaaaaaaaaa\/stray\.txt: /),
    ]);
    expect(failed.slice(1, 3)).toEqual(intact.slice(1, 3));
    // A closed case whose first line is unreadable: its head is named, and not as that of an open case.
    await writeFile(ledgerPath(), `x${lines.join('\n')}\n`);
    const unreadable = (await custody(['verify', kase.caseDir])).stdout.split('\n');
    expect(unreadable.slice(0, 3)).toEqual([`NOT verified: ${kase.caseDir}`, `  ledger head: ${head(10)}`, expect.stringMatching(/^ {2}first problem: ledger\.jsonl line 1: line 1 is not a ledger entry/)]);
    await writeFile(ledgerPath(), `${lines.join('\n')}\n`);
    // An open case: the head is said with that, as --allow-open says it.
    await rm(join(kase.caseDir, 'manifest.json'));
    await cutTo(9);
    const open = (await custody(['verify', kase.caseDir])).stdout.split('\n');
    expect(open.slice(0, 3)).toEqual([`NOT verified: ${kase.caseDir}`, `  ledger head: ${head(9)} (the case is not closed)`, `  signing key: sha256:${kase.fingerprint}`]);
  });

  it('a name found in the case folder is shown escaped where the text verdict says where the problem is, not only in its message', async () => {
    const name = 'x\u001b[2J\r\nverified: OK\u202e';
    await writeFile(join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', name), 'x');
    const run = await custody(['verify', kase.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    const shown = `"evidence/ev-aaaaaaaaaaaa/${String.raw`x\u001b[2J\r\nverified: OK\u202e`}"`;
    expect(run.stdout.split('\n')[3]).toBe(`  first problem: ${shown}: ${shown} is in the case folder but no ledger entry records it [unrecorded-file]`);
    // A line break is the only control character the verdict may hold: between its lines.
    // eslint-disable-next-line no-control-regex
    expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });

  it('verify --json has exactly the keys README documents, and a problem the fields it names', async () => {
    const readme = await readFile(join(import.meta.dirname, '../../README.md'), 'utf8');
    const documented = /`--json` prints `\{([^}]*)\}` \(and `against`/.exec(readme)?.[1];
    expect(documented).toBeDefined();
    const keys = documented!.split(',').map((k) => k.trim()).sort();
    const ok = JSON.parse((await custody(['verify', '--json', kase.caseDir])).stdout) as Record<string, unknown>;
    expect(Object.keys(ok).sort()).toEqual(keys);
    await writeFile(join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', 'stray.txt'), 'x');
    const failed = JSON.parse((await custody(['verify', '--json', kase.caseDir])).stdout) as { problems: Array<Record<string, unknown>>; firstProblem: Record<string, unknown> };
    expect(failed.problems[0]).toEqual({ severity: 'error', kind: 'unrecorded-file', path: 'evidence/ev-aaaaaaaaaaaa/stray.txt', message: expect.any(String) });
    expect(failed.firstProblem).toEqual({ ...failed.problems[0], location: 'evidence/ev-aaaaaaaaaaaa/stray.txt' });
    // The verify member of the other commands' documents: README names the keys it leaves out.
    const without = /member of `collect`, `report`, `fetch-case` and `demo` `--json` is the same document without\s+([^.]*)\./.exec(readme)?.[1];
    expect(without).toBeDefined();
    const left = new Set([...without!.matchAll(/`(\w+)`/g)].map((m) => m[1]));
    const report = JSON.parse((await custody(['report', '--json', kase.caseDir])).stdout) as { verify: Record<string, unknown> };
    expect(Object.keys(report.verify).sort()).toEqual(keys.filter((k) => !left.has(k)));
  });

  it('verify --against that cannot reach the copy still says the offline verdict: a failing case is exit 4 and named, an intact one exit 3 with the reason', async () => {
    // No region anywhere: the copy check stops before any request (the bucket's options read the process's AWS variables).
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    onTestFinished(() => void vi.unstubAllEnvs());
    const env = {};
    const url = 's3://evidence/cases/IR-2026-0042';
    const intact = await custody(['verify', kase.caseDir, '--against', url], { env });
    expect(intact.code).toBe(EXIT.BAD_INPUT);
    expect(intact.stdout).toMatch(/^verified: /);
    expect(intact.stderr).toMatch(/^custody: no region for the evidence bucket: .*\[E_CONFIG\]\n$/);
    await writeFile(join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', 'stray.txt'), 'x');
    const failing = await custody(['verify', kase.caseDir, '--against', url], { env });
    expect(failing.code).toBe(EXIT.VERIFY_FAILED);
    expect(failing.stdout).toMatch(/^NOT verified: .*\n {2}ledger head: 10:[0-9a-f]{64}\n {2}signing key: sha256:[0-9a-f]{64}\n {2}first problem: evidence\/ev-aaaaaaaaaaaa\/stray\.txt: .*\nnot checked against its copy s3:\/\/evidence\/cases\/IR-2026-0042: no region for the evidence bucket: .*\[E_CONFIG\]\n$/);
    const json = JSON.parse((await custody(['verify', '--json', kase.caseDir, '--against', url], { env })).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ ok: false, exitCode: EXIT.VERIFY_FAILED, against: { ok: false, url, error: { code: 'E_CONFIG' } } });
  });

  it('verify --help says what each file is checked against: the hash the ledger recorded (the manifest is checked against the ledger)', async () => {
    const help = (await custody(['verify', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('re-hashes every evidence file against the hash the ledger recorded for it, and checks the signed manifest against the ledger');
    expect(help).not.toContain('against the signed manifest');
    expect(help).toContain("if the copy cannot be checked (no credentials, no region), the offline verdict is still printed: exit 4 if it fails, else the error's exit code (3 for credentials or configuration)");
  });

  it('a text verdict with more than 21 problems shows 21 and says how to list them all', async () => {
    for (let i = 0; i < 25; i++) await writeFile(join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', `stray-${String(i).padStart(2, '0')}.txt`), 'x');
    const run = await custody(['verify', kase.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(25);
    expect(lines[3]).toBe('  first problem: evidence/ev-aaaaaaaaaaaa/stray-00.txt: evidence/ev-aaaaaaaaaaaa/stray-00.txt is in the case folder but no ledger entry records it [unrecorded-file]');
    expect(lines[24]).toBe('  … and 4 more (--json lists every problem)');
    const json = JSON.parse((await custody(['verify', '--json', kase.caseDir])).stdout) as { problems: unknown[] };
    expect(json.problems).toHaveLength(25);
  });

  it('--expect-key takes the fingerprint with or without sha256:, in either case, or the public key', async () => {
    for (const key of [`sha256:${kase.fingerprint}`, kase.fingerprint, kase.fingerprint.toUpperCase(), `SHA256:${kase.fingerprint.toUpperCase()}`, kase.publicKey]) {
      const run = await custody(['verify', '--expect-key', key, kase.caseDir]);
      expect([key, run.code, run.stdout]).toEqual([key, EXIT.OK, expect.stringMatching(/^verified: /)]);
    }
    const other = await custody(['verify', '--expect-key', `sha256:${'ab'.repeat(32)}`, kase.caseDir]);
    expect(other.code).toBe(EXIT.VERIFY_FAILED);
    expect(other.stdout).toContain('[key-mismatch]');
  });

  it.each([[''], ['garbage'], ['sha256:'], [`sha256:${'0'.repeat(63)}`], ['MCowBQYDK2VwAyEA']])(
    '--expect-key %j is bad input (exit 3), never a skipped check or a verdict on the case',
    async (key) => {
      const run = await custody(['verify', '--expect-key', key, kase.caseDir]);
      expect(run.code).toBe(EXIT.BAD_INPUT);
      expect(run.stderr).toContain('--expect-key');
      expect(run.stdout).toBe('');
    },
  );

  it.each([[''], ['10'], ['10:xyz'], [`0:${'a'.repeat(64)}`], [`ten:${'a'.repeat(64)}`]])('--expect-head %j is bad input (exit 3)', async (value) => {
    const run = await custody(['verify', '--expect-head', value, kase.caseDir]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('--expect-head');
  });

  it('--expect-head passes at the head and fails a ledger cut back or extended', async () => {
    expect((await custody(['verify', '--expect-head', head(10), kase.caseDir])).code).toBe(EXIT.OK);
    const earlier = await custody(['verify', '--expect-head', head(8), kase.caseDir]);
    expect(earlier.code).toBe(EXIT.VERIFY_FAILED);
    expect(earlier.stdout).toMatch(/the ledger does not end at the expected head 8:[0-9a-f]{64}: the ledger continues to entry 10.*\[head-mismatch\]/);

    await rm(join(kase.caseDir, 'manifest.json'));
    await cutTo(8);
    const cut = await custody(['verify', '--allow-open', '--expect-head', head(10), kase.caseDir]);
    expect(cut.code).toBe(EXIT.VERIFY_FAILED);
    expect(cut.stdout).toMatch(/the ledger ends at entry 8: entries 9\.\.10 were cut from its end \[head-mismatch\]/);
  });

  it('a closed case whose manifest.json is deleted fails: its ledger ends in case.closed', async () => {
    await rm(join(kase.caseDir, 'manifest.json'));
    const run = await custody(['verify', kase.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toMatch(/first problem: manifest\.json \(ledger\.jsonl entry 10\): the ledger ends in case\.closed \(entry 10\) but manifest\.json is missing.*\[manifest-missing\]/);
    // --allow-open does not excuse it: the case was closed.
    expect((await custody(['verify', '--allow-open', kase.caseDir])).code).toBe(EXIT.VERIFY_FAILED);
  });

  it('a case whose close was killed before manifest.json was in place is reported as not closed, with how to finish it, never as a removed manifest', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0043' }));
    await open.storeEvidence({ evidenceId: 'ev-1', name: 'a.json', kind: 'k', source: 's', content: '{}' });
    // The rename that puts the manifest in place fails, as a kill just before it would leave the
    // folder: case.closed appended, the manifest written to its temp file, never renamed.
    await mkdir(join(open.caseDir, 'manifest.json', 'x'), { recursive: true });
    await expect(open.close()).rejects.toMatchObject({ code: 'E_LEDGER' });
    await rm(join(open.caseDir, 'manifest.json'), { recursive: true });
    expect(JSON.parse((await readFile(join(open.caseDir, 'ledger.jsonl'), 'utf8')).trimEnd().split('\n').at(-1)!)).toMatchObject({ seq: 3, type: 'case.closed' });

    const run = await custody(['verify', open.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toMatch(
      /first problem: manifest\.json \(ledger\.jsonl entry 3\): closing did not finish: the ledger ends in case\.closed \(entry 3\) but manifest\.json was never put in place .*finish it with custody collect --case IR-2026-0043 --resume, or verify it with --allow-open .*\[not-closed\]/,
    );
    expect(run.stdout).not.toContain('manifest of a closed case was removed');
    const allowed = await custody(['verify', '--allow-open', open.caseDir]);
    expect(allowed.code).toBe(EXIT.OK);
    expect(allowed.stdout).toContain('warning: manifest.json (ledger.jsonl entry 3): closing did not finish');

    // What the message says to do: the resumed case closes with a manifest and verifies.
    const resumed = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0043', resume: true }));
    expect(resumed.entries().at(-1)).toMatchObject({ type: 'case.resumed', data: { wasClosed: true, discardedPartialFiles: ['manifest.json.tmp'] } });
    await resumed.close();
    expect((await custody(['verify', open.caseDir])).code).toBe(EXIT.OK);
  });

  it('a close that cannot make the manifest\'s temp file fails before case.closed: the case is left open, not sealed without a manifest', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0044' }));
    await open.storeEvidence({ evidenceId: 'ev-1', name: 'a.json', kind: 'k', source: 's', content: '{}' });
    await rm(join(open.caseDir, '.partial'), { recursive: true, force: true });
    await writeFile(join(open.caseDir, '.partial'), 'not a folder');
    await expect(open.close()).rejects.toMatchObject({ code: 'E_LEDGER' });
    await rm(join(open.caseDir, '.partial'));
    const run = await custody(['verify', open.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toMatch(/first problem: manifest\.json \(ledger\.jsonl entry 2\): the case is not closed \(its ledger ends in evidence\.stored.*\[not-closed\]/);
    expect(run.stdout).not.toContain('manifest of a closed case was removed');
  });

  it('a cleanly closed case leaves no temp file behind, so its manifest deleted later is still a removed manifest', async () => {
    expect(await readdir(kase.caseDir)).not.toContain('.partial');
    await rm(join(kase.caseDir, 'manifest.json'));
    const run = await custody(['verify', '--allow-open', kase.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toContain('the signed manifest of a closed case was removed');
  });

  it('a closed case whose manifest.json is replaced by a directory fails', async () => {
    await rm(join(kase.caseDir, 'manifest.json'));
    await mkdir(join(kase.caseDir, 'manifest.json'));
    const run = await custody(['verify', '--allow-open', kase.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toContain('manifest.json is not a regular file');
  });

  it('with the manifest deleted, a ledger cut back to any earlier entry does not verify as intact (even with the right key)', async () => {
    await rm(join(kase.caseDir, 'manifest.json'));
    for (let n = 9; n >= 1; n--) {
      await cutTo(n);
      const run = await custody(['verify', '--expect-key', kase.fingerprint, kase.caseDir]);
      expect([n, run.code]).toEqual([n, EXIT.VERIFY_FAILED]);
      expect(run.stdout).toContain('[not-closed]');
    }
  });

  it('a case that was never closed fails unless --allow-open, which verifies it up to its last entry with a warning', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0043' }));
    await open.storeEvidence({ evidenceId: 'ev-1', name: 'a.json', kind: 'k', source: 's', content: '{}' });
    await open.release();
    const strict = await custody(['verify', open.caseDir]);
    expect(strict.code).toBe(EXIT.VERIFY_FAILED);
    expect(strict.stdout).toContain(
      'first problem: manifest.json (ledger.jsonl entry 2): the case is not closed (its ledger ends in evidence.stored, not case.closed, and there is no manifest.json): entries cut from its end could not be noticed; finish it with custody collect --case IR-2026-0043 --resume, or verify it with --allow-open to check it up to its last entry [not-closed]',
    );
    const allowed = await custody(['verify', '--allow-open', open.caseDir]);
    expect(allowed.code).toBe(EXIT.OK);
    expect(allowed.stdout).toMatch(/ledger head: 2:[0-9a-f]{64} \(the case is not closed\)/);
    expect(allowed.stdout).toContain('warning: manifest.json (ledger.jsonl entry 2): the case is not closed');
    // The warning does not tell the examiner to add the option they gave; it ends in its kind,
    // as an error's line does, to look up in docs/verify.md.
    expect(allowed.stdout).toMatch(/the case is not closed .*it was checked up to its last entry; finish it with custody collect --case IR-2026-0043 --resume \[not-closed\]$/m);
    expect(allowed.stdout).not.toContain('verify it with --allow-open');
  });
});

describe('custody verify and report: only case folders, by path or by case id', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let configPath: string;

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    configPath = join(scratch.root, 'custody.config.json');
    await writeFile(configPath, JSON.stringify({ casesDir: 'cases', keysDir: 'keys' }));
  });

  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  /** Every file under `dir`, relative, sorted. */
  async function snapshotTree(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
  }

  it.each(['verify', 'report'])('%s of a folder that is not a case is exit 3 "not a case folder", and nothing is written', async (command) => {
    const plain = join(scratch.root, 'notes');
    await mkdir(plain);
    await writeFile(join(plain, 'report.md'), 'my own notes');
    const evidence = join(kase.caseDir, 'evidence');
    const before = await snapshotTree(kase.caseDir);
    for (const dir of [plain, evidence]) {
      const run = await custody([command, dir]);
      expect([dir, run.code]).toEqual([dir, EXIT.BAD_INPUT]);
      expect(run.stderr).toContain(`${dir} is not a case folder`);
    }
    expect(await readFile(join(plain, 'report.md'), 'utf8')).toBe('my own notes');
    expect(await snapshotTree(kase.caseDir)).toEqual(before);
  });

  it.each(['verify', 'report'])('%s of a file or folder inside a case folder is exit 3 naming the case folder to give instead', async (command) => {
    const before = await snapshotTree(kase.caseDir);
    const inside = [join(kase.caseDir, 'ledger.jsonl'), join(kase.caseDir, 'manifest.json'), join(kase.caseDir, 'evidence'), join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa'), join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa', 'console-output.log')];
    for (const path of inside) {
      const run = await custody([command, path]);
      expect([path, run.code]).toEqual([path, EXIT.BAD_INPUT]);
      expect(run.stderr).toMatch(new RegExp(`^custody: ${escape(path)} is not a case folder \\(.*\\); it is in the case folder ${escape(kase.caseDir)}: give that folder \\[E_INPUT\\]\n$`));
    }
    expect(await snapshotTree(kase.caseDir)).toEqual(before);
  });

  it.each(['verify', 'report'])('%s of the folder that holds case folders (casesDir) is exit 3 naming the cases in it', async (command) => {
    const other = await buildClosedCase(scratch, { caseId: 'IR-2026-0099' });
    expect(join(other.caseDir, '..')).toBe(scratch.casesDir);
    const run = await custody([command, scratch.casesDir]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toBe(
      `custody: ${scratch.casesDir} is not a case folder (it has no ledger.jsonl, manifest.json or evidence/); it holds case folders (IR-2026-0042, IR-2026-0099): give one of them [E_INPUT]\n`,
    );
  });

  it.each(['verify', 'report'])('%s takes a case id and finds it in casesDir of the configuration', async (command) => {
    const run = await custody([command, '--config', configPath, kase.caseId], { cwd: scratch.root });
    expect(run.code).toBe(EXIT.OK);
    const viaEnv = await custody([command, kase.caseId], { cwd: '/', env: { CUSTODY_CONFIG: configPath } });
    expect(viaEnv.code).toBe(EXIT.OK);
    expect(viaEnv.stdout).toContain(kase.caseDir);
  });

  it.each(['verify', 'report'])('%s takes a symlink to a case folder as that case, and still refuses one to a folder that is not a case', async (command) => {
    const link = join(scratch.root, 'latest');
    await symlink(kase.caseDir, link);
    const run = await custody([command, link]);
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    const plain = join(scratch.root, 'plain');
    await mkdir(plain);
    await symlink(plain, join(scratch.root, 'not-a-case'));
    const refused = await custody([command, join(scratch.root, 'not-a-case')]);
    expect(refused.code).toBe(EXIT.BAD_INPUT);
    expect(refused.stderr).toContain('is not a case folder (it has no ledger.jsonl');
  });

  it("report does not write beside an evidence/ folder alone (someone's own matter folder); verify of it fails without writing", async () => {
    const matter = join(scratch.root, 'matter');
    await mkdir(join(matter, 'evidence'), { recursive: true });
    await writeFile(join(matter, 'evidence', 'exhibit-a.pdf'), 'exhibit');
    await writeFile(join(matter, 'report.md'), 'counsel notes');
    const report = await custody(['report', matter]);
    expect(report.code).toBe(EXIT.BAD_INPUT);
    expect(report.stderr).toContain(`${matter} has an evidence/ folder but no ledger.jsonl or manifest.json: nothing is written into it`);
    expect(await readFile(join(matter, 'report.md'), 'utf8')).toBe('counsel notes');
    expect(await snapshotTree(matter)).toEqual(['evidence/exhibit-a.pdf', 'report.md']);
    const verify = await custody(['verify', matter]);
    expect(verify.code).toBe(EXIT.VERIFY_FAILED);
    expect(verify.stdout).toContain('[ledger-missing]');
  });

  it('a case id that is not in casesDir is exit 3 naming where it looked', async () => {
    const run = await custody(['verify', '--config', configPath, 'IR-NOPE'], { cwd: scratch.root });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain(`there is no case folder at ${join(scratch.casesDir, 'IR-NOPE')}`);
  });

  it('a case folder whose ledger was removed is still a case: it fails verification (exit 4), it is not bad input', async () => {
    await rm(join(kase.caseDir, 'ledger.jsonl'));
    const run = await custody(['verify', kase.caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    expect(run.stdout).toContain('[ledger-missing]');
  });
});

describe('custody verify and report on write-protected media (the examiner, months later)', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  const undo: Array<() => void> = [];

  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    await custody(['report', kase.caseDir]); // a case as collect leaves it: with its report
  });
  // Before the scratch folder is removed (its after-hook runs after this one).
  afterEach(() => {
    for (const step of undo.splice(0)) step();
  });

  /** Every folder and file under `dir` with its type, mode, size, mtime and (files) SHA-256. */
  async function listing(dir: string): Promise<string[]> {
    const rows: string[] = [];
    for (const rel of ['.', ...(await readdir(dir, { recursive: true })).sort()]) {
      const path = join(dir, rel);
      const info = await lstat(path);
      const sha = info.isFile() ? createHash('sha256').update(await readFile(path)).digest('hex') : '-';
      rows.push(`${rel} ${info.mode.toString(8)} ${info.size} ${info.mtimeMs} ${sha}`);
    }
    return rows;
  }

  /** Makes the folder unwritable: chmod for a user, the immutable attribute for root (which ignores modes). */
  async function writeProtect(dir: string): Promise<void> {
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chattr', ['-R', '+i', dir]);
    else execFileSync('chmod', ['-R', 'a-w', dir]);
    undo.push(() => {
      if (asRoot) execFileSync('chattr', ['-R', '-i', dir]);
      else execFileSync('chmod', ['-R', 'u+w', dir]);
    });
  }

  it('a read-only case verifies and reports with --out, and nothing in it changes', async () => {
    const before = await listing(kase.caseDir);
    await writeProtect(kase.caseDir);
    const verify = await custody(['verify', kase.caseDir]);
    expect([verify.code, verify.stderr]).toEqual([EXIT.OK, '']);
    expect(verify.stdout).toMatch(/^verified: /);
    expect(JSON.parse((await custody(['verify', '--json', kase.caseDir])).stdout)).toMatchObject({ ok: true, exitCode: EXIT.OK });

    const out = join(scratch.root, 'examiner', 'IR-2026-0042');
    const report = await custody(['report', kase.caseDir, '--out', out]);
    expect([report.code, report.stderr]).toEqual([EXIT.OK, '']);
    expect(report.stdout).toBe(`${join(out, 'report.md')}\n${join(out, 'report.html')}\n`);
    expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('PASSED');
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain(kase.fingerprint);
    // A relative --out is taken against the working directory.
    const relative = await custody(['report', '--json', kase.caseDir, '--out', 'again'], { cwd: scratch.root });
    expect(JSON.parse(relative.stdout)).toMatchObject({ report: { markdown: join(scratch.root, 'again', 'report.md') }, exitCode: EXIT.OK });

    expect(await listing(kase.caseDir)).toEqual(before);
  });

  it('report without --out on a read-only case is exit 3 naming the folder and --out, before anything is written', async () => {
    const before = await listing(kase.caseDir);
    await writeProtect(kase.caseDir);
    const run = await custody(['report', kase.caseDir]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(`^custody: cannot write the report into the case folder ${kase.caseDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((EACCES|EPERM): read-only media, or this user may not write there\\); give --out DIR to write report\\.md and report\\.html into another folder \\(the case folder is then only read\\) \\[E_INPUT\\]\n$`),
    );
    const json = JSON.parse((await custody(['report', '--json', kase.caseDir])).stdout) as { error: { code: string; resource: string }; exitCode: number };
    expect(json).toMatchObject({ error: { code: 'E_INPUT', resource: kase.caseDir }, exitCode: EXIT.BAD_INPUT });
    expect(await listing(kase.caseDir)).toEqual(before);
  });

  it('a report write that fails part-way (a file size limit: EFBIG) leaves the earlier pair whole, and no partial file', async () => {
    const md = await readFile(join(kase.caseDir, 'report.md'), 'utf8');
    const html = await readFile(join(kase.caseDir, 'report.html'), 'utf8');
    const main = join(import.meta.dirname, '../../src/cli/main.ts');
    // 8 KiB per file: the small case's report.md and report.html are larger.
    const run = spawnSync('sh', ['-c', 'ulimit -f 8 && exec "$@"', 'sh', process.execPath, '--import', 'tsx', main, 'report', kase.caseDir], {
      cwd: join(import.meta.dirname, '../..'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    });
    expect(run.status).toBe(EXIT.INTERNAL);
    expect(run.stderr).toContain(`custody: cannot write the report in ${kase.caseDir}: EFBIG`);
    // Neither file is replaced (the pair stays one run's), and no temporary is left behind.
    expect((await readdir(kase.caseDir)).sort()).toEqual(['evidence', 'ledger.jsonl', 'manifest.json', 'report.html', 'report.md']);
    expect(await readFile(join(kase.caseDir, 'report.md'), 'utf8')).toBe(md);
    expect(await readFile(join(kase.caseDir, 'report.html'), 'utf8')).toBe(html);
  });

  it('on a writable case too, verify and report --out leave every name, mode, mtime and byte of the case as it was', async () => {
    const before = await listing(kase.caseDir);
    expect((await custody(['verify', kase.caseDir])).code).toBe(EXIT.OK);
    expect((await custody(['verify', '--json', kase.caseDir])).code).toBe(EXIT.OK);
    expect((await custody(['report', kase.caseDir, '--out', join(scratch.root, 'out')])).code).toBe(EXIT.OK);
    expect(await listing(kase.caseDir)).toEqual(before);
  });

  it('report --out never writes inside the case folder nor over a report already in DIR', async () => {
    const before = await listing(kase.caseDir);
    const inside = join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa');
    const refused = await custody(['report', kase.caseDir, '--out', inside]);
    expect(refused.code).toBe(EXIT.BAD_INPUT);
    expect(refused.stderr).toBe(`custody: --out ${inside} is inside the case folder ${kase.caseDir}: a report there would change the case; give a folder outside it [E_INPUT]\n`);
    expect(await listing(kase.caseDir)).toEqual(before);

    const matter = join(scratch.root, 'matter');
    await mkdir(matter);
    await writeFile(join(matter, 'report.html'), 'counsel notes');
    const taken = await custody(['report', kase.caseDir, '--out', matter]);
    expect(taken.code).toBe(EXIT.BAD_INPUT);
    expect(taken.stderr).toContain(`${join(matter, 'report.html')} already exists: a report never replaces a file outside the case folder`);
    expect(await readdir(matter)).toEqual(['report.html']);
    expect(await readFile(join(matter, 'report.html'), 'utf8')).toBe('counsel notes');
    expect((await custody(['report', kase.caseDir, '--out', ''])).code).toBe(EXIT.BAD_INPUT);
  });

  it('report --out through a symlink that leads into the case folder is refused as inside it, for a folder that exists or one under it to be made', async () => {
    const before = await listing(kase.caseDir);
    const evidence = join(kase.caseDir, 'evidence', 'ev-aaaaaaaaaaaa');
    const link = join(scratch.root, 'reports');
    await symlink(evidence, link);
    for (const [out, leads] of [
      [link, evidence],
      [join(link, 'new', 'deeper'), join(evidence, 'new', 'deeper')],
    ] as const) {
      const refused = await custody(['report', kase.caseDir, '--out', out]);
      expect(refused.code).toBe(EXIT.BAD_INPUT);
      expect(refused.stderr).toBe(`custody: --out ${out} (it leads to ${leads}) is inside the case folder ${kase.caseDir}: a report there would change the case; give a folder outside it [E_INPUT]\n`);
    }
    // The case named through a symlink, --out a real folder inside it: refused the same way.
    const caseLink = join(scratch.root, 'case-link');
    await symlink(kase.caseDir, caseLink);
    const inside = join(kase.caseDir, 'evidence', 'made-here');
    const throughLink = await custody(['report', caseLink, '--out', inside]);
    expect(throughLink.code).toBe(EXIT.BAD_INPUT);
    expect(throughLink.stderr).toContain(`custody: --out ${inside} is inside the case folder`);
    expect(await listing(kase.caseDir)).toEqual(before);
  });
});
