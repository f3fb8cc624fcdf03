/**
 * `custody preflight` for GCP, before an incident: per allowed project, impersonate the collector
 * as a case would, then ask IAM (testIamPermissions) whether it holds every permission the code
 * declares — on the projects for project-level grants, on the evidence hold's tag value (where its
 * binding permission is granted), and on each named instance and its disks for the tag-conditioned
 * ones. Nothing is created or changed.
 */
import { isCustodyError, type CustodyError } from '../../core/errors.js';
import { attachedDisks } from './describe.js';
import { GCP_OPERATIONS, permissionRole, type GcpOperation, type GcpRoleName } from './operations.js';
import { resourceManagerBase } from './resource-manager.js';
import type { GcpSession } from './session.js';
import { gcpTargetKey, resourceNameOf, type GcpDiskTarget, type GcpTarget } from './targets.js';

export interface GcpPreflightRow {
  /** The project the check ran for. */
  scope: string;
  check: string;
  resource: string;
  result: 'ok' | 'denied' | 'error';
  /** Permissions missing (denied) or the error's message. */
  detail?: string;
  missing?: string[];
  /** What IAM was asked and granted (ok). */
  granted?: string[];
}

function declared(filter: (op: GcpOperation, action: string) => boolean): string[] {
  const out = new Set<string>();
  for (const op of Object.values(GCP_OPERATIONS) as GcpOperation[]) for (const p of op.permissions) if (filter(op, p.action)) out.add(p.action);
  return [...out].sort();
}

const INSTANCE_PERMISSIONS = declared((_op, a) => a.startsWith('compute.instances.') && a !== 'compute.instances.list');
const DISK_PERMISSIONS = declared((_op, a) => a.startsWith('compute.disks.'));
/** Every permission of a role, as operations.ts declares it (and policies/gcp/ holds the role to). */
const ofRole = (role: GcpRoleName) => declared((op, a) => permissionRole(op, a) === role);
/** The inventory role, bound at the target project without a condition: selectors and preflight's own per-resource calls. */
const TARGET_PROJECT_PERMISSIONS = ofRole('inventory');
/** The snapshot writer, bound in the forensics project: create, label, wait on and read every snapshot. */
const SNAPSHOT_WRITER_PERMISSIONS = ofRole('snapshotWriter');
/** The evidence hold (with `gcp.snapshots.evidenceHoldTag`), on the forensics project's snapshots. */
const EVIDENCE_HOLD_PERMISSIONS = ofRole('evidenceHold').filter((a) => a.startsWith('compute.'));
/**
 * The evidence hold's binding of its tag value, granted on the tag value (not the project, whose
 * answer cannot show it): asked of the tag value itself.
 */
const TAG_VALUE_PERMISSIONS = ofRole('evidenceHold').filter((a) => a.startsWith('resourcemanager.tagValueBindings.'));

/** The file in policies/gcp/ that grants each permission a project or tag-value row asks about. */
function roleFileOf(permission: string): string {
  if (TARGET_PROJECT_PERMISSIONS.includes(permission)) return 'inventory-role.json';
  if (ofRole('evidenceHold').includes(permission)) return 'evidence-hold-role.json';
  return 'snapshot-writer-role.json';
}

function errorRow(scope: string, check: string, resource: string, error: unknown): GcpPreflightRow {
  const e = error as CustodyError;
  if (isCustodyError(error) && error.code === 'E_ACCESS_DENIED') {
    return { scope, check, resource, result: 'denied', detail: e.message, ...(e.action ? { missing: [e.action] } : {}) };
  }
  return { scope, check, resource, result: 'error', detail: e.message ?? String(error) };
}

async function projectPermissions(session: GcpSession, asProject: string, project: string, permissions: string[]): Promise<string[]> {
  const base = resourceManagerBase(session.config);
  return session.call('testProjectPermissions', asProject, `projects/${project}`, undefined, async () => {
    const auth = await session.broker.collector(asProject);
    const response = await auth.request<{ permissions?: string[] }>({
      method: 'POST',
      url: `${base}/v3/projects/${project}:testIamPermissions`,
      data: { permissions },
      headers: session.callOptions(undefined).otherArgs.headers,
      retry: false,
    });
    return response.data.permissions ?? [];
  });
}

/**
 * Asks the evidence hold's tag value which of `permissions` the project's collector holds there:
 * by `tagValues/ID` as configured, else resolved from its namespaced name (`ORG/KEY/VALUE`).
 */
async function tagValuePermissions(session: GcpSession, asProject: string, tag: { key: string; value: string }, permissions: string[]): Promise<string[]> {
  const base = resourceManagerBase(session.config);
  const namespaced = `${tag.key}/${tag.value}`;
  const headers = session.callOptions(undefined).otherArgs.headers;
  const name = tag.value.startsWith('tagValues/')
    ? tag.value
    : await session.call('resolveEvidenceHoldTag', asProject, namespaced, undefined, async () => {
        const auth = await session.broker.collector(asProject);
        const response = await auth.request<{ name?: string }>({ method: 'GET', url: `${base}/v3/tagValues/namespaced`, params: { name: namespaced }, headers, retry: false });
        return response.data.name ?? namespaced;
      });
  return session.call('testTagValuePermissions', asProject, name, undefined, async () => {
    const auth = await session.broker.collector(asProject);
    const response = await auth.request<{ permissions?: string[] }>({ method: 'POST', url: `${base}/v3/${name}:testIamPermissions`, data: { permissions }, headers, retry: false });
    return response.data.permissions ?? [];
  });
}

function verdict(scope: string, check: string, resource: string, asked: string[], granted: string[]): GcpPreflightRow {
  const missing = asked.filter((p) => !granted.includes(p));
  return missing.length === 0
    ? { scope, check, resource, result: 'ok', granted: asked }
    : { scope, check, resource, result: 'denied', missing, detail: `missing ${missing.join(', ')} on ${resource}` };
}

/** A denied project row says which role file of policies/gcp/ grants what is missing, and where (infra/gcp binds them). */
function withRoleFiles(row: GcpPreflightRow, where: string): GcpPreflightRow {
  if (row.result !== 'denied' || !row.missing) return row;
  const files = [...new Set(row.missing.map(roleFileOf))].map((f) => `policies/gcp/${f}`);
  return { ...row, detail: `${row.detail}: grant ${files.join(' and ')} ${where} (infra/gcp/main.tf, docs/deploy-gcp.md)` };
}

/** How the collection tag is named in messages: the configured one, else the shipped default. */
function tagText(session: GcpSession): string {
  const tag = session.config.collectionTag;
  return tag ? `${tag.key}=${tag.value}` : 'ForensicsEnabled=true';
}

async function diskRow(session: GcpSession, scope: string, disk: GcpDiskTarget): Promise<GcpPreflightRow> {
  const name = resourceNameOf(disk);
  try {
    const [answer] = await session.call('testResourcePermissions', disk.project, name, undefined, (c, o) =>
      disk.zone !== undefined
        ? c.disks.testIamPermissions({ project: disk.project, zone: disk.zone, resource: disk.disk, testPermissionsRequestResource: { permissions: DISK_PERMISSIONS } }, o)
        : c.regionDisks.testIamPermissions({ project: disk.project, region: disk.region!, resource: disk.disk, testPermissionsRequestResource: { permissions: DISK_PERMISSIONS } }, o),
    );
    const row = verdict(scope, 'disk permissions (tag-conditioned)', name, DISK_PERMISSIONS, answer.permissions ?? []);
    if (row.result === 'denied') row.detail = `${row.detail}: is the disk (or its project/folder) tagged ${tagText(session)}?`;
    return row;
  } catch (error) {
    return errorRow(scope, 'disk permissions (tag-conditioned)', name, error);
  }
}

/**
 * Runs the checks for the given projects (default: every allowed project) and named targets.
 *
 * @example
 * const rows = await preflightGcp(session, { targets: [parseGcpTarget('projects/web-prod/zones/us-central1-a/instances/web-1')] });
 */
export async function preflightGcp(session: GcpSession, options: { projects?: string[]; targets?: GcpTarget[] } = {}): Promise<GcpPreflightRow[]> {
  const config = session.config;
  const projects = options.projects ?? [...new Set([...(options.targets ?? []).map((t) => t.project), ...(options.targets?.length ? [] : config.allowedProjects)])];
  const rows: GcpPreflightRow[] = [];
  for (const project of projects) {
    try {
      await session.broker.collector(project);
      rows.push({ scope: project, check: 'impersonate the collector (iam.serviceAccounts.getAccessToken)', resource: `projects/${project}`, result: 'ok' });
    } catch (error) {
      rows.push(errorRow(project, 'impersonate the collector (iam.serviceAccounts.getAccessToken)', `projects/${project}`, error));
      continue;
    }
    try {
      const row = verdict(project, 'target project permissions', `projects/${project}`, TARGET_PROJECT_PERMISSIONS, await projectPermissions(session, project, project, TARGET_PROJECT_PERMISSIONS));
      rows.push(withRoleFiles(row, `to the collector in ${project}`));
    } catch (error) {
      rows.push(errorRow(project, 'target project permissions', `projects/${project}`, error));
    }
    try {
      const forensics = `projects/${config.forensicsProject}`;
      const asked = config.snapshots.evidenceHoldTag ? [...SNAPSHOT_WRITER_PERMISSIONS, ...EVIDENCE_HOLD_PERMISSIONS] : SNAPSHOT_WRITER_PERMISSIONS;
      const row = verdict(project, 'forensics project permissions', forensics, asked, await projectPermissions(session, project, config.forensicsProject, asked));
      rows.push(withRoleFiles(row, `to this project's collector in ${config.forensicsProject}`));
    } catch (error) {
      rows.push(errorRow(project, 'forensics project permissions', `projects/${config.forensicsProject}`, error));
    }
    const hold = config.snapshots.evidenceHoldTag;
    if (hold) {
      const value = hold.value.startsWith('tagValues/') ? hold.value : `${hold.key}/${hold.value}`;
      try {
        const row = verdict(project, 'evidence hold tag value permissions', value, TAG_VALUE_PERMISSIONS, await tagValuePermissions(session, project, hold, TAG_VALUE_PERMISSIONS));
        rows.push(withRoleFiles(row, `to this project's collector on the tag value ${value}`));
      } catch (error) {
        rows.push(errorRow(project, 'evidence hold tag value permissions', value, error));
      }
    }
  }
  for (const target of options.targets ?? []) {
    const scope = target.project;
    if (target.kind === 'gcp-disk') {
      rows.push(await diskRow(session, scope, target));
      continue;
    }
    const name = resourceNameOf(target);
    try {
      const [answer] = await session.call('testResourcePermissions', target.project, name, undefined, (c, o) =>
        c.instances.testIamPermissions({ project: target.project, zone: target.zone, resource: target.instance, testPermissionsRequestResource: { permissions: INSTANCE_PERMISSIONS } }, o),
      );
      const row = verdict(scope, 'instance permissions (tag-conditioned)', name, INSTANCE_PERMISSIONS, answer.permissions ?? []);
      if (row.result === 'denied') row.detail = `${row.detail}: ${gcpTargetKey(target)} does not carry the collection tag ${tagText(session)} (own or inherited)`;
      rows.push(row);
      if (!(answer.permissions ?? []).includes('compute.instances.get')) continue;
      const [instance] = await session.call('getInstance', target.project, name, undefined, (c, o) => c.instances.get({ project: target.project, zone: target.zone, instance: target.instance }, o));
      for (const disk of attachedDisks(instance).disks) rows.push(await diskRow(session, scope, disk));
    } catch (error) {
      rows.push(errorRow(scope, 'instance permissions (tag-conditioned)', name, error));
    }
  }
  return rows;
}
