import { describe, expect, it, vi } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { preflightGcp } from '../../../src/providers/gcp/preflight.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { useGcpFixtures } from './fixture.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const startFixture = useGcpFixtures();

describe('GCP preflight (testIamPermissions, nothing changed)', () => {
  it('every project: impersonation, listing, snapshot creation in the forensics project are ok', async () => {
    const fx = await startFixture();
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
    const fx = await startFixture();
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
    const fx = await startFixture({ lab: { withoutPermissions: ['compute.disks.list'] } });
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
    const fx = await startFixture({ lab: { withoutPermissions: [permission] } });
    const row = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === check)!;
    expect(row).toMatchObject({ result: 'denied', resource, missing: [permission] });
    expect(row.detail).toContain(`policies/gcp/${file}`);
  });

  it('with gcp.snapshots.evidenceHoldTag, the forensics project row also asks for the hold: denied naming createTagBinding when the hold role is not bound, ok when it is', async () => {
    const hold = { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } };
    let fx = await startFixture({ config: hold });
    const unbound = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === 'forensics project permissions')!;
    expect(unbound).toMatchObject({ result: 'denied', missing: ['compute.snapshots.createTagBinding', 'compute.snapshots.listTagBindings'] });
    expect(unbound.detail).toContain('evidence-hold-role.json');
    await fx.stop();
    fx = await startFixture({ config: hold, lab: { evidenceHold: true } });
    const bound = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === 'forensics project permissions')!;
    expect(bound.result).toBe('ok');
  });

  it('with gcp.snapshots.evidenceHoldTag, the tag value is asked for tagValueBindings.create (granted there, not on the project): a hold role without it is denied there, naming the permission, the value and the role file, and that role fails the hold in a collection', async () => {
    const hold = { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } };
    let fx = await startFixture({ config: hold, lab: { evidenceHold: true, withoutPermissions: ['resourcemanager.tagValueBindings.create'] } });
    const rows = await preflightGcp(fx.session, { projects: ['web-prod'] });
    expect(rows.map((r) => [r.check, r.resource, r.result])).toEqual([
      ['impersonate the collector (iam.serviceAccounts.getAccessToken)', 'projects/web-prod', 'ok'],
      ['target project permissions', 'projects/web-prod', 'ok'],
      ['forensics project permissions', 'projects/custody-forensics', 'ok'],
      ['evidence hold tag value permissions', '123456789012/EvidenceHold/true', 'denied'],
    ]);
    const denied = rows.at(-1)!;
    expect(denied.missing).toEqual(['resourcemanager.tagValueBindings.create']);
    expect(denied.detail).toBe(
      'missing resourcemanager.tagValueBindings.create on 123456789012/EvidenceHold/true: grant policies/gcp/evidence-hold-role.json to this project\'s collector on the tag value 123456789012/EvidenceHold/true (infra/gcp/main.tf, docs/deploy-gcp.md)',
    );
    // Resolved by its namespaced name, then asked of tagValues/ID itself; nothing created.
    expect(fx.lab.server.requests.filter((r) => r.api.startsWith('cloudresourcemanager.tagValues.')).map((r) => [r.api, r.method])).toEqual([
      ['cloudresourcemanager.tagValues.getNamespaced', 'GET'],
      ['cloudresourcemanager.tagValues.testIamPermissions', 'POST'],
    ]);
    expect(fx.lab.state.snapshots.size).toBe(0);
    // What preflight warned of: the same role cannot bind the hold when collecting.
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/zones/us-central1-a/disks/web-1-data'));
    expect(outcome.status).not.toBe('collected');
    expect(JSON.stringify(outcome)).toContain('resourcemanager.tagValueBindings.create');
    await fx.stop();
    fx = await startFixture({ config: hold, lab: { evidenceHold: true } });
    const bound = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === 'evidence hold tag value permissions')!;
    expect(bound).toMatchObject({ result: 'ok', resource: '123456789012/EvidenceHold/true', granted: ['resourcemanager.tagValueBindings.create'] });
  });

  it('a hold role without resourcemanager.tagValues.get cannot resolve the namespaced tag value: the row is denied, naming that permission', async () => {
    const fx = await startFixture({ config: { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } }, lab: { evidenceHold: true, withoutPermissions: ['resourcemanager.tagValues.get'] } });
    const row = (await preflightGcp(fx.session, { projects: ['web-prod'] })).find((r) => r.check === 'evidence hold tag value permissions')!;
    expect(row).toMatchObject({ result: 'denied', missing: ['resourcemanager.tagValues.get'], resource: '123456789012/EvidenceHold/true' });
    expect(row.detail).toContain('evidence-hold-role.json');
  });

  it('an orchestrator that may not impersonate is denied for that project', async () => {
    const fx = await startFixture({ config: { collectorServiceAccount: 'nobody@{project}.iam.gserviceaccount.com' } });
    const rows = await preflightGcp(fx.session, { projects: ['web-prod'] });
    expect(rows).toEqual([expect.objectContaining({ result: 'denied', missing: ['iam.serviceAccounts.getAccessToken'] })]);
  });
});
