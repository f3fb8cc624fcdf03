/**
 * The case copy in the lab under exactly the shipped policies: every S3 request is decided by the
 * IAM simulator against the orchestrator's policies and the evidence bucket's policy. The copy,
 * verify --against and fetch-case need nothing more than they grant, and what the bucket policy
 * denies (deleting a version, bypassing a retention) is refused on the wire.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCase, fetchCase, verifyAgainstCopy } from '../../src/custody/immutable-copy.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { demoScenario, EVIDENCE_BUCKET, startLab, type RunningLab } from '../../src/lab/index.js';
import { openEvidenceBucket, readEvidenceBucketLock } from '../../src/providers/aws/evidence-bucket.js';
import { AWS_OPERATIONS, type AwsOperation } from '../../src/providers/aws/operations.js';
import { createSimulatorAuthorizer, type SimulatorAuthorizer } from './simulator-authorizer.js';

const MIB = 1024 * 1024;
let lab: RunningLab;
let sim: SimulatorAuthorizer;
let dir: string;

beforeAll(async () => {
  sim = createSimulatorAuthorizer();
  lab = await startLab(demoScenario(), { authorizer: sim.authorizer, throttling: false });
  sim.attach(lab.state, lab.region);
  dir = await mkdtemp(join(tmpdir(), 'custody-lab-authz-copy-'));
});

afterAll(async () => {
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const store = (caseId: string) =>
  openEvidenceBucket({
    bucket: EVIDENCE_BUCKET,
    casePrefix: `cases/${caseId}`,
    region: lab.region,
    endpoint: lab.endpoint,
    multipartThresholdBytes: 5 * MIB,
    partSizeBytes: 5 * MIB,
    credentials: async () => lab.orchestratorCredentials,
  });

describe('the case copy under the shipped least-privilege policies', () => {
  it('checks the bucket lock, copies (one file in parts), verifies against the copy and restores it with exactly the declared S3 actions', async () => {
    const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-COPY-AUTHZ', analyst: 'alice', toolVersion: 'test' });
    await kase.storeEvidence({ evidenceId: 'ev-1', name: 'console.txt', kind: 'console-output', source: 'i-1', content: 'log\n' });
    await kase.storeEvidence({ evidenceId: 'ev-2', name: 'memory.bin', kind: 'memory', source: 'i-1', content: Buffer.alloc(5 * MIB + 1, 9) });
    await kase.close({ outcomes: [] });

    const before = sim.decisions.length;
    // What preflight checks first: the bucket has Object Lock, read as the orchestrator.
    expect(await readEvidenceBucketLock({ bucket: EVIDENCE_BUCKET, casePrefix: 'cases/IR-COPY-AUTHZ', region: lab.region, endpoint: lab.endpoint, multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB, credentials: async () => lab.orchestratorCredentials })).toMatchObject({ enabled: true, defaultRetention: { mode: 'COMPLIANCE', days: 365 } });
    await copyCase({ caseDir: kase.caseDir, store: store('IR-COPY-AUTHZ'), actor: 'alice', keysDir: join(dir, 'keys'), retention: { mode: 'COMPLIANCE', days: 30 } });
    expect((await verifyAgainstCopy(kase.caseDir, store('IR-COPY-AUTHZ'))).problems).toEqual([]);
    const restored = join(dir, 'restored');
    await fetchCase(store('IR-COPY-AUTHZ'), restored);
    expect((await verifyCase(restored)).problems).toEqual([]);

    const decided = sim.decisions.slice(before);
    expect(decided.filter((d) => d.verdict.result !== 'Allowed').map((d) => d.verdict.reason)).toEqual([]);
    const used = new Set(decided.map((d) => d.request.action));
    const declared = new Set(
      (Object.values(AWS_OPERATIONS) as AwsOperation[]).flatMap((op) => op.permissions.map((p) => p.action)).filter((a) => a.startsWith('s3:')),
    );
    expect([...used].filter((a) => !declared.has(a))).toEqual([]);
    // Only the clean-up of a failed multipart upload is not needed when nothing fails.
    expect([...declared].filter((a) => !used.has(a))).toEqual(['s3:AbortMultipartUpload']);
    expect(decided.some((d) => d.request.action === 's3:PutObjectRetention' && d.request.context['s3:object-lock-mode'] === 'COMPLIANCE')).toBe(true);
  });

  it('deleting a copied object is refused', async () => {
    const s3 = new S3Client({ region: lab.region, endpoint: lab.endpoint, forcePathStyle: true, credentials: lab.orchestratorCredentials });
    const error = await s3.send(new DeleteObjectCommand({ Bucket: EVIDENCE_BUCKET, Key: 'cases/IR-COPY-AUTHZ/manifest.json' })).then(
      () => undefined,
      (e: unknown) => e as { name?: string },
    );
    s3.destroy();
    expect(error?.name).toBe('AccessDenied');
    expect(sim.decisions[sim.decisions.length - 1]!.verdict.result).toBe('ExplicitlyDenied');
  });
});
