import { REGISTRY } from '../../../src/providers/registry.js';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { FORENSICS_NAMESPACE, generateArchiveChunks } from '../../../src/lab/kubernetes/index.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';
import { sampleLiveMemory } from './live-memory.js';

const MiB = 1024 * 1024;
let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function expectedDigest(path: string, bytes: number): string {
  const hash = createHash('sha256');
  for (const chunk of generateArchiveChunks(path, bytes)) hash.update(chunk);
  return hash.digest('hex');
}

describe('--retrieve-checkpoint', () => {
  it('copies each archive off the node through a helper pod in the forensics namespace, hashed, and removes the helper', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) {
        node.checkpoint = 200;
        node.checkpointBytes = 3 * MiB + 123;
      }
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/app`), contextFor(kase, { retrieveCheckpoint: true }));
    expect(outcome.status).toBe('collected');

    const retrieved = entriesOf(kase, 'checkpoint.retrieved');
    expect(retrieved).toHaveLength(1);
    const archive = String(retrieved[0]!.data.archive);
    expect(retrieved[0]!.data).toMatchObject({ container: 'app', size: 3 * MiB + 123, sha256: expectedDigest(archive, 3 * MiB + 123), leftOnNode: true });
    const bytes = await readFile(join(kase.caseDir, String(retrieved[0]!.data.path)));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(retrieved[0]!.data.sha256);

    // The helper was created and deleted in the forensics namespace only, each change recorded.
    const changes = kase.entries().filter((e) => e.type.startsWith('change.')).map((e) => `${e.type}:${e.data.change}`);
    expect(changes).toEqual(['change.requested:create-helper-pod', 'change.applied:create-helper-pod', 'change.requested:delete-helper-pod', 'change.applied:delete-helper-pod']);
    const writes = fixture.lab.audit.filter((a) => ['create', 'delete', 'patch'].includes(a.verb) && a.subresource === undefined && a.resource !== 'selfsubjectreviews');
    expect(writes.map((a) => [a.verb, a.resource, a.namespace])).toEqual([
      ['create', 'pods', FORENSICS_NAMESPACE],
      ['delete', 'pods', FORENSICS_NAMESPACE],
    ]);
    const helperName = String(entriesOf(kase, 'change.applied')[0]!.data.resource).split('/').pop()!;
    expect(fixture.lab.getObject('pods', FORENSICS_NAMESPACE, helperName)).toBeUndefined();
    // The only command the helper ran is the cat of that archive, under its read-only mount.
    expect(fixture.lab.execs.filter((x) => x.namespace === FORENSICS_NAMESPACE).map((x) => x.command)).toEqual([['cat', `/checkpoints/${archive.split('/').pop()}`]]);
  });

  it('streams a large archive into the case with bounded memory', async () => {
    const size = 96 * MiB;
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) {
        node.checkpoint = 200;
        node.checkpointBytes = size;
      }
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const { recorder, peakGrowth, samples } = sampleLiveMemory(kase);
    await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/app`), { ...contextFor(kase, { retrieveCheckpoint: true }), recorder });
    const retrieved = entriesOf(kase, 'checkpoint.retrieved')[0]!;
    expect(retrieved.data.size).toBe(size);
    // Holding the archive would reach 96 MiB by the last samples; backpressure keeps it to the
    // stream buffers (1 MiB high-water marks) and a few frames.
    console.info(`checkpoint: ${size / MiB} MiB archive, peak live heap + ArrayBuffers growth ${(peakGrowth() / MiB).toFixed(1)} MiB over ${samples()} samples`);
    expect(samples()).toBeGreaterThanOrEqual(6);
    expect(peakGrowth()).toBeLessThan(24 * MiB);
  }, 60_000);

  it('a helper that cannot be created (no retriever binding) is recorded as not retrieved, and the case goes on', async () => {
    fixture = await startFixture((cluster, s) => {
      for (const node of cluster.nodes) node.checkpoint = 200;
      const subject = cluster.subjects[s.collectorToken]!;
      subject.rules = subject.rules.filter((r) => !r.namespaces?.includes(FORENSICS_NAMESPACE));
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}/app`), contextFor(kase, { retrieveCheckpoint: true }));
    expect(outcome.status).toBe('collected');
    const notRetrieved = entriesOf(kase, 'checkpoint.not-retrieved')[0]!;
    expect(notRetrieved.data).toMatchObject({ error: { code: 'E_ACCESS_DENIED', action: 'k8s:create pods' } });
    expect(String(notRetrieved.data.reason)).toMatch(/cloud-custody-checkpoint-retriever/);
    // Nothing was created, so there is nothing to delete.
    expect(entriesOf(kase, 'change.applied')).toEqual([]);
    expect(fixture.lab.audit.filter((a) => a.verb === 'delete')).toEqual([]);
  });
});
