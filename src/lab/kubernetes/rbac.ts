/**
 * A small RBAC authorizer for the lab: bearer tokens map to subjects, subjects carry policy rules
 * shaped like Kubernetes `PolicyRule`s (optionally limited to namespaces, as a RoleBinding would
 * be). Denials produce the same Status object a real API server returns.
 */

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
