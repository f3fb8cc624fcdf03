/**
 * The optional ValidatingAdmissionPolicies shipped in policies/kubernetes/ (each bound by a
 * ValidatingAdmissionPolicyBinding of the same name): preflight reports whether each is installed.
 * A test holds this list to the YAML.
 */
export interface ShippedAdmissionPolicy {
  /** The policy's and its binding's `metadata.name`. */
  name: string;
  /** Its file in policies/kubernetes/. */
  file: string;
  /** The grant it narrows. */
  narrows: string;
}

export const SHIPPED_ADMISSION_POLICIES: readonly ShippedAdmissionPolicy[] = [
  { name: 'cloud-custody-networkpolicy-deny-all-only', file: 'networkpolicy-admission-policy.yaml', narrows: '--isolate: create networkpolicies to the deny-all policy under its own name' },
  { name: 'cloud-custody-node-cordon-only', file: 'node-cordon-admission-policy.yaml', narrows: '--isolate: the just-in-time patch nodes to the cordon' },
  { name: 'cloud-custody-pod-isolate-label-only', file: 'pod-patch-admission-policy.yaml', narrows: '--isolate: patch pods to the isolate label' },
];
