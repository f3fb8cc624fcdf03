/**
 * A crash-consistent restore point Azure accepted, whose state could not be read while the run
 * waited on it (after the SDK's retries): it may still be being made, so it is not abandoned. No
 * per-disk snapshot is asked for in its place (that would preserve the disks twice, and a resume
 * would export them twice); the failed read is recorded with its exchanges, the target ends
 * `partial` and says a resume adopts the point, and a resume does: exports, copies, hashes and
 * seals its disk restore points, making nothing new. A point Azure refused outright (its PUT
 * answered 4xx) still falls back to per-disk snapshots.
 *
 * Faults are armed from the injected sleep (the wait's pause), so the tests assert on what was
 * asked and recorded, never on time.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { resumeCollected, useAzureFixture } from './fixture.js';

// Restore points stay Creating for three reads.
const fx = useAzureFixture({ lab: { operationPolls: 3 } });

const ofCase = (caseId: string) => ({
  snapshots: [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId),
  restorePoints: [...fx.lab.estate.world.restorePointCollections.values()].filter((c) => c.tags.CaseId === caseId).flatMap((c) => [...c.points.values()]),
});
const count = (kase: CaseHandle, type: string) => kase.entries().filter((e) => e.type === type).length;

describe('the restore point a run asked for cannot be read while it waits on it', () => {
  it.each([
    ['refused (403)', { status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action read.' }, [403]],
    ['throttled past the retries (429)', { status: 429, code: 'TooManyRequests', message: 'throttled', retryAfterSeconds: 0 }, [429, 429, 429]],
  ] as const)('%s: no per-disk snapshot in its place, the failed read recorded with its exchanges, partial with a reason naming the point; a resume adopts and exports it', async (label, fault, statuses) => {
    const caseId = `IR-AZ-RP-UNREAD-${statuses.length}`;
    const kase = await fx.openTestCase(caseId);
    let armed = false;
    const sleep = async () => {
      if (armed || count(kase, 'restorepoint.created') === 0) return;
      armed = true;
      fx.lab.faults.push({ operation: 'restorePoints.get', times: statuses.length, ...fault });
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase), sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    const entries = kase.entries();
    const point = entries.find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;

    const failedReads = fx.lab.armLog.filter((x) => x.operation === 'restorePoints.get' && x.status === statuses[0]);
    expect(failedReads.map((x) => x.status), label).toEqual(statuses);
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['restore-point']);
    expect(failed[0]!.data).toMatchObject({ restorePointId: point, requestIds: failedReads.map((x) => x.requestId) });
    expect((failed[0]!.data.exchanges as Array<{ status: number }>).map((x) => x.status)).toEqual(statuses);
    // Not abandoned: nothing per-disk is asked for, nothing is exported.
    expect(entries.map((e) => e.type).filter((t) => /^(snapshot|export|copy)\.|^restorepoint\.completed$/.test(t))).toEqual([]);
    expect(entries.filter((e) => e.type === 'consistency.chosen')).toEqual([]);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).toContain(`restore point ${point} was asked for and may still be being made; a resume adopts it`);
    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).problems).toEqual([]);

    const resumed = await resumeCollected(fx, caseId);
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested', 'snapshot.adopted'].includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'restorepoint.adopted').map((e) => e.data.restorePointId)).toEqual([point]);
    expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.operation)).toEqual(['grantDiskRestorePointAccess', 'grantDiskRestorePointAccess']);
    expect(resumed.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
  });

  it('a status read refused (403) is not the PUT refused: a resume under per-disk consistency adopts the point, no snapshot beside it', async () => {
    const caseId = 'IR-AZ-RP-UNREAD-PERDISK';
    const kase = await fx.openTestCase(caseId);
    let armed = false;
    const sleep = async () => {
      if (armed || count(kase, 'restorepoint.created') === 0) return;
      armed = true;
      fx.lab.faults.push({ operation: 'restorePoints.get', times: 1, status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action read.' });
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase), sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    const point = kase.entries().find((e) => e.type === 'restorepoint.requested')!.data.restorePointId as string;
    expect(kase.entries().filter((e) => e.type === 'step.failed').map((e) => e.data.refusedOutright)).toEqual([false]);
    expect(outcome.status, outcome.reason).toBe('partial');
    await kase.close({ outcomes: [outcome] });

    const resumed = await resumeCollected(fx, caseId, { consistency: 'per-disk' });
    expect(resumed.filter((e) => ['restorepoint.requested', 'snapshot.requested'].includes(e.type))).toEqual([]);
    expect(resumed.filter((e) => e.type === 'restorepoint.adopted').map((e) => e.data.restorePointId)).toEqual([point]);
    expect(ofCase(caseId)).toMatchObject({ snapshots: [], restorePoints: [expect.anything()] });
  });

  it('a restore point Azure refused outright (its PUT answered 400) still falls back to per-disk snapshots', async () => {
    const caseId = 'IR-AZ-RP-REFUSED';
    fx.lab.faults.push({ operation: 'restorePoints.create', status: 400, code: 'OperationNotAllowed', message: 'Restore points are not allowed now.', times: 1 });
    const kase = await fx.openTestCase(caseId);
    const outcome = await collectAzureTarget(fx.run(kase), parseAzureTarget(fx.lab.estate.ids.vm));
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'step.failed').map((e) => e.data.step)).toEqual(['restore-point']);
    expect(entries.filter((e) => e.type === 'consistency.chosen').map((e) => e.data.mode)).toEqual(['per-disk']);
    expect(entries.filter((e) => e.type === 'snapshot.completed')).toHaveLength(2);
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(ofCase(caseId)).toMatchObject({ restorePoints: [], snapshots: [expect.anything(), expect.anything()] });
    await kase.release();
  });
});

describe('the restore point a run asked for is deleted while it waits on it', () => {
  it('a read that found it, then a 404: Azure answered it is gone, so nothing says it may still be being made, and the disks fall back to per-disk snapshots', async () => {
    const caseId = 'IR-AZ-RP-VANISHED';
    const kase = await fx.openTestCase(caseId);
    let pauses = 0;
    const sleep = async () => {
      if (count(kase, 'restorepoint.created') === 0) return;
      pauses += 1;
      // The first read after the PUT found the point still Creating; then someone deletes it.
      if (pauses === 2) for (const c of fx.lab.estate.world.restorePointCollections.values()) if (c.tags.CaseId === caseId) c.points.clear();
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase), sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    expect(pauses).toBeGreaterThanOrEqual(2);
    const failed = kase.entries().filter((e) => e.type === 'step.failed').map((e) => e.data);
    expect(failed).toEqual([expect.objectContaining({ step: 'restore-point', error: expect.objectContaining({ code: 'E_NOT_FOUND' }) })]);
    expect(failed[0]).not.toHaveProperty('leftInAzure');
    expect((failed[0]!.requestIds as string[]).length).toBeGreaterThan(0);
    expect(kase.entries().filter((e) => e.type === 'consistency.chosen').map((e) => e.data.mode)).toEqual(['per-disk']);
    expect(ofCase(caseId).snapshots).toHaveLength(2);
    expect(outcome.status, outcome.reason).toBe('collected');
    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });
});

