/**
 * The lean EC2 sender (src/providers/aws/ec2-query.ts) must be indistinguishable from the SDK on
 * what it sends and what it returns: the same query body byte for byte, the same output shape,
 * the same errors through callAws, and the SDK's retries on throttling and server errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSnapshotsCommand, DescribeSnapshotsCommand, EC2Client, GetConsoleOutputCommand } from '@aws-sdk/client-ec2';
import { callAws } from '../../../src/providers/aws/call-aws.js';
import { AwsClients, type AccountClients } from '../../../src/providers/aws/clients.js';
import { queryBody } from '../../../src/providers/aws/ec2-query.js';
import { parseConfig } from '../../../src/providers/config.js';
import { demoScenario, startLab, type RunningLab } from '../../../src/lab/index.js';
import { collectorClients } from './lab-fixture.js';

const ACCOUNT = '222222222222';

/** The body the SDK itself would send for a command (captured before it leaves the client). */
async function sdkBody(command: object): Promise<string> {
  const client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
  let body = '';
  client.middlewareStack.add(
    () => async (args) => {
      body = String((args.request as { body?: unknown }).body);
      throw new Error('captured');
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  await client.send(command as never).catch(() => undefined);
  return body;
}

describe('the lean EC2 sender: request bodies', () => {
  it('writes GetConsoleOutput and CreateSnapshots exactly as the SDK serialises them', async () => {
    const commands = [
      new GetConsoleOutputCommand({ InstanceId: 'i-0abc1234def567890' }),
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: 'i-0abc1234def567890', ExcludeBootVolume: true, ExcludeDataVolumeIds: ['vol-1', 'vol-2'] },
        Description: "cloud-custody case IR-1 evidence E-0001 & more: é/ü (a)*!'",
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: 'CaseId', Value: 'IR 1/2' },
              { Key: 'custody:source', Value: 'arn:aws:ec2:us-east-1:222222222222:instance/i-0abc' },
            ],
          },
        ],
      }),
      new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-1', ExcludeBootVolume: false } }),
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ['snap-1', 'snap-2', 'snap-3'] }] }),
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:CaseId', Values: ['IR 1'] }, { Name: 'status', Values: ['pending'] }] }),
    ];
    for (const command of commands) expect(queryBody(command)).toBe(await sdkBody(command));
  });

  it('leaves a command with a field it does not write to the SDK', () => {
    expect(queryBody(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-1' }, CopyTagsFromSource: 'volume' }))).toBeUndefined();
    expect(queryBody(new GetConsoleOutputCommand({ InstanceId: 'i-1', Latest: true }))).toBeUndefined();
    expect(queryBody(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5 }))).toBeUndefined();
  });
});

describe('the lean EC2 sender against the lab', () => {
  let lab: RunningLab;
  let clients: AwsClients;
  let account: AccountClients;
  let instanceId: string;

  beforeAll(async () => {
    lab = await startLab(demoScenario({ snapshotDurationMs: 60_000 }));
    ({ clients, account } = await collectorClients(lab, ACCOUNT, 'lean-test', { mode: 'adaptive', maxAttempts: 4 }));
    const web = [...lab.state.region(lab.region).instances.values()].find((i) => i.ownerId === ACCOUNT && i.blockDevices.length > 0);
    if (!web) throw new Error('no instance in the demo scenario');
    instanceId = web.id;
  });

  afterAll(async () => {
    clients.destroy();
    await lab.stop();
  });

  const lean = () => {
    if (!account.ec2Calls) throw new Error('AwsClients made no lean sender');
    return account.ec2Calls;
  };

  it('GetConsoleOutput answers what the SDK answers, with the request id', async () => {
    const command = () => new GetConsoleOutputCommand({ InstanceId: instanceId });
    const viaSdk = await callAws('getConsoleOutput', account.ec2, command(), { resource: instanceId });
    const viaLean = await callAws('getConsoleOutput', lean(), command(), { resource: instanceId });
    // The lab stamps the console output with the time of the call.
    const { $metadata: m1, Timestamp: t1, ...sdkOutput } = viaSdk.output;
    const { $metadata: m2, Timestamp: t2, ...leanOutput } = viaLean.output;
    expect(leanOutput).toEqual(sdkOutput);
    expect(leanOutput.Output).toMatch(/\S/);
    expect(t1).toBeInstanceOf(Date);
    expect(t2).toBeInstanceOf(Date);
    expect(viaLean.requestId).toMatch(/\S/);
    expect(m2).toMatchObject({ httpStatusCode: 200, attempts: 1, requestId: viaLean.requestId });
    expect(m1.requestId).not.toBe(m2.requestId);
  });

  it('CreateSnapshots returns typed snapshot descriptions, tags included, as the SDK does', async () => {
    const tags = [
      { Key: 'CaseId', Value: 'IR-LEAN' },
      { Key: 'EvidenceId', Value: 'E & 1' },
    ];
    const make = () =>
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: false },
        Description: 'cloud-custody case IR-LEAN',
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
      });
    const viaSdk = (await callAws('createSnapshots', account.ec2, make(), { resource: instanceId })).output.Snapshots ?? [];
    const viaLean = (await callAws('createSnapshots', lean(), make(), { resource: instanceId })).output.Snapshots ?? [];
    expect(viaLean.length).toBe(viaSdk.length);
    expect(viaLean.length).toBeGreaterThan(0);
    const shape = (s: Record<string, unknown>) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Date ? 'Date' : Array.isArray(v) ? 'array' : typeof v]));
    for (const [i, s] of viaLean.entries()) {
      const sdk = viaSdk[i] ?? {};
      expect(shape(s as Record<string, unknown>)).toEqual(shape(sdk as Record<string, unknown>));
      const { SnapshotId: _a, StartTime: _b, ...rest } = s;
      const { SnapshotId: _c, StartTime: _d, ...sdkRest } = sdk;
      expect(rest).toEqual(sdkRest);
      expect(s.Tags).toEqual(expect.arrayContaining(tags));
      expect(lab.state.region(lab.region).snapshots.get(s.SnapshotId ?? '')?.description).toBe('cloud-custody case IR-LEAN');
    }

    // The waiter's poll: the same descriptions as the SDK gives (progress moves between the two calls).
    const ids = [...viaSdk, ...viaLean].map((s) => s.SnapshotId ?? '');
    const describe = () => new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ids }] });
    const [bySdk, byLean] = await Promise.all([
      callAws('describeSnapshots', account.ec2, describe(), { resource: 'snapshots' }),
      callAws('describeSnapshots', lean(), describe(), { resource: 'snapshots' }),
    ]);
    const steady = (list: typeof bySdk.output.Snapshots) =>
      (list ?? []).map(({ Progress, ...rest }) => ({ ...rest, Progress: typeof Progress })).sort((a, b) => String(a.SnapshotId).localeCompare(String(b.SnapshotId)));
    expect(byLean.output.Snapshots).toHaveLength(ids.length);
    expect(steady(byLean.output.Snapshots)).toEqual(steady(bySdk.output.Snapshots));
    expect(byLean.output.Snapshots?.[0]?.State).toBe('pending');
    expect(byLean.requestId).toMatch(/\S/);
  });

  it('an error answer becomes the CustodyError the SDK path gives, naming the action, the resource and the request id', async () => {
    const missing = 'i-0000000000000dead';
    const viaSdk = await callAws('getConsoleOutput', account.ec2, new GetConsoleOutputCommand({ InstanceId: missing }), { resource: `arn:${missing}` }).catch((e: unknown) => e);
    const viaLean = await callAws('getConsoleOutput', lean(), new GetConsoleOutputCommand({ InstanceId: missing }), { resource: `arn:${missing}` }).catch((e: unknown) => e);
    expect(viaLean).toMatchObject({ code: (viaSdk as { code: string }).code, action: 'ec2:GetConsoleOutput', resource: `arn:${missing}` });
    expect((viaLean as Error).message).toBe((viaSdk as Error).message);
    expect((viaLean as { requestId?: string }).requestId).toMatch(/\S/);
  });

  it('on a skewed clock, retries the refusal that corrected it and not the error answers after it', async () => {
    const missing = 'i-0000000000000beef';
    lab.control.resetCalls();
    lab.control.setClockSkew(20 * 60_000);
    try {
      const error = await callAws('getConsoleOutput', lean(), new GetConsoleOutputCommand({ InstanceId: missing }), { resource: missing }).catch((e: unknown) => e);
      expect(error).toMatchObject({ action: 'ec2:GetConsoleOutput', resource: missing, message: expect.stringContaining(missing) });
      // The first request was refused for its signing time and retried on AWS's time; the answer
      // to that one (no such instance) moved the offset by under a second: it is the call's answer.
      expect(lab.control.skewRefusals()).toMatchObject({ ec2: 1 });
      expect(lab.control.totalCalls('ec2:GetConsoleOutput')).toBe(1);
    } finally {
      lab.control.setClockSkew(undefined);
    }
  });

  it('retries throttling and server errors with the client’s retry strategy, and gives up after its attempts', async () => {
    // Clients of its own: the throttling slows their adaptive rate limiter (seconds per call
    // after it), which the other tests' clients must not inherit.
    const own = await collectorClients(lab, ACCOUNT, 'lean-throttled', { mode: 'adaptive', maxAttempts: 4 });
    try {
      const sender = own.account.ec2Calls!;
      lab.control.failNext({ action: 'ec2:GetConsoleOutput', code: 'RequestLimitExceeded', status: 503, count: 1 });
      lab.control.failNext({ action: 'ec2:GetConsoleOutput', code: 'InternalError', status: 500, count: 1 });
      const ok = await callAws('getConsoleOutput', sender, new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId });
      expect(ok.output.$metadata.attempts).toBe(3);

      lab.control.failNext({ action: 'ec2:GetConsoleOutput', code: 'RequestLimitExceeded', status: 503, count: 4 });
      const error = await callAws('getConsoleOutput', sender, new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_THROTTLED', action: 'ec2:GetConsoleOutput', resource: instanceId, retryable: true });
      expect((error as { cause?: { $metadata?: { attempts?: number } } }).cause?.$metadata?.attempts).toBe(4);
    } finally {
      own.clients.destroy();
    }
  }, 30_000);

  it("an abort ends a call waiting on the retry strategy (the rate limiter's first token, a retry's back-off) as cancelled, and nothing more is sent", async () => {
    const own = await collectorClients(lab, ACCOUNT, 'lean-gated', { mode: 'adaptive', maxAttempts: 4 });
    try {
      // The client's own strategy behind gates the test opens: a wait that has not ended yet.
      const config = own.account.ec2.config as unknown as { retryStrategy: () => Promise<unknown> };
      type Strategy = { acquireInitialRetryToken(s: string): Promise<unknown>; refreshRetryTokenForRetry(t: unknown, i: unknown): Promise<unknown>; recordSuccess(t: unknown): void };
      const real = (await config.retryStrategy()) as Strategy;
      const waits: string[] = [];
      const gates: Array<() => void> = [];
      const gated = <T>(name: string, next: () => Promise<T>) => {
        waits.push(name);
        return new Promise<void>((open) => gates.push(open)).then(next);
      };
      config.retryStrategy = async () => ({
        acquireInitialRetryToken: (scope: string) => gated('token', () => real.acquireInitialRetryToken(scope)),
        refreshRetryTokenForRetry: (token: unknown, info: unknown) => gated('back-off', () => real.refreshRetryTokenForRetry(token, info)),
        recordSuccess: (token: unknown) => real.recordSuccess(token),
      });
      const sender = own.account.ec2Calls!;
      const call = (signal: AbortSignal) =>
        callAws('getConsoleOutput', sender, new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId, signal }).catch((e: unknown) => e);
      const cancelled = { code: 'E_CLOUD', action: 'ec2:GetConsoleOutput', message: expect.stringContaining('cancelled') };

      // Aborted while waiting for its first token: cancelled, and the token granted after sends nothing.
      const before = lab.control.totalCalls('ec2:GetConsoleOutput');
      const first = new AbortController();
      const waiting = call(first.signal);
      while (waits.length < 1) await new Promise((r) => setImmediate(r));
      first.abort();
      expect(await waiting).toMatchObject(cancelled);
      for (const open of gates.splice(0)) open();
      // A later call on another signal goes through the same gates and answers: the sender is still usable.
      const later = call(new AbortController().signal);
      while (waits.length < 2) await new Promise((r) => setImmediate(r));
      for (const open of gates.splice(0)) open();
      expect(await later).toMatchObject({ output: { InstanceId: instanceId } });
      expect(lab.control.totalCalls('ec2:GetConsoleOutput') - before).toBe(1);

      // Aborted in a retry's back-off after a throttled answer: cancelled, not the throttling error, and not sent again.
      lab.control.failNext({ action: 'ec2:GetConsoleOutput', code: 'RequestLimitExceeded', status: 503, count: 1 });
      const second = new AbortController();
      const throttled = call(second.signal);
      while (waits.length < 3) await new Promise((r) => setImmediate(r));
      for (const open of gates.splice(0)) open();
      while (waits.length < 4) await new Promise((r) => setImmediate(r));
      expect(waits).toEqual(['token', 'token', 'token', 'back-off']);
      second.abort();
      expect(await throttled).toMatchObject(cancelled);
      for (const open of gates.splice(0)) open();
      expect(lab.control.totalCalls('ec2:GetConsoleOutput') - before).toBe(2);
    } finally {
      own.clients.destroy();
    }
  });

  it('finds EC2 where the SDK would: AWS_ENDPOINT_URL_EC2 when the config names no endpoint', async () => {
    const before = process.env['AWS_ENDPOINT_URL_EC2'];
    process.env['AWS_ENDPOINT_URL_EC2'] = lab.endpoint;
    const config = parseConfig({
      casesDir: '/nonexistent',
      aws: { forensicsAccount: lab.forensicsAccount, region: lab.region, allowedAccounts: [ACCOUNT], endpoints: { sts: lab.endpoint, kms: lab.endpoint } },
    });
    const fromEnv = new AwsClients(config.aws!, async () => lab.orchestratorCredentials);
    try {
      const identity = await account.ec2.config.credentials();
      const { ec2Calls } = fromEnv.forAccount(ACCOUNT, lab.region, async () => identity);
      const { output } = await callAws('getConsoleOutput', ec2Calls!, new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId });
      expect(output.InstanceId).toBe(instanceId);
    } finally {
      fromEnv.destroy();
      if (before === undefined) delete process.env['AWS_ENDPOINT_URL_EC2'];
      else process.env['AWS_ENDPOINT_URL_EC2'] = before;
    }
  });

  it('an aborted call ends as cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await callAws('getConsoleOutput', lean(), new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'E_CLOUD', action: 'ec2:GetConsoleOutput' });
    expect((error as Error).message).toContain('cancelled');
  });

  it('calls in flight on one signal end as cancelled when it aborts, and later calls on other signals still answer', async () => {
    lab.control.setLatency({ perAction: { 'ec2:GetConsoleOutput': 30_000 } });
    try {
      const controller = new AbortController();
      const call = (signal: AbortSignal) =>
        callAws('getConsoleOutput', lean(), new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId, signal }).catch((e: unknown) => e);
      const before = lab.control.totalCalls('ec2:GetConsoleOutput');
      const calls = [call(controller.signal), call(controller.signal), call(controller.signal)];
      // Aborted once all three reached the lab, which holds each for 30 s (the test's timeout).
      while (lab.control.totalCalls('ec2:GetConsoleOutput') < before + 3) await new Promise((r) => setTimeout(r, 10));
      controller.abort();
      for (const error of await Promise.all(calls)) {
        expect(error).toMatchObject({ code: 'E_CLOUD', action: 'ec2:GetConsoleOutput' });
        expect((error as Error).message).toContain('cancelled');
      }
    } finally {
      lab.control.setLatency(0);
    }
    const after = await callAws('getConsoleOutput', lean(), new GetConsoleOutputCommand({ InstanceId: instanceId }), { resource: instanceId, signal: new AbortController().signal });
    expect(after.output.Output).toMatch(/\S/);
  });
});
