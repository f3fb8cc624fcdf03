/**
 * The immutable copy against the lab's S3 with the real S3 client: a closed case goes up object by
 * object with SHA-256 checksums and Object Lock, each confirmed object is recorded after
 * case.closed, verify --against names what no longer matches, fetch-case restores a folder that
 * verifies, and a failed upload is recorded, never a silent success.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyCase, fetchCase, verifyAgainstCopy, type ImmutableStore } from '../../../src/custody/immutable-copy.js';
import { openCase, verifyCase } from '../../../src/custody/index.js';
import { EVIDENCE_BUCKET } from '../../../src/lab/index.js';
import { openEvidenceBucket, type EvidenceBucketOptions } from '../../../src/providers/aws/evidence-bucket.js';
import { caseOptions, errorOf, useScratch } from '../../custody/helpers.js';
import { startDemoLab, useLab } from './helpers.js';

const MIB = 1024 * 1024;
const RETENTION = { mode: 'COMPLIANCE' as const, days: 30 };

describe('the immutable copy in the lab', () => {
  const lab = useLab(() => startDemoLab());
  const scratch = useScratch();

  function store(caseId: string, overrides: Partial<EvidenceBucketOptions> = {}): ImmutableStore {
    const credentials = { ...lab.orchestratorCredentials };
    return openEvidenceBucket({
      bucket: EVIDENCE_BUCKET,
      casePrefix: `cases/${caseId}`,
      region: lab.region,
      endpoint: lab.endpoint,
      multipartThresholdBytes: 5 * MIB,
      partSizeBytes: 5 * MIB,
      credentials: async () => credentials,
      ...overrides,
    });
  }

  /** A closed case with a small file and, optionally, one above the multipart threshold. */
  async function closedCase(caseId: string, big = false): Promise<string> {
    const kase = await openCase(caseOptions(scratch, { caseId }));
    await kase.storeEvidence({ evidenceId: 'ev-small', name: 'console.txt', kind: 'console-output', source: 'i-1', content: 'boot log\n' });
    if (big) {
      const content = Buffer.alloc(5 * MIB + 12_345);
      for (let i = 0; i < content.length; i++) content[i] = (i * 31) % 251;
      await kase.storeEvidence({ evidenceId: 'ev-big', name: 'memory.bin', kind: 'memory', source: 'i-1', content });
    }
    await kase.close({ outcomes: [] });
    return kase.caseDir;
  }

  const copy = (caseDir: string, caseId: string, s = store(caseId)) =>
    copyCase({ caseDir, store: s, actor: 'alice@example.org', keysDir: scratch.keysDir, retention: RETENTION });

  async function ledgerOf(caseDir: string) {
    const text = await readFile(join(caseDir, 'ledger.jsonl'), 'utf8');
    return text.trim().split('\n').map((line) => JSON.parse(line) as { seq: number; type: string; data: Record<string, unknown> });
  }

  it('uploads ledger, manifest and every evidence file, locked, and records each object after case.closed', async () => {
    const caseDir = await closedCase('IR-COPY-1', true);
    const result = await copy(caseDir, 'IR-COPY-1');
    expect(result.total).toBe(4);
    expect(result.copied).toBe(4);

    const entries = await ledgerOf(caseDir);
    const closedAt = entries.findIndex((e) => e.type === 'case.closed');
    expect(entries.slice(closedAt + 1).map((e) => e.type)).toEqual([
      'evidence.copied',
      'evidence.copied',
      'evidence.copied',
      'evidence.copied',
      'case.copied',
    ]);
    const copied = entries.filter((e) => e.type === 'evidence.copied');
    expect(copied.map((e) => e.data.path)).toEqual(['ledger.jsonl', 'manifest.json', 'evidence/ev-big/memory.bin', 'evidence/ev-small/console.txt']);

    // What S3 holds is what the ledger says: version, checksum, retention.
    const bucket = lab.state.s3.buckets.get(EVIDENCE_BUCKET)!;
    for (const entry of copied) {
      const key = entry.data.key as string;
      expect(key).toBe(`cases/IR-COPY-1/${entry.data.path as string}`);
      const version = lab.state.s3.version(bucket, key, entry.data.versionId as string)!;
      expect(version.lockMode).toBe('COMPLIANCE');
      expect(new Date(version.retainUntil!).toISOString()).toBe((entry.data.retention as { retainUntil: string }).retainUntil);
      expect(createHash('sha256').update(version.body).digest('hex')).toBe(entry.data.sha256);
      expect((entry.data.requestIds as string[]).length).toBeGreaterThan(0);
    }
    // The big file went up in parts: S3's composite SHA-256 (digest of the part digests, -2).
    const big = copied.find((e) => e.data.path === 'evidence/ev-big/memory.bin')!;
    expect(big.data.checksum).toMatchObject({ algorithm: 'SHA256', type: 'COMPOSITE', parts: 2, partSize: 5 * MIB });
    expect(String((big.data.checksum as { value: string }).value)).toMatch(/^[A-Za-z0-9+/]+=*-2$/);
    const small = copied.find((e) => e.data.path === 'evidence/ev-small/console.txt')!;
    expect(small.data.checksum).toEqual({
      algorithm: 'SHA256',
      type: 'FULL_OBJECT',
      reportedBy: 'upload',
      value: Buffer.from(small.data.sha256 as string, 'hex').toString('base64'),
    });
    // The copied ledger is the sealed one: it ends with case.closed.
    const remoteLedger = lab.state.s3.version(bucket, 'cases/IR-COPY-1/ledger.jsonl')!.body.toString('utf8').trim().split('\n');
    expect(JSON.parse(remoteLedger[remoteLedger.length - 1]!).type).toBe('case.closed');

    // The case still verifies offline with the copy records after its seal, and against the copy.
    expect((await verifyCase(caseDir)).problems).toEqual([]);
    const against = await verifyAgainstCopy(caseDir, store('IR-COPY-1'));
    expect(against.problems).toEqual([]);
    expect(against.checked).toBe(4);
  });

  it('names a changed local file, a missing object, a lifted retention and an unknown version', async () => {
    const caseDir = await closedCase('IR-COPY-2');
    await copy(caseDir, 'IR-COPY-2');
    const bucket = lab.state.s3.buckets.get(EVIDENCE_BUCKET)!;
    const key = (path: string) => `cases/IR-COPY-2/${path}`;

    // S3 itself would refuse each of these on a locked version; the lab plays a bucket that did not.
    const manifestVersions = bucket.objects.get(key('manifest.json'))!;
    const saved = manifestVersions.splice(0);
    let result = await verifyAgainstCopy(caseDir, store('IR-COPY-2'));
    expect(result.problems[0]).toMatchObject({ kind: 'copy-missing', path: 'manifest.json' });
    manifestVersions.push(...saved);

    const small = lab.state.s3.version(bucket, key('evidence/ev-small/console.txt'))!;
    delete small.lockMode;
    result = await verifyAgainstCopy(caseDir, store('IR-COPY-2'));
    expect(result.problems[0]).toMatchObject({ kind: 'copy-unlocked', path: 'evidence/ev-small/console.txt' });
    small.lockMode = 'COMPLIANCE';
    const until = small.retainUntil!;
    small.retainUntil = until - 86_400_000;
    result = await verifyAgainstCopy(caseDir, store('IR-COPY-2'));
    expect(result.problems[0]).toMatchObject({ kind: 'copy-unlocked', path: 'evidence/ev-small/console.txt' });
    small.retainUntil = until;

    const ledgerVersion = lab.state.s3.version(bucket, key('ledger.jsonl'))!;
    const recordedVersion = ledgerVersion.versionId;
    ledgerVersion.versionId = 'v-someone-else';
    result = await verifyAgainstCopy(caseDir, store('IR-COPY-2'));
    expect(result.problems[0]).toMatchObject({ kind: 'copy-missing', path: 'ledger.jsonl' });
    expect(result.problems[0]!.message).toContain(recordedVersion);
    ledgerVersion.versionId = recordedVersion;

    small.checksumSHA256 = Buffer.alloc(32, 7).toString('base64');
    result = await verifyAgainstCopy(caseDir, store('IR-COPY-2'));
    expect(result.problems[0]).toMatchObject({ kind: 'copy-changed', path: 'evidence/ev-small/console.txt' });

    expect((await verifyAgainstCopy(caseDir, store('IR-COPY-2', { casePrefix: 'elsewhere/IR-COPY-2' }))).problems[0]).toMatchObject({
      kind: 'copy-location',
    });
  });

  it('a retention that has ended as recorded is a warning naming the object and the entry that recorded its copy', async () => {
    const caseDir = await closedCase('IR-COPY-RETAIN');
    await copy(caseDir, 'IR-COPY-RETAIN');
    const record = (await ledgerOf(caseDir)).find((e) => e.type === 'evidence.copied' && e.data.path === 'evidence/ev-small/console.txt')!;
    const until = (record.data.retention as { retainUntil: string }).retainUntil;
    const result = await verifyAgainstCopy(caseDir, store('IR-COPY-RETAIN'), () => new Date(Date.parse(until) + 1000));
    expect(result.problems).toEqual([]);
    const warning = result.warnings.find((w) => w.path === 'evidence/ev-small/console.txt');
    expect(warning).toEqual({
      severity: 'warning',
      kind: 'copy-retention-ended',
      entrySeq: record.seq,
      path: 'evidence/ev-small/console.txt',
      message: `the retention of cases/IR-COPY-RETAIN/evidence/ev-small/console.txt (entry ${record.seq}) ended on ${until}: it is no longer locked`,
    });
  });

  it('a local file changed after the copy is named by verify and by verify --against', async () => {
    const caseDir = await closedCase('IR-COPY-3');
    await copy(caseDir, 'IR-COPY-3');
    await writeFile(join(caseDir, 'evidence', 'ev-small', 'console.txt'), 'boot log, edited\n');
    expect((await verifyCase(caseDir)).firstProblem).toMatchObject({ kind: 'changed-file', path: 'evidence/ev-small/console.txt' });
    expect((await verifyAgainstCopy(caseDir, store('IR-COPY-3'))).problems[0]).toMatchObject({
      kind: 'copy-changed',
      path: 'evidence/ev-small/console.txt',
    });
  });

  it('an evidence path a tampered ledger leads out of the case folder is refused, never read', async () => {
    const caseDir = await closedCase('IR-COPY-ESCAPE');
    await copy(caseDir, 'IR-COPY-ESCAPE');
    // Both the stored file and its copy record rewritten to a path that climbs out of evidence/.
    const escape = 'evidence/../../outside.txt';
    const text = await readFile(join(caseDir, 'ledger.jsonl'), 'utf8');
    await writeFile(join(caseDir, 'ledger.jsonl'), text.replaceAll('evidence/ev-small/console.txt', escape));
    await writeFile(join(caseDir, '..', 'outside.txt'), 'not evidence\n');
    const error = await errorOf(verifyAgainstCopy(caseDir, store('IR-COPY-ESCAPE')));
    expect(error).toMatchObject({ code: 'E_VERIFY' });
    expect(error.message).toMatch(/^entry \d+ does not name a valid evidence file: its path "evidence\/\.\.\/\.\.\/outside\.txt" is not evidence\/<id>\/<name> .*; run custody verify /);
  });

  it('fetch-case restores a folder that verifies, and never overwrites one', async () => {
    const caseDir = await closedCase('IR-COPY-4', true);
    await copy(caseDir, 'IR-COPY-4');
    const dir = join(scratch.root, 'restored', 'IR-COPY-4');
    const fetched = await fetchCase(store('IR-COPY-4'), dir);
    expect(fetched.objects.map((o) => o.path)).toEqual(['ledger.jsonl', 'manifest.json', 'evidence/ev-big/memory.bin', 'evidence/ev-small/console.txt']);
    const verified = await verifyCase(dir);
    expect(verified.problems).toEqual([]);
    expect(verified.closed).toBe(true);
    const digest = async (folder: string) => createHash('sha256').update(await readFile(join(folder, 'evidence', 'ev-big', 'memory.bin'))).digest('hex');
    expect(await digest(dir)).toBe(await digest(caseDir));
    expect((await errorOf(fetchCase(store('IR-COPY-4'), dir))).code).toBe('E_INPUT');
  });

  it('a failed upload is recorded and reported with how to retry; the retry copies only what is missing', async () => {
    const caseDir = await closedCase('IR-COPY-5');
    // Not retried by the SDK (a denial), so the failure surfaces at once.
    lab.control.failNext({ action: 's3:PutObject', code: 'AccessDenied', status: 403, message: 'Access Denied' });
    const error = await errorOf(copy(caseDir, 'IR-COPY-5'));
    expect(error.code).toBe('E_COPY');
    expect(error.message).toContain(`custody copy-case ${caseDir}`);
    let entries = await ledgerOf(caseDir);
    expect(entries[entries.length - 1]!.type).toBe('copy.failed');
    expect(entries[entries.length - 1]!.data).toMatchObject({ path: 'ledger.jsonl', copied: 0 });
    expect((await verifyCase(caseDir)).ok).toBe(true);
    expect((await verifyAgainstCopy(caseDir, store('IR-COPY-5'))).problems[0]).toMatchObject({ kind: 'copy-not-recorded' });

    const retried = await copy(caseDir, 'IR-COPY-5');
    expect(retried).toMatchObject({ copied: 3, alreadyCopied: 0 });
    const again = await copy(caseDir, 'IR-COPY-5');
    expect(again).toMatchObject({ copied: 0, alreadyCopied: 3 });
    entries = await ledgerOf(caseDir);
    expect(entries[entries.length - 1]!.type).toBe('case.copied');
    expect((await verifyAgainstCopy(caseDir, store('IR-COPY-5'))).problems).toEqual([]);
  });

  it('a filesystem error on an evidence file a cloud named is shown escaped, in the error and in copy.failed', async () => {
    // Path segments may hold a direction override or a C1 control (CSI): names a cloud chose.
    const name = 'pod\u202eexe.txt\u009b2J';
    const kase = await openCase(caseOptions(scratch, { caseId: 'IR-COPY-FS' }));
    await kase.storeEvidence({ evidenceId: 'ev-odd', name, kind: 'console-output', source: 'i-1', content: 'log\n' });
    await kase.close({ outcomes: [] });
    const real = store('IR-COPY-FS');
    // The file goes away after verify, before its upload opens it: the upload's own ENOENT.
    const vanishing: ImmutableStore = {
      ...real,
      keyFor: (path) => real.keyFor(path),
      inspect: (path, version) => real.inspect(path, version),
      download: (path) => real.download(path),
      async upload(request) {
        if ('file' in request.source && request.path.includes('ev-odd')) await rm(request.source.file);
        return real.upload(request);
      },
    };
    const error = await errorOf(copy(kase.caseDir, 'IR-COPY-FS', vanishing));
    expect(error.code).toBe('E_COPY');
    expect(error.message).toContain('ENOENT');
    expect(error.message).not.toMatch(/[\u202e\u009b]/);
    expect(error.message).toContain('"evidence/ev-odd/pod\\u202eexe.txt\\u009b2J"');
    const failed = (await ledgerOf(kase.caseDir)).at(-1)!;
    expect(failed.type).toBe('copy.failed');
    expect(JSON.stringify((failed.data.error as { message: string }).message)).not.toMatch(/[\u202e\u009b]/);
  });

  describe('a cancel during the copy (the signal: Ctrl-C, a Lambda deadline)', () => {
    /** Every version the lab's bucket holds under the case's prefix: key → how many versions. */
    function versionsOf(caseId: string): Record<string, number> {
      const bucket = lab.state.s3.buckets.get(EVIDENCE_BUCKET)!;
      return Object.fromEntries([...bucket.objects].filter(([key]) => key.startsWith(`cases/${caseId}/`)).map(([key, versions]) => [key.slice(`cases/${caseId}/`.length), versions.length]));
    }

    it('stops after the object in flight: it is recorded, the cancel is recorded, the case verifies, and copy-case finishes it without a second version of anything', async () => {
      const caseDir = await closedCase('IR-COPY-7');
      const controller = new AbortController();
      const error = await errorOf(
        copyCase({
          caseDir,
          store: store('IR-COPY-7'),
          actor: 'alice@example.org',
          keysDir: scratch.keysDir,
          retention: RETENTION,
          signal: controller.signal,
          onObject: () => controller.abort(new Error('interrupted by the user')),
        }),
      );
      expect(error.code).toBe('E_CANCELLED');
      expect(error.message).toBe(
        `the copy to s3://${EVIDENCE_BUCKET}/cases/IR-COPY-7 was cancelled (interrupted by the user) before manifest.json was uploaded: 1 object(s) were copied by this run and recorded, 2 not. The case is closed and intact here. Finish the copy with: custody copy-case ${caseDir}`,
      );
      let entries = await ledgerOf(caseDir);
      const closedAt = entries.findIndex((e) => e.type === 'case.closed');
      expect(entries.slice(closedAt + 1).map((e) => [e.type, e.data.path])).toEqual([
        ['evidence.copied', 'ledger.jsonl'],
        ['copy.failed', 'manifest.json'],
      ]);
      expect(entries[entries.length - 1]!.data).toMatchObject({ error: { code: 'E_CANCELLED' }, copied: 1, remaining: 2 });
      expect(versionsOf('IR-COPY-7')).toEqual({ 'ledger.jsonl': 1 });
      expect((await verifyCase(caseDir)).ok).toBe(true);

      expect(await copy(caseDir, 'IR-COPY-7')).toMatchObject({ copied: 2, alreadyCopied: 1 });
      expect(versionsOf('IR-COPY-7')).toEqual({ 'ledger.jsonl': 1, 'manifest.json': 1, 'evidence/ev-small/console.txt': 1 });
      entries = await ledgerOf(caseDir);
      expect(entries.slice(closedAt + 1).map((e) => e.type)).toEqual(['evidence.copied', 'copy.failed', 'evidence.copied', 'evidence.copied', 'case.copied']);
      expect((await verifyAgainstCopy(caseDir, store('IR-COPY-7'))).problems).toEqual([]);
    });

    it('a large file cancelled between its parts: the multipart upload is abandoned, no object is made, and the retry copies it whole', async () => {
      const caseDir = await closedCase('IR-COPY-8', true);
      const controller = new AbortController();
      const real = store('IR-COPY-8');
      // Cancelled once the big file's upload has begun, as a Ctrl-C mid-file would be.
      const cancelling: ImmutableStore = {
        ...real,
        keyFor: (path) => real.keyFor(path),
        upload: (request) => {
          if (request.path.endsWith('memory.bin')) controller.abort(new Error('interrupted by the user'));
          return real.upload(request);
        },
        inspect: (path, versionId) => real.inspect(path, versionId),
        download: (path) => real.download(path),
      };
      const error = await errorOf(
        copyCase({ caseDir, store: cancelling, actor: 'alice@example.org', keysDir: scratch.keysDir, retention: RETENTION, signal: controller.signal }),
      );
      expect(error.code).toBe('E_CANCELLED');
      expect(error.message).toContain('after 0 of 2 part(s) of s3://');
      const bucket = lab.state.s3.buckets.get(EVIDENCE_BUCKET)!;
      expect([...bucket.uploads.values()].filter((u) => u.key.startsWith('cases/IR-COPY-8/'))).toEqual([]);
      expect(versionsOf('IR-COPY-8')).toEqual({ 'ledger.jsonl': 1, 'manifest.json': 1 });
      const entries = await ledgerOf(caseDir);
      expect(entries[entries.length - 1]).toMatchObject({ type: 'copy.failed', data: { path: 'evidence/ev-big/memory.bin', error: { code: 'E_CANCELLED' }, copied: 2, remaining: 2 } });
      expect((await verifyCase(caseDir)).ok).toBe(true);

      expect(await copy(caseDir, 'IR-COPY-8')).toMatchObject({ copied: 2, alreadyCopied: 2 });
      expect(versionsOf('IR-COPY-8')).toEqual({ 'ledger.jsonl': 1, 'manifest.json': 1, 'evidence/ev-big/memory.bin': 1, 'evidence/ev-small/console.txt': 1 });
      expect((await verifyAgainstCopy(caseDir, store('IR-COPY-8'))).problems).toEqual([]);
    });

    it('a signal already aborted copies and records nothing', async () => {
      const caseDir = await closedCase('IR-COPY-9');
      const before = await readFile(join(caseDir, 'ledger.jsonl'));
      const controller = new AbortController();
      controller.abort(new Error('interrupted by the user'));
      const error = await errorOf(copyCase({ caseDir, store: store('IR-COPY-9'), actor: 'alice@example.org', keysDir: scratch.keysDir, retention: RETENTION, signal: controller.signal }));
      expect([error.code, error.message]).toEqual(['E_CANCELLED', `the copy to s3://${EVIDENCE_BUCKET}/cases/IR-COPY-9 was cancelled before it started (interrupted by the user): nothing was copied or recorded`]);
      expect(await readFile(join(caseDir, 'ledger.jsonl'))).toEqual(before);
      expect(versionsOf('IR-COPY-9')).toEqual({});
    });
  });

  it('an open case is not copied', async () => {
    const kase = await openCase(caseOptions(scratch, { caseId: 'IR-COPY-6' }));
    await kase.release();
    expect((await errorOf(copy(kase.caseDir, 'IR-COPY-6'))).code).toBe('E_INPUT');
  });
});
