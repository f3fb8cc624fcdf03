/**
 * An Azure server-side copy still pending when the run's wait for it times out (`waitTimeoutMs`):
 * the copy reads its source through the export grant's SAS, so revoking that grant would break a
 * copy Azure is still making. The grant is left open for it and recorded as such, the target is
 * partial (a live read path is never `collected`), and a resume adopts the copy, waits for it,
 * then revokes the grant, hashes and seals, as after a stopped run.
 */
import { describe, expect, it } from 'vitest';
import { verifyCase } from '../../../src/custody/index.js';
import { collectAzureTarget } from '../../../src/providers/azure/collect.js';
import { parseAzureTarget } from '../../../src/providers/azure/targets.js';
import { useAzureFixture } from './fixture.js';

// Copies stay pending for 40 reads: longer than the first run waits.
const fx = useAzureFixture({ lab: { copyReads: 40 } });

describe('an Azure copy still pending when its wait times out', () => {
  it('keeps the grant it reads through (export.left-open, no revoke), leaves the target partial, and a resume adopts the copy, revokes, hashes and seals', async () => {
    const caseId = 'IR-AZ-COPY-TIMEOUT';
    const target = parseAzureTarget(fx.lab.estate.ids.vm);
    const kase = await fx.openTestCase(caseId);
    // The clock only moves once the copies are started: every wait before them finishes in time.
    let clock = 0;
    const now = () => (kase.entries().some((e) => e.type === 'copy.started') ? (clock += 1_000) : clock);
    const outcome = await collectAzureTarget({ ...fx.run(kase, { consistency: 'per-disk', waitTimeoutMs: 5_000 }), now }, target);
    const entries = kase.entries();
    const started = entries.filter((e) => e.type === 'copy.started').map((e) => e.data.blob);
    expect(started).toHaveLength(2);
    expect(entries.filter((e) => e.type === 'copy.completed')).toEqual([]);
    // Left open for the copies, not revoked under them.
    expect(entries.filter((e) => e.type === 'export.revoked')).toEqual([]);
    expect(entries.filter((e) => e.type === 'export.left-open').map((e) => e.data.blob).sort()).toEqual([...started].sort());
    const snapshots = [...fx.lab.estate.world.snapshots.values()].filter((s) => s.tags.CaseId === caseId);
    for (const s of snapshots) expect(s.activeSas, 'the grant a pending copy reads through').toBeDefined();
    expect(outcome.status, outcome.reason).toBe('partial');
    await kase.release();

    const again = await fx.openTestCase(caseId, true);
    const resumedOutcome = await collectAzureTarget(fx.run(again, { consistency: 'per-disk' }), target);
    expect(resumedOutcome.status, resumedOutcome.reason).toBe('collected');
    const resumed = again.entries().slice(again.entries().findIndex((e) => e.type === 'case.resumed'));
    for (const blob of started) {
      expect(resumed.filter((e) => e.data.blob === blob).map((e) => e.type)).toEqual(['copy.adopted', 'copy.completed', 'evidence.hashed', 'seal.requested', 'evidence.sealed']);
    }
    expect(resumed.filter((e) => e.type === 'export.revoked')).toHaveLength(2);
    for (const s of snapshots) expect(s.activeSas).toBeUndefined();
    await again.close({ outcomes: [resumedOutcome] });
    expect((await verifyCase(again.caseDir)).ok).toBe(true);
  });
});
