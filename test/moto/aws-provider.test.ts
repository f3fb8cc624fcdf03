import { isAwsTarget } from '../../src/providers/targets.js';
/**
 * The AWS provider against moto, an AWS emulator nobody here wrote. Within moto's known gaps
 * (no SourceIdentity or session tags, no IAM conditions, shared snapshots invisible to the other
 * account, no LockSnapshot / screenshot), this checks our requests are ones AWS-shaped code
 * accepts: assume-role, describes, CreateSnapshots, waiting, re-encryption, sharing and its read-back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateSnapshotsCommand,
  GetConsoleOutputCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { parseConfig, type CustodyConfig } from '../../src/providers/config.js';
import { parseSelector, parseTarget } from '../../src/providers/targets.js';
import { createAwsProvider, resolveCallerIdentity, type AwsProvider } from '../../src/providers/aws/index.js';
import { AwsClients } from '../../src/providers/aws/clients.js';
import { callAws } from '../../src/providers/aws/call-aws.js';
import { contextFor, ledgerText, manifestArtifacts, MemoryRecorder } from '../providers/aws/helpers.js';
import { startMoto, type MotoServer } from './moto-server.js';

const TARGET_ACCOUNT = '222222222222';
const REGION = 'us-east-1';
const forensicsCredentials = async () => ({ accessKeyId: 'AKIAFORENSICSEXAMPLE', secretAccessKey: 'forensics-secret-never-logged' });

let moto: MotoServer;
let config: CustodyConfig;
let ec2: EC2Client;
let instanceId: string;
let instanceArn: string;

async function targetCredentials(endpoint: string) {
  const sts = new STSClient({ region: REGION, endpoint, credentials: forensicsCredentials });
  const out = await sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${TARGET_ACCOUNT}:role/CloudCustodyCollector`, RoleSessionName: 'lab-setup' }),
  );
  sts.destroy();
  const c = out.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

function provider(): AwsProvider {
  return createAwsProvider(config, { credentials: forensicsCredentials, wait: { initialDelayMs: 20, maxDelayMs: 100 }, retry: { maxAttempts: 2 } });
}

async function caseSnapshots(caseId: string) {
  const out = await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:CaseId', Values: [caseId] }] }));
  return out.Snapshots ?? [];
}

/** A tagged instance with two volumes (8 and 10 GiB) in moto; returns its id. */
async function runTaggedInstance(ebs: { DeleteOnTermination?: boolean }, tags: Array<{ Key: string; Value: string }> = []): Promise<string> {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      BlockDeviceMappings: [
        { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 8, ...ebs } },
        { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, ...ebs } },
      ],
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'ForensicsEnabled', Value: 'true' }, ...tags] }],
    }),
  );
  return run.Instances![0]!.InstanceId!;
}

beforeAll(async () => {
  moto = await startMoto();
  const endpoint = moto.endpoint;
  config = parseConfig({
    aws: {
      forensicsAccount: '111111111111',
      region: REGION,
      allowedAccounts: [TARGET_ACCOUNT],
      // moto does not show a shared snapshot to the other account, so the forensics-side copy cannot be rehearsed here.
      transfer: 'share',
      endpoints: { sts: endpoint, ec2: endpoint, kms: endpoint },
    },
  });
  const credentials = await targetCredentials(endpoint);
  ec2 = new EC2Client({ region: REGION, endpoint, credentials });
  const kms = new KMSClient({ region: REGION, endpoint, credentials });
  const key = await kms.send(new CreateKeyCommand({ Description: 'cloud-custody shareable key' }));
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/cloud-custody-share', TargetKeyId: key.KeyMetadata!.KeyId! }));
  kms.destroy();
  instanceId = await runTaggedInstance({}, [{ Key: 'Incident', Value: 'ir-42' }]);
  instanceArn = `arn:aws:ec2:${REGION}:${TARGET_ACCOUNT}:instance/${instanceId}`;
});

afterAll(async () => {
  ec2?.destroy();
  await moto?.stop();
});

describe('AWS provider against moto', () => {
  it('the lean EC2 sender answers GetConsoleOutput, CreateSnapshots and DescribeSnapshots as the SDK does, and its errors map the same', async () => {
    const aws = config.aws!;
    const clients = new AwsClients(aws, forensicsCredentials);
    try {
      const credentials = await targetCredentials(moto.endpoint);
      const { ec2: sdk, ec2Calls: lean } = clients.forAccount(TARGET_ACCOUNT, REGION, async () => credentials);
      expect(lean).toBeDefined();
      const console1 = await callAws('getConsoleOutput', sdk, new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceArn });
      const console2 = await callAws('getConsoleOutput', lean!, new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceArn });
      const { $metadata: _m1, Timestamp: t1, ...out1 } = console1.output;
      const { $metadata: _m2, Timestamp: t2, ...out2 } = console2.output;
      expect(out2).toEqual(out1);
      expect(out2.Output).toBeTruthy();
      expect(t2).toEqual(t1 === undefined ? undefined : expect.any(Date));
      expect(console2.requestId).toBeTruthy();

      const make = () =>
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: false },
          Description: 'cloud-custody lean sender check',
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'CaseId', Value: 'lean-check' }, { Key: 'Note', Value: 'a & b / c' }] }],
        });
      const created1 = (await callAws('createSnapshots', sdk, make(), { resource: instanceArn })).output.Snapshots ?? [];
      const created2 = (await callAws('createSnapshots', lean!, make(), { resource: instanceArn })).output.Snapshots ?? [];
      expect(created2).toHaveLength(2);
      const comparable = (s: (typeof created1)[number]) => {
        const { SnapshotId, StartTime, ...rest } = s;
        return { ...rest, SnapshotId: typeof SnapshotId, StartTime: StartTime instanceof Date ? 'Date' : typeof StartTime };
      };
      expect(created2.map(comparable)).toEqual(created1.map(comparable));

      const ids = [...created1, ...created2].map((s) => s.SnapshotId!);
      const describe = () => new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ids }] });
      const described1 = (await callAws('describeSnapshots', sdk, describe(), { resource: 'snapshots' })).output;
      const described2 = (await callAws('describeSnapshots', lean!, describe(), { resource: 'snapshots' })).output;
      const { $metadata: _m3, ...d1 } = described1;
      const { $metadata: _m4, ...d2 } = described2;
      expect(d2.Snapshots).toHaveLength(4);
      expect(d2).toEqual(d1);

      const missing = await callAws('getConsoleOutput', lean!, new GetConsoleOutputCommand({ InstanceId: 'i-0123456789abcdef0' }), { resource: 'arn:missing' }).catch((e: unknown) => e);
      const missingSdk = await callAws('getConsoleOutput', sdk, new GetConsoleOutputCommand({ InstanceId: 'i-0123456789abcdef0' }), { resource: 'arn:missing' }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: (missingSdk as { code: string }).code, action: 'ec2:GetConsoleOutput', resource: 'arn:missing' });
      expect((missing as Error).message).toBe((missingSdk as Error).message);
    } finally {
      clients.destroy();
    }
  });

  it('resolves the analyst from the forensics credentials when none is given', async () => {
    const identity = await resolveCallerIdentity(config, { credentials: forensicsCredentials });
    expect(identity.account).toMatch(/^\d{12}$/);
    expect(identity.arn).toMatch(/^arn:aws:/);
    expect(identity.requestId).toBeTruthy();
  });

  it('collects a tagged instance: one CreateSnapshots for both volumes, re-encrypted under the shareable key, shared with the forensics account only', async () => {
    const aws = provider();
    const recorder = new MemoryRecorder('case-moto-1');
    const target = parseTarget(instanceArn);
    aws.validate(target);
    const outcome = await aws.collect(target, contextFor(recorder));
    await aws.close?.();

    expect(outcome.status, outcome.reason).toBe('collected');
    const assumed = recorder.ofType('credentials.assumed')[0]!;
    expect(assumed.data).toMatchObject({
      account: TARGET_ACCOUNT,
      roleArn: `arn:aws:iam::${TARGET_ACCOUNT}:role/CloudCustodyCollector`,
      sessionName: 'custody-case-moto-1',
      // moto drops SourceIdentity from its answer: the ledger says so instead of claiming it.
      sourceIdentity: 'requested, not echoed',
      sourceIdentityRequested: 'alice@example.com',
      sessionTags: 'requested, not echoed',
      sessionTagsRequested: { CaseId: 'case-moto-1' },
    });
    expect(String(assumed.data.arn)).toContain('assumed-role/CloudCustodyCollector/custody-case-moto-1');
    expect(ledgerText(recorder.log)).not.toMatch(/forensics-secret|secretAccessKey|sessionToken|SessionToken/);

    const creates = recorder.ofType('snapshot.requested').filter((e) => e.data.operation === 'CreateSnapshots');
    expect(creates).toHaveLength(1);
    const created = recorder.ofType('snapshot.created')[0]!;
    const snaps = created.data.snapshots as Array<{ volumeId: string; snapshotId: string }>;
    expect(snaps).toHaveLength(2);
    expect(recorder.types().indexOf('snapshot.requested')).toBeLessThan(recorder.types().indexOf('snapshot.created'));

    // moto volumes are unencrypted: each is copied under the shareable key before sharing.
    const copies = recorder.ofType('snapshot.copied');
    expect(copies).toHaveLength(2);
    for (const copy of copies) {
      const attr = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: String(copy.data.snapshotId), Attribute: 'createVolumePermission' }));
      expect(attr.CreateVolumePermissions).toEqual([{ UserId: '111111111111' }]);
    }
    const artifacts = manifestArtifacts(recorder.log);
    expect(artifacts).toHaveLength(2);
    expect(artifacts.map((a) => a.cloudIds.snapshotId).sort()).toEqual(snaps.map((s) => s.snapshotId).sort());

    const evidenceId = outcome.evidenceIds[0]!;
    const description = JSON.parse(recorder.file(evidenceId, 'instance.json')!);
    expect(description.instance.instance.InstanceId).toBe(instanceId);
    expect(description.volumes.volumes).toHaveLength(2);
    expect(recorder.file(evidenceId, 'console-output.txt')).toContain('Linux');
    expect(description.kmsKeys.keys[0].role).toBe('shareable');

    const tagged = await caseSnapshots('case-moto-1');
    // Two source snapshots and two re-encrypted copies, every one carrying the case and evidence ids.
    expect(tagged).toHaveLength(4);
    for (const s of tagged) expect(s.Tags?.some((t) => t.Key === 'EvidenceId')).toBe(true);
  });

  it('each share is read back with DescribeSnapshotAttribute: snapshot.shared lists whom moto reports, with the share\'s and the read-back\'s request ids', async () => {
    const aws = provider();
    const recorder = new MemoryRecorder('case-moto-share-read');
    const outcome = await aws.collect(parseTarget(instanceArn), contextFor(recorder));
    await aws.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    const shared = recorder.ofType('snapshot.shared');
    expect(shared).toHaveLength(2);
    for (const entry of shared) {
      expect(entry.data).toMatchObject({
        withAccount: '111111111111',
        requestId: expect.any(String),
        confirmed: { createVolumePermission: [{ userId: '111111111111' }] },
        confirmRequestId: expect.any(String),
      });
      expect(entry.data.confirmRequestId).not.toBe(entry.data.requestId);
      // What the ledger says is what moto says now.
      const attr = await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: String(entry.data.snapshotId), Attribute: 'createVolumePermission' }));
      expect(attr.CreateVolumePermissions).toEqual([{ UserId: '111111111111' }]);
    }
    expect(recorder.ofType('snapshot.share-unconfirmed')).toEqual([]);
  });

  it('a rerun of the same case adopts the snapshots and copies it finds instead of creating new ones', async () => {
    const first = new MemoryRecorder('case-moto-resume');
    const target = parseTarget(instanceArn);
    const a = provider();
    expect((await a.collect(target, contextFor(first))).status).toBe('collected');
    await a.close?.();
    const before = (await caseSnapshots('case-moto-resume')).map((s) => s.SnapshotId).sort();

    const second = new MemoryRecorder('case-moto-resume', 'alice@example.com', first.log);
    const b = provider();
    const outcome = await b.collect(target, contextFor(second));
    await b.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    const after = (await caseSnapshots('case-moto-resume')).map((s) => s.SnapshotId).sort();
    expect(after).toEqual(before);
    const rerun = second.log.slice(first.log.length);
    expect(rerun.filter((e) => e.type === 'snapshot.adopted')).toHaveLength(4);
    expect(rerun.filter((e) => e.type === 'snapshot.requested' && e.data.operation !== 'ModifySnapshotAttribute')).toHaveLength(0);
    // The artefacts were recorded by the first run; the rerun does not record them twice.
    expect(rerun.filter((e) => e.type === 'artifact.recorded')).toHaveLength(0);
  });

  it('--preserve: termination protection read before and after (DescribeInstanceAttribute) and DeleteOnTermination read back (DescribeInstances), recorded as moto reports them', async () => {
    const id = await runTaggedInstance({ DeleteOnTermination: true });
    const aws = provider();
    const recorder = new MemoryRecorder('case-moto-preserve');
    const outcome = await aws.collect(parseTarget(`arn:aws:ec2:${REGION}:${TARGET_ACCOUNT}:instance/${id}`), contextFor(recorder, { preserve: true }));
    await aws.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    const [protection, volumes] = recorder.ofType('change.applied').map((e) => e.data);
    expect(protection).toMatchObject({ attribute: 'disableApiTermination', before: false, after: true, confirmed: { disableApiTermination: true } });
    expect(volumes).toMatchObject({ attribute: 'deleteOnTermination' });
    expect((volumes!.volumes as Array<{ before: unknown; after: unknown }>).map((v) => [v.before, v.after])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(recorder.ofType('change.unconfirmed')).toEqual([]);
    const read = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'disableApiTermination' }));
    expect(read.DisableApiTermination?.Value).toBe(true);
  });

  it('an instance that does not exist fails with a reason naming it, and the ledger says why', async () => {
    const aws = provider();
    const recorder = new MemoryRecorder('case-moto-missing');
    const target = parseTarget(`arn:aws:ec2:${REGION}:${TARGET_ACCOUNT}:instance/i-0123456789abcdef0`);
    const outcome = await aws.collect(target, contextFor(recorder));
    await aws.close?.();
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toContain('i-0123456789abcdef0');
    expect(outcome.error).toMatchObject({ code: 'E_NOT_FOUND' });
    expect(recorder.ofType('step.failed')[0]!.data).toMatchObject({ step: 'describe-instance', error: { code: 'E_NOT_FOUND' } });
    expect(recorder.ofType('snapshot.requested')).toHaveLength(0);
  });

  it('a volume named on its own is snapshotted alone with CreateSnapshot, tagged, and shared', async () => {
    const aws = provider();
    const recorder = new MemoryRecorder('case-moto-volume');
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const volumeId = described.Reservations![0]!.Instances![0]!.BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/sdf')!.Ebs!.VolumeId!;
    const target = parseTarget(`arn:aws:ec2:${REGION}:${TARGET_ACCOUNT}:volume/${volumeId}`);
    const outcome = await aws.collect(target, contextFor(recorder));
    await aws.close?.();
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(recorder.ofType('snapshot.requested')[0]!.data).toMatchObject({ operation: 'CreateSnapshot', volumeId });
    const sources = (await caseSnapshots('case-moto-volume')).filter((s) => !s.Tags?.some((t) => t.Key === 'SourceSnapshotId'));
    expect(sources.map((s) => s.VolumeId)).toEqual([volumeId]);
    expect(recorder.ofType('artifact.recorded')[0]!.data).toMatchObject({ evidenceId: outcome.evidenceIds[0], source: target.key });
  });

  it('a tag selector searches every allowed account and region and records what it found', async () => {
    const aws = provider();
    const recorder = new MemoryRecorder('case-moto-select');
    const targets = await aws.resolveSelector(parseSelector('tag:Incident=ir-42'), contextFor(recorder));
    await aws.close?.();
    expect(targets.map((t) => (isAwsTarget(t) && t.kind === 'aws-instance' ? t.instanceId : ''))).toEqual([instanceId]);
    expect(recorder.ofType('selector.searched')[0]!.data).toMatchObject({ scope: { account: TARGET_ACCOUNT, region: REGION }, found: [instanceId] });
  });
});
