/**
 * Test helper: turns the provider's declared permission needs (`AWS_OPERATIONS`) into concrete
 * requests for the simulator — the request a tagged target's collection would make.
 *
 * The declaration says what the request carries (request tags, `ec2:Add/userId`, …). What the
 * declaration cannot know are facts about the world, which this helper adds and names:
 * - who calls: the collector role session (tagged `CaseId`, with the analyst as source identity)
 *   in the target account, or the orchestrator role session in the forensics account;
 * - the target is tagged for collection: its instance and volumes carry the collection tag;
 * - existing snapshots of the case carry `CaseId`; a snapshot shared into the forensics account
 *   is owned by the target account; roles and keys belong to the organisation;
 * - what the STS request itself carries: source identity, session name, external id.
 */
import type { PermissionNeed } from '../../src/core/ports.js';
import { AWS_OPERATIONS, fillPlaceholders, type AwsOperation, type PlanValues } from '../../src/providers/aws/operations.js';
import { collectorRoleArn, evidenceBucketName, orchestratorRoleArn, type PolicyWorld, type SimRequest } from './iam-simulator.js';

export const TARGET_ACCOUNT = '222222222222';
export const REGION = 'us-east-1';
export const CASE_ID = 'IR-2026-0042';
export const ANALYST = 'alice@example.com';
export const SHAREABLE_KEY_ID = '5a5a5a5a-aaaa-bbbb-cccc-dddddddddddd';

export interface OperationRequest {
  operation: string;
  need: PermissionNeed;
  request: SimRequest;
}

export function collectorSession(world: PolicyWorld, account = TARGET_ACCOUNT, caseId = CASE_ID): string {
  return `arn:${world.partition}:sts::${account}:assumed-role/${world.collectorRoleName}/custody-${caseId}`;
}

export function orchestratorSession(world: PolicyWorld): string {
  return `arn:${world.partition}:sts::${world.forensicsAccount}:assumed-role/${world.orchestratorRoleName}/${ANALYST}`;
}

/** What the collector session carries: the case id as a session tag, the analyst as source identity. */
export function collectorSessionContext(world: PolicyWorld, account = TARGET_ACCOUNT, caseId = CASE_ID) {
  return {
    'aws:PrincipalArn': collectorRoleArn(world, account),
    'aws:PrincipalTag/CaseId': caseId,
    'aws:SourceIdentity': ANALYST,
  };
}

/** What an AssumeRole into the collector role carries (see `assumeCollectorRole` in the provider). */
export function assumeRoleContext(world: PolicyWorld, caseId = CASE_ID): Record<string, string | string[]> {
  return {
    'sts:SourceIdentity': ANALYST,
    'sts:RoleSessionName': `custody-${caseId}`,
    'sts:ExternalId': world.externalId,
    'aws:RequestTag/CaseId': caseId,
    'aws:TagKeys': ['CaseId'],
    'aws:ResourceOrgID': world.organizationId,
  };
}

const CONCRETE_IDS: Array<[RegExp, string]> = [
  [/instance\/\*$/, 'instance/i-0aa11bb22cc33dd44'],
  [/volume\/\*$/, 'volume/vol-0aa11bb22cc33dd44'],
  [/snapshot\/\*$/, 'snapshot/snap-0aa11bb22cc33dd44'],
];

function concreteResource(arn: string, world: PolicyWorld, forensicsSide: boolean, targetKey: boolean): string {
  if (arn === '*') return arn;
  if (/:key\/\*$/.test(arn)) {
    // The forensics side's own key is the configured forensics key; a target account's is its shareable key.
    return forensicsSide && !targetKey ? world.forensicsKeyArn : arn.replace(/key\/\*$/, `key/${SHAREABLE_KEY_ID}`);
  }
  // An object of the case in the evidence bucket.
  if (/^arn:[^:]+:s3:::/.test(arn)) return arn.replace(/\/\*$/, '/evidence/ev-1/console-output.txt');
  for (const [pattern, id] of CONCRETE_IDS) if (pattern.test(arn)) return arn.replace(pattern, id);
  return arn;
}

function concreteContext(context: PermissionNeed['context']): Record<string, string | string[]> {
  // A declared value of `*` means "whatever this request carries": give it a real one.
  return Object.fromEntries(
    Object.entries(context ?? {}).map(([key, value]) => [key, value === '*' ? `${key.split('/').pop()}-value` : value]),
  );
}

function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account === undefined || account === '' ? undefined : account;
}

/** The concrete request for one declared need of one operation. */
export function requestFor(world: PolicyWorld, operation: string, op: AwsOperation, need: PermissionNeed): SimRequest {
  const forensicsSide = op.account === 'forensics';
  const values: PlanValues = {
    partition: world.partition,
    region: REGION,
    account: forensicsSide ? world.forensicsAccount : TARGET_ACCOUNT,
    targetAccount: TARGET_ACCOUNT,
    forensicsAccount: world.forensicsAccount,
    caseId: CASE_ID,
    analyst: ANALYST,
    collectionTagValue: world.collectionTag.value,
    evidenceBucket: evidenceBucketName(world),
    evidencePrefix: 'cases/',
    retentionMode: 'COMPLIANCE',
    retentionDays: 365,
  };
  const filledResource = fillPlaceholders(need.resource, values);
  const filledContext = Object.fromEntries(
    Object.entries(need.context ?? {}).map(([k, v]) => [
      fillPlaceholders(k, values),
      Array.isArray(v) ? v.map((x) => fillPlaceholders(x, values)) : fillPlaceholders(v as string, values),
    ]),
  );
  const targetKey = forensicsSide && accountOfArn(filledResource) === TARGET_ACCOUNT;
  const resource = concreteResource(filledResource, world, forensicsSide, targetKey);
  const createsResource = Object.keys(filledContext).some((k) => k.startsWith('aws:RequestTag/'));

  const facts: Record<string, string | string[]> = {};
  if (/:(instance|volume)\//.test(resource)) facts[`aws:ResourceTag/${world.collectionTag.key}`] = world.collectionTag.value;
  if (/:snapshot\//.test(resource) && !createsResource) {
    facts['aws:ResourceTag/CaseId'] = CASE_ID;
    const sharedIn = forensicsSide && need.action === 'ec2:CopySnapshot';
    facts['ec2:Owner'] = sharedIn || !forensicsSide ? TARGET_ACCOUNT : world.forensicsAccount;
    facts['aws:ResourceOrgID'] = world.organizationId;
  }
  if (/:key\//.test(resource) || /:role\//.test(resource)) facts['aws:ResourceOrgID'] = world.organizationId;
  // The product talks to S3 over TLS (the SDK's https endpoint); the bucket policy denies anything else.
  if (need.action.startsWith('s3:')) facts['aws:SecureTransport'] = 'true';

  const principal = forensicsSide ? orchestratorSession(world) : collectorSession(world);
  const principalContext = forensicsSide ? { 'aws:PrincipalArn': orchestratorRoleArn(world) } : collectorSessionContext(world);
  const stsContext = need.action.startsWith('sts:') ? assumeRoleContext(world) : {};
  const sharedSource = forensicsSide && need.action === 'ec2:CopySnapshot' && !createsResource;
  const callerAccount = forensicsSide ? world.forensicsAccount : TARGET_ACCOUNT;
  // Snapshot ARNs carry no account: a snapshot belongs to the caller, except the shared source of a copy.
  const resourceAccount = accountOfArn(resource) ?? (sharedSource ? TARGET_ACCOUNT : callerAccount);

  return {
    principal,
    action: need.action,
    resource,
    resourceAccount,
    ...(sharedSource ? { snapshotSharedWith: [world.forensicsAccount] } : {}),
    context: { ...principalContext, ...facts, ...stsContext, ...concreteContext(filledContext) },
  };
}

/** Every declared need of every operation, as a concrete request. */
export function declaredRequests(world: PolicyWorld): OperationRequest[] {
  const out: OperationRequest[] = [];
  for (const [name, op] of Object.entries(AWS_OPERATIONS) as Array<[string, AwsOperation]>) {
    for (const need of op.permissions) out.push({ operation: name, need, request: requestFor(world, name, op, need) });
  }
  return out;
}
