/**
 * The immutable copy against moto's S3 (an implementation nobody here wrote): a bucket created
 * with Object Lock, a closed case copied with SHA-256 checksums and COMPLIANCE retention (one
 * file above the multipart threshold), verify --against, and fetch-case restoring a folder that
 * verifies. What moto answers differently from S3 is asserted and listed in docs/deploy-aws.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCase, fetchCase, verifyAgainstCopy } from '../../src/custody/immutable-copy.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { openEvidenceBucket } from '../../src/providers/aws/evidence-bucket.js';
import { caseOptions, makeScratch, type Scratch } from '../custody/helpers.js';
import { startMoto, type MotoServer } from './moto-server.js';

const MIB = 1024 * 1024;
const BUCKET = 'cloud-custody-evidence-123456789012';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

describe('the immutable copy against moto', () => {
  let moto: MotoServer;
  let scratch: Scratch;
  beforeAll(async () => {
    moto = await startMoto();
    scratch = await makeScratch();
    const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
    s3.destroy();
  });
  afterAll(async () => {
    await moto?.stop();
    await scratch?.cleanup();
  });

  const store = (caseId: string) =>
    openEvidenceBucket({
      bucket: BUCKET,
      casePrefix: caseId,
      region: 'us-east-1',
      endpoint: moto.endpoint,
      multipartThresholdBytes: 5 * MIB,
      partSizeBytes: 5 * MIB,
      credentials: async () => credentials,
    });

  async function closedCase(caseId: string, big: boolean): Promise<string> {
    const kase = await openCase(caseOptions(scratch, { caseId }));
    await kase.storeEvidence({ evidenceId: 'ev-small', name: 'console.txt', kind: 'console-output', source: 'i-1', content: 'boot log\n' });
    if (big) {
      const content = Buffer.alloc(5 * MIB + 4321);
      for (let i = 0; i < content.length; i++) content[i] = (i * 17) % 253;
      await kase.storeEvidence({ evidenceId: 'ev-big', name: 'memory.bin', kind: 'memory', source: 'i-1', content });
    }
    await kase.close({ outcomes: [] });
    return kase.caseDir;
  }
  const copy = (caseDir: string, caseId: string) =>
    copyCase({ caseDir, store: store(caseId), actor: 'alice@example.org', keysDir: scratch.keysDir, retention: { mode: 'COMPLIANCE', days: 1 } });
  const ledgerOf = async (caseDir: string) =>
    (await readFile(join(caseDir, 'ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });

  it('copies a closed case with SHA-256 checksums and COMPLIANCE retention, verifies against the copy, and restores it', async () => {
    const caseDir = await closedCase('IR-MOTO-1', false);
    expect(await copy(caseDir, 'IR-MOTO-1')).toMatchObject({ copied: 3, total: 3 });
    const records = (await ledgerOf(caseDir)).filter((e) => e.type === 'evidence.copied');
    const small = records.find((e) => e.data.path === 'evidence/ev-small/console.txt')!;
    expect(small.data.checksum).toMatchObject({ algorithm: 'SHA256', value: createHash('sha256').update('boot log\n').digest('base64'), reportedBy: 'upload' });
    for (const record of records) {
      expect(record.data.versionId).toEqual(expect.any(String));
      expect(record.data.retention).toMatchObject({ mode: 'COMPLIANCE' });
    }
    expect((await verifyCase(caseDir)).problems).toEqual([]);
    const against = await verifyAgainstCopy(caseDir, store('IR-MOTO-1'));
    expect(against.problems).toEqual([]);
    expect(against.checked).toBe(3);

    const dir = join(scratch.root, 'restored', 'IR-MOTO-1');
    expect((await fetchCase(store('IR-MOTO-1'), dir)).objects).toHaveLength(3);
    const restored = await verifyCase(dir);
    expect(restored.problems).toEqual([]);
    expect(restored.closed).toBe(true);
  });

  it('a file in parts: moto drops the retention of a multipart upload, and the copy records the failure instead of claiming a lock', async () => {
    const caseDir = await closedCase('IR-MOTO-2', true);
    const error = await copy(caseDir, 'IR-MOTO-2').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // moto 5.2.1: CreateMultipartUpload's x-amz-object-lock-* headers are not applied to the object.
    expect(error?.message).toMatch(/evidence\/ev-big\/memory\.bin.*is not locked as asked.*reports no retention/);
    const entries = await ledgerOf(caseDir);
    expect(entries[entries.length - 1]).toMatchObject({ type: 'copy.failed', data: { path: 'evidence/ev-big/memory.bin' } });
  });
});
