/**
 * Preflight for Azure, before an incident: can custody get a token in each target tenant, and
 * does ARM say the collector has the declared actions where they are needed? ARM answers
 * `Microsoft.Authorization/permissions` at a scope with the caller's effective
 * actions/notActions (docs/research/azure.md §7.3); custody evaluates them (wildcards,
 * notActions) against operations.ts. Rows, never throws.
 */
import type { PreflightRow } from '../../core/provider-module.js';
import type { AzureConfig } from './config.js';
import { createAzureClients } from './clients.js';
import { ARM_SCOPE, createAzureIdentity, type IdentityDeps } from './identity.js';
import { AZURE_OPERATIONS, type AzureOperation, type AzureScopeKind } from './operations.js';
import { arr, obj, str } from './raw.js';
import type { AzureTarget } from './targets.js';

const PERMISSIONS_API_VERSION = '2022-04-01';

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
}

/** Whether ARM's effective permissions at a scope include an action (actions − notActions). */
export function effectiveAllows(permissions: unknown[], action: string): boolean {
  return permissions.some((p) => {
    const allow = arr(obj(p).actions).filter((a): a is string => typeof a === 'string');
    const deny = arr(obj(p).notActions).filter((a): a is string => typeof a === 'string');
    return allow.some((a) => glob(a).test(action)) && !deny.some((a) => glob(a).test(action));
  });
}

function neededAt(kind: AzureScopeKind): string[] {
  const actions = new Set<string>();
  for (const op of Object.values(AZURE_OPERATIONS) as AzureOperation[]) {
    if (op.side !== 'target') continue;
    for (const p of op.permissions) if (p.scope === kind && !p.data) actions.add(p.action);
  }
  return [...actions].sort();
}

export interface AzurePreflightRequest {
  config: AzureConfig;
  subscriptions?: string[];
  targets?: AzureTarget[];
  deps?: IdentityDeps;
}

export async function runAzurePreflight(request: AzurePreflightRequest): Promise<PreflightRow[]> {
  const { config } = request;
  const rows: PreflightRow[] = [];
  const identity = createAzureIdentity(config, () => {}, request.deps);
  const clients = createAzureClients(config, identity, 'preflight');
  const wanted = request.subscriptions?.map((s) => s.toLowerCase());
  for (const { subscriptionId, tenantId } of config.subscriptions) {
    if (wanted && !wanted.includes(subscriptionId.toLowerCase())) continue;
    const row = (check: string, result: PreflightRow['result'], action: string, detail: string, scope = 'subscription'): PreflightRow => ({ provider: 'azure', scope: [subscriptionId, scope], check, result, action, detail });
    try {
      const token = await identity.forTenant(tenantId).getToken(ARM_SCOPE);
      rows.push(row('token in the target tenant', token ? 'ok' : 'error', 'ClientAssertionCredential', token ? `tenant ${tenantId}, expires ${new Date(token.expiresOnTimestamp).toISOString()}` : 'no token'));
    } catch (error) {
      rows.push(row('token in the target tenant', 'error', 'ClientAssertionCredential', String((error as Error).message)));
      continue;
    }
    const scopes: Array<[string, string, AzureScopeKind]> = [
      [`/subscriptions/${subscriptionId}`, 'subscription', 'subscription'],
      [`/subscriptions/${subscriptionId}/resourceGroups/${config.stagingResourceGroup}`, config.stagingResourceGroup, 'staging'],
    ];
    for (const target of request.targets ?? []) {
      if (target.resource.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) continue;
      scopes.push([target.id, target.resource.names.join('/'), target.kind === 'azure-disk' ? 'disk' : 'vm']);
    }
    for (const [scope, label, kind] of scopes) {
      let permissions: unknown[];
      try {
        const response = await clients.rawArm(subscriptionId).pathUnchecked(`${scope}/providers/Microsoft.Authorization/permissions`).get({ queryParameters: { 'api-version': PERMISSIONS_API_VERSION } });
        if (response.status !== '200') throw new Error(`HTTP ${response.status} ${str(obj(obj(response.body).error).code) ?? ''}`);
        permissions = arr(obj(response.body).value);
      } catch (error) {
        rows.push(row('effective permissions', 'error', 'Microsoft.Authorization/permissions', `${scope}: ${(error as Error).message}`, label));
        continue;
      }
      for (const action of neededAt(kind)) {
        const ok = effectiveAllows(permissions, action);
        rows.push(row(`${kind} scope`, ok ? 'ok' : 'denied', action, ok ? scope : `not granted at ${scope}: assign the collector role there (docs/deploy-azure.md)`, label));
      }
    }
  }
  return rows;
}
