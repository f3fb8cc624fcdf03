/**
 * What a responder can name for Azure: a VM, a managed disk, a scale-set VM (an AKS node), by
 * ARM id, by the portal URL of its page, or by a Kubernetes node's `spec.providerID`
 * (`azure:///subscriptions/…`), and a tag
 * selector across the configured subscriptions. Ids are parsed case-insensitively and kept as
 * written (resource-id.ts).
 */
import { CustodyError } from '../../core/errors.js';
import type { Selector, Target } from '../../core/targets.js';
import { emptyValueReason } from '../shared/selector-values.js';
import { fullTypeKey, parseResourceId, resourceKey, RESOURCE_ID_FORM, type ResourceId } from './resource-id.js';

export interface AzureVmTarget extends Target {
  provider: 'azure';
  kind: 'azure-vm';
  /** As given: the ledger's target key. */
  id: string;
  resource: ResourceId;
}

export interface AzureDiskTarget extends Target {
  provider: 'azure';
  kind: 'azure-disk';
  id: string;
  resource: ResourceId;
}

/** A uniform scale set's instance: what an AKS node is. `instanceId` is the ARM name (`3`). */
export interface AzureVmssVmTarget extends Target {
  provider: 'azure';
  kind: 'azure-vmss-vm';
  id: string;
  resource: ResourceId;
  scaleSet: string;
  instanceId: string;
}

export type AzureTarget = AzureVmTarget | AzureDiskTarget | AzureVmssVmTarget;

/** `azure:tag:KEY=VALUE`: every VM carrying that tag in the configured subscriptions. */
export interface AzureTagSelector extends Selector {
  provider: 'azure';
  kind: 'azure-tag';
  /** The tag's name (`key` is the selector's stable text). */
  tagKey: string;
  value: string;
}

const PROVIDER_ID_PREFIX = 'azure://';
// The Azure portal of the public cloud, Azure Government and Azure China: a resource's page is
// `https://PORTAL/#@TENANT/resource` + its ARM id (+ the blade shown, `/overview`).
const PORTAL_HOSTS: ReadonlySet<string> = new Set(['portal.azure.com', 'portal.azure.us', 'portal.azure.cn']);
const PORTAL_FORM = 'https://portal.azure.com/#@TENANT/resource/subscriptions/…[/overview]';
export const AZURE_TARGET_FORMS = `${RESOURCE_ID_FORM} for Microsoft.Compute/virtualMachines, disks or virtualMachineScaleSets/virtualMachines, a portal URL of one (${PORTAL_FORM}), or azure:///subscriptions/… (a node's providerID)`;
export const AZURE_SELECTOR_FORM = 'azure:tag:KEY=VALUE';

// Azure tag names: up to 512 characters, none of < > % & \ ? / (ARM tag rules).
const TAG_NAME = /^[^<>%&\\?/]{1,512}$/u;
const TAG_VALUE = /^[^]{0,256}$/u;

/** Whether a command-line word looks like an Azure target (so the registry can route it). */
export function isAzureTarget(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  return text.startsWith('/subscriptions/') || text.startsWith(PROVIDER_ID_PREFIX) || portalUrl(text) !== undefined;
}

/** An `http(s)://` URL on an Azure portal host; undefined for anything else. */
function portalUrl(text: string): URL | undefined {
  if (!/^https?:\/\//i.test(text)) return undefined;
  const url = URL.parse(text);
  return url && PORTAL_HOSTS.has(url.hostname.toLowerCase()) ? url : undefined;
}

/**
 * A portal URL (`https://portal.azure.com/#@contoso.onmicrosoft.com/resource/subscriptions/…/VM/overview`)
 * → the ARM id it shows, as written there. The tenant and the blade are the page's, not the
 * resource's: dropped.
 */
function armIdFromPortalUrl(url: URL, raw: string): string {
  const fail = (why: string) => new CustodyError('E_INPUT', `invalid target "${raw}": ${why}. Expected ${AZURE_TARGET_FORMS}.`, { resource: raw });
  if (url.protocol !== 'https:' || url.search !== '' || url.username !== '' || url.password !== '' || url.port !== '') {
    throw fail(`a portal URL is ${PORTAL_FORM}, with no query, port or user`);
  }
  let fragment: string;
  try {
    fragment = decodeURIComponent(url.hash.slice(1));
  } catch {
    throw fail('the part after # is not a valid URL fragment');
  }
  const match = /^(?:@[^/]+\/)?resource(\/subscriptions\/.*)$/i.exec(fragment);
  if (!match) throw fail(`it is not a resource page of the portal (${PORTAL_FORM})`);
  const parts = match[1]!.replace(/\/+$/, '').split('/');
  // `/subscriptions/S/resourceGroups/RG/providers/NS` then TYPE/NAME pairs: an odd segment left
  // at the end is the blade the page shows (`overview`, `disks`).
  const blade = parts.length > 7 && (parts.length - 7) % 2 === 1;
  return (blade ? parts.slice(0, -1) : parts).join('/');
}

/** Parses an ARM id, a portal URL or a providerID into a target. Throws `E_INPUT` with the expected forms. */
export function parseAzureTarget(raw: string): AzureTarget {
  const text = raw.trim();
  const portal = portalUrl(text);
  // The ledger's key is the ARM id, whichever form was given.
  const armId = portal ? armIdFromPortalUrl(portal, raw) : text.toLowerCase().startsWith(PROVIDER_ID_PREFIX) ? text.slice(PROVIDER_ID_PREFIX.length) : text;
  let resource: ResourceId;
  try {
    resource = parseResourceId(armId);
  } catch (error) {
    throw new CustodyError('E_INPUT', `invalid target "${raw}": ${(error as Error).message.replace(/^invalid Azure resource id "[^"]*": /, '')}`, {
      resource: raw,
    });
  }
  switch (fullTypeKey(resource)) {
    case 'microsoft.compute/virtualmachines':
      return { provider: 'azure', kind: 'azure-vm', key: resource.id, id: resource.id, resource, sameAs: resourceKey(resource) };
    case 'microsoft.compute/disks':
      return { provider: 'azure', kind: 'azure-disk', key: resource.id, id: resource.id, resource, sameAs: resourceKey(resource) };
    case 'microsoft.compute/virtualmachinescalesets/virtualmachines': {
      const [scaleSet = '', instanceId = ''] = resource.names;
      if (!/^\d+$/.test(instanceId)) {
        throw new CustodyError('E_INPUT', `invalid target "${raw}": "${instanceId}" is not a scale-set instance id (a number). Expected ${AZURE_TARGET_FORMS}.`, { resource: raw });
      }
      return { provider: 'azure', kind: 'azure-vmss-vm', key: resource.id, id: resource.id, sameAs: resourceKey(resource), resource, scaleSet, instanceId };
    }
    default:
      throw new CustodyError(
        'E_INPUT',
        `invalid target "${raw}": ${resource.namespace}/${resource.type} cannot be collected. Expected ${AZURE_TARGET_FORMS}.`,
        { resource: raw },
      );
  }
}

/**
 * Follows a Kubernetes node's `spec.providerID` to its Azure target; undefined when the node is
 * not on Azure (another provider's node). A malformed Azure providerID is an input error.
 */
export function azureTargetFromProviderId(providerId: string): AzureVmTarget | AzureVmssVmTarget | undefined {
  if (!providerId.toLowerCase().startsWith(PROVIDER_ID_PREFIX)) return undefined;
  const target = parseAzureTarget(providerId);
  if (target.kind === 'azure-disk') {
    throw new CustodyError('E_INPUT', `node providerID "${providerId}" names a disk, not a VM`, { resource: providerId });
  }
  return target;
}

/** Whether a `--select` word is an Azure selector. */
export function isAzureSelector(raw: string): boolean {
  return raw.trim().toLowerCase().startsWith('azure:tag:');
}

/** Parses `azure:tag:KEY=VALUE`. Throws `E_INPUT` with the expected form. */
export function parseAzureSelector(raw: string): AzureTagSelector {
  const text = raw.trim();
  const fail = (why: string) => new CustodyError('E_INPUT', `invalid selector "${raw}": ${why}. Expected ${AZURE_SELECTOR_FORM}.`, { resource: raw });
  if (!isAzureSelector(text)) throw fail('unrecognised selector');
  const body = text.slice('azure:tag:'.length);
  const eq = body.indexOf('=');
  if (eq <= 0) throw fail('a tag selector needs KEY=VALUE');
  const key = body.slice(0, eq);
  const value = body.slice(eq + 1);
  if (!TAG_NAME.test(key)) throw fail(`"${key}" is not a valid Azure tag name`);
  if (value.trim() === '') throw fail(emptyValueReason('tag value'));
  if (!TAG_VALUE.test(value)) throw fail('the tag value is longer than 256 characters');
  return { provider: 'azure', kind: 'azure-tag', key: `azure:tag:${key}=${value}`, tagKey: key, value };
}

/** The ledger's `target` field: the id as written. Compare targets with `azureTargetKey`. */
export function azureTargetLabel(target: AzureTarget): string {
  return target.id;
}

/** Case-insensitive identity of a target: two spellings of one VM are one target. */
export function azureTargetKey(target: AzureTarget): string {
  return resourceKey(target.id);
}

export function isAzureTargetValue(target: Target): target is AzureTarget {
  return target.provider === 'azure';
}

export function isAzureSelectorValue(selector: Selector): selector is AzureTagSelector {
  return selector.provider === 'azure' && selector.kind === 'azure-tag';
}

/**
 * Azure tag names are case-insensitive, values case-sensitive (ARM tag rules, as the portal and
 * `az` treat them): a VM tagged `forensicsenabled=true` matches `ForensicsEnabled=true`.
 */
export function tagsMatch(tags: Record<string, string> | undefined, key: string, value: string): boolean {
  if (!tags) return false;
  const wanted = key.toLowerCase();
  return Object.entries(tags).some(([k, v]) => k.toLowerCase() === wanted && v === value);
}
