/**
 * The disk-hash reader against moto's EBS direct API (an implementation nobody here wrote): a
 * snapshot is written through StartSnapshot / PutSnapshotBlock / CompleteSnapshot, then read back
 * with the product's reader and hashed; the test computes the whole-disk SHA-256 itself from the
 * blocks it wrote and zeros. Moto's gaps, which the reader must survive: it reports BlockSize
 * 512 (bytes) whatever was written, lists block indexes as strings in insertion order and does
 * not page; so the blocks written here are 512 bytes, as moto declares.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompleteSnapshotCommand, EBSClient, PutSnapshotBlockCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import type { AccountClients } from '../../src/providers/aws/clients.js';
import { systemClock } from '../../src/providers/aws/clock.js';
import { hashDisk } from '../../src/providers/aws/disk-hash.js';
import { createEbsReader } from '../../src/providers/aws/ebs-reader.js';
import { MemoryBlockLog } from '../../src/providers/aws/hash-progress.js';
import { ScopeCaller } from '../../src/providers/aws/scope.js';
import { startMoto, type MotoServer } from './moto-server.js';

const REGION = 'us-east-1';
const credentials = async () => ({ accessKeyId: 'AKIAFORENSICSEXAMPLE', secretAccessKey: 'forensics-secret-never-logged' });
let moto: MotoServer;
let ebs: EBSClient;

beforeAll(async () => {
  moto = await startMoto();
  ebs = new EBSClient({ region: REGION, endpoint: moto.endpoint, credentials, maxAttempts: 2 });
});

afterAll(async () => {
  ebs?.destroy();
  await moto?.stop();
});

describe('the disk-hash reader against moto\'s EBS direct API', () => {
  it('hashes a snapshot written through StartSnapshot/PutSnapshotBlock to the SHA-256 the test computes from the same blocks and zeros', async () => {
    const started = await ebs.send(new StartSnapshotCommand({ VolumeSize: 1, Description: 'cloud-custody moto disk', Tags: [{ Key: 'CaseId', Value: 'IR-MOTO' }] }));
    const snapshotId = started.SnapshotId!;
    const blockSize = started.BlockSize ?? 512;
    // Scattered, out of order, with a long unwritten tail: block 0, a few in the middle, one far in.
    const indexes = [1_000_003, 0, 7, 8, 4096, 65_537];
    const written = new Map<number, Buffer>();
    for (const index of indexes) {
      const data = randomBytes(blockSize);
      written.set(index, data);
      await ebs.send(
        new PutSnapshotBlockCommand({
          SnapshotId: snapshotId,
          BlockIndex: index,
          BlockData: data,
          DataLength: data.byteLength,
          Checksum: createHash('sha256').update(data).digest('base64'),
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    }
    await ebs.send(new CompleteSnapshotCommand({ SnapshotId: snapshotId, ChangedBlocksCount: indexes.length }));

    const caller = new ScopeCaller({ kind: 'forensics', account: '111111111111', region: REGION, partition: 'aws' }, { ebs } as unknown as AccountClients, systemClock, undefined);
    const reader = createEbsReader({ caller, side: 'forensics', snapshotId, snapshotArn: `arn:aws:ec2:${REGION}::snapshot/${snapshotId}` });
    const log = new MemoryBlockLog();
    const result = await hashDisk({ reader, log });

    // The test's own whole-disk hash: 1 GiB of moto's 512-byte blocks, the written ones in place.
    const volumeBytes = 1024 ** 3;
    const expected = createHash('sha256');
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    let offset = 0;
    for (const index of [...indexes].sort((a, b) => a - b)) {
      for (let at = index * blockSize; offset < at; ) {
        const n = Math.min(zeros.byteLength, at - offset);
        expected.update(zeros.subarray(0, n));
        offset += n;
      }
      expected.update(written.get(index)!);
      offset += blockSize;
    }
    while (offset < volumeBytes) {
      const n = Math.min(zeros.byteLength, volumeBytes - offset);
      expected.update(zeros.subarray(0, n));
      offset += n;
    }
    expect(result).toMatchObject({ snapshotId, sha256: expected.digest('hex'), volumeBytes, blockSize, writtenBlocks: indexes.length, blockRequests: indexes.length, checksumRetries: 0 });
    const lines = [];
    for await (const line of log.lines()) lines.push(line);
    expect(lines.map((l) => l.index)).toEqual([...indexes].sort((a, b) => a - b));
    expect(lines.map((l) => l.checksum)).toEqual([...indexes].sort((a, b) => a - b).map((i) => createHash('sha256').update(written.get(i)!).digest('base64')));
  });
});
