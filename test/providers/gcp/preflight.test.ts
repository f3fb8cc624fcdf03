import { afterEach, describe, expect, it, vi } from 'vitest';
import { preflightGcp } from '../../../src/providers/gcp/preflight.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { startGcpFixture, type GcpFixture } from './fixture.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

let fx: GcpFixture | undefined;
afterEach(async () => {
  await fx?.stop();
  fx = undefined;
});

describe('GCP preflight (testIamPermissions, nothing changed)', () => {
  it('every project: impersonation, listing, snapshot creation in the forensics project are ok', async () => {
    fx = await startGcpFixture();
    const rows = await preflightGcp(fx.session);
    expect(rows.map((r) => [r.scope, r.check, r.result])).toEqual([
      ['web-prod', 'impersonate the collector (iam.serviceAccounts.getAccessToken)', 'ok'],
      ['web-prod', 'target project permissions', 'ok'],
      ['web-prod', 'forensics project permissions', 'ok'],
      ['gke-prod', 'impersonate the collector (iam.serviceAccounts.getAccessToken)', 'ok'],
      ['gke-prod', 'target project permissions', 'ok'],
      ['gke-prod', 'forensics project permissions', 'ok'],
    ]);
    // An allowed row names what was asked and granted, as a denied one names what is missing.
    expect(rows.find((r) => r.check === 'forensics project permissions')!.granted).toEqual(['compute.globalOperations.get', 'compute.snapshots.create', 'compute.snapshots.get', 'compute.snapshots.setLabels']);
    expect(rows.find((r) => r.check === 'target project permissions')!.granted).toEqual(['compute.disks.list', 'compute.instances.list', 'compute.instances.listEffectiveTags']);
    expect(fx.lab.state.snapshots.size).toBe(0);
  });

  it('a named tagged instance and its disks are ok; an untagged one is denied, naming the tag and the permissions', async () => {
    fx = await startGcpFixture();
    const rows = await preflightGcp(fx.session, {
      targets: [parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1'), parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/legacy-1')],
    });
    const resourceRows = rows.filter((r) => r.check.includes('tag-conditioned'));
    expect(resourceRows.map((r) => [r.resource, r.result])).toEqual([
      ['projects/web-prod/zones/us-central1-a/instances/web-1', 'ok'],
      ['projects/web-prod/zones/us-central1-a/disks/web-1', 'ok'],
      ['projects/web-prod/zones/us-central1-a/disks/web-1-data', 'ok'],
      ['projects/web-prod/zones/us-central1-a/instances/legacy-1', 'denied'],
    ]);
    const denied = resourceRows.at(-1)!;
    expect(denied.missing).toContain('compute.instances.get');
    expect(denied.detail).toContain('ForensicsEnabled=true');
  });

  it('testIamPermissions itself needs compute.<collection>.list: without compute.disks.list the disk rows are denied naming it, the instance row still answers', async () => {
    fx = await startGcpFixture({ lab: { withoutPermissions: ['compute.disks.list'] } });
    const rows = await preflightGcp(fx.session, { targets: [parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1')] });
    const resourceRows = rows.filter((r) => r.check.includes('tag-conditioned'));
    expect(resourceRows.map((r) => [r.resource, r.result])).toEqual([
      ['projects/web-prod/zones/us-central1-a/instances/web-1', 'ok'],
      ['projects/web-prod/zones/us-central1-a/disks/web-1', 'denied'],
      ['projects/web-prod/zones/us-central1-a/disks/web-1-data', 'denied'],
    ]);
    for (const row of resourceRows.slice(1)) expect(JSON.stringify(row)).toContain('compute.disks.list');
    expect(fx.lab.state.snapshots.size).toBe(0);
  });

  it.each([
    ['forensics project permissions', 'projects/custody-forensics', 'compute.globalOperations.get', 'snapshot-writer-role.json'],
    ['target project permissions', 'projects/web-prod', 'compute.instances.listEffectiveTags', 'inventory-role.json'],
  ])('the %s row asks for every permission of its role: without one it is denied, naming it and the role file', async (check, resource, permission, file) => {
    fx = await startGcpFixture({ lab: { withoutPermissions: [permission] } });
    const row = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === check)!;
    expect(row).toMatchObject({ result: 'denied', resource, missing: [permission] });
    expect(row.detail).toContain(`policies/gcp/${file}`);
  });

  it('with gcp.snapshots.evidenceHoldTag, the forensics project row also asks for the hold: denied naming createTagBinding when the hold role is not bound, ok when it is', async () => {
    const hold = { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } };
    fx = await startGcpFixture({ config: hold });
    const unbound = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === 'forensics project permissions')!;
    expect(unbound).toMatchObject({ result: 'denied', missing: ['compute.snapshots.createTagBinding', 'compute.snapshots.listTagBindings'] });
    expect(unbound.detail).toContain('evidence-hold-role.json');
    await fx.stop();
    fx = await startGcpFixture({ config: hold, lab: { evidenceHold: true } });
    const bound = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === 'forensics project permissions')!;
    expect(bound.result).toBe('ok');
  });

  it('an orchestrator that may not impersonate is denied for that project', async () => {
    fx = await startGcpFixture({ config: { collectorServiceAccount: 'nobody@{project}.iam.gserviceaccount.com' } });
    const rows = await preflightGcp(fx.session, { projects: ['web-prod'] });
    expect(rows).toEqual([expect.objectContaining({ result: 'denied', missing: ['iam.serviceAccounts.getAccessToken'] })]);
  });
});
