/**
 * One AWS provider object used for two runs of one case (a library caller's resume), against the
 * rehearsal lab: the second run has its own collector sessions, recorded in its own recorder, and
 * its own volume claims — never those of the first run, whose claims die with it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import { CustodyError } from '../../../src/core/errors.js';
import type { LedgerEntry } from '../../../src/core/ports.js';
import { parseConfig } from '../../../src/providers/config.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { contextFor, MemoryRecorder } from './helpers.js';
import { instanceArn, REGION, useAwsLab, volumeArn } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-aws-two-runs-' });

/** A case whose ledger refuses `snapshot.requested`: the run stops before asking for any snapshot. */
class RefusingSnapshots extends MemoryRecorder {
  override async record(type: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    if (type === 'snapshot.requested') throw new CustodyError('E_LEDGER', 'the test ledger refuses snapshot.requested');
    return super.record(type, data, target);
  }
}

describe('one AWS provider object, two runs of one case', () => {
  it("the second run assumes and records its own session in its own recorder, and snapshots a volume the first run's instance claimed but never requested", async () => {
    const caseId = 'IR-aws-two-runs';
    const web = world.instanceNamed('web-01');
    const root = world.volumeNamed('web-01-root');
    const provider = world.provider();

    // Run 1 claims web-01's volumes, then stops: its ledger cannot take the snapshot request.
    const first = new RefusingSnapshots(caseId);
    await expect(provider.collect(parseTarget(instanceArn(web)), contextFor(first))).rejects.toMatchObject({ code: 'E_LEDGER' });
    expect(first.ofType('credentials.assumed')).toHaveLength(1);
    expect(first.ofType('snapshot.requested')).toEqual([]);
    const firstLength = first.log.length;

    // Run 2 resumes the case through a new recorder, naming web-01's root volume.
    const second = new MemoryRecorder(caseId, first.analyst, first.log);
    const from = second.log.length;
    const config = parseConfig({ concurrency: { perScope: 4, total: 8 }, aws: { forensicsAccount: '111111111111', region: REGION, allowedAccounts: ['222222222222'] } });
    const two = await runCollection({ config, parser: REGISTRY, providers: [provider], recorder: second, targets: [parseTarget(volumeArn(root))], options: DEFAULT_COLLECT_OPTIONS });
    expect(two.outcomes.map((o) => [o.target, o.status, o.reason])).toEqual([[volumeArn(root), 'collected', undefined]]);

    expect(first.log.length, "nothing of the second run is recorded in the first run's recorder").toBe(firstLength);
    const run2 = second.log.slice(from);
    expect(run2.filter((e) => e.type === 'credentials.assumed').map((e) => [e.data.account, e.data.reason])).toEqual([['222222222222', 'first']]);
    // No target of this run, and no ledger entry, holds the volume: the root volume is its own.
    expect(run2.filter((e) => e.type === 'volume.covered')).toEqual([]);
    expect(run2.filter((e) => e.type === 'snapshot.requested' && e.data.role === 'source').map((e) => [e.target, e.data.operation, e.data.volumeId])).toEqual([
      [volumeArn(root), 'CreateSnapshot', root.id],
    ]);
  });
});
