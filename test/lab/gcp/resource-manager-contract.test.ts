/**
 * The GCP lab's Resource Manager routes are held to Google's discovery document for the API
 * (resource-manager-facts.json names the source): every route the provider uses answers the
 * documented HTTP method and path, takes only documented query parameters and request fields, and
 * answers with documented fields of the documented types and name formats; each resource's tags
 * are asked at the endpoint Google documents for it (zonal: the zone's, global: the global one).
 * Compute routes are held to the protos in contract.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { preflightGcp } from '../../../src/providers/gcp/preflight.js';
import { resolveGcpSelector } from '../../../src/providers/gcp/resolve-selector.js';
import { RESOURCE_MANAGER, RESOURCE_MANAGER_LOCATION } from '../../../src/providers/gcp/resource-manager.js';
import { parseGcpSelector, parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { startGcpFixture, type GcpFixture } from '../../providers/gcp/fixture.js';
import { RM_FACTS, requestProblems, validateSchema } from './discovery-facts.js';

// Whole collections against the loopback lab with the real clients: on a loaded machine that can
// take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const HOLD = { key: '123456789012/EvidenceHold', value: 'true' };
const isRm = (api: string) => api.startsWith('cloudresourcemanager.');

let fx: GcpFixture;
beforeAll(async () => {
  fx = await startGcpFixture({ lab: { evidenceHold: true }, config: { snapshots: { evidenceHoldTag: HOLD } } });
  const run = { session: fx.session, recorder: fx.recorder };
  await collectGcpTarget(run, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
  await resolveGcpSelector(fx.session, fx.recorder, parseGcpSelector('gcp-tag:123456789012/ForensicsEnabled=true'));
  await preflightGcp(fx.session, { targets: [parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1')] });
}, 240_000);
afterAll(async () => fx?.stop());

/** The endpoint Google documents for a parent: its zone, or `global`. */
function documentedEndpoint(parent: string): string | undefined {
  for (const [template, where] of Object.entries(RM_FACTS.endpointOf)) {
    const names = [...template.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!);
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[A-Za-z]+\}/g, '([^/]+)')}$`);
    const match = pattern.exec(parent);
    if (match) return where === 'global' ? 'global' : match[names.indexOf(where) + 1];
  }
  return undefined;
}

describe('the GCP lab against the Resource Manager v3 discovery document', () => {
  it('served every Resource Manager method the provider uses in this case', () => {
    const apis = new Set(fx.lab.server.requests.map((r) => r.api).filter(isRm));
    expect([...apis].sort()).toEqual([
      'cloudresourcemanager.effectiveTags.list',
      'cloudresourcemanager.projects.testIamPermissions',
      'cloudresourcemanager.tagBindings.list',
      'cloudresourcemanager.tagValues.getNamespaced',
      'cloudresourcemanager.tagValues.testIamPermissions',
    ]);
  });

  it('every request fits its method: HTTP method, flat path, documented query parameters, request fields', () => {
    const requests = fx.lab.server.requests.filter((r) => isRm(r.api));
    expect(requests.length).toBeGreaterThan(3);
    for (const request of requests) expect(requestProblems(request), `${request.method} ${request.path}`).toEqual([]);
  });

  it('every successful answer fits its response schema and the documented name formats', () => {
    const ok = fx.lab.server.responses.filter((r) => isRm(r.api) && r.status === 200);
    expect(new Set(ok.map((r) => r.api)).size).toBe(5);
    for (const response of ok) expect(validateSchema(RM_FACTS.methods[response.api]!.response, response.body), response.api).toEqual([]);
  });

  it('a listed tag binding carries every field the ledger records, its name built from parent and tag value', () => {
    const listed = fx.lab.server.responses.filter((r) => r.api === 'cloudresourcemanager.tagBindings.list' && r.status === 200);
    const bindings = listed.flatMap((r) => (r.body as { tagBindings?: Array<Record<string, string>> }).tagBindings ?? []);
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) {
      expect(Object.keys(b).sort()).toEqual(Object.keys(RM_FACTS.schemas.TagBinding!).sort());
      expect(b.name).toBe(`tagBindings/${encodeURIComponent(b.parent!)}/${b.tagValue}`);
      expect(documentedEndpoint(b.parent!)).toBe('global');
    }
    expect(fx.recorder.ofType('snapshot.completed')[0]!.data.evidenceHold).toMatchObject({ confirmed: true, tagBinding: { name: bindings[0]!.name } });
  });

  it("each resource's tags were asked at the endpoint Google documents for it (zonal: the zone's; global: the global one)", () => {
    const lists = fx.lab.server.requests.filter((r) => r.api === 'cloudresourcemanager.effectiveTags.list' || r.api === 'cloudresourcemanager.tagBindings.list');
    expect(lists.some((r) => r.endpoint !== 'global')).toBe(true);
    for (const r of lists) expect(r.endpoint, r.query.parent).toBe(documentedEndpoint(r.query.parent ?? ''));
    expect(`${RESOURCE_MANAGER}/`).toBe(RM_FACTS.rootUrl);
    expect(`${RESOURCE_MANAGER_LOCATION}/`).toBe(RM_FACTS.locationRootUrl);
  });

  it('the lab refuses a zonal instance asked at the global endpoint and a snapshot asked at a zone (400)', async () => {
    const token = 'ya29.lab-contract-test';
    fx.lab.state.tokens.set(token, { principal: fx.lab.state.collectorFor('web-prod'), expiresAt: fx.lab.state.now() + 3_600_000, scopes: [], delegationChain: [] });
    const instance = [...fx.lab.state.instances.values()].find((i) => i.name === 'web-1')!;
    const snapshot = [...fx.lab.state.snapshots.values()][0]!;
    const ask = async (base: string, path: string, parent: string) => {
      const answer = await fetch(`${base}${path}?parent=${encodeURIComponent(parent)}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: answer.status, body: (await answer.json()) as { error: { message: string } } };
    };
    const zonal = await ask(fx.lab.endpoints.resourceManager, '/v3/effectiveTags', `//compute.googleapis.com/projects/web-prod/zones/${instance.zone}/instances/${instance.id}`);
    expect(zonal.status).toBe(400);
    expect(zonal.body.error.message).toMatch(/Did you forget to specify the correct location\?/);
    const global = await ask(fx.lab.endpoints.resourceManagerLocation.replace('{location}', 'us-central1-a'), '/v3/tagBindings', `//compute.googleapis.com/projects/custody-forensics/global/snapshots/${snapshot.id}`);
    expect(global.status).toBe(400);
  });

  it('the checks catch what they should: an unknown field, a wrong type, a bad name format, a wrong method, path or query parameter', () => {
    expect(validateSchema('TagBinding', { name: 'x', etag: 'y' })).toEqual([expect.stringContaining('no field "etag" in TagBinding')]);
    expect(validateSchema('ListEffectiveTagsResponse', { effectiveTags: [{ inherited: 'true' }] })).toEqual([expect.stringContaining('boolean expected')]);
    expect(validateSchema('TagBinding', { tagValue: 'EvidenceHold/true' })).toEqual([expect.stringContaining('does not match ^tagValues/')]);
    expect(validateSchema('TestIamPermissionsResponse', { permissions: 'compute.disks.get' })).toEqual([expect.stringContaining('an array of string expected')]);
    const list = { api: 'cloudresourcemanager.tagBindings.list', method: 'GET', path: '/v3/tagBindings', query: { parent: '//x' } };
    expect(requestProblems(list)).toEqual([]);
    expect(requestProblems({ ...list, method: 'POST' })).toEqual([expect.stringContaining('POST but the method is GET')]);
    expect(requestProblems({ ...list, path: '/v3/tagBindings/list' })).toEqual([expect.stringContaining('does not fit /v3/tagBindings')]);
    expect(requestProblems({ ...list, query: { parent: '//x', resource: '//x' } })).toEqual([expect.stringContaining('"resource" is not documented')]);
    expect(requestProblems({ ...list, query: {} })).toEqual([expect.stringContaining('"parent" missing')]);
    const test = { api: 'cloudresourcemanager.projects.testIamPermissions', method: 'POST', path: '/v3/projects/web-prod:testIamPermissions', query: {} };
    expect(requestProblems({ ...test, body: { permissions: ['compute.disks.get'] } })).toEqual([]);
    expect(requestProblems({ ...test, body: { permission: ['compute.disks.get'] } })).toEqual([expect.stringContaining('no field "permission"')]);
  });
});
