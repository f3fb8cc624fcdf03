import { REGISTRY } from '../../../src/providers/registry.js';
import { AWS_SESSIONS, type AwsSessionBroker } from '../../../src/providers/shared/aws-sessions.js';
/**
 * Collector sessions: attributed to the analyst and the case, narrowed to the targets, refreshed
 * before they lapse, and never written down with their secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type CustodyConfig } from '../../../src/providers/config.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { demoScenario, startLab, type RunningLab } from '../../../src/lab/index.js';
import { createAwsProvider, sessionNameFor, sessionPolicyFor, sourceIdentityFor } from '../../../src/providers/aws/index.js';
import { fitSessionPolicy } from '../../../src/providers/aws/credentials.js';
import { contextFor, ledgerText, MemoryRecorder } from './helpers.js';

const REGION = 'us-east-1';
let lab: RunningLab;
let config: CustodyConfig;

function arnsOf(account: string): string[] {
  return [...lab.state.region(REGION).instances.values()]
    .filter((i) => i.ownerId === account && i.tags.ForensicsEnabled === 'true')
    .map((i) => `arn:aws:ec2:${REGION}:${account}:instance/${i.id}`);
}

beforeAll(async () => {
  lab = await startLab(demoScenario({ snapshotDurationMs: 50 }));
  config = parseConfig({
    aws: {
      forensicsAccount: lab.forensicsAccount,
      region: REGION,
      allowedAccounts: ['222222222222', '333333333333'],
      transfer: 'in-place',
      endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint },
    },
  });
});

afterAll(async () => {
  await lab?.stop();
});

describe('session names and identities', () => {
  it('keeps the session name within 64 characters of the allowed set', () => {
    expect(sessionNameFor('IR-2026-001')).toBe('custody-IR-2026-001');
    const long = sessionNameFor('A'.repeat(64));
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^custody-A+$/);
  });

  it('turns an analyst ARN or e-mail into a valid SourceIdentity', () => {
    expect(sourceIdentityFor('arn:aws:sts::111111111111:assumed-role/Responder/alice')).toBe('alice');
    expect(sourceIdentityFor('bob@example.com')).toBe('bob@example.com');
    expect(sourceIdentityFor('Carol Smith (IR)')).toBe('Carol_Smith__IR_');
  });
});

describe('session policy', () => {
  const coverage = (instances: string[]) => ({
    partition: 'aws',
    instances: new Map<string, Set<string> | '*'>([[REGION, new Set(instances)]]),
    volumes: new Map<string, Set<string> | '*'>([[REGION, '*']]),
    version: 1,
  });

  it('names the target instances, their region’s volumes and snapshots, and the account’s keys', () => {
    const arn = `arn:aws:ec2:${REGION}:222222222222:instance/i-0abc1234def567890`;
    const policy = sessionPolicyFor('222222222222', coverage([arn]));
    const resources = policy.Statement.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(resources).toEqual(
      expect.arrayContaining([arn, `arn:aws:ec2:${REGION}:222222222222:volume/*`, `arn:aws:ec2:${REGION}::snapshot/*`, `arn:aws:kms:${REGION}:222222222222:key/*`, '*']),
    );
    expect(resources).not.toContain(`arn:aws:ec2:${REGION}:222222222222:instance/*`);
    const describeOnly = policy.Statement.find((s) => s.Resource === '*')!;
    expect(describeOnly.Action.every((a) => a.startsWith('ec2:Describe'))).toBe(true);
    expect(JSON.stringify(policy).length).toBeLessThan(2048);
  });
});

describe('session policy size', () => {
  it('widens to every instance of a region, then to no inline policy, rather than exceed what STS accepts', () => {
    const regions = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-central-1', 'ap-south-1'];
    const manyNamed = {
      partition: 'aws',
      instances: new Map<string, Set<string> | '*'>(
        regions.slice(0, 2).map((r) => [r, new Set(Array.from({ length: 10 }, (_, i) => `arn:aws:ec2:${r}:222222222222:instance/i-0000000000000000${i}`))]),
      ),
      volumes: new Map<string, Set<string> | '*'>(regions.slice(0, 2).map((r) => [r, '*'])),
      version: 1,
    };
    const widened = fitSessionPolicy('222222222222', manyNamed)!;
    expect(JSON.stringify(widened).length).toBeLessThanOrEqual(2048);
    expect(JSON.stringify(widened)).toContain('arn:aws:ec2:us-east-2:222222222222:instance/*');

    const everywhere = {
      partition: 'aws',
      instances: new Map<string, Set<string> | '*'>(regions.map((r) => [r, '*'])),
      volumes: new Map<string, Set<string> | '*'>(regions.map((r) => [r, '*'])),
      version: 1,
    };
    expect(fitSessionPolicy('222222222222', everywhere)).toBeUndefined();
  });
});

describe('collector sessions in the lab', () => {
  it('one session per account, attributed to the analyst, narrowed to the validated targets, with no secret in the ledger', async () => {
    const aws = createAwsProvider(config, { credentials: async () => lab.orchestratorCredentials, wait: { initialDelayMs: 20, maxDelayMs: 50 } });
    const recorder = new MemoryRecorder('IR-sessions', 'arn:aws:sts::111111111111:assumed-role/Responder/alice');
    const targets = arnsOf('222222222222').map((a) => parseTarget(a));
    for (const t of targets) aws.validate(t);
    // One run: every target gets that run's context (its signal is what the session is kept by).
    const run = contextFor(recorder);
    const outcomes = await Promise.all(targets.map((t) => aws.collect(t, run)));
    await aws.close?.();
    expect(outcomes.map((o) => o.status)).toEqual(targets.map(() => 'collected'));
    const assumed = recorder.ofType('credentials.assumed');
    expect(assumed).toHaveLength(1);
    expect(assumed[0]!.data).toMatchObject({
      roleArn: 'arn:aws:iam::222222222222:role/CloudCustodyCollector',
      sessionName: 'custody-IR-sessions',
      // The lab echoes SourceIdentity as STS does; no STS answer lists session tags.
      sourceIdentity: 'alice',
      sourceIdentityRequested: 'alice',
      sessionTags: 'requested, not echoed',
      sessionTagsRequested: { CaseId: 'IR-sessions' },
      packedPolicySize: expect.any(Number),
      reason: 'first',
    });
    expect((assumed[0]!.data.sessionPolicy as { narrowedTo: string[] }).narrowedTo).toEqual(expect.arrayContaining(targets.map((t) => t.key)));
    const text = ledgerText(recorder.log);
    expect(text).not.toContain(lab.orchestratorCredentials.secretAccessKey);
    expect(text).not.toMatch(/secretAccessKey|sessionToken/i);
  });

  it('a provider kept between cases (a warm Lambda) gives each case its own session, and each set of registry services its own broker', async () => {
    const services = [REGISTRY.createServices(), REGISTRY.createServices()];
    const aws = createAwsProvider(config, { credentials: async () => lab.orchestratorCredentials, wait: { initialDelayMs: 20, maxDelayMs: 50 } }, services[0]);
    createAwsProvider(config, { credentials: async () => lab.orchestratorCredentials }, services[1]);
    expect(services[0]!.lookup(AWS_SESSIONS)).not.toBe(services[1]!.lookup(AWS_SESSIONS));
    const [first, second] = [new MemoryRecorder('IR-case-a', 'alice'), new MemoryRecorder('IR-case-b', 'bob')];
    const target = parseTarget(arnsOf('222222222222')[0]!);
    aws.validate(target);
    expect((await aws.collect(target, contextFor(first))).status).toBe('collected');
    const broker = services[0]!.lookup<AwsSessionBroker>(AWS_SESSIONS)!;
    await broker.credentialsFor('222222222222', 'us-east-1', second, new AbortController().signal);
    await aws.close?.();
    // Case B's ledger has its own AssumeRole, named and attributed for case B: nothing of case A's session.
    expect(first.ofType('credentials.assumed').map((e) => [e.data.sessionName, e.data.sourceIdentityRequested, e.data.reason])).toEqual([['custody-IR-case-a', 'alice', 'first']]);
    expect(second.ofType('credentials.assumed').map((e) => [e.data.sessionName, e.data.sourceIdentityRequested, e.data.reason])).toEqual([['custody-IR-case-b', 'bob', 'first']]);
  });

  it('re-assumes the role about two minutes before the session expires', async () => {
    let offset = 0;
    const clock = {
      now: () => Date.now() + offset,
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    };
    const aws = createAwsProvider(config, { credentials: async () => lab.orchestratorCredentials, clock, wait: { initialDelayMs: 20, maxDelayMs: 50 } });
    const recorder = new MemoryRecorder('IR-refresh');
    const [first, second] = arnsOf('333333333333').map((a) => parseTarget(a));
    aws.validate(first!);
    aws.validate(second!);
    // Both targets in one run (one context, one signal): the run's session is the one that ages.
    const run = contextFor(recorder);
    expect((await aws.collect(first!, run)).status).toBe('collected');
    // 900 s sessions: at 800 s the session has 100 s left, inside the two-minute margin.
    offset = 800_000;
    expect((await aws.collect(second!, run)).status).toBe('collected');
    await aws.close?.();
    expect(recorder.ofType('credentials.assumed').map((e) => e.data.reason)).toEqual(['first', 'expiring']);
  });

  it('passes the configured ExternalId, and a role that requires one refuses a session without it', async () => {
    const scenario = demoScenario({ snapshotDurationMs: 50 });
    const account = scenario.accounts.find((a) => a.id === '222222222222')!;
    account.roles = account.roles!.map((r) => ({ ...r, externalId: 'ext-4242' }));
    const guarded = await startLab(scenario);
    try {
      const base = parseConfig({
        aws: {
          forensicsAccount: guarded.forensicsAccount,
          region: REGION,
          allowedAccounts: ['222222222222'],
          transfer: 'in-place',
          endpoints: { sts: guarded.endpoint, ec2: guarded.endpoint, kms: guarded.endpoint },
        },
      });
      const web = [...guarded.state.region(REGION).instances.values()].find((i) => i.tags.Name === 'web-01')!;
      const target = parseTarget(`arn:aws:ec2:${REGION}:222222222222:instance/${web.id}`);
      const deps = { credentials: async () => guarded.orchestratorCredentials, wait: { initialDelayMs: 20, maxDelayMs: 50 } };

      const without = createAwsProvider(base, deps);
      const refused = await without.collect(target, contextFor(new MemoryRecorder('IR-ext-1')));
      await without.close?.();
      expect(refused).toMatchObject({ status: 'failed', error: { code: 'E_ACCESS_DENIED', action: 'sts:AssumeRole' } });

      const withId = createAwsProvider({ ...base, aws: { ...base.aws!, externalId: 'ext-4242' } }, deps);
      const recorder = new MemoryRecorder('IR-ext-2');
      const outcome = await withId.collect(target, contextFor(recorder));
      await withId.close?.();
      expect(outcome.status, outcome.reason).toBe('collected');
      expect(recorder.ofType('credentials.assumed')[0]!.data.externalIdUsed).toBe(true);
      expect(ledgerText(recorder.log)).not.toContain('ext-4242');
    } finally {
      await guarded.stop();
    }
  });

  it('a collector role that cannot be assumed fails the target with sts:AssumeRole and the role named', async () => {
    const aws = createAwsProvider(
      { ...config, aws: { ...config.aws!, collectorRole: 'NoSuchCollector' } },
      { credentials: async () => lab.orchestratorCredentials },
    );
    const recorder = new MemoryRecorder('IR-no-role');
    const outcome = await aws.collect(parseTarget(arnsOf('222222222222')[0]!), contextFor(recorder));
    await aws.close?.();
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'sts:AssumeRole' });
    expect(String(outcome.error?.resource)).toContain('NoSuchCollector');
    expect(recorder.ofType('step.failed')[0]!.data.step).toBe('assume-role');
  });
});
