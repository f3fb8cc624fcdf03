/**
 * The benchmark's lab, in its own process: the cloud's CPU is not the collector's, so the lab's
 * request handling must not share the collector's event loop. Talks to the parent over IPC.
 *
 * Parent → child: { type: 'calls' } | { type: 'snapshots' } | { type: 'reset' } | { type: 'stop' }
 * Child → parent: { type: 'ready', … } | { type: 'calls', calls, throttled } | { type: 'snapshots', snapshots }
 */
import { benchScenario, startLab } from '../src/lab/index.js';
import type { CallCounts } from '../src/lab/index.js';

export interface LabInstanceInfo {
  id: string;
  region: string;
  account: string;
  volumes: Array<{ id: string; awsEbs: boolean }>;
}

export interface ReadyMessage {
  type: 'ready';
  endpoint: string;
  region: string;
  forensicsAccount: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  snapshotDurationMs: number;
  /** EC2's quotas as the lab enforces them: pending snapshots per account and region, concurrent copies per destination. */
  limits: { pendingSnapshots: number; concurrentCopies: number };
  instances: LabInstanceInfo[];
}

export interface CallsMessage {
  type: 'calls';
  calls: CallCounts;
  throttled: number;
  /** The lab process's CPU (user + system ms) since the last reset. */
  cpuMs: number;
}

/** When the lab completed each snapshot and copy (lab clock = this machine's clock, speed 1). */
export interface SnapshotsMessage {
  type: 'snapshots';
  snapshots: Array<{ id: string; account: string; completedAt: number; copy: boolean }>;
}

export interface LabProcessOptions {
  accounts: number;
  instancesPerAccount: number;
  volumesPerInstance: number;
  latencyMs: number;
  /** EC2's token buckets (default on); bench/sdk-calls.ts turns them off to time calls alone. */
  throttling?: boolean;
  /** Pending snapshots per account and region (default EC2's 100). */
  pendingSnapshotLimit?: number;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as LabProcessOptions;
  const lab = await startLab(
    benchScenario({ accounts: options.accounts, instancesPerAccount: options.instancesPerAccount, volumesPerInstance: options.volumesPerInstance }),
    {
      latency: options.latencyMs,
      throttling: options.throttling ?? true,
      ...(options.pendingSnapshotLimit ? { limits: { pendingSnapshots: options.pendingSnapshotLimit } } : {}),
    },
  );
  const instances: LabInstanceInfo[] = lab.state.regionNames().flatMap((region) =>
    [...lab.state.region(region).instances.values()].map((i) => ({
      id: i.id,
      region: i.region,
      account: i.ownerId,
      volumes: i.blockDevices.map((d) => {
        const volume = lab.state.region(region).volumes.get(d.volumeId);
        return { id: d.volumeId, awsEbs: volume?.kmsKeyId === lab.state.awsEbsKey(i.ownerId, region).arn };
      }),
    })),
  );
  const ready: ReadyMessage = {
    type: 'ready',
    endpoint: lab.endpoint,
    region: lab.region,
    forensicsAccount: lab.forensicsAccount,
    credentials: lab.orchestratorCredentials,
    snapshotDurationMs: lab.state.snapshotDurationMs,
    limits: { ...lab.state.limits },
    instances,
  };
  process.send?.(ready);
  let cpu0 = process.cpuUsage();
  process.on('message', (message: { type: string }) => {
    if (message.type === 'calls') {
      const cpu = process.cpuUsage(cpu0);
      const reply: CallsMessage = { type: 'calls', calls: lab.calls(), throttled: lab.control.throttled(), cpuMs: (cpu.user + cpu.system) / 1000 };
      process.send?.(reply);
    } else if (message.type === 'snapshots') {
      const snapshots = lab.state.regionNames().flatMap((region) =>
        [...lab.state.region(region).snapshots.values()].map((s) => ({
          id: s.id,
          account: s.ownerId,
          completedAt: s.startTime + s.durationMs,
          copy: s.sourceSnapshotId !== undefined,
        })),
      );
      const reply: SnapshotsMessage = { type: 'snapshots', snapshots };
      process.send?.(reply);
    } else if (message.type === 'reset') {
      lab.control.resetCalls();
      cpu0 = process.cpuUsage();
      process.send?.({ type: 'reset' });
    } else if (message.type === 'stop') {
      void lab.stop().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

await main();
