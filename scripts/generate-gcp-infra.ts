/**
 * Generates `infra/gcp/main.tf` (Terraform, the IaC GCP users deploy with) from `policies/gcp/`:
 * the custom roles at the organization (so they can be bound on projects or folders), the
 * collection and evidence-hold tags, the service accounts, every binding with its IAM
 * condition, and the deny policies. Each `${Placeholder}` of a policy file becomes a Terraform
 * expression; `test/infra/gcp-terraform.test.ts` fails when the committed file differs from
 * what this script generates, and parses it offline (@cdktf/hcl2json) to compare with policies/gcp.
 *
 * Run: `npm run generate:infra`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GCP_DENY_POLICY_FILES,
  readGcpBindings,
  readGcpDenyPolicy,
  readGcpRole,
  type GcpBinding,
  type GcpDenyPolicy,
} from '../src/lab/gcp/policies.js';
import { REPO_ROOT } from './policies.js';

export const GCP_INFRA_FILE = join(REPO_ROOT, 'infra', 'gcp', 'main.tf');

/** What each placeholder becomes in Terraform, per scope of use. */
export const GCP_TERRAFORM_MAPPING: Record<string, string> = {
  OrgId: '${var.org_id}',
  ForensicsProject: '${var.forensics_project}',
  OrchestratorServiceAccount: '${google_service_account.orchestrator.email}',
  TagAdminGroup: '${var.tag_admin_group}',
  BreakGlassGroup: '${var.break_glass_group}',
};

function str(text: string): string {
  // A literal for HCL: quotes and backslashes escaped; placeholders become interpolations.
  const escaped = text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%\{/g, '%%{');
  return `"${escaped.replace(/\$\{([A-Za-z]+)\}/g, (whole, name: string) => {
    const mapped = GCP_TERRAFORM_MAPPING[name];
    if (!mapped) throw new Error(`no Terraform mapping for ${whole}`);
    return mapped;
  })}"`;
}

function list(items: string[], indent: string): string {
  if (items.length === 0) return '[]';
  return `[\n${items.map((i) => `${indent}  ${str(i)},`).join('\n')}\n${indent}]`;
}

const ROLE_RESOURCE: Record<string, string> = {
  'collector-role': 'collector',
  'inventory-role': 'inventory',
  'snapshot-writer-role': 'snapshot_writer',
  'evidence-hold-role': 'evidence_hold',
  'token-creator-role': 'token_creator',
};

function customRole(file: string): string {
  const role = readGcpRole(file);
  return `resource "google_organization_iam_custom_role" "${ROLE_RESOURCE[file]}" {
  org_id      = var.org_id
  role_id     = ${str(role.roleId)}
  title       = ${str(role.title)}
  description = ${str(role.description)}
  stage       = ${str(role.stage)}
  permissions = ${list(role.includedPermissions, '  ')}
}
`;
}

function condition(binding: GcpBinding): string {
  if (!binding.condition) return '';
  return `
  condition {
    title       = ${str(binding.condition.title)}
    description = ${str(binding.condition.description ?? '')}
    expression  = ${str(binding.condition.expression)}
  }`;
}

function bindingResources(binding: GcpBinding): string {
  const role = `google_organization_iam_custom_role.${ROLE_RESOURCE[binding.role]}.name`;
  const name = binding.id.replace(/-/g, '_');
  const gate = binding.optional ? ' if var.evidence_hold' : '';
  const perProject = (member: string) => `member   = ${member}`;
  switch (binding.scope) {
    case 'target-project':
      return `# ${binding.id}: ${binding.role} in each target project (and each target folder, for the shared collector).
resource "google_project_iam_member" "${name}" {
  for_each = toset(var.target_projects)
  project  = each.value
  role     = ${role}
  ${perProject('"serviceAccount:${google_service_account.collector[each.value].email}"')}${condition(binding)}
}

resource "google_folder_iam_member" "${name}" {
  for_each = toset(var.target_folders)
  folder   = each.value
  role     = ${role}
  ${perProject('"serviceAccount:${google_service_account.shared_collector[0].email}"')}${condition(binding)}
}
`;
    case 'forensics-project':
      return `# ${binding.id}: ${binding.role} in the forensics project, for every collector.
resource "google_project_iam_member" "${name}" {
  for_each = { for email in local.collector_emails : email => email${gate} }
  project  = var.forensics_project
  role     = ${role}
  member   = "serviceAccount:\${each.value}"${condition(binding)}
}
`;
    case 'evidence-hold-tag-value':
      return `# ${binding.id}: ${binding.role} on the EvidenceHold tag value (to bind it at creation), for every collector.
resource "google_tags_tag_value_iam_member" "${name}" {
  for_each  = { for email in local.collector_emails : email => email if var.evidence_hold }
  tag_value = google_tags_tag_value.evidence_hold_true[0].name
  role      = ${role}
  member    = "serviceAccount:\${each.value}"
}
`;
    case 'collector-service-account':
      return `# ${binding.id}: ${binding.role} on each collector service account, for the orchestrator only.
resource "google_service_account_iam_member" "${name}" {
  for_each           = local.collector_ids
  service_account_id = each.value
  role               = ${role}
  member             = ${str(binding.member)}${condition(binding)}
}
`;
  }
}

function denyPolicy(policy: GcpDenyPolicy, name: string): string {
  const parent =
    policy.attachmentPoint === 'organization'
      ? 'urlencode("cloudresourcemanager.googleapis.com/organizations/${var.org_id}")'
      : 'urlencode("cloudresourcemanager.googleapis.com/projects/${var.forensics_project}")';
  const rules = policy.rules
    .map(
      (rule) => `
  rules {
    description = ${str(rule.description)}
    deny_rule {
      denied_principals = ${list(rule.denyRule.deniedPrincipals, '      ')}
      exception_principals = ${list(rule.denyRule.exceptionPrincipals ?? [], '      ')}
      denied_permissions = ${list(rule.denyRule.deniedPermissions, '      ')}
      exception_permissions = ${list(rule.denyRule.exceptionPermissions ?? [], '      ')}${
        rule.denyRule.denialCondition
          ? `
      denial_condition {
        title      = ${str(rule.denyRule.denialCondition.title)}
        expression = ${str(rule.denyRule.denialCondition.expression)}
      }`
          : ''
      }
    }
  }`,
    )
    .join('\n');
  return `# Deny policies are a google-beta resource (docs/research/gcp.md §7.2).
resource "google_iam_deny_policy" "${name}" {
  provider     = google-beta${policy.policyId === 'cloud-custody-evidence-hold' ? '\n  count        = var.evidence_hold ? 1 : 0' : ''}
  parent       = ${parent}
  name         = ${str(policy.policyId)}
  display_name = ${str(policy.displayName)}
${rules}
}
`;
}

export function renderGcpTerraform(): string {
  const header = `# Generated from policies/gcp/ by scripts/generate-gcp-infra.ts (npm run generate:infra).
# Do not edit: change policies/gcp/ and regenerate; test/infra/gcp-terraform.test.ts checks the drift.
# How to deploy: docs/deploy-gcp.md.

terraform {
  # The oldest Terraform that reads this file: lifecycle preconditions came in 1.2
  # (test/infra/gcp-terraform.test.ts derives it from the language features the file uses).
  required_version = ">= 1.2.0"

  # The oldest provider release with every resource type the file uses (the providers'
  # changelogs): google 3.64.0 for the tags resources, google-beta 4.17.0 for
  # google_iam_deny_policy; below the next major, whose upgrade guide has not been checked
  # (test/infra/gcp-terraform.test.ts derives both from the resource types the file uses).
  required_providers {
    google      = { source = "hashicorp/google", version = ">= 3.64.0, < 8.0.0" }
    google-beta = { source = "hashicorp/google-beta", version = ">= 4.17.0, < 8.0.0" }
  }
}

variable "org_id" {
  description = "Organization id: namespaces the tag keys (ORG_ID/ForensicsEnabled) and holds the custom roles."
  type        = string
}

variable "forensics_project" {
  description = "The forensics project: the orchestrator runs here and every snapshot is created here."
  type        = string
}

variable "target_projects" {
  description = "Projects that may be collected, each with its own collector service account (gcp.collectorServiceAccount with {project})."
  type        = list(string)
  default     = []
}

variable "target_folders" {
  description = "Folders whose projects may be collected, through one shared collector service account in the forensics project (gcp.collectorServiceAccount without {project}); not with target_projects."
  type        = list(string)
  default     = []
}

variable "tag_admin_group" {
  description = "The email of the only group that may bind or unbind the collection tag (tag-admins@example.com; the deny policy names principalSet://goog/group/EMAIL)."
  type        = string
  validation {
    condition     = can(regex("^[^@:/, ]+@[^@:/, ]+$", var.tag_admin_group))
    error_message = "tag_admin_group is one group's email address, without \\"group:\\" (tag-admins@example.com)."
  }
}

variable "break_glass_group" {
  description = "The email of the only group that may delete, re-key or share held evidence snapshots (with evidence_hold; break-glass@example.com)."
  type        = string
  validation {
    condition     = can(regex("^[^@:/, ]+@[^@:/, ]+$", var.break_glass_group))
    error_message = "break_glass_group is one group's email address, without \\"group:\\" (break-glass@example.com)."
  }
}

variable "evidence_hold" {
  description = "Opt-in: an EvidenceHold tag bound to each snapshot at creation and a deny policy protecting them (gcp.snapshots.evidenceHoldTag)."
  type        = bool
  default     = false
}

resource "google_service_account" "orchestrator" {
  project      = var.forensics_project
  account_id   = "custody-orchestrator"
  display_name = "cloud-custody orchestrator (runs collections; impersonates the collectors)"
}

resource "google_service_account" "collector" {
  for_each     = toset(var.target_projects)
  project      = each.value
  account_id   = "cloud-custody-collector"
  display_name = "cloud-custody collector (reads tagged workloads, snapshots them into the forensics project)"
}

# One deployment serves one collector pattern (gcp.collectorServiceAccount): with both lists, the
# forensics project listed as a target project would get two cloud-custody-collector accounts.
resource "google_service_account" "shared_collector" {
  count        = length(var.target_folders) > 0 ? 1 : 0
  project      = var.forensics_project
  account_id   = "cloud-custody-collector"
  display_name = "cloud-custody collector for the target folders"

  lifecycle {
    precondition {
      condition     = length(var.target_projects) == 0
      error_message = "Set target_projects or target_folders, not both: target_folders deploys one shared collector (cloud-custody-collector in the forensics project; gcp.collectorServiceAccount without {project}), target_projects one collector in each project (with {project}), and custody impersonates one of the two. List the other projects' folders too, or every project in target_projects."
    }
  }
}

locals {
  collector_emails = concat([for sa in google_service_account.collector : sa.email], [for sa in google_service_account.shared_collector : sa.email])
  collector_ids    = merge({ for p, sa in google_service_account.collector : p => sa.name }, { for sa in google_service_account.shared_collector : "shared" => sa.name })
}

# The collection tag: the collector role's IAM condition matches it (own or inherited).
resource "google_tags_tag_key" "forensics_enabled" {
  parent      = "organizations/\${var.org_id}"
  short_name  = "ForensicsEnabled"
  description = "Workloads that cloud-custody may read and snapshot. Bound only by the tag administrators (deny policy)."
}

resource "google_tags_tag_value" "forensics_enabled_true" {
  parent     = google_tags_tag_key.forensics_enabled.id
  short_name = "true"
}

resource "google_tags_tag_key" "evidence_hold" {
  count      = var.evidence_hold ? 1 : 0
  parent     = "organizations/\${var.org_id}"
  short_name = "EvidenceHold"
}

resource "google_tags_tag_value" "evidence_hold_true" {
  count      = var.evidence_hold ? 1 : 0
  parent     = google_tags_tag_key.evidence_hold[0].id
  short_name = "true"
}

`;
  const roles = Object.keys(ROLE_RESOURCE).map(customRole).join('\n');
  const bindings = readGcpBindings().map(bindingResources).join('\n');
  const denies = GCP_DENY_POLICY_FILES.map((file) => denyPolicy(readGcpDenyPolicy(file), file === 'protect-collection-tag-deny-policy' ? 'protect_collection_tag' : 'evidence_hold')).join('\n');
  return `${header}${roles}\n${bindings}\n${denies}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(GCP_INFRA_FILE, renderGcpTerraform());
  console.log(`wrote ${GCP_INFRA_FILE}`);
}
