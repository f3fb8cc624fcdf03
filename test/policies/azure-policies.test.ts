/**
 * The shipped Azure custom roles are exactly what the provider declares (src/providers/azure/
 * operations.ts), both ways: nothing the code calls is missing, nothing a role grants is unused.
 * The lab's RBAC reads these same files, so a missing action also fails the end-to-end tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AZURE_OPERATIONS, type AzureOperation } from '../../src/providers/azure/operations.js';
import { loadRoleDefinitions, permits } from '../../src/lab/azure/rbac.js';

const DIR = join(import.meta.dirname, '../../policies/azure');
const roles = loadRoleDefinitions(DIR);
const ops = Object.entries(AZURE_OPERATIONS) as Array<[string, AzureOperation]>;
const TARGET_ROLES = ['collector-role', 'collector-discovery-role'];
const SOC_ROLES = ['evidence-writer-role', 'evidence-sealer-role', 'evidence-verifier-role'];
/** Held by the Azure Policy assignment's managed identity, not by custody: collector-assignment-policy.test.ts holds it. */
const DEPLOYMENT_ROLES = ['policy-remediator-role'];

const granted = (names: string[], data: boolean) =>
  new Set(names.flatMap((n) => roles.get(n)!.permissions.flatMap((p) => (data ? p.dataActions : p.actions))));

describe('Azure custom roles', () => {
  it('are ARM custom role definitions with assignable scopes and no wildcard, delete or write-to-target action', () => {
    expect([...roles.keys()].sort()).toEqual([...TARGET_ROLES, ...SOC_ROLES, ...DEPLOYMENT_ROLES].sort());
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('-role.json'))) {
      const doc = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { properties: { type: string; assignableScopes: string[]; permissions: Array<Record<string, string[]>> } };
      expect(doc.properties.type, file).toBe('CustomRole');
      expect(doc.properties.assignableScopes.length, file).toBeGreaterThan(0);
      const all = doc.properties.permissions.flatMap((p) => [...(p.actions ?? []), ...(p.dataActions ?? [])]);
      expect(all.filter((a) => a.includes('*')), file).toEqual([]);
      expect(all.filter((a) => /\/delete$/i.test(a)), file).toEqual([]);
      expect(all.filter((a) => /^Microsoft\.Compute\/(virtualMachines|disks|virtualMachineScaleSets)\/.*write$/i.test(a)), file).toEqual([]);
    }
  });

  it('policies/azure holds only role definitions, the SOC and staging assignments, the collector-assignment policy and the assignment of its identity', () => {
    expect(readdirSync(DIR).filter((f) => !f.endsWith('-role.json')).sort()).toEqual(['collector-assignment-policy.json', 'policy-identity-assignment.json', 'soc-assignments.json', 'staging-assignment.json']);
  });

  it.each(ops.flatMap(([name, op]) => op.permissions.map((p) => [`${name}: ${p.action}`, op, p] as const)))('%s is granted by a role on its side', (_n, op, need) => {
    const names = op.side === 'target' ? TARGET_ROLES : SOC_ROLES;
    const ok = names.some((n) => roles.get(n)!.permissions.some((p) => permits(p, need.action, Boolean(need.data))));
    expect(ok).toBe(true);
  });

  it('every action a target-side role grants is declared by a target-side operation', () => {
    const declared = new Set(ops.filter(([, op]) => op.side === 'target').flatMap(([, op]) => op.permissions.filter((p) => !p.data).map((p) => p.action)));
    expect([...granted(TARGET_ROLES, false)].filter((a) => !declared.has(a))).toEqual([]);
    expect([...granted(TARGET_ROLES, true)]).toEqual([]);
  });

  it('every data action a SOC role grants is declared by a SOC operation', () => {
    const declared = new Set(ops.filter(([, op]) => op.side === 'soc').flatMap(([, op]) => op.permissions.filter((p) => p.data).map((p) => p.action)));
    expect([...granted(SOC_ROLES, true)].filter((a) => !declared.has(a))).toEqual([]);
    expect([...granted(SOC_ROLES, false)]).toEqual([]);
  });

  it('the writer cannot seal or unseal, the verifier can only read', () => {
    const writer = granted(['evidence-writer-role'], true);
    expect([...writer].some((a) => a.includes('immutableStorage'))).toBe(false);
    expect([...granted(['evidence-verifier-role'], true)]).toEqual(['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read']);
  });

  it('the discovery role (subscription-wide) grants no snapshot, export or boot-diagnostics action', () => {
    const discovery = [...granted(['collector-discovery-role'], false)];
    expect(discovery.filter((a) => /snapshots|GetAccess|retrieveBootDiagnosticsData|restorePoint|disks\//i.test(a))).toEqual([]);
  });
});

describe('Azure operations are all made by the code', () => {
  it('every declared operation is called somewhere in src/providers/azure (callAzure, withOperation or an export source)', () => {
    const dir = join(import.meta.dirname, '../../src/providers/azure');
    const source = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'operations.ts' && f !== 'plan.ts').map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    const unused = ops.map(([name]) => name).filter((name) => !new RegExp(`(callAzure|withOperation)\\('${name}'|Op: '${name}'`).test(source));
    expect(unused).toEqual([]);
  });
});
