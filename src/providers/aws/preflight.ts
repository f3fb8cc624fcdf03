/**
 * Preflight: before an incident, check in every configured account (or for given targets) that
 * collection would be allowed — without changing anything. It assumes the collector role as the
 * orchestrator would, reads what is read-only anyway (DescribeInstances, DescribeSnapshots,
 * kms:DescribeKey of the shareable key), and asks EC2 with `DryRun` about every mutation it can
 * (CreateSnapshots with the case tags, ModifyInstanceAttribute and the DescribeInstanceAttribute
 * that reads it back, ModifySnapshotAttribute and the DescribeSnapshotAttribute that reads it
 * back, CopySnapshot): EC2 answers `DryRunOperation` when the call would have been allowed and
 * `UnauthorizedOperation` when not, and does nothing either way.
 */
import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  DescribeInstanceAttributeCommand,
  DescribeSnapshotAttributeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  ModifyInstanceAttributeCommand,
  LockSnapshotCommand,
  ModifySnapshotAttributeCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AwsConfig, CustodyConfig } from '../config.js';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import type { Target } from '../../core/targets.js';
import type { PreflightRow as SharedPreflightRow } from '../../core/provider-module.js';
import { isAwsTarget, type AwsTarget } from './targets.js';
import { awsErrorText, callAws } from './call-aws.js';
import { evidenceBucketOptions, readEvidenceBucketLock } from './evidence-bucket.js';
import { AwsClients, type AccountClients } from './clients.js';
import { sessionNameFor, sourceIdentityFor } from './credentials.js';
import { fillKeyPattern } from './kms-keys.js';
import { roleArnFor } from './operations.js';
import { refuseAccountsNotAllowed } from './preflight-scope.js';
import { clockOffsetWords, clockWithinASecond } from '../../core/clock-offset.js';

export type PreflightResult = 'ok' | 'denied' | 'error';

/** One line of the preflight table: account × check → result. */
export interface PreflightRow {
  account: string;
  region: string;
  /**
   * `assume-role`, `describe-instances`, `create-snapshots`, `preserve-instance`,
   * `preserve-readback`, `shareable-key`,
   * `share-snapshot`, `share-readback`, `copy-snapshot`, `create-snapshot`; in the forensics account
   * `forensics-copy` and (with `aws.lock`) `forensics-lock`.
   */
  check: string;
  result: PreflightResult;
  /** The IAM action the check exercises. */
  action: string;
  /** What was checked on which resource, or why it was denied or could not be checked. */
  detail: string;
}

export interface PreflightOptions {
  config: CustodyConfig;
  /** Accounts to check; default: the targets' accounts, else `aws.allowedAccounts`. */
  accounts?: string[];
  /** Instances or volumes to check exactly (their tags decide what the role may do). */
  targets?: Target[];
  /** The forensics account's credentials; default: the SDK's standard chain. */
  credentials?: AwsCredentialIdentityProvider;
  /** Recorded as the sessions' SourceIdentity; default: config `analyst`, else `cloud-custody-preflight`. */
  analyst?: string;
}

/** The case id preflight sessions and dry-run tags carry: recognisable in CloudTrail. */
export const PREFLIGHT_CASE_ID = 'preflight';



interface Probe {
  account: string;
  region: string;
  push(check: string, action: string, result: PreflightResult, detail: string): void;
}

/**
 * Runs every check and returns the table; never throws for a check that fails (that is a row),
 * only `E_CONFIG` when there is no `aws` section.
 *
 * @example
 * const rows = await runPreflight({ config: loadConfigFile('custody.json') });
 * for (const r of rows) console.log(r.account, r.region, r.check, r.result, r.action, r.detail);
 */
export async function runPreflight(options: PreflightOptions): Promise<PreflightRow[]> {
  const aws = options.config.aws;
  if (!aws) throw new CustodyError('E_CONFIG', 'the config has no "aws" section: preflight needs forensicsAccount, region and allowedAccounts');
  const targets = (options.targets ?? []).filter(isAwsTarget);
  refuseAccountsNotAllowed(aws.allowedAccounts, options.accounts ?? [], targets);
  const accounts = options.accounts ?? (targets.length > 0 ? [...new Set(targets.map((t) => t.account))] : aws.allowedAccounts);
  const analyst = options.analyst ?? options.config.analyst ?? 'cloud-custody-preflight';
  const rows: PreflightRow[] = [];
  const forensics = new AwsClients(aws, options.credentials);
  let stsAnswered = false;
  try {
    for (const account of accounts) {
      const accountTargets = targets.filter((t) => t.account === account);
      const regions = accountTargets.length > 0 ? [...new Set(accountTargets.map((t) => t.region))] : (aws.regions ?? [aws.region]);
      const partition = accountTargets[0]?.partition ?? 'aws';
      const session = await assumeForPreflight(options.config, forensics, account, partition, analyst, PREFLIGHT_CASE_ID, (row) => rows.push(row));
      if (!session) continue;
      stsAnswered = true;
      for (const region of regions) {
        const probe: Probe = {
          account,
          region,
          push: (check, action, result, detail) => rows.push({ account, region, check, result, action, detail }),
        };
        await checkRegion(options.config, aws, probe, partition, session, analyst, accountTargets.filter((t) => t.region === region), forensics);
      }
    }
    if (stsAnswered) rows.push(clockRow(aws, forensics.sts().config.systemClockOffset ?? 0));
    await checkForensicsSide(aws, forensics, partition(targets), (row) => rows.push(row));
    await checkEvidenceBucket(aws, options.credentials, (check, action, result, detail) =>
      rows.push({ account: aws.forensicsAccount, region: aws.evidenceBucket?.region ?? aws.region, check, result, action, detail }),
    );
  } finally {
    forensics.destroy();
  }
  return rows;
}

/**
 * How far this machine's clock is from AWS's, from the Date of STS's answers (whole seconds).
 * Collection copes with any difference (every client signs on AWS's time), so the row is `ok`;
 * but the ledger's times are this machine's, and a platform team would rather fix its clock
 * before an incident than explain the difference after one.
 */
function clockRow(aws: AwsConfig, offsetMs: number): PreflightRow {
  const detail = clockWithinASecond(offsetMs)
      ? "this machine's clock is within a second of AWS's (the Date of STS's answers)"
      : `this machine's clock is ${clockOffsetWords(offsetMs)} AWS's (the Date of STS's answers): collection signs on AWS's time, but the ledger's times are this machine's (each session records the difference); set its clock (NTP) before an incident`;
  return { account: aws.forensicsAccount, region: aws.region, check: 'clock', result: 'ok', action: 'sts:AssumeRole', detail };
}

function partition(targets: readonly AwsTarget[]): string {
  return targets[0]?.partition ?? 'aws';
}

/**
 * The forensics account's side, as the orchestrator itself: the copy it keeps (CopySnapshot
 * under the forensics key, tagged as a case copy) and, when configured, LockSnapshot — both
 * dry-run on the newest snapshot an earlier case copied there. The forensics key is named in the
 * copy check; the orchestrator may use it only through EC2 (kms:ViaService), so it is not
 * described directly.
 */
async function checkForensicsSide(aws: AwsConfig, forensics: AwsClients, partition: string, report: (row: PreflightRow) => void): Promise<void> {
  const account = aws.forensicsAccount;
  const region = aws.region;
  const push = (check: string, action: string, result: PreflightResult, detail: string) => report({ account, region, check, result, action, detail });
  const probe: Probe = { account, region, push };
  const clients = forensics.forensics(region);
  const forensicsKey = fillKeyPattern(aws.kms.forensicsKey ?? `arn:${partition}:kms:{region}:{account}:alias/cloud-custody-forensics`, account, region);
  // The copy is allowed only from snapshots another account shared with this one (never of its
  // own copies), so it is dry-run on a shared one; the lock on the newest case copy it owns.
  let shared: string | undefined;
  let own: { id: string; caseId: string } | undefined;
  try {
    const { output } = await callAws(
      'describeForensicsSnapshots',
      clients.ec2,
      new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'], Filters: [{ Name: 'status', Values: ['completed'] }], MaxResults: 1000 }),
      { resource: `forensics account ${account} ${region}` },
    );
    const newestFirst = [...(output.Snapshots ?? [])].filter((s) => s.SnapshotId).sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0));
    shared = newestFirst.find((s) => s.OwnerId !== account)?.SnapshotId;
    const ownCopy = newestFirst.find((s) => s.OwnerId === account && s.Tags?.some((t) => t.Key === 'CaseId'));
    const caseId = ownCopy?.Tags?.find((t) => t.Key === 'CaseId')?.Value;
    if (ownCopy?.SnapshotId && caseId) own = { id: ownCopy.SnapshotId, caseId };
  } catch (error) {
    const { result, detail } = classify(error);
    push('forensics-copy', 'ec2:DescribeSnapshots', result, detail);
    return;
  }
  const notYet = 'a first case (or custody demo in the lab) leaves one';
  if (!shared) {
    push('forensics-copy', 'ec2:CopySnapshot', 'error', `not checked: no snapshot shared with the forensics account ${account} in ${region} to dry-run a copy on (${notYet}); copies would be encrypted under ${forensicsKey}`);
  } else {
    const arn = `arn:${partition}:ec2:${region}::snapshot/${shared}`;
    await dryRun(probe, 'forensics-copy', 'ec2:CopySnapshot', `copy of the shared ${arn} into ${account} under ${forensicsKey}`, () =>
      callAws(
        'copyToForensics',
        clients.ec2,
        new CopySnapshotCommand({
          DryRun: true,
          SourceSnapshotId: shared,
          SourceRegion: region,
          Encrypted: true,
          KmsKeyId: forensicsKey,
          TagSpecifications: [
            {
              ResourceType: 'snapshot',
              Tags: [
                { Key: 'CaseId', Value: PREFLIGHT_CASE_ID },
                { Key: 'EvidenceId', Value: PREFLIGHT_CASE_ID },
                { Key: 'SourceSnapshotId', Value: shared },
              ],
            },
          ],
        }),
        { resource: arn },
      ),
    );
  }
  const lock = aws.lock;
  if (!lock) return;
  if (!own) {
    push('forensics-lock', 'ec2:LockSnapshot', 'error', `not checked: no case copy in the forensics account ${account} in ${region} to dry-run a lock on (${notYet})`);
    return;
  }
  const { id, caseId } = own;
  const ownArn = `arn:${partition}:ec2:${region}::snapshot/${id}`;
  await dryRun(probe, 'forensics-lock', 'ec2:LockSnapshot', `${lock.mode} lock of ${ownArn} (case ${caseId}) for ${lock.durationDays} days`, () =>
    callAws(
      'lockSnapshot',
      clients.ec2,
      new LockSnapshotCommand({ DryRun: true, SnapshotId: id, LockMode: lock.mode, LockDuration: lock.durationDays, ...(lock.coolOffHours ? { CoolOffPeriod: lock.coolOffHours } : {}) }),
      { resource: ownArn },
    ),
  );
}

/**
 * The evidence bucket (`aws.evidenceBucket`), as `copy-case` reaches it: it exists, the
 * orchestrator may read its Object Lock configuration, and Object Lock is on (otherwise the copy
 * would not be immutable). A write is not tried: S3 has no dry run, and a probe object in a
 * COMPLIANCE bucket could never be removed.
 */
async function checkEvidenceBucket(aws: AwsConfig, credentials: AwsCredentialIdentityProvider | undefined, push: Probe['push']): Promise<void> {
  const configured = aws.evidenceBucket;
  if (!configured) return;
  const options = { ...evidenceBucketOptions({ aws }, { caseId: PREFLIGHT_CASE_ID }), ...(credentials ? { credentials } : {}) };
  const bucket = `s3://${configured.name}`;
  try {
    const lock = await readEvidenceBucketLock(options);
    if (!lock.enabled) {
      push('evidence-bucket', 's3:GetBucketObjectLockConfiguration', 'error', `${bucket} has no Object Lock: copies there would not be immutable (create it with Object Lock, as infra/aws's forensics template does)`);
      return;
    }
    const retention = lock.defaultRetention;
    const bucketDefault = retention ? `bucket default ${retention.mode ?? '?'} ${retention.days ?? retention.years ?? '?'} ${retention.days ? 'days' : 'years'}` : 'no bucket default retention';
    push('evidence-bucket', 's3:GetBucketObjectLockConfiguration', 'ok', `${bucket}: Object Lock on (${bucketDefault}); copies are written with ${configured.retention.mode} for ${configured.retention.days} days (s3:PutObject itself is not tried: S3 has no dry run)`);
  } catch (error) {
    const { result, detail } = classify(error);
    push('evidence-bucket', 's3:GetBucketObjectLockConfiguration', result, `${detail} (${bucket})`);
  }
}

/** Assumes the collector role exactly as a case would (session name, tag, source identity, external id). */
async function assumeForPreflight(
  config: CustodyConfig,
  forensics: AwsClients,
  account: string,
  partition: string,
  analyst: string,
  caseId: string,
  report: (row: PreflightRow) => void,
): Promise<AwsCredentialIdentity | undefined> {
  const aws = config.aws as AwsConfig;
  const roleArn = roleArnFor(config, account, partition);
  try {
    const { output } = await callAws(
      'assumeCollectorRole',
      forensics.sts(),
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionNameFor(caseId),
        SourceIdentity: sourceIdentityFor(analyst),
        Tags: [{ Key: 'CaseId', Value: caseId }],
        DurationSeconds: 900,
        ...(aws.externalId ? { ExternalId: aws.externalId } : {}),
      }),
      { resource: roleArn },
    );
    const c = output.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new CustodyError('E_CREDENTIALS', `sts:AssumeRole on ${roleArn} returned no credentials`);
    report({
      account,
      region: aws.region,
      check: 'assume-role',
      result: 'ok',
      action: 'sts:AssumeRole',
      detail: `assumed ${roleArn} as ${output.AssumedRoleUser?.Arn ?? 'a session'} (source identity ${output.SourceIdentity ?? `${sourceIdentityFor(analyst)} requested, not echoed`}, session tag CaseId=${caseId} requested)`,
    });
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, ...(c.Expiration ? { expiration: c.Expiration } : {}) };
  } catch (error) {
    const { result, detail } = classify(error);
    report({
      account,
      region: aws.region,
      check: 'assume-role',
      result,
      action: 'sts:AssumeRole',
      detail: `${detail} — is the collector StackSet deployed in ${account}, does its trust policy name this orchestrator role, and does aws.externalId match?`,
    });
    return undefined;
  }
}

async function checkRegion(
  config: CustodyConfig,
  aws: AwsConfig,
  probe: Probe,
  partition: string,
  session: AwsCredentialIdentity,
  analyst: string,
  targets: AwsTarget[],
  forensics: AwsClients,
): Promise<void> {
  const { account, region } = probe;
  const roleClients = new AwsClients(aws, undefined);
  try {
    const clients = roleClients.forAccount(account, region, async () => session);
    const tag = aws.collectionTag;
    const instanceTargets = targets.filter((t) => t.kind === 'aws-instance');
    const volumeTargets = targets.filter((t) => t.kind === 'aws-volume');

    // Read-only: which instances collection would see.
    let instanceIds: string[] = instanceTargets.map((t) => t.instanceId);
    // Named instances without the collection tag: the collector role refuses them by design, and
    // a denial on them should say so rather than point at the deployment.
    const untagged = new Set<string>();
    if (targets.length === 0 || instanceTargets.length > 0) {
      try {
        const command =
          instanceTargets.length > 0
            ? new DescribeInstancesCommand({ InstanceIds: instanceIds })
            : new DescribeInstancesCommand({ Filters: [{ Name: `tag:${tag.key}`, Values: [tag.value] }], MaxResults: 5 });
        const { output } = await callAws('describeInstances', clients.ec2, command, { resource: `${account} ${region}` });
        const described = (output.Reservations ?? []).flatMap((r) => r.Instances ?? []);
        const found = described.map((i) => i.InstanceId ?? '').filter(Boolean);
        for (const i of described) {
          if (i.InstanceId && !(i.Tags ?? []).some((t) => t.Key === tag.key && t.Value === tag.value)) untagged.add(i.InstanceId);
        }
        if (instanceTargets.length === 0) instanceIds = found.slice(0, 1);
        probe.push(
          'describe-instances',
          'ec2:DescribeInstances',
          'ok',
          instanceTargets.length > 0 ? `found ${found.join(', ') || 'none'}` : `${found.length === 5 ? 'at least 5' : found.length} instance(s) tagged ${tag.key}=${tag.value}`,
        );
      } catch (error) {
        const { result, detail } = classify(error);
        probe.push('describe-instances', 'ec2:DescribeInstances', result, detail);
        instanceIds = instanceTargets.map((t) => t.instanceId);
      }
    }

    const caseTags: Tag[] = [
      { Key: 'CaseId', Value: PREFLIGHT_CASE_ID },
      { Key: 'EvidenceId', Value: PREFLIGHT_CASE_ID },
    ];
    if (instanceIds.length === 0 && volumeTargets.length === 0) {
      const why = `not checked: no instance in ${region} carries ${tag.key}=${tag.value} (tag a workload, or name a target)`;
      probe.push('create-snapshots', 'ec2:CreateSnapshots', 'error', why);
      probe.push('preserve-instance', 'ec2:ModifyInstanceAttribute', 'error', why);
      probe.push('preserve-readback', 'ec2:DescribeInstanceAttribute', 'error', why);
    }
    for (const instanceId of instanceIds) {
      const arn = `arn:${partition}:ec2:${region}:${account}:instance/${instanceId}`;
      const cause = untagged.has(instanceId)
        ? `the instance lacks the collection tag ${tag.key}=${tag.value}, which the collector role requires (tag it to make it collectable)`
        : undefined;
      await dryRun(probe, 'create-snapshots', 'ec2:CreateSnapshots', arn, () =>
        callAws(
          'createSnapshots',
          clients.ec2,
          new CreateSnapshotsCommand({
            DryRun: true,
            InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: false },
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: caseTags }],
          }),
          { resource: arn },
        ),
        cause,
      );
      await dryRun(
        probe,
        'preserve-instance',
        'ec2:ModifyInstanceAttribute',
        arn,
        () =>
          callAws(
            'preserveInstance',
            clients.ec2,
            new ModifyInstanceAttributeCommand({ DryRun: true, InstanceId: instanceId, DisableApiTermination: { Value: true } }),
            { resource: arn },
          ),
        cause,
      );
      // --preserve reads termination protection before and after the change: a role deployed
      // before that read was granted would record the change as not confirmed.
      await dryRun(
        probe,
        'preserve-readback',
        'ec2:DescribeInstanceAttribute',
        arn,
        () =>
          callAws(
            'describeInstanceAttribute',
            clients.ec2,
            new DescribeInstanceAttributeCommand({ DryRun: true, InstanceId: instanceId, Attribute: 'disableApiTermination' }),
            { resource: arn },
          ),
        cause,
      );
    }
    for (const volume of volumeTargets) {
      await dryRun(probe, 'create-snapshot', 'ec2:CreateSnapshot', volume.arn, () =>
        callAws(
          'createSnapshot',
          clients.ec2,
          new CreateSnapshotCommand({ DryRun: true, VolumeId: volume.volumeId, TagSpecifications: [{ ResourceType: 'snapshot', Tags: caseTags }] }),
          { resource: volume.arn },
        ),
      );
    }

    const shareableKey = fillKeyPattern(aws.kms.shareableKey, account, region);
    let shareableKeyArn: string | undefined;
    try {
      const { output } = await callAws('describeKey', clients.kms, new DescribeKeyCommand({ KeyId: shareableKey }), { resource: shareableKey });
      const meta = output.KeyMetadata;
      shareableKeyArn = meta?.Arn;
      const usable = meta?.Enabled !== false && meta?.KeyState !== 'PendingDeletion';
      probe.push(
        'shareable-key',
        'kms:DescribeKey',
        usable ? 'ok' : 'error',
        usable ? `${shareableKey} is ${meta?.Arn ?? 'present'}` : `${shareableKey} exists but is ${meta?.KeyState ?? 'disabled'}: snapshots under aws/ebs cannot be re-encrypted for sharing`,
      );
    } catch (error) {
      const { result, detail } = classify(error);
      probe.push(
        'shareable-key',
        'kms:DescribeKey',
        result,
        result === 'error' && isNotFound(error)
          ? `${shareableKey} does not exist: deploy the collector StackSet to ${region} (snapshots under aws/ebs cannot be shared without it)`
          : detail,
      );
    }

    await checkSnapshotSharing(config, aws, probe, partition, clients, analyst, shareableKeyArn ?? shareableKey, forensics);
  } finally {
    roleClients.destroy();
  }
}

/**
 * Sharing and copying are allowed only on snapshots of the session's own case, so they are
 * checked on the newest snapshot an earlier case left (as that case, through a second session).
 */
async function checkSnapshotSharing(
  config: CustodyConfig,
  aws: AwsConfig,
  probe: Probe,
  partition: string,
  clients: AccountClients,
  analyst: string,
  shareableKey: string,
  forensics: AwsClients,
): Promise<void> {
  const { account, region } = probe;
  let sample: { id: string; caseId: string } | undefined;
  try {
    const { output } = await callAws(
      'describeSnapshots',
      clients.ec2,
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag-key', Values: ['CaseId'] }], MaxResults: 5 }),
      { resource: `${account} ${region}` },
    );
    const newest = [...(output.Snapshots ?? [])]
      .filter((s) => s.SnapshotId && s.State === 'completed')
      .sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0))[0];
    const caseId = newest?.Tags?.find((t) => t.Key === 'CaseId')?.Value;
    if (newest?.SnapshotId && caseId) sample = { id: newest.SnapshotId, caseId };
  } catch (error) {
    const { result, detail } = classify(error);
    probe.push('share-snapshot', 'ec2:DescribeSnapshots', result, detail);
    const why = `not checked: no earlier case's snapshot could be listed in ${region} (the share-snapshot row says why)`;
    probe.push('share-readback', 'ec2:DescribeSnapshotAttribute', 'error', why);
    probe.push('copy-snapshot', 'ec2:CopySnapshot', 'error', why);
    return;
  }
  if (!sample) {
    const why = `not checked: no completed snapshot of an earlier case (tagged CaseId) in ${region}; sharing is allowed only on a case's own snapshots`;
    probe.push('share-snapshot', 'ec2:ModifySnapshotAttribute', 'error', why);
    probe.push('share-readback', 'ec2:DescribeSnapshotAttribute', 'error', why);
    probe.push('copy-snapshot', 'ec2:CopySnapshot', 'error', why);
    return;
  }
  const rows: PreflightRow[] = [];
  const session = await assumeForPreflight(config, forensics, account, partition, analyst, sample.caseId, (row) => rows.push(row));
  if (!session) {
    for (const row of rows) probe.push('share-snapshot', row.action, row.result, `as case ${sample.caseId}: ${row.detail}`);
    // The checks that need the case's session still get their row, so a reader sees what was not checked.
    const why = `not checked: the session of case ${sample.caseId} could not be assumed (the share-snapshot row says why)`;
    probe.push('share-readback', 'ec2:DescribeSnapshotAttribute', 'error', why);
    probe.push('copy-snapshot', 'ec2:CopySnapshot', 'error', why);
    return;
  }
  const caseClients = new AwsClients(aws, undefined);
  try {
    const asCase = caseClients.forAccount(account, region, async () => session);
    const arn = `arn:${partition}:ec2:${region}::snapshot/${sample.id}`;
    await dryRun(probe, 'share-snapshot', 'ec2:ModifySnapshotAttribute', `${arn} (case ${sample.caseId}) with ${aws.forensicsAccount}`, () =>
      callAws(
        'shareSnapshot',
        asCase.ec2,
        new ModifySnapshotAttributeCommand({
          DryRun: true,
          SnapshotId: sample.id,
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          UserIds: [aws.forensicsAccount],
        }),
        { resource: arn },
      ),
    );
    // Each share is read back: a role deployed before that read was granted leaves every share unconfirmed.
    await dryRun(probe, 'share-readback', 'ec2:DescribeSnapshotAttribute', `createVolumePermission of ${arn} (case ${sample.caseId})`, () =>
      callAws(
        'readBackShare',
        asCase.ec2,
        new DescribeSnapshotAttributeCommand({ DryRun: true, SnapshotId: sample.id, Attribute: 'createVolumePermission' }),
        { resource: arn },
      ),
    );
    await dryRun(probe, 'copy-snapshot', 'ec2:CopySnapshot', `${arn} (case ${sample.caseId}) under ${shareableKey}`, () =>
      callAws(
        'reencryptSnapshot',
        asCase.ec2,
        new CopySnapshotCommand({
          DryRun: true,
          SourceSnapshotId: sample.id,
          SourceRegion: region,
          Encrypted: true,
          KmsKeyId: shareableKey,
          TagSpecifications: [
            {
              ResourceType: 'snapshot',
              Tags: [
                { Key: 'CaseId', Value: sample.caseId },
                { Key: 'EvidenceId', Value: PREFLIGHT_CASE_ID },
                { Key: 'SourceSnapshotId', Value: sample.id },
              ],
            },
          ],
        }),
        { resource: arn },
      ),
    );
  } finally {
    caseClients.destroy();
  }
}

/** Runs a DryRun call: `DryRunOperation` means it would have been allowed; `cause` explains a denial. */
async function dryRun(probe: Probe, check: string, action: string, what: string, call: () => Promise<unknown>, cause?: string): Promise<void> {
  try {
    await call();
    // EC2 never succeeds a DryRun; if it did, something is wrong with the endpoint.
    probe.push(check, action, 'error', `${what}: the endpoint ran the call instead of a dry run`);
  } catch (error) {
    if (errorName(error) === 'DryRunOperation') {
      probe.push(check, action, 'ok', `${what}: would be allowed (DryRun)`);
      return;
    }
    const { result, detail } = classify(error);
    probe.push(check, action, result, result === 'denied' && cause ? `${detail}: ${cause}` : detail);
  }
}

function errorName(error: unknown): string | undefined {
  const cause = isCustodyError(error) ? error.cause : error;
  return (cause as { name?: string } | undefined)?.name;
}

function isNotFound(error: unknown): boolean {
  return isCustodyError(error) ? error.code === 'E_NOT_FOUND' : /NotFound/.test(errorName(error) ?? '');
}

/** Denials are `denied` (with the action and resource AWS named); everything else is `error`. */
function classify(error: unknown): { result: PreflightResult; detail: string } {
  if (isCustodyError(error)) {
    if (error.code === 'E_ACCESS_DENIED') return { result: 'denied', detail: `denied: ${error.action ?? ''} on ${error.resource ?? ''}`.trim() };
    return { result: 'error', detail: error.message };
  }
  return { result: 'error', detail: awsErrorText(error) };
}

/** The checks as the registry's shared rows (`custody preflight` prints them per provider). */
export async function runAwsPreflightRows(options: PreflightOptions): Promise<SharedPreflightRow[]> {
  const rows = await runPreflight(options);
  return rows.map((r) => ({ provider: 'aws', scope: [r.account, r.region], check: r.check, result: r.result, action: r.action, detail: r.detail }));
}
