/**
 * The proof that the shipped AWS policies are least privilege, judged by an independent IAM
 * simulator: every call the provider declares is allowed for a tagged target, nothing the
 * policies allow goes unused, and everything in the deny matrix is refused.
 */
import { describe, expect, it } from 'vitest';
import { AWS_OPERATIONS, type AwsOperation } from '../../src/providers/aws/operations.js';
import { readPolicyTemplate, type PolicyDocument } from '../../scripts/policies.js';
import { collectorRoleArn, defaultWorld, evidenceBucketName, orchestratorRoleArn, simulateRequest, type SimRequest, type SimVerdict } from './iam-simulator.js';
import {
  ANALYST,
  CASE_ID,
  REGION,
  SHAREABLE_KEY_ID,
  TARGET_ACCOUNT,
  assumeRoleContext,
  collectorSession,
  collectorSessionContext,
  declaredRequests,
  orchestratorSession,
} from './operation-requests.js';
import { providerSource } from './provider-source.js';

const world = defaultWorld();
const F = world.forensicsAccount;
const T = TARGET_ACCOUNT;
const OTHER = '333333333333';
const tagKey = world.collectionTag.key;
const instance = (id = 'i-0aa11bb22cc33dd44', account = T) => `arn:aws:ec2:${REGION}:${account}:instance/${id}`;
const volume = (id = 'vol-0aa11bb22cc33dd44', account = T) => `arn:aws:ec2:${REGION}:${account}:volume/${id}`;
const snapshot = (id = 'snap-0aa11bb22cc33dd44') => `arn:aws:ec2:${REGION}::snapshot/${id}`;
const shareableKey = `arn:aws:kms:${REGION}:${T}:key/${SHAREABLE_KEY_ID}`;
const ALLOW_EVERYTHING: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

const collector = collectorSession(world);
const orchestrator = orchestratorSession(world);
const session = collectorSessionContext(world);
const tagged = { [`aws:ResourceTag/${tagKey}`]: 'true' };
const caseTags = { 'aws:RequestTag/CaseId': CASE_ID, 'aws:RequestTag/EvidenceId': 'ev-1', 'aws:TagKeys': ['CaseId', 'EvidenceId'] };
const copyTags = {
  'aws:RequestTag/CaseId': CASE_ID,
  'aws:RequestTag/EvidenceId': 'ev-1',
  'aws:RequestTag/SourceSnapshotId': 'snap-0aa11bb22cc33dd44',
  'aws:TagKeys': ['CaseId', 'EvidenceId', 'SourceSnapshotId'],
};
const caseSnapshot = { 'aws:ResourceTag/CaseId': CASE_ID, 'ec2:Owner': T };
const viaEc2 = { 'kms:ViaService': `ec2.${REGION}.amazonaws.com`, 'aws:ResourceOrgID': world.organizationId };

const declared = declaredRequests(world);
const EVIDENCE_BUCKET_ARN = `arn:aws:s3:::${evidenceBucketName(world)}`;
const evidenceObject = `${EVIDENCE_BUCKET_ARN}/cases/${CASE_ID}/evidence/ev-1/console-output.txt`;
const overTls = { 'aws:SecureTransport': 'true' };

describe('every AWS call the provider declares is allowed for a tagged target', () => {
  it('the provider declares operations for both sides (target and forensics account)', () => {
    const sides = new Set((Object.values(AWS_OPERATIONS) as AwsOperation[]).map((op) => op.account));
    expect([...sides].sort()).toEqual(['forensics', 'target']);
    expect(declared.length).toBeGreaterThan(20);
  });

  it.each(declared.map((d) => [`${d.operation}: ${d.need.action} on ${d.request.resource}`, d] as const))(
    '%s',
    async (_name, { request }) => {
      const verdict = await simulateRequest(world, request);
      expect(verdict.result, verdict.reason).toBe('Allowed');
    },
  );
});

describe('AWS operations are all made by the code', () => {
  it('every declared operation is named by the provider where it calls AWS (callAws, a scope\'s ec2/kms/ebs, a waiter or reader given the operation)', () => {
    // "Nothing unused" above is against AWS_OPERATIONS; this holds AWS_OPERATIONS to the code, so a
    // declaration (and the grant it justifies) cannot outlive the call it was made for.
    const source = providerSource('aws');
    const unused = Object.keys(AWS_OPERATIONS).filter((name) => !source.includes(`'${name}'`));
    expect(unused).toEqual([]);
  });
});

describe('nothing the policies allow goes unused', () => {
  const actionsOf = (doc: PolicyDocument) =>
    new Set(doc.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
  const declaredActions = (side: 'target' | 'forensics') =>
    new Set(
      (Object.values(AWS_OPERATIONS) as AwsOperation[]).filter((op) => op.account === side).flatMap((op) => op.permissions.map((p) => p.action)),
    );

  it('every action the collector policy allows is declared by a target-account operation', () => {
    const unused = [...actionsOf(readPolicyTemplate('collector-policy'))].filter((a) => !declaredActions('target').has(a));
    expect(unused).toEqual([]);
  });

  it('every action the orchestrator policies allow is declared by a forensics-account operation', () => {
    for (const name of ['orchestrator-policy', 'orchestrator-evidence-bucket-policy'] as const) {
      const unused = [...actionsOf(readPolicyTemplate(name))].filter((a) => !declaredActions('forensics').has(a));
      expect(unused, name).toEqual([]);
    }
  });

  it('every Allow statement of the collector and orchestrator policies (and the collector trust policy) grants some declared call', async () => {
    const used = new Set<string>();
    for (const { request } of declared) for (const s of (await simulateRequest(world, request)).allowedBy) used.add(s);
    const statements = (name: 'collector-policy' | 'orchestrator-policy' | 'orchestrator-evidence-bucket-policy' | 'collector-trust-policy') =>
      readPolicyTemplate(name).Statement.filter((s) => s.Effect === 'Allow').map((s) => `${name}#${s.Sid}`);
    const unused = [
      ...statements('collector-policy'),
      ...statements('orchestrator-policy'),
      ...statements('orchestrator-evidence-bucket-policy'),
      ...statements('collector-trust-policy'),
    ].filter((s) => !used.has(s));
    expect(unused).toEqual([]);
  });

  it('every action the key policies allow the orchestrator is declared by a forensics-account operation', () => {
    // A target account's key policy is its only say over what the forensics account does with its key.
    for (const name of ['shareable-kms-key-policy', 'forensics-kms-key-policy'] as const) {
      const toOrchestrator = readPolicyTemplate(name).Statement.filter(
        (s) => s.Effect === 'Allow' && s.Condition?.ArnEquals?.['aws:PrincipalArn'] === '${OrchestratorRoleArn}',
      );
      expect(toOrchestrator.length, name).toBeGreaterThan(0);
      const unused = [...actionsOf({ ...readPolicyTemplate(name), Statement: toOrchestrator })].filter((a) => !declaredActions('forensics').has(a));
      expect(unused, name).toEqual([]);
    }
  });

  it('no policy grants a wildcard action', () => {
    for (const name of ['collector-policy', 'orchestrator-policy', 'orchestrator-evidence-bucket-policy', 'collector-trust-policy'] as const) {
      expect([...actionsOf(readPolicyTemplate(name))].filter((a) => a.includes('*')), name).toEqual([]);
    }
  });
});

type DenyCase = [string, SimRequest, SimVerdict['result']?];
const asCollector = (action: string, resource: string, context: Record<string, string | string[]> = {}, resourceAccount = T): SimRequest => ({
  principal: collector,
  action,
  resource,
  resourceAccount,
  context: { ...session, ...context },
});
const asOrchestrator = (action: string, resource: string, context: Record<string, string | string[]> = {}, resourceAccount = F): SimRequest => ({
  principal: orchestrator,
  action,
  resource,
  resourceAccount,
  context: { 'aws:PrincipalArn': `arn:aws:iam::${F}:role/${world.orchestratorRoleName}`, ...context },
});

const collectorDenials: DenyCase[] = [
  ['reading the console of an untagged instance', asCollector('ec2:GetConsoleOutput', instance())],
  ['screenshotting an untagged instance', asCollector('ec2:GetConsoleScreenshot', instance())],
  ['snapshotting an untagged instance', asCollector('ec2:CreateSnapshots', instance())],
  ['snapshotting an instance tagged ForensicsEnabled=false', asCollector('ec2:CreateSnapshots', instance(), { [`aws:ResourceTag/${tagKey}`]: 'false' })],
  ['snapshotting an untagged volume of a tagged instance', asCollector('ec2:CreateSnapshots', volume())],
  ['snapshotting an untagged volume on its own', asCollector('ec2:CreateSnapshot', volume())],
  ['preserving (ModifyInstanceAttribute) an untagged instance', asCollector('ec2:ModifyInstanceAttribute', instance())],
  ['reading the attributes (DescribeInstanceAttribute, e.g. its user data) of an untagged instance', asCollector('ec2:DescribeInstanceAttribute', instance())],
  [
    'reading the attributes of an instance tagged ForensicsEnabled=false',
    asCollector('ec2:DescribeInstanceAttribute', instance(), { [`aws:ResourceTag/${tagKey}`]: 'false' }),
  ],
  ['creating snapshots without the case tags', asCollector('ec2:CreateSnapshots', snapshot())],
  [
    'creating snapshots tagged with another case',
    asCollector('ec2:CreateSnapshots', snapshot(), { ...caseTags, 'aws:RequestTag/CaseId': 'IR-OTHER' }),
  ],
  ['creating snapshots without an evidence id', asCollector('ec2:CreateSnapshots', snapshot(), { 'aws:RequestTag/CaseId': CASE_ID, 'aws:TagKeys': ['CaseId'] })],
  [
    'creating snapshots with extra tags',
    asCollector('ec2:CreateSnapshots', snapshot(), { ...caseTags, 'aws:RequestTag/Owner': 'x', 'aws:TagKeys': ['CaseId', 'EvidenceId', 'Owner'] }),
  ],
  ['retagging an existing snapshot (CreateTags outside creation)', asCollector('ec2:CreateTags', snapshot(), { ...caseTags, ...caseSnapshot })],
  [
    'tagging a new snapshot with another case while creating it',
    asCollector('ec2:CreateTags', snapshot('snap-0new'), { ...caseTags, 'aws:RequestTag/CaseId': 'IR-OTHER', 'ec2:CreateAction': 'CreateSnapshots' }),
  ],
  ['copying a snapshot of another case', asCollector('ec2:CopySnapshot', snapshot(), { 'aws:ResourceTag/CaseId': 'IR-OTHER' })],
  ['copying an untagged snapshot', asCollector('ec2:CopySnapshot', snapshot())],
  ['making a copy without the case tags', asCollector('ec2:CopySnapshot', snapshot('snap-0new'), { 'aws:RequestTag/CaseId': CASE_ID, 'aws:TagKeys': ['CaseId'] })],
  ['sharing a case snapshot with another account', asCollector('ec2:ModifySnapshotAttribute', snapshot(), { ...caseSnapshot, 'ec2:Add/userId': OTHER })],
  ['making a case snapshot public', asCollector('ec2:ModifySnapshotAttribute', snapshot(), { ...caseSnapshot, 'ec2:Add/group': 'all' })],
  [
    'making a case snapshot public while sharing it with the forensics account',
    asCollector('ec2:ModifySnapshotAttribute', snapshot(), { ...caseSnapshot, 'ec2:Add/userId': F, 'ec2:Add/group': 'all' }),
  ],
  ['sharing a snapshot of another case with the forensics account', asCollector('ec2:ModifySnapshotAttribute', snapshot(), { 'aws:ResourceTag/CaseId': 'IR-OTHER', 'ec2:Add/userId': F })],
  ['sharing an untagged snapshot with the forensics account', asCollector('ec2:ModifySnapshotAttribute', snapshot(), { 'ec2:Add/userId': F })],
  ['reading who may use (DescribeSnapshotAttribute) a snapshot of another case', asCollector('ec2:DescribeSnapshotAttribute', snapshot(), { 'aws:ResourceTag/CaseId': 'IR-OTHER', 'ec2:Owner': T })],
  ['reading who may use (DescribeSnapshotAttribute) a snapshot without a case tag', asCollector('ec2:DescribeSnapshotAttribute', snapshot(), { 'ec2:Owner': T })],
  ['deleting a case snapshot', asCollector('ec2:DeleteSnapshot', snapshot(), caseSnapshot)],
  ['deleting a tagged volume', asCollector('ec2:DeleteVolume', volume(), tagged)],
  ['detaching a tagged volume', asCollector('ec2:DetachVolume', volume(), tagged)],
  ['creating a volume from a case snapshot (reading the data)', asCollector('ec2:CreateVolume', snapshot(), caseSnapshot)],
  ['terminating a tagged instance', asCollector('ec2:TerminateInstances', instance(), tagged)],
  ['stopping a tagged instance', asCollector('ec2:StopInstances', instance(), tagged)],
  ['tagging a tagged instance', asCollector('ec2:CreateTags', instance(), { ...tagged, 'aws:RequestTag/Owner': 'x', 'aws:TagKeys': ['Owner'] })],
  ['tagging a tagged volume', asCollector('ec2:CreateTags', volume(), { ...tagged, 'aws:RequestTag/Owner': 'x', 'aws:TagKeys': ['Owner'] })],
  ['removing the collection tag from an instance', asCollector('ec2:DeleteTags', instance(), { ...tagged, 'aws:TagKeys': [tagKey] })],
  ['removing tags from a volume', asCollector('ec2:DeleteTags', volume(), { ...tagged, 'aws:TagKeys': [tagKey] })],
  ['creating an IAM user', asCollector('iam:CreateUser', `arn:aws:iam::${T}:user/backdoor`)],
  ['attaching a policy to its own role', asCollector('iam:AttachRolePolicy', collectorRoleArn(world, T))],
  ['passing a role', asCollector('iam:PassRole', `arn:aws:iam::${T}:role/Admin`)],
  ['reading an S3 object', asCollector('s3:GetObject', 'arn:aws:s3:::payroll/2026.csv')],
  ['running a command on the instance through SSM', asCollector('ssm:SendCommand', instance(), tagged)],
  ['reading the blocks of another case\'s snapshot (EBS direct APIs)', asCollector('ebs:GetSnapshotBlock', snapshot(), { 'aws:ResourceTag/CaseId': 'IR-OTHER' })],
  ['listing the blocks of another case\'s snapshot', asCollector('ebs:ListSnapshotBlocks', snapshot(), { 'aws:ResourceTag/CaseId': 'IR-OTHER' })],
  ['reading the blocks of an untagged snapshot', asCollector('ebs:GetSnapshotBlock', snapshot())],
  ['comparing blocks of two snapshots (ListChangedBlocks, never called)', asCollector('ebs:ListChangedBlocks', snapshot(), caseSnapshot)],
  ['writing blocks into a snapshot (PutSnapshotBlock)', asCollector('ebs:PutSnapshotBlock', snapshot(), caseSnapshot)],
  ['starting a snapshot through the EBS direct APIs', asCollector('ebs:StartSnapshot', snapshot('snap-0new'), { 'aws:RequestTag/CaseId': CASE_ID, 'aws:TagKeys': ['CaseId'] })],
  ['decrypting with a key of this account other than through EC2 or EBS', asCollector('kms:Decrypt', shareableKey, { 'kms:ViaService': `s3.${REGION}.amazonaws.com` })],
  ['assuming a role onward in its own account', asCollector('sts:AssumeRole', `arn:aws:iam::${T}:role/Admin`)],
  ['assuming the collector role of another account onward', asCollector('sts:AssumeRole', collectorRoleArn(world, OTHER), {}, OTHER)],
  ['decrypting with the shareable key directly (not through EC2)', asCollector('kms:Decrypt', shareableKey)],
  ['letting anyone but an AWS service hold a grant on a key', asCollector('kms:CreateGrant', shareableKey, { 'kms:ViaService': `ec2.${REGION}.amazonaws.com` })],
  ['describing a key of another account', asCollector('kms:DescribeKey', `arn:aws:kms:${REGION}:${OTHER}:key/${SHAREABLE_KEY_ID}`, {}, OTHER)],
];

const orchestratorDenials: DenyCase[] = [
  [
    'assuming a collector role outside the organisation',
    asOrchestrator('sts:AssumeRole', `arn:aws:iam::444444444444:role/${world.collectorRoleName}`, { ...assumeRoleContext(world), 'aws:ResourceOrgID': 'o-elsewhere' }, '444444444444'),
  ],
  [
    'assuming an administrator role in a target account',
    asOrchestrator('sts:AssumeRole', `arn:aws:iam::${T}:role/OrganizationAccountAccessRole`, assumeRoleContext(world), T),
  ],
  [
    'tagging the collector session with more than the case id',
    asOrchestrator(
      'sts:TagSession',
      collectorRoleArn(world, T),
      { ...assumeRoleContext(world), 'aws:RequestTag/Team': 'x', 'aws:TagKeys': ['CaseId', 'Team'] },
      T,
    ),
  ],
  ['copying into the forensics account without the case tags', asOrchestrator('ec2:CopySnapshot', snapshot('snap-0copy'))],
  [
    'copying a snapshot shared from an account outside the organisation',
    {
      ...asOrchestrator('ec2:CopySnapshot', snapshot(), { 'ec2:Owner': '444444444444', 'aws:ResourceOrgID': 'o-elsewhere' }, '444444444444'),
      snapshotSharedWith: [F],
    },
  ],
  [
    'copying one of its own snapshots (copies are made only from what a target account shared)',
    asOrchestrator('ec2:CopySnapshot', snapshot('snap-0copy'), { 'ec2:Owner': F, 'aws:ResourceOrgID': world.organizationId, 'aws:ResourceTag/CaseId': CASE_ID }),
  ],
  [
    'retagging an evidence copy (CreateTags outside a copy)',
    asOrchestrator('ec2:CreateTags', snapshot('snap-0copy'), { 'aws:ResourceTag/CaseId': CASE_ID, 'aws:RequestTag/CaseId': 'IR-OTHER', 'aws:TagKeys': ['CaseId'] }),
  ],
  ['locking a snapshot that is not evidence', asOrchestrator('ec2:LockSnapshot', snapshot('snap-0mine'), { 'ec2:Owner': F })],
  ['deleting an evidence copy', asOrchestrator('ec2:DeleteSnapshot', snapshot('snap-0copy'), { 'aws:ResourceTag/CaseId': CASE_ID })],
  [
    'sharing an evidence copy out of the forensics account',
    asOrchestrator('ec2:ModifySnapshotAttribute', snapshot('snap-0copy'), { 'aws:ResourceTag/CaseId': CASE_ID, 'ec2:Add/userId': OTHER }),
  ],
  [
    'decrypting with a key outside the organisation',
    asOrchestrator('kms:Decrypt', `arn:aws:kms:${REGION}:444444444444:key/${SHAREABLE_KEY_ID}`, { ...viaEc2, 'aws:ResourceOrgID': 'o-elsewhere' }, '444444444444'),
  ],
  ['decrypting with a target account key directly (not through EC2)', asOrchestrator('kms:Decrypt', shareableKey, { 'aws:ResourceOrgID': world.organizationId }, T)],
  ['decrypting with the forensics key directly', asOrchestrator('kms:Decrypt', world.forensicsKeyArn)],
  [
    'decrypting with the shareable key directly, even with every IAM permission (the target account\'s key policy alone refuses)',
    {
      ...asOrchestrator('kms:Decrypt', shareableKey, { 'aws:PrincipalArn': orchestratorRoleArn(world), 'aws:ResourceOrgID': world.organizationId }, T),
      identityPolicy: ALLOW_EVERYTHING,
    },
  ],
  ['unlocking an evidence copy', asOrchestrator('ec2:UnlockSnapshot', snapshot('snap-0copy'), { 'aws:ResourceTag/CaseId': CASE_ID })],
  ['scheduling the deletion of the forensics key', asOrchestrator('kms:ScheduleKeyDeletion', world.forensicsKeyArn)],
  ['reading the blocks of a snapshot that is not evidence (EBS direct APIs)', asOrchestrator('ebs:GetSnapshotBlock', snapshot('snap-0mine'), { 'ec2:Owner': F })],
  ['listing the blocks of a snapshot that is not evidence', asOrchestrator('ebs:ListSnapshotBlocks', snapshot('snap-0mine'), { 'ec2:Owner': F })],
  ['writing blocks into an evidence copy (PutSnapshotBlock)', asOrchestrator('ebs:PutSnapshotBlock', snapshot('snap-0copy'), { 'aws:ResourceTag/CaseId': CASE_ID })],
  ['decrypting with the forensics key through another service than EC2 or EBS', asOrchestrator('kms:Decrypt', world.forensicsKeyArn, { 'kms:ViaService': `s3.${REGION}.amazonaws.com` })],
  ['reading an S3 object', asOrchestrator('s3:GetObject', 'arn:aws:s3:::payroll/2026.csv')],
  ['creating an IAM role', asOrchestrator('iam:CreateRole', `arn:aws:iam::${F}:role/x`)],
  ['writing a case object into another bucket', asOrchestrator('s3:PutObject', `arn:aws:s3:::exfil-bucket/${CASE_ID}/ledger.jsonl`, overTls)],
  ['reading another bucket', asOrchestrator('s3:GetObjectVersion', `arn:aws:s3:::exfil-bucket/${CASE_ID}/ledger.jsonl`, overTls)],
  ['listing the evidence bucket (nothing the copy calls needs it)', asOrchestrator('s3:ListBucket', EVIDENCE_BUCKET_ARN, overTls)],
  ['deleting an evidence object', asOrchestrator('s3:DeleteObject', evidenceObject, overTls), 'ExplicitlyDenied'],
  ['deleting an evidence object version', asOrchestrator('s3:DeleteObjectVersion', evidenceObject, overTls), 'ExplicitlyDenied'],
  ['bypassing a governance retention', asOrchestrator('s3:BypassGovernanceRetention', evidenceObject, overTls), 'ExplicitlyDenied'],
  [
    'shortening a retention to less than a day (PutObjectRetention)',
    asOrchestrator('s3:PutObjectRetention', evidenceObject, { ...overTls, 's3:object-lock-mode': 'COMPLIANCE', 's3:object-lock-remaining-retention-days': '0' }),
  ],
  ['setting a retention without a mode', asOrchestrator('s3:PutObjectRetention', evidenceObject, overTls)],
  ['changing the bucket’s Object Lock configuration', asOrchestrator('s3:PutBucketObjectLockConfiguration', EVIDENCE_BUCKET_ARN, overTls)],
  ['changing the evidence bucket’s policy', asOrchestrator('s3:PutBucketPolicy', EVIDENCE_BUCKET_ARN, overTls)],
  [
    'writing a case object over plain HTTP',
    asOrchestrator('s3:PutObject', evidenceObject, { 'aws:SecureTransport': 'false' }),
    'ExplicitlyDenied',
  ],
  [
    'another account writing into the evidence bucket, even with every IAM permission',
    {
      principal: `arn:aws:sts::${OTHER}:assumed-role/Administrator/mallory`,
      action: 's3:PutObject',
      resource: evidenceObject,
      resourceAccount: F,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${OTHER}:role/Administrator`, ...overTls },
    },
    'ExplicitlyDenied',
  ],
  [
    'an administrator of the forensics account deleting an evidence version',
    {
      principal: `arn:aws:sts::${F}:assumed-role/Administrator/mallory`,
      action: 's3:DeleteObjectVersion',
      resource: evidenceObject,
      resourceAccount: F,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${F}:role/Administrator`, ...overTls },
    },
    'ExplicitlyDenied',
  ],
];

const trustDenials: DenyCase[] = [
  [
    'assuming the collector role without a source identity',
    asOrchestrator('sts:AssumeRole', collectorRoleArn(world, T), withoutKey(assumeRoleContext(world), 'sts:SourceIdentity'), T),
  ],
  [
    'assuming the collector role without the external id',
    asOrchestrator('sts:AssumeRole', collectorRoleArn(world, T), withoutKey(assumeRoleContext(world), 'sts:ExternalId'), T),
  ],
  [
    'assuming the collector role with a wrong external id',
    asOrchestrator('sts:AssumeRole', collectorRoleArn(world, T), { ...assumeRoleContext(world), 'sts:ExternalId': 'guess' }, T),
  ],
  [
    'assuming the collector role with a session name that does not carry the case',
    asOrchestrator('sts:AssumeRole', collectorRoleArn(world, T), { ...assumeRoleContext(world), 'sts:RoleSessionName': 'maintenance' }, T),
  ],
  [
    'another role of the forensics account (even an administrator) assuming the collector role',
    {
      principal: `arn:aws:sts::${F}:assumed-role/Administrator/mallory`,
      action: 'sts:AssumeRole',
      resource: collectorRoleArn(world, T),
      resourceAccount: T,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${F}:role/Administrator`, ...assumeRoleContext(world) },
    },
  ],
  [
    'the orchestrator tagging the collector session with more than the case id, even with every IAM permission (the trust policy alone refuses)',
    {
      principal: orchestrator,
      action: 'sts:TagSession',
      resource: collectorRoleArn(world, T),
      resourceAccount: T,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': orchestratorRoleArn(world), ...assumeRoleContext(world), 'aws:RequestTag/Team': 'x', 'aws:TagKeys': ['CaseId', 'Team'] },
    },
  ],
  [
    'another role of the forensics account (even an administrator) assuming the orchestrator role',
    {
      principal: `arn:aws:sts::${F}:assumed-role/Administrator/mallory`,
      action: 'sts:AssumeRole',
      resource: orchestratorRoleArn(world),
      resourceAccount: F,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${F}:role/Administrator` },
    },
  ],
  [
    'a role in the target account assuming the collector role',
    {
      principal: `arn:aws:sts::${T}:assumed-role/Administrator/mallory`,
      action: 'sts:AssumeRole',
      resource: collectorRoleArn(world, T),
      resourceAccount: T,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${T}:role/Administrator`, ...assumeRoleContext(world) },
    },
  ],
  [
    'a role of the same name in another account assuming the collector role',
    {
      principal: `arn:aws:sts::${OTHER}:assumed-role/${world.orchestratorRoleName}/mallory`,
      action: 'sts:AssumeRole',
      resource: collectorRoleArn(world, T),
      resourceAccount: T,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${OTHER}:role/${world.orchestratorRoleName}`, ...assumeRoleContext(world) },
    },
  ],
];

const workloadAdmin = (action: string, resource: string, context: Record<string, string | string[]>): SimRequest => ({
  principal: `arn:aws:sts::${T}:assumed-role/WorkloadAdmin/bob`,
  action,
  resource,
  resourceAccount: T,
  identityPolicy: ALLOW_EVERYTHING,
  context: { 'aws:PrincipalArn': `arn:aws:iam::${T}:role/WorkloadAdmin`, ...context },
});
const scpDenials: DenyCase[] = [
  [
    'a workload administrator flipping the collection tag to false',
    workloadAdmin('ec2:CreateTags', instance(), { ...tagged, [`aws:RequestTag/${tagKey}`]: 'false', 'aws:TagKeys': [tagKey] }),
    'ExplicitlyDenied',
  ],
  [
    'a workload administrator removing the collection tag',
    workloadAdmin('ec2:DeleteTags', instance(), { ...tagged, 'aws:TagKeys': [tagKey] }),
    'ExplicitlyDenied',
  ],
  [
    'a workload administrator removing every tag of a collectable volume',
    workloadAdmin('ec2:DeleteTags', volume(), tagged),
    'ExplicitlyDenied',
  ],
  [
    'a workload administrator adding the collection tag to an instance',
    workloadAdmin('ec2:CreateTags', instance('i-0untagged'), { [`aws:RequestTag/${tagKey}`]: 'true', 'aws:TagKeys': [tagKey] }),
    'ExplicitlyDenied',
  ],
  [
    'a workload administrator flipping the collection tag to false through the tagging API',
    workloadAdmin('tag:TagResources', '*', { [`aws:RequestTag/${tagKey}`]: 'false', 'aws:TagKeys': [tagKey] }),
    'ExplicitlyDenied',
  ],
  [
    'a workload administrator removing the collection tag through the tagging API',
    workloadAdmin('tag:UntagResources', '*', { 'aws:TagKeys': [tagKey] }),
    'ExplicitlyDenied',
  ],
];

function withoutKey(context: Record<string, string | string[]>, key: string) {
  const copy = { ...context };
  delete copy[key];
  return copy;
}

describe('the deny matrix: each is refused', () => {
  it.each([...collectorDenials, ...orchestratorDenials, ...trustDenials, ...scpDenials])('%s', async (_name, request, expected) => {
    const verdict = await simulateRequest(world, request);
    if (expected) expect(verdict.result, verdict.reason).toBe(expected);
    else expect(verdict.result, verdict.reason).not.toBe('Allowed');
  });
});

describe('the orchestrator role is assumed by the responders', () => {
  it('a responder role (ResponderPrincipalArnPattern) assumes it', async () => {
    const verdict = await simulateRequest(world, {
      principal: `arn:aws:sts::${F}:assumed-role/IncidentResponder/alice`,
      action: 'sts:AssumeRole',
      resource: orchestratorRoleArn(world),
      resourceAccount: F,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${F}:role/responders/IncidentResponder` },
    });
    expect(verdict.result, verdict.reason).toBe('Allowed');
    expect(verdict.allowedBy).toContain('orchestrator-trust-policy#RespondersOfTheForensicsAccountAssume');
  });
});

describe('the collection-tag SCP is no wider than it must be', () => {
  it('the tag admin path may still change the collection tag', async () => {
    const verdict = await simulateRequest(world, {
      principal: `arn:aws:sts::${T}:assumed-role/tag-admin/carol`,
      action: 'ec2:DeleteTags',
      resource: instance(),
      resourceAccount: T,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${T}:role/platform/tag-admin/TagAdmin`, ...tagged, 'aws:TagKeys': [tagKey] },
    });
    expect(verdict.result, verdict.reason).toBe('Allowed');
  });

  it('a workload administrator may still manage its other tags', async () => {
    const verdict = await simulateRequest(world, workloadAdmin('ec2:CreateTags', instance(), { ...tagged, 'aws:RequestTag/Owner': 'bob', 'aws:TagKeys': ['Owner'] }));
    expect(verdict.result, verdict.reason).toBe('Allowed');
  });

  it('the collector still snapshots a tagged instance under the SCP', async () => {
    const verdict = await simulateRequest(world, asCollector('ec2:CreateSnapshots', instance(), tagged));
    expect(verdict.result, verdict.reason).toBe('Allowed');
  });
});

describe('the shareable key lets only the forensics orchestrator read shared snapshots, only through EC2', () => {
  it('the orchestrator decrypts through EC2', async () => {
    const verdict = await simulateRequest(world, asOrchestrator('kms:Decrypt', shareableKey, viaEc2, T));
    expect(verdict.result, verdict.reason).toBe('Allowed');
    expect(verdict.allowedBy).toContain('shareable-kms-key-policy#TheForensicsOrchestratorReadsSharedSnapshotsOnlyThroughEc2');
  });

  it('another role of the forensics account with every IAM permission does not', async () => {
    const verdict = await simulateRequest(world, {
      principal: `arn:aws:sts::${F}:assumed-role/Administrator/mallory`,
      action: 'kms:Decrypt',
      resource: shareableKey,
      resourceAccount: T,
      identityPolicy: ALLOW_EVERYTHING,
      context: { 'aws:PrincipalArn': `arn:aws:iam::${F}:role/Administrator`, ...viaEc2 },
    });
    expect(verdict.result, verdict.reason).not.toBe('Allowed');
  });

  it('the analyst recorded as source identity is on every collector session the trust policy admits', async () => {
    const verdict = await simulateRequest(world, asOrchestrator('sts:AssumeRole', collectorRoleArn(world, T), assumeRoleContext(world), T));
    expect(verdict.result, verdict.reason).toBe('Allowed');
    expect(assumeRoleContext(world)['sts:SourceIdentity']).toBe(ANALYST);
  });
});
