/**
 * Kubernetes preflight: before an incident, asks each configured cluster (SelfSubjectAccessReview,
 * which every authenticated user may do) whether the collector may perform each declared
 * operation, in each namespace it should be able to collect from, and whether the optional
 * admission policies are installed (preflight-admission.ts). Changes nothing.
 */
import type { CustodyConfig } from '../config.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import type { CaseRecorder, LedgerEntry } from '../../core/ports.js';
import type { ProviderServices } from '../../core/provider-module.js';
import { callKubernetes } from './call.js';
import { DEFAULT_FORENSICS_NAMESPACE } from './checkpoint-retrieve.js';
import { connectCluster } from './cluster-access.js';
import { withEksCredentials } from './eks-credentials.js';
import type { ClusterAccess, KubernetesDeps } from './cluster-access.js';
import { describeOperation, K8S_OPERATIONS, roleFileOf } from './operations.js';
import { admissionPolicyRows } from './preflight-admission.js';
import type { KubernetesOperation, KubernetesOperationName } from './operations.js';

export interface KubernetesPreflightRow {
  cluster: string;
  /** The namespace checked, or `(cluster)` for cluster-scoped operations. */
  namespace: string;
  check: KubernetesOperationName;
  /**
   * `warning`: an optional safeguard is not in place (an admission policy; a just-in-time grant
   * held on every node). `not bound`: a just-in-time role, as expected before an incident.
   */
  result: 'ok' | 'denied' | 'error' | 'warning' | 'not bound';
  /** `k8s:create pods/exec`. */
  action: string;
  /**
   * `required` for every case; the option that needs it; `just in time` (bound per node during an
   * incident); or `optional` (the admission policies: safer with them, collection works without).
   */
  need: 'required' | '--isolate' | '--retrieve-checkpoint' | 'just in time' | 'optional';
  detail: string;
}

export interface KubernetesPreflightOptions {
  config: CustodyConfig;
  /** Clusters to check (default: all configured). */
  clusters?: string[];
  /** Namespaces the collector must be able to collect from (default: `default`). */
  namespaces?: string[];
  /** Recorded as the collector sessions' SourceIdentity (EKS). */
  analyst?: string;
  deps?: KubernetesDeps;
  /** The registry's shared services (the AWS session broker EKS tokens are signed with). */
  services?: ProviderServices;
}

// Preflight opens no case: the collector session's `credentials.assumed` goes nowhere.
function discardingRecorder(analyst: string): CaseRecorder {
  const entry = (type: string, data: Record<string, unknown>): LedgerEntry => ({ seq: 0, time: new Date().toISOString(), type, actor: analyst, data, prev: '', hash: '', sig: '' });
  return {
    caseId: 'preflight',
    analyst,
    caseDir: '',
    record: async (type, data = {}) => entry(type, data),
    entries: () => [],
    storeEvidence: async () => {
      throw new CustodyError('E_INTERNAL', 'preflight stores no evidence');
    },
    recordArtifact: async () => {
      throw new CustodyError('E_INTERNAL', 'preflight records no artefact');
    },
  };
}

function needOf(op: KubernetesOperation): KubernetesPreflightRow['need'] {
  if (op.role === 'cloud-custody-containment') return '--isolate';
  if (op.role === 'cloud-custody-checkpoint-retriever') return '--retrieve-checkpoint';
  if (op.role === 'cloud-custody-node-checkpoint' || op.role === 'cloud-custody-node-cordon') return 'just in time';
  return 'required';
}

/**
 * What a review's answer means for an operation. A just-in-time role names its node
 * (`resourceNames`) and a review names none, so a denial is the deployment as shipped, and an
 * allowance is a standing grant on every node (nodes/proxy reaches every pod's exec there).
 */
function verdictOf(op: KubernetesOperation, allowed: boolean, reason: string | undefined): Pick<KubernetesPreflightRow, 'result' | 'detail'> {
  const role = `${op.role} (${roleFileOf(op.role) ?? 'built into the cluster'})`;
  if (needOf(op) === 'just in time') {
    return allowed
      ? { result: 'warning', detail: `allowed on every node: a standing grant of ${describeOperation(op)}; bind ${role} for the one node, only during a collection (docs/kubernetes.md)` }
      : { result: 'not bound', detail: `not held on every node, as intended: bind ${role} for the pod's node during a collection` };
  }
  return allowed ? { result: 'ok', detail: `granted by ${op.role}` } : { result: 'denied', detail: `not allowed${reason ? ` (${reason})` : ''}: bind ${role}` };
}

async function review(access: ClusterAccess, op: KubernetesOperation, namespace: string | undefined): Promise<{ allowed: boolean; reason?: string }> {
  const result = await callKubernetes('reviewAccess', `k8s:${access.name}`, () =>
    access.authorization.createSelfSubjectAccessReview({
      body: {
        spec: {
          resourceAttributes: {
            verb: op.verb,
            group: op.apiGroup,
            resource: op.resource,
            ...(op.subresource ? { subresource: op.subresource } : {}),
            ...(namespace ? { namespace } : {}),
          },
        },
      },
    }),
  );
  return { allowed: result.status?.allowed === true, ...(result.status?.reason ? { reason: result.status.reason } : {}) };
}

/**
 * Checks every declared operation in every cluster and namespace; a failure is a row, never a throw.
 *
 * @example
 * const rows = await runKubernetesPreflight({ config, namespaces: ['shop'] });
 * rows.filter((r) => r.result !== 'ok' && r.need === 'required');
 */
export async function runKubernetesPreflight(options: KubernetesPreflightOptions): Promise<KubernetesPreflightRow[]> {
  const clusters = options.clusters ?? Object.keys(options.config.kubernetes?.clusters ?? {});
  const recorder = discardingRecorder(options.analyst ?? options.config.analyst ?? 'cloud-custody-preflight');
  // EKS tokens are signed as a collection signs them: the collector role's session.
  const deps: KubernetesDeps = withEksCredentials(options.deps ?? {}, options.services);
  const rows: KubernetesPreflightRow[] = [];
  for (const cluster of clusters) {
    // --namespace wins; else where the config says the collector is bound; else `default`.
    const namespaces = options.namespaces?.length ? options.namespaces : (options.config.kubernetes?.clusters[cluster]?.namespaces ?? ['default']);
    let access: ClusterAccess;
    try {
      access = connectCluster(options.config, cluster, recorder, deps);
    } catch (error) {
      rows.push({ cluster, namespace: '(cluster)', check: 'reviewAccess', result: 'error', action: `k8s:${describeOperation(K8S_OPERATIONS.reviewAccess)}`, need: 'required', detail: (error as Error).message });
      continue;
    }
    for (const [name, op] of Object.entries(K8S_OPERATIONS) as Array<[KubernetesOperationName, KubernetesOperation]>) {
      // Preflight's own reads are checked by making them (below), not by asking about them.
      if (name === 'reviewAccess' || name === 'reviewIdentity' || op.role === 'cloud-custody-preflight') continue;
      // Helper pods run in the forensics namespace, not in the namespaces collected from.
      const forensics = options.config.kubernetes?.clusters[cluster]?.forensicsNamespace ?? DEFAULT_FORENSICS_NAMESPACE;
      const scopes = op.scope === 'cluster' ? [undefined] : op.role === 'cloud-custody-checkpoint-retriever' ? [forensics] : namespaces;
      for (const namespace of scopes) {
        const row = { cluster, namespace: namespace ?? '(cluster)', check: name, action: `k8s:${describeOperation(op)}`, need: needOf(op) };
        try {
          const { allowed, reason } = await review(access, op, namespace);
          rows.push({ ...row, ...verdictOf(op, allowed, reason) });
        } catch (error) {
          rows.push({ ...row, result: 'error', detail: isCustodyError(error) ? error.message : String(error) });
        }
      }
    }
    rows.push(...(await admissionPolicyRows(access)));
  }
  return rows;
}
