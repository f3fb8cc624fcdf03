/**
 * A golden case: the same inputs, key and clock must always produce byte-identical ledger and
 * manifest files. A change here is a change of the on-disk format that every verifier (and every
 * case already handed to counsel) depends on; update the vectors only on purpose.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { useScratch, type Scratch } from './helpers.js';

const VECTORS = join(import.meta.dirname, 'vectors');
const SEED_PKCS8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]);

async function buildGoldenCase(scratch: Scratch): Promise<string> {
  const keyFile = join(scratch.root, 'golden.pem');
  await writeFile(keyFile, createPrivateKey({ key: SEED_PKCS8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }));
  let clock = Date.parse('2026-01-02T03:04:05.000Z');
  const kase = await openCase({
    casesDir: scratch.casesDir,
    keysDir: scratch.keysDir,
    signingKeyFile: keyFile,
    caseId: 'GOLDEN-1',
    analyst: 'alice@example.org',
    toolVersion: '1.0.0',
    host: 'forensics-host',
    config: { aws: { forensicsAccount: '111111111111', region: 'us-east-1' } },
    now: () => new Date(clock++),
  });
  const target = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
  await kase.record('credentials.assumed', { account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/CloudCustodyCollector', sessionName: 'custody-GOLDEN-1', sourceIdentity: 'alice@example.org' }, target);
  await kase.storeEvidence({ evidenceId: 'ev-000000000001', name: 'instance.json', kind: 'instance-description', source: target, target, content: '{"InstanceId":"i-0123456789abcdef0"}\n', cloudIds: { instanceId: 'i-0123456789abcdef0' }, requestIds: ['req-0001'] });
  await kase.record('snapshot.requested', { volumeIds: ['vol-0001'] }, target);
  await kase.record('snapshot.created', { snapshotIds: ['snap-0001'], requestId: 'req-0002', note: 'non-ASCII survives: é € 😀' }, target);
  await kase.recordArtifact({ evidenceId: 'ev-000000000002', kind: 'ebs-snapshot', source: 'arn:aws:ec2:us-east-1:222222222222:volume/vol-0001', target, cloudIds: { snapshotId: 'snap-0001' } });
  await kase.close({ outcomes: [{ target, status: 'collected', evidenceIds: ['ev-000000000001', 'ev-000000000002'] }] });
  return kase.caseDir;
}

describe('golden case', () => {
  const scratch = useScratch();

  it('the writer reproduces the committed ledger and manifest byte for byte, and they verify', async () => {
    const caseDir = await buildGoldenCase(scratch);
    const ledger = await readFile(join(caseDir, 'ledger.jsonl'), 'utf8');
    const manifest = await readFile(join(caseDir, 'manifest.json'), 'utf8');
    if (process.env.UPDATE_GOLDEN === '1') {
      await writeFile(join(VECTORS, 'golden-ledger.jsonl'), ledger);
      await writeFile(join(VECTORS, 'golden-manifest.json'), manifest);
    }
    expect(ledger).toBe(await readFile(join(VECTORS, 'golden-ledger.jsonl'), 'utf8'));
    expect(manifest).toBe(await readFile(join(VECTORS, 'golden-manifest.json'), 'utf8'));
    expect((await verifyCase(caseDir)).ok).toBe(true);
  });
});
