/**
 * A per-disk snapshot wait cut short by something other than a stop — its time limit
 * (`azure.waitTimeoutMs`), or the listing of its group refused or failing after the SDK's retries,
 * or throttled at every poll until that limit (one throttled listing is only a failed poll) — leaves
 * the snapshots as a stop leaves them: Azure accepted them and may still be making them, so each
 * gets `leftInAzure` on its `step.failed` (`snapshot`), the target ends `partial` (never
 * `failed`: a resume adopts them), and a resume adopts and exports those very snapshots,
 * requesting none again.
 *
 * The cut is made from the injected sleep and clock (the wait loop's pause), so the tests
 * assert on what was asked and recorded, never on time.
 */
import { describe, expect, it } from 'vitest';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import type { AzureConfig } from '../../../src/providers/azure/config.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { resumeCollected, useAzureFixture } from './fixture.js';

// Snapshots stay Creating for three listings.
const fx = useAzureFixture({ lab: { operationPolls: 3 } });

const PER_DISK: Partial<AzureConfig> = { consistency: 'per-disk' };
const count = (kase: CaseHandle, type: string) => kase.entries().filter((e) => e.type === type).length;
const snapshotsOf = (caseId: string) => [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId);

/** A listing throttled past the SDK's retries (three attempts). */
const THROTTLED = { status: 429, code: 'TooManyRequests', message: 'throttled', times: 3, retryAfterSeconds: 0 };

/** A sleep that, at the wait's first pause (both snapshots asked for), makes the lab answer the next listing with `fault`. */
function faultFirstWaitListing(kase: CaseHandle, fault: { status: number; code: string; message: string; times: number; retryAfterSeconds?: number }) {
  let armed = false;
  const sleep = async () => {
    if (armed || count(kase, 'snapshot.created') < 2) return;
    armed = true;
    fx.lab.faults.push({ operation: 'snapshots.listByResourceGroup', ...fault });
  };
  return { sleep, armed: () => armed };
}

/** What every cut leaves: each snapshot asked for, left in Azure and said so once; then a resume adopts and exports them. */
async function expectLeftAndAdopted(kase: CaseHandle, caseId: string, outcome: { status: string; reason?: string }, error: { code: string; message: RegExp }) {
  const entries = kase.entries();
  const asked = entries.filter((e) => e.type === 'snapshot.requested').map((e) => e.data.snapshotId as string);
  expect(asked).toHaveLength(2);
  expect(entries.filter((e) => e.type === 'snapshot.completed')).toEqual([]);
  expect(entries.map((e) => e.type).filter((t) => /^(export|copy)\.|^evidence\.(hashed|sealed)/.test(t))).toEqual([]);
  const perSnapshot = entries.filter((e) => e.type === 'step.failed' && e.data.step === 'snapshot');
  expect(perSnapshot.map((e) => e.data.snapshotId)).toEqual(asked);
  for (const e of perSnapshot) expect(e.data.error).toMatchObject({ code: error.code, message: expect.stringMatching(error.message) });
  const left = asked.map((id) => `snapshot ${id} was asked for and may still be being made; a resume adopts it`);
  expect(perSnapshot.map((e) => e.data.leftInAzure)).toEqual(left);
  expect(outcome.status, outcome.reason).toBe('partial');
  // Each said once: the step.failed entries carry why.
  expect(outcome.reason).toBe(left.join('; '));
  // Nothing was deleted: both are still being made.
  expect(snapshotsOf(caseId).map((s) => s.id).sort()).toEqual([...asked].sort());
  await kase.close({ outcomes: [outcome as never] });

  const resumed = await resumeCollected(fx, caseId, PER_DISK);
  expect(resumed.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotId)).toEqual(asked);
  expect(resumed.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
  expect(resumed.filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toEqual(asked);
  expect(snapshotsOf(caseId).map((s) => s.id).sort()).toEqual([...asked].sort());
}

describe('a per-disk snapshot wait cut short by something other than a stop', () => {
  it('its time limit: each snapshot still being made is left in Azure (leftInAzure), the target is partial; a resume adopts and exports the same snapshots, none requested again', async () => {
    const caseId = 'IR-AZ-SNAP-TIMEOUT';
    const kase = await fx.openTestCase(caseId);
    let clock = 0;
    let jumped = false;
    const sleep = async () => {
      // Once both are asked for, the first pause outlasts the wait's limit.
      if (jumped || count(kase, 'snapshot.created') < 2) return;
      jumped = true;
      clock += fx.config.waitTimeoutMs + 1;
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep, now: () => clock }, parseAzureTarget(fx.lab.estate.ids.vm));
    expect(kase.entries().filter((e) => e.type === 'step.failed').map((e) => e.data.step)).toEqual(['snapshot', 'snapshot']);
    await expectLeftAndAdopted(kase, caseId, outcome, { code: 'E_TIMEOUT', message: /^snapshot \/subscriptions\/.+ did not finish within 30000 ms$/ });
  });

  it("its group's listing refused: recorded once for the group, each snapshot left in Azure (leftInAzure), the target is partial; a resume adopts and exports the same snapshots, none requested again", async () => {
    const caseId = 'IR-AZ-SNAP-UNREAD';
    const kase = await fx.openTestCase(caseId);
    // The first listing of the wait: ARM refuses it (not a throttle: the wait ends for the group).
    const { sleep } = faultFirstWaitListing(kase, { status: 403, code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action list.', times: 1 });
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot-wait', 'snapshot', 'snapshot']);
    expect(failed[0]!.data).toMatchObject({ resourceGroup: fx.config.stagingResourceGroup, error: { code: 'E_ACCESS_DENIED' } });
    // The one listing failure is recorded once, on its group's entry; each snapshot's wait it cut
    // refers to that entry by its seq, and does not repeat the listing's error or request id.
    const listing = failed[0]!.data.error as { message: string; requestId?: string };
    for (const e of failed.slice(1)) {
      expect(e.data.waitCutBy).toEqual({ step: 'snapshot-wait', seq: failed[0]!.seq });
      expect(JSON.stringify(e.data)).not.toContain(listing.message);
      expect(e.data.error).not.toHaveProperty('requestId');
    }
    await expectLeftAndAdopted(kase, caseId, outcome, { code: 'E_ACCESS_DENIED', message: new RegExp(`^the state of snapshot /subscriptions/.+ could not be read: the listing of its resource group failed \\(step\\.failed snapshot-wait, seq ${failed[0]!.seq}\\); it may still be being made in Azure`) });
  });

  it("its group's listing throttled past the SDK's retries once: one failed poll, the next round lists the group again, and the snapshots are carried on as usual", async () => {
    const caseId = 'IR-AZ-SNAP-THROTTLED-ONCE';
    const kase = await fx.openTestCase(caseId);
    // The first listing of the wait: ARM throttles it past the SDK's retries (three attempts).
    const first = faultFirstWaitListing(kase, THROTTLED);
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep: first.sleep }, parseAzureTarget(fx.lab.estate.ids.vm));
    expect(first.armed()).toBe(true);
    expect(kase.entries().filter((e) => e.type === 'step.failed')).toEqual([]);
    expect(kase.entries().filter((e) => e.type === 'snapshot.completed')).toHaveLength(2);
    expect(outcome.status, outcome.reason).toBe('collected');
    await kase.close({ outcomes: [outcome] });
  });

  it("its group's listing throttled at every poll until the wait's limit: then the cut is recorded once for the group (E_THROTTLED), each snapshot left in Azure; a resume adopts them", async () => {
    const caseId = 'IR-AZ-SNAP-THROTTLED';
    const kase = await fx.openTestCase(caseId);
    let clock = 0;
    let throttledPolls = 0;
    const sleep = async () => {
      if (count(kase, 'snapshot.created') < 2) return;
      // Every listing of the wait is throttled past the SDK's retries; each pause moves the clock
      // on by half the wait's limit, so the third throttled poll is the last before the limit.
      throttledPolls += 1;
      fx.lab.faults.push({ operation: 'snapshots.listByResourceGroup', ...THROTTLED });
      clock += fx.config.waitTimeoutMs / 2;
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep, now: () => clock }, parseAzureTarget(fx.lab.estate.ids.vm));
    expect(throttledPolls).toBe(3);
    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot-wait', 'snapshot', 'snapshot']);
    expect(failed[0]!.data).toMatchObject({ resourceGroup: fx.config.stagingResourceGroup, error: { code: 'E_THROTTLED' } });
    for (const e of failed.slice(1)) expect(e.data.waitCutBy).toEqual({ step: 'snapshot-wait', seq: failed[0]!.seq });
    await expectLeftAndAdopted(kase, caseId, outcome, { code: 'E_THROTTLED', message: new RegExp(`^the state of snapshot /subscriptions/.+ could not be read: the listing of its resource group failed \\(step\\.failed snapshot-wait, seq ${failed[0]!.seq}\\); it may still be being made in Azure`) });
  });
});

describe('a per-disk snapshot deleted while the run waits for it', () => {
  it('a listing that named it no longer does: it vanished (E_NOT_FOUND), nothing says it may still be being made, and the other disk is carried on', async () => {
    const caseId = 'IR-AZ-SNAP-VANISHED';
    const kase = await fx.openTestCase(caseId);
    let clock = 0;
    let pauses = 0;
    let deleted: string | undefined;
    const sleep = async () => {
      if (count(kase, 'snapshot.created') < 2) return;
      pauses += 1;
      // The wait's second pause: the first listing named both snapshots, still being made; then
      // someone deletes the OS disk's. Each pause moves the clock on, so a wait that never ends
      // reaches its limit instead of running on.
      if (pauses === 2) {
        const os = snapshotsOf(caseId).find((s) => s.sourceResourceId.toLowerCase() === fx.lab.estate.ids.vmOsDisk.toLowerCase())!;
        deleted = os.id;
        fx.lab.estate.world.snapshots.delete(os.id.toLowerCase());
      }
      clock += fx.config.waitTimeoutMs / 4;
    };
    const outcome = await collectAzureTarget({ ...fx.run(kase, PER_DISK), sleep, now: () => clock }, parseAzureTarget(fx.lab.estate.ids.vm));
    expect(deleted).toBeDefined();
    const failed = kase.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data)).toEqual([expect.objectContaining({ step: 'snapshot', snapshotId: deleted, error: expect.objectContaining({ code: 'E_NOT_FOUND' }) })]);
    expect(failed[0]!.data).not.toHaveProperty('leftInAzure');
    expect((failed[0]!.data.requestIds as string[]).length).toBeGreaterThan(0);
    expect(kase.entries().filter((e) => e.type === 'snapshot.completed').map((e) => e.data.snapshotId)).not.toContain(deleted);
    expect(kase.entries().filter((e) => e.type === 'export.requested').map((e) => e.data.source)).toHaveLength(1);
    expect(outcome.status, outcome.reason).toBe('partial');
    expect(outcome.reason).not.toContain('may still be being made');
    expect(outcome.reason).toContain(`snapshot ${deleted} vanished`);
    await kase.close({ outcomes: [outcome] });
  });
});

