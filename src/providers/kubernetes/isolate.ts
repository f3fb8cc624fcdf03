/**
 * Opt-in containment (`--isolate`), after the quick volatile triage: label the pod, apply a
 * deny-all NetworkPolicy selecting that label, cordon the node. Each change is recorded before
 * (`change.requested`) and after (`change.applied`). The pod is never deleted and the node never
 * drained: both would destroy evidence.
 */
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { CustodyError } from '../../core/errors.js';
import { recordMutation } from '../../core/kernel.js';
import { auditIdOfError, callKubernetesAnswer, statusOf } from './call.js';
import type { PodRun } from './pod-run.js';

export const ISOLATION_LABEL = 'cloud-custody.io/isolated';

/** A case id as a label value: at most 63 characters, starting and ending alphanumeric. */
export function labelValueFor(caseId: string): string {
  return caseId.slice(0, 63).replace(/[^A-Za-z0-9]+$/, '') || 'case';
}

/**
 * `cloud-custody-isolate-<label value>`, lower-cased, `_` made `-`, then `-.` and `.-` made `--`
 * (a case id's other characters, letters, digits, `.` and `-`, are a DNS subdomain's; but the API
 * server refuses a name where `.` touches `-`, as in case id `IR.-7` or `IR_.7`): derived from the
 * label value alone, so the optional networkpolicy-admission-policy.yaml can check in CEL that a
 * policy's name is the one its selector's value gives (the same `lowerAscii()` and `replace`s), and
 * nobody can take a later case's name with a policy selecting anything else. Each replacement is of
 * every occurrence, left to right, as CEL's `replace` does.
 */
export function networkPolicyNameFor(caseId: string): string {
  const value = labelValueFor(caseId).toLowerCase().replaceAll('_', '-').replaceAll('-.', '--').replaceAll('.-', '--');
  return `cloud-custody-isolate-${value}`;
}

/**
 * The policy name an earlier run of this case confirmed in `namespace`, when it is not the one
 * `networkPolicyNameFor` gives now: before the name was derived from the label value, a case id of
 * 64 characters kept its 64th (the label value holds 63). A resumed case reads that policy instead
 * of creating a second one beside it.
 */
function earlierPolicyName(run: PodRun, derived: string): string | undefined {
  const prefix = `k8s:${run.target.cluster}/${run.target.namespace}/networkpolicy/`;
  const earlier = run.ctx.recorder
    .entries()
    .find((e) => e.type === 'change.applied' && e.data.change === 'deny-all-network-policy' && typeof e.data.resource === 'string' && e.data.resource.startsWith(prefix));
  const name = earlier ? String(earlier.data.resource).slice(prefix.length) : undefined;
  return name !== derived ? name : undefined;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Whether a policy's spec (as the API server answered it) selects the isolated pods and lets nothing in or out. */
function deniesAll(spec: V1NetworkPolicy['spec'], value: string): boolean {
  const labels = spec?.podSelector?.matchLabels ?? {};
  const types = spec?.policyTypes ?? [];
  return (
    Object.keys(labels).length === 1 &&
    labels[ISOLATION_LABEL] === value &&
    (spec?.podSelector?.matchExpressions ?? []).length === 0 &&
    types.includes('Ingress') &&
    types.includes('Egress') &&
    (spec?.ingress ?? []).length === 0 &&
    (spec?.egress ?? []).length === 0
  );
}

/**
 * Why a found policy can select other pods: case ids that differ only in letter case, `_` for `-`
 * or the characters cut from a label value share a policy name (the name is derived from the label
 * value, lower-cased, so the admission policy can check it), and the earlier case's policy keeps
 * selecting that case's label. Its annotation names the case; the hint says so and what to do.
 */
function otherCaseHint(found: V1NetworkPolicy, caseId: string): string {
  const owner = found.metadata?.annotations?.['cloud-custody.io/case-id'];
  if (owner === undefined || owner === caseId) return '';
  return `. The policy belongs to case ${owner}, whose id gives the same policy name as ${caseId}; isolate this pod under case ${owner}, or under a case id that differs from it in more than letter case and '_' or '-'`;
}

/** Applies the three containment changes to the pod of `run`. */
export async function isolatePod(run: PodRun, pod: V1Pod): Promise<void> {
  const { namespace, pod: name, cluster } = run.target;
  const { recorder, caseId } = { recorder: run.ctx.recorder, caseId: run.ctx.recorder.caseId };
  const value = labelValueFor(caseId);
  const { core, networking } = run.access;

  await recordMutation(
    recorder,
    run.key,
    { type: 'change.requested', data: { change: 'label-pod', resource: run.resource, labels: { [ISOLATION_LABEL]: value } } },
    async () => {
      const answer = await callKubernetesAnswer('labelPod', run.resource, () => core.patchNamespacedPodWithHttpInfo({ name, namespace, body: { metadata: { labels: { [ISOLATION_LABEL]: value } } } }, mergePatch));
      // Applied is the label the API server answered with: the deny-all policy selects the pod by
      // it, so a pod stored without it (a mutating webhook) is not isolated whatever comes next.
      const confirmed = answer.value.metadata?.labels?.[ISOLATION_LABEL];
      if (confirmed !== value) {
        throw new CustodyError('E_CLOUD', `${run.resource} was stored with ${ISOLATION_LABEL}=${confirmed ?? '(none)'}, not ${value}: the deny-all policy would not select it, so the pod is not isolated`, { resource: run.resource, ...(answer.requestId ? { requestId: answer.requestId } : {}) });
      }
      return answer;
    },
    ({ value: labelled, requestId }) => ({
      type: 'change.applied',
      data: { change: 'label-pod', resource: run.resource, resourceVersion: labelled.metadata?.resourceVersion ?? null, labels: { [ISOLATION_LABEL]: labelled.metadata?.labels?.[ISOLATION_LABEL] ?? null }, requestId: requestId ?? null },
    }),
  );

  const derived = networkPolicyNameFor(caseId);
  const earlier = earlierPolicyName(run, derived);
  const policyName = earlier ?? derived;
  const policy: V1NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: policyName, namespace, labels: { 'app.kubernetes.io/managed-by': 'cloud-custody' }, annotations: { 'cloud-custody.io/case-id': caseId } },
    // No ingress or egress rules with both policy types: nothing in, nothing out.
    spec: { podSelector: { matchLabels: { [ISOLATION_LABEL]: value } }, policyTypes: ['Ingress', 'Egress'] },
  };
  const policyResource = `k8s:${cluster}/${namespace}/networkpolicy/${policyName}`;
  await recordMutation(
    recorder,
    run.key,
    { type: 'change.requested', data: { change: 'deny-all-network-policy', resource: policyResource, spec: policy.spec as Record<string, unknown> } },
    async (): Promise<{ created: V1NetworkPolicy; alreadyExisted: boolean; requestId?: string; conflictRequestId?: string }> => {
      let answered: { created: V1NetworkPolicy; alreadyExisted: boolean; requestId?: string; conflictRequestId?: string } | undefined;
      if (earlier !== undefined) {
        // Read, not created again: the optional admission policy refuses a create under a name
        // the label value does not give, before the API server could answer 409 with it.
        try {
          const { value: found, requestId } = await callKubernetesAnswer('readNetworkPolicy', policyResource, () => networking.readNamespacedNetworkPolicyWithHttpInfo({ name: policyName, namespace }));
          answered = { created: found, alreadyExisted: true, ...(requestId ? { requestId } : {}) };
        } catch (error) {
          if (!(error instanceof CustodyError) || statusOf(error.cause).status !== 404) throw error;
        }
      }
      if (!answered) {
        try {
          const { value: created, requestId } = await callKubernetesAnswer('createNetworkPolicy', policyResource, () => networking.createNamespacedNetworkPolicyWithHttpInfo({ namespace, body: policy }));
          answered = { created, alreadyExisted: false, ...(requestId ? { requestId } : {}) };
        } catch (error) {
          // A resumed case finds the policy it created before: read it instead.
          if (!(error instanceof CustodyError) || statusOf(error.cause).status !== 409) throw error;
          const { value: created, requestId } = await callKubernetesAnswer('readNetworkPolicy', policyResource, () => networking.readNamespacedNetworkPolicyWithHttpInfo({ name: policyName, namespace }));
          const conflictRequestId = auditIdOfError(error.cause);
          answered = { created, alreadyExisted: true, ...(requestId ? { requestId } : {}), ...(conflictRequestId ? { conflictRequestId } : {}) };
        }
      }
      // Applied is what the API server answered, not what was sent: anyone who can edit policies
      // (or a mutating webhook) can have made it let traffic through.
      if (!deniesAll(answered.created.spec, value)) {
        throw new CustodyError('E_CLOUD', `${policyResource} ${answered.alreadyExisted ? 'exists but' : 'was stored but'} does not deny all traffic to the pods labelled ${ISOLATION_LABEL}=${value}: the pod is not isolated${otherCaseHint(answered.created, caseId)}`, { resource: policyResource, ...(answered.requestId ? { requestId: answered.requestId } : {}) });
      }
      return answered;
    },
    // requestId: the answer that showed the policy (the create, or the read after a 409 whose id is conflictRequestId).
    ({ created, alreadyExisted, requestId, conflictRequestId }) => ({
      type: 'change.applied',
      data: { change: 'deny-all-network-policy', resource: policyResource, uid: created.metadata?.uid ?? null, alreadyExisted, requestId: requestId ?? null, ...(conflictRequestId ? { conflictRequestId } : {}) },
    }),
  );

  const nodeName = pod.spec?.nodeName;
  if (!nodeName) return;
  const nodeResource = `k8s:${cluster}/node/${nodeName}`;
  await recordMutation(
    recorder,
    run.key,
    { type: 'change.requested', data: { change: 'cordon-node', resource: nodeResource, patch: { spec: { unschedulable: true } } } },
    () => callKubernetesAnswer('cordonNode', nodeResource, () => core.patchNodeWithHttpInfo({ name: nodeName, body: { spec: { unschedulable: true } } }, mergePatch)),
    ({ value: cordoned, requestId }) => ({ type: 'change.applied', data: { change: 'cordon-node', resource: nodeResource, unschedulable: cordoned.spec?.unschedulable ?? null, requestId: requestId ?? null } }),
  );
}
