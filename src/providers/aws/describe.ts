/**
 * Batched describes for one account and region. Concurrent targets share one DescribeInstances
 * and one DescribeVolumes call; targets the provider was told about (`expect…`, from validate()
 * and tag searches) ride along in the first call, so a scope of twenty instances costs a couple
 * of describe calls, not forty. Descriptions older than `maxAgeMs` are fetched again: evidence
 * should describe the resource close to when it was collected.
 */
import { DescribeInstancesCommand, DescribeVolumesCommand, type Instance, type Volume } from '@aws-sdk/client-ec2';
import { CustodyError } from '../../core/errors.js';
import { CoalescingBatcher } from './batcher.js';
import type { Clock } from './clock.js';
import type { ScopeCaller } from './scope.js';

/** EC2 filters accept up to 200 values. */
const MAX_IDS = 200;

export interface Described<T> {
  value: T;
  /** The DescribeInstances reservation owner, for instances. */
  ownerId?: string;
  requestId: string | undefined;
  describedAt: string;
}

interface Cached<T> {
  entry: Described<T>;
  at: number;
}

export class ResourceDirectory {
  private readonly instances = new Map<string, Cached<Instance>>();
  private readonly volumes = new Map<string, Cached<Volume>>();
  /** Descriptions on their way (a prefetch that rode along in another target's call). */
  private readonly inflightInstances = new Map<string, Promise<Described<Instance> | undefined>>();
  private readonly inflightVolumes = new Map<string, Promise<Described<Volume> | undefined>>();
  private readonly expectedInstances = new Set<string>();
  private readonly expectedVolumes = new Set<string>();
  private readonly instanceBatcher: CoalescingBatcher<string, Described<Instance>>;
  private readonly volumeBatcher: CoalescingBatcher<string, Described<Volume>>;

  constructor(
    private readonly caller: ScopeCaller,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
  ) {
    const { account, region, partition } = caller.id;
    this.instanceBatcher = new CoalescingBatcher(
      (ids) => this.fetchInstances(ids),
      (id) =>
        new CustodyError('E_NOT_FOUND', `instance ${id} does not exist in account ${account} ${region} (DescribeInstances found nothing)`, {
          action: 'ec2:DescribeInstances',
          resource: `arn:${partition}:ec2:${region}:${account}:instance/${id}`,
        }),
      { maxBatch: MAX_IDS },
    );
    this.volumeBatcher = new CoalescingBatcher(
      (ids) => this.fetchVolumes(ids),
      (id) =>
        new CustodyError('E_NOT_FOUND', `volume ${id} does not exist in account ${account} ${region} (DescribeVolumes found nothing)`, {
          action: 'ec2:DescribeVolumes',
          resource: `arn:${partition}:ec2:${region}:${account}:volume/${id}`,
        }),
      { maxBatch: MAX_IDS },
    );
  }

  expectInstance(id: string): void {
    this.expectedInstances.add(id);
  }

  expectVolume(id: string): void {
    this.expectedVolumes.add(id);
  }

  /** Adds descriptions a tag search already fetched (no extra call for those targets). */
  seedInstances(instances: Instance[], requestId: string | undefined, ownerIds: Map<string, string>): void {
    const at = this.clock.now();
    for (const instance of instances) {
      if (!instance.InstanceId) continue;
      const ownerId = ownerIds.get(instance.InstanceId);
      this.instances.set(instance.InstanceId, {
        entry: { value: instance, requestId, describedAt: new Date(at).toISOString(), ...(ownerId ? { ownerId } : {}) },
        at,
      });
      this.expectVolumesOf(instance);
    }
  }

  /** `fresh: true` asks EC2 again even when a recent description is cached. */
  async describeInstance(id: string, options: { fresh?: boolean } = {}): Promise<Described<Instance>> {
    if (!options.fresh) {
      const cached = this.fresh(this.instances.get(id)) ?? (await this.inflightInstances.get(id));
      if (cached) return cached;
    }
    return this.instanceBatcher.load(id);
  }

  async describeVolume(id: string): Promise<Described<Volume>> {
    const cached = this.fresh(this.volumes.get(id)) ?? (await this.inflightVolumes.get(id));
    if (cached) return cached;
    return this.volumeBatcher.load(id);
  }

  /** Marks `ids` as on their way until `fetch` settles; a failed or missing one resolves undefined. */
  private track<T>(ids: string[], inflight: Map<string, Promise<Described<T> | undefined>>, fetch: Promise<Map<string, Described<T>>>): void {
    for (const id of ids) {
      if (inflight.has(id)) continue;
      const p = fetch.then(
        (found) => found.get(id),
        () => undefined,
      );
      inflight.set(id, p);
      void p.finally(() => {
        if (inflight.get(id) === p) inflight.delete(id);
      });
    }
  }

  private fresh<T>(cached: Cached<T> | undefined): Described<T> | undefined {
    if (!cached) return undefined;
    return this.clock.now() - cached.at <= this.maxAgeMs ? cached.entry : undefined;
  }

  private expectVolumesOf(instance: Instance): void {
    for (const m of instance.BlockDeviceMappings ?? []) if (m.Ebs?.VolumeId) this.expectedVolumes.add(m.Ebs.VolumeId);
  }

  private withExpected(ids: string[], expected: Set<string>, cache: Map<string, Cached<unknown>>, inflight: Map<string, unknown>): string[] {
    const all = new Set(ids);
    for (const id of expected) {
      if (all.size >= MAX_IDS) break;
      if (!this.fresh(cache.get(id)) && !inflight.has(id)) all.add(id);
    }
    return [...all];
  }

  private fetchInstances(ids: string[]): Promise<Map<string, Described<Instance>>> {
    const wanted = this.withExpected(ids, this.expectedInstances, this.instances, this.inflightInstances);
    for (const id of wanted) this.expectedInstances.delete(id);
    const fetch = this.fetchInstancesNow(wanted);
    this.track(wanted, this.inflightInstances, fetch);
    return fetch;
  }

  private async fetchInstancesNow(wanted: string[]): Promise<Map<string, Described<Instance>>> {
    const out = new Map<string, Described<Instance>>();
    let nextToken: string | undefined;
    do {
      const { output, requestId } = await this.caller.ec2(
        'describeInstances',
        new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: wanted }], ...(nextToken ? { NextToken: nextToken } : {}) }),
        wanted.length === 1 ? `instance ${wanted[0]}` : `instances ${wanted.join(', ')}`,
      );
      const at = this.clock.now();
      for (const reservation of output.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (!instance.InstanceId) continue;
          const entry: Described<Instance> = {
            value: instance,
            requestId,
            describedAt: new Date(at).toISOString(),
            ...(reservation.OwnerId ? { ownerId: reservation.OwnerId } : {}),
          };
          this.instances.set(instance.InstanceId, { entry, at });
          this.expectVolumesOf(instance);
          out.set(instance.InstanceId, entry);
        }
      }
      nextToken = output.NextToken;
    } while (nextToken);
    return out;
  }

  private fetchVolumes(ids: string[]): Promise<Map<string, Described<Volume>>> {
    const wanted = this.withExpected(ids, this.expectedVolumes, this.volumes, this.inflightVolumes);
    for (const id of wanted) this.expectedVolumes.delete(id);
    const fetch = this.fetchVolumesNow(wanted);
    this.track(wanted, this.inflightVolumes, fetch);
    return fetch;
  }

  private async fetchVolumesNow(wanted: string[]): Promise<Map<string, Described<Volume>>> {
    const out = new Map<string, Described<Volume>>();
    let nextToken: string | undefined;
    do {
      const { output, requestId } = await this.caller.ec2(
        'describeVolumes',
        new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: wanted }], ...(nextToken ? { NextToken: nextToken } : {}) }),
        wanted.length === 1 ? `volume ${wanted[0]}` : `volumes ${wanted.join(', ')}`,
      );
      const at = this.clock.now();
      for (const volume of output.Volumes ?? []) {
        if (!volume.VolumeId) continue;
        const entry: Described<Volume> = { value: volume, requestId, describedAt: new Date(at).toISOString() };
        this.volumes.set(volume.VolumeId, { entry, at });
        out.set(volume.VolumeId, entry);
      }
      nextToken = output.NextToken;
    } while (nextToken);
    return out;
  }
}
