import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { K8S_OPERATIONS, OWNER_OPERATIONS, roleFileOf } from '../../../src/providers/kubernetes/operations.js';
import type { KubernetesOperation } from '../../../src/providers/kubernetes/operations.js';
import { SHIPPED_ADMISSION_POLICIES } from '../../../src/providers/kubernetes/admission-policies.js';

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Doc { kind: string; metadata: { name: string; namespace?: string }; rules?: Rule[]; roleRef?: { kind: string; name: string } }

const dir = join(import.meta.dirname, '../../../policies/kubernetes');
const docs: Doc[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => loadAll(readFileSync(join(dir, f), 'utf8')) as Doc[]);
const roles = new Map(docs.filter((d) => d.kind === 'ClusterRole').map((d) => [d.metadata.name, d.rules ?? []]));
const operations = Object.entries(K8S_OPERATIONS) as Array<[string, KubernetesOperation]>;
const resourceOf = (op: KubernetesOperation) => (op.subresource ? `${op.resource}/${op.subresource}` : op.resource);

/** Every (group, resource, verb, name) a set of rules grants; `*` for every name (a rule without resourceNames). */
function grants(rules: Rule[]): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.flatMap((v) => (r.resourceNames?.length ? r.resourceNames : ['*']).map((n) => `${g}|${res}|${v}|${n}`)))));
}

/** Every (group, resource, verb, name) an operation needs; `*` when it reaches objects named only during a case. */
function needs(op: KubernetesOperation): string[] {
  return (op.resourceNames ?? ['*']).map((n) => `${op.apiGroup}|${resourceOf(op)}|${op.verb}|${n}`);
}

describe('the shipped RBAC in policies/kubernetes', () => {
  it('grants every operation the provider declares, in the role the operation names', () => {
    for (const [name, op] of operations) {
      // Built-in roles (system:basic-user) exist in every cluster: nothing to ship.
      if (op.role.startsWith('system:')) continue;
      const rules = roles.get(op.role);
      expect(rules, `${name}: role ${op.role} is not shipped`).toBeDefined();
      // A rule without resourceNames grants the named objects too (the next test refuses it as too broad).
      const granted = grants(rules!);
      for (const need of needs(op)) expect(granted.includes(need) || granted.includes(need.replace(/\|[^|]*$/, '|*')), `${name} is not granted by ${op.role}: ${need}`).toBe(true);
    }
  });

  it('defines each role in the file a refusal or a preflight row names for it', () => {
    for (const [name, op] of operations) {
      const file = roleFileOf(op.role);
      if (op.role.startsWith('system:')) {
        expect(file, name).toBeUndefined();
        continue;
      }
      const defined = loadAll(readFileSync(join(dir, '../..', file!), 'utf8')) as Doc[];
      expect(defined.some((d) => d.kind === 'ClusterRole' && d.metadata.name === op.role), `${name}: ${file} defines ${op.role}`).toBe(true);
    }
  });

  it('grants nothing the provider does not use', () => {
    for (const [role, rules] of roles) {
      // A grant for every name where the operation names its objects is a grant it does not use.
      const declared = operations.filter(([, op]) => op.role === role).flatMap(([, op]) => needs(op));
      for (const grant of grants(rules)) expect(declared, `${role} grants ${grant}, which no operation uses`).toContain(grant);
    }
  });

  it('never grants delete outside the forensics namespace, nor wildcards or escalation verbs', () => {
    for (const [role, rules] of roles) {
      for (const rule of rules) {
        // Only the retriever deletes, and only its own helper pods in the forensics namespace.
        if (role !== 'cloud-custody-checkpoint-retriever') expect(rule.verbs, role).not.toContain('delete');
        for (const bad of ['*', 'deletecollection', 'escalate', 'bind', 'impersonate', 'update']) expect(rule.verbs, role).not.toContain(bad);
        expect(rule.resources, role).not.toContain('*');
        expect(rule.apiGroups, role).not.toContain('*');
      }
    }
  });

  it('binds namespaced roles only per namespace, and ships no standing binding for nodes/proxy or cordon', () => {
    const bindings = docs.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding');
    for (const binding of bindings) {
      const scopes = new Set(operations.filter(([, op]) => op.role === binding.roleRef?.name).map(([, op]) => op.scope));
      if (scopes.has('namespace')) expect(binding.kind, binding.metadata.name).toBe('RoleBinding');
    }
    const retriever = bindings.filter((b) => b.roleRef?.name === 'cloud-custody-checkpoint-retriever');
    expect(retriever.map((b) => [b.kind, b.metadata.namespace])).toEqual([['RoleBinding', 'cloud-custody']]);
    const bound = bindings.map((b) => b.roleRef?.name);
    expect(bound).not.toContain('cloud-custody-node-checkpoint');
    expect(bound).not.toContain('cloud-custody-node-cordon');
    // Just-in-time roles are restricted to one node by name.
    for (const role of ['cloud-custody-node-checkpoint', 'cloud-custody-node-cordon']) {
      for (const rule of roles.get(role)!) expect(rule.resourceNames).toEqual(['NODE']);
    }
  });
});

describe('the preflight role', () => {
  it('reads the shipped admission policies and their bindings by name, and nothing else, bound cluster-wide to the collectors\' group', () => {
    const names = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicy').map((d) => d.metadata.name).sort();
    expect(docs.filter((d) => d.kind === 'ValidatingAdmissionPolicyBinding').map((d) => d.metadata.name).sort()).toEqual(names);
    expect(SHIPPED_ADMISSION_POLICIES.map((p) => p.name).sort()).toEqual(names);
    for (const shipped of SHIPPED_ADMISSION_POLICIES) {
      const file = loadAll(readFileSync(join(dir, shipped.file), 'utf8')) as Doc[];
      expect(file.map((d) => [d.kind, d.metadata.name]), shipped.file).toEqual([['ValidatingAdmissionPolicy', shipped.name], ['ValidatingAdmissionPolicyBinding', shipped.name]]);
    }
    expect(grants(roles.get('cloud-custody-preflight')!).sort()).toEqual(
      ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'].flatMap((r) => names.map((n) => `admissionregistration.k8s.io|${r}|get|${n}`)).sort(),
    );
    const bindings = docs.filter((d) => (d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding') && d.roleRef?.name === 'cloud-custody-preflight') as Array<Doc & { subjects: Array<{ kind: string; name: string }> }>;
    expect(bindings.map((b) => [b.kind, b.subjects])).toEqual([['ClusterRoleBinding', [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'cloud-custody:collectors' }]]]);
  });
});

describe('the other objects in policies/kubernetes', () => {
  it('are only the optional admission policies, each evaluated by a test of its own', () => {
    const rbacKinds = new Set(['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding']);
    const others = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .flatMap((f) => (loadAll(readFileSync(join(dir, f), 'utf8')) as Doc[]).filter((d) => !rbacKinds.has(d.kind)).map((d) => [f, d.kind]));
    expect(others).toEqual([
      ['networkpolicy-admission-policy.yaml', 'ValidatingAdmissionPolicy'],
      ['networkpolicy-admission-policy.yaml', 'ValidatingAdmissionPolicyBinding'],
      ['node-cordon-admission-policy.yaml', 'ValidatingAdmissionPolicy'],
      ['node-cordon-admission-policy.yaml', 'ValidatingAdmissionPolicyBinding'],
      ['pod-patch-admission-policy.yaml', 'ValidatingAdmissionPolicy'],
      ['pod-patch-admission-policy.yaml', 'ValidatingAdmissionPolicyBinding'],
    ]);
    // Their CEL is run by test/providers/kubernetes/<file>.test.ts (through ./admission.ts).
    for (const [file] of others) expect(existsSync(join(import.meta.dirname, `${file!.replace(/\.yaml$/, '')}.test.ts`)), file).toBe(true);
  });
});

describe('the declared operations', () => {
  it('are each used by the provider through callKubernetes (no dead declaration, no undeclared call)', () => {
    const srcDir = join(import.meta.dirname, '../../../src/providers/kubernetes');
    const source = readdirSync(srcDir)
      .filter((f) => f.endsWith('.ts') && f !== 'operations.ts')
      .map((f) => readFileSync(join(srcDir, f), 'utf8'))
      .join('\n');
    // Direct calls (callKubernetes, or callKubernetesAnswer when the answer's Audit-Id is kept), and
    // exec sessions that name their operation for openExecStream's callKubernetes.
    const called = new Set([...source.matchAll(/callKubernetes(?:Answer)?\('(\w+)'|operation: '(\w+)'/g)].map((m) => m[1] ?? m[2]));
    const ownerOps = new Set(Object.values(OWNER_OPERATIONS));
    for (const [name] of operations) {
      // The legacy exec verb is the same call, authorised as `get` by API servers before 1.35.
      if (name === 'execInPodLegacy' || name === 'execInHelperPodLegacy' || ownerOps.has(name as never)) continue;
      expect(called, `${name} is declared but never called`).toContain(name);
    }
    // The owner reads share one call site keyed by the owner kind.
    expect(source).toMatch(/callKubernetes(?:Answer)?\(opName,/);
    // Every API client method is called inside a callKubernetes(...) that opened just before it.
    const code = source.replace(/^\s*(\*|\/\/).*$/gm, '');
    const rawCalls = [...code.matchAll(/\b(core|apps|batch|networking|authorization|admission)\.(\w+)\(/g)];
    expect(rawCalls.length).toBeGreaterThan(5);
    for (const call of rawCalls) {
      const before = code.slice(Math.max(0, call.index - 600), call.index);
      expect(before, `${call[0]} is not inside callKubernetes`).toMatch(/callKubernetes(?:Answer)?\(/);
    }
  });
});
