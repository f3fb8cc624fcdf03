/**
 * The GCP lab is held to the official API description that ships with the client it serves:
 * every route it answers is a method with that HTTP rule, and every answer the product consumes
 * fits the method's response message (fields exist, 64-bit integers are strings, enum values are
 * valid). Source: node_modules/@google-cloud/compute/build/protos/protos.json
 * (google.cloud.compute.v1, the google.api.http options of each method).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { preflightGcp } from '../../../src/providers/gcp/preflight.js';
import { resolveGcpSelector } from '../../../src/providers/gcp/resolve-selector.js';
import { parseGcpSelector, parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { startGcpFixture, type GcpFixture } from '../../providers/gcp/fixture.js';
import { pathFitsTemplate, protoMethodOf, validateMessage } from './proto-schema.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

let fx: GcpFixture;
beforeAll(async () => {
  fx = await startGcpFixture({ lab: { settings: { operationPolls: 1, serialPageBytes: 40 } } });
  const run = { session: fx.session, recorder: fx.recorder };
  await collectGcpTarget(run, parseGcpTarget('//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1'));
  await collectGcpTarget(run, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
  await collectGcpTarget(run, parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/legacy-1'));
  await resolveGcpSelector(fx.session, fx.recorder, parseGcpSelector('gcp-label:app=web'));
  await preflightGcp(fx.session, { targets: [parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1'), parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data')] });
}, 240_000);
afterAll(async () => fx?.stop());

describe('the GCP lab against the Compute protos', () => {
  it('served every Compute method the provider uses in this case', () => {
    const apis = new Set(fx.lab.server.responses.map((r) => r.api).filter((a) => a.startsWith('compute.')));
    expect([...apis].sort()).toEqual([
      'compute.disks.get',
      'compute.disks.testIamPermissions',
      'compute.globalOperations.wait',
      'compute.instances.aggregatedList',
      'compute.instances.get',
      'compute.instances.getScreenshot',
      'compute.instances.getSerialPortOutput',
      'compute.instances.testIamPermissions',
      'compute.regionDisks.get',
      'compute.regionDisks.testIamPermissions',
      'compute.snapshots.get',
      'compute.snapshots.insert',
    ]);
  });

  it('every request path fits the HTTP rule of its method', () => {
    for (const request of fx.lab.server.requests.filter((r) => r.api.startsWith('compute.'))) {
      const method = protoMethodOf(request.api);
      expect(method, request.api).toBeDefined();
      expect(pathFitsTemplate(request.path, method!.template), `${request.path} vs ${method!.template}`).toBe(true);
    }
  });

  it('every successful answer fits its response message', () => {
    const ok = fx.lab.server.responses.filter((r) => r.api.startsWith('compute.') && r.status === 200);
    expect(ok.length).toBeGreaterThan(10);
    for (const response of ok) {
      const method = protoMethodOf(response.api)!;
      expect(validateMessage(method.responseType, response.body), `${response.api} → ${method.responseType}`).toEqual([]);
    }
  });

  it('snapshots.insert bodies the product sent fit the Snapshot message', () => {
    const inserts = fx.lab.server.requests.filter((r) => r.api === 'compute.snapshots.insert');
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) expect(validateMessage('Snapshot', insert.body)).toEqual([]);
  });

  it('the validator catches what it should: an unknown field, a number for an int64, an invalid enum value', () => {
    expect(validateMessage('Snapshot', { id: 5 })).toEqual([expect.stringContaining('decimal string')]);
    expect(validateMessage('Snapshot', { status: 'DONE' })).toEqual([expect.stringContaining('is not a value of Status')]);
    expect(validateMessage('Snapshot', { sizeGb: '1' })).toEqual([expect.stringContaining('no field "sizeGb"')]);
    expect(validateMessage('Instance', { disks: [{ source: 1 }] })).toEqual([expect.stringContaining('string expected')]);
  });
});
