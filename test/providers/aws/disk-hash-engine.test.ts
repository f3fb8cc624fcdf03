/**
 * The disk-hash engine on its own, over an in-memory snapshot: the whole-disk SHA-256 for any
 * window size, including a window so small that every buffer is with the hash thread while more
 * blocks remain (a state that once made the fetch loop spin on microtasks and hang), and blocks
 * that complete out of order.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlockBuffers } from '../../../src/providers/aws/block-buffers.js';
import { hashDisk } from '../../../src/providers/aws/disk-hash.js';
import { hashPoolFor } from '../../../src/providers/aws/hash-worker.js';
import type { SnapshotBlockReader } from '../../../src/providers/aws/ebs-reader.js';
import { MemoryBlockLog } from '../../../src/providers/aws/hash-progress.js';

const BLOCK = 4096;

function memorySnapshot(blockCount: number, written: number[], pageSize = 3): { reader: SnapshotBlockReader; sha256: string } {
  const data = new Map(written.map((i) => [i, createHash('sha256').update(`block ${i}`).digest().toString('hex').repeat(BLOCK / 64)]));
  const whole = createHash('sha256');
  for (let i = 0; i < blockCount; i++) whole.update(data.has(i) ? Buffer.from(data.get(i)!, 'latin1') : Buffer.alloc(BLOCK));
  const sorted = [...written].sort((a, b) => a - b);
  const reader: SnapshotBlockReader = {
    snapshotId: 'snap-0memory',
    async listPage(token) {
      const from = token ? Number(token) : 0;
      const blocks = sorted.slice(from, from + pageSize).map((index) => ({ index, token: `t${index}` }));
      const next = from + pageSize < sorted.length ? String(from + pageSize) : undefined;
      return { volumeBytes: blockCount * BLOCK, blockSize: BLOCK, blocks, requestId: `list-${from}`, nextToken: next };
    },
    async fetchBlock(block, into) {
      // Later blocks answer sooner: the engine must put them back in disk order.
      await new Promise((r) => setTimeout(r, (block.index % 3) * 2));
      const bytes = Buffer.from(data.get(block.index)!, 'latin1');
      bytes.copy(into);
      return { checksum: createHash('sha256').update(bytes).digest('base64'), length: bytes.byteLength, declaredLength: bytes.byteLength, requestId: `get-${block.index}` };
    },
  };
  return { reader, sha256: whole.digest('hex') };
}

describe('the disk-hash engine', () => {
  for (const window of [2, 3, 64]) {
    it(`hashes every block in disk order with a window of ${window} buffers (runs of written blocks longer than the window, gaps, a written last block)`, async () => {
      const written = [0, 1, 2, 3, 4, 5, 9, 10, 11, 30, 31, 32, 33, 34, 35, 36, 63];
      const { reader, sha256 } = memorySnapshot(64, written);
      const log = new MemoryBlockLog();
      const result = await hashDisk({ reader, log, window, concurrency: window });
      expect(result).toMatchObject({ sha256, blockCount: 64, writtenBlocks: written.length, blockRequests: written.length, listRequestIds: ['list-0', 'list-3', 'list-6', 'list-9', 'list-12', 'list-15'] });
      const lines = [];
      for await (const line of log.lines()) lines.push(line.index);
      expect(lines).toEqual(written);
    });
  }

  it('a disk with nothing written costs no block request and hashes to the SHA-256 of its zeros', async () => {
    const { reader, sha256 } = memorySnapshot(256, []);
    const result = await hashDisk({ reader, log: new MemoryBlockLog(), window: 2 });
    expect(result).toMatchObject({ sha256, writtenBlocks: 0, blockRequests: 0 });
  });

  it('the digest thread gives slots back while it still has blocks to hash, not only once its queue is empty', async () => {
    // 64 full blocks (32 MiB, tens of milliseconds of SHA-256 on any machine) handed over at once,
    // as a window full of fetched blocks is. The thread lets its event loop in about every
    // millisecond, so the first slots come back in one message and the last in a later one: the
    // main thread can fetch into them while the thread still hashes. A thread that answered only
    // with an empty queue gave all 64 back in one message, and the fetches waited for it.
    const slots = 64;
    const buffers = new BlockBuffers(slots * 512 * 1024);
    const pool = hashPoolFor(buffers);
    const messages: number[][] = [];
    let current: number[] | undefined;
    let digest: ReturnType<typeof pool.openDigest> | undefined;
    const allBack = new Promise<void>((resolve, reject) => {
      let back = 0;
      digest = pool.openDigest(512 * 1024, {
        onHashed(slot) {
          // Answers that arrive in one message are handled in one synchronous run.
          if (!current) {
            current = [];
            messages.push(current);
            queueMicrotask(() => (current = undefined));
          }
          current.push(slot);
          if (++back === slots) resolve();
        },
        onProgress() {},
        onError: reject,
      });
    });
    try {
      const expected = createHash('sha256');
      for (let slot = 0; slot < slots; slot++) {
        buffers.view(slot, 512 * 1024).fill(slot);
        expected.update(buffers.view(slot, 512 * 1024));
      }
      for (let slot = 0; slot < slots; slot++) digest!.data(slot, 512 * 1024);
      await allBack;
      expect(await digest!.digest()).toBe(expected.digest('hex'));
      expect(messages.flat()).toEqual(Array.from({ length: slots }, (_, i) => i));
      expect(messages.length).toBeGreaterThan(1);
    } finally {
      digest?.close();
    }
  });

  it('several disks hashed at once share one small memory budget: each gets its share, none starves, every hash is right', async () => {
    const buffers = new BlockBuffers(5 * 512 * 1024);
    const disks = [
      memorySnapshot(64, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 40, 63]),
      memorySnapshot(32, [0, 3, 4, 5, 31]),
      memorySnapshot(48, Array.from({ length: 48 }, (_, i) => i)),
    ];
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, buffers.slots - (buffers as unknown as { free: number[] }).free.length)), 1);
    try {
      const results = await Promise.all(disks.map((d) => hashDisk({ reader: d.reader, log: new MemoryBlockLog(), buffers, window: 64, concurrency: 8 })));
      expect(results.map((r) => r.sha256)).toEqual(disks.map((d) => d.sha256));
    } finally {
      clearInterval(watch);
    }
    expect(peak).toBeLessThanOrEqual(5);
    expect((buffers as unknown as { free: number[] }).free).toHaveLength(5);
  });
});
