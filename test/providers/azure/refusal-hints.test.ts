/**
 * A refusal names the action and the scope Azure refused, and whose role assignment to check: the
 * collector's at that scope for ARM calls in a target subscription, the SOC identity's evidence
 * roles at the evidence container for the blob calls.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toCustodyError } from '../../../src/providers/azure/arm-call.js';
import { AZURE_OPERATIONS, type AzureOperationName } from '../../../src/providers/azure/operations.js';

const VM = '/subscriptions/bbbbbbbb-1111-4111-8111-000000000002/resourceGroups/legacy/providers/Microsoft.Compute/virtualMachines/build-7';
const BLOB = 'IR-1/ev-0123/disk-os.vhd';
const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
// What Blob Storage answers a data action the caller's roles do not grant: no action, no scope.
const blobRefusal = { statusCode: 403, code: 'AuthorizationPermissionMismatch', message: 'This request is not authorized to perform this operation using this permission.' };

describe('Azure refusals', () => {
  it("an ARM refusal in a target subscription points at the collector role assignment at Azure's scope", () => {
    const error = toCustodyError(
      { statusCode: 403, code: 'AuthorizationFailed', message: `The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/instanceView/read' over scope '${VM}' or the scope is invalid.` },
      'getVirtualMachineInstanceView',
      VM,
      [],
    );
    expect(error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Compute/virtualMachines/instanceView/read', resource: VM });
    expect(error.message).toBe(`Azure refused Microsoft.Compute/virtualMachines/instanceView/read on ${VM} (AuthorizationFailed). Check the Cloud Custody Collector role assignment at that scope (docs/deploy-azure.md).`);
  });

  it('a refused subscription-wide list (the tag search) points at the discovery role there, as policies/azure names it', () => {
    const SUB = '/subscriptions/aaaaaaaa-1111-4111-8111-000000000001';
    const error = toCustodyError(
      { statusCode: 403, code: 'AuthorizationFailed', message: `The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.Compute/virtualMachines/read' over scope '${SUB}' or the scope is invalid.` },
      'listVirtualMachines',
      SUB,
      [],
    );
    expect(error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Compute/virtualMachines/read', resource: SUB });
    expect(error.message).toBe(`Azure refused Microsoft.Compute/virtualMachines/read on ${SUB} (AuthorizationFailed). Check the Cloud Custody Collector Discovery role assignment at that subscription (or the management group above it) (docs/deploy-azure.md).`);
    const role = JSON.parse(readFileSync(new URL('../../../policies/azure/collector-discovery-role.json', import.meta.url), 'utf8')) as { properties: { roleName: string } };
    expect(role.properties.roleName).toBe('Cloud Custody Collector Discovery');
  });

  it("every target-side refusal names the role that grants the refused action, as policies/azure grants it (a NIC is read by the discovery role)", () => {
    const role = (file: string) => JSON.parse(readFileSync(new URL(`../../../policies/azure/${file}`, import.meta.url), 'utf8')) as { properties: { roleName: string; permissions: Array<{ actions: string[] }> } };
    const roles = ['collector-role.json', 'collector-discovery-role.json'].map(role).map((r) => ({ name: r.properties.roleName, actions: r.properties.permissions.flatMap((p) => p.actions) }));
    const named: string[] = [];
    for (const [operation, declared] of Object.entries(AZURE_OPERATIONS) as Array<[AzureOperationName, (typeof AZURE_OPERATIONS)[AzureOperationName]]>) {
      if (declared.side !== 'target') continue;
      for (const need of declared.permissions.filter((p) => !p.data && !p.linked)) {
        const message = toCustodyError({ statusCode: 403, code: 'AuthorizationFailed', message: `does not have authorization to perform action '${need.action}' over scope '${VM}'` }, operation, VM, []).message;
        // The most specific role name the hint contains ("Collector Discovery" before "Collector").
        const hinted = roles.filter((r) => message.toLowerCase().includes(r.name.toLowerCase())).sort((a, b) => b.name.length - a.name.length)[0];
        named.push(`${operation} ${need.action}: ${hinted?.name ?? 'no role named'} ${hinted?.actions.includes(need.action) ? 'grants it' : 'does NOT grant it'}`);
      }
    }
    expect(named.filter((n) => !n.endsWith('grants it') || n.includes('NOT'))).toEqual([]);
    expect(named.find((n) => n.startsWith('getNetworkInterface'))).toBe('getNetworkInterface Microsoft.Network/networkInterfaces/read: Cloud Custody Collector Discovery grants it');
  });

  it('names the evidence roles as policies/azure names them', () => {
    const roleName = (file: string) => (JSON.parse(readFileSync(new URL(`../../../policies/azure/${file}`, import.meta.url), 'utf8')) as { properties: { roleName: string } }).properties.roleName;
    expect([roleName('evidence-writer-role.json'), roleName('evidence-sealer-role.json')]).toEqual(['Cloud Custody Evidence Writer', 'Cloud Custody Evidence Sealer']);
  });

  it.each([
    ['copyToEvidence', `${BLOBS}/write`, 'Cloud Custody Evidence Writer'],
    ['readEvidence', `${BLOBS}/read`, 'Cloud Custody Evidence Writer'],
    ['sealEvidence', `${BLOBS}/immutableStorage/runAsSuperUser/action`, 'Cloud Custody Evidence Sealer'],
  ] as const)('a refused %s (%s) points at the SOC identity\'s %s assignment at the evidence container, not the collector', (operation, action, role) => {
    const error = toCustodyError(blobRefusal, operation, BLOB, []);
    expect(error).toMatchObject({ code: 'E_ACCESS_DENIED', action, resource: BLOB });
    expect(error.message).toBe(
      `Azure refused ${action} on ${BLOB} (AuthorizationPermissionMismatch). Check the ${role} role assignment of the SOC identity at the evidence container (docs/deploy-azure.md).`,
    );
  });
});
