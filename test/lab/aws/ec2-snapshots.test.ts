import {
  CopySnapshotCommand,
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  DescribeInstancesCommand,
  DescribeLockedSnapshotsCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  LockSnapshotCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { assumeCollector, ec2Client, failureOf, startDemoLab, useLab, type Credentials } from './helpers.js';

const CASE_TAGS = [
  { Key: 'CaseId', Value: 'CASE-2026-001' },
  { Key: 'EvidenceId', Value: 'ev-0001' },
];

async function instanceNamed(ec2: EC2Client, name: string): Promise<string> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  const id = out.Reservations?.[0]?.Instances?.[0]?.InstanceId;
  if (!id) throw new Error(`no instance ${name}`);
  return id;
}

async function snapshot(ec2: EC2Client, id: string): Promise<Snapshot> {
  const out = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
  const found = out.Snapshots?.[0];
  if (!found) throw new Error(`no snapshot ${id}`);
  return found;
}

describe('lab EC2: snapshots and the transfer to the forensics account', () => {
  const lab = useLab(() => startDemoLab());
  let collector: Credentials;
  let target: EC2Client;
  let forensics: EC2Client;
  let rootSnapshot: Snapshot;
  let dataSnapshot: Snapshot;

  beforeAll(async () => {
    collector = await assumeCollector(lab, '222222222222');
    target = ec2Client(lab, collector);
    forensics = ec2Client(lab, lab.orchestratorCredentials);
    const web = await instanceNamed(target, 'web-01');
    const created = await target.send(
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: web, ExcludeBootVolume: false },
        Description: 'cloud-custody CASE-2026-001 web-01',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }],
      }),
    );
    const snapshots = created.Snapshots ?? [];
    expect(snapshots).toHaveLength(2);
    rootSnapshot = snapshots.find((s) => s.VolumeSize === 8) as Snapshot;
    dataSnapshot = snapshots.find((s) => s.VolumeSize === 20) as Snapshot;
  });

  it('creates one snapshot per attached volume, tagged at creation, pending until the clock moves', async () => {
    expect(rootSnapshot.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(rootSnapshot.State).toBe('pending');
    expect(rootSnapshot.Tags).toEqual(CASE_TAGS);
    expect(rootSnapshot.OwnerId).toBe('222222222222');
    const pending = await snapshot(target, rootSnapshot.SnapshotId ?? '');
    expect(pending.State).toBe('pending');
    expect(pending.Encrypted).toBe(true);
    lab.clock.advance(2_000);
    const done = await snapshot(target, rootSnapshot.SnapshotId ?? '');
    expect(done.State).toBe('completed');
    expect(done.Progress).toBe('100%');
    expect(done.Tags).toEqual(CASE_TAGS);
    expect(done.Description).toBe('cloud-custody CASE-2026-001 web-01');
  });

  it('leaves the boot volume out when asked', async () => {
    const web = await instanceNamed(target, 'web-01');
    const created = await target.send(
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: web, ExcludeBootVolume: true },
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }],
      }),
    );
    expect(created.Snapshots?.map((s) => s.VolumeSize)).toEqual([20]);
  });

  it('snapshots a single tagged volume with CreateSnapshot, and refuses an untagged one', async () => {
    const volumes = await target.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-01-data', 'batch-01-root'] }] }));
    const tagged = volumes.Volumes?.find((v) => v.Tags?.some((t) => t.Value === 'web-01-data'));
    const untagged = volumes.Volumes?.find((v) => v.Tags?.some((t) => t.Value === 'batch-01-root'));
    const one = await target.send(
      new CreateSnapshotCommand({ VolumeId: tagged?.VolumeId, TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }] }),
    );
    expect(one.SnapshotId).toMatch(/^snap-/);
    expect(one.State).toBe('pending');
    expect(one.VolumeId).toBe(tagged?.VolumeId);
    expect(one.Tags).toEqual(CASE_TAGS);
    const refused = await failureOf(
      target.send(new CreateSnapshotCommand({ VolumeId: untagged?.VolumeId, TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }] })),
    );
    expect(refused.name).toBe('UnauthorizedOperation');
    expect(refused.message).toContain(`ec2:CreateSnapshot on resource: arn:aws:ec2:us-east-1:222222222222:volume/${untagged?.VolumeId}`);
  });

  it('finds the case snapshots by tag and status', async () => {
    lab.clock.advance(2_000);
    const out = await target.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [
          { Name: 'tag:CaseId', Values: ['CASE-2026-001'] },
          { Name: 'status', Values: ['completed'] },
        ],
      }),
    );
    expect(out.Snapshots?.length).toBe(4);
  });

  it('refuses to share a snapshot under aws/ebs, as AWS does', async () => {
    const error = await failureOf(
      target.send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: rootSnapshot.SnapshotId,
          Attribute: 'createVolumePermission',
          CreateVolumePermission: { Add: [{ UserId: '111111111111' }] },
        }),
      ),
    );
    expect(error.name).toBe('OperationNotPermitted');
    expect(error.message).toBe('Encrypted snapshots with EBS default key cannot be shared');
  });

  it('shares a snapshot under a customer key with the forensics account, which then sees and copies it', async () => {
    const id = dataSnapshot.SnapshotId ?? '';
    // Before the share the forensics account cannot see it at all.
    const hidden = await failureOf(forensics.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] })));
    expect(hidden.name).toBe('InvalidSnapshot.NotFound');
    expect(hidden.message).toBe(`The snapshot '${id}' does not exist.`);

    await target.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: id,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: { Add: [{ UserId: '111111111111' }] },
      }),
    );
    const attribute = await target.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }));
    expect(attribute.CreateVolumePermissions).toEqual([{ UserId: '111111111111' }]);

    const shared = await forensics.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'], OwnerIds: ['222222222222'] }));
    expect(shared.Snapshots?.map((s) => s.SnapshotId)).toEqual([id]);

    const copy = await forensics.send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: id,
        Encrypted: true,
        KmsKeyId: 'alias/cloud-custody-forensics',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [...CASE_TAGS, { Key: 'SourceSnapshotId', Value: id }] }],
      }),
    );
    expect(copy.SnapshotId).toMatch(/^snap-/);
    lab.clock.advance(2_000);
    const kept = await snapshot(forensics, copy.SnapshotId ?? '');
    expect(kept.OwnerId).toBe('111111111111');
    expect(kept.State).toBe('completed');
    expect(kept.KmsKeyId).toMatch(/^arn:aws:kms:us-east-1:111111111111:key\//);
    expect(kept.Tags).toContainEqual({ Key: 'SourceSnapshotId', Value: id });
  });

  it('re-encrypts an aws/ebs snapshot with the shareable key, then the copy can be shared', async () => {
    const copy = await target.send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: rootSnapshot.SnapshotId,
        Encrypted: true,
        KmsKeyId: 'arn:aws:kms:us-east-1:222222222222:alias/cloud-custody-share',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }],
      }),
    );
    lab.clock.advance(2_000);
    const reencrypted = await snapshot(target, copy.SnapshotId ?? '');
    const shareKey = lab.state.resolveKey('222222222222', 'us-east-1', 'alias/cloud-custody-share');
    expect(reencrypted.KmsKeyId).toBe(shareKey?.arn);
    expect(reencrypted.VolumeId).toBe('vol-ffffffff');
    await target.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: copy.SnapshotId,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: ['111111111111'],
      }),
    );
    const seen = await forensics.send(new DescribeSnapshotsCommand({ SnapshotIds: [copy.SnapshotId ?? ''] }));
    expect(seen.Snapshots?.[0]?.OwnerId).toBe('222222222222');
  });

  it('fails the copy when the forensics account may not use the source key', async () => {
    lab.state.addKey({ account: '222222222222', region: 'us-east-1', alias: 'alias/private' });
    const copy = await target.send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: rootSnapshot.SnapshotId,
        Encrypted: true,
        KmsKeyId: 'alias/private',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }],
      }),
    );
    lab.clock.advance(2_000);
    await target.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: copy.SnapshotId,
        Attribute: 'createVolumePermission',
        CreateVolumePermission: { Add: [{ UserId: '111111111111' }] },
      }),
    );
    const attempt = await forensics.send(
      new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: copy.SnapshotId, Encrypted: true, KmsKeyId: 'alias/cloud-custody-forensics' }),
    );
    const failed = await snapshot(forensics, attempt.SnapshotId ?? '');
    expect(failed.State).toBe('error');
    expect(failed.StateMessage).toBe('Given key ID is not accessible');
  });

  it('refuses to copy a snapshot that has not completed', async () => {
    const web = await instanceNamed(target, 'web-01');
    const fresh = await target.send(
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: web },
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }],
      }),
    );
    const id = fresh.Snapshots?.[0]?.SnapshotId ?? '';
    const error = await failureOf(
      target.send(
        new CopySnapshotCommand({
          SourceRegion: 'us-east-1',
          SourceSnapshotId: id,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: CASE_TAGS }],
        }),
      ),
    );
    expect(error.name).toBe('IncorrectState');
    expect(error.message).toBe(`Snapshot '${id}' is not 'completed'.`);
  });

  it('requires Encrypted with a KmsKeyId', async () => {
    const error = await failureOf(
      target.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: rootSnapshot.SnapshotId, KmsKeyId: 'alias/cloud-custody-share' })),
    );
    expect(error.name).toBe('InvalidParameterDependency');
  });

  it('locks a forensics copy in compliance mode and lists it as locked', async () => {
    const copies = await forensics.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'status', Values: ['completed'] }] }));
    const id = copies.Snapshots?.[0]?.SnapshotId ?? '';
    const locked = await forensics.send(new LockSnapshotCommand({ SnapshotId: id, LockMode: 'compliance', LockDuration: 30, CoolOffPeriod: 1 }));
    expect(locked.LockState).toBe('compliance-cooloff');
    expect(locked.LockDuration).toBe(30);
    expect(locked.LockExpiresOn).toBeInstanceOf(Date);
    lab.clock.advance(2 * 3600_000);
    const listed = await forensics.send(new DescribeLockedSnapshotsCommand({ SnapshotIds: [id] }));
    expect(listed.Snapshots?.[0]?.LockState).toBe('compliance');
    const again = await failureOf(forensics.send(new LockSnapshotCommand({ SnapshotId: id, LockMode: 'governance', LockDuration: 1 })));
    expect(again.name).toBe('SnapshotLocked');
  });
});
