/**
 * CPU per AWS SDK call, one command at a time, against the lab in its own process (no latency,
 * no throttling): what each of the collector's calls costs the collector's main thread, with the
 * clients configured as the provider configures them (src/providers/aws/clients.ts).
 * Usage: USAGE below (`npm run bench:sdk -- --help`).
 */
import { performance } from 'node:perf_hooks';
import { CreateSnapshotsCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, GetConsoleOutputCommand } from '@aws-sdk/client-ec2';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { forkLab } from './lab-child.js';
import type { LabProcessOptions, ReadyMessage } from './lab-process.js';
import { parseConfig } from '../src/providers/config.js';
import { AwsClients } from '../src/providers/aws/clients.js';
import { callAws } from '../src/providers/aws/call-aws.js';
import { benchArgs } from './args.js';

const USAGE = `
npm run bench:sdk [-- --calls 400] [--only 'GetConsoleOutput,CreateSnapshots (lean)']
  --calls N     calls of each command (default 400)
  --only LIST   only these commands, by the names the bench prints
`;

const values = benchArgs(USAGE, { calls: { type: 'string', default: '400' }, only: { type: 'string' } });
const calls = Number(values.calls);

const options: LabProcessOptions = { accounts: 1, instancesPerAccount: calls + 50, volumesPerInstance: 2, latencyMs: 0, throttling: false, pendingSnapshotLimit: 100_000 };
const { child, next } = forkLab(new URL('./lab-process.ts', import.meta.url), [JSON.stringify(options)]);
const ready = await next<ReadyMessage>('ready');

try {
  const account = ready.instances[0]!.account;
  const config = parseConfig({
    casesDir: '/nonexistent',
    aws: {
      forensicsAccount: ready.forensicsAccount, region: ready.region, allowedAccounts: [account], endpoints: { sts: ready.endpoint, ec2: ready.endpoint, kms: ready.endpoint } },
  });
  if (!config.aws) throw new Error('no aws config');
  const clients = new AwsClients(config.aws, async () => ready.credentials);
  const assumed = await clients.sts().send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${config.aws.collectorRole}`, RoleSessionName: 'sdk-bench', SourceIdentity: 'bench' }),
  );
  const c = assumed.Credentials!;
  const identity = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  const { ec2, kms, ec2Calls } = clients.forAccount(account, ready.region, async () => identity);
  const lean = ec2Calls ?? ec2;

  const instances = ready.instances;
  const snapshotIds: string[] = [];
  let i = 0;
  const nextInstance = () => instances[i++ % instances.length]!;
  const tags = [
    { Key: 'CaseId', Value: 'BENCH' },
    { Key: 'EvidenceId', Value: 'BENCH-0001' },
    { Key: 'custody:source', Value: 'bench' },
  ];
  type Call = () => Promise<unknown>;
  const kinds: Array<[string, Call]> = [
    ['GetConsoleOutput (SDK)', () => callAws('getConsoleOutput', ec2, new GetConsoleOutputCommand({ InstanceId: nextInstance().id }), { resource: 'x' })],
    ['GetConsoleOutput (lean)', () => callAws('getConsoleOutput', lean, new GetConsoleOutputCommand({ InstanceId: nextInstance().id }), { resource: 'x' })],
    ...(['SDK', 'lean'] as const).map((how): [string, Call] => [
      `CreateSnapshots (${how})`,
      async () => {
        const { output } = await callAws(
          'createSnapshots',
          how === 'SDK' ? ec2 : lean,
          new CreateSnapshotsCommand({
            InstanceSpecification: { InstanceId: nextInstance().id, ExcludeBootVolume: false },
            Description: 'cloud-custody case BENCH evidence BENCH-0001',
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
          }),
          { resource: 'x' },
        );
        for (const s of output.Snapshots ?? []) if (s.SnapshotId) snapshotIds.push(s.SnapshotId);
      },
    ]),
    [
      'DescribeInstances (20 ids)',
      () => {
        const ids = Array.from({ length: 20 }, () => nextInstance().id);
        return callAws('describeInstances', ec2, new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }] }), { resource: 'x' });
      },
    ],
    [
      'DescribeVolumes (40 ids)',
      () => {
        const ids = Array.from({ length: 20 }, () => nextInstance().volumes.map((v) => v.id)).flat();
        return callAws('describeVolumes', ec2, new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: ids }] }), { resource: 'x' });
      },
    ],
    ...(['SDK', 'lean'] as const).map((how): [string, Call] => [
      `DescribeSnapshots 40 (${how})`,
      () => {
        const start = (i++ * 40) % Math.max(1, snapshotIds.length - 40);
        const ids = snapshotIds.slice(start, start + 40);
        return callAws('describeSnapshots', how === 'SDK' ? ec2 : lean, new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ids }] }), { resource: 'x' });
      },
    ]),
    ['kms:DescribeKey', () => callAws('describeKey', kms, new DescribeKeyCommand({ KeyId: 'alias/cloud-custody-share' }), { resource: 'x' })],
  ];

  console.log(`SDK calls against the lab (no latency), ${calls} calls each, 8 in flight; CPU of this process per call`);
  for (const [name, call] of kinds) {
    if (values.only && !values.only.split(',').some((prefix) => name.startsWith(prefix))) continue;
    const run = async (n: number) => {
      let left = n;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (left > 0) {
            left -= 1;
            await call();
          }
        }),
      );
    };
    await run(Math.min(50, calls)); // warm up: compile, sockets
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(calls);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    console.log(`  ${name.padEnd(28)} ${(((cpu.user + cpu.system) / 1000 / calls) * 1000).toFixed(0).padStart(5)} µs CPU a call (user ${((cpu.user / calls)).toFixed(0)}, sys ${(cpu.system / calls).toFixed(0)}), wall ${((wall / calls) * 1000).toFixed(0)} µs`);
  }
  clients.destroy();
} finally {
  child.send({ type: 'stop' });
}
