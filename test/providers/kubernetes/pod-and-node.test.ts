import { REGISTRY } from '../../../src/providers/registry.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/providers/config.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import { parseTarget, type Target } from '../../../src/providers/targets.js';
import { openCase } from '../../../src/custody/open-case.js';
import { verifyCase } from '../../../src/custody/verify.js';
import { demoScenario, startLab } from '../../../src/lab/index.js';
import type { LabInstance } from '../../../src/lab/index.js';
import { startKubernetesDemoLab } from '../../../src/lab/kubernetes/index.js';
import type { KubernetesDemoLab } from '../../../src/lab/kubernetes/index.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';

let aws: Awaited<ReturnType<typeof startLab>>;
let k8s: KubernetesDemoLab;
let dir: string;
let worker: LabInstance;

beforeAll(async () => {
  aws = await startLab(demoScenario({ snapshotDurationMs: 200 }));
  const instances = aws.state.regionNames().flatMap((r) => [...aws.state.region(r).instances.values()]);
  worker = instances.find((i) => i.tags.Name === 'worker-07')!;
  k8s = await startKubernetesDemoLab({
    nodeInstances: [worker],
    eks: { clusterName: 'demo-eks', account: worker.ownerId, region: worker.region },
    secretFor: (id) => aws.state.credentials.get(id)?.secretAccessKey,
    // EKS and STS keep AWS's time: skewed with the AWS lab's clock in the test that sets one.
    awsTime: () => aws.control.awsTime() ?? Date.now(),
  });
  dir = await mkdtemp(join(tmpdir(), 'k8s-pod-and-node-'));
});

afterAll(async () => {
  await k8s.close();
  await aws.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The config of both labs: AWS and the EKS cluster. */
function labConfig() {
  return parseConfig({
    casesDir: join(dir, 'cases'),
    keysDir: join(dir, 'keys'),
    aws: {
      forensicsAccount: aws.forensicsAccount,
      region: aws.region,
      allowedAccounts: ['222222222222', '333333333333'],
      endpoints: { sts: aws.endpoint, ec2: aws.endpoint, kms: aws.endpoint },
      snapshotTimeoutSeconds: 60,
    },
    kubernetes: { clusters: { [k8s.configName]: k8s.clusterConfig } },
  });
}

/** The AWS and Kubernetes providers at the labs, on one set of registry services, as one case gets. */
function labProviders(config: ReturnType<typeof labConfig>) {
  const credentials = async () => aws.orchestratorCredentials;
  // The pod's node is mapped through the registry; the EKS token is signed by the AWS broker.
  const services = REGISTRY.createServices();
  return [createAwsProvider(config, { credentials, wait: { initialDelayMs: 50, maxDelayMs: 200 } }, services), createKubernetesProvider(config, {}, services)];
}

/** Collects `targets` with the AWS and Kubernetes providers, both at the labs, into a new case, closed after. */
async function collectIntoCase(caseId: string, targets: Target[], options = DEFAULT_COLLECT_OPTIONS) {
  const config = labConfig();
  const providers = labProviders(config);
  const kase = await openCase({ casesDir: config.casesDir, keysDir: join(dir, 'keys'), caseId, analyst: 'alice', toolVersion: 'test' });
  const result = await runCollection({ config, parser: REGISTRY, providers, recorder: kase, targets, options });
  await kase.close({ outcomes: result.outcomes });
  return { kase, result };
}

describe('a compromised pod on an EKS node', () => {
  it("lands its container evidence and its node's snapshots in one case that verifies", async () => {
    const { kase, result } = await collectIntoCase('IR-POD-NODE', [parseTarget(k8s.podTarget)]);

    const nodeArn = `arn:aws:ec2:${worker.region}:${worker.ownerId}:instance/${worker.id}`;
    expect(result.outcomes.map((o) => [o.target, o.status])).toEqual([
      [k8s.podTarget, 'collected'],
      [nodeArn, 'collected'],
    ]);
    // The EKS token was signed with the collector role's session and checked for real.
    expect(k8s.lab.eksLogins.length).toBeGreaterThan(0);
    const types = kase.entries().map((e) => e.type);
    expect(types).toContain('target.discovered');
    expect(kase.entries().filter((e) => e.type === 'artifact.recorded' && e.target === nodeArn).length).toBeGreaterThan(0);
    const verified = await verifyCase(kase.caseDir);
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
  }, 60_000);

  it('signs the EKS token with the case\'s one session in the node account, never wider than the narrowed policy', async () => {
    const { kase } = await collectIntoCase('IR-POD-BROKER', [parseTarget(k8s.podTarget)]);
    const assumed = kase.entries().filter((e) => e.type === 'credentials.assumed' && e.data.account === worker.ownerId);
    // One AssumeRole for the pod's token and the node's snapshot: a later one only widens to the node.
    expect(assumed.filter((e) => e.data.reason === 'first')).toHaveLength(1);
    expect(assumed.map((e) => e.data.reason).filter((r) => r !== 'first' && r !== 'wider-scope')).toEqual([]);
    // No session covered every instance of the region (the old EKS session did: instance/*).
    const narrowed = assumed.flatMap((e) => ((e.data.sessionPolicy as { narrowedTo?: string[] } | null)?.narrowedTo ?? []));
    expect(narrowed.filter((arn) => arn.endsWith(':instance/*'))).toEqual([]);
  }, 60_000);
});

describe('one AWS and one Kubernetes provider object used for two runs of one case', () => {
  it("the second run signs its EKS token with a session it assumed and recorded itself, not the first run's", async () => {
    const config = labConfig();
    const providers = labProviders(config);
    const nodeArn = `arn:aws:ec2:${worker.region}:${worker.ownerId}:instance/${worker.id}`;
    const open = (resume: boolean) => openCase({ casesDir: config.casesDir, keysDir: join(dir, 'keys'), caseId: 'IR-POD-TWO-RUNS', analyst: 'alice', toolVersion: 'test', resume });
    const collect = (kase: Awaited<ReturnType<typeof open>>, target: string) =>
      runCollection({ config, parser: REGISTRY, providers, recorder: kase, targets: [parseTarget(target)], options: DEFAULT_COLLECT_OPTIONS });
    try {
      // Run 1 assumes the collector role in the node's account for the node itself.
      const first = await open(false);
      const one = await collect(first, nodeArn);
      expect(one.outcomes.map((o) => [o.target, o.status])).toEqual([[nodeArn, 'collected']]);
      await first.release();

      // Run 2 names the pod: its EKS token needs a session in that account, this run's own.
      const again = await open(true);
      const from = again.entries().length;
      const logins = k8s.lab.eksLogins.length;
      const two = await collect(again, k8s.podTarget);
      expect(two.outcomes.find((o) => o.target === k8s.podTarget)?.status).toBe('collected');
      expect(k8s.lab.eksLogins.length).toBeGreaterThan(logins);
      const assumed = again.entries().slice(from).filter((e) => e.type === 'credentials.assumed' && e.data.account === worker.ownerId);
      expect(assumed.map((e) => e.data.reason)[0]).toBe('first');
      await again.close({ outcomes: two.outcomes });
      expect((await verifyCase(again.caseDir)).ok).toBe(true);
    } finally {
      for (const provider of providers) await provider.close?.();
    }
  }, 60_000);
});

describe('a pod named beside one of its own containers', () => {
  it('is collected once, as the pod (every container), the container target recorded as covered; the case verifies', async () => {
    const { kase, result } = await collectIntoCase('IR-POD-TWICE', [parseTarget(`${k8s.podTarget}/app`), parseTarget(k8s.podTarget)]);
    const nodeArn = `arn:aws:ec2:${worker.region}:${worker.ownerId}:instance/${worker.id}`;
    expect(result.outcomes.map((o) => [o.target, o.status])).toEqual([
      [k8s.podTarget, 'collected'],
      [nodeArn, 'collected'],
    ]);
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'target.covered').map((e) => [e.target, e.data.coveredBy])).toEqual([[`${k8s.podTarget}/app`, k8s.podTarget]]);
    // One run of the pod: its description stored once, one cluster connection, no entry for the container target beyond the fold.
    expect(entries.filter((e) => e.type === 'evidence.stored' && e.data.name === 'pod.json')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'cluster.connected').map((e) => e.target)).toEqual([k8s.podTarget]);
    expect(entries.filter((e) => e.target === `${k8s.podTarget}/app`).map((e) => e.type)).toEqual(['target.covered']);
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  }, 60_000);
});

describe('two containers of one pod named without the pod', () => {
  it('are collected in one run of the pod: described, isolated and followed to its node once, each named container exec\'d and logged; the second recorded as covered by the first; the case verifies', async () => {
    const [app, shipper] = [`${k8s.podTarget}/app`, `${k8s.podTarget}/log-shipper`];
    const { kase, result } = await collectIntoCase('IR-POD-TWO-CONTAINERS', [parseTarget(app), parseTarget(shipper)], { ...DEFAULT_COLLECT_OPTIONS, isolate: true });
    const nodeArn = `arn:aws:ec2:${worker.region}:${worker.ownerId}:instance/${worker.id}`;
    expect(result.outcomes.map((o) => [o.target, o.status, o.reason])).toEqual([
      [app, 'collected', undefined],
      [nodeArn, 'collected', undefined],
    ]);
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'target.covered').map((e) => [e.target, e.data.coveredBy])).toEqual([[shipper, app]]);
    expect(entries.filter((e) => e.target === shipper).map((e) => e.type)).toEqual(['target.covered']);
    expect(entries.filter((e) => e.type === 'evidence.stored' && e.data.name === 'pod.json')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'cluster.connected').map((e) => e.target)).toEqual([app]);
    // Each containment change once, after the volatile commands of both containers.
    const changes = entries.filter((e) => e.type === 'change.applied').map((e) => e.data.change);
    expect(changes).toEqual([...new Set(changes)]);
    expect(changes).toContain('label-pod');
    const firstChange = entries.findIndex((e) => e.type === 'change.requested');
    const execs = entries.filter((e) => e.type === 'exec.requested' || e.type === 'exec.skipped');
    expect([...new Set(execs.map((e) => e.data.container))]).toEqual(['app', 'log-shipper']);
    expect(execs.every((e) => e.seq < firstChange)).toBe(true);
    // Logs of the named containers only (not the init container).
    const logs = entries.filter((e) => e.type === 'evidence.stored' && String(e.data.name).startsWith('log-')).map((e) => e.data.name);
    expect(logs.every((n) => /^log-(app|log-shipper)/.test(String(n)))).toBe(true);
    expect(logs).toEqual(expect.arrayContaining(['log-app.log', 'log-log-shipper.log']));
    expect(entries.filter((e) => e.type === 'node.mapped')).toHaveLength(1);
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  }, 60_000);
});

describe('a collector whose clock is 20 minutes behind AWS\'s', () => {
  it('dates the EKS token on AWS\'s time, learnt from STS, so the cluster accepts it and the pod and its node are collected', async () => {
    aws.control.setClockSkew(20 * 60_000);
    aws.control.resetCalls();
    try {
      const { kase, result } = await collectIntoCase('IR-POD-SKEW', [parseTarget(k8s.podTarget)]);
      expect(result.outcomes.map((o) => o.status)).toEqual(['collected', 'collected']);
      // STS refused the first AssumeRole for its date, and the token minted after it was dated on AWS's time.
      expect(aws.control.skewRefusals().sts).toBeGreaterThan(0);
      const login = k8s.lab.eksLogins.at(-1)!;
      expect(Math.abs(login.signedAt.getTime() - (Date.now() + 20 * 60_000))).toBeLessThan(5 * 60_000);
      expect((await verifyCase(kase.caseDir)).ok).toBe(true);
    } finally {
      aws.control.setClockSkew(undefined);
    }
  }, 60_000);
});

describe('the demo with the compromised pod added', () => {
  it('collects the AWS demo targets and the pod with its node in one case that verifies', async () => {
    const instances = aws.state.regionNames().flatMap((r) => [...aws.state.region(r).instances.values()]);
    const arn = (name: string) => {
      const i = instances.find((x) => x.tags.Name === name)!;
      return `arn:aws:ec2:${i.region}:${i.ownerId}:instance/${i.id}`;
    };
    const rootVolume = worker.blockDevices.find((d) => d.deviceName === worker.rootDeviceName)!.volumeId;
    const targets = [arn('web-01'), arn('db-01'), arn('api-01'), `arn:aws:ec2:${worker.region}:${worker.ownerId}:volume/${rootVolume}`, arn('batch-01'), k8s.podTarget].map(parseTarget);
    const { kase, result } = await collectIntoCase('DEMO-WITH-POD', targets);
    const status = Object.fromEntries(result.outcomes.map((o) => [o.target, o.status]));
    expect(status[k8s.podTarget]).toBe('collected');
    expect(status[arn('worker-07')]).toBe('collected');
    expect(status[arn('batch-01')]).toBe('failed');
    expect(Object.values(status).filter((s) => s === 'collected')).toHaveLength(6);
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
    // The AWS targets and the pod's EKS token share the case's sessions: each account assumed once first.
    const firsts = kase.entries().filter((e) => e.type === 'credentials.assumed' && e.data.reason === 'first').map((e) => e.data.account);
    expect(firsts.sort()).toEqual([...new Set(firsts)].sort());
  }, 90_000);
});
