/**
 * Every Kubernetes API operation the provider performs, with the RBAC verb, API group, resource
 * and subresource the API server authorises it as, and the shipped role (policies/kubernetes/)
 * that grants it. A test holds the YAML to exactly this set, and every call goes through
 * `callKubernetes(operation, …)` so an undeclared call cannot slip in.
 */
import { SHIPPED_ADMISSION_POLICIES } from './admission-policies.js';

/** The roles shipped in policies/kubernetes/, by `metadata.name`. */
export type KubernetesRoleName =
  | 'cloud-custody-collector'
  | 'cloud-custody-containment'
  | 'cloud-custody-node-reader'
  | 'cloud-custody-node-checkpoint'
  | 'cloud-custody-node-cordon'
  | 'cloud-custody-checkpoint-retriever'
  | 'cloud-custody-preflight'
  /** Built into every cluster and bound to every authenticated user: nothing to ship. */
  | 'system:basic-user';

export interface KubernetesOperation {
  /** RBAC verb as the API server authorises the request. */
  verb: 'get' | 'list' | 'create' | 'patch' | 'delete';
  /** API group: '' for the core group. */
  apiGroup: string;
  resource: string;
  subresource?: string;
  /** Namespaced (bound per namespace with a RoleBinding) or cluster-scoped (nodes). */
  scope: 'namespace' | 'cluster';
  mutates: boolean;
  role: KubernetesRoleName;
  /**
   * The only objects it reaches, when they are known before a case: the role grants it for these
   * names alone (`resourceNames`). `NODE` is the node under investigation, filled in when the
   * just-in-time role is created.
   */
  resourceNames?: readonly string[];
  /** Why the collector needs it, for plans and the RBAC docs. */
  why: string;
}

const op = (o: KubernetesOperation): KubernetesOperation => o;

const ADMISSION_POLICY_NAMES = SHIPPED_ADMISSION_POLICIES.map((p) => p.name);

export const K8S_OPERATIONS = {
  readPod: op({ verb: 'get', apiGroup: '', resource: 'pods', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'the pod object: uid, container ids, image digests, node' }),
  listPods: op({ verb: 'list', apiGroup: '', resource: 'pods', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'expand a label selector into pods' }),
  readReplicaSet: op({ verb: 'get', apiGroup: 'apps', resource: 'replicasets', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: "the pod's owner" }),
  readDeployment: op({ verb: 'get', apiGroup: 'apps', resource: 'deployments', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: "the ReplicaSet's owner" }),
  readStatefulSet: op({ verb: 'get', apiGroup: 'apps', resource: 'statefulsets', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: "the pod's owner" }),
  readDaemonSet: op({ verb: 'get', apiGroup: 'apps', resource: 'daemonsets', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: "the pod's owner" }),
  readJob: op({ verb: 'get', apiGroup: 'batch', resource: 'jobs', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: "the pod's owner" }),
  readServiceAccount: op({ verb: 'get', apiGroup: '', resource: 'serviceaccounts', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'the identity the pod runs as' }),
  listEvents: op({ verb: 'list', apiGroup: '', resource: 'events', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'events for the pod (kept one hour by default)' }),
  readPodLog: op({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'current and previous logs of every container' }),
  // API servers from 1.35 authorise the exec WebSocket upgrade as `create`
  // (AuthorizePodWebsocketUpgradeCreatePermission); older ones authorise the GET as `get`.
  execInPod: op({ verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'volatile state from the fixed allow-list of read-only commands' }),
  execInPodLegacy: op({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'exec', scope: 'namespace', mutates: false, role: 'cloud-custody-collector', why: 'the same exec, as API servers before 1.35 authorise it' }),
  readNode: op({ verb: 'get', apiGroup: '', resource: 'nodes', scope: 'cluster', mutates: false, role: 'cloud-custody-node-reader', why: "the pod's node: providerID (its cloud instance) and node info" }),
  // Mutates: CRIU freezes the container while it dumps it, and the archive is written to the node.
  checkpointContainer: op({ verb: 'create', apiGroup: '', resource: 'nodes', subresource: 'proxy', scope: 'cluster', mutates: true, role: 'cloud-custody-node-checkpoint', resourceNames: ['NODE'], why: 'kubelet checkpoint API through the API server node proxy' }),
  labelPod: op({ verb: 'patch', apiGroup: '', resource: 'pods', scope: 'namespace', mutates: true, role: 'cloud-custody-containment', why: '--isolate: label the pod so the deny-all NetworkPolicy selects it' }),
  createNetworkPolicy: op({ verb: 'create', apiGroup: 'networking.k8s.io', resource: 'networkpolicies', scope: 'namespace', mutates: true, role: 'cloud-custody-containment', why: '--isolate: deny all ingress and egress of the labelled pod' }),
  readNetworkPolicy: op({ verb: 'get', apiGroup: 'networking.k8s.io', resource: 'networkpolicies', scope: 'namespace', mutates: false, role: 'cloud-custody-containment', why: '--isolate: a resumed case finds the policy it created' }),
  // --retrieve-checkpoint: a helper pod in the forensics namespace (never the target's) copies the
  // archive off the node through exec, and is deleted afterwards.
  createHelperPod: op({ verb: 'create', apiGroup: '', resource: 'pods', scope: 'namespace', mutates: true, role: 'cloud-custody-checkpoint-retriever', why: '--retrieve-checkpoint: a helper pod on the node, mounting its checkpoint folder read-only' }),
  readHelperPod: op({ verb: 'get', apiGroup: '', resource: 'pods', scope: 'namespace', mutates: false, role: 'cloud-custody-checkpoint-retriever', why: '--retrieve-checkpoint: wait for the helper pod to run' }),
  execInHelperPod: op({ verb: 'create', apiGroup: '', resource: 'pods', subresource: 'exec', scope: 'namespace', mutates: false, role: 'cloud-custody-checkpoint-retriever', why: '--retrieve-checkpoint: stream the archive out (cat), hashed while written' }),
  execInHelperPodLegacy: op({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'exec', scope: 'namespace', mutates: false, role: 'cloud-custody-checkpoint-retriever', why: 'the same exec, as API servers before 1.35 authorise it' }),
  deleteHelperPod: op({ verb: 'delete', apiGroup: '', resource: 'pods', scope: 'namespace', mutates: true, role: 'cloud-custody-checkpoint-retriever', why: '--retrieve-checkpoint: remove the helper pod (only in the forensics namespace)' }),
  reviewIdentity: op({ verb: 'create', apiGroup: 'authentication.k8s.io', resource: 'selfsubjectreviews', scope: 'cluster', mutates: false, role: 'system:basic-user', why: 'who the API server takes the collector for, recorded with the case' }),
  reviewAccess: op({ verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews', scope: 'cluster', mutates: false, role: 'system:basic-user', why: 'preflight: ask the API server whether each declared operation is allowed' }),
  cordonNode: op({ verb: 'patch', apiGroup: '', resource: 'nodes', scope: 'cluster', mutates: true, role: 'cloud-custody-node-cordon', resourceNames: ['NODE'], why: '--isolate: cordon the node (never drain)' }),
  // Preflight only: whether the optional admission policies (and their bindings) are installed.
  readAdmissionPolicy: op({ verb: 'get', apiGroup: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicies', scope: 'cluster', mutates: false, role: 'cloud-custody-preflight', resourceNames: ADMISSION_POLICY_NAMES, why: 'preflight: is each optional admission policy installed' }),
  readAdmissionPolicyBinding: op({ verb: 'get', apiGroup: 'admissionregistration.k8s.io', resource: 'validatingadmissionpolicybindings', scope: 'cluster', mutates: false, role: 'cloud-custody-preflight', resourceNames: ADMISSION_POLICY_NAMES, why: 'preflight: is each optional admission policy bound' }),
} as const;

export type KubernetesOperationName = keyof typeof K8S_OPERATIONS;

/** `create pods/exec`, `get apps/replicasets`: how an operation is named in errors and plans. */
export function describeOperation(operation: KubernetesOperation): string {
  const resource = operation.subresource ? `${operation.resource}/${operation.subresource}` : operation.resource;
  return `${operation.verb} ${operation.apiGroup ? `${operation.apiGroup}/` : ''}${resource}`;
}

/**
 * The file of policies/kubernetes/ that defines a shipped role (`cloud-custody-collector` →
 * `policies/kubernetes/collector-role.yaml`); none for a role every cluster has built in.
 */
export function roleFileOf(role: KubernetesRoleName): string | undefined {
  const prefix = 'cloud-custody-';
  return role.startsWith(prefix) ? `policies/kubernetes/${role.slice(prefix.length)}-role.yaml` : undefined;
}

/** The owner kinds the collector follows, and the operation that reads each. */
export const OWNER_OPERATIONS: Readonly<Record<string, KubernetesOperationName>> = {
  ReplicaSet: 'readReplicaSet',
  Deployment: 'readDeployment',
  StatefulSet: 'readStatefulSet',
  DaemonSet: 'readDaemonSet',
  Job: 'readJob',
};
