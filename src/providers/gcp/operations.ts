/**
 * The single declaration of every Google API call the GCP provider makes: who makes it (the
 * orchestrator's own ADC identity, or the collector service account it impersonates), in which
 * project, on which resource, and the IAM permissions it needs there. Plain data on purpose:
 * `policies/gcp/` is held to exactly this set by a test (both ways), `plan()` renders it, the
 * lab authorizes requests by it, and `callGcp` refuses a call that is not declared.
 *
 * Permission sources: docs/research/gcp.md §6 (the `compute.<collection>.<verb>` convention,
 * the getScreenshot reference page, the IAM Credentials protos) and the open questions there.
 */
import type { CollectOptions, PermissionNeed, PlannedCall, PlannedStep } from '../../core/ports.js';
import type { GcpConfig } from './config.js';
import type { GcpTarget } from './targets.js';

/** Which custom role in `policies/gcp/` grants the call's permissions. */
export type GcpRoleName = 'collector' | 'inventory' | 'snapshotWriter' | 'evidenceHold' | 'tokenCreator';

export interface GcpOperation {
  /** `service.collection.method` as the API names it (`compute.snapshots.insert`). */
  readonly api: string;
  /** Whose token makes the call. */
  readonly caller: 'orchestrator' | 'collector';
  /** The project the call's resource lives in. */
  readonly project: 'target' | 'forensics';
  readonly mutates: boolean;
  readonly role: GcpRoleName;
  /**
   * Resource patterns with `${Project}` (of the call), `${TargetProject}`, `${ForensicsProject}`,
   * `${Zone}`, `${Location}` (a zone or region), `${CollectorServiceAccount}`.
   */
  readonly permissions: readonly PermissionNeed[];
}

const INSTANCE = 'projects/${TargetProject}/zones/${Zone}/instances/*';
const DISK = 'projects/${TargetProject}/${Location}/disks/*';
const SNAPSHOT = 'projects/${ForensicsProject}/global/snapshots/*';

export const GCP_OPERATIONS = {
  /** Mints the collector's short-lived token (IAM Credentials generateAccessToken). */
  generateAccessToken: {
    api: 'iamcredentials.serviceAccounts.generateAccessToken',
    caller: 'orchestrator',
    project: 'target',
    mutates: false,
    role: 'tokenCreator',
    permissions: [{ action: 'iam.serviceAccounts.getAccessToken', resource: 'projects/-/serviceAccounts/${CollectorServiceAccount}' }],
  },
  getInstance: {
    api: 'compute.instances.get',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'collector',
    permissions: [{ action: 'compute.instances.get', resource: INSTANCE }],
  },
  getDisk: {
    api: 'compute.disks.get',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'collector',
    // Regional disks are authorised by the same compute.disks.* permissions.
    permissions: [{ action: 'compute.disks.get', resource: DISK }],
  },
  getSerialPortOutput: {
    api: 'compute.instances.getSerialPortOutput',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'collector',
    permissions: [{ action: 'compute.instances.getSerialPortOutput', resource: INSTANCE }],
  },
  getScreenshot: {
    api: 'compute.instances.getScreenshot',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'collector',
    permissions: [{ action: 'compute.instances.getScreenshot', resource: INSTANCE }],
  },
  /** `gcp-label:` selectors: one aggregated list per project, filtered by label server-side. */
  listInstances: {
    api: 'compute.instances.aggregatedList',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'inventory',
    permissions: [{ action: 'compute.instances.list', resource: 'projects/${TargetProject}' }],
  },
  /**
   * `gcp-tag:` selectors: an instance's effective Resource Manager tags (own and inherited), asked at
   * the instance's zone endpoint (zonal resources are unknown to the global one).
   */
  listEffectiveTags: {
    api: 'cloudresourcemanager.effectiveTags.list',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'inventory',
    permissions: [{ action: 'compute.instances.listEffectiveTags', resource: INSTANCE }],
  },
  /**
   * The snapshot, created in the forensics project from a disk in the target project: needs the
   * disk's createSnapshot (tag-conditioned in the target project) and the snapshot's create and
   * setLabels (labels are set at creation) in the forensics project.
   */
  insertSnapshot: {
    api: 'compute.snapshots.insert',
    caller: 'collector',
    project: 'forensics',
    mutates: true,
    role: 'snapshotWriter',
    permissions: [
      { action: 'compute.disks.createSnapshot', resource: DISK },
      { action: 'compute.snapshots.create', resource: 'projects/${ForensicsProject}' },
      { action: 'compute.snapshots.setLabels', resource: SNAPSHOT },
    ],
  },
  /** Adopting a snapshot an interrupted run created, and reading what was preserved. */
  getSnapshot: {
    api: 'compute.snapshots.get',
    caller: 'collector',
    project: 'forensics',
    mutates: false,
    role: 'snapshotWriter',
    permissions: [{ action: 'compute.snapshots.get', resource: SNAPSHOT }],
  },
  /** Batched waiting on the insert operations (global: snapshots.insert is a global operation). */
  waitGlobalOperation: {
    api: 'compute.globalOperations.wait',
    caller: 'collector',
    project: 'forensics',
    mutates: false,
    role: 'snapshotWriter',
    permissions: [{ action: 'compute.globalOperations.get', resource: 'projects/${ForensicsProject}/global/operations/*' }],
  },
  /**
   * Opt-in evidence hold (`gcp.snapshots.evidenceHoldTag`): the tag is bound at creation through
   * `params.resourceManagerTags`: the documented pair for attaching a tag, createTagBinding on the
   * resource and tagValueBindings.create on the value (both names confirmed); that the insert
   * checks exactly this pair is not (docs/research/gcp-tag-permissions.md).
   */
  bindEvidenceHoldTag: {
    api: 'compute.snapshots.insert#resourceManagerTags',
    caller: 'collector',
    project: 'forensics',
    mutates: true,
    role: 'evidenceHold',
    permissions: [
      { action: 'compute.snapshots.createTagBinding', resource: SNAPSHOT },
      { action: 'resourcemanager.tagValueBindings.create', resource: 'tagValues/*' },
    ],
  },
  /**
   * Reads back the evidence hold: Resource Manager's `tagBindings.list` on the snapshot (its full
   * resource name, by id), so the ledger records the binding Google confirmed, not only the tag
   * the insert asked for, at the global endpoint (snapshots are global). `listTagBindings` for the
   * resource type, as Google's tag guide says (docs/research/gcp-tag-permissions.md).
   */
  readEvidenceHold: {
    api: 'cloudresourcemanager.tagBindings.list',
    caller: 'collector',
    project: 'forensics',
    mutates: false,
    role: 'evidenceHold',
    permissions: [{ action: 'compute.snapshots.listTagBindings', resource: SNAPSHOT }],
  },
  /**
   * `custody preflight`: asks IAM which of the declared permissions the collector holds on each
   * resource (tag conditions are decided per resource, so a project-level answer cannot show them).
   * Compute's reference gives every `<collection>.testIamPermissions` method the permission
   * `compute.<collection>.list` (docs/research/gcp.md §7.4); the collector holds it through the
   * inventory role, bound at the project without a tag condition.
   */
  testResourcePermissions: {
    api: 'compute.*.testIamPermissions',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'inventory',
    permissions: [
      { action: 'compute.instances.list', resource: 'projects/${TargetProject}' },
      { action: 'compute.disks.list', resource: 'projects/${TargetProject}' },
    ],
  },
  testProjectPermissions: {
    api: 'cloudresourcemanager.projects.testIamPermissions',
    caller: 'collector',
    project: 'target',
    mutates: false,
    role: 'inventory',
    permissions: [],
  },
  /**
   * `custody preflight` with the evidence hold: the hold's `tagValueBindings.create` is granted on
   * the tag value, so preflight asks the tag value. A hold configured by its namespaced name
   * (`ORG/EvidenceHold` = `true`) is first resolved to `tagValues/ID` (getNamespaced answers
   * PERMISSION_DENIED unless the caller may view the value: `resourcemanager.tagValues.get`, the
   * tag guide's viewing permission; granted with the hold role on that value).
   */
  resolveEvidenceHoldTag: {
    api: 'cloudresourcemanager.tagValues.getNamespaced',
    caller: 'collector',
    project: 'forensics',
    mutates: false,
    role: 'evidenceHold',
    permissions: [{ action: 'resourcemanager.tagValues.get', resource: 'tagValues/*' }],
  },
  /** Resource Manager's reference: no permission is required to ask about oneself on a tag value. */
  testTagValuePermissions: {
    api: 'cloudresourcemanager.tagValues.testIamPermissions',
    caller: 'collector',
    project: 'forensics',
    mutates: false,
    role: 'evidenceHold',
    permissions: [],
  },
} as const satisfies Record<string, GcpOperation>;

export type GcpOperationName = keyof typeof GCP_OPERATIONS;

/**
 * The role that grants one permission of an operation: createSnapshot on the source disk is the
 * collector's (target project, tag-conditioned); everything else belongs to the operation's role.
 */
export function permissionRole(op: GcpOperation, action: string): GcpRoleName {
  return action === 'compute.disks.createSnapshot' ? 'collector' : op.role;
}

/** All roles' permissions, for the two-way test. */
export function declaredPermissionsByRole(): Record<GcpRoleName, string[]> {
  const roles: GcpRoleName[] = ['collector', 'inventory', 'snapshotWriter', 'evidenceHold', 'tokenCreator'];
  const out = {} as Record<GcpRoleName, string[]>;
  for (const role of roles) {
    const set = new Set<string>();
    for (const op of Object.values(GCP_OPERATIONS) as GcpOperation[]) {
      for (const p of op.permissions) if (permissionRole(op, p.action) === role) set.add(p.action);
    }
    out[role] = [...set].sort();
  }
  return out;
}

function planned(op: GcpOperation, where: string): PlannedCall {
  return { api: op.api, where, mutates: op.mutates, permissions: [...op.permissions] };
}

/** What collecting a target would do, touching nothing (rendered by `custody plan`). */
export function plannedGcpCalls(target: GcpTarget, _options: CollectOptions, config: GcpConfig): PlannedStep[] {
  const ops = GCP_OPERATIONS;
  const target_ = `target project ${target.project} as the collector service account`;
  const forensics = `forensics project ${config.forensicsProject} as the collector service account`;
  const steps: PlannedStep[] = [
    {
      step: 'credentials',
      description: `impersonate the collector in ${target.project} with a ${config.tokenLifetimeSeconds} s token`,
      calls: [planned(ops.generateAccessToken, 'IAM Credentials, as the orchestrator (ADC)')],
    },
  ];
  if (target.kind === 'gcp-instance') {
    steps.push(
      { step: 'describe', description: 'the instance and every attached disk, as evidence', calls: [planned(ops.getInstance, target_), planned(ops.getDisk, target_)] },
      {
        step: 'volatile',
        description: `serial port output (ports ${config.serialPorts.join(', ')}) and, where the display is enabled, a screenshot`,
        calls: [planned(ops.getSerialPortOutput, target_), planned(ops.getScreenshot, target_)],
      },
    );
  } else {
    steps.push({ step: 'describe', description: 'the disk, as evidence', calls: [planned(ops.getDisk, target_)] });
  }
  const snapshotCalls = [planned(ops.getSnapshot, forensics), planned(ops.insertSnapshot, forensics)];
  if (config.snapshots.evidenceHoldTag) snapshotCalls.push(planned(ops.bindEvidenceHoldTag, forensics));
  const waitCalls = [planned(ops.waitGlobalOperation, forensics), planned(ops.getSnapshot, forensics)];
  if (config.snapshots.evidenceHoldTag) waitCalls.push(planned(ops.readEvidenceHold, forensics));
  steps.push(
    {
      step: 'snapshot',
      description: 'one snapshot per disk, created in the forensics project (per disk: not multi-disk consistent)',
      calls: snapshotCalls,
    },
    {
      step: 'wait',
      description: `the insert operations, awaited in batches; then each snapshot as stored${config.snapshots.evidenceHoldTag ? ', and its evidence-hold tag binding as Resource Manager lists it' : ''}`,
      calls: waitCalls,
    },
  );
  return steps;
}
