/**
 * What this case already has in one account and region: every snapshot tagged `CaseId=<case>`,
 * found with ONE DescribeSnapshots shared by all targets there. A resumed run adopts what it
 * finds instead of creating it again; snapshots created during this run are added as they are
 * made, so the index never goes stale for the run that owns it.
 */
import { DescribeSnapshotsCommand, type Snapshot } from '@aws-sdk/client-ec2';
import type { AwsOperationName } from './operations.js';
import type { ScopeCaller } from './scope.js';

export interface IndexedSnapshot {
  snapshotId: string;
  volumeId: string | undefined;
  state: string | undefined;
  tags: Record<string, string>;
  encrypted: boolean;
  kmsKeyId: string | undefined;
}

export function indexSnapshot(s: Snapshot): IndexedSnapshot | undefined {
  if (!s.SnapshotId) return undefined;
  const tags: Record<string, string> = {};
  for (const t of s.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return { snapshotId: s.SnapshotId, volumeId: s.VolumeId, state: s.State, tags, encrypted: s.Encrypted === true, kmsKeyId: s.KmsKeyId };
}

export class CaseSnapshotIndex {
  private loading: Promise<void> | undefined;
  private readonly snapshots = new Map<string, IndexedSnapshot>();
  /** Request id of the lookup, for the ledger. */
  lookupRequestId: string | undefined;

  constructor(
    private readonly caller: ScopeCaller,
    private readonly caseId: string,
    private readonly op: AwsOperationName,
  ) {}

  /** Loads once (the first target asks, the others share the answer). A failed lookup is retried by the next caller. */
  async load(signal?: AbortSignal): Promise<void> {
    this.loading ??= this.fetch(signal).catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  /** Snapshots of this case that are usable (not in `error` state) and match every given tag. */
  find(tags: Record<string, string>, volumeId?: string): IndexedSnapshot[] {
    return [...this.snapshots.values()].filter(
      (s) =>
        s.state !== 'error' &&
        (volumeId === undefined || s.volumeId === volumeId) &&
        Object.entries(tags).every(([k, v]) => s.tags[k] === v),
    );
  }

  add(snapshot: IndexedSnapshot): void {
    this.snapshots.set(snapshot.snapshotId, snapshot);
  }

  private async fetch(signal?: AbortSignal): Promise<void> {
    let nextToken: string | undefined;
    const { account, region } = this.caller.id;
    do {
      const { output, requestId } = await this.caller.ec2(
        this.op,
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: 'tag:CaseId', Values: [this.caseId] }],
          MaxResults: 1000,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        `snapshots tagged CaseId=${this.caseId} in ${account} ${region}`,
        signal,
      );
      this.lookupRequestId ??= requestId;
      for (const s of output.Snapshots ?? []) {
        const indexed = indexSnapshot(s);
        if (indexed && !this.snapshots.has(indexed.snapshotId)) this.snapshots.set(indexed.snapshotId, indexed);
      }
      nextToken = output.NextToken;
    } while (nextToken);
  }
}
