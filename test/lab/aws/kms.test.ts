import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { assumeCollector, failureOf, kmsClient, startDemoLab, useLab } from './helpers.js';

describe('lab KMS', () => {
  const lab = useLab(() => startDemoLab());

  it('describes the AWS-managed aws/ebs key as AWS-managed', async () => {
    const kms = kmsClient(lab, await assumeCollector(lab, '222222222222'));
    const out = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }));
    expect(out.KeyMetadata?.KeyManager).toBe('AWS');
    expect(out.KeyMetadata?.AWSAccountId).toBe('222222222222');
    expect(out.KeyMetadata?.Arn).toMatch(/^arn:aws:kms:us-east-1:222222222222:key\/[0-9a-f-]{36}$/);
    expect(out.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('finds a customer key by alias, key id, key ARN and alias ARN', async () => {
    const kms = kmsClient(lab, await assumeCollector(lab, '222222222222'));
    const byAlias = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/cloud-custody-share' }));
    expect(byAlias.KeyMetadata?.KeyManager).toBe('CUSTOMER');
    const id = byAlias.KeyMetadata?.KeyId ?? '';
    const arn = byAlias.KeyMetadata?.Arn ?? '';
    for (const ref of [id, arn, 'arn:aws:kms:us-east-1:222222222222:alias/cloud-custody-share']) {
      expect((await kms.send(new DescribeKeyCommand({ KeyId: ref }))).KeyMetadata?.Arn).toBe(arn);
    }
  });

  it('lets the forensics account see a target key only when the key policy allows it', async () => {
    const kms = kmsClient(lab, lab.orchestratorCredentials);
    const shared = await kms.send(new DescribeKeyCommand({ KeyId: 'arn:aws:kms:us-east-1:222222222222:alias/cloud-custody-share' }));
    expect(shared.KeyMetadata?.AWSAccountId).toBe('222222222222');
    const ebs = lab.state.awsEbsKey('222222222222', 'us-east-1');
    const refused = await failureOf(kms.send(new DescribeKeyCommand({ KeyId: ebs.arn })));
    expect(refused.name).toBe('AccessDeniedException');
    expect(refused.message).toContain(`kms:DescribeKey on resource: ${ebs.arn}`);
  });

  it('names a missing alias', async () => {
    const kms = kmsClient(lab, lab.orchestratorCredentials);
    const error = await failureOf(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })));
    expect(error.name).toBe('NotFoundException');
    expect(error.message).toBe('Alias arn:aws:kms:us-east-1:111111111111:alias/nope is not found.');
  });
});
