/**
 * The opt-in evidence hold: each snapshot is bound to the EvidenceHold tag at creation, and the
 * evidence-hold deny policy then refuses deleting it — decided by the lab's IAM from policies/gcp.
 */
import { describe, expect, it, vi } from 'vitest';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { snapshotsWithoutIds, useGcpFixtures } from './fixture.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const startFixture = useGcpFixtures();

describe('evidence hold (opt-in)', () => {
  it('binds the hold tag at creation; the deny policy then refuses deleting the snapshot', async () => {
    const fx = await startFixture({
      lab: { evidenceHold: true },
      config: { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } },
    });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('collected');
    const [snapshot] = [...fx.lab.state.snapshots.values()];
    expect(snapshot!.tags).toEqual([{ key: '123456789012/EvidenceHold', value: 'true' }]);
    expect(fx.recorder.ofType('snapshot.requested')[0]!.data.evidenceHoldTag).toEqual({ key: '123456789012/EvidenceHold', value: 'true' });
    // What is recorded as held is the binding Resource Manager listed on the snapshot, by its own name.
    const listed = fx.lab.server.responses.filter((r) => r.api === 'cloudresourcemanager.tagBindings.list');
    expect(listed).toHaveLength(1);
    const binding = (listed[0]!.body as { tagBindings: Array<Record<string, string>> }).tagBindings[0]!;
    expect(fx.recorder.ofType('snapshot.completed')[0]!.data.evidenceHold).toEqual({
      confirmed: true,
      requested: { key: '123456789012/EvidenceHold', value: 'true' },
      parent: `//compute.googleapis.com/projects/custody-forensics/global/snapshots/${snapshot!.id}`,
      tagBinding: { name: binding.name, tagValue: binding.tagValue, tagValueNamespacedName: '123456789012/EvidenceHold/true' },
    });
    expect(binding.name).toMatch(/^tagBindings\//);
    const decide = fx.lab.server;
    // Someone who could otherwise delete snapshots is refused by the hold.
    const { createPolicyAuthorizer } = await import('../../../src/lab/gcp/index.js');
    const iam = createPolicyAuthorizer({
      orgId: '123456789012',
      forensicsProject: 'custody-forensics',
      orchestrator: 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com',
      targetProjects: ['web-prod'],
      collectorFor: (p) => `cloud-custody-collector@${p}.iam.gserviceaccount.com`,
      evidenceHold: true,
    });
    const verdict = iam({
      principal: 'project-owner@example.com',
      permission: 'compute.snapshots.delete',
      resource: { name: `projects/custody-forensics/global/snapshots/${snapshot!.name}`, type: 'compute.googleapis.com/Snapshot', project: 'custody-forensics', tags: snapshot!.tags },
    });
    expect(verdict).toMatchObject({ allowed: false, reason: expect.stringContaining('cloud-custody-evidence-hold') });
    expect(decide.calls.get('compute.snapshots.insert')).toBe(1);
  });

  it('a snapshot Compute describes without an id: its hold is recorded unconfirmed and not read, never read under an empty id', async () => {
    const fx = await startFixture({
      lab: { evidenceHold: true },
      config: { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } },
    });
    snapshotsWithoutIds(fx);
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('partial');
    expect(fx.lab.server.calls.get('cloudresourcemanager.tagBindings.list') ?? 0).toBe(0);
    expect(fx.recorder.ofType('snapshot.completed')[0]!.data.evidenceHold).toEqual({
      confirmed: false,
      requested: { key: '123456789012/EvidenceHold', value: 'true' },
      parent: null,
      why: "Compute's answer gave the snapshot no id, and Resource Manager names a snapshot by its id: its tag bindings were not read",
    });
  });

  it('without the hold role bound, the insert is refused naming the tag-binding permission', async () => {
    const fx = await startFixture({ config: { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } } });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'compute.snapshots.createTagBinding' });
    expect(outcome.error!.message).toContain('Check that the evidence-hold role (policies/gcp/evidence-hold-role.json) is granted to the collector in the forensics project and on the EvidenceHold tag value (docs/deploy-gcp.md).');
  });

  it('a hold Resource Manager does not list on the snapshot is recorded as not confirmed and the target is partial, not collected', async () => {
    const fx = await startFixture({
      lab: { evidenceHold: true },
      config: { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } },
    });
    const lab = fx.lab;
    // The binding is gone by the time the snapshot is read back (unbound by someone, or never made).
    lab.server.beforeRequest = (api) => {
      if (api === 'compute.snapshots.get') for (const s of lab.state.snapshots.values()) s.tags = [];
    };
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain('evidence hold on custody-ev-');
    expect(fx.recorder.ofType('snapshot.completed')[0]!.data.evidenceHold).toMatchObject({ confirmed: false, why: expect.stringContaining('lists no binding of 123456789012/EvidenceHold/true') });
  });

  it('without compute.snapshots.listTagBindings the hold cannot be confirmed: recorded with the refused permission, and the target is partial', async () => {
    const fx = await startFixture({
      lab: { evidenceHold: true, withoutPermissions: ['compute.snapshots.listTagBindings'] },
      config: { snapshots: { evidenceHoldTag: { key: '123456789012/EvidenceHold', value: 'true' } } },
    });
    const outcome = await collectGcpTarget({ session: fx.session, recorder: fx.recorder }, parseGcpTarget('projects/web-prod/regions/us-central1/disks/shared-data'));
    expect(outcome.status).toBe('partial');
    const hold = fx.recorder.ofType('snapshot.completed')[0]!.data.evidenceHold as { confirmed: boolean; error: Record<string, unknown> };
    expect(hold.confirmed).toBe(false);
    expect(hold.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'compute.snapshots.listTagBindings' });
    // The snapshot itself is still the disk's evidence.
    expect(fx.recorder.ofType('artifact.recorded')).toHaveLength(1);
  });
});
