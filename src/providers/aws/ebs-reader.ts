/**
 * Reading a snapshot through the EBS direct APIs: `ListSnapshotBlocks` page by page (in block
 * order, so a disk of any size is listed with one page in memory), and `GetSnapshotBlock` into a
 * slot of the disk hash's block buffers, sent from its hash threads (or into a caller's buffer
 * from this thread), paced to EBS's request rates (request-pacer.ts); either way through the
 * scope's caller, so errors, request ids and session renewal are those of every other call.
 * `readCheckedBlock` checks the block's SHA-256 as EBS returned it, wherever it was computed: a
 * block that fails its checksum is read again, then the read fails naming the block — a block is
 * never skipped.
 */
import { createHash } from 'node:crypto';
import { GetSnapshotBlockCommand, ListSnapshotBlocksCommand } from '@aws-sdk/client-ebs';
import { CustodyError, isCustodyError } from '../../core/errors.js';
import type { AwsOperationName } from './operations.js';
import { blockClientFor, sourceOfSdk, type BlockClientSource, type EbsBlockClient, type GetBlockInput } from './ebs-block-client.js';
import type { HashPool } from './hash-worker.js';
import { pacerFor } from './request-pacer.js';
import type { ScopeCaller } from './scope.js';

const GIB = 1024 ** 3;
/** EBS returns at most 10,000 blocks a page. */
const PAGE_SIZE = 10_000;
/** Reads of one block whose checksum does not match, before the hash fails. */
export const CHECKSUM_ATTEMPTS = 3;

export interface WrittenBlock {
  index: number;
  token: string;
}

export interface BlockPage {
  /** The volume's size in bytes (`VolumeSize` GiB). */
  volumeBytes: number;
  blockSize: number;
  blocks: WrittenBlock[];
  requestId: string | undefined;
  /** Where the next page starts; undefined on the last page. */
  nextToken: string | undefined;
}

/** A block as EBS sent it: its bytes are in the caller's buffer, not yet checked. */
export interface BlockFetch {
  length: number;
  /** The block's SHA-256 as EBS claims it (base64). */
  checksum: string;
  /** `x-amz-Data-Length`: how many bytes EBS says it sent. */
  declaredLength: number | undefined;
  requestId: string | undefined;
}

export interface BlockRead {
  /** The block's SHA-256 as EBS returned it (base64), after it matched the bytes. */
  checksum: string;
  length: number;
  requestId: string | undefined;
  /** Reads that returned bytes not matching their checksum before this one matched. */
  checksumRetries: number;
}

/** What the disk hash needs from a snapshot: its list of written blocks, and one block at a time. */
export interface SnapshotBlockReader {
  readonly snapshotId: string;
  listPage(nextToken: string | undefined, signal?: AbortSignal): Promise<BlockPage>;
  /** Fills `into` (at least one block long) with block `index`; the checksum is not checked here. */
  fetchBlock(block: WrittenBlock, into: Buffer, signal?: AbortSignal): Promise<BlockFetch>;
  /**
   * Fills slot `slot` of `pool`'s buffers with block `index` from one of the pool's threads, which
   * also computes the bytes' SHA-256 (`sha256`), so neither the request nor the bytes pass through
   * this thread. A reader without it is read with `fetchBlock` and checked on a hash thread.
   */
  fetchToSlot?(block: WrittenBlock, slot: number, pool: HashPool, signal?: AbortSignal): Promise<BlockFetch & { sha256: string }>;
}

/** SHA-256 (base64) of a buffer's first `length` bytes, on this thread. */
export const sha256Here = (into: Buffer) => async (length: number) => createHash('sha256').update(into.subarray(0, length)).digest('base64');

/** One read of a block and the SHA-256 (base64) of the bytes that came, wherever it was computed. */
export type SummedFetch = () => Promise<BlockFetch & { sha256: string }>;

/** `fetchBlock` into `into`, its SHA-256 computed by `sha256` (this thread's by default). */
export const fetchThenSum =
  (reader: SnapshotBlockReader, block: WrittenBlock, into: Buffer, sha256: (length: number) => Promise<string> = sha256Here(into), signal?: AbortSignal): SummedFetch =>
  async () => {
    const fetched = await reader.fetchBlock(block, into, signal);
    return { ...fetched, sha256: await sha256(fetched.length) };
  };

/**
 * Reads block `block` (by `read`) and checks it against the checksum EBS sent with it; reads it
 * again when they differ, up to CHECKSUM_ATTEMPTS.
 */
export async function readCheckedBlock(reader: SnapshotBlockReader, block: WrittenBlock, read: SummedFetch): Promise<BlockRead> {
  let checksumRetries = 0;
  for (;;) {
    const fetched = await read();
    const got = fetched.sha256;
    if (got === fetched.checksum && fetched.length === fetched.declaredLength) {
      return { checksum: fetched.checksum, length: fetched.length, requestId: fetched.requestId, checksumRetries };
    }
    checksumRetries += 1;
    if (checksumRetries >= CHECKSUM_ATTEMPTS) {
      throw new CustodyError(
        'E_CLOUD',
        `block ${block.index} of snapshot ${reader.snapshotId} did not match its checksum in ${CHECKSUM_ATTEMPTS} reads (last: ${fetched.length} bytes, sha256 ${got}, EBS says ${fetched.checksum}): the disk hash stops here rather than skip a block`,
        { resource: reader.snapshotId, ...(fetched.requestId ? { requestId: fetched.requestId } : {}) },
      );
    }
  }
}

export interface EbsReaderOptions {
  caller: ScopeCaller;
  /** Which declared operations the calls are (target: collector role; forensics: orchestrator). */
  side: 'target' | 'forensics';
  snapshotId: string;
  /** The snapshot's ARN, named in errors. */
  snapshotArn: string;
  /**
   * Pace GetSnapshotBlock to EBS's 1,000 requests a second per snapshot and per account (default
   * true). Only a server known to have no such limit (the benchmark's unlimited lab) turns it off.
   */
  pace?: boolean;
}

const OPS: Record<EbsReaderOptions['side'], { list: AwsOperationName; get: AwsOperationName }> = {
  target: { list: 'listSnapshotBlocks', get: 'getSnapshotBlock' },
  forensics: { list: 'listForensicsSnapshotBlocks', get: 'getForensicsSnapshotBlock' },
};

/** The snapshot went away while it was read: EBS answers ResourceNotFoundException. */
function vanished(error: unknown, snapshotId: string, what: string): CustodyError | undefined {
  const cause = isCustodyError(error) ? (error.cause as { name?: string } | undefined) : (error as { name?: string } | undefined);
  if (cause?.name !== 'ResourceNotFoundException') return undefined;
  return new CustodyError(
    'E_NOT_FOUND',
    `snapshot ${snapshotId} could not be read (${what}): EBS says it no longer exists — deleted while it was being hashed? No hash is recorded for it.`,
    { cause: error, resource: snapshotId, ...(isCustodyError(error) && error.requestId ? { requestId: error.requestId } : {}) },
  );
}

/**
 * A reader through the scope's caller, so every call is a declared operation, carries its request
 * id and refreshes an expired session once: ListSnapshotBlocks over the SDK's EBS client
 * (`@aws-sdk/client-ebs`), GetSnapshotBlock over the lean client built from that SDK client's
 * settings (ebs-block-client.ts), its bytes going from the socket into the caller's buffer.
 *
 * @example const reader = createEbsReader({ caller, side: 'forensics', snapshotId, snapshotArn });
 */
export function createEbsReader(options: EbsReaderOptions): SnapshotBlockReader {
  const { caller, snapshotId, snapshotArn } = options;
  const ops = OPS[options.side];
  const pace = options.pace !== false;
  const accountPacer = pacerFor(`account:${caller.id.account}:${caller.id.region}`);
  const snapshotPacer = pacerFor(`snapshot:${snapshotId}`);
  // Made on the first block: the SDK client behind `caller.clients.ebs` is itself made on first use.
  let blockClient: EbsBlockClient | undefined;
  const blocks = () => (blockClient ??= blockClientFor(caller.clients.ebs));
  let source: BlockClientSource | undefined;
  const pacing = async () => {
    if (!pace) return;
    const paced = [accountPacer.take(), snapshotPacer.take()];
    if (paced[0] || paced[1]) await Promise.all(paced);
  };
  /** The checks of a GetSnapshotBlock answer, wherever it was sent from. */
  const answered = (index: number, output: { length: number; Checksum: string | undefined; ChecksumAlgorithm: string | undefined; DataLength: number | undefined }, requestId: string | undefined): BlockFetch => {
    if (output.ChecksumAlgorithm !== 'SHA256' || !output.Checksum) {
      throw new CustodyError('E_CLOUD', `GetSnapshotBlock of block ${index} of ${snapshotId} came without a SHA256 checksum (${output.ChecksumAlgorithm ?? 'none'})`, {
        resource: snapshotArn,
        ...(requestId ? { requestId } : {}),
      });
    }
    return { length: output.length, checksum: output.Checksum, declaredLength: output.DataLength, requestId };
  };
  return {
    snapshotId,
    async listPage(nextToken, signal) {
      let result;
      try {
        result = await caller.ebs(
          ops.list,
          new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, MaxResults: PAGE_SIZE, ...(nextToken ? { NextToken: nextToken } : {}) }),
          snapshotArn,
          signal,
        );
      } catch (error) {
        throw vanished(error, snapshotId, 'ListSnapshotBlocks') ?? error;
      }
      const { output, requestId } = result;
      const blockSize = output.BlockSize ?? 0;
      const volumeBytes = Math.round((output.VolumeSize ?? 0) * GIB);
      if (blockSize <= 0 || volumeBytes <= 0 || volumeBytes % blockSize !== 0) {
        throw new CustodyError('E_CLOUD', `ListSnapshotBlocks of ${snapshotId} gave an unusable geometry (VolumeSize ${output.VolumeSize} GiB, BlockSize ${output.BlockSize})`, {
          resource: snapshotArn,
          ...(requestId ? { requestId } : {}),
        });
      }
      const blocks: WrittenBlock[] = [];
      for (const b of output.Blocks ?? []) {
        // AWS sends numbers in block order; an emulator may send numeric strings, in any order.
        const index = Number(b.BlockIndex);
        if (!Number.isSafeInteger(index) || index < 0 || !b.BlockToken) {
          throw new CustodyError('E_CLOUD', `ListSnapshotBlocks of ${snapshotId} listed a block without a usable index or token (${JSON.stringify(b)})`, {
            resource: snapshotArn,
            ...(requestId ? { requestId } : {}),
          });
        }
        blocks.push({ index, token: b.BlockToken });
      }
      blocks.sort((a, b) => a.index - b.index);
      return { volumeBytes, blockSize, blocks, requestId, nextToken: output.NextToken || undefined };
    },

    async fetchBlock(block, into, signal) {
      await pacing();
      const command = new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: block.index, BlockToken: block.token });
      let result;
      try {
        result = await caller.via(ops.get, { send: (c: GetSnapshotBlockCommand, o) => blocks().getBlock(c.input as GetBlockInput, into, o?.abortSignal) }, command, snapshotArn, signal);
      } catch (error) {
        throw vanished(error, snapshotId, `GetSnapshotBlock of block ${block.index}`) ?? error;
      }
      return answered(block.index, result.output, result.requestId);
    },

    async fetchToSlot(block, slot, pool, signal) {
      await pacing();
      const sdk = caller.clients.ebs;
      source ??= sourceOfSdk(sdk);
      const from = source;
      const command = new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: block.index, BlockToken: block.token });
      let sum = '';
      let result;
      try {
        // Through the caller like any call: the operation checked, errors mapped, an expired session renewed once (the threads then get the new credentials).
        result = await caller.via(
          ops.get,
          {
            send: async (c: GetSnapshotBlockCommand, o) => {
              const fetched = await pool.fetchBlock(sdk, from, slot, c.input as GetBlockInput, o?.abortSignal);
              sum = fetched.sum;
              return fetched.response;
            },
          },
          command,
          snapshotArn,
          signal,
        );
      } catch (error) {
        throw vanished(error, snapshotId, `GetSnapshotBlock of block ${block.index}`) ?? error;
      }
      return { ...answered(block.index, result.output, result.requestId), sha256: sum };
    },
  };
}
