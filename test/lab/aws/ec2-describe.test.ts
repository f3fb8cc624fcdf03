import {
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  GetConsoleOutputCommand,
  GetConsoleScreenshotCommand,
  paginateDescribeInstances,
  type Instance,
} from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchScenario, startLab } from '../../../src/lab/index.js';
import { assumeCollector, ec2Client, failureOf, startDemoLab, useLab, type Credentials } from './helpers.js';

describe('lab EC2: describing what is there', () => {
  const lab = useLab(() => startDemoLab());
  let collector: Credentials;
  beforeAll(async () => {
    collector = await assumeCollector(lab, '222222222222');
  });

  it('finds only the instances carrying the collection tag', async () => {
    const out = await ec2Client(lab, collector).send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:ForensicsEnabled', Values: ['true'] }] }),
    );
    const instances = out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    const names = instances.map((i) => i.Tags?.find((t) => t.Key === 'Name')?.Value).sort();
    expect(names).toEqual(['db-01', 'web-01']);
    const web = instances.find((i) => i.Tags?.some((t) => t.Value === 'web-01')) as Instance;
    expect(web.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(web.State).toEqual({ Code: 16, Name: 'running' });
    expect(web.BlockDeviceMappings?.map((b) => b.DeviceName)).toEqual(['/dev/xvda', '/dev/sdf']);
    expect(web.BlockDeviceMappings?.[0]?.Ebs?.DeleteOnTermination).toBe(true);
    expect(web.LaunchTime).toBeInstanceOf(Date);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sees its own account only: another account holds the INC-42 host', async () => {
    const out = await ec2Client(lab, collector).send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Incident', Values: ['INC-42'] }] }),
    );
    expect(out.Reservations ?? []).toHaveLength(0);
    const other = await assumeCollector(lab, '333333333333');
    const there = await ec2Client(lab, other).send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Incident', Values: ['INC-*'] }, { Name: 'instance-state-name', Values: ['running'] }] }),
    );
    expect(there.Reservations?.[0]?.OwnerId).toBe('333333333333');
  });

  it('refuses a page size EC2 refuses, and ids with a page size', async () => {
    const tooSmall = await failureOf(ec2Client(lab, collector).send(new DescribeInstancesCommand({ MaxResults: 2 })));
    expect(tooSmall.name).toBe('InvalidParameterValue');
    const both = await failureOf(
      ec2Client(lab, collector).send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(both.name).toBe('InvalidParameterCombination');
  });

  it('names the missing instance, and a malformed id', async () => {
    const missing = await failureOf(
      ec2Client(lab, collector).send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    expect(missing.message).toBe("The instance ID 'i-0123456789abcdef0' does not exist");
    const malformed = await failureOf(ec2Client(lab, collector).send(new DescribeInstancesCommand({ InstanceIds: ['web-01'] })));
    expect(malformed.name).toBe('InvalidInstanceID.Malformed');
  });

  it('rejects a filter EC2 does not know', async () => {
    const error = await failureOf(
      ec2Client(lab, collector).send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })),
    );
    expect(error.name).toBe('InvalidParameterValue');
    // Even where nothing could match: there are no snapshots in the account yet.
    const empty = await failureOf(
      ec2Client(lab, collector).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'colour', Values: ['red'] }] })),
    );
    expect(empty.name).toBe('InvalidParameterValue');
  });

  it('describes the volumes of one instance with their keys and attachments', async () => {
    const ec2 = ec2Client(lab, collector);
    const web = (
      await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-01'] }] }))
    ).Reservations?.[0]?.Instances?.[0];
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [web?.InstanceId ?? ''] }] }),
    );
    expect(volumes.Volumes).toHaveLength(2);
    const root = volumes.Volumes?.find((v) => v.Attachments?.[0]?.Device === '/dev/xvda');
    expect(root?.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/);
    expect(root?.Encrypted).toBe(true);
    expect(root?.KmsKeyId).toMatch(/^arn:aws:kms:us-east-1:222222222222:key\//);
    expect(root?.State).toBe('in-use');
    expect(root?.Attachments?.[0]?.InstanceId).toBe(web?.InstanceId);
    expect(root?.Tags).toContainEqual({ Key: 'ForensicsEnabled', Value: 'true' });
    const byId = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [root?.VolumeId ?? ''] }));
    expect(byId.Volumes?.[0]?.Size).toBe(8);
  });

  it('hands over the console output base64-encoded, and a JPEG screenshot', async () => {
    const ec2 = ec2Client(lab, collector);
    const web = (
      await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-01'] }] }))
    ).Reservations?.[0]?.Instances?.[0];
    const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: web?.InstanceId, Latest: true }));
    const text = Buffer.from(out.Output ?? '', 'base64').toString('utf8');
    expect(text).toContain('Linux version');
    expect(text).toContain('Accepted publickey for ec2-user from 203.0.113.45');
    expect(out.Timestamp).toBeInstanceOf(Date);
    const shot = await ec2.send(new GetConsoleScreenshotCommand({ InstanceId: web?.InstanceId }));
    const jpeg = Buffer.from(shot.ImageData ?? '', 'base64');
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
  });
});

describe('lab EC2: paging a large account', () => {
  const lab = useLab(() => startLab(benchScenario({ accounts: 1, instancesPerAccount: 12, volumesPerInstance: 1 })));

  it('pages through every instance with the SDK paginator, each exactly once', async () => {
    const collector = await assumeCollector(lab, '200000000001');
    const ids: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances({ client: ec2Client(lab, collector), pageSize: 5 }, {
      Filters: [{ Name: 'tag:ForensicsEnabled', Values: ['true'] }],
    })) {
      pages += 1;
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) ids.push(i.InstanceId ?? '');
    }
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(12);
  });

  it('refuses a NextToken minted by another action', async () => {
    const collector = await assumeCollector(lab, '200000000001');
    const ec2 = ec2Client(lab, collector);
    const first = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5 }));
    expect(first.Volumes).toHaveLength(5);
    expect(first.NextToken).toBeDefined();
    const error = await failureOf(ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: first.NextToken })));
    expect(error.name).toBe('InvalidParameterValue');
  });
});
