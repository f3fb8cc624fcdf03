/**
 * A stopped Azure run (the first Ctrl-C or SIGTERM aborts the run's signal) stops waiting at the
 * next pause of each wait loop: no further poll is made, what it stopped waiting for is recorded
 * as such, and nothing is harmed — a server-side copy still pending keeps the grant it reads
 * through. A resume of the case adopts what the stopped run left running and finishes it.
 *
 * The stop comes from the injected sleep (the loops' pause), or while a wait's read is held at
 * the lab (`holdNext`): the read takes the run's signal, so the run ends with it unanswered. The
 * tests assert on what was asked of the lab after the stop, never on time. A call that changes
 * something is never given the signal (`callAzure` refuses it).
 */
import { describe, expect, it } from 'vitest';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import type { AzureConfig } from '../../../src/providers/azure/config.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { callAzure } from '../../../src/providers/azure/arm-call.js';
import { AZURE_OPERATIONS, type AzureOperationName } from '../../../src/providers/azure/operations.js';
import type { CallHold } from '../../../src/lab/call-holds.js';
import { resumeCollected, useAzureFixture } from './fixture.js';

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
    // Asked for (their PUTs answered): as a restore point stopped mid-creation, partial, and says so.
    const asked = kase.entries().filter((e) => e.type === 'snapshot.requested').map((e) => e.data.snapshotId as string);
    const left = asked.map((id) => `snapshot ${id} was asked for and may still be being made; a resume adopts it`);
    expect(failed.map((e) => e.data.leftInAzure)).toEqual(left);
    expect(outcome.status).toBe('partial');
    // Each said once: the stop's step.failed says the run was cancelled.
    expect(outcome.reason).toBe(left.join('; '));
    // Nothing was deleted: both snapshots are still being made.
    expect(ofCase(caseId).snapshots).toHaveLength(2);
    await kase.release();

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId)).toEqual(asked);
    expect(resumed.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toEqual(asked);
    expect(ofCase(caseId).snapshots.map((s) => s.id).sort()).toEqual([...asked].sort());
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
    // Asked for (its PUT sent): as a point whose state could not be read, partial, and says so.
    const point = kase.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    const left = `restore point ${point} was asked for and may still be being made; a resume adopts it`;
    expect(failed[0]!.data.leftInAzure).toBe(left);
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(left);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
    await kase.release();

    const resumed = await resumeCollected(fx, caseId, {});
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

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    for (const e of leftOpen) {
      const about = resumed.filter((r) => r.data.blob === e.data.blob || r.data.source === e.data.source).map((r) => r.type);
      expect(about).toEqual(['copy.adopted', 'copy.completed', 'export.revoked', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    }
    expect(resumed.filter((e) => e.type === 'copy.adopted').map((e) => e.data.copyStatus)).toEqual(['pending', 'pending']);
    expect(resumed.filter((e) => e.type === 'export.requested' || e.type === 'copy.requested')).toEqual([]);
    for (const s of ofCase(caseId).snapshots) expect(s.activeSas).toBeUndefined();
  });
});

/**
 * Runs `kase` until a wait loop's read of `api` is at the lab, held there (`holdNext`, armed from
 * the loop's pause once `holdWhen`), then stops the run: the run must end while that read is
 * still unanswered — the read took the run's signal. Returns the outcome and the ARM operations
 * made after the stop; the held read is released only afterwards.
 */
async function stoppedDuringRead(kase: CaseHandle, overrides: Partial<AzureConfig>, api: string, holdWhen: () => boolean) {
  const controller = new AbortController();
  let armHold!: (hold: CallHold) => void;
  const armed = new Promise<CallHold>((resolve) => (armHold = resolve));
  let holding = false;
  const sleep = async () => {
    if (holding || !holdWhen()) return;
    holding = true;
    armHold(fx.lab.holdNext(api));
  };
  const collecting = collectAzureTarget({ ...fx.run(kase, overrides), sleep, signal: controller.signal }, parseAzureTarget(fx.lab.estate.ids.vm));
  const hold = await armed;
  await hold.arrived;
  const stoppedAt = fx.lab.armLog.length;
  controller.abort(new Error('interrupted by the user'));
  // Settles with the read still held: without the signal on the read, this never returns.
  const outcome = await collecting;
  const after = fx.lab.armLog.slice(stoppedAt).filter((x) => x.operation !== 'lab.blob').map((x) => x.operation);
  hold.release();
  return { outcome, after };
}

describe("a stop while a wait's read is at Azure ends the wait at once (the read takes the run's signal)", () => {
  it('a snapshot listing: each snapshot is recorded as stopped waiting for, none is claimed completed, nothing more is asked', async () => {
    const caseId = 'IR-AZ-STOP-LISTING';
    const kase = await fx.openTestCase(caseId);
    const created = () => kase.entries().filter((e) => e.type === 'snapshot.created').length === 2;
    const { outcome, after } = await stoppedDuringRead(kase, { consistency: 'per-disk' }, 'snapshots.listByResourceGroup', created);
    expect(after).toEqual([]);
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'snapshot.requested')).toHaveLength(2);
    expect(entries.filter((e) => e.type === 'snapshot.completed')).toEqual([]);
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot', 'snapshot']);
    for (const e of failed) {
      expect(e.data.error).toMatchObject({ code: 'E_CLOUD', message: expect.stringMatching(/^stopped waiting for snapshot \/subscriptions\/.+: the run was cancelled \(the snapshot continues in Azure; resume the case to adopt it\)$/) });
    }
    expect(entries.map((e) => e.type).filter((t) => /^(export|copy)\./.test(t))).toEqual([]);
    // Still being made: partial, as a stop at the pause leaves them.
    for (const e of failed) expect(e.data.leftInAzure).toBe(`snapshot ${e.data.snapshotId} was asked for and may still be being made; a resume adopts it`);
    expect(outcome.status).toBe('partial');
    expect(ofCase(caseId).snapshots).toHaveLength(2);
    await kase.release();
  });

  it('a restore point read: recorded as stopped waiting for, no per-disk snapshots instead, nothing more is asked', async () => {
    const caseId = 'IR-AZ-STOP-RP-READ';
    const kase = await fx.openTestCase(caseId);
    const created = () => kase.entries().some((e) => e.type === 'restorepoint.created');
    const { outcome, after } = await stoppedDuringRead(kase, {}, 'restorePoints.get', created);
    expect(after).toEqual([]);
    const entries = kase.entries();
    expect(entries.map((e) => e.type).filter((t) => /^(snapshot|export|copy)\.|^restorepoint\.completed/.test(t))).toEqual([]);
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['restore-point']);
    expect(failed[0]!.data.error).toMatchObject({ code: 'E_CLOUD', message: expect.stringMatching(/^stopped waiting for restore point \/subscriptions\/.+: the run was cancelled \(the restore point continues in Azure; resume the case to adopt it\)$/) });
    expect(failed[0]!.data.leftInAzure).toContain('was asked for and may still be being made; a resume adopts it');
    expect(outcome.status).toBe('partial');
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
    await kase.release();
  });

  it('a read-access poll: no copy reads through the grants yet, so each export is recorded as stopped waiting for and its grant\'s revoke is asked for (not waited on: export.left-open); nothing is copied', async () => {
    const caseId = 'IR-AZ-STOP-GRANT-POLL';
    const kase = await fx.openTestCase(caseId);
    const granting = () => kase.entries().filter((e) => e.type === 'export.requested').length === 2;
    const { outcome, after } = await stoppedDuringRead(kase, { consistency: 'per-disk' }, 'locations.operations', granting);
    // After the stop only the revokes, never a poll of them: nothing new is started, no wait goes on.
    expect(after).toEqual(['snapshots.revokeAccess', 'snapshots.revokeAccess']);
    const entries = kase.entries();
    expect(entries.map((e) => e.type).filter((t) => /^copy\.|^export\.granted$/.test(t))).toEqual([]);
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['export', 'export']);
    for (const e of failed) {
      expect(e.data.error).toMatchObject({ message: expect.stringMatching(/^stopped waiting for read access to \/subscriptions\/.+: the run was cancelled \(endGetAccess is asked for its grant; resume the case to export it\)$/) });
    }
    // Asked for, not seen to finish: each grant may still be open, and a resume revokes it.
    expect(entries.filter((e) => e.type === 'export.revoked')).toEqual([]);
    const leftOpen = entries.filter((e) => e.type === 'export.left-open');
    expect(leftOpen.map((e) => e.data.source).sort()).toEqual(failed.map((e) => e.data.source).sort());
    for (const e of leftOpen) expect(e.data.reason).toMatch(/^the run was cancelled while endGetAccess on .+ was still being processed: the read grant \(SAS\) may still be open until it expires \(expiry not known\); a resume revokes it$/);
    expect(outcome.status).toBe('partial');
    for (const snapshot of ofCase(caseId).snapshots) expect(snapshot.activeSas).toBeUndefined();
    await kase.release();
  });

  it("a copy's status read: each pending copy keeps its grant (export.left-open, no revoke), is recorded as stopped waiting for, nothing is hashed", async () => {
    const caseId = 'IR-AZ-STOP-COPY-READ';
    const kase = await fx.openTestCase(caseId);
    const copying = () => kase.entries().filter((e) => e.type === 'copy.started').length === 2;
    const { outcome, after } = await stoppedDuringRead(kase, { consistency: 'per-disk' }, 'Blob_GetProperties', copying);
    // No revoke after the stop: the copies read through the grants.
    expect(after).toEqual([]);
    const entries = kase.entries();
    expect(entries.map((e) => e.type).filter((t) => t === 'export.revoked' || t === 'copy.completed' || t === 'evidence.hashed')).toEqual([]);
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['copy', 'copy']);
    for (const e of failed) {
      expect(e.data.error).toMatchObject({ message: expect.stringMatching(/^stopped waiting for the copy into IR-AZ-STOP-COPY-READ\/.+\.vhd: the run was cancelled \(the server-side copy keeps running in Azure, reading through the export grant of .+, which is left open for it; resume the case to adopt the copy, which then revokes the grant\)$/) });
    }
    const granted = entries.filter((e) => e.type === 'export.granted').map((e) => e.data.source);
    expect(entries.filter((e) => e.type === 'export.left-open').map((e) => e.data.source).sort()).toEqual([...granted].sort());
    expect(outcome.status).toBe('partial');
    for (const snapshot of ofCase(caseId).snapshots) expect(snapshot.activeSas).toBeDefined();
    await kase.release();
  });
});

describe("an Azure run whose grants' revoke (endGetAccess) has not finished", () => {
  // The lab is shared by the file's tests: only this test's revokes count.
  let from = 0;
  const revoking = () => fx.lab.armLog.slice(from).some((x) => x.operation === 'snapshots.revokeAccess');

  it('stopped while it waits on the revokes: no further poll, each grant is recorded as maybe still open (export.left-open), the target is partial; a resume revokes them and the case verifies', async () => {
    const caseId = 'IR-AZ-STOP-REVOKE';
    from = fx.lab.armLog.length;
    const kase = await fx.openTestCase(caseId);
    const { outcome, after } = await stoppedRun(kase, { consistency: 'per-disk' }, revoking);
    // The second revoke is still sent (closing a read path is never skipped); no poll of either after the stop.
    expect(after.filter((op) => op !== 'snapshots.revokeAccess')).toEqual([]);
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'export.revoked')).toEqual([]);
    const granted = entries.filter((e) => e.type === 'export.granted').map((e) => e.data.source);
    const leftOpen = entries.filter((e) => e.type === 'export.left-open');
    expect(leftOpen.map((e) => e.data.source).sort()).toEqual([...granted].sort());
    for (const e of leftOpen) {
      expect(e.data).toMatchObject({ blob: expect.stringMatching(/^IR-AZ-STOP-REVOKE\//), grantExpiresOn: expect.any(String), reason: expect.stringMatching(/^the run was cancelled while endGetAccess on .+ was still being processed: the read grant \(SAS\) may still be open until .+; a resume revokes it$/) });
      // Said after the revoke was asked for, and before the copy's hash.
      const copied = entries.find((x) => x.type === 'evidence.hashed' && x.data.blob === e.data.blob)!;
      expect(entries.indexOf(e)).toBeLessThan(entries.indexOf(copied));
    }
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('may still be open');
    await kase.release();

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    expect(resumed.filter((e) => e.type === 'export.revoked').map((e) => e.data.source).sort()).toEqual([...granted].sort());
    expect(resumed.filter((e) => e.type === 'export.requested' || e.type === 'copy.requested')).toEqual([]);
  });

  it("its wait passes azure.waitTimeoutMs: the same, said as the wait's time up", async () => {
    const caseId = 'IR-AZ-REVOKE-TIMEOUT';
    from = fx.lab.armLog.length;
    const kase = await fx.openTestCase(caseId);
    // The clock jumps past the wait's limit once a revoke is asked for: no timing involved.
    const now = () => Date.now() + (revoking() ? 86_400_000 : 0);
    const outcome = await collectAzureTarget({ ...fx.run(kase, { consistency: 'per-disk' }), now }, parseAzureTarget(fx.lab.estate.ids.vm));
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'export.revoked')).toEqual([]);
    const leftOpen = entries.filter((e) => e.type === 'export.left-open');
    expect(leftOpen).toHaveLength(2);
    for (const e of leftOpen) expect(e.data.reason).toMatch(/^the wait for endGetAccess on .+ timed out while it was still being processed: the read grant \(SAS\) may still be open until .+; a resume revokes it$/);
    expect(outcome.status).toBe('partial');
    await kase.release();
  });
});

describe("the run's signal and Azure calls that change something", () => {
  const signal = new AbortController().signal;
  const names = Object.keys(AZURE_OPERATIONS) as AzureOperationName[];

  it.each(names.filter((name) => AZURE_OPERATIONS[name].mutates))('%s refuses the signal (a change cut off mid-flight leaves no answer to record), before any request', async (name) => {
    let called = false;
    const call = callAzure(name, '/subscriptions/s/resourceGroups/g', async () => {
      called = true;
    }, { signal });
    await expect(call).rejects.toMatchObject({ code: 'E_INTERNAL' });
    expect(called).toBe(false);
  });

  it.each(names.filter((name) => !AZURE_OPERATIONS[name].mutates))('%s, a read, passes the signal to the SDK call', async (name) => {
    const passed = await callAzure(name, '/subscriptions/s/resourceGroups/g', async (o) => o.abortSignal, { signal });
    expect(passed.value).toBe(signal);
  });
});
