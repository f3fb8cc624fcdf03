/**
 * A disk two targets of a case reach, across runs: the target that preserved it in an earlier
 * run keeps it (its snapshot or restore point, its blob), and it counts as collected for the
 * other target only once the ledger shows its copy hashed and sealed. And a provider object used
 * for two runs of one case hands the second nothing of the first's claims.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import type { TargetOutcome } from '../../../src/core/ports.js';
import { verifyCase } from '../../../src/custody/index.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { collectAzureTarget, type DiskClaims } from '../../../src/providers/azure/collect.js';
import { createAzureProvider } from '../../../src/providers/azure/provider.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { parseConfig } from '../../../src/providers/config.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { cutAt, evidenceVersions, useAzureFixture } from './fixture.js';

const fx = useAzureFixture();

/** The entries a resumed run of `kase` wrote (from its `case.resumed` on). */
function resumedEntries(kase: CaseHandle) {
  const entries = kase.entries();
  return entries.slice(entries.findIndex((e) => e.type === 'case.resumed'));
}

/** Storage refuses every immutability policy, `times` times: the copies are hashed, not sealed. */
function refuseSeals(times: number): void {
  fx.lab.blob!.faults.push({ operation: 'Blob_SetImmutabilityPolicy', times, error: { status: 403, code: 'AuthorizationPermissionMismatch', message: 'This request is not authorized to perform this operation using this permission.' } });
}

async function closeAndVerify(kase: CaseHandle, outcomes: TargetOutcome[]): Promise<void> {
  await kase.close({ outcomes });
  const verified = await verifyCase(kase.caseDir);
  expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
}

describe('one Azure provider object used for two runs of one case', () => {
  it("the second run's disk.covered comes from the case's ledger, not from the first run's claim on the disk", async () => {
    const { ids } = fx.lab.estate;
    const caseId = 'IR-AZ-TWO-RUNS';
    const provider = createAzureProvider({ ...fx.config, consistency: 'per-disk' }, { sleep: async () => {} });
    const config = parseConfig({ concurrency: { perScope: 10, total: 64 } });
    const first = await fx.openTestCase(caseId);
    const one = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder: first, targets: [parseTarget(ids.vm)], options: DEFAULT_COLLECT_OPTIONS });
    expect(one.outcomes.map((o) => o.status)).toEqual(['collected']);
    await first.release();

    const again = await fx.openTestCase(caseId, true);
    const two = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder: again, targets: [parseTarget(ids.vmDataDisk)], options: DEFAULT_COLLECT_OPTIONS });
    expect(two.outcomes.map((o) => [o.target, o.status])).toEqual([[ids.vm, 'collected'], [ids.vmDataDisk, 'collected']]);
    // The VM is skipped in this run: nothing of this run collects the disk, the first run did.
    const covered = resumedEntries(again).filter((e) => e.type === 'disk.covered');
    expect(covered.map((e) => [e.target, e.data.coveredBy])).toEqual([[ids.vmDataDisk, ids.vm]]);
    expect(String(covered[0]!.data.reason)).toContain('since an earlier run');
    await closeAndVerify(again, two.outcomes);
  });
});

describe("a disk whose earlier run hashed its copy but could not seal it", () => {
  it('a resumed run never counts it as collected for another target: that target takes no export of its own, the holder seals the copy it hashed, and only then is the disk covered as collected', async () => {
    const { ids } = fx.lab.estate;
    const caseId = 'IR-AZ-UNSEALED';
    const vm = parseAzureTarget(ids.vm);
    const disk = parseAzureTarget(ids.vmDataDisk);
    refuseSeals(2);
    const first = await fx.openTestCase(caseId);
    const unsealed = await collectAzureTarget(fx.run(first, { consistency: 'per-disk' }), vm);
    expect(unsealed.status).toBe('partial');
    expect(first.entries().filter((e) => e.type === 'seal.failed')).toHaveLength(2);
    await first.release();
    const copies = evidenceVersions(fx, caseId);
    expect(Object.values(copies)).toEqual([1, 1]);

    // The resumed run: the disk named on its own reaches it before the VM does.
    const again = await fx.openTestCase(caseId, true);
    const run = { ...fx.run(again, { consistency: 'per-disk' }), diskClaims: new Map() as DiskClaims };
    const named = await collectAzureTarget(run, disk);
    expect(named.status).toBe('partial');
    expect(named.reason).toContain(`${ids.vm} began collecting it in an earlier run of this case and has not finished (its copy is hashed but not sealed)`);
    const byDisk = resumedEntries(again).filter((e) => e.target === ids.vmDataDisk).map((e) => e.type);
    expect(byDisk).toEqual(['collection.started', 'disk.covered']);

    const resumedVm = await collectAzureTarget(run, vm);
    expect(resumedVm.status, resumedVm.reason).toBe('collected');
    const seals = resumedEntries(again).filter((e) => e.type === 'evidence.sealed').map((e) => e.data.blob);
    expect(seals.sort()).toEqual(Object.keys(copies).sort());
    // Nothing exported, copied or hashed a second time.
    expect(resumedEntries(again).filter((e) => ['export.requested', 'copy.requested', 'evidence.hashed'].includes(e.type))).toEqual([]);
    expect(evidenceVersions(fx, caseId)).toEqual(copies);

    // Sealed now: a later run covers the disk as collected by the VM.
    const later = await collectAzureTarget({ ...fx.run(again, { consistency: 'per-disk' }), diskClaims: new Map() as DiskClaims }, disk);
    expect(later.status, later.reason).toBe('collected');
    await closeAndVerify(again, [named, resumedVm]);
  });
});

describe('an Azure restore-point run cut off after its copies, resumed with one of the VM\'s disks named on its own', () => {
  it('the disk stays with the VM that preserved it: no snapshot and no second blob of it, one copy per disk, the VM collected from its restore point', async () => {
    const { ids } = fx.lab.estate;
    const caseId = 'IR-AZ-RP-RESUME';
    const vm = parseAzureTarget(ids.vm);
    const disk = parseAzureTarget(ids.vmDataDisk);
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'evidence.hashed')), vm)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const copies = evidenceVersions(fx, caseId);
    expect(Object.keys(copies).map((name) => name.endsWith('-crash.vhd'))).toEqual([true, true]);

    const again = await fx.openTestCase(caseId, true);
    const run = { ...fx.run(again), diskClaims: new Map() as DiskClaims };
    const named = await collectAzureTarget(run, disk);
    expect(named.status).toBe('partial');
    expect(named.reason).toContain(`${ids.vm} began collecting it in an earlier run of this case and has not finished (no copy of it is hashed yet)`);
    const resumedVm = await collectAzureTarget(run, vm);
    expect(resumedVm.status, resumedVm.reason).toBe('collected');

    const resumed = resumedEntries(again);
    expect(resumed.filter((e) => e.type === 'disk.covered').map((e) => [e.target, e.data.coveredBy])).toEqual([[ids.vmDataDisk, ids.vm]]);
    expect(resumed.filter((e) => /^(snapshot|export|copy)\.requested$/.test(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'copy.adopted').map((e) => e.data.blob).sort()).toEqual(Object.keys(copies).sort());
    expect([...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toEqual([]);
    expect(evidenceVersions(fx, caseId)).toEqual(copies);
    await closeAndVerify(again, [named, resumedVm]);
  });
});

describe('the same restore-point resume as one runCollection of the VM and its disk', () => {
  it('whichever target reaches the disk first, the blobs stay one per disk and no snapshot is taken', async () => {
    const { ids } = fx.lab.estate;
    const caseId = 'IR-AZ-RP-RESUME-RUN';
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'evidence.hashed')), parseAzureTarget(ids.vm))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const copies = evidenceVersions(fx, caseId);

    const again = await fx.openTestCase(caseId, true);
    const provider = createAzureProvider(fx.config, { sleep: async () => {} });
    const config = parseConfig({ concurrency: { perScope: 10, total: 64 } });
    const { outcomes } = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder: again, targets: [parseTarget(ids.vm), parseTarget(ids.vmDataDisk)], options: DEFAULT_COLLECT_OPTIONS });
    expect(outcomes.find((o) => o.target === ids.vm)?.status).toBe('collected');
    expect(evidenceVersions(fx, caseId)).toEqual(copies);
    expect([...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId)).toEqual([]);
    await closeAndVerify(again, outcomes);
  });
});
