/**
 * AWS_OPERATIONS is the truth the policies are held to: every operation names a real SDK
 * command, every mutation is scoped to ARNs (never `*`), and plan() renders it for a target.
 */
import { describe, expect, it } from 'vitest';
import * as ebs from '@aws-sdk/client-ebs';
import * as ec2 from '@aws-sdk/client-ec2';
import * as kms from '@aws-sdk/client-kms';
import * as s3 from '@aws-sdk/client-s3';
import * as sts from '@aws-sdk/client-sts';
import { parseConfig } from '../../../src/providers/config.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { AWS_OPERATIONS, plannedCalls, type AwsOperation } from '../../../src/providers/aws/operations.js';
import { createAwsProvider } from '../../../src/providers/aws/index.js';
import { defaultOptions } from './helpers.js';

const config = parseConfig({
  aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'], lock: { durationDays: 30 } },
});
const instance = parseTarget('arn:aws:ec2:us-east-1:222222222222:instance/i-0abc1234def567890');

describe('AWS_OPERATIONS', () => {
  const ops = Object.entries(AWS_OPERATIONS) as Array<[string, AwsOperation]>;

  it('every operation is a command the SDK really has', () => {
    const modules: Record<string, Record<string, unknown>> = { ebs, ec2, kms, sts, s3 };
    for (const [name, op] of ops) {
      const [service, action] = op.api.split(':') as [string, string];
      expect(modules[service]?.[`${action}Command`], `${name}: ${op.api}`).toBeTypeOf('function');
    }
  });

  it('every mutating operation is authorised on ARNs, never on "*"', () => {
    for (const [name, op] of ops.filter(([, o]) => o.mutates)) {
      expect(op.permissions.length, name).toBeGreaterThan(0);
      for (const p of op.permissions) expect(p.resource, `${name} ${p.action}`).not.toBe('*');
    }
  });

  it('snapshots are tagged at creation: each create or copy also needs ec2:CreateTags with its ec2:CreateAction', () => {
    for (const name of ['createSnapshots', 'createSnapshot', 'reencryptSnapshot', 'copyToForensics'] as const) {
      const op: AwsOperation = AWS_OPERATIONS[name];
      const createTags = op.permissions.find((p) => p.action === 'ec2:CreateTags');
      expect(createTags?.context?.['ec2:CreateAction'], name).toBe(op.api.split(':')[1]);
      expect(createTags?.resource).toBe('arn:${Partition}:ec2:${Region}::snapshot/*');
    }
  });

  it('copies declare the KMS calls EC2 makes on the caller’s behalf', () => {
    const actions = AWS_OPERATIONS.reencryptSnapshot.permissions.map((p) => p.action);
    expect(actions).toEqual(
      expect.arrayContaining(['kms:DescribeKey', 'kms:Decrypt', 'kms:CreateGrant', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']),
    );
  });
});

describe('plan()', () => {
  it('lists the calls in order with the target’s ARNs filled in, touching nothing', () => {
    const steps = plannedCalls(instance, { ...defaultOptions, preserve: true }, config);
    expect(steps.map((s) => s.step)).toEqual(['credentials', 'describe', 'volatile', 'preserve', 'snapshot', 'wait', 'share', 'copy']);
    const create = steps.find((s) => s.step === 'snapshot')!.calls.find((c) => c.api === 'ec2:CreateSnapshots')!;
    expect(create.permissions.map((p) => p.resource)).toContain('arn:aws:ec2:us-east-1:222222222222:instance/*');
    expect(steps[0]!.calls[0]!.permissions[0]!.resource).toBe('arn:aws:iam::222222222222:role/CloudCustodyCollector');
    expect(steps.find((s) => s.step === 'copy')!.calls.map((c) => c.api)).toContain('ec2:LockSnapshot');
    expect(JSON.stringify(steps)).not.toMatch(/\$\{(Partition|Region|Account|TargetAccount|ForensicsAccount)\}/);
  });

  it('a volume target plans CreateSnapshot, and in-place stops after the wait', () => {
    const volume = parseTarget('arn:aws:ec2:us-east-1:222222222222:volume/vol-0abc1234def567890');
    const inPlace = parseConfig({ aws: { ...config.aws, transfer: 'in-place' } });
    const steps = createAwsProvider(inPlace).plan(volume, defaultOptions);
    expect(steps.map((s) => s.step)).toEqual(['credentials', 'describe', 'snapshot', 'wait']);
    expect(steps.find((s) => s.step === 'snapshot')!.calls.map((c) => c.api)).toContain('ec2:CreateSnapshot');
  });
});
