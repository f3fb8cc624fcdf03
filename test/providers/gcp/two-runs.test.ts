/**
 * One GCP provider object used for two runs of one case (a library caller's resume): the second
 * run has its own session — its tokens recorded in its own recorder, its own disk claims — and
 * never records into the first run's recorder nor shares the first run's snapshot results.
 */
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../../src/core/orchestrator.js';
import { parseConfig } from '../../../src/providers/config.js';
import { createGcpCoreProvider } from '../../../src/providers/gcp/provider.js';
import { REGISTRY } from '../../../src/providers/registry.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { ContentRecorder, useGcpFixtures } from './fixture.js';

// Whole collections against the loopback lab with the real Google clients (see collect.test.ts).
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const WEB_1_DISK = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/disks/web-1';
const GKE_NODE = '//compute.googleapis.com/projects/gke-prod/zones/us-central1-b/instances/gke-prod-pool-1-abcd';

const startFixture = useGcpFixtures();

describe('one GCP provider object, two runs of one case', () => {
  it("the second run mints and records its own tokens in its own recorder, and takes a disk the first run snapshotted itself (adopted by name), not as covered by the first run's claim", async () => {
    const fx = await startFixture();
    const provider = createGcpCoreProvider(fx.config, { session: { sleep: async () => {}, waitIdleDelayMs: 0, readyPollMs: 0, retry: { baseDelayMs: 0 } } });
    const config = parseConfig({ concurrency: { perScope: 4, total: 8 } });
    const collect = (recorder: ContentRecorder, keys: string[]) =>
      runCollection({ config, parser: REGISTRY, providers: [provider], recorder, targets: keys.map(parseTarget), options: DEFAULT_COLLECT_OPTIONS });
    try {
      const first = new ContentRecorder();
      const one = await collect(first, [WEB_1]);
      expect(one.outcomes.map((o) => [o.target, o.status])).toEqual([[WEB_1, 'collected']]);
      const firstLength = first.log.length;
      const inserts = fx.lab.server.calls.get('compute.snapshots.insert');

      // The same case resumed through a new recorder, naming one of web-1's disks and a node in another project.
      const second = new ContentRecorder(first.log);
      const from = second.log.length;
      const two = await collect(second, [WEB_1_DISK, GKE_NODE]);
      expect(two.outcomes.map((o) => [o.target, o.status])).toEqual([
        [WEB_1, 'collected'],
        [WEB_1_DISK, 'collected'],
        [GKE_NODE, 'collected'],
      ]);
      expect(first.log.length, "nothing of the second run is recorded in the first run's recorder").toBe(firstLength);
      const run2 = second.log.slice(from);
      expect(run2.filter((e) => e.type === 'credentials.impersonated').map((e) => e.data.project).sort()).toEqual(['gke-prod', 'web-prod']);
      // web-1's boot disk: found again under its name by this run, not covered by the first run's claim.
      expect(run2.filter((e) => e.type === 'disk.covered')).toEqual([]);
      expect(run2.filter((e) => e.type === 'snapshot.adopted').map((e) => e.target)).toEqual([WEB_1_DISK]);
      expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(inserts! + 1);
    } finally {
      await provider.close?.();
    }
  });
});
