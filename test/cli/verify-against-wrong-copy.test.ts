/**
 * custody verify --against pointed at the wrong place, against the lab's S3: a mistyped URL or
 * another case's copy is said in one line (how many objects, where the ledger records the copy),
 * not one line per object; when some objects differ each is still named; `--json` lists every
 * problem either way; exit 4 throughout. The location the ledger records is ledger text: shown
 * escaped, and never with the signature a tampered ledger may put in it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { copyCase } from '../../src/custody/immutable-copy.js';
import { EVIDENCE_BUCKET } from '../../src/lab/index.js';
import { evidenceBucketOptions, openEvidenceBucket } from '../../src/providers/aws/evidence-bucket.js';
import { buildClosedCase, useScratch } from '../custody/helpers.js';
import { custody } from '../e2e/cli-run.js';
import { useLabFixture } from '../e2e/lab-fixture.js';

interface AgainstDoc {
  ok: boolean;
  exitCode: number;
  against: { ok: boolean; url: string; checked: number; objects: number; recordedUrl: string | null; summary?: string; problems: Array<{ kind: string; path?: string }> };
}

describe('custody verify --against a location that does not hold the case', () => {
  const fx = useLabFixture({ credentials: true });
  const scratch = useScratch();
  const url = (caseId: string) => `s3://${EVIDENCE_BUCKET}/cases/${caseId}`;

  /** A closed case copied to the lab's bucket under cases/IR-2026-0042, and a config that reaches that bucket. */
  async function copiedCase(): Promise<{ caseDir: string; config: string }> {
    const kase = await buildClosedCase(scratch);
    const labConfig = JSON.parse(readFileSync(fx.configPath, 'utf8')) as { aws: { endpoints: Record<string, string> } };
    labConfig.aws.endpoints.s3 = fx.lab.endpoint;
    const config = join(scratch.root, 'custody.config.json');
    writeFileSync(config, JSON.stringify(labConfig));
    const store = openEvidenceBucket(evidenceBucketOptions(labConfig as Parameters<typeof evidenceBucketOptions>[0], { url: url('IR-2026-0042') }));
    try {
      await copyCase({ caseDir: kase.caseDir, store, actor: 'alice@example.org', keysDir: scratch.keysDir, retention: { mode: 'COMPLIANCE', days: 7 } });
    } finally {
      store.destroy();
    }
    return { caseDir: kase.caseDir, config };
  }

  it("another case's URL: one line naming how many objects and where the ledger records the copy; --json keeps every object's problem", async () => {
    const { caseDir, config } = await copiedCase();
    expect((await custody(['verify', caseDir, '--against', url('IR-2026-0042'), '--config', config])).code).toBe(EXIT.OK);

    const wrong = url('IR-2026-0099');
    const run = await custody(['verify', caseDir, '--against', wrong, '--config', config]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^verified: /);
    expect(lines.slice(3)).toEqual([
      `does NOT match its copy: ${wrong}`,
      `  none of the case's 4 objects was copied to ${wrong}: is this the case's copy? the ledger records the case's copy at ${url('IR-2026-0042')}: ` +
        `check it with custody verify ${caseDir} --against ${url('IR-2026-0042')} (--json lists each object's problem)`,
    ]);

    const doc = JSON.parse((await custody(['verify', caseDir, '--against', wrong, '--config', config, '--json'])).stdout) as AgainstDoc;
    expect(doc.exitCode).toBe(EXIT.VERIFY_FAILED);
    expect(doc.against).toMatchObject({ ok: false, url: wrong, checked: 0, objects: 4, recordedUrl: url('IR-2026-0042'), summary: expect.stringContaining("none of the case's 4 objects") });
    expect(doc.against.problems.map((p) => [p.kind, p.path])).toEqual([
      ['copy-location', 'ledger.jsonl'],
      ['copy-location', 'manifest.json'],
      ['copy-location', 'evidence/ev-aaaaaaaaaaaa/console-output.log'],
      ['copy-location', 'evidence/ev-aaaaaaaaaaaa/instance.json'],
    ]);
  });

  it('the recorded location in a bucket that holds none of the objects (another account or endpoint): one line; some missing: each named', async () => {
    const { caseDir, config } = await copiedCase();
    const bucket = fx.lab.state.s3.buckets.get(EVIDENCE_BUCKET)!;
    const keys = ['ledger.jsonl', 'manifest.json', 'evidence/ev-aaaaaaaaaaaa/console-output.log', 'evidence/ev-aaaaaaaaaaaa/instance.json'].map((path) => `cases/IR-2026-0042/${path}`);
    // S3 would refuse this on locked versions; the lab plays a bucket that holds nothing of the case.
    const saved = keys.map((key) => bucket.objects.get(key)!.splice(0));
    try {
      const run = await custody(['verify', caseDir, '--against', url('IR-2026-0042'), '--config', config]);
      expect(run.code).toBe(EXIT.VERIFY_FAILED);
      expect(run.stdout.trimEnd().split('\n').slice(3)).toEqual([
        `does NOT match its copy: ${url('IR-2026-0042')}`,
        // The location the ledger records: not a typo, a copy gone or replaced (or another account).
        `  the ledger records the case's copy at ${url('IR-2026-0042')}, and none of its 4 recorded object versions is there: ` +
          "the copy was deleted or replaced, or this is not the account, region or endpoint it was made in (--json lists each object's problem)",
      ]);
      const doc = JSON.parse((await custody(['verify', caseDir, '--against', url('IR-2026-0042'), '--config', config, '--json'])).stdout) as AgainstDoc;
      expect(doc.against.problems.map((p) => p.kind)).toEqual(['copy-missing', 'copy-missing', 'copy-missing', 'copy-missing']);

      // Only the manifest missing: that is real information, named on its own line.
      for (const i of [0, 2, 3]) bucket.objects.get(keys[i]!)!.push(...saved[i]!);
      const some = await custody(['verify', caseDir, '--against', url('IR-2026-0042'), '--config', config]);
      expect(some.code).toBe(EXIT.VERIFY_FAILED);
      expect(some.stdout.trimEnd().split('\n').slice(3)).toEqual([
        `does NOT match its copy: ${url('IR-2026-0042')}`,
        expect.stringMatching(/^ {2}first problem: manifest\.json \(ledger\.jsonl entry \d+\): cases\/IR-2026-0042\/manifest\.json version \S+ \(entry \d+\) is not in the bucket \[copy-missing\]$/),
      ]);
      const someDoc = JSON.parse((await custody(['verify', caseDir, '--against', url('IR-2026-0042'), '--config', config, '--json'])).stdout) as AgainstDoc;
      expect(someDoc.against.summary).toBeUndefined();
      expect(someDoc.against.problems.map((p) => [p.kind, p.path])).toEqual([['copy-missing', 'manifest.json']]);
    } finally {
      keys.forEach((key, i) => bucket.objects.get(key)!.splice(0, Infinity, ...saved[i]!));
    }
  });

  describe('the location the ledger records is ledger text: escaped, and never a credential', () => {
    /** The case copied, then its `case.copied` entry changed to record `recorded` (as a tampered ledger may). */
    async function recordingCopyAt(recorded: string): Promise<{ caseDir: string; config: string }> {
      const copied = await copiedCase();
      const ledgerPath = join(copied.caseDir, 'ledger.jsonl');
      const lines = readFileSync(ledgerPath, 'utf8').trimEnd().split('\n');
      const at = lines.findIndex((line) => (JSON.parse(line) as { type: string }).type === 'case.copied');
      expect(at).toBeGreaterThan(0);
      const entry = JSON.parse(lines[at]!) as { data: { url: string } };
      entry.data.url = recorded;
      lines[at] = JSON.stringify(entry);
      writeFileSync(ledgerPath, `${lines.join('\n')}\n`);
      return copied;
    }
    // A line break is the only control character the output may hold: between its lines.
    // eslint-disable-next-line no-control-regex
    const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;
    const summaryOf = (stdout: string) => stdout.split('\n').find((line) => line.includes('none of the case'));

    it('escape sequences and line breaks in it are escaped, and it is not offered as a command', async () => {
      const recorded = `${url('IR-2026-0042')}\u001b[2J\r\nverified: OK\u202e`;
      const { caseDir, config } = await recordingCopyAt(recorded);
      const wrong = url('IR-2026-0099');
      const run = await custody(['verify', caseDir, '--against', wrong, '--config', config]);
      expect(run.code).toBe(EXIT.VERIFY_FAILED);
      expect(run.stdout).not.toMatch(RAW_CONTROL);
      expect(summaryOf(run.stdout)).toBe(
        `  none of the case's 4 objects was copied to ${wrong}: is this the case's copy? the ledger records the case's copy at ` +
          `"${url('IR-2026-0042')}${String.raw`\u001b[2J\r\nverified: OK\u202e`}" (--json lists each object's problem)`,
      );
      expect(run.stdout.split('\n').filter((line) => line.startsWith('verified: OK'))).toEqual([]);
    });

    it("an object's recorded location and version are ledger text too: escaped in the object's problem", async () => {
      const copied = await copiedCase();
      const ledgerPath = join(copied.caseDir, 'ledger.jsonl');
      const lines = readFileSync(ledgerPath, 'utf8').trimEnd().split('\n');
      const copiedOf = (path: string) => lines.findIndex((line) => line.includes('"evidence.copied"') && line.includes(`"path":"${path}"`));
      const rewrite = (at: number, change: (data: Record<string, unknown>) => void) => {
        const entry = JSON.parse(lines[at]!) as { data: Record<string, unknown> };
        change(entry.data);
        lines[at] = JSON.stringify(entry);
      };
      rewrite(copiedOf('manifest.json'), (data) => (data.bucket = `${EVIDENCE_BUCKET}\u001b[2J\r\nOK`));
      rewrite(copiedOf('ledger.jsonl'), (data) => (data.versionId = 'v1\u001b]0;owned\u0007\u202e'));
      writeFileSync(ledgerPath, `${lines.join('\n')}\n`);

      const doc = JSON.parse((await custody(['verify', copied.caseDir, '--against', url('IR-2026-0042'), '--config', copied.config, '--json'])).stdout) as AgainstDoc & {
        against: { problems: Array<{ kind: string; path?: string; message: string }> };
      };
      const byPath = new Map(doc.against.problems.map((p) => [p.path, p]));
      expect(byPath.get('manifest.json')).toMatchObject({
        kind: 'copy-location',
        message: expect.stringContaining(`manifest.json was copied to s3://"${EVIDENCE_BUCKET}${String.raw`\u001b[2J\r\nOK`}"/cases/IR-2026-0042/manifest.json (entry `),
      });
      expect(byPath.get('ledger.jsonl')).toMatchObject({ kind: 'copy-missing', message: expect.stringContaining(String.raw`version "v1\u001b]0;owned\u0007\u202e" (entry `) });
      for (const problem of doc.against.problems) expect(problem.message).not.toMatch(RAW_CONTROL);

      const run = await custody(['verify', copied.caseDir, '--against', url('IR-2026-0042'), '--config', copied.config]);
      expect(run.code).toBe(EXIT.VERIFY_FAILED);
      expect(run.stdout).not.toMatch(RAW_CONTROL);
    });

    it.each([
      ['an Azure SAS', 'https://evidenceacct.blob.core.windows.net/cases/IR-2026-0042?sv=2024-08-04&sp=rl&sig=c2VjcmV0LXNhcy1zaWduYXR1cmU%3D', 'c2VjcmV0LXNhcy1zaWduYXR1cmU'],
      ['an S3 presigned URL', `${url('IR-2026-0042')}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0`, '0f1e2d3c4b5a69788796a5b4c3d2e1f0'],
      ['a Cloud Storage signed URL', 'https://storage.googleapis.com/evidence/cases/IR-2026-0042?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=9a8b7c6d5e4f30211203f4e5d6c7b8a9', '9a8b7c6d5e4f30211203f4e5d6c7b8a9'],
    ])('%s: its signature is cut, in the text and in --json', async (_what, recorded, signature) => {
      const { caseDir, config } = await recordingCopyAt(recorded);
      const wrong = url('IR-2026-0099');
      const run = await custody(['verify', caseDir, '--against', wrong, '--config', config]);
      expect(run.code).toBe(EXIT.VERIFY_FAILED);
      const place = recorded.slice(0, recorded.indexOf('?'));
      expect(summaryOf(run.stdout)).toBe(
        `  none of the case's 4 objects was copied to ${wrong}: is this the case's copy? the ledger records the case's copy at "${place}?…" (--json lists each object's problem)`,
      );
      expect(run.stdout).not.toContain(signature);

      const json = await custody(['verify', caseDir, '--against', wrong, '--config', config, '--json']);
      expect(json.stdout).not.toContain(signature);
      const doc = JSON.parse(json.stdout) as AgainstDoc;
      expect(doc.against).toMatchObject({ ok: false, url: wrong, recordedUrl: `${place}?…` });
    });
  });
});
