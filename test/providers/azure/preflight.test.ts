// Preflight of the SOC evidence container: ARM's effective permissions for the SOC identity at the
// container, served by the lab from the shipped role files and assignments, against the data
// actions the writer and sealer steps declare.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceContainerScope, runAzurePreflight } from '../../../src/providers/azure/preflight.js';
import { LAB_EVIDENCE_CONTAINER_SCOPE } from '../../../src/lab/azure/scenario.js';
import { startAzureFixture, type AzureFixture } from './fixture.js';

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
let fx: AzureFixture;

beforeAll(async () => {
  fx = await startAzureFixture();
});
afterAll(async () => {
  await fx?.close();
});

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
