/**
 * Reads the non-role files of `policies/azure/` — the SOC role assignments with their ABAC
 * conditions, the staging-group assignment and the Azure Policy definition — and fills their
 * `{placeholder}`s. The lab, the
 * infra generator (scripts/generate-azure-infra.ts) and the tests read them through here, so
 * all three hold the same text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AZURE_POLICIES_DIR = fileURLToPath(new URL('../../../policies/azure', import.meta.url));

export interface SocAssignment {
  name: string;
  /** A role file of policies/azure without `.json`: `evidence-writer-role`. */
  role: string;
  principalId: string;
  description: string;
  condition: string;
  conditionVersion: '2.0';
}

export interface SocAssignmentsFile {
  description: string;
  /** The evidence container's ARM id, with placeholders. */
  scope: string;
  assignments: SocAssignment[];
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** Every `{placeholder}` in a document's strings (not `{…}` that holds a quote, like ABAC's `ActionMatches{'…'}`). */
export function azurePlaceholders(doc: unknown): string[] {
  const found = new Set<string>();
  for (const match of JSON.stringify(doc).matchAll(PLACEHOLDER)) found.add(match[1]!);
  return [...found].sort();
}

/** Replaces each `{placeholder}` in every string of a document; throws on one without a value. */
export function fillAzurePlaceholders<T>(doc: T, values: Record<string, string>): T {
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value.replace(PLACEHOLDER, (whole, name: string) => {
        const v = values[name];
        if (v === undefined) throw new Error(`no value for ${whole}`);
        return v;
      });
    }
    if (Array.isArray(value)) return value.map(fill);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  return fill(doc) as T;
}

export function readAzurePolicyFile<T = unknown>(file: string, dir = AZURE_POLICIES_DIR): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

export function readSocAssignments(dir = AZURE_POLICIES_DIR): SocAssignmentsFile {
  return readAzurePolicyFile<SocAssignmentsFile>('soc-assignments.json', dir);
}

/** The collector's assignment at the staging resource group of a target subscription. */
export interface StagingAssignmentFile {
  description: string;
  role: string;
  principalId: string;
  scope: string;
}

export function readStagingAssignment(dir = AZURE_POLICIES_DIR): StagingAssignmentFile {
  return readAzurePolicyFile<StagingAssignmentFile>('staging-assignment.json', dir);
}
