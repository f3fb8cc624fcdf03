/**
 * infra/aws carries the policies of policies/aws verbatim: the committed templates are exactly
 * what `npm run generate:infra` produces, and every policy a template embeds, once CloudFormation
 * has substituted its parameters, is the policy file filled with the same values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_DIR, INFRA_TEMPLATES, renderTemplate } from '../../scripts/generate-infra.js';
import { fillPolicy, type AwsPolicyName } from '../../scripts/policies.js';

type Template = Record<string, any>;
const load = (file: string): Template => JSON.parse(readFileSync(join(INFRA_DIR, file), 'utf8')) as Template;

/** What CloudFormation does with `Fn::Sub`: `${Name}` from the values, `${!x}` becomes `${x}`. */
function resolveSub(value: unknown, values: Record<string, string>): string {
  const text = (value as { 'Fn::Sub': string })['Fn::Sub'];
  if (typeof text !== 'string') throw new Error(`expected Fn::Sub, got ${JSON.stringify(value)}`);
  return text.replace(/\$\{([^}]*)\}/g, (_, expression: string) => {
    if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
    const resolved = values[expression];
    if (resolved === undefined) throw new Error(`no value for \${${expression}}`);
    return resolved;
  });
}

const FORENSICS = '111111111111';
const TARGET = '222222222222';
const KEY_ARN = `arn:aws:kms:us-east-1:${FORENSICS}:key/0f0f0f0f-1111-2222-3333-444444444444`;
const BUCKET_ARN = 'arn:aws:s3:::forensics-evidencebucket-abc';

const collectorStack = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': TARGET,
  ForensicsAccountId: FORENSICS,
  OrchestratorRoleName: 'CloudCustodyOrchestrator',
  ExternalId: 'xid-7',
  CollectionTagKey: 'IncidentCollectable',
  CollectionTagValue: 'yes',
  CollectorRoleName: 'CloudCustodyCollector',
};
const collectorValues = {
  Partition: 'aws',
  AccountId: TARGET,
  ForensicsAccountId: FORENSICS,
  OrchestratorRoleArn: `arn:aws:iam::${FORENSICS}:role/CloudCustodyOrchestrator`,
  ExternalId: 'xid-7',
  CollectionTagKey: 'IncidentCollectable',
  CollectionTagValue: 'yes',
  CollectorRoleName: 'CloudCustodyCollector',
};
const forensicsStack = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': FORENSICS,
  OrganizationId: 'o-abcdefghij',
  OrchestratorRoleName: 'CloudCustodyOrchestrator',
  CollectorRoleName: 'CloudCustodyCollector',
  ResponderPrincipalArnPattern: `arn:aws:iam::${FORENSICS}:role/responders/*`,
  'ForensicsKey.Arn': KEY_ARN,
  'EvidenceBucket.Arn': BUCKET_ARN,
};
const forensicsValues = {
  Partition: 'aws',
  AccountId: FORENSICS,
  ForensicsAccountId: FORENSICS,
  OrganizationId: 'o-abcdefghij',
  OrchestratorRoleArn: `arn:aws:iam::${FORENSICS}:role/CloudCustodyOrchestrator`,
  CollectorRoleName: 'CloudCustodyCollector',
  ForensicsKeyArn: KEY_ARN,
  ResponderPrincipalArnPattern: `arn:aws:iam::${FORENSICS}:role/responders/*`,
  EvidenceBucketArn: BUCKET_ARN,
};

const embedded: Array<[string, AwsPolicyName, (t: Template) => unknown, Record<string, string>, Record<string, string>]> = [
  ['collector-stackset.template.json', 'collector-trust-policy', (t) => t.Resources.CollectorRole.Properties.AssumeRolePolicyDocument, collectorStack, collectorValues],
  ['collector-stackset.template.json', 'collector-policy', (t) => t.Resources.CollectorRole.Properties.Policies[0].PolicyDocument, collectorStack, collectorValues],
  ['collector-stackset.template.json', 'shareable-kms-key-policy', (t) => t.Resources.ShareableKey.Properties.KeyPolicy, collectorStack, collectorValues],
  ['forensics-account.template.json', 'orchestrator-trust-policy', (t) => t.Resources.OrchestratorRole.Properties.AssumeRolePolicyDocument, forensicsStack, forensicsValues],
  ['forensics-account.template.json', 'orchestrator-policy', (t) => t.Resources.OrchestratorRole.Properties.Policies[0].PolicyDocument, forensicsStack, forensicsValues],
  ['forensics-account.template.json', 'forensics-kms-key-policy', (t) => t.Resources.ForensicsKey.Properties.KeyPolicy, forensicsStack, forensicsValues],
  ['forensics-account.template.json', 'evidence-bucket-policy', (t) => t.Resources.EvidenceBucketPolicy.Properties.PolicyDocument, forensicsStack, forensicsValues],
];

describe('infra/aws does not drift from policies/aws', () => {
  it.each(Object.keys(INFRA_TEMPLATES))('infra/aws/%s is exactly what `npm run generate:infra` writes', (file) => {
    const committed = readFileSync(join(INFRA_DIR, file), 'utf8');
    expect(committed, `infra/aws/${file} is stale: run npm run generate:infra`).toBe(renderTemplate(INFRA_TEMPLATES[file]!()));
  });

  it.each(embedded)('%s embeds policies/aws/%s.json verbatim', (file, policy, pick, stack, values) => {
    const deployed = JSON.parse(resolveSub(pick(load(file)), stack));
    expect(deployed).toEqual(fillPolicy(policy, values));
  });

  it('the IAM policy variable survives CloudFormation: the case tag is compared with the session tag', () => {
    const doc = JSON.parse(resolveSub(load('collector-stackset.template.json').Resources.CollectorRole.Properties.Policies[0].PolicyDocument, collectorStack));
    expect(JSON.stringify(doc)).toContain('"aws:RequestTag/CaseId":"${aws:PrincipalTag/CaseId}"');
    expect(JSON.stringify(doc)).toContain('"aws:ResourceTag/IncidentCollectable":"yes"');
  });
});
