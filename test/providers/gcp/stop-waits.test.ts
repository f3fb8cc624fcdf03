/**
 * A stopped GCP run (the first Ctrl-C or SIGTERM aborts the run's signal) stops waiting for its
 * snapshot operations at once: the waiter is the run's, so every pending wait is rejected, no
 * further wait is asked of Compute, and each disk records that the run stopped waiting (the
 * snapshot continues in GCP). A second run of the case adopts the snapshots by their names.
 *
 * The stop comes from inside the waiter's idle pause (the injected sleep), so the test asserts on
 * the calls made after it, never on time.
 */
import { describe, expect, it } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { createGcpProvider } from '../../../src/providers/gcp/provider.js';
import type { GcpSession } from '../../../src/providers/gcp/session.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { ContentRecorder, useGcpFixtures } from './fixture.js';

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const startFixture = useGcpFixtures();

describe('GCP: a run stopped while its snapshot operations are pending', () => {
  // `provider`: the provider hands the run's signal to the run's session (shared/run-state.ts).
  it.each(['session', 'provider'] as const)('(%s) rejects every pending wait at once, asks Compute for no further wait, records each snapshot as stopped waiting for; a second run adopts both snapshots', async (via) => {
    // Each insert needs ten waits before it is DONE: rounds find none finished for a while.
    const fx = await startFixture({ lab: { settings: { operationPolls: 10 } } });
    const recorder = new ContentRecorder();
    const controller = new AbortController();
    const waits = () => fx.lab.server.calls.get('compute.globalOperations.wait') ?? 0;
    let waitsAtStop: number | undefined;
    // Retries and READY polls pause 0 ms; the waiter's idle pause (50 ms) is where the run is
    // stopped, once both disks' inserts were answered (both operations are waited on).
    const created = () => recorder.entries().filter((e) => e.type === 'snapshot.created').length;
    const sleep = async (ms: number) => {
      if (ms > 0 && waitsAtStop === undefined && created() === 2) {
        waitsAtStop = waits();
        controller.abort(new Error('interrupted by the user'));
      }
    };
    const quick = { sleep, waitIdleDelayMs: 50, readyPollMs: 0, retry: { baseDelayMs: 0 } };
    let outcome;
    let session: GcpSession | undefined;
    if (via === 'session') {
      session = fx.newSession(recorder, { ...quick, signal: controller.signal });
      outcome = await collectGcpTarget({ session, recorder, signal: controller.signal }, parseGcpTarget(WEB_1));
    } else {
      const provider = createGcpProvider(fx.config, { session: quick });
      outcome = await provider.collect(parseGcpTarget(WEB_1), { recorder, signal: controller.signal });
      await provider.close();
    }

    expect(waitsAtStop).toBeGreaterThan(0);
    expect(waits()).toBe(waitsAtStop);
    const failed = recorder.entries().filter((e) => e.type === 'step.failed');
    expect(failed.map((e) => e.data.step)).toEqual(['snapshot', 'snapshot']);
    for (const e of failed) {
      expect(e.data.error).toMatchObject({
        code: 'E_CLOUD',
        message: expect.stringMatching(/^stopped waiting for snapshot \S+ \(operation \S+\): the run was cancelled \(the snapshot continues in GCP; resume the case to adopt it\)$/),
      });
    }
    // Compute accepted both and may still be making them: left in GCP, the target partial (not failed).
    for (const e of failed) expect(e.data.leftInGcp).toBe(`snapshot ${String(e.data.snapshotName)} was asked for and may still be being made; a resume adopts it`);
    expect(recorder.entries().filter((e) => e.type === 'snapshot.completed')).toEqual([]);
    expect(outcome.status, outcome.reason).toBe('partial');
    const made = [...fx.lab.state.snapshots.keys()];
    expect(made).toHaveLength(2);

    // The next run of the case (its own session, not stopped) adopts what the stopped one made.
    await session?.close();
    session = fx.newSession(recorder);
    const resumed = await collectGcpTarget({ session, recorder }, parseGcpTarget(WEB_1));
    expect(resumed.status, resumed.reason).toBe('collected');
    const after = recorder.entries().slice(recorder.entries().indexOf(failed.at(-1)!) + 1);
    expect(after.filter((e) => e.type === 'snapshot.adopted').map((e) => e.data.snapshotName).sort()).toEqual(failed.map((e) => e.data.snapshotName).sort());
    expect(after.filter((e) => e.type === 'snapshot.requested')).toEqual([]);
    expect(after.filter((e) => e.type === 'snapshot.completed')).toHaveLength(2);
    expect([...fx.lab.state.snapshots.keys()]).toEqual(made);
  });
});
