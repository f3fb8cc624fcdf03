import { REGISTRY } from '../../src/providers/registry.js';
/**
 * A whole case in the lab under exactly the shipped least privilege: every request the lab
 * receives is decided by the IAM simulator against policies/aws (collector policy and trust
 * policy, orchestrator policy, key policies, the collection-tag SCP, and the provider's own
 * session policy). What works here works with the policies a platform team deploys; what is
 * refused here is refused by them.
 */
import { EBSClient, GetSnapshotBlockCommand, ListSnapshotBlocksCommand } from '@aws-sdk/client-ebs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type CustodyConfig } from '../../src/providers/config.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../src/core/orchestrator.js';
import type { CollectOptions, ProgressEvent } from '../../src/core/ports.js';
import { parseSelector, parseTarget } from '../../src/providers/targets.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { demoScenario, startLab, type LabInstance, type RunningLab } from '../../src/lab/index.js';
import { createAwsProvider, type AwsProvider } from '../../src/providers/aws/index.js';
import { defaultWorld } from '../policies/iam-simulator.js';
import { createSimulatorAuthorizer, type SimulatorAuthorizer } from './simulator-authorizer.js';

const REGION = 'us-east-1';
const world = defaultWorld();
let lab: RunningLab;
let sim: SimulatorAuthorizer;
let dir: string;
let config: CustodyConfig;
const providers: AwsProvider[] = [];

function instanceNamed(name: string): LabInstance {
  const found = [...lab.state.region(REGION).instances.values()].find((i) => i.tags.Name === name);
  if (!found) throw new Error(`no ${name} in the lab`);
  return found;
}
const arnOf = (i: LabInstance) => `arn:aws:ec2:${REGION}:${i.ownerId}:instance/${i.id}`;

function provider(): AwsProvider {
  const p = createAwsProvider(config, { credentials: async () => lab.orchestratorCredentials, wait: { initialDelayMs: 50, maxDelayMs: 200 } });
  providers.push(p);
  return p;
}

async function runCase(caseId: string, targets: string[], selectors: string[] = [], extra: Partial<CollectOptions> = {}) {
  const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId, analyst: 'alice', toolVersion: 'test', resume: false });
  const progress: ProgressEvent[] = [];
  const result = await runCollection({
    parser: REGISTRY,
    config,
    providers: [provider()],
    recorder: kase,
    targets: targets.map((t) => parseTarget(t)),
    selectors: selectors.map((s) => parseSelector(s)),
    options: { ...DEFAULT_COLLECT_OPTIONS, preserve: true, screenshot: true, ...extra },
    progress: (e) => progress.push(e),
  });
  await kase.close({ outcomes: result.outcomes });
  return { kase, result };
}

beforeAll(async () => {
  sim = createSimulatorAuthorizer();
  lab = await startLab(demoScenario({ snapshotDurationMs: 150 }), { authorizer: sim.authorizer, throttling: false });
  sim.attach(lab.state, REGION);
  dir = await mkdtemp(join(tmpdir(), 'custody-lab-authz-'));
  config = parseConfig({
    aws: {
      forensicsAccount: lab.forensicsAccount,
      region: REGION,
      allowedAccounts: ['222222222222', '333333333333'],
      externalId: world.externalId,
      lock: { mode: 'compliance', durationDays: 30 },
      endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint, ebs: lab.endpoint },
    },
  });
});

afterAll(async () => {
  for (const p of providers.splice(0)) await p.close?.();
  await lab?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a case in the lab under the shipped least-privilege policies', () => {
  it('collects tagged hosts in two accounts end to end (preserve, screenshot, re-encrypt, share, copy, lock) and the case verifies', async () => {
    const before = sim.decisions.length;
    const { kase, result } = await runCase('IR-LEASTPRIV-1', [arnOf(instanceNamed('web-01')), arnOf(instanceNamed('db-01'))], ['tag:Incident=INC-42']);
    for (const outcome of result.outcomes) expect(outcome.status, `${outcome.target}: ${outcome.reason}`).toBe('collected');
    expect(result.outcomes.length).toBeGreaterThanOrEqual(3);

    const decided = sim.decisions.slice(before);
    const refused = decided.filter((d) => d.verdict.result !== 'Allowed').map((d) => d.verdict.reason);
    expect(refused).toEqual([]);
    // The simulator really did decide the mutations, on both sides.
    const actions = new Set(decided.map((d) => `${d.request.principal.roleName}:${d.request.action}`));
    for (const expected of [
      'CloudCustodyOrchestrator:sts:AssumeRole',
      'CloudCustodyCollector:ec2:CreateSnapshots',
      'CloudCustodyCollector:ec2:ModifyInstanceAttribute',
      'CloudCustodyCollector:ec2:DescribeInstanceAttribute',
      'CloudCustodyCollector:ec2:CopySnapshot',
      'CloudCustodyCollector:ec2:ModifySnapshotAttribute',
      'CloudCustodyCollector:ec2:DescribeSnapshotAttribute',
      'CloudCustodyOrchestrator:ec2:CopySnapshot',
      'CloudCustodyOrchestrator:ec2:LockSnapshot',
    ]) {
      expect(actions, expected).toContain(expected);
    }
    const copies = [...lab.state.region(REGION).snapshots.values()].filter((s) => s.ownerId === '111111111111' && s.tags.CaseId === kase.caseId);
    expect(copies.length).toBeGreaterThanOrEqual(3);
    expect(copies.every((c) => c.lock?.mode === 'compliance')).toBe(true);

    const verified = await verifyCase(join(dir, 'cases', kase.caseId));
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('an untagged instance is refused by the shipped policy: the outcome names the action and the resource, and nothing is snapshotted', async () => {
    const batch = instanceNamed('batch-01');
    const { kase, result } = await runCase('IR-LEASTPRIV-2', [arnOf(batch)]);
    const [outcome] = result.outcomes;
    expect(outcome?.status).toBe('failed');
    expect(outcome?.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' });
    expect(String(outcome?.error?.resource)).toContain(batch.id);
    const failure = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'snapshot');
    expect(failure?.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' });
    const refusal = sim.decisions.find((d) => d.request.action === 'ec2:CreateSnapshots' && d.request.resources[0]?.endsWith(batch.id));
    expect(refusal?.verdict.result).toBe('ImplicitlyDenied');
    expect([...lab.state.region(REGION).snapshots.values()].filter((s) => s.tags.CaseId === kase.caseId)).toEqual([]);
  });

  it('hashes the forensics copy and its source through the EBS direct APIs under the shipped policies (collector and orchestrator, kms:Decrypt via EBS)', async () => {
    const before = sim.decisions.length;
    const { kase, result } = await runCase('IR-LEASTPRIV-3', [arnOf(instanceNamed('api-01'))], [], { hash: true, hashSource: true });
    expect(result.outcomes[0]?.status, result.outcomes[0]?.reason).toBe('collected');
    const decided = sim.decisions.slice(before);
    expect(decided.filter((d) => d.verdict.result !== 'Allowed').map((d) => d.verdict.reason)).toEqual([]);
    const actions = new Set(decided.map((d) => `${d.request.principal.roleName}:${d.request.action}`));
    for (const expected of [
      'CloudCustodyCollector:ebs:ListSnapshotBlocks',
      'CloudCustodyCollector:ebs:GetSnapshotBlock',
      'CloudCustodyOrchestrator:ebs:ListSnapshotBlocks',
      'CloudCustodyOrchestrator:ebs:GetSnapshotBlock',
      'CloudCustodyOrchestrator:kms:Decrypt',
    ]) {
      expect(actions, expected).toContain(expected);
    }
    const compared = kase.entries().find((e) => e.type === 'disk.hashes.compared');
    expect(compared?.data.match).toBe(true);
    expect((await verifyCase(join(dir, 'cases', kase.caseId))).ok).toBe(true);
  });

  it('the orchestrator may not read the blocks of a snapshot that is not evidence: the shipped policy refuses it', async () => {
    const own = [...lab.state.region(REGION).snapshots.values()].find((s) => s.ownerId === '111111111111' && s.tags.CaseId !== undefined);
    expect(own).toBeDefined();
    const untagged = { ...own!, id: 'snap-0abcdef0123456789', tags: {} };
    lab.state.region(REGION).snapshots.set(untagged.id, untagged);
    const ebs = new EBSClient({ region: REGION, endpoint: lab.endpoint, credentials: lab.orchestratorCredentials, maxAttempts: 1 });
    try {
      await expect(ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: untagged.id }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
      await expect(ebs.send(new GetSnapshotBlockCommand({ SnapshotId: untagged.id, BlockIndex: 0, BlockToken: 'x' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      ebs.destroy();
      lab.state.region(REGION).snapshots.delete(untagged.id);
    }
  });
});
