/**
 * The first listing of an Azure run's snapshot groups, before any snapshot is asked for (the
 * listing that finds what an interrupted run made, to adopt it): a failure is a failed step with
 * its exchanges, not an error thrown out of the target; nothing is requested, so the target fails
 * with the reason. The listing is a read and takes the run's signal: a stop while it is out ends
 * the target at once. Faults are armed, or the call held, at the lab: the tests assert on what
 * was asked and recorded, never on time.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { useAzureFixture } from './fixture.js';

const fx = useAzureFixture();

const ofCase = (caseId: string) => ({
  snapshots: [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId),
});

describe('the first listing of the snapshot groups, before any snapshot is asked for', () => {
  it('refused: a failed step with its exchanges, nothing requested, the target fails with the reason (never a thrown error)', async () => {
    const caseId = 'IR-AZ-FIRST-LIST';
    fx.lab.faults.push({ operation: 'snapshots.listByResourceGroup', status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action list.', times: 1 });
    const kase = await fx.openTestCase(caseId);
    const outcome = await collectAzureTarget(fx.run(kase, { consistency: 'per-disk' }), parseAzureTarget(fx.lab.estate.ids.vm));
    const refused = fx.lab.armLog.filter((x) => x.operation === 'snapshots.listByResourceGroup' && x.status === 403);
    expect(refused).toHaveLength(1);
    const entries = kase.entries();
    const failed = entries.filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot-list']);
    expect(failed[0]!.data).toMatchObject({ resourceGroup: fx.config.stagingResourceGroup, error: { code: 'E_ACCESS_DENIED', requestId: refused[0]!.requestId }, requestIds: [refused[0]!.requestId] });
    expect(entries.map((e) => e.type).filter((t) => /^(snapshot|export|copy)\./.test(t))).toEqual([]);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('no disk was preserved');
    expect(outcome.reason).toContain('AuthorizationFailed');
    expect(ofCase(caseId).snapshots).toEqual([]);
    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).problems).toEqual([]);
  });

  it("takes the run's signal: a stop while it is at Azure ends the target with nothing requested and nothing more asked", async () => {
    const caseId = 'IR-AZ-FIRST-LIST-STOP';
    const kase = await fx.openTestCase(caseId);
    const controller = new AbortController();
    const hold = fx.lab.holdNext('snapshots.listByResourceGroup');
    const collecting = collectAzureTarget({ ...fx.run(kase, { consistency: 'per-disk' }), signal: controller.signal }, parseAzureTarget(fx.lab.estate.ids.vm));
    await hold.arrived;
    const stoppedAt = fx.lab.armLog.length;
    controller.abort(new Error('interrupted by the user'));
    // Settles with the listing still held: without the signal on it, this never returns.
    const outcome = await collecting;
    const after = fx.lab.armLog.slice(stoppedAt).filter((x) => x.operation !== 'lab.blob');
    hold.release();
    expect(after).toEqual([]);
    const entries = kase.entries();
    expect(entries.filter((e) => e.type === 'step.failed').map((e) => e.data.step)).toEqual(['snapshot-list']);
    expect(entries.map((e) => e.type).filter((t) => /^(snapshot|export|copy)\./.test(t))).toEqual([]);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('the run was cancelled');
    expect(ofCase(caseId).snapshots).toEqual([]);
    await kase.release();
  });
});
