import { REGISTRY } from '../../../src/providers/registry.js';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { generateLogChunks } from '../../../src/lab/kubernetes/index.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';
import { sampleLiveMemory } from './live-memory.js';

const LOG_BYTES = 160 * 1024 * 1024;
const MiB = 1024 * 1024;

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('a large container log', () => {
  it(`is streamed into the case with flat memory (${LOG_BYTES / MiB} MiB log) and hashed exactly`, async () => {
    fixture = await startFixture((cluster, s) => {
      const pod = cluster.pods.find((p) => p.name === s.compromisedPod)!;
      pod.containers.find((c) => c.name === 'app')!.log = { generatedBytes: LOG_BYTES };
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const { recorder, peakGrowth, samples } = sampleLiveMemory(kase);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/app`), { ...contextFor(kase), recorder });
    const growth = peakGrowth();
    expect(outcome.status).toBe('collected');

    const stored = entriesOf(kase, 'evidence.stored').find((e) => e.data.name === 'log-app.log')!;
    const expected = createHash('sha256');
    let size = 0;
    for (const chunk of generateLogChunks(LOG_BYTES, true)) {
      expected.update(chunk);
      size += Buffer.byteLength(chunk);
    }
    expect(stored.data.size).toBe(size);
    expect(stored.data.sha256).toBe(expected.digest('hex'));
    // Buffering the log would hold all of it (160 MiB) by the last samples; streaming holds a few
    // chunks and stream buffers (~1 MiB each), whatever the runtime's young generation.
    console.info(`large log: ${(size / MiB).toFixed(0)} MiB streamed, peak live heap + ArrayBuffers growth ${(growth / MiB).toFixed(1)} MiB over ${samples()} samples`);
    expect(samples()).toBeGreaterThanOrEqual(10);
    expect(growth).toBeLessThan(24 * MiB);
    await kase.release();
  }, 120_000);
});
