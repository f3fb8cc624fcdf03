/**
 * policies/gcp/ holds exactly the permissions the GCP provider declares (both ways), and the
 * lab's IAM — the shipped roles, bindings, conditions (CEL) and deny policies — refuses what
 * custody must never do: the deny matrix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createPolicyAuthorizer,
  GCP_DENY_POLICY_FILES,
  GCP_POLICY_DIR,
  GCP_ROLE_FILES,
  placeholdersInGcp,
  readGcpBindings,
  readGcpDenyPolicy,
  readGcpRole,
  type IamResource,
  type PolicyWorld,
} from '../../src/lab/gcp/index.js';
import { declaredPermissionsByRole, GCP_OPERATIONS, type GcpRoleName } from '../../src/providers/gcp/operations.js';
import { providerSource } from './provider-source.js';

const ROLE_FILE: Record<GcpRoleName, string> = {
  collector: 'collector-role',
  inventory: 'inventory-role',
  snapshotWriter: 'snapshot-writer-role',
  evidenceHold: 'evidence-hold-role',
  tokenCreator: 'token-creator-role',
};

describe('policies/gcp against the declared calls', () => {
  it.each(Object.entries(ROLE_FILE))('the %s role grants exactly what the code declares for it (nothing missing, nothing unused)', (role, file) => {
    const granted = [...readGcpRole(file).includedPermissions].sort();
    expect(granted).toEqual(declaredPermissionsByRole()[role as GcpRoleName]);
  });

  it('every declared operation names a permission, and every permission belongs to a shipped role', () => {
    const all = new Set(Object.values(ROLE_FILE).flatMap((f) => readGcpRole(f).includedPermissions));
    for (const [name, op] of Object.entries(GCP_OPERATIONS)) {
      // Only testIamPermissions needs none: it asks about the caller itself.
      if (!op.api.endsWith('testIamPermissions')) expect(op.permissions.length, name).toBeGreaterThan(0);
      for (const p of op.permissions) expect(all.has(p.action), `${name}: ${p.action}`).toBe(true);
    }
  });

  it('ships exactly the files the loader knows, and the README documents every placeholder', () => {
    const files = readdirSync(GCP_POLICY_DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
    expect(files).toEqual([...GCP_ROLE_FILES, ...GCP_DENY_POLICY_FILES, 'bindings'].sort());
    const readme = readFileSync(join(GCP_POLICY_DIR, 'README.md'), 'utf8');
    const placeholders = placeholdersInGcp([readGcpBindings(), ...GCP_DENY_POLICY_FILES.map(readGcpDenyPolicy)]);
    for (const p of placeholders) expect(readme, `\${${p}}`).toContain(`\${${p}}`);
  });

  it('no role grants a destructive or escalating permission', () => {
    for (const file of GCP_ROLE_FILES) {
      for (const p of readGcpRole(file).includedPermissions) {
        expect(p, `${file}: ${p}`).not.toMatch(/\.(delete|stop|suspend|reset|setIamPolicy|updateKmsKey|setMetadata|setLabels(?<!snapshots\.setLabels)|signBlob|signJwt|actAs|implicitDelegation)$/);
      }
    }
  });

  it('every declared operation is made by the code (no declaration, and no grant, outlives its call)', () => {
    const source = providerSource('gcp');
    // Two are made without callGcp: the token is minted by credentials.ts itself, and the hold's
    // tag binding travels in snapshots.insert's params.
    const madeOtherwise: Record<string, RegExp> = {
      generateAccessToken: /:generateAccessToken`/,
      bindEvidenceHoldTag: /params: \{ resourceManagerTags:/,
    };
    const unused = Object.keys(GCP_OPERATIONS).filter((name) =>
      !(madeOtherwise[name] ?? new RegExp(`(call|callGcp)\\('${name}'`)).test(source),
    );
    expect(unused).toEqual([]);
  });

  it('the collector binding is conditioned on the collection tag (a Resource Manager tag, not a label)', () => {
    const collector = readGcpBindings().find((b) => b.id === 'collector')!;
    expect(collector.condition?.expression).toBe("resource.matchTag('${OrgId}/ForensicsEnabled', 'true')");
  });
});

const ORG = '123456789012';
const ORCHESTRATOR = 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com';
const collectorFor = (p: string) => `cloud-custody-collector@${p}.iam.gserviceaccount.com`;
const WEB = collectorFor('web-prod');
const world: PolicyWorld = {
  orgId: ORG,
  forensicsProject: 'custody-forensics',
  orchestrator: ORCHESTRATOR,
  targetProjects: ['web-prod', 'gke-prod'],
  collectorFor,
  groups: { 'tag-admins@example.com': ['tag-admin@example.com'], 'break-glass@example.com': ['breakglass@example.com'] },
};
const tagged = [{ key: `${ORG}/ForensicsEnabled`, value: 'true' }];
const disk = (tags = tagged, project = 'web-prod'): IamResource => ({ name: `projects/${project}/zones/us-central1-a/disks/d`, type: 'compute.googleapis.com/Disk', project, tags });
const instance = (tags = tagged, project = 'web-prod'): IamResource => ({ name: `projects/${project}/zones/us-central1-a/instances/i`, type: 'compute.googleapis.com/Instance', project, tags });
const snapshot = (tags: IamResource['tags'] = []): IamResource => ({ name: 'projects/custody-forensics/global/snapshots/custody-ev-1', type: 'compute.googleapis.com/Snapshot', project: 'custody-forensics', tags });
const project = (id: string): IamResource => ({ name: `projects/${id}`, type: 'cloudresourcemanager.googleapis.com/Project', project: id, tags: [] });
const sa = (email: string): IamResource => ({ name: `projects/-/serviceAccounts/${email}`, type: 'iam.googleapis.com/ServiceAccount', tags: [] });

describe('the lab IAM decides by policies/gcp (CEL conditions, deny policies): allowed', () => {
  const decide = createPolicyAuthorizer(world);
  it.each([
    ['the collector reads a tagged instance', WEB, 'compute.instances.get', instance()],
    ['the collector snapshots a tagged disk', WEB, 'compute.disks.createSnapshot', disk()],
    ['the collector reads a disk that inherits the tag', WEB, 'compute.disks.get', disk([{ key: `${ORG}/ForensicsEnabled`, value: 'true' }])],
    ['the collector creates snapshots in the forensics project', WEB, 'compute.snapshots.create', project('custody-forensics')],
    ['the collector labels its snapshot', WEB, 'compute.snapshots.setLabels', snapshot()],
    ['the collector lists instances for a selector', WEB, 'compute.instances.list', project('web-prod')],
    ['the orchestrator mints the collector token', ORCHESTRATOR, 'iam.serviceAccounts.getAccessToken', sa(WEB)],
  ] as const)('%s', (_title, principal, permission, resource) => {
    expect(decide({ principal, permission, resource })).toEqual({ allowed: true });
  });
});

describe('the deny matrix: what custody can never do', () => {
  const decide = createPolicyAuthorizer({ ...world, evidenceHold: true });
  it.each([
    ['snapshot an untagged disk', WEB, 'compute.disks.createSnapshot', disk([])],
    ['snapshot a disk whose tag says false', WEB, 'compute.disks.createSnapshot', disk([{ key: `${ORG}/ForensicsEnabled`, value: 'false' }])],
    ['snapshot a disk tagged by another org\'s key of the same short name', WEB, 'compute.disks.createSnapshot', disk([{ key: '999/ForensicsEnabled', value: 'true' }])],
    ['read an untagged instance', WEB, 'compute.instances.getSerialPortOutput', instance([])],
    ["web-prod's collector reads gke-prod", WEB, 'compute.instances.get', instance(tagged, 'gke-prod')],
    ['stop an instance', WEB, 'compute.instances.stop', instance()],
    ['delete a disk', WEB, 'compute.disks.delete', disk()],
    ['delete an evidence snapshot', WEB, 'compute.snapshots.delete', snapshot()],
    ['re-key an evidence snapshot', WEB, 'compute.snapshots.updateKmsKey', snapshot()],
    ['share an evidence snapshot', WEB, 'compute.snapshots.setIamPolicy', snapshot()],
    ['create snapshots in a target project', WEB, 'compute.snapshots.create', project('web-prod')],
    ['the orchestrator reads an instance itself', ORCHESTRATOR, 'compute.instances.get', instance()],
    ['the orchestrator mints a token for some other service account', ORCHESTRATOR, 'iam.serviceAccounts.getAccessToken', sa('owner@web-prod.iam.gserviceaccount.com')],
    ['a collector mints a token onward', WEB, 'iam.serviceAccounts.getAccessToken', sa(collectorFor('gke-prod'))],
  ] as const)('%s is refused, naming the permission and resource', (_title, principal, permission, resource) => {
    const decision = decide({ principal, permission, resource });
    expect(decision.allowed).toBe(false);
    if (!decision.allowed) {
      expect(decision.reason).toContain(permission);
      expect(decision.reason).toContain(resource.name);
    }
  });

  it('the evidence-hold deny policy refuses deleting a held snapshot even to someone who could, except break-glass', () => {
    const held = snapshot([{ key: `${ORG}/EvidenceHold`, value: 'true' }]);
    // Deleted, re-keyed or shared (README): each is refused by the hold itself.
    for (const permission of ['compute.snapshots.delete', 'compute.snapshots.updateKmsKey', 'compute.snapshots.setIamPolicy']) {
      const denied = decide({ principal: 'project-owner@example.com', permission, resource: held });
      expect(denied, permission).toMatchObject({ allowed: false, reason: expect.stringContaining('cloud-custody-evidence-hold') });
    }
    const breakGlass = decide({ principal: 'breakglass@example.com', permission: 'compute.snapshots.delete', resource: held });
    // Not denied by the hold (the exception applies); no custody role grants it either.
    expect(breakGlass).toMatchObject({ allowed: false, reason: expect.stringMatching(/^Required/) });
  });

  it('the evidence-hold deny policy\'s display name (what the console shows) promises only what its rules deny', () => {
    const hold = readGcpDenyPolicy('evidence-hold-deny-policy');
    const denied = hold.rules.flatMap((r) => r.denyRule.deniedPermissions);
    expect(/label/i.test(hold.displayName), hold.displayName).toBe(denied.includes('compute.googleapis.com/snapshots.setLabels'));
    expect(/shared/i.test(hold.displayName), hold.displayName).toBe(denied.includes('compute.googleapis.com/snapshots.setIamPolicy'));
  });

  it('only tag administrators may bind or unbind the collection tag', () => {
    const tagValue: IamResource = { name: 'tagValues/281484', type: 'cloudresourcemanager.googleapis.com/TagValue', tags: tagged };
    for (const permission of ['resourcemanager.tagValueBindings.create', 'resourcemanager.tagValueBindings.delete']) {
      expect(decide({ principal: WEB, permission, resource: tagValue })).toMatchObject({ allowed: false, reason: expect.stringContaining('cloud-custody-protect-collection-tag') });
      expect(decide({ principal: 'tag-admin@example.com', permission, resource: tagValue })).toMatchObject({ reason: expect.stringMatching(/^Required/) });
    }
  });
});
