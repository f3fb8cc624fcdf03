/**
 * Preflight rows for the optional admission policies (policies/kubernetes/*-admission-policy.yaml):
 * for each, whether the cluster has the ValidatingAdmissionPolicy and a binding of the same name
 * that denies. Reads two named objects per policy (the preflight role's only grant) and changes
 * nothing. A missing policy is a warning, never a failure: the policies are optional (Kubernetes
 * 1.30+), and collection works without them.
 */
import { fileURLToPath } from 'node:url';
import type { V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding } from '@kubernetes/client-node';
import { isCustodyError } from '../../core/errors.js';
import { SHIPPED_ADMISSION_POLICIES } from './admission-policies.js';
import type { ShippedAdmissionPolicy } from './admission-policies.js';
import { callKubernetes } from './call.js';
import type { ClusterAccess } from './cluster-access.js';
import { describeOperation, K8S_OPERATIONS } from './operations.js';
import type { KubernetesPreflightRow } from './preflight.js';

type Read<T> = { found: T } | { missing: true } | { failed: unknown };

/**
 * A file of policies/kubernetes/ where this custody runs from (the installed package, or a
 * checkout; src/ and dist/ sit at the same depth), quoted for a shell when it needs it: the
 * command a warning gives works from any folder, not only from a checkout's root.
 */
export function shippedFile(file: string): string {
  const path = fileURLToPath(new URL(`../../../policies/kubernetes/${file}`, import.meta.url));
  return /^[\w./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

async function read<T>(run: () => Promise<T>): Promise<Read<T>> {
  try {
    return { found: await run() };
  } catch (error) {
    return isCustodyError(error) && error.code === 'E_NOT_FOUND' ? { missing: true } : { failed: error };
  }
}

function verdict(shipped: ShippedAdmissionPolicy, policy: Read<V1ValidatingAdmissionPolicy>, binding: Read<V1ValidatingAdmissionPolicyBinding>): Pick<KubernetesPreflightRow, 'result' | 'detail'> {
  const apply = `kubectl apply -f ${shippedFile(shipped.file)}`;
  const failed = 'failed' in policy ? policy.failed : 'failed' in binding ? binding.failed : undefined;
  if (failed !== undefined) {
    const denied = isCustodyError(failed) && failed.code === 'E_ACCESS_DENIED';
    const message = isCustodyError(failed) ? failed.message : String(failed);
    return denied
      ? { result: 'denied', detail: `cannot tell whether it is installed (${message}): kubectl apply -f ${shippedFile('preflight-role.yaml')}` }
      : { result: 'error', detail: message };
  }
  if ('missing' in policy && 'missing' in binding) return { result: 'warning', detail: `not installed (optional, Kubernetes 1.30+; it narrows ${shipped.narrows}): ${apply}` };
  if ('missing' in policy) return { result: 'warning', detail: `its binding is installed but not the policy, so nothing is enforced: ${apply}` };
  if ('missing' in binding) return { result: 'warning', detail: `the policy is installed but not its binding, so nothing is enforced: ${apply}` };
  const spec = 'found' in binding ? binding.found.spec : undefined;
  const actions = spec?.validationActions ?? [];
  if (spec?.policyName !== shipped.name || !actions.includes('Deny')) {
    return { result: 'warning', detail: `the binding ${shipped.name} does not deny with this policy (policyName ${spec?.policyName ?? '(none)'}, validationActions ${actions.join(',') || '(none)'}): ${apply}` };
  }
  return { result: 'ok', detail: `installed and bound with Deny (${shipped.file})` };
}

/** One row per shipped admission policy of the cluster `access` reaches. */
export async function admissionPolicyRows(access: ClusterAccess): Promise<KubernetesPreflightRow[]> {
  const rows: KubernetesPreflightRow[] = [];
  for (const shipped of SHIPPED_ADMISSION_POLICIES) {
    const resource = `k8s:${access.name}/validatingadmissionpolicy/${shipped.name}`;
    const policy = await read(() => callKubernetes('readAdmissionPolicy', resource, () => access.admission.readValidatingAdmissionPolicy({ name: shipped.name })));
    const binding = await read(() => callKubernetes('readAdmissionPolicyBinding', resource, () => access.admission.readValidatingAdmissionPolicyBinding({ name: shipped.name })));
    const { result, detail } = verdict(shipped, policy, binding);
    rows.push({
      cluster: access.name,
      namespace: '(cluster)',
      check: 'readAdmissionPolicy',
      // The API verb and resource, as every row names it; which objects were read goes in the detail.
      action: `k8s:${describeOperation(K8S_OPERATIONS.readAdmissionPolicy)}`,
      need: 'optional',
      result,
      detail: `ValidatingAdmissionPolicy and binding ${shipped.name}: ${detail}`,
    });
  }
  return rows;
}
