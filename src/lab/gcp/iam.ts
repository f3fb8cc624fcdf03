/**
 * The lab's IAM: decides each request from the shipped `policies/gcp/` — custom roles, the allow
 * bindings with their IAM conditions, and the deny policies — evaluating every condition with a
 * real CEL implementation (`@marcbachmann/cel-js`) over the resource's effective Resource
 * Manager tags. A refusal names the permission and the resource, as Compute's 403 does.
 */
import { Environment } from '@marcbachmann/cel-js';
import {
  fillGcpPlaceholders,
  GCP_DENY_POLICY_FILES,
  readGcpBindings,
  readGcpDenyPolicy,
  readGcpRole,
  type GcpBinding,
  type GcpDenyPolicy,
  type GcpPolicyValues,
} from './policies.js';
import type { LabGcpTag } from './state.js';

/** What IAM knows about the resource a permission is checked on. */
export interface IamResource {
  /** Relative name: `projects/P/zones/Z/disks/D`, `projects/-/serviceAccounts/E`, `tagValues/…`. */
  name: string;
  /** `compute.googleapis.com/Disk`, `iam.googleapis.com/ServiceAccount`, … */
  type: string;
  /** The project the resource belongs to (the forensics project for its snapshots). */
  project?: string;
  /** Effective tags (own and inherited). */
  tags: LabGcpTag[];
}

export interface IamRequest {
  principal: string;
  permission: string;
  resource: IamResource;
}

export type IamDecision = { allowed: true } | { allowed: false; reason: string };

/** Decides one permission check. */
export type GcpAuthorizer = (request: IamRequest) => IamDecision;

class CelResource {
  constructor(
    readonly name: string,
    readonly type: string,
    readonly service: string,
    readonly tags: LabGcpTag[],
  ) {}
}

const SERVICE_OF_PREFIX: Record<string, string> = {
  compute: 'compute.googleapis.com',
  resourcemanager: 'cloudresourcemanager.googleapis.com',
  iam: 'iam.googleapis.com',
};

/** `compute.snapshots.delete` → `compute.googleapis.com/snapshots.delete`: how deny rules name permissions. */
export function denyFormOf(permission: string): string {
  const [prefix = '', ...rest] = permission.split('.');
  return `${SERVICE_OF_PREFIX[prefix] ?? `${prefix}.googleapis.com`}/${rest.join('.')}`;
}

function serviceOf(type: string): string {
  return type.split('/')[0] ?? '';
}

/** The CEL environment IAM conditions run in: `resource` with the tag functions. */
export function createConditionEnvironment(): Environment {
  return new Environment()
    .registerType('Resource', { ctor: CelResource, fields: { name: 'string', type: 'string', service: 'string' } })
    .registerVariable('resource', 'Resource')
    .registerFunction('Resource.matchTag(string, string): bool', (r: CelResource, key: string, value: string) =>
      r.tags.some((t) => t.key === key && t.value === value),
    )
    .registerFunction('Resource.hasTagKey(string): bool', (r: CelResource, key: string) => r.tags.some((t) => t.key === key));
}

export interface PolicyWorld {
  orgId: string;
  forensicsProject: string;
  orchestrator: string;
  targetProjects: string[];
  collectorFor: (project: string) => string;
  tagAdminGroup?: string;
  breakGlassGroup?: string;
  /** Members of groups, for deny-policy exceptions. */
  groups?: Record<string, string[]>;
  /** Bind the optional bindings (the evidence hold role). */
  evidenceHold?: boolean;
  /** Permissions taken out of every shipped role: a test proving the code needs them. */
  withoutPermissions?: readonly string[];
}

interface ResolvedBinding {
  binding: GcpBinding;
  member: string;
  /** The resource names the binding is made on (projects, or a service account). */
  on: string[];
  permissions: Set<string>;
}

/**
 * Builds the authorizer of `policies/gcp/` for a world (org, projects, service accounts).
 *
 * @example
 * const decide = createPolicyAuthorizer(world);
 * decide({ principal, permission: 'compute.disks.createSnapshot', resource }) // { allowed: false, reason: … }
 */
export function createPolicyAuthorizer(world: PolicyWorld): GcpAuthorizer {
  const env = createConditionEnvironment();
  const values = (collector: string): GcpPolicyValues => ({
    OrgId: world.orgId,
    ForensicsProject: world.forensicsProject,
    OrchestratorServiceAccount: world.orchestrator,
    CollectorServiceAccount: collector,
    TagAdminGroup: world.tagAdminGroup ?? 'tag-admins@example.com',
    BreakGlassGroup: world.breakGlassGroup ?? 'break-glass@example.com',
  });
  const resolved: ResolvedBinding[] = [];
  for (const template of readGcpBindings()) {
    if (template.optional && !world.evidenceHold) continue;
    const permissions = new Set(readGcpRole(template.role).includedPermissions.filter((p) => !world.withoutPermissions?.includes(p)));
    for (const project of world.targetProjects) {
      const collector = world.collectorFor(project);
      const binding = fillGcpPlaceholders(template, values(collector));
      const member = binding.member.replace(/^serviceAccount:/, '');
      const on =
        binding.scope === 'target-project'
          ? [`projects/${project}`]
          : binding.scope === 'forensics-project'
            ? [`projects/${world.forensicsProject}`]
            : binding.scope === 'evidence-hold-tag-value'
              ? [`tagValues/${world.orgId}/EvidenceHold/true`]
              : [`projects/-/serviceAccounts/${collector}`];
      resolved.push({ binding, member, on, permissions });
    }
  }
  const denyPolicies: GcpDenyPolicy[] = GCP_DENY_POLICY_FILES.map((name) => fillGcpPlaceholders(readGcpDenyPolicy(name), values('')));
  const evidenceHoldActive = world.evidenceHold === true;

  // A binding on a service account or a tag value covers that resource; on a project, everything in it.
  const covers = (on: string, resource: IamResource) =>
    on.startsWith('projects/-/serviceAccounts/') || on.startsWith('tagValues/') ? resource.name === on : resource.project !== undefined && on === `projects/${resource.project}`;

  const conditionHolds = (expression: string, resource: IamResource): boolean => {
    const value = env.evaluate(expression, { resource: new CelResource(resource.name, resource.type, serviceOf(resource.type), resource.tags) });
    return value === true;
  };

  const inGroup = (principalSet: string, principal: string): boolean => {
    if (principalSet === 'principalSet://goog/public:all') return true;
    const group = /^principalSet:\/\/goog\/group\/(.+)$/.exec(principalSet)?.[1];
    return group !== undefined && (world.groups?.[group] ?? []).includes(principal);
  };

  return ({ principal, permission, resource }) => {
    // Deny first: a deny rule wins over any grant.
    for (const policy of denyPolicies) {
      if (policy.policyId === 'cloud-custody-evidence-hold' && !evidenceHoldActive) continue;
      if (policy.attachmentPoint === 'forensics-project' && resource.project !== world.forensicsProject) continue;
      for (const rule of policy.rules) {
        const deny = rule.denyRule;
        const fqdn = denyFormOf(permission);
        if (!deny.deniedPermissions.includes(fqdn)) continue;
        if (!deny.deniedPrincipals.some((p) => inGroup(p, principal))) continue;
        if ((deny.exceptionPrincipals ?? []).some((p) => inGroup(p, principal))) continue;
        if (deny.denialCondition && !conditionHolds(deny.denialCondition.expression, resource)) continue;
        return { allowed: false, reason: `denied by the deny policy ${policy.policyId}: ${rule.description}` };
      }
    }
    for (const binding of resolved) {
      if (binding.member !== principal || !binding.permissions.has(permission)) continue;
      if (!binding.on.some((on) => covers(on, resource))) continue;
      if (binding.binding.condition && !conditionHolds(binding.binding.condition.expression, resource)) continue;
      return { allowed: true };
    }
    return { allowed: false, reason: `Required '${permission}' permission for '${resource.name}'` };
  };
}

export const allowAllGcp: GcpAuthorizer = () => ({ allowed: true });
