/**
 * The hash benchmark's lab, in its own process (the cloud's CPU is not the collector's): the demo
 * scenario plus, in the forensics account, completed case snapshots of the disks the benchmark
 * reads through the EBS direct API. Every written block's checksum is computed before `ready`,
 * as EBS has them stored, so serving a block costs the lab only its keystream.
 *
 * Parent → child: { type: 'configure', latencyMs, limits } | { type: 'stop' }
 * Child → parent: { type: 'ready', … } | { type: 'configured', throttled, cpuSeconds } (the lab's CPU time so far)
 */
import { addInstance, demoScenario, diskOfVolume, ebsControl, startLab } from '../src/lab/index.js';

export interface HashDiskSpec {
  name: string;
  sizeMiB: number;
  writtenFraction: number;
}

export interface HashLabReady {
  type: 'ready';
  endpoint: string;
  region: string;
  forensicsAccount: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  snapshots: Array<{ name: string; snapshotId: string; seed: string; sizeMiB: number; writtenFraction: number; writtenBlocks: number }>;
}

async function main(): Promise<void> {
  const disks = JSON.parse(process.argv[2] ?? '[]') as HashDiskSpec[];
  const lab = await startLab(demoScenario({ snapshotDurationMs: 0 }), { throttling: false });
  const account = lab.forensicsAccount;
  const region = lab.region;
  const snapshots: HashLabReady['snapshots'] = [];
  for (const [i, spec] of disks.entries()) {
    const seed = `bench-${spec.name}`;
    const host = addInstance(lab.state, account, region, {
      tags: { Name: `bench-${spec.name}` },
      volumes: [{ sizeGiB: Math.max(1, Math.ceil(spec.sizeMiB / 1024)), encryption: 'none', disk: { sizeMiB: spec.sizeMiB, writtenFraction: spec.writtenFraction, seed } }],
    });
    const volumeId = host.blockDevices[0]!.volumeId;
    const disk = diskOfVolume(lab.state, volumeId, 1);
    for (const index of disk.written) disk.checksum(index);
    const snapshotId = `snap-0bench${String(i).padStart(12, '0')}`;
    lab.state.region(region).snapshots.set(snapshotId, {
      id: snapshotId,
      ownerId: account,
      region,
      volumeId,
      volumeSize: Math.max(1, Math.ceil(spec.sizeMiB / 1024)),
      description: `bench ${spec.name}`,
      encrypted: false,
      tags: { CaseId: 'BENCH-HASH' },
      startTime: 0,
      durationMs: 0,
      createVolumePermissions: new Set(),
    });
    snapshots.push({ name: spec.name, snapshotId, seed, sizeMiB: spec.sizeMiB, writtenFraction: spec.writtenFraction, writtenBlocks: disk.written.length });
  }
  const ready: HashLabReady = { type: 'ready', endpoint: lab.endpoint, region, forensicsAccount: account, credentials: lab.orchestratorCredentials, snapshots };
  process.send?.(ready);
  process.on('message', (message: { type: string; latencyMs?: number; limits?: boolean }) => {
    if (message.type === 'configure') {
      lab.control.setLatency({ perAction: { 'ebs:GetSnapshotBlock': message.latencyMs ?? 0, 'ebs:ListSnapshotBlocks': message.latencyMs ?? 0 } });
      ebsControl.setLimits(lab.state, message.limits === true);
      const cpu = process.cpuUsage();
      process.send?.({ type: 'configured', throttled: ebsControl.throttled(lab.state), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    } else if (message.type === 'stop') {
      void lab.stop().then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

await main();
