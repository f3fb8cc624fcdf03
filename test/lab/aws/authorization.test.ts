import {
  CreateSnapshotsCommand,
  DescribeInstanceAttributeCommand,
  DescribeSnapshotsCommand,
  ModifyInstanceAttributeCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, demoScenario, type AuthorizationRequest, type RunningLab } from '../../../src/lab/index.js';
import { createDefaultAuthorizer } from '../../../src/lab/aws/authorizer.js';
import { assumeCollector, CASE_TAGS, ec2Client, failureOf, instanceNamed, startDemoLab, useLab } from './helpers.js';

describe('lab authorization with the collector role intent', () => {
  const lab = useLab(() => startDemoLab());
  let target: EC2Client;
  beforeAll(async () => {
    target = ec2Client(lab, await assumeCollector(lab, '222222222222'));
  });

  it('refuses to snapshot an untagged instance and names the action and the instance', async () => {
    const batch = await instanceNamed(target, 'batch-01');
    const error = await failureOf(
      target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: batch }, TagSpecifications: CASE_TAGS })),
    );
    expect(error.name).toBe('UnauthorizedOperation');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    expect(error.message).toContain(
      'User: arn:aws:sts::222222222222:assumed-role/CloudCustodyCollector/custody-CASE-2026-001 is not authorized to perform: ' +
        `ec2:CreateSnapshots on resource: arn:aws:ec2:us-east-1:222222222222:instance/${batch} because no identity-based policy allows the ec2:CreateSnapshots action`,
    );
    const none = await target.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect(none.Snapshots ?? []).toHaveLength(0);
  });

  it('refuses snapshots without the case tag, on the snapshot resource', async () => {
    const web = await instanceNamed(target, 'web-01');
    const error = await failureOf(target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web } })));
    expect(error.name).toBe('UnauthorizedOperation');
    expect(error.message).toContain('on resource: arn:aws:ec2:us-east-1::snapshot/*');
  });

  it('answers DryRun with DryRunOperation when allowed and UnauthorizedOperation when not, creating nothing', async () => {
    const web = await instanceNamed(target, 'web-01');
    const batch = await instanceNamed(target, 'batch-01');
    const allowed = await failureOf(
      target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web }, TagSpecifications: CASE_TAGS, DryRun: true })),
    );
    expect(allowed.name).toBe('DryRunOperation');
    expect(allowed.$metadata?.httpStatusCode).toBe(412);
    const refused = await failureOf(
      target.send(new ModifyInstanceAttributeCommand({ InstanceId: batch, DisableApiTermination: { Value: true }, DryRun: true })),
    );
    expect(refused.name).toBe('UnauthorizedOperation');
    const none = await target.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect(none.Snapshots ?? []).toHaveLength(0);
  });

  it('preserves a tagged instance on request: termination protection and DeleteOnTermination=false', async () => {
    const web = await instanceNamed(target, 'web-01');
    await target.send(new ModifyInstanceAttributeCommand({ InstanceId: web, DisableApiTermination: { Value: true } }));
    await target.send(
      new ModifyInstanceAttributeCommand({ InstanceId: web, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false } }] }),
    );
    const instance = lab.state.findInstance(web);
    expect(instance?.disableApiTermination).toBe(true);
    expect(instance?.blockDevices.find((d) => d.deviceName === '/dev/xvda')?.deleteOnTermination).toBe(false);
  });

  it('DescribeInstanceAttribute answers in EC2\'s shape on a tagged instance, and is refused on an untagged one (the attribute read is held to the tag)', async () => {
    const web = await instanceNamed(target, 'web-01');
    const batch = await instanceNamed(target, 'batch-01');
    const instance = lab.state.findInstance(web)!;
    const protection = await target.send(new DescribeInstanceAttributeCommand({ InstanceId: web, Attribute: 'disableApiTermination' }));
    expect(protection.InstanceId).toBe(web);
    expect(protection.DisableApiTermination).toEqual({ Value: instance.disableApiTermination });
    expect(protection.BlockDeviceMappings).toBeUndefined();
    const mappings = await target.send(new DescribeInstanceAttributeCommand({ InstanceId: web, Attribute: 'blockDeviceMapping' }));
    expect(mappings.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.VolumeId, m.Ebs?.DeleteOnTermination])).toEqual(
      instance.blockDevices.map((d) => [d.deviceName, d.volumeId, d.deleteOnTermination]),
    );
    const refused = await failureOf(target.send(new DescribeInstanceAttributeCommand({ InstanceId: batch, Attribute: 'disableApiTermination' })));
    expect(refused.name).toBe('UnauthorizedOperation');
    expect(refused.message).toContain(`ec2:DescribeInstanceAttribute on resource: arn:aws:ec2:us-east-1:222222222222:instance/${batch}`);
    const dryRun = await failureOf(target.send(new DescribeInstanceAttributeCommand({ InstanceId: web, Attribute: 'disableApiTermination', DryRun: true })));
    expect(dryRun.name).toBe('DryRunOperation');
  });

  it('an instance set to ignore attribute changes answers "true" and keeps them, as only a read-back can tell', async () => {
    const db = await instanceNamed(target, 'db-01');
    const instance = lab.state.findInstance(db)!;
    const device = instance.blockDevices[0]!;
    const before = { protection: instance.disableApiTermination, deleteOnTermination: device.deleteOnTermination };
    lab.control.ignoreAttributeChanges(db);
    await target.send(new ModifyInstanceAttributeCommand({ InstanceId: db, DisableApiTermination: { Value: !before.protection } }));
    await target.send(
      new ModifyInstanceAttributeCommand({ InstanceId: db, BlockDeviceMappings: [{ DeviceName: device.deviceName, Ebs: { DeleteOnTermination: !before.deleteOnTermination } }] }),
    );
    const read = await target.send(new DescribeInstanceAttributeCommand({ InstanceId: db, Attribute: 'disableApiTermination' }));
    expect(read.DisableApiTermination?.Value).toBe(before.protection);
    expect(device.deleteOnTermination).toBe(before.deleteOnTermination);
  });

  it('refuses to share evidence with any account but the forensics account', async () => {
    const web = await instanceNamed(target, 'web-01');
    const created = await target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web }, TagSpecifications: CASE_TAGS }));
    const data = created.Snapshots?.find((s) => s.VolumeSize === 20)?.SnapshotId ?? '';
    lab.clock.advance(2_000);
    const error = await failureOf(
      target.send(
        new ModifySnapshotAttributeCommand({ SnapshotId: data, Attribute: 'createVolumePermission', CreateVolumePermission: { Add: [{ UserId: '999999999999' }] } }),
      ),
    );
    expect(error.name).toBe('UnauthorizedOperation');
    expect(error.message).toContain(`ec2:ModifySnapshotAttribute on resource: arn:aws:ec2:us-east-1::snapshot/${data}`);
  });
});

describe('lab authorization: the requests an injected Authorizer sees', () => {
  let lab: RunningLab;
  const seen: AuthorizationRequest[] = [];
  beforeAll(async () => {
    const scenario = demoScenario();
    const inner = createDefaultAuthorizer({ forensicsAccount: scenario.forensicsAccount });
    lab = await startLab(scenario, {
      authorizer: (request) => {
        seen.push(request);
        return inner(request);
      },
    });
  });
  afterAll(async () => {
    await lab.stop();
  });

  it('puts CreateSnapshots to it on the instance, each volume and the new snapshots, and tag-on-create as CreateTags', async () => {
    const target = ec2Client(lab, await assumeCollector(lab, '222222222222'));
    const web = await instanceNamed(target, 'web-01');
    seen.length = 0;
    await target.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web }, TagSpecifications: CASE_TAGS }));
    const create = seen.filter((r) => r.action === 'ec2:CreateSnapshots');
    expect(create.map((r) => r.resources[0]?.replace(/[0-9a-f]{17}$/, 'ID'))).toEqual([
      'arn:aws:ec2:us-east-1:222222222222:instance/i-ID',
      'arn:aws:ec2:us-east-1:222222222222:volume/vol-ID',
      'arn:aws:ec2:us-east-1:222222222222:volume/vol-ID',
      'arn:aws:ec2:us-east-1::snapshot/*',
    ]);
    expect(create[0]?.context['aws:ResourceTag/ForensicsEnabled']).toBe('true');
    expect(create[0]?.context['aws:SourceIdentity']).toBe('alice@example.com');
    expect(create[0]?.context['aws:PrincipalTag/CaseId']).toBe('CASE-2026-001');
    expect(create[3]?.context['aws:RequestTag/CaseId']).toBe('CASE-2026-001');
    expect(create[3]?.context['aws:TagKeys']).toEqual(['CaseId']);
    const tagging = seen.find((r) => r.action === 'ec2:CreateTags');
    expect(tagging?.context['ec2:CreateAction']).toBe('CreateSnapshots');
    expect(tagging?.principal.roleArn).toBe('arn:aws:iam::222222222222:role/CloudCustodyCollector');
  });

  it('puts AssumeRole to it with the source identity and session tags as condition keys', async () => {
    seen.length = 0;
    await assumeCollector(lab, '333333333333');
    const assume = seen.find((r) => r.action === 'sts:AssumeRole');
    expect(assume?.resources).toEqual(['arn:aws:iam::333333333333:role/CloudCustodyCollector']);
    expect(assume?.context['sts:SourceIdentity']).toBe('alice@example.com');
    expect(assume?.context['aws:RequestTag/CaseId']).toBe('CASE-2026-001');
    expect(seen.map((r) => r.action)).toEqual(['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']);
  });
});
