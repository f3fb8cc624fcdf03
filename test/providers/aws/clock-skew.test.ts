/**
 * A collector whose clock is off AWS's (the lab's AWS clock set 20 minutes ahead of this machine's,
 * 20 behind, and 10 ahead): AWS refuses a request signed further off its time than the service
 * allows (15 minutes for EC2, S3 and STS, 5 for KMS and EBS), and every client
 * the AWS provider sends with — STS and KMS through the SDK, EC2's lean sender, ListSnapshotBlocks
 * through the SDK, GetSnapshotBlock's lean client on the hash threads — takes AWS's time from the
 * refusal's `Date` and goes on. A whole collection with `--hash` then completes, its hashes equal
 * to the disk's bytes hashed here, and the case verifies.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { verifyCase } from '../../../src/custody/index.js';
import { addInstance, diskOfVolume, type LabDisk } from '../../../src/lab/index.js';
import { contextFor } from './helpers.js';
import { REGION, useAwsLab } from './lab-fixture.js';

const world = useAwsLab({ scratchPrefix: 'custody-clock-skew-' });
const ACCOUNT = '222222222222';

afterEach(() => world.lab.control.setClockSkew(undefined));

function sha256Of(disk: LabDisk): string {
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(disk.bytes / disk.blockCount);
  for (let i = 0; i < disk.blockCount; i++) hash.update(disk.isWritten(i) ? disk.block(i) : zeros);
  return hash.digest('hex');
}

describe('a collector whose clock is off', () => {
  const cases = [
    { minutes: 20, refusing: ['ebs', 'ec2', 'kms', 'sts'] },
    { minutes: -20, refusing: ['ebs', 'ec2', 'kms', 'sts'] },
    { minutes: 10, refusing: ['ebs', 'kms'] },
  ];
  for (const { minutes, refusing } of cases) {
    it(`AWS's clock ${Math.abs(minutes)} minutes ${minutes > 0 ? 'ahead of' : 'behind'} the collector's: ${refusing.join(', ')} refuse each client's first requests, every client corrects its clock from AWS's answer, and the collection with --hash completes and verifies`, async () => {
      const host = addInstance(world.lab.state, ACCOUNT, REGION, {
        tags: { Name: `skewed-${minutes}`, ForensicsEnabled: 'true' },
        volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { ForensicsEnabled: 'true' }, disk: { sizeMiB: 8, writtenFraction: 0.5 } }],
        consoleOutput: 'skewed login: ',
      });
      const disk = diskOfVolume(world.lab.state, host.blockDevices[0]!.volumeId, 8);
      const target = parseTarget(`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${host.id}`);
      const kase = await world.newCase('skew');
      world.lab.control.resetCalls();
      world.lab.control.setClockSkew(minutes * 60_000);

      const outcome = await world.provider().collect(target, contextFor(kase, { hash: true, hashSource: true }));
      expect(outcome.status, outcome.reason).toBe('collected');

      // Every service the collection sent to refused requests for their signing time, and only a
      // few per service (each client's first, and any already on their way; a collection has one to
      // three STS, KMS and ListSnapshotBlocks clients or EC2 senders): after those, every request
      // was signed on AWS's time.
      const refused = world.lab.control.skewRefusals();
      expect(Object.keys(refused).sort()).toEqual(refusing);
      for (const count of Object.values(refused)) expect(count).toBeLessThanOrEqual(3);
      // The ledger says how far this machine's clock (its times) was from AWS's.
      const offsets = kase.entries().filter((e) => e.type === 'credentials.assumed').map((e) => Number(e.data.awsClockOffsetMs));
      expect(offsets.length).toBeGreaterThan(0);
      for (const offset of offsets) expect(Math.abs(offset - minutes * 60_000)).toBeLessThan(5_000);
      const expected = sha256Of(disk);
      const hashed = kase.entries().filter((e) => e.type === 'disk.hashed');
      expect(hashed.map((e) => [e.data.role, e.data.sha256]).sort()).toEqual([
        ['forensics', expected],
        ['source', expected],
      ]);

      await kase.close({ outcomes: [outcome] });
      const verified = await verifyCase(kase.caseDir);
      expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
    });
  }
});
