/**
 * Reads the least-privilege policies in `policies/aws/` and fills their placeholders.
 *
 * The policy files are the single source: infra templates are generated from them
 * (`scripts/generate-infra.ts`) and the proof tests simulate them. Placeholders are written
 * `${Name}` — a name without a colon — so they never collide with IAM policy variables such as
 * `${aws:PrincipalTag/CaseId}`, which always carry a colon and are left untouched.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const AWS_POLICY_DIR = join(REPO_ROOT, 'policies', 'aws');

/** Every policy file shipped for AWS, by the name of its file without `.json`. */
export const AWS_POLICY_NAMES = [
  'collector-trust-policy',
  'collector-policy',
  'orchestrator-trust-policy',
  'orchestrator-policy',
  'orchestrator-evidence-bucket-policy',
  'forensics-kms-key-policy',
  'shareable-kms-key-policy',
  'protect-collection-tag-scp',
  'evidence-bucket-policy',
] as const;
export type AwsPolicyName = (typeof AWS_POLICY_NAMES)[number];

/** What each placeholder means; `default` is used when a caller gives no value. */
export const PLACEHOLDERS = {
  Partition: { description: 'AWS partition: aws, aws-us-gov, aws-cn', default: 'aws' },
  AccountId: { description: 'The account the policy is installed in (target account for collector files)' },
  ForensicsAccountId: { description: 'The forensics account: the only one snapshots are shared with' },
  OrganizationId: { description: 'AWS Organizations id (o-…): collector roles and keys must belong to it' },
  OrchestratorRoleArn: { description: 'ARN of the orchestrator role in the forensics account' },
  ExternalId: { description: 'The external id the orchestrator passes (config aws.externalId)' },
  CollectionTagKey: { description: 'Tag key that marks a workload collectable', default: 'ForensicsEnabled' },
  CollectionTagValue: { description: 'Tag value that marks a workload collectable', default: 'true' },
  CollectorRoleName: { description: 'Collector role name in every target account', default: 'CloudCustodyCollector' },
  ForensicsKeyArn: { description: 'ARN of the forensics KMS key (alias/cloud-custody-forensics)' },
  ResponderPrincipalArnPattern: {
    description: 'ARN pattern of the responders (or automation) allowed to assume the orchestrator role',
  },
  TagAdminPrincipalArnPattern: { description: 'ARN pattern of the only principals allowed to change the collection tag' },
  EvidenceBucketArn: { description: 'ARN of the optional S3 evidence bucket' },
} as const satisfies Record<string, { description: string; default?: string }>;
export type PlaceholderName = keyof typeof PLACEHOLDERS;
export type PlaceholderValues = Partial<Record<PlaceholderName, string>>;

/** An IAM policy document as JSON. */
export type PolicyDocument = { Version: string; Statement: PolicyStatement[] };
export type PolicyStatement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
};

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The policy file as written, placeholders and all. */
export function readPolicyTemplate(name: AwsPolicyName): PolicyDocument {
  return JSON.parse(readFileSync(join(AWS_POLICY_DIR, `${name}.json`), 'utf8')) as PolicyDocument;
}

/** The placeholder names a document uses, sorted. */
export function placeholdersIn(value: unknown): string[] {
  const found = new Set<string>();
  walkStrings(value, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) found.add(match[1]!);
    return text;
  });
  return [...found].sort();
}

/**
 * Replaces every `${Name}` in every string of `value` with `replace(name)`. Works on the parsed
 * JSON, not on text, so a value can never break the document's quoting.
 */
export function mapPlaceholders<T>(value: T, replace: (name: string) => string): T {
  return walkStrings(value, (text) => text.replace(PLACEHOLDER, (_, name: string) => replace(name))) as T;
}

/**
 * Reads a policy and fills its placeholders; defaults apply where no value is given.
 * Throws naming the first placeholder that has neither.
 *
 * @example
 * fillPolicy('collector-policy', { AccountId: '222222222222', ForensicsAccountId: '111111111111' })
 */
export function fillPolicy(name: AwsPolicyName | PolicyDocument, values: PlaceholderValues): PolicyDocument {
  const doc = typeof name === 'string' ? readPolicyTemplate(name) : name;
  return mapPlaceholders(doc, (placeholder) => {
    const known = PLACEHOLDERS[placeholder as PlaceholderName] as { default?: string } | undefined;
    if (!known) throw new Error(`unknown placeholder \${${placeholder}} in ${describe(name)}`);
    const value = values[placeholder as PlaceholderName] ?? known.default;
    if (value === undefined) throw new Error(`no value for placeholder \${${placeholder}} in ${describe(name)}`);
    return value;
  });
}

function describe(name: AwsPolicyName | PolicyDocument): string {
  return typeof name === 'string' ? `policies/aws/${name}.json` : 'policy document';
}

function walkStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => walkStrings(item, map));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [map(key), walkStrings(item, map)]));
  }
  return value;
}

/**
 * `node --import tsx scripts/policies.ts <policy-name> Name=value …` prints the policy filled in,
 * e.g. the SCP for `aws organizations create-policy --content file://…`.
 */
function main(argv: string[]): void {
  const [name, ...pairs] = argv;
  if (!name || !(AWS_POLICY_NAMES as readonly string[]).includes(name)) {
    console.error(`usage: scripts/policies.ts <${AWS_POLICY_NAMES.join('|')}> Name=value …`);
    console.error(`placeholders:\n${Object.entries(PLACEHOLDERS).map(([k, v]) => `  ${k}: ${v.description}`).join('\n')}`);
    process.exitCode = 2;
    return;
  }
  const values = Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  console.log(JSON.stringify(fillPolicy(name as AwsPolicyName, values), null, 2));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
