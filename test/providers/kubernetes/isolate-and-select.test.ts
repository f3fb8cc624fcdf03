import { REGISTRY } from '../../../src/providers/registry.js';
import { isPodTarget } from '../../../src/providers/targets.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/providers/config.js';
import { parseSelector, parseTarget } from '../../../src/providers/targets.js';
import { createKubernetesProvider, planPod } from '../../../src/providers/kubernetes/index.js';
import { connectCluster } from '../../../src/providers/kubernetes/cluster-access.js';
import { ISOLATION_LABEL, labelValueFor, networkPolicyNameFor } from '../../../src/providers/kubernetes/isolate.js';
import type { LabClusterSpec } from '../../../src/lab/kubernetes/objects.js';
import type { K8sFixture } from './helpers.js';
import { NO_OPTIONS, contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('--isolate', () => {
  it('labels the pod, denies all its traffic and cordons its node, recording each change before and after, and deletes nothing', async () => {
    fixture = await startFixture();
    const { scenario, lab } = fixture;
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture, 'IR-2026-042');
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status).toBe('collected');

    const changes = kase.entries().filter((e) => e.type.startsWith('change.')).map((e) => `${e.type}:${e.data.change}`);
    expect(changes).toEqual([
      'change.requested:label-pod', 'change.applied:label-pod',
      'change.requested:deny-all-network-policy', 'change.applied:deny-all-network-policy',
      'change.requested:cordon-node', 'change.applied:cordon-node',
    ]);
    const pod = lab.getObject('pods', 'shop', scenario.compromisedPod) as { metadata: { labels: Record<string, string> } };
    expect(pod.metadata.labels['cloud-custody.io/isolated']).toBe('IR-2026-042');
    // The label recorded as applied is the one the API server answered with.
    expect(kase.entries().find((e) => e.type === 'change.applied' && e.data.change === 'label-pod')?.data.labels).toEqual({ 'cloud-custody.io/isolated': 'IR-2026-042' });
    const policy = lab.getObject('networkpolicies', 'shop', 'cloud-custody-isolate-ir-2026-042') as { spec: Record<string, unknown> };
    expect(policy.spec).toEqual({ podSelector: { matchLabels: { 'cloud-custody.io/isolated': 'IR-2026-042' } }, policyTypes: ['Ingress', 'Egress'] });
    const node = lab.getObject('nodes', undefined, scenario.compromisedNode) as { spec: { unschedulable?: boolean } };
    expect(node.spec.unschedulable).toBe(true);
    // Containment happens after the quick volatile triage and before the logs.
    const types = kase.entries().map((e) => `${e.type}:${String(e.data.name ?? e.data.change ?? '')}`);
    expect(types.indexOf('change.requested:label-pod')).toBeGreaterThan(types.lastIndexOf('exec.completed:'));
    expect(types.indexOf('change.requested:label-pod')).toBeLessThan(types.indexOf('evidence.stored:log-app.log'));
    expect(lab.audit.filter((a) => a.verb === 'delete' || a.method === 'DELETE')).toEqual([]);
    expect(lab.getObject('pods', 'shop', scenario.compromisedPod)).toBeDefined();
    await kase.release();
  });

  it('a cordon refused after its change.requested is on record: the ledger says it was asked and refused, never that it was applied', async () => {
    fixture = await startFixture((cluster, s) => {
      const subject = cluster.subjects[s.collectorToken]!;
      subject.rules = subject.rules.map((r) => (r.resources.includes('nodes') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r));
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture, 'IR-2026-043');
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status).toBe('partial');

    const types = kase.entries().map((e) => `${e.type}:${String(e.data.change ?? e.data.step ?? '')}`);
    const asked = types.indexOf('change.requested:cordon-node');
    expect(asked).toBeGreaterThan(types.indexOf('change.applied:deny-all-network-policy'));
    expect(types[asked + 1]).toBe('step.failed:isolate');
    expect(types).not.toContain('change.applied:cordon-node');
    expect(kase.entries()[asked + 1]!.data.error).toMatchObject({ code: 'E_ACCESS_DENIED' });
    const node = fixture.lab.getObject('nodes', undefined, fixture.scenario.compromisedNode) as { spec: { unschedulable?: boolean } };
    expect(node.spec.unschedulable).not.toBe(true);
    await kase.release();
  });

  it('a second pod of the same case reuses the deny-all policy it already created', async () => {
    fixture = await startFixture();
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    for (const pod of ['web-7d9f8b6c5d-x2x7k', 'web-7d9f8b6c5d-q8m4z']) {
      await provider.collect(parseTarget(`k8s:lab/shop/${pod}`), contextFor(kase, { isolate: true }));
    }
    const applied = entriesOf(kase, 'change.applied').filter((e) => e.data.change === 'deny-all-network-policy');
    expect(applied.map((e) => e.data.alreadyExisted)).toEqual([false, true]);
    await kase.release();
  });

  it('a policy of that name that no longer denies all traffic is not recorded as the deny-all applied', async () => {
    fixture = await startFixture();
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    await provider.collect(parseTarget('k8s:lab/shop/web-7d9f8b6c5d-x2x7k'), contextFor(kase, { isolate: true }));
    // Someone edits the case's policy to let everything in and out.
    const policy = fixture.lab.getObject('networkpolicies', 'shop', 'cloud-custody-isolate-ir-k8s-1') as { spec: Record<string, unknown> };
    policy.spec = { ...policy.spec, ingress: [{}], egress: [{}] };
    const outcome = await provider.collect(parseTarget('k8s:lab/shop/web-7d9f8b6c5d-q8m4z'), contextFor(kase, { isolate: true }));
    expect(outcome.status).toBe('partial');
    const applied = entriesOf(kase, 'change.applied').filter((e) => e.data.change === 'deny-all-network-policy');
    expect(applied).toHaveLength(1);
    const failed = entriesOf(kase, 'step.failed').filter((e) => e.data.step === 'isolate');
    expect(String((failed[0]!.data.error as { message: string }).message)).toContain('does not deny all traffic');
    await kase.release();
  });

  it('a policy of that name made by another case, whose id differs only in letter case and `_`, is named in the refusal', async () => {
    fixture = await startFixture();
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const first = await openTestCase(fixture, 'IR-K8S-1');
    expect((await provider.collect(parseTarget('k8s:lab/shop/web-7d9f8b6c5d-x2x7k'), contextFor(first, { isolate: true }))).status).toBe('collected');
    await first.release();
    const second = await openTestCase(fixture, 'ir_k8s_1');
    const outcome = await provider.collect(parseTarget('k8s:lab/shop/web-7d9f8b6c5d-q8m4z'), contextFor(second, { isolate: true }));
    expect(outcome.status).toBe('partial');
    expect(entriesOf(second, 'change.applied').filter((e) => e.data.change === 'deny-all-network-policy')).toHaveLength(0);
    const failed = entriesOf(second, 'step.failed').filter((e) => e.data.step === 'isolate');
    const message = String((failed[0]!.data.error as { message: string }).message);
    expect(message).toContain('does not deny all traffic to the pods labelled cloud-custody.io/isolated=ir_k8s_1');
    expect(message).toContain('The policy belongs to case IR-K8S-1, whose id gives the same policy name as ir_k8s_1');
    // The first case's policy is untouched: it still selects that case's pods only.
    const policy = fixture.lab.getObject('networkpolicies', 'shop', 'cloud-custody-isolate-ir-k8s-1') as { spec: { podSelector: { matchLabels: Record<string, string> } } };
    expect(policy.spec.podSelector.matchLabels).toEqual({ 'cloud-custody.io/isolated': 'IR-K8S-1' });
    await second.release();
  });

  it('without --isolate the plan changes nothing but the checkpoint (which freezes the container briefly and writes on the node)', () => {
    const target = parseTarget('k8s:lab/shop/web-1');
    if (!isPodTarget(target)) throw new Error('unexpected');
    expect(planPod(target, NO_OPTIONS).flatMap((s) => s.calls).filter((c) => c.mutates).map((c) => c.api)).toEqual(['k8s:create nodes/proxy']);
    expect(planPod(target, { ...NO_OPTIONS, isolate: true }).flatMap((s) => s.calls).filter((c) => c.mutates).map((c) => c.api)).toEqual([
      'k8s:patch pods', 'k8s:create networking.k8s.io/networkpolicies', 'k8s:patch nodes', 'k8s:create nodes/proxy',
    ]);
  });
});

describe('selectors and container targets', () => {
  it('a label selector expands to the matching pods and is recorded', async () => {
    fixture = await startFixture();
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const targets = await provider.resolveSelector(parseSelector('k8s:lab/shop?labels=app=web'), contextFor(kase));
    expect(targets.map((t) => (isPodTarget(t) ? t.pod : ''))).toEqual(['web-7d9f8b6c5d-q8m4z', 'web-7d9f8b6c5d-x2x7k']);
    expect(entriesOf(kase, 'selector.searched')[0]!.data).toMatchObject({ labelSelector: 'app=web', found: ['web-7d9f8b6c5d-q8m4z', 'web-7d9f8b6c5d-x2x7k'] });
    // The list's Audit-Id: the request the cluster's audit log files it under.
    const list = fixture.lab.audit.filter((a) => a.verb === 'list' && a.resource === 'pods');
    expect(entriesOf(kase, 'selector.searched')[0]!.data.requestIds).toEqual([list[0]!.auditId]);
    expect(await provider.resolveSelector(parseSelector('k8s:lab/shop?labels=app=nothing'), contextFor(kase))).toEqual([]);
    await kase.release();
  });

  it('a container target takes the pod facts but only that container\'s exec, logs and checkpoint', async () => {
    fixture = await startFixture();
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/log-shipper`), contextFor(kase));
    expect(outcome.status).toBe('collected');
    expect(outcome.target).toBe(`k8s:lab/shop/${fixture.scenario.compromisedPod}/log-shipper`);
    const names = entriesOf(kase, 'evidence.stored').map((e) => String(e.data.name));
    expect(names).toContain('pod.json');
    expect(names.filter((n) => n.startsWith('log-'))).toEqual(['log-log-shipper.log']);
    expect(new Set(fixture.lab.execs.map((x) => x.container))).toEqual(new Set(['log-shipper']));
    await kase.release();
  });

  it('a target on a cluster the config does not name is refused before any call', () => {
    const provider = createKubernetesProvider(
      { ...fixtureConfigWithout(), kubernetes: { clusters: { prod: { kubeconfig: '/nonexistent' } } } },
    )!;
    expect(() => provider.validate(parseTarget('k8s:staging/shop/web-1'))).toThrow(/cluster "staging" is not in kubernetes.clusters \(configured: prod\)/);
  });
});

function fixtureConfigWithout() {
  return { casesDir: 'cases', concurrency: { perScope: 10, total: 64 } } as const;
}

describe('plans', () => {
  it('an EKS cluster plans the collector role assumption that signs its token, before the pod steps', () => {
    const provider = createKubernetesProvider(
      parseConfig({
        aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] },
        kubernetes: { clusters: { prod: { eks: { name: 'prod-eks', account: '222222222222', region: 'us-east-1' }, server: 'https://eks.example' } } },
      }),
    )!;
    const steps = provider.plan(parseTarget('k8s:prod/shop/web-1'), NO_OPTIONS);
    expect(steps[0]).toMatchObject({ step: 'cluster-access', calls: [{ api: 'sts:AssumeRole', permissions: [{ action: 'sts:AssumeRole', resource: 'arn:aws:iam::222222222222:role/CloudCustodyCollector' }] }] });
    expect(steps.map((s) => s.step)).toEqual(['cluster-access', 'describe', 'events', 'volatile', 'logs', 'checkpoint', 'node-follow-up']);
  });
});

describe('--isolate resumed on a case isolated under the older policy name', () => {
  it('a 64-character case id: the policy the earlier run confirmed (named from all 64 characters) is read, not a second one created under the name from the 63-character label value', async () => {
    let cluster: LabClusterSpec | undefined;
    fixture = await startFixture((c) => {
      cluster = c;
    });
    const { scenario, lab } = fixture;
    const caseId = `IR-${'7'.repeat(60)}x`; // 64 characters: the label value holds the first 63
    expect(caseId).toHaveLength(64);
    const kase = await openTestCase(fixture, caseId);
    // What the earlier run (before the name was derived from the label value) created and recorded,
    // before the cluster's admin installed the admission policies (which refuse that name's create).
    const admission = cluster!.admission;
    expect(admission?.length).toBeGreaterThan(0);
    cluster!.admission = undefined;
    const oldName = `cloud-custody-isolate-${caseId.toLowerCase()}`;
    const access = connectCluster(fixture.config, 'lab', kase, {});
    const value = labelValueFor(caseId);
    const made = await access.networking.createNamespacedNetworkPolicy({ namespace: 'shop', body: { metadata: { name: oldName }, spec: { podSelector: { matchLabels: { [ISOLATION_LABEL]: value } }, policyTypes: ['Ingress', 'Egress'] } } });
    const oldResource = `k8s:lab/shop/networkpolicy/${oldName}`;
    const target = `k8s:lab/shop/${scenario.compromisedPod}`;
    await kase.record('change.requested', { change: 'deny-all-network-policy', resource: oldResource, spec: { podSelector: { matchLabels: { [ISOLATION_LABEL]: value } }, policyTypes: ['Ingress', 'Egress'] } }, target);
    await kase.record('change.applied', { change: 'deny-all-network-policy', resource: oldResource, uid: made.metadata?.uid ?? null, alreadyExisted: false, requestId: null }, target);
    expect(networkPolicyNameFor(caseId)).not.toBe(oldName);
    cluster!.admission = admission;

    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const outcome = await provider.collect(parseTarget(target), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    // One deny-all policy for the case, the one it already had.
    expect(lab.getObject('networkpolicies', 'shop', networkPolicyNameFor(caseId))).toBeUndefined();
    expect(lab.audit.filter((a) => a.resource === 'networkpolicies' && a.verb === 'create')).toHaveLength(1);
    const applied = kase.entries().filter((e) => e.type === 'change.applied' && e.data.change === 'deny-all-network-policy');
    expect(applied.map((e) => [e.data.resource, e.data.alreadyExisted, e.data.uid])).toEqual([
      [oldResource, false, made.metadata?.uid],
      [oldResource, true, made.metadata?.uid],
    ]);
    await kase.release();
  });
});
