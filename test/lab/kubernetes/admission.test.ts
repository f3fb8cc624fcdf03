// The lab's admission plugin beyond the shipped policies' own tests: how a denial is answered for
// each reason (as the API server's validating admission dispatcher answers it), which binding
// actions deny, and what the lab refuses to load rather than half-apply.
import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { boundAdmissionPolicies, loadRbacManifests, reviewAdmission } from '../../../src/lab/kubernetes/index.js';
import type { AdmissionRequest } from '../../../src/lab/kubernetes/index.js';

function policy(name: string, validations: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: { failurePolicy: 'Fail', matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] }, validations, ...extra },
  } as KubernetesObject;
}

function binding(name: string, policyName: string, validationActions: string[] = ['Deny'], extra: Record<string, unknown> = {}): KubernetesObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name }, spec: { policyName, validationActions, ...extra } } as KubernetesObject;
}

const create: AdmissionRequest = { operation: 'CREATE', resource: { group: 'apps', version: 'v1', resource: 'deployments' }, name: 'web', namespace: 'shop', userInfo: { username: 'u', groups: ['system:authenticated'] } };
const deployment = (replicas: number) => ({ metadata: { name: 'web', namespace: 'shop' }, spec: { replicas } });

describe('the lab\'s ValidatingAdmissionPolicy plugin', () => {
  it('answers a refusal without a reason as 422 Invalid, an expression that fails likewise, and names policy and binding', () => {
    const bound = boundAdmissionPolicies([policy('replicas', [{ expression: 'object.spec.replicas <= 5', message: 'at most 5 replicas' }]), binding('replicas-binding', 'replicas')]);
    expect(reviewAdmission(bound, { request: create, object: deployment(3), oldObject: null })).toEqual({ decisions: [{ policy: 'replicas', binding: 'replicas-binding', verdict: 'allowed' }] });
    const decision = "ValidatingAdmissionPolicy 'replicas' with binding 'replicas-binding' denied request: at most 5 replicas";
    expect(reviewAdmission(bound, { request: create, object: deployment(6), oldObject: null }).denial).toEqual({
      code: 422,
      reason: 'Invalid',
      message: `deployments.apps "web" is forbidden: ${decision}`,
      details: { name: 'web', group: 'apps', kind: 'deployments', causes: [{ message: decision }] },
    });
    const failing = boundAdmissionPolicies([policy('typo', [{ expression: 'object.spec.replicaz <= 5', message: 'never shown', reason: 'Forbidden' }]), binding('typo', 'typo')]);
    const denial = reviewAdmission(failing, { request: create, object: deployment(1), oldObject: null }).denial;
    expect(denial).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(denial?.message).toMatch(/^deployments\.apps "web" is forbidden: ValidatingAdmissionPolicy 'typo' with binding 'typo' denied request: expression 'object\.spec\.replicaz <= 5' resulted in error: /);
  });

  it('answers with the first refusal of the first denying policy, and a binding that only warns or audits denies nothing', () => {
    const objects = [
      policy('a', [{ expression: 'object.spec.replicas <= 5', message: 'a: at most 5', reason: 'Forbidden' }, { expression: 'object.spec.replicas <= 4', message: 'a: at most 4' }]),
      binding('a-audit', 'a', ['Audit', 'Warn']),
      policy('b', [{ expression: 'object.spec.replicas <= 2', message: 'b: at most 2', reason: 'Forbidden' }]),
      binding('b', 'b'),
    ];
    const review = reviewAdmission(boundAdmissionPolicies(objects), { request: create, object: deployment(6), oldObject: null });
    expect(review.decisions).toEqual([{ policy: 'a', binding: 'a-audit', verdict: 'allowed' }, { policy: 'b', binding: 'b', verdict: 'denied' }]);
    expect(review.denial).toMatchObject({ code: 403, reason: 'Forbidden', message: 'deployments.apps "web" is forbidden: ValidatingAdmissionPolicy \'b\' with binding \'b\' denied request: b: at most 2' });
    // Not matched: another operation, resource or subresource.
    expect(reviewAdmission(boundAdmissionPolicies(objects), { request: { ...create, operation: 'DELETE' }, object: null, oldObject: deployment(6) }).decisions).toEqual([]);
    expect(reviewAdmission(boundAdmissionPolicies(objects), { request: { ...create, subResource: 'scale' }, object: deployment(6), oldObject: null }).decisions).toEqual([]);
  });

  it('binds params to null (the policies have no paramKind), as the API server does', () => {
    const bound = boundAdmissionPolicies([policy('p', [{ expression: 'params == null', message: 'params bound', reason: 'Forbidden' }]), binding('p', 'p')]);
    expect(reviewAdmission(bound, { request: create, object: deployment(1), oldObject: null }).denial).toBeUndefined();
  });

  it('refuses to load what it does not evaluate, a binding without its policy, and leaves out a policy without a binding', () => {
    expect(() => boundAdmissionPolicies([policy('p', [], { paramKind: { apiVersion: 'v1', kind: 'ConfigMap' } }), binding('p', 'p')])).toThrow(/ValidatingAdmissionPolicy p: the lab does not evaluate paramKind/);
    expect(() => boundAdmissionPolicies([policy('p', [{ expression: 'true', messageExpression: "'x'" }]), binding('p', 'p')])).toThrow(/does not evaluate messageExpression/);
    expect(() => boundAdmissionPolicies([policy('p', []), binding('p', 'p', ['Deny'], { matchResources: { namespaceSelector: {} } })])).toThrow(/ValidatingAdmissionPolicyBinding p: the lab does not evaluate matchResources/);
    expect(() => boundAdmissionPolicies([binding('orphan', 'missing')])).toThrow(/names no ValidatingAdmissionPolicy in the manifests: missing/);
    expect(boundAdmissionPolicies([policy('unbound', [])])).toEqual([]);
  });

  it('loads the three shipped policies, each with its binding', () => {
    expect(boundAdmissionPolicies(loadRbacManifests()).map((b) => [b.policy.metadata.name, b.binding.spec.validationActions])).toEqual([
      ['cloud-custody-networkpolicy-deny-all-only', ['Deny']],
      ['cloud-custody-node-cordon-only', ['Deny']],
      ['cloud-custody-pod-isolate-label-only', ['Deny']],
    ]);
  });
});
