import { describe, expect, it } from 'vitest';
import { parseResourceId, resourceKey, sameResource, scopeContains } from '../../../src/providers/azure/resource-id.js';
import {
  azureTargetFromProviderId,
  azureTargetKey,
  isAzureTarget,
  parseAzureSelector,
  parseAzureTarget,
  tagsMatch,
} from '../../../src/providers/azure/targets.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const VM = `/subscriptions/${SUB}/resourceGroups/Web-RG/providers/Microsoft.Compute/virtualMachines/web-1`;

describe('Azure resource ids', () => {
  it('parses a VM id and keeps it as written', () => {
    const id = parseResourceId(VM);
    expect(id).toMatchObject({ id: VM, subscriptionId: SUB, resourceGroup: 'Web-RG', namespace: 'Microsoft.Compute', type: 'virtualMachines', names: ['web-1'] });
  });

  it('compares ids case-insensitively, as ARM does', () => {
    const lower = VM.toLowerCase().replace('microsoft.compute', 'MICROSOFT.COMPUTE');
    expect(sameResource(VM, lower)).toBe(true);
    expect(resourceKey(VM)).toBe(resourceKey(lower));
    expect(parseResourceId(lower).id).toBe(lower);
  });

  it('knows a scope contains the resources below it, whatever the case', () => {
    expect(scopeContains(`/subscriptions/${SUB}/resourcegroups/web-rg`, VM)).toBe(true);
    expect(scopeContains(`/subscriptions/${SUB}/resourceGroups/Web-RG2`, VM)).toBe(false);
    expect(scopeContains(`/subscriptions/${SUB}`, VM)).toBe(true);
  });

  it.each([
    ['subscriptions/x', 'must start with /subscriptions/'],
    [`/subscriptions/not-a-guid/resourceGroups/r/providers/Microsoft.Compute/disks/d`, 'not a subscription id'],
    [`/subscriptions/${SUB}/resourceGroups/r/providers/Microsoft.Compute/disks`, 'pairs'],
    [`/subscriptions/${SUB}/resourceGroups//providers/Microsoft.Compute/disks/d`, 'empty path segment'],
  ])('refuses %s naming why', (raw, why) => {
    expect(() => parseResourceId(raw)).toThrow(why);
  });
});

describe('Azure targets', () => {
  it.each([
    [`https://portal.azure.com/#@contoso.onmicrosoft.com/resource${VM}/overview`, VM],
    [`https://portal.azure.com/#@contoso.onmicrosoft.com/resource${VM}`, VM],
    [`https://portal.azure.com/#resource${VM}/disks`, VM],
    [`https://portal.azure.us/#@contoso.onmicrosoft.us/resource/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/web-1_OsDisk/overview`, `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/web-1_OsDisk`],
    [
      `https://portal.azure.com/#@t/resource/subscriptions/${SUB}/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-1/virtualMachines/3/overview`,
      `/subscriptions/${SUB}/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-1/virtualMachines/3`,
    ],
  ])('a pasted portal URL %s is the target its ARM id names (the ledger key)', (url, id) => {
    expect(isAzureTarget(url)).toBe(true);
    expect(parseAzureTarget(url)).toEqual(parseAzureTarget(id));
    expect(parseAzureTarget(url).key).toBe(id);
  });

  it.each([
    [`https://portal.azure.com/#@t/resource/subscriptions/${SUB}/resourceGroups/rg/overview`, 'the third segment must be providers'],
    ['https://portal.azure.com/#view/HubsExtension/BrowseAll', 'is not a resource page of the portal'],
    [`https://portal.azure.com/?feature.x=1#@t/resource${VM}`, 'no query'],
    [`https://portal.azure.com/#@t/resource/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-1/overview`, 'cannot be collected'],
  ])('a portal URL that names no VM or disk, %s, is refused: %s', (url, why) => {
    expect(() => parseAzureTarget(url)).toThrow(why);
  });

  it('a VM, a disk and a scale-set VM parse into their kinds', () => {
    expect(parseAzureTarget(VM).kind).toBe('azure-vm');
    expect(parseAzureTarget(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/web-1_OsDisk`).kind).toBe('azure-disk');
    const node = parseAzureTarget(`/subscriptions/${SUB}/resourceGroups/MC_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool-123/virtualMachines/3`);
    expect(node).toMatchObject({ kind: 'azure-vmss-vm', scaleSet: 'aks-pool-123', instanceId: '3' });
  });

  it("an AKS node's providerID (lower-cased resource group) leads to its scale-set VM", () => {
    const providerId = `azure:///subscriptions/${SUB}/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool-123/virtualMachines/0`;
    const target = azureTargetFromProviderId(providerId);
    expect(target).toMatchObject({ kind: 'azure-vmss-vm', instanceId: '0' });
    expect(target?.id).toBe(providerId.slice('azure://'.length));
    expect(azureTargetKey(target!)).toBe(azureTargetKey(parseAzureTarget(target!.id.replace('mc_rg_aks_eastus', 'MC_rg_aks_eastus'))));
  });

  it('a non-Azure providerID is not ours; a storage account id is refused naming its type', () => {
    expect(azureTargetFromProviderId('aws:///us-east-1a/i-0123456789abcdef0')).toBeUndefined();
    expect(() => parseAzureTarget(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa`)).toThrow(
      'Microsoft.Storage/storageAccounts cannot be collected',
    );
    expect(() => parseAzureTarget(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/virtualMachines/x`)).toThrow(
      'not a scale-set instance id',
    );
  });

  it('routes only Azure-looking words', () => {
    expect(isAzureTarget(VM)).toBe(true);
    expect(isAzureTarget('arn:aws:ec2:us-east-1:111111111111:instance/i-0123456789abcdef0')).toBe(false);
  });
});

describe('Azure tag selector', () => {
  it('parses azure:tag:KEY=VALUE; tag names match case-insensitively, values exactly', () => {
    const s = parseAzureSelector('azure:tag:ForensicsEnabled=true');
    expect(s).toEqual({ provider: 'azure', kind: 'azure-tag', key: 'azure:tag:ForensicsEnabled=true', tagKey: 'ForensicsEnabled', value: 'true' });
    expect(tagsMatch({ forensicsenabled: 'true' }, s.tagKey, s.value)).toBe(true);
    expect(tagsMatch({ ForensicsEnabled: 'True' }, s.tagKey, s.value)).toBe(false);
    expect(tagsMatch(undefined, s.tagKey, s.value)).toBe(false);
  });

  it('refuses a selector without KEY=VALUE or with a forbidden character', () => {
    expect(() => parseAzureSelector('azure:tag:nokey')).toThrow('KEY=VALUE');
    expect(() => parseAzureSelector('azure:tag:a/b=c')).toThrow('not a valid Azure tag name');
  });
});
