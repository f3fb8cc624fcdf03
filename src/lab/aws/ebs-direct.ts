/**
 * The EBS direct read APIs for the snapshots the lab holds (REST, JSON, SigV4 service `ebs`):
 * `GET /snapshots/{id}/blocks` (ListSnapshotBlocks: written blocks only, paged, with block
 * tokens) and `GET /snapshots/{id}/blocks/{index}?blockToken=…` (GetSnapshotBlock: the bytes, with
 * `x-amz-Checksum` SHA-256 and `x-amz-Data-Length`). Authorised like AWS: the action on the
 * snapshot's EC2 ARN with its tags as `aws:ResourceTag/*`, and for an encrypted snapshot
 * `kms:Decrypt` on its key via `ebs.REGION.amazonaws.com`. EBS's request-rate limits apply
 * (GetSnapshotBlock per snapshot and per account, ListSnapshotBlocks per account), answered with
 * `RequestThrottledException` as EBS does. Tests can corrupt a block's bytes for some reads and
 * run something just before the Nth block request (delete the snapshot, expire sessions).
 */
import { authorize, resourceTagContext, type CallContext, type HandlerResult } from './context.js';
import { diskOfVolume, EBS_BLOCK_SIZE, type LabDisk } from './disk-content.js';
import { LabAwsError } from './errors.js';
import type { LabSnapshot, LabState } from './state.js';
import { TokenBucket } from './token-bucket.js';

/** EBS's documented rates: GetSnapshotBlock 1,000/s per snapshot and per account; ListSnapshotBlocks 50/s per account. */
export const EBS_LIMITS = {
  getPerSnapshot: { capacity: 100, refillPerSecond: 1000 },
  getPerAccount: { capacity: 100, refillPerSecond: 1000 },
  listPerAccount: { capacity: 10, refillPerSecond: 50 },
} as const;

const PAGE_MAX = 10_000;

interface EbsLabState {
  buckets: Map<string, TokenBucket>;
  /** `snapshotId:index` → reads left that return corrupted bytes. */
  corrupt: Map<string, number>;
  hooks: Array<{ n: number; seen: number; run: () => void }>;
  listHooks: Array<{ n: number; seen: number; run: () => void }>;
  throttled: number;
  limitsOn: boolean;
  /** GetSnapshotBlock requests still to refuse as throttled, whatever the rate (tests). */
  throttleNext: number;
}

const ebsStates = new WeakMap<LabState, EbsLabState>();

function ebsState(state: LabState): EbsLabState {
  let s = ebsStates.get(state);
  if (!s) {
    s = { buckets: new Map(), corrupt: new Map(), hooks: [], listHooks: [], throttled: 0, limitsOn: true, throttleNext: 0 };
    ebsStates.set(state, s);
  }
  return s;
}

/** Knobs for tests and the benchmark. */
export const ebsControl = {
  /** The next `reads` reads of a block return bytes that do not match their checksum. */
  corruptBlock(state: LabState, snapshotId: string, index: number, reads = 1): void {
    ebsState(state).corrupt.set(`${snapshotId}:${index}`, reads);
  },
  /** Runs `run` just before the Nth (1-based) GetSnapshotBlock from now is served. */
  beforeBlockRequest(state: LabState, n: number, run: () => void): void {
    ebsState(state).hooks.push({ n, seen: 0, run });
  },
  /** Runs `run` just before the Nth (1-based) ListSnapshotBlocks from now is served. */
  beforeListRequest(state: LabState, n: number, run: () => void): void {
    ebsState(state).listHooks.push({ n, seen: 0, run });
  },
  /** The next `count` GetSnapshotBlock requests are refused as throttled (per snapshot), whatever the rate. */
  throttleNextBlocks(state: LabState, count: number): void {
    ebsState(state).throttleNext = count;
  },
  /** EBS's request-rate limits on (default) or off. */
  setLimits(state: LabState, on: boolean): void {
    const s = ebsState(state);
    s.limitsOn = on;
    s.buckets.clear();
  },
  /** How many EBS requests were refused with RequestThrottledException. */
  throttled(state: LabState): number {
    return ebsState(state).throttled;
  },
};

function ebsError(code: string, message: string, status: number, reason?: string): LabAwsError {
  const error = new LabAwsError(code, message, status);
  if (reason) (error as LabAwsError & { reason?: string }).reason = reason;
  return error;
}

/** The operation a request names, from its method and path (for counting, faults and routing). */
export function ebsOperationOf(method: string, url: URL): string {
  if (method === 'GET' && /^\/snapshots\/[^/]+\/blocks\/\d+$/.test(url.pathname)) return 'GetSnapshotBlock';
  if (method === 'GET' && /^\/snapshots\/[^/]+\/blocks$/.test(url.pathname)) return 'ListSnapshotBlocks';
  return 'Unsupported';
}

function take(call: CallContext, key: string, spec: { capacity: number; refillPerSecond: number }): void {
  const s = ebsState(call.lab.state);
  if (!s.limitsOn) return;
  let bucket = s.buckets.get(key);
  if (!bucket) {
    // Real time, not the lab clock: request rates are about the wall clock.
    bucket = new TokenBucket(spec, () => performance.now());
    s.buckets.set(key, bucket);
  }
  if (!bucket.tryTake()) {
    s.throttled += 1;
    throw ebsError('RequestThrottledException', 'The request was throttled: too many requests.', 400, key.startsWith('account') ? 'ACCOUNT_THROTTLED' : 'DEPENDENCY_REQUEST_THROTTLED');
  }
}

function findSnapshot(call: CallContext, snapshotId: string): LabSnapshot {
  const snapshot = call.lab.state.region(call.region).snapshots.get(snapshotId);
  const visible = snapshot && (snapshot.ownerId === call.account || snapshot.createVolumePermissions.has(call.account));
  if (!snapshot || !visible) {
    throw ebsError('ResourceNotFoundException', `The snapshot '${snapshotId}' does not exist.`, 404, 'SNAPSHOT_NOT_FOUND');
  }
  if (call.lab.state.snapshotStatus(snapshot).state !== 'completed') {
    throw ebsError('ValidationException', `The snapshot '${snapshotId}' is not completed.`, 400, 'INVALID_SNAPSHOT_STATE');
  }
  return snapshot;
}

/**
 * The disk a snapshot holds: its volume's. A copy names no volume (EC2 reports `vol-ffffffff`),
 * so it holds what its source held.
 */
const snapshotDisks = new WeakMap<LabSnapshot, LabDisk>();

function diskOf(state: LabState, snapshot: LabSnapshot): LabDisk {
  const known = snapshotDisks.get(snapshot);
  if (known) return known;
  let origin = snapshot;
  for (let hops = 0; origin.sourceSnapshotId && hops < 16; hops++) {
    const id = origin.sourceSnapshotId;
    const source = state.regionNames().map((r) => state.region(r).snapshots.get(id)).find((s) => s !== undefined);
    if (!source) break;
    origin = source;
  }
  const disk = diskOfVolume(state, origin.volumeId, origin.volumeSize);
  snapshotDisks.set(snapshot, disk);
  return disk;
}

function snapshotArn(call: CallContext, snapshotId: string): string {
  return `arn:aws:ec2:${call.region}::snapshot/${snapshotId}`;
}

function tokenFor(snapshotId: string, index: number): string {
  return Buffer.from(`${snapshotId}/${index}/lab-block-token`).toString('base64url');
}

export async function handleEbs(call: CallContext, method: string, url: URL): Promise<HandlerResult> {
  const operation = ebsOperationOf(method, url);
  const snapshotId = decodeURIComponent(url.pathname.split('/')[2] ?? '');
  if (operation === 'ListSnapshotBlocks') return listSnapshotBlocks(call, snapshotId, url);
  if (operation === 'GetSnapshotBlock') return getSnapshotBlock(call, snapshotId, Number(url.pathname.split('/')[4]), url);
  throw ebsError('ValidationException', `The lab does not serve ${method} ${url.pathname}`, 400);
}

async function listSnapshotBlocks(call: CallContext, snapshotId: string, url: URL): Promise<HandlerResult> {
  const s = ebsState(call.lab.state);
  for (const hook of s.listHooks) {
    hook.seen += 1;
    if (hook.seen === hook.n) hook.run();
  }
  s.listHooks = s.listHooks.filter((h) => h.seen < h.n);
  take(call, `account:${call.account}:list`, EBS_LIMITS.listPerAccount);
  const snapshot = findSnapshot(call, snapshotId);
  await authorize(call, 'ebs:ListSnapshotBlocks', [{ resource: snapshotArn(call, snapshotId), context: resourceTagContext(snapshot.tags) }]);
  const disk = diskOf(call.lab.state, snapshot);
  const max = Math.min(PAGE_MAX, Math.max(100, Number(url.searchParams.get('maxResults') ?? PAGE_MAX) || PAGE_MAX));
  const pageToken = url.searchParams.get('pageToken');
  const starting = Number(url.searchParams.get('startingBlockIndex') ?? 0) || 0;
  let from = pageToken ? Number(Buffer.from(pageToken, 'base64url').toString('utf8')) : starting;
  if (!Number.isInteger(from) || from < 0) throw ebsError('ValidationException', 'The page token is not valid.', 400, 'INVALID_PAGE_TOKEN');
  // First written block at or after `from` (binary search: the list is sorted).
  let lo = 0;
  let hi = disk.written.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((disk.written[mid] ?? 0) < from) lo = mid + 1;
    else hi = mid;
  }
  const blocks: Array<{ BlockIndex: number; BlockToken: string }> = [];
  let i = lo;
  for (; i < disk.written.length && blocks.length < max; i++) {
    const index = disk.written[i] as number;
    blocks.push({ BlockIndex: index, BlockToken: tokenFor(snapshotId, index) });
  }
  from = i < disk.written.length ? (disk.written[i] as number) : -1;
  const body = {
    Blocks: blocks,
    ExpiryTime: Math.floor(call.lab.state.clock.now() / 1000) + 7 * 24 * 3600,
    VolumeSize: disk.volumeSizeGiB,
    BlockSize: EBS_BLOCK_SIZE,
    ...(from >= 0 ? { NextToken: Buffer.from(String(from)).toString('base64url') } : {}),
  };
  return { contentType: 'application/json', body: JSON.stringify(body) };
}

async function getSnapshotBlock(call: CallContext, snapshotId: string, index: number, url: URL): Promise<HandlerResult> {
  const s = ebsState(call.lab.state);
  for (const hook of s.hooks) {
    hook.seen += 1;
    if (hook.seen === hook.n) hook.run();
  }
  s.hooks = s.hooks.filter((h) => h.seen < h.n);
  if (s.throttleNext > 0) {
    s.throttleNext -= 1;
    s.throttled += 1;
    throw ebsError('RequestThrottledException', 'The request was throttled: too many requests.', 400, 'DEPENDENCY_REQUEST_THROTTLED');
  }
  take(call, `account:${call.account}:get`, EBS_LIMITS.getPerAccount);
  take(call, `snapshot:${snapshotId}:get`, EBS_LIMITS.getPerSnapshot);
  const snapshot = findSnapshot(call, snapshotId);
  const arn = snapshotArn(call, snapshotId);
  await authorize(call, 'ebs:GetSnapshotBlock', [{ resource: arn, context: resourceTagContext(snapshot.tags) }]);
  // A customer key decides whether EBS may decrypt for the caller. The AWS-managed aws/ebs key's
  // own policy lets any principal of its account use it through AWS's storage services, so the
  // lab asks no more for it. EBS calls KMS as `ec2.REGION.amazonaws.com` (the KMS guide's
  // kms:ViaService table names no `ebs.` service).
  const snapshotKey = snapshot.kmsKeyId ? call.lab.state.keyByArn(snapshot.kmsKeyId) : undefined;
  if (snapshot.encrypted && snapshot.kmsKeyId && snapshotKey?.keyManager !== 'AWS') {
    await authorize(call, 'kms:Decrypt', [{ resource: snapshot.kmsKeyId, context: { 'kms:ViaService': `ec2.${call.region}.amazonaws.com` } }]);
  }
  const disk = diskOf(call.lab.state, snapshot);
  if (!Number.isInteger(index) || index < 0 || index >= disk.blockCount || !disk.isWritten(index) || url.searchParams.get('blockToken') !== tokenFor(snapshotId, index)) {
    throw ebsError('ValidationException', `The block token for block ${index} of ${snapshotId} is not valid.`, 400, 'INVALID_BLOCK_TOKEN');
  }
  const checksum = disk.checksum(index);
  const key = `${snapshotId}:${index}`;
  const corrupt = s.corrupt.get(key);
  let body: Buffer[] = disk.blockParts(index);
  if (corrupt !== undefined && corrupt > 0) {
    const data = disk.block(index);
    data[7] = (data[7] ?? 0) ^ 0xff;
    body = [data];
    if (corrupt <= 1) s.corrupt.delete(key);
    else s.corrupt.set(key, corrupt - 1);
  }
  return {
    contentType: 'application/octet-stream',
    body,
    headers: { 'x-amz-Data-Length': String(EBS_BLOCK_SIZE), 'x-amz-Checksum': checksum, 'x-amz-Checksum-Algorithm': 'SHA256' },
  };
}
