/**
 * Azure Resource Manager ids. ARM compares subscription ids, resource group names, provider
 * namespaces, types and names case-insensitively (ARM RPC, "Case Insensitivity for Requests";
 * docs/research/azure.md §4.2), and AKS writes node resource groups lower-cased into
 * `spec.providerID`. So: parse once, compare and key by `resourceKey` (lower case), and keep
 * `id` exactly as Azure (or the responder) wrote it for the ledger and the case folder.
 */
import { CustodyError } from '../../core/errors.js';

export interface ResourceId {
  /** As given or as Azure returned it: never rewritten. */
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** `Microsoft.Compute` */
  readonly namespace: string;
  /** Type segments below the namespace: `virtualMachineScaleSets/virtualMachines`. */
  readonly type: string;
  /** Names matching `type`'s segments: `['aks-pool-1234', '3']`. */
  readonly names: readonly string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ARM resource group names: letters, digits, underscore, hyphen, period and parentheses, ≤ 90.
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/u;
const NAME = /^[^/?#\s][^/?#]{0,259}$/;

export const RESOURCE_ID_FORM = '/subscriptions/SUB/resourceGroups/RG/providers/NAMESPACE/TYPE/NAME[/TYPE/NAME…]';

function invalid(raw: string, why: string): CustodyError {
  return new CustodyError('E_INPUT', `invalid Azure resource id "${raw}": ${why}. Expected ${RESOURCE_ID_FORM}.`, { resource: raw });
}

/** Parses a resource-group-level ARM id. Throws `E_INPUT` naming what is wrong. */
export function parseResourceId(raw: string): ResourceId {
  const id = raw.trim();
  if (!id.startsWith('/')) throw invalid(raw, 'it must start with /subscriptions/');
  const parts = id.slice(1).split('/');
  if (parts.some((p) => p === '')) throw invalid(raw, 'it has an empty path segment');
  const [subs, subscriptionId = '', rgs, resourceGroup = '', providers, namespace = '', ...rest] = parts;
  if (subs?.toLowerCase() !== 'subscriptions') throw invalid(raw, 'it must start with /subscriptions/');
  if (!GUID.test(subscriptionId)) throw invalid(raw, `"${subscriptionId}" is not a subscription id (a GUID)`);
  if (rgs?.toLowerCase() !== 'resourcegroups') throw invalid(raw, 'the second segment must be resourceGroups');
  if (!RESOURCE_GROUP.test(resourceGroup)) throw invalid(raw, `"${resourceGroup}" is not a resource group name`);
  if (providers?.toLowerCase() !== 'providers') throw invalid(raw, 'the third segment must be providers');
  if (!/^[A-Za-z][A-Za-z0-9]*\.[A-Za-z0-9.]+$/.test(namespace)) throw invalid(raw, `"${namespace}" is not a provider namespace`);
  if (rest.length === 0 || rest.length % 2 !== 0) throw invalid(raw, 'types and names must come in pairs');
  const types: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const type = rest[i] ?? '';
    const name = rest[i + 1] ?? '';
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(type)) throw invalid(raw, `"${type}" is not a resource type`);
    if (!NAME.test(name)) throw invalid(raw, `"${name}" is not a resource name`);
    types.push(type);
    names.push(name);
  }
  return { id, subscriptionId, resourceGroup, namespace, type: types.join('/'), names };
}

/** The case-insensitive identity of a resource id: use it for maps, sets and comparisons. */
export function resourceKey(id: string | ResourceId): string {
  return (typeof id === 'string' ? id.trim() : id.id).toLowerCase();
}

/** Whether two ids name the same resource (ARM's comparison, not JavaScript's). */
export function sameResource(a: string | ResourceId, b: string | ResourceId): boolean {
  return resourceKey(a) === resourceKey(b);
}

/**
 * ARM's comparison for an id a ledger entry recorded (a value of any type) and one asked for: the
 * "don't record twice" checks compare a recorded artefact's ids so, since Azure may answer an id
 * in another casing on a later read than the one the case recorded.
 */
export function sameRecordedResource(recorded: unknown, asked: string): boolean {
  return typeof recorded === 'string' && sameResource(recorded, asked);
}

/** `Microsoft.Compute/virtualMachines`, lower-cased, for matching a parsed id's kind. */
export function fullTypeKey(id: ResourceId): string {
  return `${id.namespace}/${id.type}`.toLowerCase();
}

/** The id of the resource group that holds a resource, with Azure's casing of what it had. */
export function resourceGroupId(id: ResourceId): string {
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}`;
}

/** The id of a resource in a resource group: `/subscriptions/…/providers/NS/TYPE/NAME`. */
export function buildResourceId(subscriptionId: string, resourceGroup: string, namespace: string, type: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${namespace}/${type}/${name}`;
}

/** Whether `scope` is `id` or one of its ancestors (`/subscriptions/S`, its RG, the resource). */
export function scopeContains(scope: string, id: string): boolean {
  const s = resourceKey(scope).replace(/\/+$/, '');
  const r = resourceKey(id);
  return s === '' || s === '/' || r === s || r.startsWith(`${s}/`);
}
