import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { CustodyError } from '../../src/core/errors.js';
import { openCase, type CaseHandle, type OpenCaseOptions } from '../../src/custody/index.js';
import { signManifest, type Manifest, type UnsignedManifest } from '../../src/custody/manifest.js';
import { signingKeyFrom } from '../../src/custody/signing-key.js';

/** A scratch folder with separate cases and keys folders, as a real deployment has. */
export interface Scratch {
  root: string;
  casesDir: string;
  keysDir: string;
  cleanup(): Promise<void>;
}

export async function makeScratch(): Promise<Scratch> {
  const root = await mkdtemp(join(tmpdir(), 'custody-test-'));
  return {
    root,
    casesDir: join(root, 'cases'),
    keysDir: join(root, 'keys'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/**
 * A fresh scratch folder for every test of the calling describe block, removed after it. The
 * returned object is filled in before each test, so tests read `scratch.casesDir` as usual;
 * hooks the caller registers afterwards run inside this one (vitest runs after-hooks as a stack).
 */
export function useScratch(): Scratch {
  const scratch = {} as Scratch;
  beforeEach(async () => {
    Object.assign(scratch, await makeScratch());
  });
  afterEach(async () => {
    await scratch.cleanup();
  });
  return scratch;
}

/** The CustodyError a promise rejects with; fails the test if it resolves or rejects otherwise. */
export async function errorOf(promise: Promise<unknown>): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CustodyError);
  return error as CustodyError;
}

export function caseOptions(scratch: Scratch, overrides: Partial<OpenCaseOptions> = {}): OpenCaseOptions {
  return {
    casesDir: scratch.casesDir,
    keysDir: scratch.keysDir,
    caseId: 'IR-2026-0042',
    analyst: 'alice@example.org',
    toolVersion: '0.1.0-test',
    config: { aws: { forensicsAccount: '111111111111', region: 'us-east-1' } },
    ...overrides,
  };
}

export const INSTANCE = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0abc1234def567890';

/**
 * A small but complete case: a describe, a console log, a snapshot and its copy, a failure,
 * closed with outcomes. Returns the handle (already closed) for its paths and key.
 */
export async function buildClosedCase(scratch: Scratch, overrides: Partial<OpenCaseOptions> = {}): Promise<CaseHandle> {
  const kase = await openCase(caseOptions(scratch, overrides));
  await kase.record('credentials.assumed', {
    roleArn: 'arn:aws:iam::222222222222:role/CloudCustodyCollector',
    roleSessionName: 'custody-IR-2026-0042',
    sourceIdentity: 'alice@example.org',
    expiration: '2026-11-26T06:00:00.000Z',
  }, INSTANCE);
  await kase.storeEvidence({
    evidenceId: 'ev-aaaaaaaaaaaa',
    name: 'instance.json',
    kind: 'instance-description',
    source: INSTANCE,
    target: INSTANCE,
    content: JSON.stringify({ InstanceId: 'i-0abc1234def567890', State: { Name: 'running' } }, null, 2),
    cloudIds: { instanceId: 'i-0abc1234def567890' },
    requestIds: ['req-1'],
  });
  await kase.storeEvidence({
    evidenceId: 'ev-aaaaaaaaaaaa',
    name: 'console-output.log',
    kind: 'console-output',
    source: INSTANCE,
    target: INSTANCE,
    content: 'Booting Linux...\nlogin: \n',
  });
  await kase.record('snapshot.requested', { volumeId: 'vol-0123' }, INSTANCE);
  await kase.record('snapshot.created', { snapshotId: 'snap-0001', requestId: 'req-2' }, INSTANCE);
  await kase.recordArtifact({
    evidenceId: 'ev-bbbbbbbbbbbb',
    kind: 'ebs-snapshot',
    source: 'arn:aws:ec2:us-east-1:222222222222:volume/vol-0123',
    target: INSTANCE,
    cloudIds: { snapshotId: 'snap-0001' },
  });
  await kase.recordArtifact({
    evidenceId: 'ev-bbbbbbbbbbbb',
    kind: 'ebs-snapshot',
    source: 'arn:aws:ec2:us-east-1:222222222222:volume/vol-0123',
    target: INSTANCE,
    cloudIds: { forensicsCopyId: 'snap-0999' },
  });
  await kase.record('step.failed', { step: 'console-screenshot', error: { code: 'E_ACCESS_DENIED', message: 'ec2:GetConsoleScreenshot denied on i-0abc' } }, INSTANCE);
  await kase.close({
    outcomes: [
      { target: INSTANCE, status: 'partial', reason: 'the console screenshot was denied', evidenceIds: ['ev-aaaaaaaaaaaa'] },
    ],
  });
  return kase;
}

/** The manifest.json of a closed case without its signature, to be changed and signed again. */
export async function unsignedManifestOf(kase: CaseHandle): Promise<UnsignedManifest> {
  const { signature: _signature, ...rest } = JSON.parse(await readFile(join(kase.caseDir, 'manifest.json'), 'utf8')) as Manifest;
  return rest;
}

/** Writes `changed` as the case's manifest.json signed with the case's own key, so only its contents can differ. */
export async function resignManifest(kase: CaseHandle, changed: UnsignedManifest): Promise<void> {
  const pem = await readFile(kase.keyPath, 'utf8');
  await writeFile(join(kase.caseDir, 'manifest.json'), JSON.stringify(signManifest(changed, signingKeyFrom(createPrivateKey(pem)))));
}
