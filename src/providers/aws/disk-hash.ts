/**
 * The whole-disk SHA-256 of a snapshot, as `sha256sum` of a `dd` image of the volume would give:
 * every block in order, written blocks as EBS returns them (checksum checked), unwritten ones as
 * zeros. Built so the main thread only plans (which blocks, in what order, paced how; the progress
 * log, the image, the result):
 * - blocks are fetched ahead, up to `concurrency` at once, into slots of the process's shared
 *   block buffers (block-buffers.ts: one memory budget for every disk hashed at once, each disk
 *   held to its share and to `window`), and handed to the disk's digest in disk order;
 * - the EBS reader sends each GetSnapshotBlock from a hash thread (hash-worker.ts), which writes
 *   the bytes into the slot and computes their checksum there, out of order; the disk's running
 *   digest, on one of those threads, takes the checked blocks in order; a block is never copied
 *   after it left the socket;
 * - unwritten ranges cost no request: the digest's thread hashes them from a preallocated zero
 *   buffer; the block-hash list names the zero block's hash once.
 * A result exists only once every block went through the hash; any failure rejects instead.
 */
import { createHash } from 'node:crypto';
import { CustodyError } from '../../core/errors.js';
import { SLOT_BYTES, sharedBlockBuffers, type BlockBuffers } from './block-buffers.js';
import { fetchThenSum, readCheckedBlock, type BlockRead, type SnapshotBlockReader, type WrittenBlock } from './ebs-reader.js';
import type { BlockLog, ResumePoint } from './hash-progress.js';
import { hashPoolFor, type DiskDigest, type HashPool } from './hash-worker.js';
import type { RawImage } from './raw-image.js';

export interface HashDiskOptions {
  reader: SnapshotBlockReader;
  log: BlockLog;
  signal?: AbortSignal;
  /** Opens the raw image once the volume's size is known (`--image`). */
  openImage?: (volumeBytes: number, blockSize: number, resume: boolean) => Promise<RawImage>;
  /** Most block buffers this disk holds at once (its share of the process's budget may be less). */
  window?: number;
  /** The memory budget to draw buffers from (default: the process's, shared by every disk). */
  buffers?: BlockBuffers;
  /** GetSnapshotBlock requests in flight. */
  concurrency?: number;
  /** A range is made durable in the progress log every this many blocks (or as the disk's block count decides). */
  checkpointEvery?: number | ((blockCount: number) => number);
  onProgress?: (hashedBlocks: number, blockCount: number) => void;
  /** Called with each range made durable (tests stop a run here to prove resume). */
  onRange?: (upTo: number) => void | Promise<void>;
}

export interface DiskHash {
  snapshotId: string;
  /** Hex SHA-256 of the whole volume. */
  sha256: string;
  volumeBytes: number;
  blockSize: number;
  blockCount: number;
  writtenBlocks: number;
  /** Hex SHA-256 of one unwritten (all-zero) block. */
  zeroBlockSha256: string;
  listRequestIds: string[];
  /** GetSnapshotBlock requests answered (checksum retries included). */
  blockRequests: number;
  checksumRetries: number;
  /** Where an earlier run stopped and this one took over, and how its blocks were re-read. */
  resumed?: { fromBlock: number; prefixFrom: 'image' | 'ebs' };
  imagePath?: string;
}

interface Fetchable {
  index: number;
  token: string | undefined;
  /** Re-read from the image of an earlier run (resume) rather than from EBS. */
  fromImage: boolean;
}

/** The written blocks, page by page in disk order, the next page asked for while this one is used. */
class WrittenBlocks {
  private queue: WrittenBlock[] = [];
  private head = 0;
  private nextPage: Promise<void> | undefined;
  private token: string | undefined;
  done = false;
  readonly requestIds: string[] = [];

  constructor(
    private readonly reader: SnapshotBlockReader,
    private readonly signal: AbortSignal | undefined,
    first: { blocks: WrittenBlock[]; nextToken: string | undefined; requestId: string | undefined },
  ) {
    this.accept(first);
  }

  private accept(page: { blocks: WrittenBlock[]; nextToken: string | undefined; requestId: string | undefined }): void {
    if (page.requestId) this.requestIds.push(page.requestId);
    this.queue = this.queue.slice(this.head).concat(page.blocks);
    this.head = 0;
    this.token = page.nextToken;
    if (!this.token) this.done = true;
    else this.nextPage = undefined;
  }

  /** The next written block, or undefined at the end of the disk. */
  async next(): Promise<WrittenBlock | undefined> {
    while (this.head >= this.queue.length) {
      if (this.done) return undefined;
      await this.load();
    }
    if (!this.done && this.queue.length - this.head < 1000) void this.load().catch(() => undefined);
    const block = this.queue[this.head];
    this.head += 1;
    return block;
  }

  private load(): Promise<void> {
    this.nextPage ??= this.reader.listPage(this.token, this.signal).then((page) => this.accept(page));
    return this.nextPage;
  }
}

const DEFAULT_WINDOW = 32;
/**
 * Requests in flight per disk. EBS allows 1,000 GetSnapshotBlock a second per snapshot; at ~10 ms
 * of latency plus the block's own work, 16 is the bare minimum to keep that rate, so 24 leaves
 * headroom while the 32-slot window still bounds memory (bench/README.md, bench:hash, has the A/B).
 */
const DEFAULT_CONCURRENCY = 24;

/**
 * Hashes a snapshot. Rejects (recording nothing) if any block cannot be read and checked.
 *
 * @example const result = await hashDisk({ reader: createEbsReader(...), log: new MemoryBlockLog() });
 */
export async function hashDisk(options: HashDiskOptions): Promise<DiskHash> {
  const { reader, log, signal } = options;
  const first = await reader.listPage(undefined, signal);
  const { volumeBytes, blockSize } = first;
  const blockCount = volumeBytes / blockSize;
  if (blockSize > SLOT_BYTES) {
    throw new CustodyError('E_CLOUD', `snapshot ${reader.snapshotId} has ${blockSize}-byte blocks; EBS's are ${SLOT_BYTES} bytes and the hash holds no larger`, { resource: reader.snapshotId });
  }
  const resume = await log.resumeFor({ snapshotId: reader.snapshotId, volumeBytes, blockSize });
  const image = options.openImage ? await options.openImage(volumeBytes, blockSize, resume !== undefined) : undefined;
  try {
    return await new DiskHashRun(options, first, blockCount, resume, image).run();
  } finally {
    await image?.close();
  }
}

class DiskHashRun {
  private readonly written: WrittenBlocks;
  private readonly zeroBlockSha256: string;
  private readonly zeroChecksum: string;
  private readonly buffers: BlockBuffers;
  private readonly pool: HashPool;
  private readonly window: number;
  private readonly concurrency: number;
  private readonly checkpointEvery: number;
  private readonly blockSize: number;
  private readonly fifo: Array<{ block: Fetchable; slot: number; done: Promise<BlockRead> }> = [];
  /** Slots this disk holds (fetching, waiting in order, or with the digest's thread). */
  private readonly mine = new Set<number>();
  /** A slot granted while none was free, kept for the next fetch. */
  private spare: number | undefined;
  private waitingForSlot = false;
  private ended = false;
  private inFlight = 0;
  private prefixIndex = 0;
  private sourceDone = false;
  private blockRequests = 0;
  private checksumRetries = 0;
  private lastRange = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private ranges: Promise<void> = Promise.resolve();
  /** Written blocks before the resume point that EBS listed again (each must have been recorded). */
  private prefixSeen = 0;

  constructor(
    private readonly options: HashDiskOptions,
    first: Awaited<ReturnType<SnapshotBlockReader['listPage']>>,
    private readonly blockCount: number,
    private readonly resume: ResumePoint | undefined,
    private readonly image: RawImage | undefined,
  ) {
    this.written = new WrittenBlocks(options.reader, options.signal, first);
    const zero = createHash('sha256').update(Buffer.alloc(first.blockSize));
    this.zeroChecksum = zero.copy().digest('base64');
    this.zeroBlockSha256 = zero.digest('hex');
    this.blockSize = first.blockSize;
    this.buffers = options.buffers ?? sharedBlockBuffers();
    this.pool = hashPoolFor(this.buffers);
    this.window = Math.max(2, options.window ?? DEFAULT_WINDOW);
    this.concurrency = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, this.window));
    const every = options.checkpointEvery ?? 2048;
    this.checkpointEvery = typeof every === 'function' ? every(blockCount) : every;
  }

  private get prefixFromImage(): boolean {
    return this.resume !== undefined && this.image !== undefined;
  }

  /** The next block to fetch in disk order (image prefix on resume, then written blocks). */
  private async nextFetchable(): Promise<Fetchable | undefined> {
    if (this.prefixFromImage && this.prefixIndex < (this.resume?.nextBlock ?? 0)) {
      return { index: this.prefixIndex++, token: undefined, fromImage: true };
    }
    for (;;) {
      const block = await this.written.next();
      if (!block) return undefined;
      // The image prefix covers these already.
      if (this.prefixFromImage && block.index < (this.resume?.nextBlock ?? 0)) continue;
      return { index: block.index, token: block.token, fromImage: false };
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** A slot for the next fetch: now, or undefined (and one is asked for) when the budget is used up. */
  private takeSlot(): number | undefined {
    if (this.mine.size >= this.window) return undefined;
    let slot = this.spare;
    this.spare = undefined;
    slot ??= this.buffers.tryAcquire(this);
    if (slot === undefined && !this.waitingForSlot) {
      this.waitingForSlot = true;
      this.buffers.acquire(this).then(
        (granted) => {
          this.waitingForSlot = false;
          if (this.ended) return this.buffers.release(this, granted);
          this.spare = granted;
          void this.issue().catch((e: unknown) => this.fail(e));
        },
        () => undefined,
      );
    }
    if (slot !== undefined) this.mine.add(slot);
    return slot;
  }

  private giveBack(slot: number): void {
    if (this.mine.delete(slot)) this.buffers.release(this, slot);
  }

  /** Starts fetches while slots and request slots are free. Runs alone (one issuer at a time). */
  private issuing = false;
  private async issue(): Promise<void> {
    if (this.issuing) return;
    this.issuing = true;
    try {
      while (!this.sourceDone && !this.failure && this.inFlight < this.concurrency) {
        const slot = this.takeSlot();
        if (slot === undefined) break;
        const block = await this.nextFetchable();
        if (!block) {
          this.giveBack(slot);
          this.sourceDone = true;
          break;
        }
        this.inFlight += 1;
        const done = this.fetch(block, slot).finally(() => {
          this.inFlight -= 1;
          void this.issue().catch((e: unknown) => this.fail(e));
          this.notify();
        });
        done.catch(() => undefined);
        this.fifo.push({ block, slot, done });
      }
    } finally {
      this.issuing = false;
      this.notify();
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.notify();
  }

  private async fetch(block: Fetchable, slot: number): Promise<BlockRead> {
    const into = this.buffers.view(slot, this.blockSize);
    const checksumOf = (length: number) => this.pool.verify(slot, length);
    const expected = this.resume && block.index < this.resume.nextBlock ? (this.resume.written.get(block.index) ?? this.zeroChecksum) : undefined;
    if (block.fromImage && this.image) {
      const length = await this.image.readBlock(block.index, into);
      const checksum = await checksumOf(length);
      if (length !== this.blockSize || checksum !== expected) {
        throw new CustodyError(
          'E_VERIFY',
          `block ${block.index} of the image ${this.image.path} does not hold what an earlier run hashed (sha256 ${checksum}, recorded ${expected}): the image changed since; no hash is recorded`,
          { resource: this.image.path },
        );
      }
      return { checksum, length, requestId: undefined, checksumRetries: 0 };
    }
    const { reader, signal } = this.options;
    const written = { index: block.index, token: block.token ?? '' };
    // A reader that can fetches on the hash threads, straight into the slot; another one here, its checksum computed there.
    const read = await readCheckedBlock(
      reader,
      written,
      reader.fetchToSlot ? () => reader.fetchToSlot!(written, slot, this.pool, signal) : fetchThenSum(reader, written, into, checksumOf, signal),
    );
    this.blockRequests += 1 + read.checksumRetries;
    this.checksumRetries += read.checksumRetries;
    if (expected !== undefined && read.checksum !== expected) {
      throw new CustodyError(
        'E_VERIFY',
        `block ${block.index} of snapshot ${this.options.reader.snapshotId} now has checksum ${read.checksum}, but the interrupted run hashed ${expected}: a snapshot never changes, so no hash is recorded`,
        { resource: this.options.reader.snapshotId },
      );
    }
    if (this.image && !(this.resume && block.index < this.resume.nextBlock)) await this.image.writeBlock(block.index, into, read.length);
    return read;
  }

  private async range(upTo: number): Promise<void> {
    this.lastRange = upTo;
    this.ranges = this.ranges.then(async () => {
      await this.image?.sync();
      await this.options.log.range(upTo);
      await this.options.onRange?.(upTo);
    });
    this.ranges.catch((e: unknown) => this.fail(e));
  }

  private progressed(hashed: number): void {
    this.options.onProgress?.(hashed, this.blockCount);
    if (hashed - this.lastRange >= this.checkpointEvery && hashed < this.blockCount) void this.range(hashed);
    this.notify();
  }

  async run(): Promise<DiskHash> {
    this.buffers.join(this);
    const digest: DiskDigest = this.pool.openDigest(this.blockSize, {
      onHashed: (slot, hashed) => {
        this.giveBack(slot);
        this.progressed(hashed);
        void this.issue().catch((e: unknown) => this.fail(e));
      },
      onProgress: (hashed) => this.progressed(hashed),
      onError: (error) => this.fail(error),
    });
    const abort = () => this.fail(new CustodyError('E_CLOUD', `hashing ${this.options.reader.snapshotId} was cancelled`));
    this.options.signal?.addEventListener('abort', abort, { once: true });
    try {
      let cursor = 0;
      await this.issue();
      const fromBlock = this.resume?.nextBlock ?? 0;
      while (cursor < this.blockCount) {
        if (this.failure) throw this.failure;
        const head = this.fifo[0];
        if (!head) {
          if (this.sourceDone) {
            digest.zeros(this.blockCount - cursor);
            cursor = this.blockCount;
            break;
          }
          // issue() first: when it can start nothing (every slot is with the hash threads) it
          // returns at once, and a wake-up it gave then must not end this sleep, or this loop
          // would spin on microtasks and never see the slots come back.
          void this.issue().catch((e: unknown) => this.fail(e));
          await this.sleep();
          continue;
        }
        if (head.block.index > cursor) {
          digest.zeros(head.block.index - cursor);
          cursor = head.block.index;
          continue;
        }
        if (head.block.index < cursor) throw new CustodyError('E_CLOUD', `ListSnapshotBlocks of ${this.options.reader.snapshotId} listed block ${head.block.index} twice or out of order`);
        const read = await head.done;
        if (this.failure) throw this.failure;
        this.fifo.shift();
        // Blocks before the resume point are in the progress log already.
        if (cursor >= fromBlock) this.options.log.block({ index: cursor, checksum: read.checksum, requestId: read.requestId });
        else if (!head.block.fromImage) this.prefixSeen += 1;
        digest.data(head.slot, read.length);
        cursor += 1;
      }
      if (this.resume && !this.image && this.prefixSeen !== this.resume.written.size) {
        throw new CustodyError(
          'E_VERIFY',
          `snapshot ${this.options.reader.snapshotId} now lists ${this.prefixSeen} written blocks before block ${fromBlock}, but the interrupted run hashed ${this.resume.written.size}: no hash is recorded`,
          { resource: this.options.reader.snapshotId },
        );
      }
      const sha256 = await digest.digest();
      if (this.failure) throw this.failure;
      await this.ranges;
      await this.image?.sync();
      await this.options.log.range(this.blockCount);
      let writtenBlocks = 0;
      for await (const _ of this.options.log.lines()) writtenBlocks += 1;
      return {
        snapshotId: this.options.reader.snapshotId,
        sha256,
        volumeBytes: this.blockCount * this.blockSize,
        blockSize: this.blockSize,
        blockCount: this.blockCount,
        writtenBlocks,
        zeroBlockSha256: this.zeroBlockSha256,
        listRequestIds: this.written.requestIds,
        blockRequests: this.blockRequests,
        checksumRetries: this.checksumRetries,
        ...(this.resume ? { resumed: { fromBlock: this.resume.nextBlock, prefixFrom: this.image ? 'image' : 'ebs' } } : {}),
        ...(this.image ? { imagePath: this.image.path } : {}),
      };
    } finally {
      this.options.signal?.removeEventListener('abort', abort);
      // Fetches still running end before their slots go back or the image closes; their failures
      // are not this result's.
      await Promise.allSettled(this.fifo.map((f) => f.done));
      // Ranges already asked for are made durable before a failed or cancelled hash returns (a
      // resumed run then starts from the last of them), not dropped with the run.
      await this.ranges.catch(() => undefined);
      digest.close();
      this.ended = true;
      if (this.spare !== undefined) this.mine.add(this.spare);
      this.spare = undefined;
      for (const slot of [...this.mine]) this.giveBack(slot);
      this.buffers.leave(this);
    }
  }
}
