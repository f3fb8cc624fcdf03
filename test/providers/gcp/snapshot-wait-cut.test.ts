/**
 * A GCP snapshot wait cut short by something other than a stop — the operation's wait failing
 * after the retries (a read of what Compute is doing), or the READY wait's time limit
 * (`gcp.snapshotTimeoutSeconds`) — leaves the snapshots as a stop leaves them: Compute accepted
 * them and may still be making them, so each gets `leftInGcp` on its `step.failed` (`snapshot`),
 * the target ends `partial` (never `failed`: a resume adopts them), and a resume adopts those very
 * snapshots by name, requesting none again.
 *
 * The time limit is crossed through the injected clock (moved on in the READY poll's pause), so
 * the test asserts on what was asked and recorded, never on time.
 */
import { describe, expect, it } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { ContentRecorder, useGcpFixtures } from './fixture.js';

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const startFixture = useGcpFixtures();
const left = (name: unknown) => `snapshot ${String(name)} was asked for and may still be being made; a resume adopts it`;

type Entries = ReturnType<ContentRecorder['entries']>;
/**
 * What a cut snapshot's step.failed says of it as fields, not only in its sentence: its name and
 * the id Compute gave it (as `accepted`, the snapshot.created or snapshot.adopted entry, says) —
 * as AWS's and Azure's name their snapshot — and that no artefact claims it.
 */
function expectNamedNotClaimed(cut: Entries, accepted: Entries, idOf: (name: unknown) => string | undefined) {
  expect(cut.map((e) => [e.data.snapshotName, e.data.snapshotId]).sort()).toEqual(accepted.map((e) => [e.data.snapshotName, e.data.snapshotId]).sort());
  for (const e of cut) expect(e.data.snapshotId).toBe(idOf(e.data.snapshotName));
}

describe('a GCP snapshot wait cut short by something other than a stop', () => {
  it("its operation's wait failing, then a resume's READY wait timing out: each time every snapshot is left in GCP (leftInGcp) and the target is partial; the next resume adopts and completes the same snapshots, none requested again", async () => {
    // Each insert needs ten waits (or reads) before it is DONE.
    const fx = await startFixture({ lab: { settings: { operationPolls: 10 } } });
    const recorder = new ContentRecorder();
    const types = (from: number, type: string) => recorder.entries().slice(from).filter((e) => e.type === type);

    // Run 1: every wait on the operations fails past the retries.
    const fault = { api: 'compute.globalOperations.wait', kind: 'unavailable' as const, times: 1000 };
    fx.lab.server.faults.push(fault);
    const first = await collectGcpTarget({ session: fx.newSession(recorder), recorder }, parseGcpTarget(WEB_1));
    fault.times = 0;
    const asked = types(0, 'snapshot.requested').map((e) => e.data.snapshotName);
    expect(asked).toHaveLength(2);
    const cut1 = types(0, 'step.failed');
    expect(cut1.map((e) => e.data.step)).toEqual(['snapshot', 'snapshot']);
    expect(cut1.map((e) => e.data.snapshotName).sort()).toEqual([...asked].sort());
    for (const e of cut1) expect(e.data.leftInGcp).toBe(left(e.data.snapshotName));
    expect(types(0, 'snapshot.completed')).toEqual([]);
    expect(first.status, first.reason).toBe('partial');
    for (const e of cut1) expect(first.reason).toContain(left(e.data.snapshotName));
    const made = [...fx.lab.state.snapshots.keys()];
    expect(made).toHaveLength(2);
    const idOf = (name: unknown) => [...fx.lab.state.snapshots.values()].find((s) => s.name === name)?.id;
    expectNamedNotClaimed(cut1, types(0, 'snapshot.created'), idOf);
    expect(types(0, 'artifact.recorded')).toEqual([]);

    // Run 2: adopts both, still being made; the READY wait's first pause outlasts its limit.
    const from2 = recorder.entries().length;
    let clock = 1_000_000;
    const timeoutMs = fx.config.snapshotTimeoutSeconds * 1000;
    const second = await collectGcpTarget(
      { session: fx.newSession(recorder, { now: () => clock, readyPollMs: 7, sleep: async (ms) => { if (ms === 7) clock += timeoutMs + 1; } }), recorder },
      parseGcpTarget(WEB_1),
    );
    expect(types(from2, 'snapshot.requested')).toEqual([]);
    expect(types(from2, 'snapshot.adopted').map((e) => e.data.snapshotName).sort()).toEqual([...asked].sort());
    const cut2 = types(from2, 'step.failed');
    expect(cut2.map((e) => e.data.step)).toEqual(['snapshot', 'snapshot']);
    for (const e of cut2) {
      expect(e.data.error).toMatchObject({ code: 'E_TIMEOUT' });
      expect(e.data.leftInGcp).toBe(left(e.data.snapshotName));
    }
    expect(types(from2, 'snapshot.completed')).toEqual([]);
    expect(second.status, second.reason).toBe('partial');
    expectNamedNotClaimed(cut2, types(from2, 'snapshot.adopted'), idOf);
    expect(types(from2, 'artifact.recorded')).toEqual([]);

    // Run 3: adopts the same two and sees them READY.
    const from3 = recorder.entries().length;
    const third = await collectGcpTarget({ session: fx.newSession(recorder), recorder }, parseGcpTarget(WEB_1));
    expect(third.status, third.reason).toBe('collected');
    expect(types(from3, 'snapshot.requested')).toEqual([]);
    expect(types(from3, 'snapshot.adopted').map((e) => e.data.snapshotName).sort()).toEqual([...asked].sort());
    expect(types(from3, 'snapshot.completed').map((e) => e.data.snapshotName).sort()).toEqual([...asked].sort());
    expect([...fx.lab.state.snapshots.keys()]).toEqual(made);
  });
});
