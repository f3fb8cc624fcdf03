import {
  CopySnapshotCommand,
  CreateSnapshotsCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { assumeCollector, CASE_TAGS, ec2Client, failureOf, instanceNamed, kmsClient, startDemoLab, useLab } from './helpers.js';

describe('lab EC2 throttling', () => {
  // A stopped clock: buckets refill only when the test moves time.
  const lab = useLab(() => startDemoLab({ clockSpeed: 0 }));

  it('empties the unfiltered Describe bucket after 50 calls and answers RequestLimitExceeded', async () => {
    const ec2 = ec2Client(lab, lab.orchestratorCredentials);
    for (let i = 0; i < 50; i += 1) await ec2.send(new DescribeInstancesCommand({}));
    const error = await failureOf(ec2.send(new DescribeInstancesCommand({})));
    expect(error.name).toBe('RequestLimitExceeded');
    expect(error.$metadata?.httpStatusCode).toBe(503);
    // The filtered bucket is a separate one.
    await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag-key', Values: ['Name'] }] }));
    // A tenth of a second refills one token (10 per second).
    lab.clock.advance(100);
    await ec2.send(new DescribeInstancesCommand({}));
  });

  it('lets the SDK retry recover once the bucket refills', async () => {
    const ec2 = ec2Client(lab, lab.orchestratorCredentials, { maxAttempts: 3 });
    let attempts = 0;
    // Time passes between the SDK's attempts; on the lab's clock that is this advance.
    ec2.middlewareStack.add(
      (next) => async (args) => {
        attempts += 1;
        if (attempts > 1) lab.clock.advance(200);
        return next(args);
      },
      { step: 'deserialize', name: 'labClockBetweenAttempts' },
    );
    const before = lab.control.throttled();
    const out = await ec2.send(new DescribeInstancesCommand({}));
    expect(out.Reservations).toBeDefined();
    expect(attempts).toBe(2);
    expect(lab.control.throttled()).toBe(before + 1);
  });

  it('serves everything once throttling is switched off', async () => {
    lab.control.setThrottling(false);
    const ec2 = ec2Client(lab, lab.orchestratorCredentials);
    for (let i = 0; i < 60; i += 1) await ec2.send(new DescribeInstancesCommand({}));
    lab.control.setThrottling(true);
  });
});

describe('lab faults, expiry and termination', () => {
  const lab = useLab(() => startDemoLab());

  it('fails the next N calls of an action with the injected error, then recovers', async () => {
    const target = ec2Client(lab, await assumeCollector(lab, '333333333333'));
    lab.control.failNext({ action: 'ec2:DescribeVolumes', count: 2, code: 'Unavailable', status: 503, message: 'The service is unavailable.' });
    expect((await failureOf(target.send(new DescribeVolumesCommand({})))).name).toBe('Unavailable');
    expect((await failureOf(target.send(new DescribeVolumesCommand({})))).name).toBe('Unavailable');
    const out = await target.send(new DescribeVolumesCommand({}));
    expect(out.Volumes?.length).toBe(3);
  });

  it('answers an unknown key with AuthFailure and an expired session with RequestExpired (EC2) and ExpiredTokenException (KMS)', async () => {
    const stranger = ec2Client(lab, { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' });
    const unknown = await failureOf(stranger.send(new DescribeInstancesCommand({})));
    expect(unknown.name).toBe('AuthFailure');
    const creds = await assumeCollector(lab, '222222222222');
    lab.control.expireSessions();
    const expired = await failureOf(ec2Client(lab, creds).send(new DescribeInstancesCommand({})));
    expect(expired.name).toBe('RequestExpired');
    const kms = await failureOf(kmsClient(lab, creds).send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' })));
    expect(kms.name).toBe('ExpiredTokenException');
  });

  it('expires a session by itself once its lab time is up', async () => {
    const creds = await assumeCollector(lab, '222222222222', { DurationSeconds: 900 });
    const ec2 = ec2Client(lab, creds);
    await ec2.send(new DescribeInstancesCommand({}));
    lab.clock.advance(901_000);
    expect((await failureOf(ec2.send(new DescribeInstancesCommand({})))).name).toBe('RequestExpired');
  });

  it('terminates an instance just before the snapshot call: the call fails, the instance lingers as terminated, then is gone', async () => {
    const target = ec2Client(lab, await assumeCollector(lab, '222222222222'));
    const web = await instanceNamed(target, 'web-01');
    lab.control.terminateInstance(web, { onCall: { action: 'ec2:CreateSnapshots', n: 1 } });
    const error = await failureOf(target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web }, TagSpecifications: CASE_TAGS })));
    expect(error.name).toBe('IncorrectInstanceState');
    const after = await target.send(new DescribeInstancesCommand({ InstanceIds: [web] }));
    const instance = after.Reservations?.[0]?.Instances?.[0];
    expect(instance?.State).toEqual({ Code: 48, Name: 'terminated' });
    expect(instance?.StateReason?.Code).toBe('Client.UserInitiatedShutdown');
    // The root volume went with it (DeleteOnTermination); the data volume survives, detached.
    const volumes = await target.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-01-*'] }] }));
    expect(volumes.Volumes?.map((v) => [v.Tags?.find((t) => t.Key === 'Name')?.Value, v.State])).toEqual([['web-01-data', 'available']]);
    lab.clock.advance(3600_000);
    const creds = await assumeCollector(lab, '222222222222');
    const gone = await failureOf(ec2Client(lab, creds).send(new DescribeInstancesCommand({ InstanceIds: [web] })));
    expect(gone.name).toBe('InvalidInstanceID.NotFound');
  });

  it('terminates an instance at a scheduled lab time, not before', async () => {
    const target = ec2Client(lab, await assumeCollector(lab, '333333333333'));
    const api = await instanceNamed(target, 'api-01');
    lab.control.terminateInstance(api, { afterMs: 60_000 });
    const state = async () => (await target.send(new DescribeInstancesCommand({ InstanceIds: [api] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name;
    expect(await state()).toBe('running');
    lab.clock.advance(60_000);
    expect(await state()).toBe('terminated');
  });

  it('counts every call by account and action', () => {
    const calls = lab.calls();
    expect(calls['111111111111']?.['sts:AssumeRole']).toBeGreaterThanOrEqual(5);
    expect(calls['222222222222']?.['ec2:CreateSnapshots']).toBe(1);
    expect(calls['333333333333']?.['ec2:DescribeVolumes']).toBe(3);
    expect(calls['333333333333']?.['ec2:DescribeInstances']).toBe(3);
    expect(lab.control.totalCalls('ec2:DescribeVolumes')).toBe(4);
  });
});

describe('lab EC2 quotas', () => {
  const lab = useLab(() => startDemoLab({ limits: { pendingSnapshots: 3, concurrentCopies: 1 } }));

  it('refuses snapshots beyond the pending quota and copies beyond the concurrent-copy quota', async () => {
    const target = ec2Client(lab, await assumeCollector(lab, '222222222222'));
    const web = await instanceNamed(target, 'web-01');
    const db = await instanceNamed(target, 'db-01');
    const first = await target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web }, TagSpecifications: CASE_TAGS }));
    await target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: db }, TagSpecifications: CASE_TAGS }));
    const over = await failureOf(target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web }, TagSpecifications: CASE_TAGS })));
    expect(over.name).toBe('PendingSnapshotLimitExceeded');

    lab.clock.advance(2_000);
    const copy = (id: string | undefined) =>
      target.send(
        new CopySnapshotCommand({
          SourceRegion: 'us-east-1',
          SourceSnapshotId: id,
          Encrypted: true,
          KmsKeyId: 'alias/cloud-custody-share',
          TagSpecifications: CASE_TAGS,
        }),
      );
    await copy(first.Snapshots?.[0]?.SnapshotId);
    const busy = await failureOf(copy(first.Snapshots?.[1]?.SnapshotId));
    expect(busy.name).toBe('ResourceLimitExceeded');
    expect(busy.message).toBe('Too many snapshot copies in progress. The limit is 1 for this destination region.');
    lab.clock.advance(2_000);
    await copy(first.Snapshots?.[1]?.SnapshotId);
  });
});
