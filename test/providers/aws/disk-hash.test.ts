/**
 * `--hash` against the lab's EBS direct API: the whole-disk SHA-256 of the forensics copy equals
 * the hash of the disk's bytes computed here from the lab's seed (block by block, zeros where
 * nothing was written), the block-hash list is evidence, `--hash-source` records that source and
 * copy match, `--image` writes a sparse raw image that verify re-hashes, and the faults: a block
 * that fails its checksum, a snapshot deleted mid-read, an expired session, throttling, and a
 * run killed mid-disk that resumes.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { verifyCase } from '../../../src/custody/index.js';
import { addInstance, diskOfVolume, ebsControl, type LabDisk } from '../../../src/lab/index.js';
import { contextFor } from './helpers.js';
import { REGION, useAwsLab } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-disk-hash-' });
const ACCOUNT = '222222222222';

/** The SHA-256 of the disk as `dd | sha256sum` would give it, computed from the lab's seed. */
function expectedSha256(disk: LabDisk): string {
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(disk.bytes / disk.blockCount);
  for (let i = 0; i < disk.blockCount; i++) hash.update(disk.isWritten(i) ? disk.block(i) : zeros);
  return hash.digest('hex');
}

function hostWithDisk(name: string, sizeMiB = 16, writtenFraction = 0.25) {
  const host = addInstance(world.lab.state, ACCOUNT, REGION, {
    tags: { Name: name, ForensicsEnabled: 'true' },
    volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' }, disk: { sizeMiB, writtenFraction } }],
    consoleOutput: `${name} login: `,
  });
  const volumeId = host.blockDevices[0]!.volumeId;
  const disk = diskOfVolume(world.lab.state, volumeId, 8);
  return { host, volumeId, disk, target: parseTarget(`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${host.id}`) };
}

describe('whole-disk hash at acquisition (--hash)', () => {
  it('records the forensics copy\'s whole-disk SHA-256, equal to the disk\'s bytes hashed independently, and the case verifies', async () => {
    const { volumeId, disk, target } = hostWithDisk('hash-me');
    const kase = await world.newCase('hash');
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true, hashSource: true }));
    expect(outcome.status, outcome.reason).toBe('collected');

    const entries = kase.entries();
    const hashed = entries.filter((e) => e.type === 'disk.hashed');
    expect(hashed.map((e) => e.data.role).sort()).toEqual(['forensics', 'source']);
    const expected = expectedSha256(disk);
    for (const e of hashed) {
      expect(e.data).toMatchObject({
        volumeId,
        sha256: expected,
        volumeBytes: 16 * 1024 * 1024,
        blockSize: 512 * 1024,
        blockCount: 32,
        writtenBlocks: disk.written.length,
        zeroBlocks: 32 - disk.written.length,
        checksumRetries: 0,
      });
      expect((e.data.listRequestIds as string[]).length).toBeGreaterThan(0);
    }
    const copy = hashed.find((e) => e.data.role === 'forensics')!;
    const forensicsCopy = world.snapshotsOf(kase.caseId).find((s) => s.ownerId === world.lab.forensicsAccount);
    expect(copy.data.snapshotId).toBe(forensicsCopy?.id);
    expect(entries.find((e) => e.type === 'disk.hashes.compared')?.data).toMatchObject({ match: true, sha256: expected, sourceSha256: expected });
    // Only written blocks cost a request.
    expect(world.lab.calls()[world.lab.forensicsAccount]?.['ebs:GetSnapshotBlock']).toBeGreaterThanOrEqual(disk.written.length);

    // The block-hash list: one line per written block, with the SHA-256 of its bytes.
    const list = entries.find((e) => e.type === 'evidence.stored' && e.data.kind === 'disk-block-hashes' && e.data.name === `${copy.data.snapshotId}.block-sha256.txt`)!;
    const text = await readFile(join(kase.caseDir, String(list.data.path)), 'utf8');
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toHaveLength(disk.written.length);
    const [index, sha] = lines[0]!.split(' ');
    expect(sha).toBe(createHash('sha256').update(disk.block(Number(index))).digest('hex'));
    expect(text).toContain(`# zero-block sha256 ${createHash('sha256').update(Buffer.alloc(512 * 1024)).digest('hex')}`);

    await kase.close({ outcomes: [outcome] });
    const verified = await verifyCase(kase.caseDir);
    expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
  });

  it('--image writes a sparse raw image inside the case folder whose bytes hash to the recorded hash, and verify re-hashes it', async () => {
    const { disk, target } = hostWithDisk('image-me', 8, 0.25);
    const kase = await world.newCase('image');
    const imageDir = join(kase.caseDir, 'images');
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true, imageDir }));
    expect(outcome.status, outcome.reason).toBe('collected');
    const imaged = kase.entries().find((e) => e.type === 'disk.imaged')!;
    expect(imaged.data).toMatchObject({ insideCase: true, sha256: expectedSha256(disk), size: 8 * 1024 * 1024, synced: true });
    const image = join(kase.caseDir, String(imaged.data.path));
    expect(createHash('sha256').update(await readFile(image)).digest('hex')).toBe(expectedSha256(disk));
    // Sparse: unwritten blocks take no disk space (where the file system supports holes).
    const info = await stat(image);
    expect(info.size).toBe(8 * 1024 * 1024);

    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
    // A changed byte in the image is named by verify.
    const { open } = await import('node:fs/promises');
    const f = await open(image, 'r+');
    await f.write(Buffer.from([0x42]), 0, 1, 3);
    await f.close();
    const after = await verifyCase(kase.caseDir);
    expect(after.ok).toBe(false);
    expect(JSON.stringify(after.problems)).toContain(String(imaged.data.path));
  });

  it('a block that fails its checksum is read again, and the hash still matches', async () => {
    const { disk, target } = hostWithDisk('flaky-block', 8, 0.5);
    const kase = await world.newCase('flaky');
    const block = disk.written[1]!;
    // Every snapshot of the volume holds the disk: corrupt the block in whichever is read first.
    ebsControl.beforeBlockRequest(world.lab.state, 1, () => {
      for (const s of world.snapshotsOf(kase.caseId)) ebsControl.corruptBlock(world.lab.state, s.id, block, 1);
    });
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    const hashed = kase.entries().find((e) => e.type === 'disk.hashed')!;
    expect(hashed.data).toMatchObject({ sha256: expectedSha256(disk), checksumRetries: 1 });
    await kase.close({ outcomes: [outcome] });
  });

  it('a block that never matches its checksum fails the hash naming the block, and no hash is recorded', async () => {
    const { disk, target } = hostWithDisk('bad-block', 8, 0.5);
    const kase = await world.newCase('bad-block');
    const block = disk.written[2]!;
    ebsControl.beforeBlockRequest(world.lab.state, 1, () => {
      for (const s of world.snapshotsOf(kase.caseId)) ebsControl.corruptBlock(world.lab.state, s.id, block, 10);
    });
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true }));
    expect(outcome.status).toBe('partial');
    const failed = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'hash')!;
    expect(JSON.stringify(failed.data.error)).toContain(`block ${block} of snapshot`);
    expect(kase.entries().some((e) => e.type === 'disk.hashed')).toBe(false);
    await kase.close({ outcomes: [outcome] });
    expect((await verifyCase(kase.caseDir)).ok).toBe(true);
  });

  it('a snapshot deleted while it is read is a clear failure, and no hash is recorded', async () => {
    const { target } = hostWithDisk('vanishing', 16, 0.5);
    const kase = await world.newCase('vanish');
    ebsControl.beforeBlockRequest(world.lab.state, 3, () => {
      for (const s of world.snapshotsOf(kase.caseId)) if (s.ownerId === world.lab.forensicsAccount) world.lab.state.region(REGION).snapshots.delete(s.id);
    });
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true }));
    expect(outcome.status).toBe('partial');
    const failed = kase.entries().find((e) => e.type === 'step.failed' && e.data.step === 'hash')!;
    expect(JSON.stringify(failed.data.error)).toMatch(/no longer exists — deleted while it was being hashed/);
    expect(kase.entries().some((e) => e.type === 'disk.hashed')).toBe(false);
    await kase.close({ outcomes: [outcome] });
  });

  it('sessions that expire mid-disk are renewed and the hash completes; the source side refreshes its collector session', async () => {
    const { disk, target } = hostWithDisk('expiring', 8, 0.5);
    const kase = await world.newCase('expire');
    ebsControl.beforeBlockRequest(world.lab.state, 4, () => world.lab.control.expireSessions());
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true, hashSource: true }));
    // The collector session is renewed by re-assuming the role; the orchestrator's own lab
    // credentials do not expire, so both hashes complete.
    expect(outcome.status, outcome.reason).toBe('collected');
    for (const e of kase.entries().filter((x) => x.type === 'disk.hashed')) expect(e.data.sha256).toBe(expectedSha256(disk));
    await kase.close({ outcomes: [outcome] });
  });

  for (const withImage of [false, true]) {
    it(`a run killed mid-disk resumes from the last recorded block range${withImage ? ' (re-reading the hashed part from its image)' : ''}, records the hash once, lists every block once, and the case verifies`, async () => {
      const { disk, target } = hostWithDisk(withImage ? 'resume-image' : 'resume-me', 64, 0.3);
      const caseId = `IR-resume-${withImage ? 'image' : 'plain'}`;
      const first = await world.openCase(caseId);
      const imageDir = withImage ? join(first.caseDir, 'images') : undefined;
      const stop = new AbortController();
      const context = contextFor(first, { hash: true, ...(imageDir ? { imageDir } : {}) });
      const interrupted = await world.provider().collect(target, {
        ...context,
        signal: stop.signal,
        // Killed once more than half the disk is hashed (two ranges of 32 blocks are on record).
        progress: (e) => {
          if (e.step === 'hash' && (e.fraction ?? 0) >= 0.6) stop.abort();
        },
      });
      expect(interrupted.status).not.toBe('collected');
      expect(first.entries().some((e) => e.type === 'disk.hashed')).toBe(false);
      await first.close({ outcomes: [interrupted] });

      const again = await world.openCase(caseId, true);
      const outcome = await world.provider().collect(target, contextFor(again, { hash: true, ...(imageDir ? { imageDir } : {}) }));
      expect(outcome.status, outcome.reason).toBe('collected');
      const hashed = again.entries().filter((e) => e.type === 'disk.hashed');
      expect(hashed).toHaveLength(1);
      expect(hashed[0]!.data).toMatchObject({ sha256: expectedSha256(disk), writtenBlocks: disk.written.length, resumed: { prefixFrom: withImage ? 'image' : 'ebs' } });
      expect((hashed[0]!.data.resumed as { fromBlock: number }).fromBlock).toBeGreaterThanOrEqual(64);
      const started = again.entries().filter((e) => e.type === 'disk.hash.started');
      expect(started.at(-1)?.data.continues).toBeDefined();
      const list = again.entries().find((e) => e.type === 'evidence.stored' && e.data.kind === 'disk-block-hashes')!;
      const lines = (await readFile(join(again.caseDir, String(list.data.path)), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
      expect(lines.map((l) => Number(l.split(' ')[0]))).toEqual([...disk.written]);
      if (withImage) {
        const imaged = again.entries().find((e) => e.type === 'disk.imaged')!;
        expect(createHash('sha256').update(await readFile(join(again.caseDir, String(imaged.data.path)))).digest('hex')).toBe(expectedSha256(disk));
      }
      await again.close({ outcomes: [outcome] });
      const verified = await verifyCase(again.caseDir);
      expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
      expect(verified.warnings.map((w) => w.path)).not.toContain('.hash-progress');
    });
  }

  it('EBS throttling (RequestThrottledException) is absorbed by the SDK\'s retries; every block is still read and checked', async () => {
    const { disk, target } = hostWithDisk('throttled', 16, 1);
    const kase = await world.newCase('throttle');
    const before = ebsControl.throttled(world.lab.state);
    ebsControl.beforeBlockRequest(world.lab.state, 1, () => ebsControl.throttleNextBlocks(world.lab.state, 12));
    const outcome = await world.provider().collect(target, contextFor(kase, { hash: true }));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(kase.entries().find((e) => e.type === 'disk.hashed')?.data).toMatchObject({ sha256: expectedSha256(disk), writtenBlocks: 32 });
    expect(ebsControl.throttled(world.lab.state) - before).toBe(12);
    await kase.close({ outcomes: [outcome] });
  });
});
