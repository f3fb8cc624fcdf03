/**
 * An Azure collection cut off between a cloud call and the ledger entry that records its answer,
 * then resumed on the same case: the resumed run finds what the cut-off run started (by the names
 * it derives from the evidence ids) and never makes a second export or copy of it.
 *
 * The cut is a ledger that can no longer be written from a chosen entry on (what a kill -9 or a
 * full disk leaves: the cloud did the work, the case never heard the answer). Copies stay
 * `pending` for a few reads (the lab's `copyReads`), so the resumed run meets the copy the
 * cut-off run started still in flight.
 */
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../../src/core/errors.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { verifyCase } from '../../../src/custody/index.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { caseWith } from '../../support/case-with.js';
import { cutAt, evidenceVersions, useAzureFixture } from './fixture.js';

const fx = useAzureFixture({ lab: { copyReads: 3 } });

describe('an Azure run cut off after Copy Blob was sent, before copy.started was recorded', () => {
  it('the resumed run adopts the copy still in flight: no second export grant, no second copy, one version per blob, the cut-off run’s grant revoked once the copy is done, and the case verifies', async () => {
    const caseId = 'IR-AZ-CUT-COPY';
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'copy.started'), { consistency: 'per-disk' }), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const blobs = evidenceVersions(fx, caseId);
    expect(Object.values(blobs)).toEqual([1]); // the cut came at the first disk's copy

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again, { consistency: 'per-disk' }), target);
    expect(outcome.status, outcome.reason).toBe('collected');
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    const [cutBlob] = Object.keys(blobs);
    // The blob the cut-off run was copying into: found pending, adopted, awaited — never asked for again.
    const aboutCutBlob = resumed.filter((e) => e.data.blob === cutBlob).map((e) => e.type);
    expect(aboutCutBlob).toEqual(['copy.adopted', 'copy.completed', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    expect(resumed.find((e) => e.type === 'copy.adopted')!.data).toMatchObject({ blob: cutBlob, copyStatus: 'pending' });
    // Exactly one export grant and one copy in the resumed run: the other disk's.
    expect(resumed.filter((e) => e.type === 'export.requested')).toHaveLength(1);
    expect(resumed.filter((e) => e.type === 'copy.requested').map((e) => e.data.blob)).not.toContain(cutBlob);
    expect(Object.values(evidenceVersions(fx, caseId))).toEqual([1, 1]);
    // The cut-off run's grant was never revoked by it: the resumed run ends it once the copy is done.
    const cutSource = resumed.find((e) => e.type === 'copy.adopted')!;
    const source = first.entries().find((e) => e.type === 'export.granted')!.data.source;
    expect(resumed.filter((e) => e.data.source === source).map((e) => e.type)).toEqual(['export.revoked']);
    expect(resumed.indexOf(resumed.find((e) => e.type === 'export.revoked' && e.data.source === source)!)).toBeGreaterThan(resumed.findIndex((e) => e.type === 'copy.completed' && e.data.blob === cutSource.data.blob));
    const snapshots = [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId);
    expect(snapshots).toHaveLength(2);
    for (const s of snapshots) expect(s.activeSas, 'endGetAccess on every grant of the case').toBeUndefined();
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});

describe('an Azure run cut off while its copy read through its grant, resumed when Azure names the snapshot in another casing', () => {
  it('the resumed run still finds the grant the cut-off run left open (ARM ids compare case-insensitively) and revokes it once the copy is done', async () => {
    const caseId = 'IR-AZ-CUT-COPY-CASING';
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, 'copy.started'), { consistency: 'per-disk' }), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const source = first.entries().find((e) => e.type === 'export.granted')!.data.source as string;
    // ARM may answer a resource group in another casing on a later read than the one the case recorded.
    const snapshots = [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId);
    for (const s of snapshots) s.id = s.id.replace(/(\/resourceGroups\/)([^/]+)/, (_m, p: string, rg: string) => `${p}${rg.toUpperCase()}`);
    expect(snapshots.find((s) => s.activeSas)?.id.toLowerCase()).toBe(source.toLowerCase());

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again, { consistency: 'per-disk' }), target);
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    for (const s of snapshots) expect(s.activeSas, 'endGetAccess on every grant of the case').toBeUndefined();
    expect(resumed.filter((e) => e.type === 'export.revoked').map((e) => String(e.data.source).toLowerCase())).toContain(source.toLowerCase());
    expect(outcome.status, outcome.reason).toBe('collected');
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});

describe('an Azure run cut off at each step that follows a cloud call', () => {
  const counts = (caseId: string) => ({
    snapshots: [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId).length,
    restorePoints: [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).reduce((n, c) => n + c.points.size, 0),
  });
  it.each([
    ['per-disk', 'snapshot.created'],
    ['per-disk', 'snapshot.completed'],
    ['per-disk', 'export.granted'],
    ['per-disk', 'copy.completed'],
    ['per-disk', 'evidence.hashed'],
    ['per-disk', 'evidence.sealed'],
    ['restore-point', 'restorepoint.created'],
    ['restore-point', 'restorepoint.completed'],
    ['restore-point', 'copy.started'],
  ] as const)('%s, cut at %s: the resumed run collects the VM with one snapshot or restore point, one copy per disk, no grant left open, and the case verifies', async (consistency, cut) => {
    const caseId = `IR-AZ-CUT-${consistency}-${cut}`.replace(/\./g, '-');
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const overrides = consistency === 'per-disk' ? { consistency: 'per-disk' as const } : {};
    const first = await fx.openTestCase(caseId);
    await expect(collectAzureTarget(fx.run(cutAt(first, cut), overrides), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const made = counts(caseId);

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again, overrides), target);
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(counts(caseId)).toEqual(consistency === 'per-disk' ? { snapshots: 2, restorePoints: 0 } : { snapshots: 0, restorePoints: 1 });
    // What the cut-off run made is adopted, and the ledger says so.
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'snapshot.adopted')).toHaveLength(made.snapshots);
    expect(resumed.filter((e) => e.type === 'restorepoint.adopted')).toHaveLength(made.restorePoints);
    expect(Object.values(evidenceVersions(fx, caseId))).toEqual([1, 1]);
    for (const s of fx.lab.estate.world.snapshots.values()) expect(s.activeSas).toBeUndefined();
    for (const c of fx.lab.estate.world.restorePointCollections.values()) {
      for (const p of c.points.values()) for (const d of p.diskRestorePoints.values()) expect(d.activeSas).toBeUndefined();
    }
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});

describe('an Azure run whose case folder cannot take an evidence file (the disk is full for it, not yet for the ledger)', () => {
  /** `kase`, except that storing a file named `name` fails as the evidence store fails when it cannot write. */
  function fullFor(kase: CaseHandle, name: RegExp): CaseHandle {
    return caseWith(kase, {
      storeEvidence: (input) =>
        name.test(input.name)
          ? Promise.reject(new CustodyError('E_LEDGER', `cannot write evidence/${input.evidenceId}/${input.name} in the case folder: ENOSPC: no space left on device`))
          : kase.storeEvidence(input),
    });
  }

  it.each([
    ['the serial console log', /^serial-console/],
    ['a network interface', /^nic-/],
    ['a disk description', /^disk\.json$/],
  ])('%s: collection stops (E_LEDGER) before any snapshot or restore point is asked for', async (_what, name) => {
    const caseId = `IR-AZ-FULL-${String(name).replace(/[^a-z]/g, '')}`;
    const kase = await fx.openTestCase(caseId);
    const result = await collectAzureTarget(fx.run(fullFor(kase, name)), parseAzureTarget(fx.lab.estate.ids.vm)).then(
      (outcome) => outcome.error,
      (error: unknown) => error,
    );
    expect(result).toMatchObject({ code: 'E_LEDGER' });
    const types = kase.entries().map((e) => e.type);
    expect(types.filter((t) => /^(snapshot|restorepoint|export|copy)\./.test(t))).toEqual([]);
    await kase.release();
  });
});

describe('an Azure VM a finished run already collected, taken again by a resumed run', () => {
  it.each(['per-disk', 'restore-point'] as const)('%s: what the case holds is adopted, not completed, recorded, hashed or sealed a second time', async (consistency) => {
    const caseId = `IR-AZ-AGAIN-${consistency}`;
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const overrides = consistency === 'per-disk' ? { consistency: 'per-disk' as const } : {};
    const first = await fx.openTestCase(caseId);
    expect((await collectAzureTarget(fx.run(first, overrides), target)).status).toBe('collected');
    await first.release();

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again, overrides), target);
    expect(outcome.status, outcome.reason).toBe('collected');
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    const adoptions = resumed.filter((e) => /\.adopted$/.test(e.type)).map((e) => e.type);
    expect(adoptions).toEqual(consistency === 'per-disk' ? ['snapshot.adopted', 'snapshot.adopted', 'copy.adopted', 'copy.adopted'] : ['restorepoint.adopted', 'copy.adopted', 'copy.adopted']);
    const twice = ['snapshot.completed', 'restorepoint.completed', 'artifact.recorded', 'evidence.hashed', 'seal.requested', 'evidence.sealed'];
    expect(resumed.filter((e) => twice.includes(e.type)).map((e) => e.type)).toEqual([]);
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});

describe('an Azure VM whose run was cut between the restore point\'s artefacts (one recorded, the other not)', () => {
  it('the resume records the missing artefact only: neither the point\'s completion nor the recorded disk\'s artefact a second time', async () => {
    const caseId = 'IR-AZ-CUT-BETWEEN-ARTEFACTS';
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const first = await fx.openTestCase(caseId);
    // The ledger takes the first disk restore point's artefact, then answers as a poisoned ledger.
    let artefacts = 0;
    const cut = caseWith(first, {
      recordArtifact: (input) => (++artefacts > 1 ? Promise.reject(new CustodyError('E_LEDGER', `test cut: ${input.kind} was not recorded`)) : first.recordArtifact(input)),
    });
    await expect(collectAzureTarget(fx.run(cut), target)).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const recordedBefore = first.entries().filter((e) => e.type === 'artifact.recorded').map((e) => e.data.evidenceId);
    expect(recordedBefore).toHaveLength(1);

    const again = await fx.openTestCase(caseId, true);
    const outcome = await collectAzureTarget(fx.run(again), target);
    expect(outcome.status, outcome.reason).toBe('collected');
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'restorepoint.completed')).toEqual([]);
    const points = resumed.filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-restore-point').map((e) => e.data.evidenceId);
    expect(points).toHaveLength(1);
    expect(points).not.toContain(recordedBefore[0]);
    // Each disk restore point is one artefact of the case, whatever run recorded it.
    const all = again.entries().filter((e) => e.type === 'artifact.recorded' && e.data.kind === 'azure-disk-restore-point').map((e) => e.data.evidenceId);
    expect(new Set(all).size).toBe(all.length);
    await again.close({ outcomes: [outcome] });
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});
