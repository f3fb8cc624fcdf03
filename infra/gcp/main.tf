# Generated from policies/gcp/ by scripts/generate-gcp-infra.ts (npm run generate:infra).
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
    error_message = "tag_admin_group is one group's email address, without \"group:\" (tag-admins@example.com)."
  }
}

variable "break_glass_group" {
  description = "The email of the only group that may delete, re-key or share held evidence snapshots (with evidence_hold; break-glass@example.com)."
  type        = string
  validation {
    condition     = can(regex("^[^@:/, ]+@[^@:/, ]+$", var.break_glass_group))
    error_message = "break_glass_group is one group's email address, without \"group:\" (break-glass@example.com)."
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
  parent      = "organizations/${var.org_id}"
  short_name  = "ForensicsEnabled"
  description = "Workloads that cloud-custody may read and snapshot. Bound only by the tag administrators (deny policy)."
}

resource "google_tags_tag_value" "forensics_enabled_true" {
  parent     = google_tags_tag_key.forensics_enabled.id
  short_name = "true"
}

resource "google_tags_tag_key" "evidence_hold" {
  count      = var.evidence_hold ? 1 : 0
  parent     = "organizations/${var.org_id}"
  short_name = "EvidenceHold"
}

resource "google_tags_tag_value" "evidence_hold_true" {
  count      = var.evidence_hold ? 1 : 0
  parent     = google_tags_tag_key.evidence_hold[0].id
  short_name = "true"
}

resource "google_organization_iam_custom_role" "collector" {
  org_id      = var.org_id
  role_id     = "cloudCustodyCollector"
  title       = "cloud-custody collector"
  description = "Reads a tagged instance and its disks, their serial port output and screenshot, and snapshots the disks. Bound in each target project (or a folder/organization) to the collector service account with the ForensicsEnabled tag condition."
  stage       = "GA"
  permissions = [
    "compute.disks.createSnapshot",
    "compute.disks.get",
    "compute.instances.get",
    "compute.instances.getScreenshot",
    "compute.instances.getSerialPortOutput",
  ]
}

resource "google_organization_iam_custom_role" "inventory" {
  org_id      = var.org_id
  role_id     = "cloudCustodyInventory"
  title       = "cloud-custody inventory"
  description = "Lists instances and their effective Resource Manager tags so that gcp-label: and gcp-tag: selectors can find targets, and holds the list permissions Compute's testIamPermissions methods require so custody preflight can ask per instance and disk. Reads names and labels only; collecting a found instance still needs the tag-conditioned collector role."
  stage       = "GA"
  permissions = [
    "compute.disks.list",
    "compute.instances.list",
    "compute.instances.listEffectiveTags",
  ]
}

resource "google_organization_iam_custom_role" "snapshot_writer" {
  org_id      = var.org_id
  role_id     = "cloudCustodySnapshotWriter"
  title       = "cloud-custody snapshot writer"
  description = "Creates labelled evidence snapshots in the forensics project, reads them back and waits on their operations. No delete, no setIamPolicy, no updateKmsKey."
  stage       = "GA"
  permissions = [
    "compute.globalOperations.get",
    "compute.snapshots.create",
    "compute.snapshots.get",
    "compute.snapshots.setLabels",
  ]
}

resource "google_organization_iam_custom_role" "evidence_hold" {
  org_id      = var.org_id
  role_id     = "cloudCustodyEvidenceHold"
  title       = "cloud-custody evidence hold"
  description = "Opt-in (gcp.snapshots.evidenceHoldTag): binds the EvidenceHold tag to each evidence snapshot at creation, so the evidence-hold deny policy protects it, and lists the snapshot's tag bindings to confirm it; reads the tag value so custody preflight can ask IAM about it. Bind only when the hold is configured."
  stage       = "GA"
  permissions = [
    "compute.snapshots.createTagBinding",
    "compute.snapshots.listTagBindings",
    "resourcemanager.tagValueBindings.create",
    "resourcemanager.tagValues.get",
  ]
}

resource "google_organization_iam_custom_role" "token_creator" {
  org_id      = var.org_id
  role_id     = "cloudCustodyTokenCreator"
  title       = "cloud-custody token creator"
  description = "Mints short-lived access tokens for the collector service account only (narrower than roles/iam.serviceAccountTokenCreator, which also signs blobs and JWTs and mints ID tokens). Bound on each collector service account to the orchestrator."
  stage       = "GA"
  permissions = [
    "iam.serviceAccounts.getAccessToken",
  ]
}

# collector: collector-role in each target project (and each target folder, for the shared collector).
resource "google_project_iam_member" "collector" {
  for_each = toset(var.target_projects)
  project  = each.value
  role     = google_organization_iam_custom_role.collector.name
  member   = "serviceAccount:${google_service_account.collector[each.value].email}"
  condition {
    title       = "ForensicsEnabled"
    description = "Only resources that carry (or inherit) the collection tag can be read or snapshotted."
    expression  = "resource.matchTag('${var.org_id}/ForensicsEnabled', 'true')"
  }
}

resource "google_folder_iam_member" "collector" {
  for_each = toset(var.target_folders)
  folder   = each.value
  role     = google_organization_iam_custom_role.collector.name
  member   = "serviceAccount:${google_service_account.shared_collector[0].email}"
  condition {
    title       = "ForensicsEnabled"
    description = "Only resources that carry (or inherit) the collection tag can be read or snapshotted."
    expression  = "resource.matchTag('${var.org_id}/ForensicsEnabled', 'true')"
  }
}

# inventory: inventory-role in each target project (and each target folder, for the shared collector).
resource "google_project_iam_member" "inventory" {
  for_each = toset(var.target_projects)
  project  = each.value
  role     = google_organization_iam_custom_role.inventory.name
  member   = "serviceAccount:${google_service_account.collector[each.value].email}"
}

resource "google_folder_iam_member" "inventory" {
  for_each = toset(var.target_folders)
  folder   = each.value
  role     = google_organization_iam_custom_role.inventory.name
  member   = "serviceAccount:${google_service_account.shared_collector[0].email}"
}

# snapshot-writer: snapshot-writer-role in the forensics project, for every collector.
resource "google_project_iam_member" "snapshot_writer" {
  for_each = { for email in local.collector_emails : email => email }
  project  = var.forensics_project
  role     = google_organization_iam_custom_role.snapshot_writer.name
  member   = "serviceAccount:${each.value}"
}

# evidence-hold: evidence-hold-role in the forensics project, for every collector.
resource "google_project_iam_member" "evidence_hold" {
  for_each = { for email in local.collector_emails : email => email if var.evidence_hold }
  project  = var.forensics_project
  role     = google_organization_iam_custom_role.evidence_hold.name
  member   = "serviceAccount:${each.value}"
}

# evidence-hold-tag: evidence-hold-role on the EvidenceHold tag value (to bind it at creation), for every collector.
resource "google_tags_tag_value_iam_member" "evidence_hold_tag" {
  for_each  = { for email in local.collector_emails : email => email if var.evidence_hold }
  tag_value = google_tags_tag_value.evidence_hold_true[0].name
  role      = google_organization_iam_custom_role.evidence_hold.name
  member    = "serviceAccount:${each.value}"
}

# token-creator: token-creator-role on each collector service account, for the orchestrator only.
resource "google_service_account_iam_member" "token_creator" {
  for_each           = local.collector_ids
  service_account_id = each.value
  role               = google_organization_iam_custom_role.token_creator.name
  member             = "serviceAccount:${google_service_account.orchestrator.email}"
}

# Deny policies are a google-beta resource (docs/research/gcp.md §7.2).
resource "google_iam_deny_policy" "protect_collection_tag" {
  provider     = google-beta
  parent       = urlencode("cloudresourcemanager.googleapis.com/organizations/${var.org_id}")
  name         = "cloud-custody-protect-collection-tag"
  display_name = "Only tag administrators bind or unbind the collection tag"

  rules {
    description = "The ForensicsEnabled tag decides what the collector may read and snapshot; binding or unbinding it is reserved to the tag administrators (the AWS SCP analogue)."
    deny_rule {
      denied_principals = [
        "principalSet://goog/public:all",
      ]
      exception_principals = [
        "principalSet://goog/group/${var.tag_admin_group}",
      ]
      denied_permissions = [
        "cloudresourcemanager.googleapis.com/tagValueBindings.create",
        "cloudresourcemanager.googleapis.com/tagValueBindings.delete",
      ]
      exception_permissions = []
      denial_condition {
        title      = "the collection tag"
        expression = "resource.matchTag('${var.org_id}/ForensicsEnabled', 'true')"
      }
    }
  }
}

# Deny policies are a google-beta resource (docs/research/gcp.md §7.2).
resource "google_iam_deny_policy" "evidence_hold" {
  provider     = google-beta
  count        = var.evidence_hold ? 1 : 0
  parent       = urlencode("cloudresourcemanager.googleapis.com/projects/${var.forensics_project}")
  name         = "cloud-custody-evidence-hold"
  display_name = "Evidence snapshots cannot be deleted, re-keyed or shared"

  rules {
    description = "Opt-in (gcp.snapshots.evidenceHoldTag): snapshots bound to the EvidenceHold tag at creation are protected from everyone but the break-glass group."
    deny_rule {
      denied_principals = [
        "principalSet://goog/public:all",
      ]
      exception_principals = [
        "principalSet://goog/group/${var.break_glass_group}",
      ]
      denied_permissions = [
        "compute.googleapis.com/snapshots.delete",
        "compute.googleapis.com/snapshots.setIamPolicy",
        "compute.googleapis.com/snapshots.updateKmsKey",
      ]
      exception_permissions = []
      denial_condition {
        title      = "evidence on hold"
        expression = "resource.matchTag('${var.org_id}/EvidenceHold', 'true')"
      }
    }
  }
}
