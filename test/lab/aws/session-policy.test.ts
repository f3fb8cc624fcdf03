import { CreateSnapshotsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { evaluateSessionPolicy } from '../../../src/lab/aws/session-policy.js';
import { assumeCollector, ec2Client, failureOf, startDemoLab, useLab } from './helpers.js';

const policy = (statement: unknown) => JSON.stringify({ Version: '2012-10-17', Statement: statement });
const INSTANCE = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';

describe('session policy evaluation', () => {
  it.each([
    ['an action and resource it names', [{ Effect: 'Allow', Action: 'ec2:CreateSnapshots', Resource: INSTANCE }], 'ec2:CreateSnapshots', INSTANCE, {}, 'allowed'],
    ['actions by wildcard, case-insensitively', [{ Effect: 'Allow', Action: 'EC2:Create*', Resource: '*' }], 'ec2:CreateSnapshots', INSTANCE, {}, 'allowed'],
    ['another instance', [{ Effect: 'Allow', Action: 'ec2:*', Resource: INSTANCE }], 'ec2:CreateSnapshots', INSTANCE.replace('0123', '9999'), {}, 'implicit-deny'],
    ['a Describe* unless the resource is *', [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: INSTANCE }], 'ec2:DescribeInstances', '*', {}, 'implicit-deny'],
    ['an explicit deny over an allow', [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 'ec2:ModifySnapshotAttribute', Resource: '*' }], 'ec2:ModifySnapshotAttribute', '*', {}, 'explicit-deny'],
    ['a matching StringEquals condition', [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/CaseId': 'C-1' } } }], 'ec2:CreateTags', '*', { 'aws:RequestTag/CaseId': 'C-1' }, 'allowed'],
    ['a missing condition key', [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:RequestTag/CaseId': 'C-1' } } }], 'ec2:CreateTags', '*', {}, 'implicit-deny'],
    ['ForAllValues over tag keys', [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['CaseId', 'EvidenceId'] } } }], 'ec2:CreateTags', '*', { 'aws:TagKeys': ['CaseId', 'Owner'] }, 'implicit-deny'],
    ['Null: the key must be present', [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Null: { 'sts:SourceIdentity': 'false' } } }], 'sts:AssumeRole', '*', { 'sts:SourceIdentity': 'alice' }, 'allowed'],
    ['an operator it does not know', [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } }], 'ec2:CreateTags', '*', {}, 'implicit-deny'],
  ])('judges %s', (_what, statements, action, resource, context, expected) => {
    expect(evaluateSessionPolicy(policy(statements), action, resource, context as Record<string, string | string[]>)).toBe(expected);
  });
});

describe('a session narrowed to one instance', () => {
  const lab = useLab(() => startDemoLab());

  it('may snapshot that instance only, and the refusal says the session policy decided', async () => {
    const broad = ec2Client(lab, await assumeCollector(lab, '222222222222'));
    const byName = async (name: string) =>
      (await broad.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }))).Reservations?.[0]?.Instances?.[0];
    const web = await byName('web-01');
    const db = await byName('db-01');
    const webArn = `arn:aws:ec2:us-east-1:222222222222:instance/${web?.InstanceId}`;
    const narrowed = ec2Client(
      lab,
      await assumeCollector(lab, '222222222222', {
        Policy: policy([
          { Effect: 'Allow', Action: ['ec2:CreateSnapshots'], Resource: [webArn, 'arn:aws:ec2:us-east-1:222222222222:volume/*', 'arn:aws:ec2:us-east-1::snapshot/*'] },
          { Effect: 'Allow', Action: ['ec2:CreateTags'], Resource: 'arn:aws:ec2:us-east-1::snapshot/*', Condition: { StringEquals: { 'ec2:CreateAction': 'CreateSnapshots' } } },
        ]),
      }),
    );
    const tags = [{ ResourceType: 'snapshot' as const, Tags: [{ Key: 'CaseId', Value: 'CASE-2026-001' }] }];
    const ok = await narrowed.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: web?.InstanceId }, TagSpecifications: tags }));
    expect(ok.Snapshots).toHaveLength(2);
    const refused = await failureOf(
      narrowed.send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: db?.InstanceId }, TagSpecifications: tags })),
    );
    expect(refused.name).toBe('UnauthorizedOperation');
    expect(refused.message).toContain(`instance/${db?.InstanceId} because no session policy allows the ec2:CreateSnapshots action`);
  });
});
