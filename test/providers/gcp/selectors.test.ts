import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveGcpSelector } from '../../../src/providers/gcp/resolve-selector.js';
import { parseGcpSelector } from '../../../src/providers/gcp/targets.js';
import { startGcpFixture, type GcpFixture } from './fixture.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

let fx: GcpFixture;
beforeAll(async () => {
  fx = await startGcpFixture();
});
afterAll(async () => fx?.stop());

describe('GCP selectors across the configured projects', () => {
  it('a label selects instances in every allowed project, tagged or not (labels only select; IAM decides later)', async () => {
    const found = await resolveGcpSelector(fx.session, fx.recorder, parseGcpSelector('gcp-label:incident=inc-42'));
    expect(found.map((t) => t.instance).sort()).toEqual(['legacy-1', 'web-1']);
    const searched = fx.recorder.ofType('selector.searched');
    expect(searched.map((e) => e.data.scope)).toEqual([{ project: 'web-prod' }, { project: 'gke-prod' }]);
    expect(searched[0]!.data.filter).toBe('labels.incident = "inc-42"');
  });

  it('a Resource Manager tag selects by effective tags (own or inherited)', async () => {
    const found = await resolveGcpSelector(fx.session, fx.recorder, parseGcpSelector('gcp-tag:123456789012/ForensicsEnabled=true'));
    expect(found.map((t) => `${t.project}/${t.instance}`).sort()).toEqual(['gke-prod/gke-prod-pool-1-abcd', 'web-prod/web-1']);
    // Instances are zonal: each instance's tags were asked at its own zone's endpoint.
    const asked = fx.lab.server.requests.filter((r) => r.api === 'cloudresourcemanager.effectiveTags.list');
    expect(asked.length).toBeGreaterThan(0);
    for (const r of asked) expect(r.endpoint, r.query.parent).toBe(/\/zones\/([^/]+)\//.exec(r.query.parent ?? '')?.[1]);
  });

  it('a project where listing is refused is recorded, told to the run as a scope not searched, and the others still searched', async () => {
    fx.lab.server.faults.push({ api: 'compute.instances.aggregatedList', kind: 'quota', times: 1 });
    const unsearched: Array<[string, string]> = [];
    const found = await resolveGcpSelector(fx.session, fx.recorder, parseGcpSelector('gcp-label:app=web'), (scope, code) => unsearched.push([scope, code]));
    expect(found.length).toBe(0);
    const failed = fx.recorder.ofType('step.failed');
    expect(failed.at(-1)!.data).toMatchObject({ step: 'resolve-selector', scope: { project: 'web-prod' } });
    expect(unsearched).toEqual([['project web-prod', (failed.at(-1)!.data.error as { code: string }).code]]);
  });

  it('when no project can be searched, the selector fails with the first failure, after each is recorded, as AWS and Azure do: nothing is told as merely unsearched', async () => {
    fx.lab.server.faults.push({ api: 'compute.instances.aggregatedList', kind: 'quota', times: 2 });
    const before = fx.recorder.ofType('step.failed').length;
    const unsearched: Array<[string, string]> = [];
    const error = await resolveGcpSelector(fx.session, fx.recorder, parseGcpSelector('gcp-label:app=web'), (scope, code) => unsearched.push([scope, code])).then(
      () => undefined,
      (e: unknown) => e,
    );
    const failed = fx.recorder.ofType('step.failed').slice(before);
    expect(failed.map((e) => e.data.scope)).toEqual([{ project: 'web-prod' }, { project: 'gke-prod' }]);
    expect(error).toMatchObject(failed[0]!.data.error as object);
    expect(unsearched).toEqual([]);
  });
});
