// The optional ValidatingAdmissionPolicy that narrows the just-in-time `patch nodes` grant to the
// cordon. Its CEL is evaluated here (./admission.ts, which says where that engine differs from
// the API server's) on the lab's node before and after the provider's own --isolate cordon, and
// on what a collector credential could send instead while the cordon role is bound.
import { V1NodeSpec } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../../../src/providers/registry.js';
import { COLLECTORS_GROUP, JUST_IN_TIME_ROLES, mergePatch } from '../../../src/lab/kubernetes/index.js';
import { K8S_OPERATIONS } from '../../../src/providers/kubernetes/operations.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { parseTarget } from '../../../src/providers/targets.js';
import type { AdmissionRequest } from './admission.js';
import { admit, admitChange as admitShippedChange, itAnswersItsDryRunCheckAsItsCommentSays, itIsAGaPolicyThatDeniesAndFailsClosed, loadAdmissionPolicy, updateBy } from './admission.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

const shipped = loadAdmissionPolicy('node-cordon-admission-policy.yaml');
const { policy } = shipped;
const [CORDON_ONLY, TAINTS, OTHER_SPEC, LABELS, ANNOTATIONS, FINALIZERS, OWNERS] = policy.spec.validations.map((v) => v.message);

interface Node {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; ownerReferences?: unknown[] };
  spec: { providerID?: string; unschedulable?: boolean; taints?: Array<{ key: string; effect: string; value?: string }>; podCIDR?: string; podCIDRs?: string[] };
}

/** The merge patch isolatePod sends to cordon (isolate.ts), as the ledger's change.requested records it. */
const CORDON_PATCH = { spec: { unschedulable: true } };

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function patchBy(node: Node, groups: string[] = [COLLECTORS_GROUP], username = 'cloud-custody-collector'): AdmissionRequest {
  return updateBy('nodes', node, groups, username);
}

function admitChange(before: Node, change: (node: Node) => unknown, request = patchBy(before)) {
  return admitShippedChange(policy, before, change, request);
}

/** The node of the demo's compromised pod as the lab serves it: an EKS node, labelled, schedulable, no taints. */
async function labNode(): Promise<Node> {
  fixture ??= await startFixture();
  return structuredClone(fixture.lab.getObject('nodes', undefined, fixture.scenario.compromisedNode)) as unknown as Node;
}

/** A kubeadm-style node with pod CIDRs, a taint and an annotation, as a self-managed cluster has them. */
async function taintedNode(): Promise<Node> {
  return mergePatch(await labNode(), {
    metadata: { annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'dedicated', value: 'payments', effect: 'NoSchedule' }] },
  }) as Node;
}

describe('the optional node-cordon admission policy (policies/kubernetes/node-cordon-admission-policy.yaml)', () => {
  itIsAGaPolicyThatDeniesAndFailsClosed(shipped);

  it('matches updates of nodes by the collectors\' group, which among the provider\'s operations is the just-in-time cordon alone', () => {
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes'] }]);
    const updatesOfNodes = Object.entries(K8S_OPERATIONS).filter(([, op]) => op.apiGroup === '' && op.resource === 'nodes' && !op.subresource && op.verb === 'patch');
    expect(updatesOfNodes.map(([name, op]) => [name, op.role])).toEqual([['cordonNode', 'cloud-custody-node-cordon']]);
    expect(JUST_IN_TIME_ROLES).toContain('cloud-custody-node-cordon');
    expect(policy.spec.matchConditions).toEqual([{ name: 'custody-collectors', expression: `'${COLLECTORS_GROUP}' in request.userInfo.groups` }]);
  });

  it('freezes every field of a node\'s spec but unschedulable (a typed object cannot be iterated, so each is named)', () => {
    const fields = V1NodeSpec.getAttributeTypeMap().map((a) => a.baseName);
    const expressions = policy.spec.validations.map((v) => v.expression).join('\n');
    for (const field of fields.filter((f) => f !== 'unschedulable')) {
      expect(expressions, field).toContain(`object.spec.${field} == oldObject.spec.${field}`);
    }
  });

  it('allows the provider\'s own cordon, as the lab stored it', async () => {
    const before = await labNode();
    const { lab, scenario } = fixture!;
    const kase = await openTestCase(fixture!, 'IR-VAP-N1');
    const outcome = await createKubernetesProvider(fixture!.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = lab.getObject('nodes', undefined, scenario.compromisedNode) as unknown as Node;
    const collector = scenario.cluster.subjects[scenario.collectorToken]!;
    expect(admit(policy, { request: patchBy(before, collector.groups, collector.user), object: after, oldObject: before })).toEqual({ matched: true, denied: [] });
    const asked = entriesOf(kase, 'change.requested').find((e) => e.data.change === 'cordon-node');
    expect(asked?.data.patch).toEqual(CORDON_PATCH);
    expect(after.spec).toEqual({ ...before.spec, unschedulable: true });
    await kase.release();
  });

  it('allows the cordon on a tainted node, on a node already cordoned, and on a node with a bare spec', async () => {
    expect(admitChange(await taintedNode(), (node) => mergePatch(node, CORDON_PATCH))).toEqual({ matched: true, denied: [] });
    const cordoned = mergePatch(await labNode(), CORDON_PATCH) as Node;
    expect(admitChange(cordoned, (node) => mergePatch(node, CORDON_PATCH))).toEqual({ matched: true, denied: [] });
    const bare = await labNode();
    bare.spec = {};
    delete bare.metadata.labels;
    expect(admitChange(bare, (node) => mergePatch(node, CORDON_PATCH))).toEqual({ matched: true, denied: [] });
  });

  itAnswersItsDryRunCheckAsItsCommentSays(shipped, labNode, (before) => patchBy(before));

  it('denies uncordoning and every other change of the node, naming what it may not do', async () => {
    const cordoned = mergePatch(await taintedNode(), CORDON_PATCH) as Node;
    const denied = (change: (node: Node) => unknown) => admitChange(cordoned, change);
    expect(denied((node) => mergePatch(node, { spec: { unschedulable: null } }))).toEqual({ matched: true, denied: [CORDON_ONLY] });
    expect(denied((node) => mergePatch(node, { spec: { unschedulable: false } }))).toEqual({ matched: true, denied: [CORDON_ONLY] });
    expect(denied((node) => mergePatch(node, { spec: { taints: null } }))).toEqual({ matched: true, denied: [TAINTS] });
    expect(denied((node) => { node.spec.taints!.push({ key: 'example.com/evil', effect: 'NoExecute' }); })).toEqual({ matched: true, denied: [TAINTS] });
    expect(denied((node) => { node.spec.taints![0]!.effect = 'PreferNoSchedule'; })).toEqual({ matched: true, denied: [TAINTS] });
    expect(denied((node) => mergePatch(node, { spec: { providerID: 'aws:///us-east-1a/i-0000000000000000' } }))).toEqual({ matched: true, denied: [OTHER_SPEC] });
    expect(denied((node) => mergePatch(node, { spec: { podCIDRs: ['10.244.9.0/24'] } }))).toEqual({ matched: true, denied: [OTHER_SPEC] });
    expect(denied((node) => mergePatch(node, { metadata: { labels: { 'node-role.kubernetes.io/payments': '' } } }))).toEqual({ matched: true, denied: [LABELS] });
    expect(denied((node) => mergePatch(node, { metadata: { labels: { 'topology.kubernetes.io/zone': 'us-east-1b' } } }))).toEqual({ matched: true, denied: [LABELS] });
    expect(denied((node) => mergePatch(node, { metadata: { labels: { 'kubernetes.io/os': null } } }))).toEqual({ matched: true, denied: [LABELS] });
    expect(denied((node) => mergePatch(node, { metadata: { annotations: null } }))).toEqual({ matched: true, denied: [ANNOTATIONS] });
    expect(denied((node) => mergePatch(node, { metadata: { finalizers: ['example.com/hold'] } }))).toEqual({ matched: true, denied: [FINALIZERS] });
    expect(denied((node) => mergePatch(node, { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'other', uid: 'x' }] } }))).toEqual({ matched: true, denied: [OWNERS] });
    // A change that does not cordon is refused for that too.
    const schedulable = await labNode();
    expect(admitChange(schedulable, (node) => mergePatch(node, { metadata: { labels: { team: 'payments' } } }))).toEqual({ matched: true, denied: [CORDON_ONLY, LABELS] });
  });

  it('does not match the node controller tainting a cordoned node, the kubelet, an admin, or the status subresource', async () => {
    const cordoned = mergePatch(await labNode(), CORDON_PATCH) as Node;
    const taint = (node: Node) => mergePatch(node, { spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } });
    expect(admitChange(cordoned, taint, patchBy(cordoned, [], 'system:serviceaccount:kube-system:node-controller'))).toEqual({ matched: false });
    expect(admitChange(cordoned, taint, patchBy(cordoned, ['system:nodes'], `system:node:${cordoned.metadata.name}`))).toEqual({ matched: false });
    expect(admitChange(cordoned, (node) => mergePatch(node, { spec: { unschedulable: null } }), patchBy(cordoned, ['system:masters'], 'admin'))).toEqual({ matched: false });
    expect(admitChange(cordoned, taint, { ...patchBy(cordoned), subResource: 'status' })).toEqual({ matched: false });
  });
});
