/**
 * Describe: the instance and each of its disks (zonal or regional), stored as evidence exactly
 * as Compute returned them (JSON with int64 as strings, per the proto3 JSON mapping).
 */
import type { protos } from '@google-cloud/compute';
import type { GcpSession } from './session.js';
import { diskTargetFromUrl, resourceNameOf, type GcpDiskTarget, type GcpInstanceTarget } from './targets.js';

export type Instance = protos.google.cloud.compute.v1.IInstance;
export type Disk = protos.google.cloud.compute.v1.IDisk;

export async function getInstance(session: GcpSession, target: GcpInstanceTarget, evidenceId: string): Promise<Instance> {
  const [instance] = await session.call('getInstance', target.project, resourceNameOf(target), evidenceId, (c, o) =>
    c.instances.get({ project: target.project, zone: target.zone, instance: target.instance }, o),
  );
  return instance;
}

export async function getDisk(session: GcpSession, disk: GcpDiskTarget, evidenceId: string): Promise<Disk> {
  const name = resourceNameOf(disk);
  if (disk.zone !== undefined) {
    const [d] = await session.call('getDisk', disk.project, name, evidenceId, (c, o) => c.disks.get({ project: disk.project, zone: disk.zone!, disk: disk.disk }, o));
    return d;
  }
  const [d] = await session.call('getDisk', disk.project, name, evidenceId, (c, o) =>
    c.regionDisks.get({ project: disk.project, region: disk.region!, disk: disk.disk }, o),
  );
  return d;
}

/** The persistent disks attached to an instance (a local SSD has no `source` and cannot be snapshotted). */
export function attachedDisks(instance: Instance): { disks: GcpDiskTarget[]; skipped: string[] } {
  const disks: GcpDiskTarget[] = [];
  const skipped: string[] = [];
  for (const attached of instance.disks ?? []) {
    const target = attached.source ? diskTargetFromUrl(attached.source) : undefined;
    if (target) disks.push(target);
    else skipped.push(attached.deviceName ?? `index ${attached.index ?? '?'}`);
  }
  return { disks, skipped };
}

/** JSON as Compute sent it: the client's objects carry `_field` oneof markers; drop them. */
export function toEvidenceJson(value: unknown): string {
  return `${JSON.stringify(value, (key, v: unknown) => (key.startsWith('_') ? undefined : v), 2)}\n`;
}
