/**
 * Generates the CloudFormation templates in `infra/aws/` from the policies in `policies/aws/`.
 *
 * The policies are embedded verbatim: each `${Placeholder}` becomes a CloudFormation expression
 * inside `Fn::Sub` (a parameter, a pseudo parameter or a resource attribute), and each IAM policy
 * variable such as `${aws:PrincipalTag/CaseId}` is escaped as `${!aws:PrincipalTag/CaseId}` so
 * CloudFormation hands it to IAM unchanged. `test/infra/drift.test.ts` fails when the committed
 * templates differ from what this script generates.
 *
 * Run: `npm run generate:infra` (or `node --import tsx scripts/generate-infra.ts`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, placeholdersIn, readPolicyTemplate, type AwsPolicyName } from './policies.js';

export const INFRA_DIR = join(REPO_ROOT, 'infra', 'aws');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Template = { [key: string]: Json };

/** What each placeholder becomes inside `Fn::Sub`, per template. */
export type PlaceholderMapping = Record<string, string>;

export const COLLECTOR_MAPPING: PlaceholderMapping = {
  Partition: '${AWS::Partition}',
  AccountId: '${AWS::AccountId}',
  ForensicsAccountId: '${ForensicsAccountId}',
  OrchestratorRoleArn: 'arn:${AWS::Partition}:iam::${ForensicsAccountId}:role/${OrchestratorRoleName}',
  ExternalId: '${ExternalId}',
  CollectionTagKey: '${CollectionTagKey}',
  CollectionTagValue: '${CollectionTagValue}',
  CollectorRoleName: '${CollectorRoleName}',
};

export const FORENSICS_MAPPING: PlaceholderMapping = {
  Partition: '${AWS::Partition}',
  AccountId: '${AWS::AccountId}',
  ForensicsAccountId: '${AWS::AccountId}',
  OrganizationId: '${OrganizationId}',
  // A name, not `${OrchestratorRole.Arn}`: the key policy names the role and the role's policy
  // names the key, and a GetAtt both ways would be a circular dependency.
  OrchestratorRoleArn: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${OrchestratorRoleName}',
  CollectorRoleName: '${CollectorRoleName}',
  ForensicsKeyArn: '${ForensicsKey.Arn}',
  ResponderPrincipalArnPattern: '${ResponderPrincipalArnPattern}',
  EvidenceBucketArn: '${EvidenceBucket.Arn}',
};

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;
const IAM_VARIABLE = /\$\{([a-z0-9-]+:[^}]*)\}/g;

/**
 * A policy document as CloudFormation: its JSON text, minified, inside `Fn::Sub` with every
 * placeholder mapped. The text form (which IAM and KMS accept wherever they accept a document)
 * is what lets a placeholder stand in a condition key, such as
 * `aws:ResourceTag/${CollectionTagKey}`, where an object key could not hold `Fn::Sub`.
 * Throws if the policy uses a placeholder the template cannot fill.
 */
export function policyForTemplate(name: AwsPolicyName, mapping: PlaceholderMapping): Json {
  const policy = readPolicyTemplate(name);
  const unmapped = placeholdersIn(policy).filter((p) => !(p in mapping));
  if (unmapped.length > 0) throw new Error(`policies/aws/${name}.json uses placeholders this template cannot fill: ${unmapped.join(', ')}`);
  const text = JSON.stringify(policy)
    .replace(IAM_VARIABLE, (_, variable: string) => `\${!${variable}}`)
    .replace(PLACEHOLDER, (_, placeholder: string) => mapping[placeholder]!);
  return { 'Fn::Sub': text };
}

const RETAIN = { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' } as const;

/** The target-account template: collector role and shareable key; deployable as a service-managed StackSet. */
export function buildCollectorTemplate(): Template {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'cloud-custody collector for a target account: the least-privilege CloudCustodyCollector role (created once, in RoleRegion) and, in every region, the KMS key snapshots are re-encrypted with before they are shared with the forensics account. Generated from policies/aws by scripts/generate-infra.ts: do not edit.',
    Parameters: {
      ForensicsAccountId: {
        Type: 'String',
        AllowedPattern: '^\\d{12}$',
        Description: 'The forensics account: the only account snapshots may be shared with.',
      },
      OrchestratorRoleName: {
        Type: 'String',
        Default: 'CloudCustodyOrchestrator',
        Description: 'Name of the orchestrator role in the forensics account: the only principal that may assume the collector role.',
      },
      ExternalId: {
        Type: 'String',
        MinLength: 2,
        MaxLength: 1224,
        NoEcho: true,
        Description: 'External id the orchestrator must pass (config aws.externalId).',
      },
      CollectionTagKey: {
        Type: 'String',
        Default: 'ForensicsEnabled',
        Description: 'Tag key that marks instances and volumes as collectable (config aws.collectionTag.key).',
      },
      CollectionTagValue: {
        Type: 'String',
        Default: 'true',
        Description: 'Tag value that marks instances and volumes as collectable (config aws.collectionTag.value).',
      },
      CollectorRoleName: { Type: 'String', Default: 'CloudCustodyCollector', Description: 'Name of the collector role.' },
      RoleRegion: {
        Type: 'String',
        Default: 'us-east-1',
        Description: 'IAM is global: the role is created only by the stack instance in this region. Keys are regional and created in every region.',
      },
    },
    Conditions: {
      CreateRoleHere: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'RoleRegion' }] },
    },
    Resources: {
      CollectorRole: {
        Type: 'AWS::IAM::Role',
        Condition: 'CreateRoleHere',
        Properties: {
          RoleName: { Ref: 'CollectorRoleName' },
          Description: 'cloud-custody: collects evidence from instances and volumes tagged for collection, nothing else',
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: policyForTemplate('collector-trust-policy', COLLECTOR_MAPPING),
          Policies: [{ PolicyName: 'cloud-custody-collector', PolicyDocument: policyForTemplate('collector-policy', COLLECTOR_MAPPING) }],
          Tags: [{ Key: 'cloud-custody', Value: 'collector' }],
        },
      },
      ShareableKey: {
        Type: 'AWS::KMS::Key',
        ...RETAIN,
        Properties: {
          Description: 'cloud-custody: snapshots are re-encrypted with this key so they can be shared with the forensics account',
          EnableKeyRotation: true,
          KeyPolicy: policyForTemplate('shareable-kms-key-policy', COLLECTOR_MAPPING),
          Tags: [{ Key: 'cloud-custody', Value: 'shareable-key' }],
        },
      },
      ShareableKeyAlias: {
        Type: 'AWS::KMS::Alias',
        Properties: { AliasName: 'alias/cloud-custody-share', TargetKeyId: { Ref: 'ShareableKey' } },
      },
    },
    Outputs: {
      CollectorRoleArn: { Condition: 'CreateRoleHere', Value: { 'Fn::GetAtt': ['CollectorRole', 'Arn'] } },
      ShareableKeyArn: { Value: { 'Fn::GetAtt': ['ShareableKey', 'Arn'] } },
    },
  };
}

/** The forensics-account template: orchestrator role, forensics key, optional Object Lock evidence bucket. */
export function buildForensicsTemplate(): Template {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'cloud-custody forensics account: the orchestrator role, the KMS key evidence copies are kept under and, optionally, an S3 bucket for case folders with Object Lock in compliance mode. Generated from policies/aws by scripts/generate-infra.ts: do not edit.',
    Parameters: {
      OrganizationId: {
        Type: 'String',
        AllowedPattern: '^o-[a-z0-9]{10,32}$',
        Description: 'The AWS Organizations id: the orchestrator assumes collector roles and uses keys only in it.',
      },
      ResponderPrincipalArnPattern: {
        Type: 'String',
        Description:
          'ARN pattern of who may assume the orchestrator role, e.g. arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_IncidentResponder_*',
      },
      OrchestratorRoleName: { Type: 'String', Default: 'CloudCustodyOrchestrator', Description: 'Name of the orchestrator role.' },
      CollectorRoleName: {
        Type: 'String',
        Default: 'CloudCustodyCollector',
        Description: 'Name of the collector role in the target accounts (as in the StackSet).',
      },
      CreateEvidenceBucket: {
        Type: 'String',
        Default: 'false',
        AllowedValues: ['true', 'false'],
        Description: 'Create an S3 bucket for case folders, with Object Lock in compliance mode.',
      },
      EvidenceRetentionDays: {
        Type: 'Number',
        Default: 365,
        MinValue: 1,
        Description: 'Object Lock retention (compliance mode: nobody, not even the root user, can shorten it).',
      },
    },
    Conditions: {
      CreateBucket: { 'Fn::Equals': [{ Ref: 'CreateEvidenceBucket' }, 'true'] },
    },
    Resources: {
      OrchestratorRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: { Ref: 'OrchestratorRoleName' },
          Description: 'cloud-custody: assumes collector roles in the organisation and keeps evidence copies under the forensics key',
          MaxSessionDuration: 43200,
          AssumeRolePolicyDocument: policyForTemplate('orchestrator-trust-policy', FORENSICS_MAPPING),
          Policies: [
            { PolicyName: 'cloud-custody-orchestrator', PolicyDocument: policyForTemplate('orchestrator-policy', FORENSICS_MAPPING) },
            // The S3 permissions of the case copy exist only with the bucket: they name its ARN.
            {
              'Fn::If': [
                'CreateBucket',
                {
                  PolicyName: 'cloud-custody-evidence-bucket',
                  PolicyDocument: policyForTemplate('orchestrator-evidence-bucket-policy', FORENSICS_MAPPING),
                },
                { Ref: 'AWS::NoValue' },
              ],
            },
          ],
          Tags: [{ Key: 'cloud-custody', Value: 'orchestrator' }],
        },
      },
      ForensicsKey: {
        Type: 'AWS::KMS::Key',
        ...RETAIN,
        Properties: {
          Description: 'cloud-custody: evidence copies in the forensics account are encrypted with this key',
          EnableKeyRotation: true,
          KeyPolicy: policyForTemplate('forensics-kms-key-policy', FORENSICS_MAPPING),
          Tags: [{ Key: 'cloud-custody', Value: 'forensics-key' }],
        },
      },
      ForensicsKeyAlias: {
        Type: 'AWS::KMS::Alias',
        Properties: { AliasName: 'alias/cloud-custody-forensics', TargetKeyId: { Ref: 'ForensicsKey' } },
      },
      EvidenceBucket: {
        Type: 'AWS::S3::Bucket',
        Condition: 'CreateBucket',
        ...RETAIN,
        Properties: {
          ObjectLockEnabled: true,
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: { Ref: 'EvidenceRetentionDays' } } },
          },
          VersioningConfiguration: { Status: 'Enabled' },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': ['ForensicsKey', 'Arn'] } },
                BucketKeyEnabled: true,
              },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          Tags: [{ Key: 'cloud-custody', Value: 'evidence' }],
        },
      },
      EvidenceBucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Condition: 'CreateBucket',
        Properties: {
          Bucket: { Ref: 'EvidenceBucket' },
          PolicyDocument: policyForTemplate('evidence-bucket-policy', FORENSICS_MAPPING),
        },
      },
    },
    Outputs: {
      OrchestratorRoleArn: { Value: { 'Fn::GetAtt': ['OrchestratorRole', 'Arn'] } },
      ForensicsKeyArn: {
        Description: 'Config aws.kms.forensicsKey',
        Value: { 'Fn::GetAtt': ['ForensicsKey', 'Arn'] },
      },
      EvidenceBucketName: { Condition: 'CreateBucket', Value: { Ref: 'EvidenceBucket' } },
    },
  };
}

/** Every generated file, by its name in `infra/aws/`. */
export const INFRA_TEMPLATES: Record<string, () => Template> = {
  'collector-stackset.template.json': buildCollectorTemplate,
  'forensics-account.template.json': buildForensicsTemplate,
};

/** The exact text a template file must have. */
export function renderTemplate(template: Template): string {
  return `${JSON.stringify(template, null, 2)}\n`;
}

function main(): void {
  for (const [file, build] of Object.entries(INFRA_TEMPLATES)) {
    writeFileSync(join(INFRA_DIR, file), renderTemplate(build()));
    console.log(`wrote infra/aws/${file}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
