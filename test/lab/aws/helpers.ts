/**
 * Starts the lab and builds real AWS SDK v3 clients pointed at it, as the product does.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { afterAll, beforeAll } from 'vitest';
import { startLab, type RunningLab, type StartLabOptions } from '../../../src/lab/index.js';
import { demoScenario } from '../../../src/lab/scenarios.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** TagSpecifications putting the demo case's CaseId on created snapshots. */
export const CASE_TAGS = [{ ResourceType: 'snapshot' as const, Tags: [{ Key: 'CaseId', Value: 'CASE-2026-001' }] }];

/** The id of the instance tagged Name=`name` in the client's account, or '' when there is none. */
export async function instanceNamed(ec2: EC2Client, name: string): Promise<string> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [name] }] }));
  return out.Reservations?.[0]?.Instances?.[0]?.InstanceId ?? '';
}

export async function startDemoLab(options: StartLabOptions = {}): Promise<RunningLab> {
  return startLab(demoScenario(), options);
}

/**
 * A lab for the calling describe block (or file): started before its first test, stopped after its
 * last. The returned object is filled in by then, so tests read `lab.state` as usual; hooks the
 * caller registers afterwards run after the start and before the stop.
 */
export function useLab(start: () => Promise<RunningLab>): RunningLab {
  const lab = {} as RunningLab;
  beforeAll(async () => {
    Object.assign(lab, await start());
  });
  afterAll(async () => {
    await lab.stop();
  });
  return lab;
}

export function stsClient(lab: RunningLab, credentials: Credentials = lab.orchestratorCredentials): STSClient {
  return new STSClient({ endpoint: lab.endpoint, region: lab.region, credentials, maxAttempts: 1 });
}

export function ec2Client(lab: RunningLab, credentials: Credentials, options: { maxAttempts?: number } = {}): EC2Client {
  return new EC2Client({ endpoint: lab.endpoint, region: lab.region, credentials, maxAttempts: options.maxAttempts ?? 1 });
}

export function kmsClient(lab: RunningLab, credentials: Credentials): KMSClient {
  return new KMSClient({ endpoint: lab.endpoint, region: lab.region, credentials, maxAttempts: 1 });
}

/** Assumes the collector role in a target account the way the product does. */
export async function assumeCollector(
  lab: RunningLab,
  account: string,
  overrides: Partial<AssumeRoleCommandInput> = {},
): Promise<Credentials> {
  const out = await stsClient(lab).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${account}:role/CloudCustodyCollector`,
      RoleSessionName: 'custody-CASE-2026-001',
      SourceIdentity: 'alice@example.com',
      Tags: [{ Key: 'CaseId', Value: 'CASE-2026-001' }],
      DurationSeconds: 900,
      ...overrides,
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('AssumeRole returned no credentials');
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

/** Runs a call expected to fail and returns the SDK error. */
export async function failureOf(promise: Promise<unknown>): Promise<Error & { name: string; $metadata?: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
