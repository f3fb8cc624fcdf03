/**
 * CreateSnapshots with `InstanceSpecification.ExcludeDataVolumeIds`, sent by the real SDK client:
 * a resumed collection names the volumes it already has, and the lab must snapshot only the rest,
 * as AWS does, or a rehearsal would show duplicate evidence that production never makes.
 */
import { CreateSnapshotsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { addInstance, type LabInstance } from '../../../src/lab/index.js';
import { assumeCollector, ec2Client, failureOf, startDemoLab, useLab } from './helpers.js';

const ACCOUNT = '222222222222';
const REGION = 'us-east-1';
const TAGS = [{ Key: 'CaseId', Value: 'CASE-2026-077' }];

describe('lab EC2: CreateSnapshots leaves out the data volumes it is told to', () => {
  const lab = useLab(() => startDemoLab());
  let target: EC2Client;
  let host: LabInstance;
  let other: LabInstance;
  let root: string;
  let logs: string;
  let scratch: string;

  /** Snapshots the lab holds per volume of `host` (every test starts from none). */
  function countsByVolume(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of lab.state.region(REGION).snapshots.values()) {
      if (host.blockDevices.some((d) => d.volumeId === s.volumeId)) counts[s.volumeId] = (counts[s.volumeId] ?? 0) + 1;
    }
    return counts;
  }

  function forgetSnapshots(): void {
    const snapshots = lab.state.region(REGION).snapshots;
    for (const [id, s] of snapshots) if (host.blockDevices.some((d) => d.volumeId === s.volumeId)) snapshots.delete(id);
  }

  function createSnapshots(spec: { ExcludeBootVolume?: boolean; ExcludeDataVolumeIds?: string[] }) {
    forgetSnapshots();
    return target.send(
      new CreateSnapshotsCommand({
        InstanceSpecification: { InstanceId: host.id, ...spec },
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: TAGS }],
      }),
    );
  }

  beforeAll(async () => {
    const tagged = { ForensicsEnabled: 'true' };
    host = addInstance(lab.state, ACCOUNT, REGION, {
      tags: { Name: 'three-disks', ...tagged },
      volumes: [
        { sizeGiB: 8, tags: tagged },
        { sizeGiB: 50, encryption: 'alias/cloud-custody-share', tags: tagged },
        { sizeGiB: 100, encryption: 'alias/cloud-custody-share', tags: tagged },
      ],
    });
    other = addInstance(lab.state, ACCOUNT, REGION, { tags: { Name: 'neighbour', ...tagged }, volumes: [{ sizeGiB: 8, tags: tagged }] });
    [root, logs, scratch] = host.blockDevices.map((d) => d.volumeId) as [string, string, string];
    target = ec2Client(lab, await assumeCollector(lab, ACCOUNT));
  });

  it('snapshots the root and the data volume that was not excluded, and nothing of the excluded one', async () => {
    const out = await createSnapshots({ ExcludeDataVolumeIds: [logs] });
    expect(out.Snapshots?.map((s) => s.VolumeId).sort()).toEqual([root, scratch].sort());
    expect(countsByVolume()).toEqual({ [root]: 1, [scratch]: 1 });
  });

  it('with ExcludeBootVolume as well, snapshots only the remaining data volume (what a resume of a half-done instance sends)', async () => {
    const out = await createSnapshots({ ExcludeBootVolume: true, ExcludeDataVolumeIds: [logs] });
    expect(out.Snapshots?.map((s) => s.VolumeId)).toEqual([scratch]);
    expect(out.Snapshots?.[0]?.Tags).toEqual(TAGS);
    expect(countsByVolume()).toEqual({ [scratch]: 1 });
  });

  it('refuses the root volume in ExcludeDataVolumeIds (ExcludeBootVolume is the way) and creates nothing', async () => {
    const error = await failureOf(createSnapshots({ ExcludeDataVolumeIds: [root] }));
    expect(error.name).toBe('InvalidParameterValue');
    expect(error.message).toContain(root);
    expect(error.message).toContain('ExcludeBootVolume');
    expect(countsByVolume()).toEqual({});
  });

  it('refuses a volume that is not attached to the instance, naming it, and creates nothing', async () => {
    const foreign = other.blockDevices[0]!.volumeId;
    const error = await failureOf(createSnapshots({ ExcludeDataVolumeIds: [logs, foreign] }));
    expect(error.name).toBe('InvalidParameterValue');
    expect(error.message).toContain(foreign);
    expect(error.message).toContain(host.id);
    expect(countsByVolume()).toEqual({});
  });

  it('refuses a malformed volume id and more than 40 ids', async () => {
    const malformed = await failureOf(createSnapshots({ ExcludeDataVolumeIds: ['vol-nothex'] }));
    expect(malformed.name).toBe('InvalidVolumeID.Malformed');
    const many = Array.from({ length: 41 }, (_, i) => `vol-${i.toString(16).padStart(17, '0')}`);
    const tooMany = await failureOf(createSnapshots({ ExcludeDataVolumeIds: many }));
    expect(tooMany.name).toBe('InvalidParameterValue');
    expect(tooMany.message).toContain('40');
    expect(countsByVolume()).toEqual({});
  });
});
