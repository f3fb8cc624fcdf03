// Evaluates a shipped ValidatingAdmissionPolicy (policies/kubernetes/*-admission-policy.yaml) for
// one request the way the API server does: matchConstraints, then every matchCondition, then
// every validation, each expression read from the file and run by a real CEL engine
// (@marcbachmann/cel-js, the one the GCP lab uses) with `object`, `oldObject` and `request` bound.
//
// Where this engine differs from the API server's CEL (cel-go with Kubernetes' libraries):
// - The API server types `object` and `oldObject` by the resource's OpenAPI schema (metadata and
//   spec are object types, labels and annotations map<string, string>); here they are plain maps.
//   `has(x.f)` answers the same for both (is the field / key present), and absent fields are
//   absent in both: the API server omits empty maps, lists and zero values (omitempty), so a pod
//   without labels has no `metadata.labels` key, not `{}`. A map can be iterated (`.all()`) here
//   but a typed object cannot there: the node policy names NodeSpec's fields for that reason.
// - Kubernetes adds libraries (lists, strings, regex, quantity, authorizer, ...) and the `params`,
//   `namespaceObject`, `authorizer` and `variables` bindings. The policies use none of them; an
//   expression that did would fail here, and the test with it.
// - Integers are int64 there and JSON numbers (double) here; equality answers the same.
// - Lists the schema marks x-kubernetes-list-type set or map (ownerReferences, keyed by uid, is one)
//   compare there without regard to order, here in order: a reordering that the API server would
//   let through is refused here. No case below reorders a list.
// - Type checking: the API server checks expressions against the schema when the policy is
//   created, which this engine cannot do (it does not know the schema). The dry run in the
//   policies' comments covers that.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment } from '@marcbachmann/cel-js';
import { loadAll } from 'js-yaml';
import { mergePatch } from '../../../src/lab/kubernetes/index.js';
import { expect, it } from 'vitest';

export interface AdmissionPolicy {
  apiVersion: string;
  kind: 'ValidatingAdmissionPolicy';
  metadata: { name: string };
  spec: {
    failurePolicy?: 'Fail' | 'Ignore';
    matchConstraints: { resourceRules: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }> };
    matchConditions?: Array<{ name: string; expression: string }>;
    validations: Array<{ expression: string; message: string; reason?: string }>;
  };
}

export interface AdmissionPolicyBinding {
  apiVersion: string;
  kind: 'ValidatingAdmissionPolicyBinding';
  metadata: { name: string };
  spec: { policyName: string; validationActions: string[]; matchResources?: unknown };
}

/** The admission request fields the policies read, as the API server fills them for a PATCH (or a CREATE). */
export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name: string;
  namespace?: string;
  userInfo: { username: string; groups: string[] };
}

/** Not matched (the policy does not apply), or matched with the message of every validation that refused, in order. */
export type AdmissionVerdict = { matched: false } | { matched: true; denied: string[] };

export interface ShippedAdmissionPolicy {
  docs: Array<{ apiVersion: string; kind: string }>;
  policy: AdmissionPolicy;
  binding: AdmissionPolicyBinding;
  /** The merge patches of the `kubectl patch --dry-run=server` check in the file's comment, with the answer it promises. */
  dryRuns: Array<{ patch: unknown; answer: 'allowed' | 'denied' }>;
}

/** The policy and its binding, parsed from a file of policies/kubernetes/. */
export function loadAdmissionPolicy(file: string): ShippedAdmissionPolicy {
  const path = join(import.meta.dirname, '../../../policies/kubernetes', file);
  const text = readFileSync(path, 'utf8');
  const docs = loadAll(text) as Array<AdmissionPolicy | AdmissionPolicyBinding>;
  const policy = docs.find((d): d is AdmissionPolicy => d.kind === 'ValidatingAdmissionPolicy');
  const binding = docs.find((d): d is AdmissionPolicyBinding => d.kind === 'ValidatingAdmissionPolicyBinding');
  if (!policy || !binding) throw new Error(`${file} does not hold a ValidatingAdmissionPolicy and its binding`);
  const dryRuns = [...text.matchAll(/-p '(\{.*\})'\s+# (allowed|denied)$/gm)].map((m) => ({ patch: JSON.parse(m[1]!) as unknown, answer: m[2] as 'allowed' | 'denied' }));
  return { docs, policy, binding, dryRuns };
}

const environment = new Environment().registerVariable('object', 'map').registerVariable('oldObject', 'map').registerVariable('request', 'map');

/** Evaluates `policy` for `request` updating `oldObject` into `object`. An expression that fails is a refusal under failurePolicy Fail, and says so. */
export function admit(policy: AdmissionPolicy, input: { request: AdmissionRequest; object: unknown; oldObject: unknown }): AdmissionVerdict {
  const { request } = input;
  const constrained = !request.subResource && policy.spec.matchConstraints.resourceRules.some(
    (r) => r.apiGroups.includes(request.resource.group) && r.apiVersions.includes(request.resource.version) && r.operations.includes(request.operation) && r.resources.includes(request.resource.resource),
  );
  if (!constrained) return { matched: false };
  const bindings = { object: input.object, oldObject: input.oldObject, request };
  const evaluate = (expression: string): boolean | Error => {
    try {
      const value: unknown = environment.evaluate(expression, bindings);
      return typeof value === 'boolean' ? value : new Error(`evaluated to ${String(value)}, not a bool`);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  };
  const failClosed = policy.spec.failurePolicy !== 'Ignore';
  const denied: string[] = [];
  for (const condition of policy.spec.matchConditions ?? []) {
    const result = evaluate(condition.expression);
    if (result === false) return { matched: false };
    if (result instanceof Error && failClosed) denied.push(`matchCondition ${condition.name} failed: ${result.message}`);
  }
  if (denied.length > 0) return { matched: true, denied };
  for (const validation of policy.spec.validations) {
    const result = evaluate(validation.expression);
    if (result === false) denied.push(validation.message);
    if (result instanceof Error && failClosed) denied.push(`${validation.message} (expression failed: ${result.message})`);
  }
  return { matched: true, denied };
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
