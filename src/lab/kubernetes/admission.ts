/**
 * The lab's ValidatingAdmissionPolicy plugin: the shipped policies of policies/kubernetes/ (each
 * with its binding) evaluated for every CREATE and UPDATE (a PATCH is admitted as UPDATE) the way
 * the API server does: matchConstraints, then every matchCondition, then every validation, each
 * expression read from the YAML and run by a real CEL engine (@marcbachmann/cel-js, the one the
 * GCP lab uses) with `object`, `oldObject` (null on CREATE), `request` and `params` (null: the
 * policies have no paramKind) bound. A binding whose validationActions hold Deny refuses with the
 * first failing validation, answered as the API server answers (see `admissionStatus`).
 *
 * Where this engine differs from the API server's CEL (cel-go with Kubernetes' libraries):
 * - The API server types `object` and `oldObject` by the resource's OpenAPI schema (metadata and
 *   spec are object types, labels and annotations map<string, string>); here they are plain maps.
 *   `has(x.f)` answers the same for both (is the field / key present), and absent fields are
 *   absent in both: the API server omits empty maps, lists and zero values (omitempty), so a pod
 *   without labels has no `metadata.labels` key, not `{}`. A map can be iterated (`.all()`) here
 *   but a typed object cannot there: the node policy names NodeSpec's fields for that reason.
 * - Kubernetes adds libraries (lists, strings, regex, quantity, authorizer, ...) and the
 *   `namespaceObject`, `authorizer` and `variables` bindings. Of those the policies use only the
 *   strings library's `lowerAscii` (built into this engine) and `replace` (registered below with
 *   the library's meaning: every occurrence); an expression using anything else fails here, and
 *   the test or lab request with it.
 * - Integers are int64 there and JSON numbers (double) here; equality answers the same.
 * - Lists the schema marks x-kubernetes-list-type set or map (ownerReferences, keyed by uid, is one)
 *   compare there without regard to order, here in order: a reordering that the API server would
 *   let through is refused here.
 * - Type checking: the API server checks expressions against the schema when the policy is
 *   created, which this engine cannot do (it does not know the schema). The server-side dry runs
 *   in the policies' comments cover that.
 * - Only what the shipped policies use is evaluated: resourceRules (groups, versions, operations,
 *   resources, `*`), matchConditions, validations with message and reason, failurePolicy, and the
 *   binding's Deny. A policy or binding with anything else (paramKind, variables,
 *   messageExpression, selectors, matchResources, ...) is refused when loaded, never half-applied.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { KubernetesObject } from '@kubernetes/client-node';

export interface AdmissionRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
}

export interface AdmissionPolicy {
  apiVersion: string;
  kind: 'ValidatingAdmissionPolicy';
  metadata: { name: string };
  spec: {
    failurePolicy?: 'Fail' | 'Ignore';
    matchConstraints: { resourceRules: AdmissionRule[] };
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

/** A policy and the binding that puts it into effect (the API server ignores a policy without one). */
export interface BoundAdmissionPolicy {
  policy: AdmissionPolicy;
  binding: AdmissionPolicyBinding;
}

/** The admission request fields the policies read, as the API server fills them for a PATCH (UPDATE) or a CREATE. */
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

/** One refusal: the message, and the Status reason the API server answers it with. */
interface Refusal {
  message: string;
  reason: string;
}

type Evaluation = { matched: false } | { matched: true; refusals: Refusal[] };

const KNOWN_KEYS: Record<string, readonly string[]> = {
  'policy spec': ['failurePolicy', 'matchConstraints', 'matchConditions', 'validations'],
  matchConstraints: ['resourceRules'],
  resourceRule: ['apiGroups', 'apiVersions', 'operations', 'resources'],
  validation: ['expression', 'message', 'reason'],
  'binding spec': ['policyName', 'validationActions'],
};

function refuseUnknownKeys(what: keyof typeof KNOWN_KEYS, value: object, owner: string): void {
  const unknown = Object.keys(value).filter((k) => !KNOWN_KEYS[what]!.includes(k));
  if (unknown.length > 0) throw new Error(`${owner}: the lab does not evaluate ${unknown.join(', ')} of a ${what}`);
}

/**
 * The ValidatingAdmissionPolicies of `objects` (manifests as `kubectl apply` reads them), each with
 * its binding, in the order the policies appear. A policy without a binding has no effect and is
 * left out, as the API server leaves it out; a binding naming no policy, or anything the lab does
 * not evaluate, is refused.
 */
export function boundAdmissionPolicies(objects: readonly KubernetesObject[]): BoundAdmissionPolicy[] {
  const policies = objects.filter((o): o is KubernetesObject & AdmissionPolicy => o.kind === 'ValidatingAdmissionPolicy');
  const bindings = objects.filter((o): o is KubernetesObject & AdmissionPolicyBinding => o.kind === 'ValidatingAdmissionPolicyBinding');
  for (const binding of bindings) {
    const owner = `ValidatingAdmissionPolicyBinding ${binding.metadata.name}`;
    refuseUnknownKeys('binding spec', binding.spec, owner);
    if (!policies.some((p) => p.metadata.name === binding.spec.policyName)) throw new Error(`${owner} names no ValidatingAdmissionPolicy in the manifests: ${binding.spec.policyName}`);
  }
  const bound: BoundAdmissionPolicy[] = [];
  for (const policy of policies) {
    const owner = `ValidatingAdmissionPolicy ${policy.metadata.name}`;
    refuseUnknownKeys('policy spec', policy.spec, owner);
    refuseUnknownKeys('matchConstraints', policy.spec.matchConstraints, owner);
    for (const rule of policy.spec.matchConstraints.resourceRules) refuseUnknownKeys('resourceRule', rule, owner);
    for (const validation of policy.spec.validations) refuseUnknownKeys('validation', validation, owner);
    for (const binding of bindings.filter((b) => b.spec.policyName === policy.metadata.name)) bound.push({ policy, binding });
  }
  return bound;
}

/** The strings library's `replace(old, new)`: every occurrence, as Kubernetes' CEL has it. */
const replaceAll = (text: string, old: string, replacement: string) => text.split(old).join(replacement);

const environment = new Environment()
  .registerVariable('object', 'map')
  .registerVariable('oldObject', 'map')
  .registerVariable('request', 'map')
  .registerVariable('params', 'dyn')
  .registerFunction('string.replace(string, string): string', replaceAll);

const listed = (values: readonly string[], value: string) => values.includes('*') || values.includes(value);

/** Whether a rule covers the request: `pods` covers the pod itself, `pods/status` (or `*\/*`) its subresource. */
function ruleMatches(rule: AdmissionRule, request: AdmissionRequest): boolean {
  const { group, version, resource } = request.resource;
  const named = request.subResource ? `${resource}/${request.subResource}` : resource;
  const resourceListed = rule.resources.some((r) => r === named || r === '*/*' || (!request.subResource && r === '*') || (request.subResource !== undefined && r === `${resource}/*`) || (request.subResource !== undefined && r === `*/${request.subResource}`));
  return listed(rule.apiGroups, group) && listed(rule.apiVersions, version) && listed(rule.operations, request.operation) && resourceListed;
}

function evaluatePolicy(policy: AdmissionPolicy, input: { request: AdmissionRequest; object: unknown; oldObject: unknown }): Evaluation {
  const { request } = input;
  if (!policy.spec.matchConstraints.resourceRules.some((rule) => ruleMatches(rule, request))) return { matched: false };
  const bindings = { object: input.object, oldObject: input.oldObject, request, params: null };
  const evaluate = (expression: string): boolean | Error => {
    try {
      const value: unknown = environment.evaluate(expression, bindings);
      return typeof value === 'boolean' ? value : new Error(`evaluated to ${String(value)}, not a bool`);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  };
  const failClosed = policy.spec.failurePolicy !== 'Ignore';
  const refusals: Refusal[] = [];
  for (const condition of policy.spec.matchConditions ?? []) {
    const result = evaluate(condition.expression);
    if (result === false) return { matched: false };
    // An error decision carries no reason: the API server answers it as Invalid.
    if (result instanceof Error && failClosed) refusals.push({ message: `matchCondition '${condition.name}' resulted in error: ${result.message}`, reason: 'Invalid' });
  }
  if (refusals.length > 0) return { matched: true, refusals };
  for (const validation of policy.spec.validations) {
    const result = evaluate(validation.expression);
    if (result === false) refusals.push({ message: validation.message, reason: validation.reason ?? 'Invalid' });
    if (result instanceof Error && failClosed) refusals.push({ message: `expression '${validation.expression}' resulted in error: ${result.message}`, reason: 'Invalid' });
  }
  return { matched: true, refusals };
}

/** Evaluates `policy` for `request` changing `oldObject` into `object`. An expression that fails is a refusal under failurePolicy Fail, and says so. */
export function admit(policy: AdmissionPolicy, input: { request: AdmissionRequest; object: unknown; oldObject: unknown }): AdmissionVerdict {
  const evaluation = evaluatePolicy(policy, input);
  return evaluation.matched ? { matched: true, denied: evaluation.refusals.map((r) => r.message) } : { matched: false };
}

/** What a request met: each policy whose constraints and conditions matched, and whether its binding denied it. */
export interface AdmissionDecision {
  policy: string;
  binding: string;
  verdict: 'allowed' | 'denied';
}

/** A denied admission, as the API server answers it: the Status fields a refusal carries. */
export interface AdmissionDenial {
  code: number;
  reason: string;
  message: string;
  details: { name: string; group?: string; kind: string; causes: Array<{ message: string }> };
}

/** The HTTP code the API server gives a refusal's reason (the validations' `reason` may name only these). */
const CODE_OF_REASON: Record<string, number> = { Forbidden: 403, Unauthorized: 401, RequestEntityTooLarge: 413, Invalid: 422 };

/**
 * Runs every bound policy on the request, in order. The first refusal of a binding that Denies
 * is the answer, as the API server words it: `<resource>[.<group>] "<name>" is forbidden:
 * ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request: <message>`, the
 * validation's reason (Invalid when it names none, and for an expression that failed) and the
 * code of that reason (403 Forbidden, 422 Invalid), the message repeated as the one cause.
 */
export function reviewAdmission(bound: readonly BoundAdmissionPolicy[], input: { request: AdmissionRequest; object: unknown; oldObject: unknown }): { decisions: AdmissionDecision[]; denial?: AdmissionDenial } {
  const decisions: AdmissionDecision[] = [];
  let denial: AdmissionDenial | undefined;
  for (const { policy, binding } of bound) {
    const evaluation = evaluatePolicy(policy, input);
    if (!evaluation.matched) continue;
    const first = evaluation.refusals[0];
    const denies = first !== undefined && binding.spec.validationActions.includes('Deny');
    decisions.push({ policy: policy.metadata.name, binding: binding.metadata.name, verdict: denies ? 'denied' : 'allowed' });
    if (!denies || denial) continue;
    const { group, resource } = input.request.resource;
    const decision = `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: ${first.message}`;
    denial = {
      code: CODE_OF_REASON[first.reason] ?? 422,
      reason: first.reason,
      message: `${resource}${group ? `.${group}` : ''} "${input.request.name}" is forbidden: ${decision}`,
      details: { name: input.request.name, ...(group ? { group } : {}), kind: resource, causes: [{ message: decision }] },
    };
  }
  return { decisions, ...(denial ? { denial } : {}) };
}
