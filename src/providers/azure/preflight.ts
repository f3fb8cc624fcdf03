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
import { isCustodyError, type CustodyError } from '../../core/errors.js';
import { disksOfVmModel, readVmModel } from './describe.js';
import { parseResourceId } from './resource-id.js';
import { ARM_SCOPE, createAzureIdentity, type IdentityDeps } from './identity.js';
import { AZURE_OPERATIONS, type AzureOperation, type AzureScopeKind } from './operations.js';
import { arr, obj, str } from './raw.js';
import type { AzureTarget } from './targets.js';

const PERMISSIONS_API_VERSION = '2022-04-01';

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i');
}

/**
 * Whether ARM's effective permissions at a scope include an action: actions − notActions, or for
 * a data action dataActions − notDataActions. ARM does not evaluate role-assignment conditions
 * here, so a conditional grant counts as granted (docs/deploy-azure.md says what they enforce).
 */
export function effectiveAllows(permissions: unknown[], action: string, data = false): boolean {
  const strings = (value: unknown) => arr(value).filter((a): a is string => typeof a === 'string');
  return permissions.some((p) => {
    const allow = strings(data ? obj(p).dataActions : obj(p).actions);
    const deny = strings(data ? obj(p).notDataActions : obj(p).notActions);
    return allow.some((a) => glob(a).test(action)) && !deny.some((a) => glob(a).test(action));
  });
}

function neededAt(kind: AzureScopeKind, side: 'target' | 'soc' = 'target'): Array<{ action: string; data: boolean }> {
  const needs = new Map<string, boolean>();
  for (const op of Object.values(AZURE_OPERATIONS) as AzureOperation[]) {
    if (op.side !== side) continue;
    for (const p of op.permissions) if (p.scope === kind) needs.set(p.action, Boolean(p.data));
  }
  return [...needs].sort(([a], [b]) => a.localeCompare(b)).map(([action, data]) => ({ action, data }));
}

/**
 * The evidence container as an ARM scope, from `evidenceContainerUrl`: the account is the first
 * label of the host (`ACCOUNT.blob.core.windows.net/CONTAINER`), or the first path segment for an
 * emulator-style URL on an IP address or localhost (`https://127.0.0.1:10000/ACCOUNT/CONTAINER`).
 */
export function evidenceContainerScope(config: AzureConfig): string {
  const url = new URL(config.evidenceContainerUrl);
  const path = url.pathname.split('/').filter(Boolean);
  const pathStyle = /^(\d+\.){3}\d+$|^\[|^localhost$/i.test(url.hostname);
  const account = pathStyle ? path[0] : url.hostname.split('.')[0];
  const container = pathStyle ? path[1] : path[0];
  if (!account || !container) throw new Error(`azure.evidenceContainerUrl ${config.evidenceContainerUrl} names no account and container`);
  const group = config.evidenceStorageResourceGroup ?? config.evidenceResourceGroup;
  return `/subscriptions/${config.socSubscriptionId}/resourceGroups/${group}/providers/Microsoft.Storage/storageAccounts/${account}/blobServices/default/containers/${container}`;
}

type RawArm = ReturnType<ReturnType<typeof createAzureClients>['rawArm']>;

async function effectivePermissions(arm: RawArm, scope: string): Promise<unknown[]> {
  const response = await arm.pathUnchecked(`${scope}/providers/Microsoft.Authorization/permissions`).get({ queryParameters: { 'api-version': PERMISSIONS_API_VERSION } });
  if (response.status !== '200') throw new Error(`HTTP ${response.status} ${str(obj(obj(response.body).error).code) ?? ''}`);
  return arr(obj(response.body).value);
}

/**
 * What to do about a missing grant. On a VM or disk the shipped policy assigns the collector role
 * wherever the collection tag is (ABAC cannot gate Compute actions), so the tag is the usual answer.
 */
function remedy(kind: AzureScopeKind, config: AzureConfig): string {
  const tag = `${config.collectionTag.key}=${config.collectionTag.value}`;
  return kind === 'vm' || kind === 'disk'
    ? `the collector-assignment policy assigns the collector role to resources tagged ${tag} — tag it and let the policy (or a remediation task) assign it, or assign the role there yourself (docs/deploy-azure.md)`
    : 'assign the collector role there (docs/deploy-azure.md)';
}

const SCALE_SET_VM = 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/';

/** A scope whose effective permissions are compared with what collection needs there. */
interface CheckedScope {
  scope: string;
  /** The SCOPE column: the resource's name(s), or `subscription` / the staging group. */
  label: string;
  kind: AzureScopeKind;
  /** A VM target that is a scale-set instance (an AKS node). */
  scaleSetVm?: boolean;
  /** A disk found through this VM's model (the VM's label). */
  diskOf?: string;
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
    const scopes: CheckedScope[] = [
      { scope: `/subscriptions/${subscriptionId}`, label: 'subscription', kind: 'subscription' },
      { scope: `/subscriptions/${subscriptionId}/resourceGroups/${config.stagingResourceGroup}`, label: config.stagingResourceGroup, kind: 'staging' },
    ];
    for (const target of request.targets ?? []) {
      if (target.resource.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) continue;
      const label = target.resource.names.join('/');
      if (target.kind === 'azure-disk') {
        scopes.push({ scope: target.id, label, kind: 'disk' });
        continue;
      }
      scopes.push({ scope: target.id, label, kind: 'vm', scaleSetVm: target.kind === 'azure-vmss-vm' });
      // Collection reads and snapshots every disk at the disk's own scope, where a VM's tag (and so
      // the policy's assignment on the VM) does not reach: each disk is checked there too.
      try {
        const model = await readVmModel(clients, target);
        for (const disk of disksOfVmModel(obj(model.raw), '').disks) scopes.push({ scope: disk.id, label: parseResourceId(disk.id).names.join('/'), kind: 'disk', diskOf: label });
      } catch (error) {
        const e = error as CustodyError;
        const denied = isCustodyError(error) && error.code === 'E_ACCESS_DENIED';
        rows.push(row('disks of the vm', denied ? 'denied' : 'error', e.action ?? 'Microsoft.Compute/virtualMachines/read', `its disks were not checked: ${e.message}`, label));
      }
    }
    for (const { scope, label, kind, scaleSetVm, diskOf } of scopes) {
      let permissions: unknown[];
      try {
        permissions = await effectivePermissions(clients.rawArm(subscriptionId), scope);
      } catch (error) {
        rows.push(row('effective permissions', 'error', 'Microsoft.Authorization/permissions', `${scope}: ${(error as Error).message}`, label));
        continue;
      }
      // A VM needs the VM actions, a scale-set VM (an AKS node) the scale-set VM ones; never both.
      const needed = neededAt(kind).filter(({ action }) => kind !== 'vm' || action.startsWith(SCALE_SET_VM) === Boolean(scaleSetVm));
      for (const { action } of needed) {
        const ok = effectiveAllows(permissions, action);
        const why = `${remedy(kind, config)}${diskOf ? ` (a disk of ${diskOf}: a VM's tag does not reach its disks)` : ''}`;
        rows.push(row(`${kind} scope`, ok ? 'ok' : 'denied', action, ok ? scope : `not granted at ${scope}: ${why}`, label));
      }
    }
  }
  rows.push(...(await preflightEvidenceContainer(config, clients)));
  return rows;
}

/**
 * The SOC side: the SOC identity's effective data actions at the evidence container, compared
 * with what the writer and sealer steps declare (operations.ts, scope `container`).
 */
async function preflightEvidenceContainer(config: AzureConfig, clients: ReturnType<typeof createAzureClients>): Promise<PreflightRow[]> {
  const row = (result: PreflightRow['result'], action: string, detail: string, check = 'container scope'): PreflightRow => ({
    provider: 'azure',
    scope: [config.socSubscriptionId, 'evidence container'],
    check,
    result,
    action,
    detail,
  });
  let scope: string;
  let permissions: unknown[];
  try {
    scope = evidenceContainerScope(config);
    permissions = await effectivePermissions(clients.socArm(), scope);
  } catch (error) {
    return [row('error', 'Microsoft.Authorization/permissions', `evidence container: ${(error as Error).message}`, 'effective permissions')];
  }
  return neededAt('container', 'soc').map(({ action, data }) => {
    const ok = effectiveAllows(permissions, action, data);
    return row(ok ? 'ok' : 'denied', action, ok ? scope : `not granted at ${scope}: assign the evidence writer and sealer roles there (docs/deploy-azure.md)`);
  });
}
