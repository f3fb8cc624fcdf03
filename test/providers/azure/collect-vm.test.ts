import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { resolveAzureSelector } from '../../../src/providers/azure/resolve-selector.js';
import { azureTargetFromProviderId, parseAzureSelector, parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { AZURE_OPERATIONS } from '../../../src/providers/azure/operations.js';
import { vhdFile } from '../../../src/lab/azure/vhd-export.js';
import { LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER } from '../../../src/lab/azure/scenario.js';
import { useAzureFixture } from './fixture.js';
import { evidenceIdFor } from '../../../src/core/case-id.js';
import { resourceKey } from '../../../src/providers/azure/resource-id.js';
import { evidenceBlobName } from '../../../src/providers/azure/export.js';
import { snapshotName } from '../../../src/providers/azure/snapshots.js';

const fx = useAzureFixture();

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('an Azure VM in another tenant, collected into the SOC evidence container', () => {
  it('per-disk: describes, snapshots every disk, copies, hashes disk and file, revokes and seals each copy (policy + legal hold, as Storage confirmed)', async () => {
    const kase = await fx.openTestCase('IR-AZ-VM');
    const ctx = fx.run(kase, { consistency: 'per-disk' });
    const { ids, world } = fx.lab.estate;
    const outcome = await collectAzureTarget(ctx, parseAzureTarget(ids.vm));
    const types = kase.entries().map((e) => e.type);
    expect(outcome, JSON.stringify(kase.entries().filter((e) => e.type === 'step.failed' || e.type === 'seal.failed').map((e) => e.data))).toMatchObject({ status: 'collected' });

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
    // Revoked means the export's SAS no longer reads anything in the lab's Blob Storage either.
    expect(fx.lab.estate.blobStore.container('mdexports', 'snapshot-exports')!.blobs.size).toBe(0);
    // Hashes of the preserved copy: the file with its VHD footer, and the disk without it.
    const hashed = kase.entries().filter((e) => e.type === 'evidence.hashed');
    expect(hashed).toHaveLength(2);
    for (const entry of hashed) {
      const source = snapshots.find((s) => String(entry.data.blob).includes(`/${s.name}.vhd`))!;
      expect(entry.data.diskSha256).toBe(sha(source.content));
      expect(entry.data.fileSha256).toBe(sha(vhdFile(source.content)));
      expect(entry.data.footer).toMatchObject({ matchesLength: true });
    }
    expect(types).toEqual(expect.arrayContaining(['credentials.obtained', 'bootdiagnostics.retrieved', 'snapshot.requested', 'snapshot.created', 'snapshot.completed', 'export.granted', 'copy.completed', 'export.revoked', 'evidence.sealed']));
    expect(types).not.toContain('seal.failed');
    // Boot diagnostics and the model are evidence files; the SAS URLs are nowhere in the ledger.
    // What the entries say about Azure, without their signatures and the case's own public key:
    // random base64 holds `eyJ` by chance (the signatures in about one run in eighty), no token.
    const ledger = JSON.stringify(kase.entries().filter((e) => e.type !== 'case.opened').map(({ type, target, data }) => ({ type, target, data })));
    expect(ledger).not.toMatch(/sig=/);
    expect(ledger).not.toMatch(/"access_token"|eyJ/);
    // The seal is what Storage confirmed: the policy's expiry and mode, the hold, the request ids;
    // and the lab's container holds exactly that on each copy's current version.
    const seals = kase.entries().filter((e) => e.type === 'evidence.sealed');
    expect(seals).toHaveLength(2);
    const container = fx.lab.estate.blobStore.container(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER)!;
    for (const seal of seals) {
      expect(seal.data).toMatchObject({ mode: 'Unlocked', legalHold: true });
      const until = Date.parse(String(seal.data.immutableUntil));
      expect(until - Date.now()).toBeGreaterThan(364 * 86_400_000);
      const requestIds = seal.data.requestIds as string[];
      expect(requestIds).toHaveLength(2);
      const served = fx.lab.blob!.log.filter((x) => requestIds.includes(x.requestId)).map((x) => [x.operation, x.status]);
      expect(served).toEqual([['Blob_SetImmutabilityPolicy', 200], ['Blob_SetLegalHold', 200]]);
      const version = container.blobs.get(String(seal.data.blob))!.current!;
      expect(version.legalHold).toBe(true);
      expect(version.immutability).toEqual({ until: new Date(Math.floor(until / 1000) * 1000), mode: 'Unlocked' });
    }
    // Every data action was decided from policies/azure at the container: writer copies and reads, sealer seals.
    const data = world.rbac.decisions.filter((d) => d.data && d.principalId === fx.lab.estate.principals.soc);
    expect(new Set(data.map((d) => d.action.split('/blobs/')[1]))).toEqual(new Set(['read', 'add/action', 'immutableStorage/runAsSuperUser/action']));
    expect(data.every((d) => d.allowed && d.scope.startsWith(`${fx.lab.estate.ids.evidenceContainer}/blobs/IR-AZ-VM/`))).toBe(true);
    // Token claims recorded: the target tenant's token for ARM, the SOC tenant's for storage.
    const creds = kase.entries().filter((e) => e.type === 'credentials.obtained').map((e) => e.data as { identity: string; tenantId: string; claims?: { appId?: string; audience?: string } });
    expect(creds).toEqual(expect.arrayContaining([
      expect.objectContaining({ identity: 'target', tenantId: fx.config.subscriptions[0]!.tenantId, claims: expect.objectContaining({ appId: fx.config.clientId, audience: 'https://management.azure.com' }) }),
      expect.objectContaining({ identity: 'soc', claims: expect.objectContaining({ audience: 'https://storage.azure.com' }) }),
    ]));
    // Waiting was batched: one list of the staging group per round for both disks, no per-snapshot GET or poller.
    const ops = fx.lab.armLog.filter((x) => x.correlationRequestId === 'corr-IR-AZ-VM').map((x) => x.operation);
    expect(ops.filter((o) => o === 'snapshots.get')).toEqual([]);
    expect(ops.filter((o) => o === 'snapshots.listByResourceGroup').length).toBeLessThanOrEqual(3);
    // "Succeeded" is what a listing of the staging group answered: the entry names that listing's request ids.
    const listings = fx.lab.armLog.filter((x) => x.operation === 'snapshots.listByResourceGroup' && x.status === 200).map((x) => x.requestId);
    const completed = kase.entries().filter((e) => e.type === 'snapshot.completed');
    expect(completed).toHaveLength(2);
    for (const entry of completed) {
      expect((entry.data.requestIds as string[]).length).toBeGreaterThan(0);
      expect(listings).toEqual(expect.arrayContaining(entry.data.requestIds as string[]));
    }
    // Every ARM request carried our client request id and the run's correlation id.
    const arm = fx.lab.armLog.filter((x) => x.operation !== 'lab.blob');
    expect(arm.every((x) => x.clientRequestId && x.correlationRequestId === 'corr-IR-AZ-VM')).toBe(true);
    // Every action ARM checked for this case is one the provider declares (operations.ts).
    const declared = new Set(Object.values(AZURE_OPERATIONS).flatMap((op) => op.permissions.map((p) => p.action.toLowerCase())));
    const checked = new Set(world.rbac.decisions.map((d) => d.action.toLowerCase()));
    expect([...checked].filter((a) => !declared.has(a))).toEqual([]);
    await kase.close();
  });
});

describe('sealing turned off', () => {
  it('with no immutability policy and no legal hold configured, nothing is sent and no copy is recorded as sealed', async () => {
    const kase = await fx.openTestCase('IR-AZ-NOSEAL');
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk', immutabilityDays: 0, legalHold: false }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(kase.entries().filter((e) => e.type === 'evidence.sealed')).toEqual([]);
    const skipped = kase.entries().filter((e) => e.type === 'seal.skipped');
    expect(skipped).toHaveLength(2);
    expect(String(skipped[0]!.data.reason)).toMatch(/immutabilityDays.*legalHold/);
    await kase.close();
  });
});

describe('a seal half made', () => {
  it('a legal hold Storage refuses after the immutability policy was set: seal.failed still records the policy Storage confirmed', async () => {
    const kase = await fx.openTestCase('IR-AZ-HALFSEAL');
    // The lab's Storage refuses the hold on both copies (the seal names the hashed version, so it is
    // refused where Storage answers, not on a patched client).
    fx.lab.blob!.faults.push({ operation: 'Blob_SetLegalHold', times: 2, error: { status: 409, code: 'OperationNotAllowed', message: 'The legal hold was refused.' } });
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    const failed = kase.entries().filter((e) => e.type === 'seal.failed');
    expect(failed).toHaveLength(2);
    for (const entry of failed) {
      const version = fx.lab.estate.blobStore.container(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER)!.blobs.get(String(entry.data.blob))!.current!;
      expect(version.immutability?.mode).toBe('Unlocked');
      expect(entry.data.confirmed).toEqual({ immutableUntil: version.immutability!.until.toISOString(), mode: 'Unlocked' });
    }
    await kase.release();
  });
});

describe('a copy found under the expected name', () => {
  /** Puts a finished 1 KiB copy with `metadata` where the case will look for the VM's OS disk copy; returns its name. */
  function plantCopy(caseId: string, metadata: (evidenceId: string) => Record<string, string>, status: 'success' | 'pending' = 'success'): string {
    const evidenceId = evidenceIdFor(caseId, resourceKey(fx.lab.estate.ids.vmOsDisk));
    const name = evidenceBlobName(caseId, evidenceId, snapshotName(evidenceId));
    const container = fx.lab.estate.blobStore.container(LAB_EVIDENCE_ACCOUNT, LAB_EVIDENCE_CONTAINER)!;
    const planted = fx.lab.estate.blobStore.write(container, name, { type: 'PageBlob', content: Buffer.alloc(1024), metadata: metadata(evidenceId) }, Date.now());
    planted.copy = { id: 'planted', source: 'https://elsewhere.invalid/x.vhd', status, total: 1024, pendingReads: status === 'pending' ? 1_000_000 : 0, ...(status === 'success' ? { completedOn: new Date() } : {}) };
    return name;
  }

  it('is adopted only if this case copied it (its metadata names the case and evidence id)', async () => {
    const kase = await fx.openTestCase('IR-AZ-PLANTED');
    const name = plantCopy('IR-AZ-PLANTED', () => ({ caseid: 'someone-else' }));
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    expect(kase.entries().filter((e) => e.type === 'copy.adopted')).toEqual([]);
    expect(kase.entries().filter((e) => e.type === 'evidence.hashed' && e.data.blob === name)).toEqual([]);
    const refused = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'copy')!;
    expect(String((refused.data.error as { message: string }).message)).toContain('not copied by this case');
    await kase.release();
  });

  it('a copy still pending under that name is adopted and awaited only if this case started it', async () => {
    const kase = await fx.openTestCase('IR-AZ-PLANTED-PENDING');
    plantCopy('IR-AZ-PLANTED-PENDING', () => ({ caseid: 'someone-else' }), 'pending');
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    expect(kase.entries().filter((e) => e.type === 'copy.adopted')).toEqual([]);
    const refused = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'copy')!;
    expect(String((refused.data.error as { message: string }).message)).toContain('not copied by this case');
    await kase.release();
  });

  it('a copy that is not a VHD of the disk (no footer, or not the disk\'s size) leaves the target partial: no disk hash is claimed for it', async () => {
    const kase = await fx.openTestCase('IR-AZ-NOTVHD');
    // An earlier run's copy that stopped short: the metadata is this case's, the bytes are not a whole VHD.
    const name = plantCopy('IR-AZ-NOTVHD', (evidenceId) => ({ caseid: 'IR-AZ-NOTVHD', evidenceid: evidenceId }));
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(name);
    const hashed = kase.entries().find((e) => e.type === 'evidence.hashed' && e.data.blob === name)!;
    expect(hashed.data.diskSha256).toBeUndefined();
    await kase.release();
  });
});

describe('a crash-consistent restore point where the VM supports one', () => {
  it('takes one restore point for both disks, exports each disk restore point, and a resumed run adopts it', async () => {
    const { ids, world } = fx.lab.estate;
    const snapshotsBefore = world.snapshots.size;
    const kase = await fx.openTestCase('IR-AZ-RP');
    const outcome = await collectAzureTarget(fx.run(kase), parseAzureTarget(ids.vm));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(kase.entries().filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(world.snapshots.size).toBe(snapshotsBefore);
    const chosen = kase.entries().find((e) => e.type === 'consistency.chosen')!;
    expect(chosen.data.mode).toBe('crash-consistent-restore-point');
    const [collection] = [...world.restorePointCollections.values()].filter((c) => c.tags.CaseId === 'IR-AZ-RP');
    expect(collection!.sourceId).toBe(ids.vm);
    const [point] = [...collection!.points.values()];
    expect(point!.consistencyMode).toBe('CrashConsistent');
    const hashed = kase.entries().filter((e) => e.type === 'evidence.hashed');
    expect(hashed).toHaveLength(2);
    for (const drp of point!.diskRestorePoints.values()) {
      expect(hashed.some((e) => e.data.diskSha256 === sha(drp.content))).toBe(true);
      expect(drp.activeSas, 'endGetAccess on every disk restore point').toBeUndefined();
    }
    // "Succeeded" and the disk restore points are what a GET of the restore point answered: the entry names it.
    const gets = () => fx.lab.armLog.filter((x) => x.operation === 'restorePoints.get' && x.status === 200).map((x) => x.requestId);
    const completed = kase.entries().find((e) => e.type === 'restorepoint.completed')!;
    expect((completed.data.requestIds as string[]).length).toBeGreaterThan(0);
    expect(gets()).toEqual(expect.arrayContaining(completed.data.requestIds as string[]));
    await kase.release();
    const again = await fx.openTestCase('IR-AZ-RP', true);
    await collectAzureTarget(fx.run(again), parseAzureTarget(ids.vm));
    expect(collection!.points.size).toBe(1);
    const adopted = again.entries().filter((e) => e.type === 'restorepoint.adopted');
    expect(adopted).toHaveLength(1);
    expect((adopted[0]!.data.requestIds as string[]).length).toBe(1);
    expect(gets()).toEqual(expect.arrayContaining(adopted[0]!.data.requestIds as string[]));
    await again.close();
  });
});

describe('an AKS node followed from its providerID', () => {
  it('reaches the scale-set VM (lower-cased node resource group), records the ephemeral OS disk as not collectable and collects the data disk', async () => {
    const kase = await fx.openTestCase('IR-AZ-AKS');
    const { ids, world } = fx.lab.estate;
    const before = world.snapshots.size;
    const outcome = await collectAzureTarget(fx.run(kase), azureTargetFromProviderId(ids.aksNodeProviderId)!);
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('ephemeral OS disk');
    expect(world.snapshots.size - before).toBe(1);
    const consistency = kase.entries().find((e) => e.type === 'consistency.chosen')!;
    expect(consistency.data).toMatchObject({ mode: 'per-disk' });
    expect(String(consistency.data.reason)).toContain('uniform scale set');
    expect(kase.entries().filter((e) => e.type === 'evidence.hashed')).toHaveLength(1);
    // The ledger names the node as the providerID wrote it (lower-cased resource group).
    expect(kase.entries().find((e) => e.type === 'collection.started')!.target).toContain('mc_aks-rg_aks-prod_eastus');
    await kase.close();
  });
});

describe('resume', () => {
  it('a second run of the case adopts its snapshots and copies instead of making new ones', async () => {
    const { ids, world } = fx.lab.estate;
    const first = await fx.openTestCase('IR-AZ-RESUME');
    await collectAzureTarget(fx.run(first, { consistency: 'per-disk' }), parseAzureTarget(ids.vm));
    await first.release();
    const before = world.snapshots.size;
    const puts = fx.lab.armLog.filter((x) => x.method === 'PUT').length;
    const again = await fx.openTestCase('IR-AZ-RESUME', true);
    const outcome = await collectAzureTarget(fx.run(again, { consistency: 'per-disk' }), parseAzureTarget(ids.vm.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/').replace('/RESOURCEGROUPS/', '/resourceGroups/').replace('/PROVIDERS/', '/providers/')));
    expect(world.snapshots.size).toBe(before);
    expect(fx.lab.armLog.filter((x) => x.method === 'PUT').length).toBe(puts);
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'snapshot.adopted'), JSON.stringify(resumed.map((e) => [e.type, e.data.step, (e.data.error as {message?: string})?.message]))).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'copy.adopted')).toHaveLength(2);
    const listings = fx.lab.armLog.filter((x) => x.operation === 'snapshots.listByResourceGroup' && x.status === 200).map((x) => x.requestId);
    for (const entry of resumed.filter((e) => e.type === 'snapshot.adopted')) {
      expect((entry.data.requestIds as string[]).length).toBeGreaterThan(0);
      expect(listings).toEqual(expect.arrayContaining(entry.data.requestIds as string[]));
    }
    expect(outcome.status).toBe('collected');
    await again.close();
  });
});

describe('the tag selector', () => {
  it('finds tagged VMs across the configured subscriptions and leaves untagged ones out', async () => {
    const kase = await fx.openTestCase('IR-AZ-SELECT');
    const targets = await resolveAzureSelector(fx.run(kase), parseAzureSelector('azure:tag:forensicsenabled=true'));
    expect(targets.map((t) => t.id)).toEqual([fx.lab.estate.ids.vm]);
    expect(kase.entries().find((e) => e.type === 'selector.searched')!.data.found).toEqual([fx.lab.estate.ids.vm]);
    await kase.close();
  });
});
