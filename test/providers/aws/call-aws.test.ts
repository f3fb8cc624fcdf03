/**
 * Error paths no server produces on demand, through the real SDK clients with their transport
 * mocked (aws-sdk-client-mock): how an SDK failure becomes the CustodyError a responder reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CreateSnapshotsCommand, DescribeInstancesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import { awsErrorText, callAws, parseDenial, toCustodyError } from '../../../src/providers/aws/call-aws.js';

const ARN = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0abc1234def567890';

function awsError(name: string, message: string, requestId = 'req-123'): EC2ServiceException {
  return new EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 403, requestId } });
}

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });

afterEach(() => ec2Mock.reset());

describe('callAws', () => {
  it('returns the output with its request id', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [], $metadata: { requestId: 'req-ok' } });
    const { output, requestId } = await callAws('describeInstances', ec2, new DescribeInstancesCommand({}), { resource: ARN });
    expect(output.Reservations).toEqual([]);
    expect(requestId).toBe('req-ok');
  });

  it('an AccessDenied names the action and resource AWS named in its message', async () => {
    ec2Mock.on(CreateSnapshotsCommand).rejects(
      awsError(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. User: arn:aws:sts::222222222222:assumed-role/CloudCustodyCollector/custody-IR-1 is not authorized to perform: ec2:CreateSnapshots on resource: ${ARN} because no identity-based policy allows the ec2:CreateSnapshots action. Encoded authorization failure message: abc`,
      ),
    );
    const error = await callAws('createSnapshots', ec2, new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-0abc1234def567890' } }), {
      resource: 'something else',
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots', resource: ARN, requestId: 'req-123' });
    expect((error as Error).message).toContain(`ec2:CreateSnapshots on ${ARN}`);
  });

  it('an AccessDenied that names nothing falls back to the declared action and the resource we acted on', async () => {
    ec2Mock.on(CreateSnapshotsCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    await expect(
      callAws('createSnapshots', ec2, new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-0abc1234def567890' } }), { resource: ARN }),
    ).rejects.toMatchObject({ code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots', resource: ARN });
  });

  it.each([
    ['createSnapshots', 'ec2:CreateSnapshots', ARN, 'Check that the collector role allows it and that the resource carries the collection tag'],
    ['copyToForensics', 'ec2:CopySnapshot', 'arn:aws:ec2:us-east-1::snapshot/snap-0abc', 'Check that the orchestrator role allows it (policies/aws/orchestrator-policy.json'],
    ['putEvidenceObject', 's3:PutObject', 'arn:aws:s3:::evidence/IR-1/ledger.jsonl', 'Check that the orchestrator role allows it (policies/aws/orchestrator-evidence-bucket-policy.json'],
    ['assumeCollectorRole', 'sts:AssumeRole', 'arn:aws:iam::222222222222:role/CloudCustodyCollector', "Check that the collector StackSet reached that account and that the role's trust policy admits this orchestrator role"],
  ] as const)('an AccessDenied of %s says whose policy to check: the role that made the call', (op, action, resource, hint) => {
    const error = toCustodyError(op, awsError('AccessDenied', 'not authorized'), resource);
    expect(error).toMatchObject({ code: 'E_ACCESS_DENIED', action, resource });
    expect(error.message).toContain(`AWS refused ${action} on ${resource} (AccessDenied). ${hint}`);
    expect(error.message).toContain('docs/deploy-aws.md');
  });

  it('throttling that outlasts the SDK retries is E_THROTTLED and retryable', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 'Request limit exceeded.'));
    await expect(callAws('describeInstances', ec2, new DescribeInstancesCommand({}), { resource: ARN })).rejects.toMatchObject({
      code: 'E_THROTTLED',
      retryable: true,
    });
  });

  it('a vanished instance is E_NOT_FOUND', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', "The instance ID 'i-0abc1234def567890' does not exist"));
    await expect(callAws('describeInstances', ec2, new DescribeInstancesCommand({}), { resource: ARN })).rejects.toMatchObject({ code: 'E_NOT_FOUND', resource: ARN });
  });

  it('an expired token refreshes the credentials once and retries; a second refusal is E_CREDENTIALS', async () => {
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('RequestExpired', 'Request has expired.'))
      .resolvesOnce({ Reservations: [], $metadata: { requestId: 'req-after-refresh' } });
    let refreshes = 0;
    const ok = await callAws('describeInstances', ec2, new DescribeInstancesCommand({}), {
      resource: ARN,
      refreshCredentials: async () => {
        refreshes += 1;
      },
    });
    expect(ok.requestId).toBe('req-after-refresh');
    expect(refreshes).toBe(1);

    ec2Mock.reset();
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    await expect(
      callAws('describeInstances', ec2, new DescribeInstancesCommand({}), {
        resource: ARN,
        refreshCredentials: async () => {
          refreshes += 1;
        },
      }),
    ).rejects.toMatchObject({ code: 'E_CREDENTIALS' });
    expect(refreshes).toBe(2);
  });

  it('refuses a command that does not belong to the declared operation', async () => {
    await expect(callAws('describeInstances', ec2, new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-1' } }), { resource: ARN })).rejects.toMatchObject({
      code: 'E_INTERNAL',
    });
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});

describe('a refused signature', () => {
  // AWS quotes the request it computed after a signature it could not match; its headers hold the session token.
  const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN/abc+def==';
  const quoted =
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n' +
    `The Canonical String for this request should have been\n'GET\n/snapshots/snap-1/blocks/7\nblockToken=abc\nhost:ebs.us-east-1.amazonaws.com\nx-amz-date:20261203T081500Z\nx-amz-security-token:${TOKEN}\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n\n` +
    "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261203T081500Z\n20261203/us-east-1/ebs/aws4_request\n0123'\n";

  it('keeps no session token in the error AWS\'s quote of the canonical request would carry into the ledger', () => {
    for (const name of ['SignatureDoesNotMatch', 'InvalidSignatureException', 'SomethingElse']) {
      const error = toCustodyError('getSnapshotBlock', Object.assign(new Error(quoted), { name, $metadata: { requestId: 'req-sig' } }), 'arn:aws:ec2:us-east-1::snapshot/snap-1');
      expect(error.message).not.toContain(TOKEN);
      expect(error.message).not.toContain('Canonical String');
      expect(error.message).toContain('The request signature we calculated does not match');
      expect(error.requestId).toBe('req-sig');
    }
  });

  it('keeps no session token where an error that is not mapped is written down as it is (awsErrorText)', () => {
    const text = awsErrorText(Object.assign(new Error(quoted), { name: 'InvalidSignatureException' }));
    expect(text).not.toContain(TOKEN);
    expect(text).toContain('The request signature we calculated does not match');
  });

  it('masks a session token named anywhere else in a message (a presigned URL\'s query)', () => {
    const error = toCustodyError('getSnapshotBlock', Object.assign(new Error(`bad request to /?X-Amz-Security-Token=${encodeURIComponent(TOKEN)}&X-Amz-Date=1`), { name: 'Weird' }), 'snap-1');
    expect(error.message).not.toContain(encodeURIComponent(TOKEN));
    expect(error.message).toContain('X-Amz-Security-Token=[not kept]&X-Amz-Date=1');
  });
});

describe('parseDenial', () => {
  it('reads the action and resource from STS and KMS style messages', () => {
    expect(
      parseDenial('User: arn:aws:iam::111111111111:role/Orchestrator is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/CloudCustodyCollector'),
    ).toEqual({ action: 'sts:AssumeRole', resource: 'arn:aws:iam::222222222222:role/CloudCustodyCollector' });
    expect(parseDenial('Access denied.')).toEqual({});
  });
});
