// Test helpers for the shipped ValidatingAdmissionPolicies (policies/kubernetes/*-admission-policy.yaml):
// each file's policy and binding, and its expressions evaluated for one request by the lab's
// admission plugin (src/lab/kubernetes/admission.ts, which says where its CEL engine differs from
// the API server's), the same code that enforces them on the lab's API server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { admit, boundAdmissionPolicies, mergePatch } from '../../../src/lab/kubernetes/index.js';
import type { AdmissionPolicy, AdmissionPolicyBinding, AdmissionRequest, AdmissionVerdict } from '../../../src/lab/kubernetes/index.js';
import { expect, it } from 'vitest';

export { admit };
export type { AdmissionPolicy, AdmissionPolicyBinding, AdmissionRequest, AdmissionVerdict };

export interface ShippedAdmissionPolicy {
  docs: Array<{ apiVersion: string; kind: string }>;
  policy: AdmissionPolicy;
  binding: AdmissionPolicyBinding;
  /** The merge patches of the `kubectl patch --dry-run=server` check in the file's comment, with the answer it promises. */
  dryRuns: Array<{ patch: unknown; answer: 'allowed' | 'denied' }>;
}

/** The policy and its binding, parsed from a file of policies/kubernetes/ as the lab loads them. */
export function loadAdmissionPolicy(file: string): ShippedAdmissionPolicy {
  const path = join(import.meta.dirname, '../../../policies/kubernetes', file);
  const text = readFileSync(path, 'utf8');
  const docs = loadAll(text) as Array<{ apiVersion: string; kind: string }>;
  const [bound, ...more] = boundAdmissionPolicies(docs as KubernetesObject[]);
  if (!bound || more.length > 0) throw new Error(`${file} does not hold one ValidatingAdmissionPolicy and its binding`);
  const dryRuns = [...text.matchAll(/-p '(\{.*\})'\s+# (allowed|denied)$/gm)].map((m) => ({ patch: JSON.parse(m[1]!) as unknown, answer: m[2] as 'allowed' | 'denied' }));
  return { docs, policy: bound.policy, binding: bound.binding, dryRuns };
}

/** A PATCH of `resource` `name` by `username` in `groups`, admitted as UPDATE (the API server adds system:authenticated). */
export function updateBy(resource: string, target: { metadata: { name: string; namespace?: string } }, groups: string[], username: string): AdmissionRequest {
  return {
    operation: 'UPDATE',
    resource: { group: '', version: 'v1', resource },
    name: target.metadata.name,
    ...(target.metadata.namespace ? { namespace: target.metadata.namespace } : {}),
    userInfo: { username, groups: [...groups, 'system:authenticated'] },
  };
}

/** What `policy` answers when `change` (editing a copy, or returning the new object) turns `before` into the stored object. */
export function admitChange<T>(policy: AdmissionPolicy, before: T, change: (copy: T) => unknown, request: AdmissionRequest): AdmissionVerdict {
  const copy = structuredClone(before);
  const changed = change(copy);
  return admit(policy, { request, object: changed ?? copy, oldObject: before });
}

/** The test every shipped policy owes: GA objects, a binding that denies in every namespace, fail closed, refusals that say who may not do what. */
export function itIsAGaPolicyThatDeniesAndFailsClosed({ docs, policy, binding }: ShippedAdmissionPolicy): void {
  it('is a GA ValidatingAdmissionPolicy with a binding that denies, and fails closed', () => {
    expect(docs.map((d) => [d.apiVersion, d.kind])).toEqual([
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy'],
      ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding'],
    ]);
    expect(binding.spec.policyName).toBe(policy.metadata.name);
    expect(binding.spec.validationActions).toEqual(['Deny']);
    expect(binding.spec.matchResources).toBeUndefined(); // every namespace
    expect(policy.spec.failurePolicy).toBe('Fail');
    for (const v of policy.spec.validations) {
      expect(v.reason).toBe('Forbidden');
      expect(v.message).toMatch(/^cloud-custody collectors may /);
    }
  });
}

/** The test of the dry-run check the policy's comment tells an operator to run: `target()` patched as it says answers as it says. */
export function itAnswersItsDryRunCheckAsItsCommentSays<T>(shipped: ShippedAdmissionPolicy, target: () => Promise<T>, request: (before: T) => AdmissionRequest): void {
  it('answers the dry-run check in its comment as the comment says', async () => {
    const before = await target();
    const answers = shipped.dryRuns.map(({ patch }) => {
      const verdict = admitChange(shipped.policy, before, (copy) => mergePatch(copy, patch), request(before));
      return verdict.matched && verdict.denied.length > 0 ? 'denied' : 'allowed';
    });
    expect(answers).toEqual(['allowed', 'denied']);
    expect(shipped.dryRuns.map((d) => d.answer)).toEqual(answers);
  });
}
