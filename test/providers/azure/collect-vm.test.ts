import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { vhdFile } from '../../../src/lab/azure/vhd-export.js';
import { startAzureFixture, type AzureFixture } from './fixture.js';

let fx: AzureFixture;
beforeAll(async () => {
  fx = await startAzureFixture({ azurite: true });
});
afterAll(async () => fx?.close());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('an Azure VM in another tenant, collected into the SOC evidence container', () => {
  it('describes, snapshots every disk, copies, hashes disk and file, revokes and records why nothing was sealed (Azurite)', async () => {
    const kase = await fx.openTestCase('IR-AZ-VM');
    const ctx = fx.run(kase);
    const { ids, world } = fx.lab.estate;
    const outcome = await collectAzureTarget(ctx, parseAzureTarget(ids.vm));
    const types = kase.entries().map((e) => e.type);
    expect(outcome, JSON.stringify(kase.entries().filter((e) => e.type === 'step.failed').map((e) => e.data))).toMatchObject({ status: 'partial' });
    expect(outcome.reason).toContain('immutability');

    // Both disks: one incremental snapshot each, tagged with case and evidence ids, in the staging group.
    const snapshots = [...world.snapshots.values()];
    expect(snapshots).toHaveLength(2);
    for (const s of snapshots) {
      expect(s.id).toContain('/resourceGroups/cloud-custody-staging/');
      expect(s.incremental).toBe(true);
      expect(s.tags).toMatchObject({ CaseId: 'IR-AZ-VM', CreatedBy: 'cloud-custody' });
      expect(s.tags.EvidenceId).toMatch(/^ev-[0-9a-f]{12}$/);
      expect(s.activeSas, 'endGetAccess revoked every grant').toBeUndefined();
    }
    // Hashes of the preserved copy: the file with its VHD footer, and the disk without it.
    const hashed = kase.entries().filter((e) => e.type === 'evidence.hashed');
    expect(hashed).toHaveLength(2);
    for (const entry of hashed) {
      const source = snapshots.find((s) => String(entry.data.blob).includes(s.name))!;
      expect(entry.data.diskSha256).toBe(sha(source.content));
      expect(entry.data.fileSha256).toBe(sha(vhdFile(source.content)));
      expect(entry.data.footer).toMatchObject({ matchesLength: true });
    }
    expect(types).toEqual(expect.arrayContaining(['credentials.obtained', 'bootdiagnostics.retrieved', 'snapshot.requested', 'snapshot.created', 'snapshot.completed', 'export.granted', 'copy.completed', 'export.revoked', 'seal.failed']));
    // Boot diagnostics and the model are evidence files; the SAS URLs are nowhere in the ledger.
    const ledger = JSON.stringify(kase.entries());
    expect(ledger).not.toMatch(/sig=/);
    expect(ledger).not.toMatch(/"access_token"|eyJ/);
    const seal = kase.entries().find((e) => e.type === 'seal.failed')!;
    expect(seal.data.reason).toContain('501');
    // Token claims recorded: the target tenant's token for ARM, the SOC tenant's for storage.
    const creds = kase.entries().filter((e) => e.type === 'credentials.obtained').map((e) => e.data as { identity: string; tenantId: string; claims?: { appId?: string; audience?: string } });
    expect(creds).toEqual(expect.arrayContaining([
      expect.objectContaining({ identity: 'target', tenantId: fx.config.subscriptions[0]!.tenantId, claims: expect.objectContaining({ appId: fx.config.clientId, audience: 'https://management.azure.com' }) }),
      expect.objectContaining({ identity: 'soc', claims: expect.objectContaining({ audience: 'https://storage.azure.com' }) }),
    ]));
    // Every ARM request carried our client request id and the run's correlation id.
    const arm = fx.lab.armLog.filter((x) => x.operation !== 'lab.blob');
    expect(arm.every((x) => x.clientRequestId && x.correlationRequestId === 'corr-IR-AZ-VM')).toBe(true);
    await kase.close();
  });
});
