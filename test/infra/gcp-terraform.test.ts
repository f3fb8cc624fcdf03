/**
 * infra/gcp/main.tf carries policies/gcp/ exactly: it is what the generator writes, and parsed
 * offline (@cdktf/hcl2json, no terraform binary, no network) its custom roles, bindings,
 * conditions and deny policies are the policy files with Terraform's values in the placeholders.
 */
import { readFileSync } from 'node:fs';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { GCP_INFRA_FILE, GCP_TERRAFORM_MAPPING, renderGcpTerraform } from '../../scripts/generate-gcp-infra.js';

/** The group variables' validation: one email address, nothing else (HCL and JavaScript read it alike). */
const EMAIL_ONLY = '^[^@:/, ]+@[^@:/, ]+$';
import { GCP_DENY_POLICY_FILES, GCP_ROLE_FILES, readGcpBindings, readGcpDenyPolicy, readGcpRole } from '../../src/lab/gcp/policies.js';

type Blocks = Record<string, Array<Record<string, any>>>;
let resources: Record<string, Blocks>;
let variables: Record<string, unknown>;
let terraformBlock: Record<string, unknown>;

/**
 * The Terraform release that introduced each language feature a generated file might use (Terraform's
 * upgrade guides and changelogs), and how to find it in the file's text: the file needs the newest.
 */
const FEATURES: Array<{ feature: string; since: string; used: (text: string) => boolean }> = [
  { feature: 'required_providers with source, variable validation, provider = bare reference', since: '0.13.0', used: (t) => /\bsource\s*=|\bvalidation\s*\{/.test(t) },
  { feature: 'moved blocks, nullable variables', since: '1.1.0', used: (t) => /^moved\s*\{|\bnullable\s*=/m.test(t) },
  { feature: 'lifecycle precondition / postcondition', since: '1.2.0', used: (t) => /\b(pre|post)condition\s*\{/.test(t) },
  { feature: 'optional() object attributes, startswith/endswith', since: '1.3.0', used: (t) => /\b(optional|startswith|endswith)\(/.test(t) },
  { feature: 'check and import blocks, strcontains', since: '1.5.0', used: (t) => /^(check\s+"|import\s*\{)|\bstrcontains\(/m.test(t) },
  { feature: 'removed blocks', since: '1.7.0', used: (t) => /^removed\s*\{/m.test(t) },
  { feature: 'ephemeral resources and values', since: '1.10.0', used: (t) => /^ephemeral\s+"|\bephemeral\s*=/m.test(t) },
];
/**
 * The provider release that introduced each resource type the file might use (the providers'
 * CHANGELOG.md, "New Resource"), by the provider it is deployed with. `undefined`: long in both
 * providers before anything dated here (the IAM member resources and custom roles; their
 * `condition` block went GA in July 2020, before google 3.64.0).
 */
const RESOURCE_SINCE: Record<string, { provider: 'google' | 'google-beta'; since: string | undefined }> = {
  google_service_account: { provider: 'google', since: undefined },
  google_organization_iam_custom_role: { provider: 'google', since: undefined },
  google_project_iam_member: { provider: 'google', since: undefined },
  google_folder_iam_member: { provider: 'google', since: undefined },
  google_service_account_iam_member: { provider: 'google', since: undefined },
  google_tags_tag_key: { provider: 'google', since: '3.64.0' },
  google_tags_tag_value: { provider: 'google', since: '3.64.0' },
  google_tags_tag_value_iam_member: { provider: 'google', since: '3.64.0' },
  google_iam_deny_policy: { provider: 'google-beta', since: '4.17.0' },
};
/**
 * The first major release not checked: the upgrade guides up to 7.0.0 change nothing the file
 * uses (google 3.0.0 removed `policy_data` from google_service_account, which it never set).
 */
const UNCHECKED_MAJOR = '8.0.0';
const newer = (a: string, b: string) => (a.split('.').map(Number).reduce((d, n, i) => d || n - Number(b.split('.')[i]), 0) > 0 ? a : b);

const terraformForm = (text: string) => text.replace(/\$\{([A-Za-z]+)\}/g, (_, name: string) => GCP_TERRAFORM_MAPPING[name]!);

beforeAll(async () => {
  const parsed = (await parse('main.tf', readFileSync(GCP_INFRA_FILE, 'utf8'))) as { resource: Record<string, Blocks>; variable: Record<string, unknown>; terraform: Array<Record<string, unknown>> };
  resources = parsed.resource;
  variables = parsed.variable;
  terraformBlock = parsed.terraform[0]!;
});

describe('infra/gcp/main.tf', () => {
  it('is exactly what scripts/generate-gcp-infra.ts generates from policies/gcp (run npm run generate:infra)', () => {
    expect(readFileSync(GCP_INFRA_FILE, 'utf8')).toBe(renderGcpTerraform());
  });

  it('is laid out as terraform fmt lays it out: an attribute opening a multi-line list is not padded to align with its neighbours', () => {
    const padded = readFileSync(GCP_INFRA_FILE, 'utf8').split('\n').filter((line) => /^\s*\w+ {2,}= \[$/.test(line));
    expect(padded).toEqual([]);
  });

  it('each custom role has exactly the permissions of its policy file', () => {
    const roles = Object.values(resources.google_organization_iam_custom_role!).map((blocks) => blocks[0]!);
    expect(roles.map((r) => r.role_id).sort()).toEqual(GCP_ROLE_FILES.map((f) => readGcpRole(f).roleId).sort());
    for (const file of GCP_ROLE_FILES) {
      const role = readGcpRole(file);
      const block = roles.find((r) => r.role_id === role.roleId)!;
      expect(block.permissions).toEqual(role.includedPermissions);
    }
  });

  it('every conditional binding carries its policy condition, for projects and folders alike', () => {
    for (const binding of readGcpBindings()) {
      const name = binding.id.replace(/-/g, '_');
      const blocks = [resources.google_project_iam_member?.[name], resources.google_folder_iam_member?.[name], resources.google_service_account_iam_member?.[name], resources.google_tags_tag_value_iam_member?.[name]]
        .filter((b): b is Array<Record<string, any>> => b !== undefined)
        .map((b) => b[0]!);
      expect(blocks.length, binding.id).toBeGreaterThan(0);
      for (const block of blocks) {
        if (binding.condition) expect(block.condition?.[0]?.expression, binding.id).toBe(terraformForm(binding.condition.expression));
        else expect(block.condition, binding.id).toBeUndefined();
      }
    }
  });

  it('the deny policies deny exactly the policy files\' permissions to the policy files\' principals', () => {
    const deployed = resources.google_iam_deny_policy!;
    for (const file of GCP_DENY_POLICY_FILES) {
      const policy = readGcpDenyPolicy(file);
      const block = Object.values(deployed).map((b) => b[0]!).find((b) => b.name === policy.policyId)!;
      expect(block.provider).toBe('${google-beta}');
      const rule = block.rules[0].deny_rule[0];
      expect(rule.denied_permissions).toEqual(policy.rules[0]!.denyRule.deniedPermissions);
      expect(rule.denied_principals).toEqual(policy.rules[0]!.denyRule.deniedPrincipals);
      expect(rule.exception_principals).toEqual((policy.rules[0]!.denyRule.exceptionPrincipals ?? []).map(terraformForm));
      expect(rule.denial_condition[0].expression).toBe(terraformForm(policy.rules[0]!.denyRule.denialCondition!.expression));
    }
  });

  it('takes each group as the email the deny policies name (principalSet://goog/group/EMAIL): an IAM member form such as group:EMAIL is refused at plan time', () => {
    for (const name of ['tag_admin_group', 'break_glass_group']) {
      const variable = (variables[name] as Array<{ description: string; validation?: Array<{ condition: string; error_message: string }> }>)[0]!;
      expect(variable.description, name).toContain('email');
      const validation = variable.validation?.[0];
      expect(validation?.condition, name).toBe(`\${can(regex("${EMAIL_ONLY}", var.${name}))}`);
      expect(validation?.error_message, name).toContain('without "group:"');
    }
    const email = new RegExp(EMAIL_ONLY);
    expect(['tag-admins@example.com', 'break-glass@corp.example'].every((v) => email.test(v))).toBe(true);
    expect(['group:tag-admins@example.com', 'principalSet://goog/group/tag-admins@example.com', 'tag-admins', 'a@b.com, c@d.com'].some((v) => email.test(v))).toBe(false);
  });

  it('refuses target_projects with target_folders at plan time: both would name cloud-custody-collector in the forensics project when it is a target too, and custody impersonates one collector pattern', () => {
    const accounts = resources.google_service_account!;
    const collectorIn = Object.entries(accounts).filter(([, b]) => b[0]!.account_id === 'cloud-custody-collector').map(([name, b]) => [name, b[0]!.project]);
    expect(collectorIn).toEqual([['collector', '${each.value}'], ['shared_collector', '${var.forensics_project}']]);
    // The shared collector exists only with target_folders; its precondition refuses target_projects beside them.
    const shared = accounts.shared_collector![0]!;
    expect(shared.count).toBe('${length(var.target_folders) > 0 ? 1 : 0}');
    const precondition = shared.lifecycle?.[0]?.precondition?.[0];
    expect(precondition?.condition).toBe('${length(var.target_projects) == 0}');
    expect(precondition?.error_message).toMatch(/^Set target_projects or target_folders, not both: .*gcp\.collectorServiceAccount without \{project\}.*\(with \{project\}\)/);
  });

  it('states the oldest Terraform that reads it (required_version): the release of the newest language feature it uses, lifecycle preconditions (1.2)', () => {
    const text = readFileSync(GCP_INFRA_FILE, 'utf8').replace(/^\s*#.*$/gm, '');
    const used = FEATURES.filter((f) => f.used(text));
    expect(used.map((f) => f.since)).toEqual(['0.13.0', '1.2.0']);
    const oldest = used.map((f) => f.since).reduce(newer);
    expect(terraformBlock.required_version).toBe(`>= ${oldest}`);
    // A variable's validation that names another variable needs 1.9: each names only its own.
    for (const [name, [variable]] of Object.entries(variables as Record<string, Array<{ validation?: Array<{ condition: string }> }>>)) {
      for (const v of variable!.validation ?? []) expect([...v.condition.matchAll(/var\.(\w+)/g)].map((m) => m[1]), name).toEqual([name]);
    }
  });

  it('pins each provider (required_providers version) from the oldest release with every resource type deployed with it, to below the first major not checked', () => {
    const byProvider = new Map<string, Set<string>>();
    for (const [type, blocks] of Object.entries(resources)) {
      for (const [block] of Object.values(blocks)) {
        const provider = block!.provider === '${google-beta}' ? 'google-beta' : 'google';
        byProvider.set(provider, (byProvider.get(provider) ?? new Set()).add(type));
      }
    }
    const pinned = (terraformBlock.required_providers as Array<Record<string, { source: string; version?: string }>>)[0]!;
    expect(Object.keys(pinned).sort()).toEqual([...byProvider.keys()].sort());
    for (const [provider, types] of byProvider) {
      // A resource type not in the table has no known first release: look it up in the provider's changelog.
      for (const type of types) expect(RESOURCE_SINCE[type]?.provider, `${type}: add the ${provider} release that introduced it`).toBe(provider);
      const oldest = [...types].map((t) => RESOURCE_SINCE[t]!.since).filter((v): v is string => v !== undefined).reduce(newer);
      expect(pinned[provider], provider).toEqual({ source: `hashicorp/${provider}`, version: `>= ${oldest}, < ${UNCHECKED_MAJOR}` });
    }
    expect(pinned.google?.version).toBe('>= 3.64.0, < 8.0.0');
    expect(pinned['google-beta']?.version).toBe('>= 4.17.0, < 8.0.0');
  });

  it('asks for what a deployment must decide, and deploys the collection tag', () => {
    expect(Object.keys(variables).sort()).toEqual(['break_glass_group', 'evidence_hold', 'forensics_project', 'org_id', 'tag_admin_group', 'target_folders', 'target_projects']);
    expect(resources.google_tags_tag_key!.forensics_enabled![0]!.short_name).toBe('ForensicsEnabled');
  });
});
