// Preflight of the SOC evidence container: ARM's effective permissions for the SOC identity at the
// container, served by the lab from the shipped role files and assignments, against the data
// actions the writer and sealer steps declare.
import { describe, expect, it } from 'vitest';
import { evidenceContainerScope, runAzurePreflight } from '../../../src/providers/azure/preflight.js';
import { LAB_EVIDENCE_CONTAINER_SCOPE } from '../../../src/lab/azure/scenario.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { useAzureFixture } from './fixture.js';

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
const fx = useAzureFixture();

const containerRows = async () => (await runAzurePreflight({ config: fx.config })).filter((r) => r.check === 'container scope');

describe('preflight at the SOC evidence container', () => {
  it('asks for the SOC identity\'s permissions at the container scope and finds every declared data action', async () => {
    const before = fx.lab.armLog.length;
    const rows = await containerRows();
    expect(rows.map((r) => r.action).sort()).toEqual([`${BLOBS}/add/action`, `${BLOBS}/immutableStorage/runAsSuperUser/action`, `${BLOBS}/read`, `${BLOBS}/write`]);
    expect(rows.every((r) => r.result === 'ok' && r.detail === LAB_EVIDENCE_CONTAINER_SCOPE)).toBe(true);
    const asked = fx.lab.armLog.slice(before).filter((e) => e.operation === 'permissions.list' && e.path.toLowerCase().startsWith(LAB_EVIDENCE_CONTAINER_SCOPE.toLowerCase()));
    expect(asked).toHaveLength(1);
    expect(asked[0]!.principal).toBe(fx.lab.estate.principals.soc);
  });

  it('a data action removed from the writer role is reported denied, naming the action and the container', async () => {
    fx.lab.estate.world.rbac.withoutAction('evidence-writer-role', `${BLOBS}/add/action`);
    const rows = await containerRows();
    expect(rows.find((r) => r.action === `${BLOBS}/add/action`)).toEqual(expect.objectContaining({ result: 'denied', detail: expect.stringContaining(LAB_EVIDENCE_CONTAINER_SCOPE) }));
    expect(rows.filter((r) => r.result === 'ok')).toHaveLength(3);
  });

  it('derives the container scope from both URL styles, in the evidence storage resource group', () => {
    const base = { ...fx.config };
    expect(evidenceContainerScope({ ...base, evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/evidence' })).toBe(
      `/subscriptions/${base.socSubscriptionId}/resourceGroups/soc-evidence/providers/Microsoft.Storage/storageAccounts/socevidence/blobServices/default/containers/evidence`,
    );
    expect(evidenceContainerScope({ ...base, evidenceContainerUrl: 'https://127.0.0.1:10000/devstoreaccount1/evidence', evidenceStorageResourceGroup: 'storage-rg' })).toBe(
      `/subscriptions/${base.socSubscriptionId}/resourceGroups/storage-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1/blobServices/default/containers/evidence`,
    );
    expect(() => evidenceContainerScope({ ...base, evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/' })).toThrow(/names no account and container/);
  });
});

describe('preflight at a named VM', () => {
  it("checks a VM's own actions (not a scale-set VM's) and each of its disks at the disk's scope: a data disk without the collector role (untagged) is denied, naming the action and the disk", async () => {
    const { ids, world } = fx.lab.estate;
    const at = world.rbac.assignments.findIndex((a) => a.scope === ids.vmDataDisk);
    const [removed] = world.rbac.assignments.splice(at, 1);
    try {
      const rows = await runAzurePreflight({ config: fx.config, targets: [parseAzureTarget(ids.vm)] });
      const vmRows = rows.filter((r) => r.check === 'vm scope');
      expect(vmRows.map((r) => [r.action, r.result])).toEqual([
        ['Microsoft.Compute/virtualMachines/instanceView/read', 'ok'],
        ['Microsoft.Compute/virtualMachines/read', 'ok'],
        ['Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action', 'ok'],
      ]);
      const diskRows = rows.filter((r) => r.check === 'disk scope');
      expect(diskRows.map((r) => [r.scope[1], r.action, r.result])).toEqual([
        ['web-1_OsDisk_1', 'Microsoft.Compute/disks/beginGetAccess/action', 'ok'],
        ['web-1_OsDisk_1', 'Microsoft.Compute/disks/read', 'ok'],
        ['web-1_data_0', 'Microsoft.Compute/disks/beginGetAccess/action', 'denied'],
        ['web-1_data_0', 'Microsoft.Compute/disks/read', 'denied'],
      ]);
      expect(diskRows.at(-1)!.detail).toContain(`not granted at ${ids.vmDataDisk}`);
      expect(diskRows.at(-1)!.detail).toContain('ForensicsEnabled=true');
    } finally {
      world.rbac.assignments.splice(at, 0, removed!);
    }
  });

  it("checks a scale-set VM (an AKS node) for the scale-set VM's actions only", async () => {
    const rows = await runAzurePreflight({ config: fx.config, targets: [parseAzureTarget(fx.lab.estate.ids.aksNode)] });
    const vmRows = rows.filter((r) => r.check === 'vm scope');
    expect(vmRows.map((r) => [r.action, r.result])).toEqual([
      ['Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read', 'ok'],
      ['Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read', 'ok'],
      ['Microsoft.Compute/virtualMachineScaleSets/virtualMachines/retrieveBootDiagnosticsData/action', 'ok'],
    ]);
    expect(rows.filter((r) => r.check === 'disk scope').map((r) => [r.scope[1], r.result])).toEqual([
      ['pvc-0d1e2f3a', 'ok'],
      ['pvc-0d1e2f3a', 'ok'],
    ]);
  });
});
