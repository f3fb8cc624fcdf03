import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaseRecorder, EvidenceInput } from '../../../src/core/ports.js';
import { parseTarget } from '../../../src/core/targets.js';
import { generateLogChunks } from '../../../src/lab/kubernetes/index.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

const LOG_BYTES = 160 * 1024 * 1024;
const MiB = 1024 * 1024;

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** A recorder that samples the process's resident memory at every chunk a stored stream yields. */
function sampling(recorder: CaseRecorder): { recorder: CaseRecorder; peakRss: () => number } {
  let peak = process.memoryUsage.rss();
  async function* watch(content: AsyncIterable<Uint8Array | string>) {
    for await (const chunk of content) {
      peak = Math.max(peak, process.memoryUsage.rss());
      yield chunk;
    }
  }
  const wrapped = Object.create(recorder) as CaseRecorder;
  wrapped.storeEvidence = (input: EvidenceInput) =>
    recorder.storeEvidence(typeof input.content === 'string' || input.content instanceof Uint8Array ? input : { ...input, content: watch(input.content) });
  return { recorder: wrapped, peakRss: () => peak };
}

describe('a large container log', () => {
  it(`is streamed into the case with flat memory (${LOG_BYTES / MiB} MiB log) and hashed exactly`, async () => {
    fixture = await startFixture((cluster, s) => {
      const pod = cluster.pods.find((p) => p.name === s.compromisedPod)!;
      pod.containers.find((c) => c.name === 'app')!.log = { generatedBytes: LOG_BYTES };
    });
    const provider = createKubernetesProvider(fixture.config)!;
    const kase = await openTestCase(fixture);
    const { recorder, peakRss } = sampling(kase);
    const baseline = process.memoryUsage.rss();
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/app`), { ...contextFor(kase), recorder });
    const growth = peakRss() - baseline;
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
    // Buffering the log would need at least its size; streaming stays far below it.
    console.info(`large log: ${(size / MiB).toFixed(0)} MiB streamed, peak RSS growth ${(growth / MiB).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(64 * MiB);
    await kase.release();
  }, 120_000);
});
