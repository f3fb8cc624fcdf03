/**
 * A small RBAC authorizer for the lab: bearer tokens map to subjects, subjects carry policy rules
 * shaped like Kubernetes `PolicyRule`s (optionally limited to namespaces, as a RoleBinding would
 * be). The collector's rules are derived from the shipped manifests (policies/kubernetes/*.yaml,
 * read when a scenario is built), so the lab grants what they grant and nothing else; a request
 * no rule allows is refused. Denials produce the same Status object a real API server returns.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import type { KubernetesObject, RbacV1Subject, V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';

export interface LabPolicyRule {
  apiGroups: string[];
  /** `pods`, `pods/exec`, `nodes/proxy`, or `*`. */
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Emulates a RoleBinding: the rule applies only in these namespaces. Absent: everywhere. */
  namespaces?: string[];
}

export interface LabSubject {
  user: string;
  groups?: string[];
  rules: LabPolicyRule[];
}

/** What a request asks to do, as the API server's RequestInfo would say. */
export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** True when one of the subject's rules allows the request. */
export function isAllowed(subject: LabSubject, attrs: RequestAttributes): boolean {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return subject.rules.some(
    (rule) =>
      (rule.apiGroups.includes('*') || rule.apiGroups.includes(attrs.apiGroup)) &&
      (rule.resources.includes('*') || rule.resources.includes(resource)) &&
      (rule.verbs.includes('*') || rule.verbs.includes(attrs.verb)) &&
      (!rule.resourceNames?.length || (attrs.name !== undefined && rule.resourceNames.includes(attrs.name))) &&
      (!rule.namespaces || (attrs.namespace !== undefined && rule.namespaces.includes(attrs.namespace))),
  );
}

/** The Status body of a 403, worded as the API server words it. */
export function forbiddenStatus(user: string, attrs: RequestAttributes): Record<string, unknown> {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const groupSuffix = attrs.apiGroup ? `.${attrs.apiGroup}` : '';
  const subject = attrs.name ? `${attrs.resource}${groupSuffix} "${attrs.name}"` : `${attrs.resource}${groupSuffix}`;
  const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${subject} is forbidden: User "${user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${where}`,
    reason: 'Forbidden',
    details: { ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.apiGroup ? { group: attrs.apiGroup } : {}), kind: attrs.resource },
    code: 403,
  };
}

/** The shipped RBAC of policies/kubernetes/ (beside dist/ and src/ alike). */
export const SHIPPED_RBAC_DIR = fileURLToPath(new URL('../../../policies/kubernetes', import.meta.url));

/** The RBAC objects of a folder of manifests, as `kubectl apply -f FOLDER` would read them. */
export function loadRbacManifests(dir: string = SHIPPED_RBAC_DIR): KubernetesObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .flatMap((f) => (loadAllYaml(readFileSync(join(dir, f), 'utf8')) as KubernetesObject[]).filter(Boolean));
}

/** How the lab deploys the shipped manifests, as the comments in them tell an operator to. */
export interface RbacDeployment {
  /** Who is bound: the user, and the groups authentication maps it to. */
  user: string;
  groups: string[];
  /** The namespaces a `NAMESPACE` RoleBinding is applied in (one binding per namespace). */
  namespaces: readonly string[];
  /**
   * The nodes the just-in-time roles (`resourceNames: ["NODE"]`, shipped without a binding) are
   * created and bound for, as their `kubectl create clusterrole … --resource-name=NODE` says.
   * None: they grant nothing.
   */
  jitNodes: readonly string[];
  /** The roles the operator binds just in time (shipped without a binding). Default: JUST_IN_TIME_ROLES. */
  jitRoles?: readonly string[];
}

/** The roles the shipped comments say to bind per node during an incident, never permanently. */
export const JUST_IN_TIME_ROLES: readonly string[] = ['cloud-custody-node-checkpoint', 'cloud-custody-node-cordon'];

const NAMESPACE_PLACEHOLDER = 'NAMESPACE';
const NODE_PLACEHOLDER = 'NODE';

function toLabRule(rule: V1PolicyRule, namespaces: string[] | undefined, nodes?: readonly string[]): LabPolicyRule[] {
  const resourceNames = rule.resourceNames?.flatMap((n) => (n === NODE_PLACEHOLDER && nodes ? [...nodes] : [n]));
  // NODE bound for no node grants nothing: an empty resourceNames would mean every name.
  if (rule.resourceNames?.length && !resourceNames?.length) return [];
  return [{
    apiGroups: [...(rule.apiGroups ?? [])],
    resources: [...(rule.resources ?? [])],
    verbs: [...rule.verbs],
    ...(rule.resourceNames ? { resourceNames: resourceNames ?? [] } : {}),
    ...(namespaces ? { namespaces } : {}),
  }];
}

/**
 * The rules a subject holds once the manifests are applied as `deployment` says: every binding
 * naming the user or one of its groups, resolved to its role's rules, a RoleBinding's limited to
 * its namespace; the just-in-time roles bound for `jitNodes` only. Nothing else is granted.
 * The result is a view of the manifests, computed when the lab starts, never a kept copy.
 */
export function subjectFromManifests(objects: readonly KubernetesObject[], deployment: RbacDeployment): LabSubject {
  const clusterRoles = new Map<string, V1ClusterRole>();
  const roles = new Map<string, V1Role>();
  for (const o of objects) {
    if (o.kind === 'ClusterRole') clusterRoles.set(o.metadata?.name ?? '', o as V1ClusterRole);
    if (o.kind === 'Role') roles.set(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o as V1Role);
  }
  const names = (s: RbacV1Subject) => (s.kind === 'Group' ? deployment.groups.includes(s.name) : s.kind === 'User' && s.name === deployment.user);
  const rules: LabPolicyRule[] = [];
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue;
    const binding = o as V1RoleBinding | V1ClusterRoleBinding;
    if (!(binding.subjects ?? []).some(names)) continue;
    const namespace = o.kind === 'RoleBinding' ? (o.metadata?.namespace ?? 'default') : undefined;
    const namespaces = namespace === undefined ? undefined : namespace === NAMESPACE_PLACEHOLDER ? [...deployment.namespaces] : [namespace];
    // A RoleBinding may name a ClusterRole (granted in its namespace only) or a Role of its namespace.
    const role = binding.roleRef.kind === 'ClusterRole' ? clusterRoles.get(binding.roleRef.name) : roles.get(`${namespace ?? ''}/${binding.roleRef.name}`);
    if (!role) continue;
    for (const rule of role.rules ?? []) rules.push(...toLabRule(rule, namespaces));
  }
  // The documented just-in-time step: each such role created for the node (NODE in its
  // resourceNames) and bound to the collectors' group with a ClusterRoleBinding.
  if (deployment.groups.includes(COLLECTORS_GROUP)) {
    for (const name of deployment.jitRoles ?? JUST_IN_TIME_ROLES) {
      const role = clusterRoles.get(name);
      if (!role) continue;
      for (const rule of role.rules ?? []) rules.push(...toLabRule(rule, undefined, deployment.jitNodes));
    }
  }
  return { user: deployment.user, groups: [...deployment.groups], rules };
}

/** The group the shipped bindings name (an EKS access entry's kubernetesGroups, an OIDC group). */
export const COLLECTORS_GROUP = 'cloud-custody:collectors';

/** The rules of one shipped ClusterRole, as a RoleBinding in `namespaces` (or a ClusterRoleBinding) grants them. */
export function roleRules(objects: readonly KubernetesObject[], name: string, namespaces?: readonly string[]): LabPolicyRule[] {
  const role = objects.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === name) as V1ClusterRole | undefined;
  if (!role) throw new Error(`no ClusterRole ${name} in the manifests`);
  return (role.rules ?? []).flatMap((r) => toLabRule(r, namespaces ? [...namespaces] : undefined));
}
