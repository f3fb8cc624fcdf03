/**
 * `runPreflight` in the lab, under the shipped least-privilege policies (the simulator
 * authorizer): a platform team checks every account before an incident and sees, per account
 * and check, whether collection would work — and preflight changes nothing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type CustodyConfig } from '../../src/providers/config.js';
import { parseTarget } from '../../src/providers/targets.js';
import { openCase } from '../../src/custody/index.js';
import { demoScenario, EVIDENCE_BUCKET, startLab, type LabInstance, type LabScenario, type RunningLab } from '../../src/lab/index.js';
import { createAwsProvider } from '../../src/providers/aws/index.js';
import { runPreflightCommand } from '../../src/cli/commands/preflight.js';
import { runAwsPreflightRows, runPreflight, type PreflightRow } from '../../src/providers/aws/preflight.js';
import { defaultWorld } from '../policies/iam-simulator.js';
import { createSimulatorAuthorizer, type SimulatorAuthorizer } from './simulator-authorizer.js';

const REGION = 'us-east-1';
const NO_ROLE = '444444444444';
const NO_KEY = '555555555555';
const UNLOCKED_BUCKET = 'cloud-custody-unlocked-111111111111';
const world = defaultWorld();
let lab: RunningLab;
let sim: SimulatorAuthorizer;
let config: CustodyConfig;
let dir: string;

const taggedHost = (name: string) => ({
  tags: { Name: name, ForensicsEnabled: 'true' },
  volumes: [{ sizeGiB: 8, encryption: 'aws/ebs' as const, tags: { Name: `${name}-root`, ForensicsEnabled: 'true' } }],
});

function scenario(): LabScenario {
  const base = demoScenario({ snapshotDurationMs: 100 });
  const collector = [{ name: 'CloudCustodyCollector', trustedPrincipals: [`arn:aws:iam::${base.forensicsAccount}:role/CloudCustodyOrchestrator`], requireSourceIdentity: true }];
  return {
    ...base,
    // A bucket the orchestrator's policy does not name.
    buckets: [...(base.buckets ?? []), { name: UNLOCKED_BUCKET, objectLock: false }],
    accounts: [
      ...base.accounts,
      // Misconfigured: the StackSet never reached this account (no collector role).
      { id: NO_ROLE, instances: [taggedHost('legacy-01')] },
      // Misconfigured: the role is there, but the region has no shareable key.
      { id: NO_KEY, roles: collector, instances: [taggedHost('edge-01')] },
    ],
  };
}

function instanceNamed(name: string): LabInstance {
  const found = [...lab.state.region(REGION).instances.values()].find((i) => i.tags.Name === name);
  if (!found) throw new Error(`no ${name} in the lab`);
  return found;
}

function row(rows: PreflightRow[], account: string, check: string): PreflightRow {
  const found = rows.find((r) => r.account === account && r.check === check);
  if (!found) throw new Error(`no ${check} row for ${account}: ${JSON.stringify(rows, null, 1)}`);
  return found;
}

/** What preflight must never change: snapshots, tags, instance attributes. */
function fingerprint(): string {
  const region = lab.state.region(REGION);
  return JSON.stringify({
    snapshots: [...region.snapshots.values()].map((s) => [s.id, s.tags, [...s.createVolumePermissions]]),
    instances: [...region.instances.values()].map((i) => [i.id, i.tags, i.disableApiTermination, i.blockDevices.map((d) => d.deleteOnTermination)]),
    volumes: [...region.volumes.values()].map((v) => [v.id, v.tags]),
  });
}

const preflight = (extra: Partial<Parameters<typeof runPreflight>[0]> = {}) =>
  runPreflight({ config, credentials: async () => lab.orchestratorCredentials, analyst: 'platform-team', ...extra });

beforeAll(async () => {
  sim = createSimulatorAuthorizer();
  lab = await startLab(scenario(), { authorizer: sim.authorizer, throttling: false });
  sim.attach(lab.state, REGION);
  dir = await mkdtemp(join(tmpdir(), 'custody-preflight-'));
  config = parseConfig({
    aws: {
      forensicsAccount: lab.forensicsAccount,
      region: REGION,
      allowedAccounts: ['222222222222', '333333333333', NO_ROLE, NO_KEY],
      externalId: world.externalId,
      endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint },
    },
  });
});

afterAll(async () => {
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Collects web-01 into a case of its own, so preflight has an earlier case's snapshots to dry-run on. */
async function seedCase(caseId: string, transfer: 'in-place' | 'copy'): Promise<void> {
  const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId, analyst: 'alice', toolVersion: 'test', resume: false });
  const aws = createAwsProvider({ ...config, aws: { ...config.aws!, transfer } }, { credentials: async () => lab.orchestratorCredentials, wait: { initialDelayMs: 50, maxDelayMs: 100 } });
  const web = instanceNamed('web-01');
  const outcome = await aws.collect(parseTarget(`arn:aws:ec2:${REGION}:222222222222:instance/${web.id}`), {
    recorder: kase,
    progress: () => undefined,
    options: { preserve: false, isolate: false, screenshot: false, includeEnv: false, retrieveCheckpoint: false },
    signal: new AbortController().signal,
  });
  expect(outcome.status, outcome.reason).toBe('collected');
  await aws.close?.();
  await kase.release();
}

describe('preflight in the lab, under the shipped policies', () => {
  it('a well-deployed account passes every check it can make, and nothing in the lab changes', async () => {
    const before = fingerprint();
    const rows = await preflight({ accounts: ['222222222222'] });
    for (const check of ['assume-role', 'describe-instances', 'create-snapshots', 'preserve-instance', 'preserve-readback', 'shareable-key']) {
      expect(row(rows, '222222222222', check).result, JSON.stringify(row(rows, '222222222222', check))).toBe('ok');
    }
    expect(row(rows, '222222222222', 'create-snapshots')).toMatchObject({ action: 'ec2:CreateSnapshots', detail: expect.stringContaining('DryRun') });
    // Before any case there is no case snapshot to dry-run sharing on: said, not faked.
    expect(row(rows, '222222222222', 'share-snapshot')).toMatchObject({ result: 'error', detail: expect.stringContaining('not checked') });
    expect(row(rows, '222222222222', 'share-readback')).toMatchObject({ result: 'error', action: 'ec2:DescribeSnapshotAttribute', detail: expect.stringContaining('not checked') });
    expect(row(rows, lab.forensicsAccount, 'forensics-copy')).toMatchObject({ result: 'error', detail: expect.stringContaining('not checked') });
    expect(fingerprint()).toBe(before);
  });

  it('after a case copied into the forensics account, the copy and the lock are dry-run there as the orchestrator', async () => {
    await seedCase('IR-PREFLIGHT-COPY', 'copy');

    const before = fingerprint();
    const rows = await preflight({ accounts: ['222222222222'], config: { ...config, aws: { ...config.aws!, lock: { mode: 'compliance', durationDays: 7 } } } });
    expect(row(rows, lab.forensicsAccount, 'forensics-copy')).toMatchObject({ result: 'ok', action: 'ec2:CopySnapshot', detail: expect.stringContaining('alias/cloud-custody-forensics') });
    expect(row(rows, lab.forensicsAccount, 'forensics-lock')).toMatchObject({ result: 'ok', action: 'ec2:LockSnapshot' });
    expect(fingerprint()).toBe(before);
  });

  it('the evidence bucket: Object Lock read as the orchestrator; another bucket is denied, naming the action and the bucket', async () => {
    const withBucket = (name: string): CustodyConfig => ({
      ...config,
      aws: { ...config.aws!, endpoints: { ...config.aws!.endpoints, s3: lab.endpoint }, evidenceBucket: parseConfig({ aws: { ...config.aws!, evidenceBucket: { name } } }).aws!.evidenceBucket! },
    });
    const before = fingerprint();
    const locked = await preflight({ accounts: ['222222222222'], config: withBucket(EVIDENCE_BUCKET) });
    expect(row(locked, lab.forensicsAccount, 'evidence-bucket')).toMatchObject({
      result: 'ok',
      action: 's3:GetBucketObjectLockConfiguration',
      detail: expect.stringMatching(/Object Lock on \(bucket default COMPLIANCE 365 days\); copies are written with COMPLIANCE for 365 days/),
    });
    // The policy names the evidence bucket only: another bucket is refused, naming action and bucket.
    const other = await preflight({ accounts: ['222222222222'], config: withBucket(UNLOCKED_BUCKET) });
    expect(row(other, lab.forensicsAccount, 'evidence-bucket')).toMatchObject({
      result: 'denied',
      detail: expect.stringContaining(`s3:GetBucketObjectLockConfiguration on arn:aws:s3:::${UNLOCKED_BUCKET}`),
    });
    // Without aws.evidenceBucket there is nothing to check, and no row pretends otherwise.
    expect((await preflight({ accounts: ['222222222222'] })).some((r) => r.check === 'evidence-bucket')).toBe(false);
    expect(fingerprint()).toBe(before);
  });

  it('after a first case, sharing, its read-back and copying are dry-run on that case snapshot, as that case', async () => {
    await seedCase('IR-PREFLIGHT-SEED', 'in-place');

    const before = fingerprint();
    const rows = await preflight({ accounts: ['222222222222'] });
    expect(row(rows, '222222222222', 'share-snapshot')).toMatchObject({ result: 'ok', action: 'ec2:ModifySnapshotAttribute', detail: expect.stringContaining('IR-PREFLIGHT-SEED') });
    // Each share is read back (the ledger records whom EC2 lists): that read is dry-run as the case too.
    expect(row(rows, '222222222222', 'share-readback')).toMatchObject({ result: 'ok', action: 'ec2:DescribeSnapshotAttribute', detail: expect.stringContaining('IR-PREFLIGHT-SEED') });
    expect(row(rows, '222222222222', 'copy-snapshot')).toMatchObject({ result: 'ok', action: 'ec2:CopySnapshot' });
    expect(fingerprint()).toBe(before);
  });

  it("when the earlier case's session cannot be assumed, the share, read-back and copy rows each say so", async () => {
    // Runs after the test above, which left a case snapshot to check on. The collector's session
    // is assumed; the second AssumeRole (as that case) is refused.
    lab.control.failNext({ action: 'sts:AssumeRole', code: 'AccessDenied', status: 403, message: 'not authorized to perform sts:AssumeRole', skip: 1 });
    const rows = await preflight({ accounts: ['222222222222'] });
    expect(row(rows, '222222222222', 'assume-role').result).toBe('ok');
    expect(row(rows, '222222222222', 'share-snapshot')).toMatchObject({ result: 'denied', action: 'sts:AssumeRole', detail: expect.stringContaining('as case IR-PREFLIGHT-SEED') });
    for (const [check, action] of [['share-readback', 'ec2:DescribeSnapshotAttribute'], ['copy-snapshot', 'ec2:CopySnapshot']] as const) {
      expect(row(rows, '222222222222', check)).toMatchObject({ result: 'error', action, detail: expect.stringContaining('not checked: the session of case IR-PREFLIGHT-SEED could not be assumed') });
    }
  });

  it('says how far this machine\'s clock is from AWS\'s, from STS\'s answers', async () => {
    expect(row(await preflight({ accounts: ['222222222222'] }), lab.forensicsAccount, 'clock')).toMatchObject({ result: 'ok', detail: expect.stringContaining("within a second of AWS's") });
    lab.control.setClockSkew(20 * 60_000);
    lab.control.resetCalls();
    try {
      const rows = await preflight({ accounts: ['222222222222'] });
      const skewed = row(rows, lab.forensicsAccount, 'clock');
      expect(skewed).toMatchObject({ result: 'ok', action: 'sts:AssumeRole' });
      // 20 minutes, give or take the Date header's whole second and a busy machine's delay in reading the answer.
      const [, minutes, seconds] = /is (\d+) min (\d+) s behind AWS's/.exec(skewed.detail) ?? [];
      expect(Math.abs(Number(minutes) * 60 + Number(seconds) - 20 * 60)).toBeLessThanOrEqual(10);
      // Each dry run is still answered as allowed, and sent once: EC2's DryRunOperation answer on a
      // corrected clock is the check's result, not a clock correction to retry (each answer's Date
      // moves the offset by under a second, which once had every such answer retried 8 times).
      for (const check of ['create-snapshots', 'preserve-instance', 'preserve-readback']) expect(row(rows, '222222222222', check).result).toBe('ok');
      const calls = lab.control.calls()['222222222222'] ?? {};
      expect([calls['ec2:CreateSnapshots'], calls['ec2:ModifyInstanceAttribute'], calls['ec2:DescribeInstanceAttribute']]).toEqual([1, 1, 1]);
    } finally {
      lab.control.setClockSkew(undefined);
    }
  });

  it('an account without the collector role is denied at assume-role, and the other accounts are still checked', async () => {
    const rows = await preflight();
    expect(row(rows, NO_ROLE, 'assume-role')).toMatchObject({ result: 'denied', action: 'sts:AssumeRole' });
    expect(row(rows, NO_ROLE, 'assume-role').detail).toContain(`arn:aws:iam::${NO_ROLE}:role/CloudCustodyCollector`);
    expect(rows.filter((r) => r.account === NO_ROLE)).toHaveLength(1);
    expect(row(rows, '333333333333', 'create-snapshots').result).toBe('ok');
  });

  it('an account whose region lacks the shareable key says which key is missing', async () => {
    const rows = await preflight({ accounts: [NO_KEY] });
    expect(row(rows, NO_KEY, 'assume-role').result).toBe('ok');
    expect(row(rows, NO_KEY, 'create-snapshots').result).toBe('ok');
    expect(row(rows, NO_KEY, 'shareable-key')).toMatchObject({
      result: 'error',
      action: 'kms:DescribeKey',
      detail: expect.stringContaining(`arn:aws:kms:${REGION}:${NO_KEY}:alias/cloud-custody-share does not exist`),
    });
  });

  it('a named untagged target is denied with the action and the resource, before an incident rather than during one', async () => {
    const batch = instanceNamed('batch-01');
    const arn = `arn:aws:ec2:${REGION}:222222222222:instance/${batch.id}`;
    const rows = await preflight({ targets: [parseTarget(arn)] });
    expect(row(rows, '222222222222', 'describe-instances').result).toBe('ok');
    const snapshot = row(rows, '222222222222', 'create-snapshots');
    expect(snapshot).toMatchObject({ result: 'denied', action: 'ec2:CreateSnapshots' });
    expect(snapshot.detail).toContain(arn);
    // The real cause, not "is the StackSet deployed".
    expect(snapshot.detail).toContain('lacks the collection tag ForensicsEnabled=true');
    expect(snapshot.detail).not.toMatch(/StackSet/);
    expect(row(rows, '222222222222', 'preserve-instance')).toMatchObject({ result: 'denied', action: 'ec2:ModifyInstanceAttribute' });
    expect(row(rows, '222222222222', 'preserve-readback')).toMatchObject({ result: 'denied', action: 'ec2:DescribeInstanceAttribute' });
    expect(row(rows, '222222222222', 'preserve-readback').detail).toContain(arn);
  });

  it('a wrong external id is denied by the trust policy', async () => {
    const rows = await runPreflight({
      config: { ...config, aws: { ...config.aws!, externalId: 'not-the-one' } },
      accounts: ['222222222222'],
      credentials: async () => lab.orchestratorCredentials,
    });
    expect(rows.filter((r) => r.account === '222222222222')).toEqual([expect.objectContaining({ account: '222222222222', check: 'assume-role', result: 'denied' })]);
  });
});

describe('custody preflight (the command)', () => {
  it('prints account × check → result with the action, and exits 2 because one account is denied', async () => {
    const file = join(dir, 'custody.config.json');
    await writeFile(file, JSON.stringify({ aws: config.aws }));
    let out = '';
    const code = await runPreflightCommand(
      ['--config', file, '--account', '222222222222', '--account', NO_ROLE],
      { stdout: (t) => (out += t), stderr: () => undefined, stderrIsTTY: false, env: {}, cwd: dir },
      { preflight: (input) => runAwsPreflightRows({ config: input.config, accounts: input.scopes.account ?? [], credentials: async () => lab.orchestratorCredentials }) },
    );
    expect(code).toBe(2);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^ACCOUNT\s+REGION\s+CHECK\s+RESULT\s+ACTION\s+DETAIL$/);
    expect(lines.find((l) => l.startsWith(NO_ROLE))).toMatch(/assume-role\s+denied\s+sts:AssumeRole/);
    expect(lines.find((l) => l.startsWith('222222222222') && l.includes('create-snapshots'))).toMatch(/ok\s+ec2:CreateSnapshots/);
  });
});

describe('preflight of an evidence bucket made without Object Lock', () => {
  it('is an error that says copies there would not be immutable', async () => {
    const unlockedSim = createSimulatorAuthorizer();
    const base = demoScenario({ snapshotDurationMs: 100 });
    const unlockedLab = await startLab({ ...base, buckets: [{ name: EVIDENCE_BUCKET, objectLock: false }] }, { authorizer: unlockedSim.authorizer, throttling: false });
    try {
      unlockedSim.attach(unlockedLab.state, REGION);
      const rows = await runPreflight({
        config: parseConfig({
          aws: {
            forensicsAccount: unlockedLab.forensicsAccount,
            region: REGION,
            allowedAccounts: ['222222222222'],
            externalId: world.externalId,
            endpoints: { sts: unlockedLab.endpoint, ec2: unlockedLab.endpoint, kms: unlockedLab.endpoint, s3: unlockedLab.endpoint },
            evidenceBucket: { name: EVIDENCE_BUCKET },
          },
        }),
        credentials: async () => unlockedLab.orchestratorCredentials,
        analyst: 'platform-team',
        accounts: ['222222222222'],
      });
      expect(row(rows, unlockedLab.forensicsAccount, 'evidence-bucket')).toMatchObject({
        result: 'error',
        action: 's3:GetBucketObjectLockConfiguration',
        detail: expect.stringContaining(`s3://${EVIDENCE_BUCKET} has no Object Lock`),
      });
    } finally {
      await unlockedLab.stop();
    }
  });
});
