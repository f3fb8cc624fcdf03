/**
 * Reads `policies/gcp/`: the custom roles, the allow bindings (with their IAM conditions) and
 * the deny policies. The lab decides by them, tests hold them to the code's declared calls, and
 * `infra/gcp/` is checked against them. One loader so the three never read different files.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface GcpCustomRole {
  roleId: string;
  title: string;
  description: string;
  stage: string;
  includedPermissions: string[];
}

export interface GcpCondition {
  title: string;
  description?: string;
  expression: string;
}

export interface GcpBinding {
  id: string;
  /** File name of the role in policies/gcp/ without `.json`. */
  role: string;
  scope: 'target-project' | 'forensics-project' | 'collector-service-account' | 'evidence-hold-tag-value';
  member: string;
  condition?: GcpCondition;
  /** Bound only when the feature is configured (the evidence hold). */
  optional?: boolean;
}

export interface GcpDenyRule {
  description: string;
  denyRule: {
    deniedPrincipals: string[];
    exceptionPrincipals?: string[];
    deniedPermissions: string[];
    exceptionPermissions?: string[];
    denialCondition?: GcpCondition;
  };
}

export interface GcpDenyPolicy {
  policyId: string;
  attachmentPoint: 'organization' | 'forensics-project';
  displayName: string;
  rules: GcpDenyRule[];
}

export const GCP_ROLE_FILES = ['collector-role', 'inventory-role', 'snapshot-writer-role', 'evidence-hold-role', 'token-creator-role'] as const;
export const GCP_DENY_POLICY_FILES = ['protect-collection-tag-deny-policy', 'evidence-hold-deny-policy'] as const;

/** `policies/gcp/` both from src/lab/gcp and from dist/lab/gcp. */
export const GCP_POLICY_DIR = fileURLToPath(new URL('../../../policies/gcp/', import.meta.url));

/** The placeholders a deployment fills (documented in policies/gcp/README.md). */
export interface GcpPolicyValues {
  OrgId: string;
  ForensicsProject: string;
  OrchestratorServiceAccount: string;
  CollectorServiceAccount: string;
  TagAdminGroup: string;
  BreakGlassGroup: string;
}

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(`${GCP_POLICY_DIR}${name}.json`, 'utf8')) as T;
}

export function readGcpRole(name: string): GcpCustomRole {
  return readJson<GcpCustomRole>(name);
}

export function readGcpBindings(): GcpBinding[] {
  return readJson<{ bindings: GcpBinding[] }>('bindings').bindings;
}

export function readGcpDenyPolicy(name: string): GcpDenyPolicy {
  return readJson<GcpDenyPolicy>(name);
}

/** Fills `${Name}` placeholders; an unknown one is an error naming it (never a silent hole). */
export function fillGcpPlaceholders<T>(value: T, values: Partial<GcpPolicyValues>): T {
  const text = JSON.stringify(value).replace(/\$\{([A-Za-z]+)\}/g, (whole, name: string) => {
    const filled = (values as Record<string, string | undefined>)[name];
    if (filled === undefined) throw new Error(`policies/gcp: no value for ${whole}`);
    return filled;
  });
  return JSON.parse(text) as T;
}

export function placeholdersInGcp(value: unknown): string[] {
  return [...new Set([...JSON.stringify(value).matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1] ?? ''))].sort();
}
