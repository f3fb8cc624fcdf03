/**
 * The lab's Azure RBAC: decides every request from the role definitions shipped in
 * `policies/azure/` and the lab's role assignments, the way ARM does for the parts custody
 * relies on — an assignment applies at its scope and everything below it (case-insensitive),
 * a role allows `actions` minus `notActions` (data: `dataActions` minus `notDataActions`),
 * `*` matches any run of characters, case does not matter. An assignment may carry an ABAC
 * condition (abac-condition.ts): it is evaluated for the request, and a condition that is false
 * or cannot be evaluated means the assignment does not grant it. Azure applies conditions only
 * to Blob/Queue data actions (docs/research/azure.md §7.4): the shipped ones target blob data
 * actions and pass every other action through `!(ActionMatches{…}) OR …`. No deny assignments.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { blobResourceAttributes, evaluateCondition } from './abac-condition.js';

export interface RolePermissions {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinition {
  /** The file's name without `.json`: `collector-role`. */
  name: string;
  roleName: string;
  permissions: RolePermissions[];
}

export interface RoleAssignment {
  principalId: string;
  /** `RoleDefinition.name`. */
  role: string;
  scope: string;
  /** An ABAC condition (version 2.0), as in policies/azure/soc-assignments.json. */
  condition?: string;
}

/** What a data request carries beyond its scope: the suboperation (`Blob.List`). */
export interface DataRequest {
  subOperation?: string;
}

export type Decision = { allowed: true } | { allowed: false; action: string; scope: string };

/** Reads every `*-role.json` in a folder (ARM REST shape: `{properties: {roleName, permissions}}`). */
export function loadRoleDefinitions(folder: string): Map<string, RoleDefinition> {
  const roles = new Map<string, RoleDefinition>();
  for (const file of readdirSync(folder).filter((f) => f.endsWith('-role.json')).sort()) {
    const doc = JSON.parse(readFileSync(join(folder, file), 'utf8')) as { properties: { roleName: string; permissions: Partial<RolePermissions>[] } };
    roles.set(file.replace(/\.json$/, ''), {
      name: file.replace(/\.json$/, ''),
      roleName: doc.properties.roleName,
      permissions: doc.properties.permissions.map((p) => ({
        actions: p.actions ?? [],
        notActions: p.notActions ?? [],
        dataActions: p.dataActions ?? [],
        notDataActions: p.notDataActions ?? [],
      })),
    });
  }
  return roles;
}

function pattern(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
}

/** Whether a role permission block grants an action (wildcards, notActions subtracted). */
export function permits(permission: RolePermissions, action: string, data: boolean): boolean {
  const allow = data ? permission.dataActions : permission.actions;
  const subtract = data ? permission.notDataActions : permission.notActions;
  return allow.some((a) => pattern(a).test(action)) && !subtract.some((a) => pattern(a).test(action));
}

function within(scope: string, resource: string): boolean {
  const s = scope.toLowerCase().replace(/\/+$/, '');
  const r = resource.toLowerCase();
  return s === '' || r === s || r.startsWith(`${s}/`);
}

function conditionHolds(condition: string | undefined, action: string, scope: string, request: DataRequest): boolean {
  if (!condition) return true;
  const outcome = evaluateCondition(condition, { action, attributes: blobResourceAttributes(scope), ...(request.subOperation ? { subOperation: request.subOperation } : {}) });
  return 'result' in outcome && outcome.result;
}

export class RbacModel {
  readonly assignments: RoleAssignment[] = [];
  /** Every decision, in order: lets a test hold the code's calls to the declared set. */
  readonly decisions: Array<{ principalId: string; action: string; scope: string; data: boolean; allowed: boolean }> = [];

  constructor(readonly roles: Map<string, RoleDefinition>) {}

  assign(principalId: string, role: string, scope: string, condition?: string): void {
    if (!this.roles.has(role)) throw new Error(`lab RBAC: no role definition "${role}" in policies/azure`);
    this.assignments.push({ principalId, role, scope, ...(condition ? { condition } : {}) });
  }

  /** Removes an action from a role, as a test that proves the role needs it. */
  withoutAction(role: string, action: string): void {
    const definition = this.roles.get(role);
    if (!definition) throw new Error(`lab RBAC: no role "${role}"`);
    for (const p of definition.permissions) {
      p.actions = p.actions.filter((a) => a.toLowerCase() !== action.toLowerCase());
      p.dataActions = p.dataActions.filter((a) => a.toLowerCase() !== action.toLowerCase());
    }
  }

  /**
   * Whether the principal may perform the action at the scope. For a blob, pass its scope as
   * `…/containers/C/blobs/PATH`: the condition's container and path attributes are read from it.
   */
  decide(principalId: string, action: string, scope: string, data = false, request: DataRequest = {}): Decision {
    const allowed = this.assignments.some(
      (a) =>
        a.principalId === principalId &&
        within(a.scope, scope) &&
        this.roles.get(a.role)!.permissions.some((p) => permits(p, action, data)) &&
        conditionHolds(a.condition, action, scope, request),
    );
    this.decisions.push({ principalId, action, scope, data, allowed });
    return allowed ? { allowed: true } : { allowed: false, action, scope };
  }

  /** What `Microsoft.Authorization/permissions` answers for a principal at a scope. */
  effectivePermissions(principalId: string, scope: string): RolePermissions[] {
    return this.assignments
      .filter((a) => a.principalId === principalId && within(a.scope, scope))
      .flatMap((a) => this.roles.get(a.role)!.permissions.map((p) => ({ ...p })));
  }
}
