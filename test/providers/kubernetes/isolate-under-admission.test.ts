// --isolate end to end under the three optional ValidatingAdmissionPolicies of policies/kubernetes/,
// installed in the lab and enforced by it (src/lab/kubernetes/admission.ts): the provider's own
// changes pass, and what a stolen credential of the collectors' group sends instead is refused
// with the Status the API server answers a denied admission with.
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { ISOLATION_LABEL, networkPolicyNameFor } from '../../../src/providers/kubernetes/isolate.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

const POD_POLICY = 'cloud-custody-pod-isolate-label-only';
const NETWORK_POLICY_POLICY = 'cloud-custody-networkpolicy-deny-all-only';
const NODE_POLICY = 'cloud-custody-node-cordon-only';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** A request sent straight to the lab with the collector's bearer token, as a stolen credential would send it. */
async function asCollector(method: 'PATCH' | 'POST', path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const { lab, scenario } = fixture!;
  const res = await fetch(lab.url + path, {
    method,
    headers: { Authorization: `Bearer ${scenario.collectorToken}`, 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The Status the API server answers when `policy` (bound by the binding of the same name) denies a request on `subject`. */
function deniedBy(policy: string, subject: { resource: string; group?: string; name: string }, message: string) {
  const decision = `ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: ${message}`;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${subject.resource}${subject.group ? `.${subject.group}` : ''} "${subject.name}" is forbidden: ${decision}`,
    reason: 'Forbidden',
    details: { name: subject.name, ...(subject.group ? { group: subject.group } : {}), kind: subject.resource, causes: [{ message: decision }] },
    code: 403,
  };
}

function networkPolicy(name: string, value: string, spec: Record<string, unknown> = {}) {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec: { podSelector: { matchLabels: { [ISOLATION_LABEL]: value } }, policyTypes: ['Ingress', 'Egress'], ...spec } };
}

describe('--isolate under the shipped admission policies, enforced by the lab', () => {
  it('labels, denies all traffic and cordons with every change admitted by its policy, and the case is collected', async () => {
    fixture = await startFixture();
    const { lab, scenario } = fixture;
    expect((scenario.cluster.admission ?? []).map((b) => [b.policy.metadata.name, b.binding.metadata.name])).toEqual([
      [NETWORK_POLICY_POLICY, NETWORK_POLICY_POLICY],
      [NODE_POLICY, NODE_POLICY],
      [POD_POLICY, POD_POLICY],
    ]);
    const kase = await openTestCase(fixture, 'IR-2026-042');
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(entriesOf(kase, 'change.applied').map((e) => e.data.change)).toEqual(['label-pod', 'deny-all-network-policy', 'cordon-node']);

    // Each change met exactly its own policy, which allowed it; nothing else was matched.
    const mutations = lab.audit.filter((a) => a.method !== 'GET' && ['pods', 'networkpolicies', 'nodes'].includes(a.resource) && !a.subresource);
    expect(mutations.map((a) => [a.method, a.resource, a.code, a.admission])).toEqual([
      ['PATCH', 'pods', 200, [{ policy: POD_POLICY, binding: POD_POLICY, verdict: 'allowed' }]],
      ['POST', 'networkpolicies', 201, [{ policy: NETWORK_POLICY_POLICY, binding: NETWORK_POLICY_POLICY, verdict: 'allowed' }]],
      ['PATCH', 'nodes', 200, [{ policy: NODE_POLICY, binding: NODE_POLICY, verdict: 'allowed' }]],
    ]);
    await kase.release();
  });

  it('refuses what a stolen collector credential sends instead, with the API server\'s Status, and stores nothing of it', async () => {
    fixture = await startFixture();
    const { lab, scenario } = fixture;
    const pod = { resource: 'pods', name: scenario.compromisedPod };
    const podBefore = structuredClone(lab.getObject('pods', 'shop', scenario.compromisedPod));

    expect(await asCollector('PATCH', `/api/v1/namespaces/shop/pods/${scenario.compromisedPod}`, { metadata: { annotations: { x: 'y' } } })).toEqual({
      status: 403,
      body: deniedBy(POD_POLICY, pod, "cloud-custody collectors may not change a pod's annotations"),
    });
    expect(await asCollector('PATCH', `/api/v1/namespaces/shop/pods/${scenario.compromisedPod}`, { spec: { containers: [{ name: 'app', image: 'registry.example.com/shop/web:evil' }] } })).toMatchObject({
      status: 403,
      body: { reason: 'Forbidden', message: expect.stringContaining(`ValidatingAdmissionPolicy '${POD_POLICY}' with binding '${POD_POLICY}' denied request: cloud-custody collectors may not change a pod's spec`) },
    });
    expect(lab.getObject('pods', 'shop', scenario.compromisedPod)).toEqual(podBefore);

    // An allowing NetworkPolicy would lift an isolation: refused before it is stored.
    const allowAll = networkPolicy(networkPolicyNameFor('IR-2026-042'), 'IR-2026-042', { ingress: [{}] });
    expect(await asCollector('POST', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', allowAll)).toEqual({
      status: 403,
      body: deniedBy(NETWORK_POLICY_POLICY, { resource: 'networkpolicies', group: 'networking.k8s.io', name: allowAll.metadata.name }, 'cloud-custody collectors may not create a NetworkPolicy with ingress rules (allow rules lift an isolation)'),
    });
    expect(lab.getObject('networkpolicies', 'shop', allowAll.metadata.name)).toBeUndefined();

    // The just-in-time cordon grant on the node: uncordoning or labelling it is refused.
    const nodeBefore = structuredClone(lab.getObject('nodes', undefined, scenario.compromisedNode));
    expect(await asCollector('PATCH', `/api/v1/nodes/${scenario.compromisedNode}`, { spec: { unschedulable: true }, metadata: { labels: { x: 'y' } } })).toEqual({
      status: 403,
      body: deniedBy(NODE_POLICY, { resource: 'nodes', name: scenario.compromisedNode }, "cloud-custody collectors may not change a node's labels"),
    });
    expect(lab.getObject('nodes', undefined, scenario.compromisedNode)).toEqual(nodeBefore);

    expect(lab.audit.filter((a) => a.admission).map((a) => [a.resource, a.code, a.admission?.map((d) => d.verdict)])).toEqual([
      ['pods', 403, ['denied']],
      ['pods', 403, ['denied']],
      ['networkpolicies', 403, ['denied']],
      ['nodes', 403, ['denied']],
    ]);
  });

  it('refuses a NetworkPolicy created ahead of a later case under that case\'s name, so the case\'s --isolate then succeeds', async () => {
    fixture = await startFixture();
    const { lab, scenario } = fixture;
    // Deny-all, but selecting another value: the later case would find its name taken by a policy that does not select its pod.
    const squatter = networkPolicy(networkPolicyNameFor('IR-2026-099'), 'decoy');
    const refused = await asCollector('POST', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', squatter);
    expect(refused).toMatchObject({ status: 403, body: { reason: 'Forbidden', code: 403 } });
    expect(refused.body.message).toContain(`denied request: cloud-custody collectors may create a NetworkPolicy only under the name its isolate label's value gives`);
    expect(lab.getObject('networkpolicies', 'shop', squatter.metadata.name)).toBeUndefined();

    const kase = await openTestCase(fixture, 'IR-2026-099');
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(entriesOf(kase, 'change.applied').find((e) => e.data.change === 'deny-all-network-policy')?.data.alreadyExisted).toBe(false);
    await kase.release();
  });

  it('without the policies installed the same squatter is stored, and the later case records a failed isolation (the lab as before)', async () => {
    fixture = await startFixture((cluster) => {
      delete cluster.admission;
    });
    const { lab, scenario } = fixture;
    const squatter = networkPolicy(networkPolicyNameFor('IR-2026-099'), 'decoy');
    expect((await asCollector('POST', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', squatter)).status).toBe(201);
    const kase = await openTestCase(fixture, 'IR-2026-099');
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status).toBe('partial');
    expect(entriesOf(kase, 'step.failed').map((e) => e.data.step)).toContain('isolate');
    expect(lab.audit.some((a) => a.admission)).toBe(false);
    await kase.release();
  });
});
