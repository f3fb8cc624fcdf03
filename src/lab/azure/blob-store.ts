/**
 * The state of the lab's Blob Storage and the rules custody relies on: storage accounts (each with
 * its ARM id, the scope data actions are decided at), containers with version-level immutability
 * (blob versioning on), blobs as a current version plus previous versions, server-side copies,
 * time-based retention policies and legal holds per version.
 *
 * Version-level WORM as documented (learn.microsoft.com `immutable-version-level-worm-policies`,
 * docs/research/azure.md §6.3): a version under an unexpired policy or a legal hold cannot be
 * deleted, its metadata cannot change and Put Page is refused (409 `BlobImmutableDueToPolicy` /
 * `BlobImmutableDueToLegalHold`); overwriting the blob makes a new current version and keeps the
 * sealed one as a previous version; deleting the current version keeps it as a previous version.
 * An unlocked policy may be shortened or removed; a locked one only extended.
 */
import { randomUUID } from 'node:crypto';

export type LockCode = 'BlobImmutableDueToLegalHold' | 'BlobImmutableDueToPolicy';

export interface LabBlobCopy {
  id: string;
  /** The source URL without its query (a SAS is a credential). */
  source: string;
  status: 'pending' | 'success' | 'aborted' | 'failed';
  total: number;
  /** Reads of the destination that still see `pending` (the lab's stand-in for copy time). */
  pendingReads: number;
  completedOn?: Date;
}

export interface LabBlobVersion {
  versionId: string;
  type: 'PageBlob' | 'BlockBlob';
  content: Buffer;
  etag: string;
  createdOn: Date;
  lastModified: Date;
  metadata: Record<string, string>;
  copy?: LabBlobCopy;
  immutability?: { until: Date; mode: 'Unlocked' | 'Locked' };
  legalHold: boolean;
}

export interface LabBlob {
  name: string;
  current?: LabBlobVersion;
  previous: LabBlobVersion[];
}

export interface LabContainer {
  name: string;
  /** Version-level immutability support (needs versioning): policies and holds per version. */
  versionLevelWorm: boolean;
  blobs: Map<string, LabBlob>;
}

export interface LabStorageAccount {
  name: string;
  /** `/subscriptions/…/providers/Microsoft.Storage/storageAccounts/NAME`: the data-action scope root. */
  armId: string;
  /** The tenant whose tokens the account accepts. */
  tenant: string;
  /** Accounts that Azure owns (disk exports): read through a SAS only, never with a token. */
  sasOnly: boolean;
  containers: Map<string, LabContainer>;
}

/** The data-action scope of a container or blob: the account's ARM id + `/blobServices/default/containers/C[/blobs/PATH]`. */
export function blobScope(account: Pick<LabStorageAccount, 'armId'>, container: string, blob?: string): string {
  const base = `${account.armId}/blobServices/default/containers/${container}`;
  return blob === undefined ? base : `${base}/blobs/${blob}`;
}

let versionCounter = 0;

/** Version ids are timestamps with seven fractional digits, unique per version. */
export function newVersionId(now: number): string {
  versionCounter = (versionCounter + 1) % 10_000;
  return new Date(now).toISOString().replace(/Z$/, `${String(versionCounter).padStart(4, '0')}Z`);
}

export function newEtag(): string {
  return `"0x8DD${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}"`;
}

/** What keeps a version from being changed or deleted now, if anything. */
export function lockOf(version: LabBlobVersion, now: number): LockCode | undefined {
  if (version.legalHold) return 'BlobImmutableDueToLegalHold';
  if (version.immutability && version.immutability.until.getTime() > now) return 'BlobImmutableDueToPolicy';
  return undefined;
}

export const LOCK_MESSAGES: Record<LockCode, string> = {
  BlobImmutableDueToLegalHold: 'This operation is not permitted as the blob is immutable due to one or more legal holds.',
  BlobImmutableDueToPolicy: 'This operation is not permitted as the blob is immutable due to a policy.',
};

export class LabBlobStore {
  readonly accounts = new Map<string, LabStorageAccount>();

  addAccount(account: Omit<LabStorageAccount, 'containers'>): LabStorageAccount {
    const full: LabStorageAccount = { ...account, containers: new Map() };
    this.accounts.set(account.name, full);
    return full;
  }

  addContainer(account: string, name: string, versionLevelWorm: boolean): LabContainer {
    const container: LabContainer = { name, versionLevelWorm, blobs: new Map() };
    this.accounts.get(account)!.containers.set(name, container);
    return container;
  }

  container(account: string, name: string): LabContainer | undefined {
    return this.accounts.get(account)?.containers.get(name);
  }

  /** Writes a new current version; the one it replaces is kept as a previous version (versioning). */
  write(container: LabContainer, name: string, version: Omit<LabBlobVersion, 'versionId' | 'etag' | 'createdOn' | 'lastModified' | 'legalHold'>, now: number): LabBlobVersion {
    let blob = container.blobs.get(name);
    if (!blob) {
      blob = { name, previous: [] };
      container.blobs.set(name, blob);
    }
    if (blob.current) blob.previous.push(blob.current);
    const at = new Date(now);
    blob.current = { ...version, versionId: newVersionId(now), etag: newEtag(), createdOn: at, lastModified: at, legalHold: false };
    return blob.current;
  }

  /** The version a request names (`versionid`), else the current one. */
  version(container: LabContainer, name: string, versionId?: string | null): LabBlobVersion | undefined {
    const blob = container.blobs.get(name);
    if (!blob) return undefined;
    if (!versionId) return blob.current;
    return [blob.current, ...blob.previous].find((v) => v?.versionId === versionId);
  }

  /**
   * Deletes a version by id (refused while it is sealed), or the current version, which then
   * becomes a previous version (versioning keeps it, sealed or not).
   */
  delete(container: LabContainer, name: string, versionId: string | null, now: number): { ok: true } | { ok: false; code: LockCode | 'BlobNotFound' } {
    const blob = container.blobs.get(name);
    const target = blob && this.version(container, name, versionId);
    if (!blob || !target) return { ok: false, code: 'BlobNotFound' };
    if (!versionId) {
      blob.previous.push(target);
      blob.current = undefined;
      return { ok: true };
    }
    const lock = lockOf(target, now);
    if (lock) return { ok: false, code: lock };
    if (blob.current === target) blob.current = undefined;
    else blob.previous = blob.previous.filter((v) => v !== target);
    return { ok: true };
  }
}
