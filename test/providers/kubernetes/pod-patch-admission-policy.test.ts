// The optional ValidatingAdmissionPolicy that narrows `patch pods` to the isolate label. The lab
// does not evaluate CEL, so this holds the file to its intent structurally (what it matches, whom
// it applies to, which parts of a pod it freezes, that it names the provider's own label and
// group) and checks that the provider's own --isolate patch changes nothing the policy forbids.
// The real check is the server-side dry run its comment shows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTRY } from '../../../src/providers/registry.js';
import { COLLECTORS_GROUP, loadRbacManifests } from '../../../src/lab/kubernetes/index.js';
import { ISOLATION_LABEL } from '../../../src/providers/kubernetes/isolate.js';
import { K8S_OPERATIONS } from '../../../src/providers/kubernetes/operations.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { parseTarget } from '../../../src/providers/targets.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, openTestCase, startFixture } from './helpers.js';

interface Validation { expression: string; message: string; reason?: string }
interface PolicyDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    failurePolicy?: string;
    matchConstraints?: { resourceRules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }> };
    matchConditions?: Array<{ name: string; expression: string }>;
    validations?: Validation[];
    policyName?: string;
    validationActions?: string[];
    matchResources?: unknown;
  };
}

const file = join(import.meta.dirname, '../../../policies/kubernetes/pod-patch-admission-policy.yaml');
const docs = loadAll(readFileSync(file, 'utf8')) as PolicyDoc[];
const policy = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy')!;
const binding = docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding')!;
const validations = policy.spec.validations ?? [];
const cel = validations.map((v) => v.expression.replace(/\s+/g, ' '));

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('the optional pod-patch admission policy (policies/kubernetes/pod-patch-admission-policy.yaml)', () => {
  it('is a GA ValidatingAdmissionPolicy with a binding that denies, and fails closed', () => {
    expect(docs.map((d) => [d.apiVersion, d.kind])).toEqual([
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding'],
    ]);
    expect(binding.spec.policyName).toBe(policy.metadata.name);
    expect(binding.spec.validationActions).toEqual(['Deny']);
    expect(binding.spec.matchResources).toBeUndefined(); // every namespace
    expect(policy.spec.failurePolicy).toBe('Fail');
  });

  it('matches updates of pods only, which among the provider\'s operations is the isolate label patch alone', () => {
    expect(policy.spec.matchConstraints?.resourceRules).toEqual([{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] }]);
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

  it('freezes the spec, annotations, finalizers and owner references, and every label but the isolate label, which it never lets go', () => {
    expect(cel).toContain('object.spec == oldObject.spec');
    for (const field of ['annotations', 'finalizers', 'ownerReferences']) {
      expect(cel, field).toContain(
        `has(object.metadata.${field}) == has(oldObject.metadata.${field}) && (!has(object.metadata.${field}) || object.metadata.${field} == oldObject.metadata.${field})`,
      );
    }
    // Other labels: same keys with the same values; no label removed, the isolate label included.
    expect(cel).toContain(
      `!has(object.metadata.labels) || object.metadata.labels.all(k, k == '${ISOLATION_LABEL}' || (has(oldObject.metadata.labels) && k in oldObject.metadata.labels && oldObject.metadata.labels[k] == object.metadata.labels[k]))`,
    );
    expect(cel).toContain('!has(oldObject.metadata.labels) || oldObject.metadata.labels.all(k, has(object.metadata.labels) && k in object.metadata.labels)');
    // The only label named is the one the provider sets.
    const labels = cel.join(' ').match(/'[a-z0-9.-]+\/[a-z0-9.-]+'/g) ?? [];
    expect(new Set(labels)).toEqual(new Set([`'${ISOLATION_LABEL}'`]));
    for (const v of validations) {
      expect(v.reason).toBe('Forbidden');
      expect(v.message).toMatch(/^cloud-custody collectors may /);
      // Balanced parentheses and quotes: a typo would make the API server refuse the whole policy.
      expect(v.expression.split('(').length, v.expression).toBe(v.expression.split(')').length);
      expect((v.expression.match(/'/g) ?? []).length % 2, v.expression).toBe(0);
    }
  });

  it('the provider\'s --isolate patch changes nothing of the pod the policy forbids', async () => {
    fixture = await startFixture();
    const { lab, scenario } = fixture;
    type Pod = { metadata: { labels?: Record<string, string>; annotations?: unknown; finalizers?: unknown; ownerReferences?: unknown }; spec: unknown };
    const before = structuredClone(lab.getObject('pods', 'shop', scenario.compromisedPod)) as Pod;
    const kase = await openTestCase(fixture, 'IR-VAP-1');
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${scenario.compromisedPod}`), contextFor(kase, { isolate: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = lab.getObject('pods', 'shop', scenario.compromisedPod) as Pod;
    expect(after.spec).toEqual(before.spec);
    expect([after.metadata.annotations, after.metadata.finalizers, after.metadata.ownerReferences]).toEqual([before.metadata.annotations, before.metadata.finalizers, before.metadata.ownerReferences]);
    expect(after.metadata.labels).toEqual({ ...before.metadata.labels, [ISOLATION_LABEL]: 'IR-VAP-1' });
    await kase.release();
  });
});
