/**
 * A stopped Azure run (the first Ctrl-C or SIGTERM aborts the run's signal) stops waiting at the
 * next pause of each wait loop: no further poll is made, what it stopped waiting for is recorded
 * as such, and nothing is harmed — a server-side copy still pending keeps the grant it reads
 * through. A resume of the case adopts what the stopped run left running and finishes it.
 *
 * The stop comes from the injected sleep (the loops' pause), so the tests assert on what was
 * asked of the lab after the stop, never on time.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import type { AzureConfig } from '../../../src/providers/azure/config.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { useAzureFixture } from './fixture.js';

// Snapshots and restore points stay Creating for three reads, copies pending for four.
const fx = useAzureFixture({ lab: { operationPolls: 3, copyReads: 4 } });

/**
 * Runs `kase` with a run signal that `stopWhen` aborts from inside a loop's pause; returns the
 * outcome and the lab's ARM operations made after the stop.
 */
async function stoppedRun(kase: CaseHandle, overrides: Partial<AzureConfig>, stopWhen: () => boolean) {
  const controller = new AbortController();
  let stoppedAt: number | undefined;
  const sleep = async () => {
    if (stoppedAt === undefined && stopWhen()) {
      stoppedAt = fx.lab.armLog.length;
      controller.abort(new Error('interrupted by the user'));
    }
  };
  const outcome = await collectAzureTarget({ ...fx.run(kase, overrides), sleep, signal: controller.signal }, parseAzureTarget(fx.lab.estate.ids.vm));
  expect(stoppedAt, 'the run was stopped in a pause').toBeDefined();
  const after = fx.lab.armLog.slice(stoppedAt).filter((x) => x.operation !== 'lab.blob').map((x) => x.operation);
  return { outcome, after };
}

const ofCase = (caseId: string) => ({
  snapshots: [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId),
  restorePoints: [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).flatMap((c) => [...c.points.values()]),
});

async function resumeAndVerify(caseId: string, overrides: Partial<AzureConfig>) {
  const again = await fx.openTestCase(caseId, true);
  const outcome = await collectAzureTarget(fx.run(again, overrides), parseAzureTarget(fx.lab.estate.ids.vm));
  expect(outcome.status, outcome.reason).toBe('collected');
  const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
  await again.close({ outcomes: [outcome] });
  expect((await verifyCase(again.caseDir)).ok).toBe(true);
  return resumed;
}

describe('an Azure run stopped while its snapshots are being made', () => {
  it('stops listing at once, records each snapshot as stopped waiting for (it continues in Azure), exports nothing; a resume adopts both and the case verifies', async () => {
    const caseId = 'IR-AZ-STOP-SNAP';
    const kase = await fx.openTestCase(caseId);
    const { outcome, after } = await stoppedRun(kase, { consistency: 'per-disk' }, () => true);
    expect(after).toEqual([]);
    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot', 'snapshot']);
    for (const e of failed) {
      expect(e.data.error).toMatchObject({ code: 'E_CLOUD', message: expect.stringMatching(/^stopped waiting for snapshot \/subscriptions\/.+: the run was cancelled \(the snapshot continues in Azure; resume the case to adopt it\)$/) });
    }
    expect(kase.entries().map((e) => e.type).filter((t) => /^(export|copy)\.|^evidence\.(hashed|sealed)/.test(t))).toEqual([]);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('stopped waiting for snapshot');
    // Nothing was deleted: both snapshots are still being made.
    expect(ofCase(caseId).snapshots).toHaveLength(2);
    await kase.release();

    const resumed = await resumeAndVerify(caseId, { consistency: 'per-disk' });
    expect(resumed.filter((e) => e.type === 'snapshot.adopted')).toHaveLength(2);
    expect(resumed.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
    expect(ofCase(caseId).snapshots).toHaveLength(2);
  });

  it('a restore point: stops polling it, takes no per-disk snapshots instead; a resume adopts the restore point and the case verifies', async () => {
    const caseId = 'IR-AZ-STOP-RP';
    const kase = await fx.openTestCase(caseId);
    const { outcome, after } = await stoppedRun(kase, {}, () => true);
    expect(after).toEqual([]);
    const types = kase.entries().map((e) => e.type);
    expect(types.filter((t) => /^(snapshot|export|copy)\./.test(t))).toEqual([]);
    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['restore-point']);
    expect(failed[0]!.data.error).toMatchObject({ message: expect.stringContaining('the run was cancelled (the restore point continues in Azure; resume the case to adopt it)') });
    expect(outcome.status).toBe('failed');
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
    await kase.release();

    const resumed = await resumeAndVerify(caseId, {});
    expect(resumed.filter((e) => e.type === 'restorepoint.adopted')).toHaveLength(1);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
  });
});

describe('an Azure run stopped while its server-side copies are pending', () => {
  it('leaves each grant open for its pending copy (no endGetAccess), says so, hashes nothing; a resume adopts the copies, then revokes, hashes and seals, and the case verifies', async () => {
    const caseId = 'IR-AZ-STOP-COPY';
    const kase = await fx.openTestCase(caseId);
    const copying = () => kase.entries().filter((e) => e.type === 'copy.started').length === 2;
    const { outcome, after } = await stoppedRun(kase, { consistency: 'per-disk' }, copying);
    // No revoke, nor anything else, after the stop: revoking would break the copies.
    expect(after).toEqual([]);
    const entries = kase.entries();
    const types = entries.map((e) => e.type);
    expect(types).not.toContain('export.revoked');
    expect(types).not.toContain('copy.completed');
    expect(types).not.toContain('evidence.hashed');
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['copy', 'copy']);
    for (const e of failed) {
      expect(e.data.error).toMatchObject({ message: expect.stringMatching(/^stopped waiting for the copy into IR-AZ-STOP-COPY\/.+\.vhd: the run was cancelled \(the server-side copy keeps running in Azure, reading through the export grant of .+, which is left open for it; resume the case to adopt the copy, which then revokes the grant\)$/) });
    }
    const leftOpen = entries.filter((e) => e.type === 'export.left-open');
    const granted = entries.filter((e) => e.type === 'export.granted');
    expect(leftOpen.map((e) => e.data.source).sort()).toEqual(granted.map((e) => e.data.source).sort());
    for (const e of leftOpen) {
      expect(e.data).toMatchObject({ blob: expect.stringMatching(/^IR-AZ-STOP-COPY\//), copyId: expect.any(String), grantExpiresOn: expect.any(String), reason: expect.stringContaining('not revoked (that would break the copy)') });
    }
    // A live read path to the evidence: never `collected`.
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('is left open');
    for (const s of ofCase(caseId).snapshots) expect(s.activeSas, 'the grant the pending copy reads through').toBeDefined();
    await kase.release();

    const resumed = await resumeAndVerify(caseId, { consistency: 'per-disk' });
    for (const e of leftOpen) {
      const about = resumed.filter((r) => r.data.blob === e.data.blob || r.data.source === e.data.source).map((r) => r.type);
      expect(about).toEqual(['copy.adopted', 'copy.completed', 'export.revoked', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    }
    expect(resumed.filter((e) => e.type === 'copy.adopted').map((e) => e.data.copyStatus)).toEqual(['pending', 'pending']);
    expect(resumed.filter((e) => e.type === 'export.requested' || e.type === 'copy.requested')).toEqual([]);
    for (const s of ofCase(caseId).snapshots) expect(s.activeSas).toBeUndefined();
  });
});
