/**
 * One Azure provider object used for two runs of one case (a library caller's resume): each run
 * obtains its own tokens and observes ARM's clock itself, so each run's part of the ledger says
 * which identity it used and how ARM's clock stood (`clock.observed` is once per run).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { createAzureProvider } from '../../../src/providers/azure/provider.js';
import { parseConfig } from '../../../src/providers/config.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { useAzureFixture } from './fixture.js';

const fx = useAzureFixture();

/** What each run recorded of its identities and ARM's clock: `[type, identity or service]`. */
function accessEntries(kase: CaseHandle, from: number): Array<[string, unknown]> {
  return kase
    .entries()
    .slice(from)
    .filter((e) => e.type === 'credentials.obtained' || (e.type === 'clock.observed' && e.data.service === 'arm'))
    .map((e) => [e.type, e.type === 'clock.observed' ? e.data.subscriptionId : e.data.identity]);
}

describe('one Azure provider object used for two runs of one case', () => {
  it("the second run records the target tenant's token it obtained and ARM's clock it observed, in its own part of the ledger", async () => {
    const { ids } = fx.lab.estate;
    const subscriptionId = ids.vmDataDisk.split('/')[2];
    const provider = createAzureProvider({ ...fx.config, consistency: 'per-disk' }, { sleep: async () => {} });
    const config = parseConfig({ concurrency: { perScope: 10, total: 64 } });
    const collect = (kase: CaseHandle, target: string) =>
      runCollection({ config, parser: REGISTRY, providers: [provider], recorder: kase, targets: [parseTarget(target)], options: DEFAULT_COLLECT_OPTIONS });
    try {
      const first = await fx.openTestCase('IR-AZ-TWO-RUN-CLIENTS');
      const one = await collect(first, ids.vmDataDisk);
      expect(one.outcomes.map((o) => o.status)).toEqual(['collected']);
      expect(accessEntries(first, 0)).toEqual(expect.arrayContaining([['credentials.obtained', 'target'], ['clock.observed', subscriptionId]]));
      await first.release();

      const again = await fx.openTestCase('IR-AZ-TWO-RUN-CLIENTS', true);
      const from = again.entries().findIndex((e) => e.type === 'case.resumed');
      const two = await collect(again, ids.vmOsDisk);
      expect(two.outcomes.map((o) => [o.target, o.status])).toEqual([[ids.vmDataDisk, 'collected'], [ids.vmOsDisk, 'collected']]);
      // The OS disk is this run's own work: a token for its tenant, then ARM's clock, once.
      const access = accessEntries(again, from);
      expect(access.filter(([type]) => type === 'clock.observed')).toEqual([['clock.observed', subscriptionId]]);
      expect(access.filter(([type]) => type === 'credentials.obtained').map(([, identity]) => identity)).toContain('target');
      await again.close({ outcomes: two.outcomes });
    } finally {
      await provider.close?.();
    }
  });
});
