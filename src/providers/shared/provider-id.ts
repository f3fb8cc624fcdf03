/**
 * `spec.providerID` of a node → the cloud machine behind it, so its disks can be preserved by the
 * cloud's provider in the same case.
 */
import { EC2_INSTANCE_ID as INSTANCE_ID } from './aws-names.js';

export type ParsedProviderId =
  | { cloud: 'aws'; instanceId: string; zone?: string }
  /** EKS Fargate: no instance of ours to snapshot. */
  | { cloud: 'aws-fargate'; zone?: string; name: string }
  | { cloud: 'gce'; project: string; zone: string; instance: string }
  | { cloud: 'azure'; subscription: string; resourceGroup: string; scaleSet?: string; instanceId?: string; vmName?: string }
  | { cloud: 'unknown'; reason: string };

const ZONE = /^[a-z]{2}(-[a-z0-9]+)+[a-z]$/;

/**
 * Parses the provider ids of EKS (`aws:///us-east-1a/i-…`, `aws:////i-…`), GKE
 * (`gce://project/zone/name`) and AKS (`azure:///subscriptions/…/virtualMachineScaleSets/…/virtualMachines/N`).
 *
 * @example parseProviderId('aws:///us-east-1a/i-0abc12345678def01') // { cloud: 'aws', zone: 'us-east-1a', instanceId: 'i-0abc…' }
 */
export function parseProviderId(providerId: string | undefined): ParsedProviderId {
  if (!providerId) return { cloud: 'unknown', reason: 'the node has no spec.providerID' };
  const scheme = /^([a-z]+):\/\/(.*)$/.exec(providerId);
  if (!scheme) return { cloud: 'unknown', reason: `"${providerId}" is not a provider URL` };
  const [, name = '', rest = ''] = scheme;
  const parts = rest.split('/');
  if (name === 'aws') {
    // aws:///ZONE/ID and aws:////ID: an empty host, then an optional zone.
    const segments = parts.filter((p) => p !== '');
    const zone = segments.length > 1 && ZONE.test(segments[0] ?? '') ? segments[0] : undefined;
    const last = segments[segments.length - 1] ?? '';
    if (INSTANCE_ID.test(last) && segments.length <= 2) return zone ? { cloud: 'aws', instanceId: last, zone } : { cloud: 'aws', instanceId: last };
    if (last.startsWith('fargate-')) return zone ? { cloud: 'aws-fargate', zone, name: last } : { cloud: 'aws-fargate', name: last };
    return { cloud: 'unknown', reason: `"${providerId}" names no EC2 instance` };
  }
  if (name === 'gce') {
    const [project = '', zone = '', instance = '', ...extra] = parts;
    if (project && zone && instance && extra.length === 0) return { cloud: 'gce', project, zone, instance };
    return { cloud: 'unknown', reason: `"${providerId}" is not gce://PROJECT/ZONE/INSTANCE` };
  }
  if (name === 'azure') {
    const path = rest.replace(/^\/+/, '');
    const vmss = /^subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)$/i.exec(path);
    if (vmss) return { cloud: 'azure', subscription: vmss[1]!, resourceGroup: vmss[2]!, scaleSet: vmss[3]!, instanceId: vmss[4]! };
    const vm = /^subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i.exec(path);
    if (vm) return { cloud: 'azure', subscription: vm[1]!, resourceGroup: vm[2]!, vmName: vm[3]! };
    return { cloud: 'unknown', reason: `"${providerId}" is not an Azure virtual machine id` };
  }
  return { cloud: 'unknown', reason: `provider "${name}" is not known` };
}

/** `us-east-1a` → `us-east-1`; local zones `us-west-2-lax-1a` → `us-west-2`. */
export function regionOfZone(zone: string): string | undefined {
  return /^([a-z]{2}(?:-[a-z]+)+-\d+)/.exec(zone)?.[1];
}
