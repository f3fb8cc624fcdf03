/**
 * The single declaration of every AWS API call the AWS provider makes, with the IAM permissions
 * each one needs and the condition context its request carries. Plain data on purpose: the
 * policies in `policies/` are held to exactly this set by a test, `plan()` renders it, and
 * `callAws` refuses a command that does not belong to the operation it is called for.
 *
 * Placeholders in resources and context values: `${Partition}`, `${Region}`, `${Account}` (the
 * account the call runs in: the target account for `account: 'target'`, the forensics account
 * for `account: 'forensics'`), `${TargetAccount}` (the target account, from a forensics-side
 * call), `${ForensicsAccount}`, `${CaseId}`, `${Analyst}`, `${CollectionTagValue}`.
 */
import type { CollectOptions, PermissionNeed, PlannedCall, PlannedStep } from '../../core/ports.js';
import type { CustodyConfig } from '../config.js';
import type { Target } from '../../core/targets.js';
import { isAwsTarget } from './targets.js';
import { collectorRoleArn } from '../shared/aws-names.js';

export interface AwsOperation {
  /** `service:Action`, exactly as the SDK command is named (`ec2:CreateSnapshots`). */
  readonly api: string;
  /** Whose credentials make the call: the forensics account's, or the collector role's. */
  readonly account: 'forensics' | 'target';
  readonly mutates: boolean;
  readonly permissions: readonly PermissionNeed[];
}

const INSTANCE = 'arn:${Partition}:ec2:${Region}:${Account}:instance/*';
const VOLUME = 'arn:${Partition}:ec2:${Region}:${Account}:volume/*';
// Snapshot ARNs carry no account.
const SNAPSHOT = 'arn:${Partition}:ec2:${Region}::snapshot/*';
const KEY = 'arn:${Partition}:kms:${Region}:${Account}:key/*';
const TARGET_KEY = 'arn:${Partition}:kms:${Region}:${TargetAccount}:key/*';
const TAGGED = { 'aws:ResourceTag/ForensicsEnabled': '${CollectionTagValue}' };
const VIA_EC2 = { 'kms:ViaService': 'ec2.${Region}.amazonaws.com' };
const CASE_TAGS = {
  'aws:RequestTag/CaseId': '${CaseId}',
  'aws:RequestTag/EvidenceId': '*',
  'aws:TagKeys': ['CaseId', 'EvidenceId'],
};
const COPY_TAGS = {
  'aws:RequestTag/CaseId': '${CaseId}',
  'aws:RequestTag/EvidenceId': '*',
  'aws:RequestTag/SourceSnapshotId': '*',
  'aws:TagKeys': ['CaseId', 'EvidenceId', 'SourceSnapshotId'],
};

// The evidence bucket's objects of one case (`aws.evidenceBucket.prefix` + case id).
const CASE_OBJECTS = 'arn:${Partition}:s3:::${EvidenceBucket}/${EvidencePrefix}${CaseId}/*';
const EVIDENCE_BUCKET = 'arn:${Partition}:s3:::${EvidenceBucket}';
// Object Lock at upload: the configured mode, for the configured number of days.
const RETENTION = { 's3:object-lock-mode': '${RetentionMode}', 's3:object-lock-remaining-retention-days': '${RetentionDays}' };
// Writing an object with a retention is s3:PutObject plus s3:PutObjectRetention.
const LOCKED_WRITE: readonly PermissionNeed[] = [
  { action: 's3:PutObject', resource: CASE_OBJECTS },
  { action: 's3:PutObjectRetention', resource: CASE_OBJECTS, context: RETENTION },
];

/** What EC2 does with KMS on the caller's behalf when it reads an encrypted snapshot. */
function kmsToDecrypt(resource: string): PermissionNeed[] {
  return [
    { action: 'kms:DescribeKey', resource, context: VIA_EC2 },
    { action: 'kms:Decrypt', resource, context: VIA_EC2 },
    { action: 'kms:CreateGrant', resource, context: { ...VIA_EC2, 'kms:GrantIsForAWSResource': 'true' } },
  ];
}

/** What EC2 does with KMS on the caller's behalf when it writes a snapshot under a key. */
function kmsToEncrypt(resource: string): PermissionNeed[] {
  return [
    { action: 'kms:DescribeKey', resource, context: VIA_EC2 },
    { action: 'kms:GenerateDataKeyWithoutPlaintext', resource, context: VIA_EC2 },
    { action: 'kms:ReEncryptFrom', resource, context: VIA_EC2 },
    { action: 'kms:ReEncryptTo', resource, context: VIA_EC2 },
    { action: 'kms:CreateGrant', resource, context: { ...VIA_EC2, 'kms:GrantIsForAWSResource': 'true' } },
  ];
}

export const AWS_OPERATIONS = {
  /** Who is running the tool: the default analyst. Needs no permission. */
  getCallerIdentity: {
    api: 'sts:GetCallerIdentity',
    account: 'forensics',
    mutates: false,
    permissions: [],
  },
  assumeCollectorRole: {
    api: 'sts:AssumeRole',
    account: 'forensics',
    mutates: false,
    permissions: [
      { action: 'sts:AssumeRole', resource: 'arn:${Partition}:iam::${TargetAccount}:role/CloudCustodyCollector' },
      {
        action: 'sts:SetSourceIdentity',
        resource: 'arn:${Partition}:iam::${TargetAccount}:role/CloudCustodyCollector',
        context: { 'sts:SourceIdentity': '${Analyst}' },
      },
      {
        action: 'sts:TagSession',
        resource: 'arn:${Partition}:iam::${TargetAccount}:role/CloudCustodyCollector',
        context: { 'aws:RequestTag/CaseId': '${CaseId}', 'aws:TagKeys': ['CaseId'] },
      },
    ],
  },
  describeInstances: {
    api: 'ec2:DescribeInstances',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:DescribeInstances', resource: '*' }],
  },
  describeVolumes: {
    api: 'ec2:DescribeVolumes',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:DescribeVolumes', resource: '*' }],
  },
  describeSnapshots: {
    api: 'ec2:DescribeSnapshots',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:DescribeSnapshots', resource: '*' }],
  },
  describeKey: {
    api: 'kms:DescribeKey',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'kms:DescribeKey', resource: KEY }],
  },
  getConsoleOutput: {
    api: 'ec2:GetConsoleOutput',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:GetConsoleOutput', resource: INSTANCE, context: TAGGED }],
  },
  getConsoleScreenshot: {
    api: 'ec2:GetConsoleScreenshot',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:GetConsoleScreenshot', resource: INSTANCE, context: TAGGED }],
  },
  /** `--preserve`: termination protection, and DeleteOnTermination=false on every volume. */
  preserveInstance: {
    api: 'ec2:ModifyInstanceAttribute',
    account: 'target',
    mutates: true,
    permissions: [{ action: 'ec2:ModifyInstanceAttribute', resource: INSTANCE, context: TAGGED }],
  },
  /**
   * `--preserve`: termination protection read before the change and read back after it, so the
   * ledger records what EC2 reports rather than what was asked. Unlike the other Describe
   * actions, the Service Authorization Reference gives it the instance as a required resource
   * with `aws:ResourceTag`: it is held to tagged instances like the change itself.
   */
  describeInstanceAttribute: {
    api: 'ec2:DescribeInstanceAttribute',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:DescribeInstanceAttribute', resource: INSTANCE, context: TAGGED }],
  },
  /** One crash-consistent snapshot set per instance, tagged at creation. */
  createSnapshots: {
    api: 'ec2:CreateSnapshots',
    account: 'target',
    mutates: true,
    permissions: [
      { action: 'ec2:CreateSnapshots', resource: INSTANCE, context: TAGGED },
      { action: 'ec2:CreateSnapshots', resource: VOLUME },
      { action: 'ec2:CreateSnapshots', resource: SNAPSHOT, context: CASE_TAGS },
      { action: 'ec2:CreateTags', resource: SNAPSHOT, context: { ...CASE_TAGS, 'ec2:CreateAction': 'CreateSnapshots' } },
    ],
  },
  /** A volume named on its own. */
  createSnapshot: {
    api: 'ec2:CreateSnapshot',
    account: 'target',
    mutates: true,
    permissions: [
      { action: 'ec2:CreateSnapshot', resource: VOLUME, context: TAGGED },
      { action: 'ec2:CreateSnapshot', resource: SNAPSHOT, context: CASE_TAGS },
      { action: 'ec2:CreateTags', resource: SNAPSHOT, context: { ...CASE_TAGS, 'ec2:CreateAction': 'CreateSnapshot' } },
    ],
  },
  /** In the target account: a copy under the shareable key (`aws/ebs` snapshots cannot be shared). */
  reencryptSnapshot: {
    api: 'ec2:CopySnapshot',
    account: 'target',
    mutates: true,
    permissions: [
      { action: 'ec2:CopySnapshot', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } },
      { action: 'ec2:CopySnapshot', resource: SNAPSHOT, context: COPY_TAGS },
      { action: 'ec2:CreateTags', resource: SNAPSHOT, context: { ...COPY_TAGS, 'ec2:CreateAction': 'CopySnapshot' } },
      ...kmsToDecrypt(KEY),
      ...kmsToEncrypt(KEY),
    ],
  },
  /** createVolumePermission for the forensics account only. */
  shareSnapshot: {
    api: 'ec2:ModifySnapshotAttribute',
    account: 'target',
    mutates: true,
    permissions: [
      {
        action: 'ec2:ModifySnapshotAttribute',
        resource: SNAPSHOT,
        context: { 'aws:ResourceTag/CaseId': '${CaseId}', 'ec2:Add/userId': '${ForensicsAccount}' },
      },
    ],
  },
  /**
   * The share read back (createVolumePermission), so the ledger records whom EC2 reports the
   * snapshot shared with, not whom it was asked to share with (ModifySnapshotAttribute answers
   * only `return true`). Unlike DescribeSnapshots, the Service Authorization Reference gives it
   * the `snapshot*` resource type with `aws:ResourceTag`: it is held to this case's snapshots,
   * like the share itself, so the role cannot list who may use any other snapshot.
   */
  readBackShare: {
    api: 'ec2:DescribeSnapshotAttribute',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ec2:DescribeSnapshotAttribute', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } }],
  },
  /** In the forensics account: finds copies an interrupted run already made, and waits for them. */
  describeForensicsSnapshots: {
    api: 'ec2:DescribeSnapshots',
    account: 'forensics',
    mutates: false,
    permissions: [{ action: 'ec2:DescribeSnapshots', resource: '*' }],
  },
  /** In the forensics account: the copy it keeps, under its own key. */
  copyToForensics: {
    api: 'ec2:CopySnapshot',
    account: 'forensics',
    mutates: true,
    permissions: [
      { action: 'ec2:CopySnapshot', resource: SNAPSHOT },
      { action: 'ec2:CopySnapshot', resource: SNAPSHOT, context: COPY_TAGS },
      { action: 'ec2:CreateTags', resource: SNAPSHOT, context: { ...COPY_TAGS, 'ec2:CreateAction': 'CopySnapshot' } },
      ...kmsToDecrypt(TARGET_KEY),
      ...kmsToEncrypt(KEY),
    ],
  },
  lockSnapshot: {
    api: 'ec2:LockSnapshot',
    account: 'forensics',
    mutates: true,
    permissions: [
      { action: 'ec2:LockSnapshot', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } },
    ],
  },
  // `--hash` (src/providers/aws/hash-volume.ts): the EBS direct read APIs, on snapshots of this
  // case only. EBS authorises them on the EC2 snapshot ARN; an encrypted snapshot is decrypted
  // by EBS with the caller's kms:Decrypt. EBS presents itself to KMS as EC2: the KMS developer
  // guide's table of kms:ViaService names gives Amazon EBS as `ec2.REGION.amazonaws.com` and
  // lists no `ebs.` name (docs/research/aws-ebs-direct-kms.md).
  /** The written blocks of a source snapshot in the target account (`--hash-source`, or no forensics copy). */
  listSnapshotBlocks: {
    api: 'ebs:ListSnapshotBlocks',
    account: 'target',
    mutates: false,
    permissions: [{ action: 'ebs:ListSnapshotBlocks', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } }],
  },
  getSnapshotBlock: {
    api: 'ebs:GetSnapshotBlock',
    account: 'target',
    mutates: false,
    permissions: [
      { action: 'ebs:GetSnapshotBlock', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } },
      { action: 'kms:Decrypt', resource: KEY, context: VIA_EC2 },
    ],
  },
  /** The forensics copy's written blocks, read with the forensics account's credentials. */
  listForensicsSnapshotBlocks: {
    api: 'ebs:ListSnapshotBlocks',
    account: 'forensics',
    mutates: false,
    permissions: [{ action: 'ebs:ListSnapshotBlocks', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } }],
  },
  getForensicsSnapshotBlock: {
    api: 'ebs:GetSnapshotBlock',
    account: 'forensics',
    mutates: false,
    permissions: [
      { action: 'ebs:GetSnapshotBlock', resource: SNAPSHOT, context: { 'aws:ResourceTag/CaseId': '${CaseId}' } },
      { action: 'kms:Decrypt', resource: KEY, context: VIA_EC2 },
    ],
  },
  // The immutable copy of a closed case (src/providers/aws/evidence-bucket.ts): the forensics
  // account's own credentials, on the evidence bucket only, under the case's prefix.
  putEvidenceObject: {
    api: 's3:PutObject',
    account: 'forensics',
    mutates: true,
    permissions: LOCKED_WRITE,
  },
  startEvidenceUpload: {
    api: 's3:CreateMultipartUpload',
    account: 'forensics',
    mutates: true,
    permissions: LOCKED_WRITE,
  },
  uploadEvidencePart: {
    api: 's3:UploadPart',
    account: 'forensics',
    mutates: true,
    permissions: [{ action: 's3:PutObject', resource: CASE_OBJECTS }],
  },
  completeEvidenceUpload: {
    api: 's3:CompleteMultipartUpload',
    account: 'forensics',
    mutates: true,
    permissions: [{ action: 's3:PutObject', resource: CASE_OBJECTS }],
  },
  /** An upload that failed part-way is abandoned: its parts are not an object and hold nothing locked. */
  abortEvidenceUpload: {
    api: 's3:AbortMultipartUpload',
    account: 'forensics',
    mutates: true,
    permissions: [{ action: 's3:AbortMultipartUpload', resource: CASE_OBJECTS }],
  },
  /** One recorded version: its SHA-256 and its Object Lock retention. */
  headEvidenceObject: {
    api: 's3:HeadObject',
    account: 'forensics',
    mutates: false,
    permissions: [
      { action: 's3:GetObjectVersion', resource: CASE_OBJECTS },
      { action: 's3:GetObjectRetention', resource: CASE_OBJECTS },
    ],
  },
  /** preflight: the evidence bucket exists, this role reaches it, and Object Lock is on. */
  getEvidenceBucketLock: {
    api: 's3:GetObjectLockConfiguration',
    account: 'forensics',
    mutates: false,
    permissions: [{ action: 's3:GetBucketObjectLockConfiguration', resource: EVIDENCE_BUCKET }],
  },
  /** fetch-case: the newest version of each object of the case. */
  getEvidenceObject: {
    api: 's3:GetObject',
    account: 'forensics',
    mutates: false,
    permissions: [{ action: 's3:GetObject', resource: CASE_OBJECTS }],
  },
} as const satisfies Record<string, AwsOperation>;

export type AwsOperationName = keyof typeof AWS_OPERATIONS;

/** The SDK command class name an operation's calls must use (`CreateSnapshotsCommand`). */
export function commandNameOf(op: AwsOperationName): string {
  const api = AWS_OPERATIONS[op].api;
  return `${api.slice(api.indexOf(':') + 1)}Command`;
}

/** Every IAM action the collector role in a target account must allow (its session policy too). */
export function targetAccountActions(): string[] {
  const actions = new Set<string>();
  for (const op of Object.values(AWS_OPERATIONS) as AwsOperation[]) {
    if (op.account !== 'target') continue;
    for (const p of op.permissions) actions.add(p.action);
  }
  return [...actions].sort();
}

export interface PlanValues {
  partition: string;
  region: string;
  account: string;
  targetAccount: string;
  forensicsAccount: string;
  caseId?: string;
  analyst?: string;
  collectionTagValue?: string;
  /** The evidence bucket (`aws.evidenceBucket`): name, key prefix, retention. */
  evidenceBucket?: string;
  evidencePrefix?: string;
  retentionMode?: string;
  retentionDays?: number;
}

/** Fills the placeholders of an ARN pattern or a condition value. */
export function fillPlaceholders(text: string, values: PlanValues): string {
  return text
    .replaceAll('${Partition}', values.partition)
    .replaceAll('${Region}', values.region)
    .replaceAll('${Account}', values.account)
    .replaceAll('${TargetAccount}', values.targetAccount)
    .replaceAll('${ForensicsAccount}', values.forensicsAccount)
    .replaceAll('${CaseId}', values.caseId ?? '${CaseId}')
    .replaceAll('${Analyst}', values.analyst ?? '${Analyst}')
    .replaceAll('${CollectionTagValue}', values.collectionTagValue ?? 'true')
    .replaceAll('${EvidenceBucket}', values.evidenceBucket ?? '${EvidenceBucket}')
    .replaceAll('${EvidencePrefix}', values.evidencePrefix ?? '')
    .replaceAll('${RetentionMode}', values.retentionMode ?? 'COMPLIANCE')
    .replaceAll('${RetentionDays}', String(values.retentionDays ?? 365));
}

function fillNeed(need: PermissionNeed, values: PlanValues): PermissionNeed {
  const filled: PermissionNeed = { action: need.action, resource: fillPlaceholders(need.resource, values) };
  if (need.context) {
    filled.context = Object.fromEntries(
      Object.entries(need.context).map(([k, v]) => [
        fillPlaceholders(k, values),
        Array.isArray(v) ? v.map((x) => fillPlaceholders(x, values)) : fillPlaceholders(v as string, values),
      ]),
    );
  }
  return filled;
}

function plannedCall(op: AwsOperationName, where: string, values: PlanValues): PlannedCall {
  const decl: AwsOperation = AWS_OPERATIONS[op];
  return {
    api: decl.api,
    where,
    mutates: decl.mutates,
    permissions: decl.permissions.map((p) => fillNeed(p, values)),
  };
}

const DEFAULT_ROLE_SUFFIX = ':role/CloudCustodyCollector';

/** The collector role ARN in `account`: config `aws.collectorRole` is a role name or an ARN pattern with `{account}`. */
export function roleArnFor(config: CustodyConfig, account: string, partition = 'aws'): string {
  return collectorRoleArn(config.aws?.collectorRole, account, partition);
}

function withRoleArn(call: PlannedCall, roleArn: string): PlannedCall {
  return {
    ...call,
    permissions: call.permissions.map((p) => (p.resource.endsWith(DEFAULT_ROLE_SUFFIX) ? { ...p, resource: roleArn } : p)),
  };
}

/**
 * What collecting `target` would call, step by step, with the permissions each call needs
 * (placeholders filled for this target). Touches nothing; `plan()` returns it.
 *
 * @example plannedCalls(parseTarget('arn:aws:ec2:us-east-1:222222222222:instance/i-0abc12345'), options, config)
 */
export function plannedCalls(target: Target, options: CollectOptions, config: CustodyConfig): PlannedStep[] {
  if (!isAwsTarget(target)) return [];
  const aws = config.aws;
  const forensicsAccount = aws?.forensicsAccount ?? '${ForensicsAccount}';
  const forensicsRegion = aws?.region ?? target.region;
  const transfer = aws?.transfer ?? 'copy';
  const inTarget: PlanValues = {
    partition: target.partition,
    region: target.region,
    account: target.account,
    targetAccount: target.account,
    forensicsAccount,
    collectionTagValue: aws?.collectionTag.value ?? 'true',
  };
  const inForensics: PlanValues = { ...inTarget, account: forensicsAccount, region: forensicsRegion };
  const roleWhere = `forensics account ${forensicsAccount}, into ${target.account}'s collector role`;
  const targetWhere = `target account ${target.account} ${target.region} (collector role)`;
  const forensicsWhere = `forensics account ${forensicsAccount} ${forensicsRegion}`;
  const isInstance = target.kind === 'aws-instance';

  const steps: PlannedStep[] = [
    {
      step: 'credentials',
      description: 'Assume the collector role with the case id as session name and tag, the analyst as source identity',
      calls: [withRoleArn(plannedCall('assumeCollectorRole', roleWhere, { ...inTarget, account: forensicsAccount }), roleArnFor(config, target.account, target.partition))],
    },
    {
      step: 'describe',
      description: isInstance
        ? 'Describe the instance, its volumes and their KMS keys; store them as evidence'
        : 'Describe the volume and its KMS key; store them as evidence',
      calls: [
        ...(isInstance ? [plannedCall('describeInstances', targetWhere, inTarget)] : []),
        plannedCall('describeVolumes', targetWhere, inTarget),
        plannedCall('describeKey', targetWhere, inTarget),
      ],
    },
  ];
  if (isInstance) {
    steps.push({
      step: 'volatile',
      description: options.screenshot ? 'Console output and screenshot' : 'Console output',
      calls: [
        plannedCall('getConsoleOutput', targetWhere, inTarget),
        ...(options.screenshot ? [plannedCall('getConsoleScreenshot', targetWhere, inTarget)] : []),
      ],
    });
    if (options.preserve) {
      steps.push({
        step: 'preserve',
        description:
          'Termination protection on, DeleteOnTermination off for every volume (recorded changes, each read before and read back after: the ledger records what EC2 reports; an attribute already so is not changed again)',
        calls: [
          plannedCall('describeInstanceAttribute', targetWhere, inTarget),
          plannedCall('preserveInstance', targetWhere, inTarget),
          plannedCall('describeInstances', targetWhere, inTarget),
        ],
      });
    }
  }
  steps.push({
    step: 'snapshot',
    description: isInstance
      ? 'Find snapshots an interrupted run made; otherwise one CreateSnapshots for all volumes, tagged with the case'
      : 'Find a snapshot an interrupted run made; otherwise CreateSnapshot, tagged with the case',
    calls: [
      plannedCall('describeSnapshots', targetWhere, inTarget),
      plannedCall(isInstance ? 'createSnapshots' : 'createSnapshot', targetWhere, inTarget),
    ],
  });
  steps.push({
    step: 'wait',
    description: 'Wait for completion: batched DescribeSnapshots with backoff',
    calls: [plannedCall('describeSnapshots', targetWhere, inTarget)],
  });
  if (transfer !== 'in-place') {
    steps.push({
      step: 'share',
      description: 'Re-encrypt under the shareable key when needed, then share with the forensics account only, and read the share back (the ledger records what EC2 reports)',
      calls: [plannedCall('reencryptSnapshot', targetWhere, inTarget), plannedCall('shareSnapshot', targetWhere, inTarget), plannedCall('readBackShare', targetWhere, inTarget)],
    });
  }
  if (transfer === 'copy') {
    steps.push({
      step: 'copy',
      description: 'Copy into the forensics account under its own key' + (aws?.lock ? ', then lock (compliance mode)' : ''),
      calls: [
        plannedCall('describeForensicsSnapshots', forensicsWhere, inForensics),
        plannedCall('copyToForensics', forensicsWhere, inForensics),
        ...(aws?.lock ? [plannedCall('lockSnapshot', forensicsWhere, inForensics)] : []),
      ],
    });
  }
  if (options.hash) {
    const copyHashed = transfer === 'copy';
    steps.push({
      step: 'hash',
      description:
        'Whole-disk SHA-256 of the preserved snapshot through the EBS direct APIs (every block\'s checksum checked, unwritten blocks as zeros), with its block-hash list' +
        (options.hashSource ? '; the source snapshot too, which must match' : '') +
        (options.imageDir ? `; a raw image into ${options.imageDir}` : ''),
      calls: [
        ...(copyHashed
          ? [plannedCall('listForensicsSnapshotBlocks', forensicsWhere, inForensics), plannedCall('getForensicsSnapshotBlock', forensicsWhere, inForensics)]
          : []),
        ...(!copyHashed || options.hashSource ? [plannedCall('listSnapshotBlocks', targetWhere, inTarget), plannedCall('getSnapshotBlock', targetWhere, inTarget)] : []),
      ],
    });
  }
  return steps;
}
