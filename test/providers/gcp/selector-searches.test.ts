/**
 * A GCP selector's search as the ledger records it, the same way as every provider's
 * (src/core/selector-search.ts): one `selector.searched` per project answered, with what it found
 * (Compute's list answers carry no request id: `requestIds` is empty, not left out); one
 * `step.failed` (step `resolve-selector`) per project that could not be searched, while the other
 * projects still resolve. No `selector.failed` per project, and no `selector.resolved` (the
 * orchestrator's alone).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveGcpSelector } from '../../../src/providers/gcp/resolve-selector.js';
import { parseGcpSelector } from '../../../src/providers/gcp/targets.js';
import { ContentRecorder, startGcpFixture, type GcpFixture } from './fixture.js';

// Real Google clients against the loopback lab: on a loaded machine slower than the default.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

let fx: GcpFixture;
beforeAll(async () => {
  fx = await startGcpFixture();
});
afterAll(async () => fx?.stop());

// web-prod holds web-1 and gke-prod its node with the tag: each project has something to find.
const SELECTOR = 'gcp-tag:123456789012/ForensicsEnabled=true';

describe('a GCP selector search, project by project', () => {
  it('a project whose listing fails once the run is stopped ends the search: the stop, not a project that could not be searched', async () => {
    const stop = new AbortController();
    const recorder = new ContentRecorder();
    const session = fx.newSession(recorder, { signal: stop.signal });
    stop.abort(new Error('Ctrl-C'));
    fx.lab.server.faults.push({ api: 'compute.instances.aggregatedList', kind: 'quota', times: 1 });
    const unsearched: string[] = [];
    await expect(resolveGcpSelector(session, recorder, parseGcpSelector(SELECTOR), (scope) => unsearched.push(scope))).rejects.toBeDefined();
    expect(recorder.ofType('step.failed')).toEqual([]);
    expect(unsearched).toEqual([]);
  });

  it('records each project searched with what it found; a project whose listing fails is a step.failed, and the other still resolves', async () => {
    // The first aggregated list (web-prod, the first allowed project) fails.
    fx.lab.server.faults.push({ api: 'compute.instances.aggregatedList', kind: 'quota', times: 1 });
    const recorder = new ContentRecorder();
    const unsearched: Array<[string, string]> = [];
    const targets = await resolveGcpSelector(fx.session, recorder, parseGcpSelector(SELECTOR), (scope, code) => unsearched.push([scope, code]));
    const found = targets.map((t) => `projects/${t.project}/zones/${t.zone}/instances/${t.instance}`);
    expect(found).toEqual(['projects/gke-prod/zones/us-central1-b/instances/gke-prod-pool-1-abcd']);

    const searched = recorder.ofType('selector.searched');
    expect(searched.map((e) => [e.target, e.data.selector, e.data.provider, e.data.where, e.data.scope, e.data.found, e.data.requestIds])).toEqual([
      [SELECTOR, SELECTOR, 'gcp', 'project gke-prod', { project: 'gke-prod' }, found, []],
    ]);
    expect(searched[0]!.data).toMatchObject({ tagValue: '123456789012/ForensicsEnabled/true', examined: 1 });

    const failed = recorder.ofType('step.failed');
    expect(failed.map((e) => [e.target, e.data.step, e.data.selector, e.data.provider, e.data.where, e.data.scope])).toEqual([
      [SELECTOR, 'resolve-selector', SELECTOR, 'gcp', 'project web-prod', { project: 'web-prod' }],
    ]);
    expect(unsearched).toEqual([['project web-prod', (failed[0]!.data.error as { code: string }).code]]);
    expect(recorder.log.filter((e) => e.type === 'selector.failed' || e.type === 'selector.resolved')).toEqual([]);

    // With no request id to record, what ties the search to Cloud Audit Logs is the case's attribution on each list call.
    const lists = fx.lab.state.audit.filter((a) => a.methodName === 'compute.instances.aggregatedList' && a.status === 200);
    expect(lists.length).toBeGreaterThan(0);
    for (const list of lists) {
      expect(list.callerSuppliedUserAgent).toMatch(/^cloud-custody\/0\.1\.0 case\//);
      expect(list.requestReason).toMatch(/^cloud-custody case /);
    }
  });
});
