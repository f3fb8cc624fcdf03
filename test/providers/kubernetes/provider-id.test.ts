import { describe, expect, it } from 'vitest';
import { parseProviderId, regionOfZone } from '../../../src/providers/kubernetes/index.js';

describe('node spec.providerID', () => {
  it.each([
    ['aws:///us-east-1a/i-0a1b2c3d4e5f60718', { cloud: 'aws', zone: 'us-east-1a', instanceId: 'i-0a1b2c3d4e5f60718' }],
    ['aws:////i-0a1b2c3d4e5f60718', { cloud: 'aws', instanceId: 'i-0a1b2c3d4e5f60718' }],
    ['aws:///us-gov-west-1b/i-0123abcd', { cloud: 'aws', zone: 'us-gov-west-1b', instanceId: 'i-0123abcd' }],
    ['aws:///us-west-2-lax-1a/i-0a1b2c3d4e5f60718', { cloud: 'aws', zone: 'us-west-2-lax-1a', instanceId: 'i-0a1b2c3d4e5f60718' }],
    ['aws:///eu-west-1b/a1b2c3d4e5f6/fargate-ip-10-0-1-5.eu-west-1.compute.internal', { cloud: 'aws-fargate', zone: 'eu-west-1b', name: 'fargate-ip-10-0-1-5.eu-west-1.compute.internal' }],
    ['gce://forensics-prj/europe-west1-b/gke-prod-pool-1-8f2c1a7e-x9zq', { cloud: 'gce', project: 'forensics-prj', zone: 'europe-west1-b', instance: 'gke-prod-pool-1-8f2c1a7e-x9zq' }],
    [
      'azure:///subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/3',
      { cloud: 'azure', subscription: '0b1f6471-1bf0-4dda-aec3-111122223333', resourceGroup: 'MC_rg_aks_westeurope', scaleSet: 'aks-nodepool1-12345678-vmss', instanceId: '3' },
    ],
    [
      'azure:///subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/aks-agent-0',
      { cloud: 'azure', subscription: 'sub', resourceGroup: 'rg', vmName: 'aks-agent-0' },
    ],
  ])('%s', (raw, expected) => {
    expect(parseProviderId(raw)).toEqual(expected);
  });

  it.each([
    [undefined, /no spec.providerID/],
    ['kind://docker/kind/kind-control-plane', /provider "kind" is not known/],
    ['aws:///us-east-1a/not-an-instance', /names no EC2 instance/],
    ['gce://only-project', /not gce:\/\/PROJECT\/ZONE\/INSTANCE/],
    ['i-0a1b2c3d4e5f60718', /not a provider URL/],
  ])('%s is reported as unknown with a reason', (raw, reason) => {
    const parsed = parseProviderId(raw);
    expect(parsed.cloud).toBe('unknown');
    if (parsed.cloud === 'unknown') expect(parsed.reason).toMatch(reason);
  });

  it.each([
    ['us-east-1a', 'us-east-1'],
    ['us-gov-west-1b', 'us-gov-west-1'],
    ['us-west-2-lax-1a', 'us-west-2'],
    ['ap-southeast-3c', 'ap-southeast-3'],
  ])('zone %s is in region %s', (zone, region) => {
    expect(regionOfZone(zone)).toBe(region);
  });
});
